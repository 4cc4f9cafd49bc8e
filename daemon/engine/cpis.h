/* CP-IS (flows.md §2): which flags are active on a date, and the answer to
 * a lookup. */
#ifndef SDAT_CPIS_H
#define SDAT_CPIS_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "engine-t.h"
#include "store/store-t.h"

/* events.md: start_date ≤ day and (no end_date or day ≤ end_date); a UCPP
 * flag also stops being active 28 days after its expected_delivery_date
 * (active through EDD + 27, not on EDD + 28). flag: council.cpis-flag/1. */
bool sdat_cpis_flag_active(const json_t *flag, int32_t day);

/* A silent lookup (the HTTP API, sdatctl lookup): the flags active on a
 * day for an NHS number and up to 25 recorded accesses, audited as
 * lookup.served by the asker with the flag ids and an HMAC of the NHS number
 * (never the number); nobody is notified and no access is recorded. In
 * three steps, so that only the audit record is written on the writer:
 *
 * 1. sdat_cpis_lookup_read, on any thread, on any store handle: on a
 *    read-only one (the HTTP server's) it reads the last committed state, in
 *    one read transaction (the flags and the accesses from one snapshot);
 *    on the writer's within its transaction, what that transaction sees.
 * 2. sdat_engine_cpis_lookup_audit, on the writer within its transaction:
 *    the lookup.served record (and the store's own HMAC key, the first
 *    time).
 * 3. sdat_cpis_lookup_response, once that record is committed: the answer.
 */
typedef struct sdat_cpis_lookup sdat_cpis_lookup_t;

/* nhs_number (copied) must be a valid NHS number; day: a day number
 * (civil.h), the caller's "today" in the deployment's time zone when none
 * was asked for. 0 and *ret_lookup (free with sdat_cpis_lookup_free), or a
 * negative store error (-EIO) or -ENOMEM. */
int sdat_cpis_lookup_read(sdat_store_t *st, const char *nhs_number, int32_t day,
                          sdat_cpis_lookup_t **ret_lookup);
/* Within an open transaction on the writer: the lookup's lookup.served
 * record by asker at now_ms. 0 or a negative store error. */
int sdat_engine_cpis_lookup_audit(struct sdat_engine *e, const sdat_cpis_lookup_t *lookup,
                                  const char *asker, int64_t now_ms);
/* sdat.cpis-response/1 looked up at now_ms (the audit record's time): a new
 * reference, or NULL (out of memory). */
json_t *sdat_cpis_lookup_response(const sdat_cpis_lookup_t *lookup, int64_t now_ms);
/* The number of active flags found (for the log line). */
size_t sdat_cpis_lookup_flag_count(const sdat_cpis_lookup_t *lookup);
void sdat_cpis_lookup_free(sdat_cpis_lookup_t *lookup); /* accepts NULL */

/* Within an open transaction: a health.attendance/1 document (borrowed)
 * that passed validation (and, from a topic, the key check), asked by asker
 * (the ods_code for a topic, the token's name over HTTP). flows.md §2: the
 * flags active on the local date of arrived_at for patient.nhs_number and
 * up to 25 accesses recorded before this attendance (never its own, so the
 * same attendance is answered alike again), as sdat.cpis-response/1 with
 * attendance = ODS_CODE/ATTENDANCE_ID; audited as lookup.served. Unless
 * notify_la is false, the access is recorded (once per key) and each active
 * flag sends cpis-access, due now, to its contact.recipient (which must
 * belong to the flag's local authority) or else to the cpis recipient of
 * the area with the flag's la_code; a notification that exists already
 * (same key, recipient, flag) is not made again. from_topic: the response
 * is also queued for topics.cpis_responses (keyed by the attendance key).
 *
 * 0, or 1 when the attendance was answered, recorded and every flag that
 * could be routed notified, but at least one flag could not be (err names
 * the first flag id and why): the caller keeps the event as a dead letter
 * (stage routing) so that a replay after the directory is fixed notifies the
 * rest. Either way *ret_response (may be NULL: not wanted) is a new
 * reference. Negative: a store error, *ret_response untouched. */
int sdat_engine_attendance(struct sdat_engine *e, const json_t *doc, const char *asker,
                           bool from_topic, int64_t now_ms, json_t **ret_response, char *err,
                           size_t errlen);

#endif
