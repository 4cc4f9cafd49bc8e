/* Retention (delivery.md "Retention"): what the store keeps of personal
 * data is removed once it is older than the configured days, in one
 * transaction with one `retention.pruned` audit record giving the counts
 * and the cutoffs. The audit chain itself is never touched: its records
 * name notifications by id and payload SHA-256, so `audit verify` still
 * passes after the payloads are gone. */
#ifndef SDAT_RETENTION_H
#define SDAT_RETENTION_H

#include <stdint.h>

#include "audit.h"
#include "config/config.h"
#include "store/store.h"

struct sdat_retention_counts {
    int64_t payloads;     /* notification payloads removed */
    int64_t dead_letters; /* dead letters whose bytes were removed */
    int64_t accesses;     /* CP-IS access rows deleted */
};

/* Removes, as of now_ms: the payloads of notifications no longer scheduled
 * or delivering whose last activity is older than retention.payload_days,
 * the bytes of dead letters older than retention.dead_letter_days, and the
 * CP-IS accesses that arrived more than retention.access_days ago. Begins
 * and commits its own transaction (the caller must have none open) and
 * appends `retention.pruned` (actor "sdatd") to it, also when nothing was
 * removed (the record shows that retention ran). 0 and the counts, or a
 * negative errno after a rollback (nothing removed). */
int sdat_retention_run(sdat_store_t *st, sdat_audit_t *audit, const struct sdat_config *cfg,
                       int64_t now_ms, struct sdat_retention_counts *ret_counts);

#endif
