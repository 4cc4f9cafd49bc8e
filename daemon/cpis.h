/* CP-IS (flows.md §2): which flags are active on a date, and the answer to
 * a lookup. */
#ifndef SDAT_CPIS_H
#define SDAT_CPIS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"

/* events.md: start_date ≤ day and (no end_date or day ≤ end_date); a UCPP
 * flag also stops being active 28 days after its expected_delivery_date
 * (active through EDD + 27, not on EDD + 28). flag: council.cpis-flag/1. */
bool sdat_cpis_flag_active(const json_t *flag, int32_t day);

/* Within an open transaction: a silent lookup (the HTTP API, sdatctl
 * lookup): the flags active on day (the local date of now when day < 0)
 * for nhs_number and up to 25 recorded accesses, as sdat.cpis-response/1
 * (new reference); audited as lookup.served by asker with the flag ids and
 * an HMAC of the NHS number (never the number); nobody is notified and no
 * access is recorded. 0 or a negative store error. */
int sdat_engine_cpis_lookup(struct sdat_engine *e, const char *nhs_number, int32_t day,
                            const char *asker, int64_t now_ms, json_t **ret_response);

#endif
