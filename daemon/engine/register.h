/* Applying register records — council.child/1 and council.cpis-flag/1
 * documents, or tombstones by key — the same way for the compacted topics
 * and for `sdatctl import`: upsert or delete in the store and a
 * register.changed audit record with ids only. */
#ifndef SDAT_REGISTER_H
#define SDAT_REGISTER_H

#include <stdint.h>

#include <jansson.h>

#include "audit.h"
#include "store/store.h"

enum sdat_register_kind {
    SDAT_REGISTER_CHILD,
    SDAT_REGISTER_FLAG,
};

/* Within an open transaction. doc: a validated document whose id equals
 * key, or NULL for a tombstone (removing an absent record is not an error
 * and is not audited). actor: "sdatd" or "sdatctl"; source: "topic" or
 * "import". 0, or a negative store error. */
int sdat_register_apply(sdat_store_t *st, sdat_audit_t *audit, enum sdat_register_kind kind,
                        const char *key, const json_t *doc, const char *actor,
                        const char *source, int64_t now_ms);

#endif
