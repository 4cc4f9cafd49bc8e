/* The processing engine: what an inbound event does to the store. Every
 * function here runs on the one writer thread (the daemon's main loop) and
 * either commits all of an event's effects — notifications, dead letters,
 * audit records — in one transaction, or none of them. */
#ifndef SDAT_ENGINE_H
#define SDAT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "decide/decide.h"
#include "store/store.h"

#include "audit.h"
#include "cpis.h"
#include "engine-t.h"
#include "jobs.h"
#include "keys.h"
#include "register.h"
#include "retention.h"

typedef struct sdat_workers sdat_workers_t;

struct sdat_engine {
    const struct sdat_config *cfg; /* borrowed; replaced on reload */
    sdat_store_t *st;
    sdat_audit_t *audit;
    const sdat_schemas_t *schemas;
    const sdat_nicknames_t *nicknames; /* may be NULL: no nickname level */
    sdat_workers_t *workers;           /* may be NULL: batches are prepared on the writer */
    /* The last dead letter written (a replay reports it); id 0 before any. */
    struct {
        int64_t id;
        char stage[16];
        char error[256];
    } rejected;
};



/* Processes one message. 0: its effects (or its dead letter) are committed
 * and its offset may be stored. Negative: the store failed; nothing was
 * committed and the message must be processed again. */
int sdat_engine_ingest(struct sdat_engine *e, const struct sdat_inbound *m, int64_t now_ms);
/* The same within a transaction the caller holds (the register feed
 * applies a batch of records in one). */
int sdat_engine_process(struct sdat_engine *e, const struct sdat_inbound *m, int64_t now_ms);

/* sdat_engine_process in two halves. The first, sdat_engine_prepare,
 * reads no store and changes nothing (any thread may run it while the
 * writer works): the topic's schema, the size, parse, validation and key
 * checks, and for a police incident, when view is given and p->matches
 * points to room for them, its children's matches against the register
 * view. The second, sdat_engine_apply, on the writer within its
 * transaction, does the rest exactly as sdat_engine_process would, in the
 * order the messages are applied: the same message gives the same effects
 * whichever thread prepared it. */
struct sdat_incident_matches;
struct sdat_prepared {
    const char *schema; /* the topic's schema; NULL for a topic not read */
    const char *stage;  /* NULL: passed; else a dead letter at this stage */
    char error[512];    /* the dead letter's reason */
    json_t *doc;        /* the parsed value (owned), NULL for a tombstone */
    struct sdat_validation v;
    struct sdat_incident_matches *matches; /* room for an incident's matches, or NULL */
    bool matched;                          /* matches holds them; else the writer matches */
};
void sdat_engine_prepare(const struct sdat_engine *e, const struct sdat_register_view *view,
                         const struct sdat_inbound *m, struct sdat_prepared *p);
int sdat_engine_apply(struct sdat_engine *e, const struct sdat_inbound *m,
                      const struct sdat_prepared *p, int64_t now_ms);
void sdat_engine_prepared_clear(struct sdat_prepared *p); /* frees doc */

/* Decision workers (workers.c): threads that prepare a batch's messages
 * while the writer applies them in the batch's order. */
/* n >= 1 threads. 0, or a negative errno. */
int sdat_workers_start(int n, sdat_workers_t **ret);
void sdat_workers_stop(sdat_workers_t *w); /* accepts NULL */
int sdat_workers_count(const sdat_workers_t *w);
/* Messages prepared (parsed, validated) and incidents matched on the
 * workers since the start. */
void sdat_workers_stats(const sdat_workers_t *w, int64_t *ret_prepared, int64_t *ret_matched);
/* Within a transaction the caller holds: sdat_engine_process for each
 * message of msgs in order, their preparation on e->workers (inline when
 * NULL). Stops at the first store error (negative; the caller rolls back);
 * returns only once no worker reads anything of the batch. */
int sdat_engine_process_batch(struct sdat_engine *e, const struct sdat_inbound *msgs, size_t n,
                              int64_t now_ms);

/* Within an open transaction: keeps m as a dead letter at stage (parse,
 * size, schema, key, routing) with error (a JSON Pointer or an id and the
 * rule broken, never a value), audited as event.rejected; the daemon
 * mirrors it to the dead-letter topic. For an event that did not come from
 * Kafka (an attendance over HTTP) m names the topic that carries its schema
 * with partition and offset -1, so that a replay processes it as if
 * consumed. 0 or a negative store error. */
int sdat_engine_dead_letter(struct sdat_engine *e, const struct sdat_inbound *m, const char *stage,
                            const char *error, int64_t now_ms);

/* Within an open transaction: a police incident that passed validation and
 * the key check. warnings: the validator's lenient-field warnings. Returns
 * 0, a negative store error, or -EDOM with err set when the incident cannot
 * be routed (the caller dead-letters it, stage routing). */
int sdat_engine_incident(struct sdat_engine *e, const struct sdat_inbound *m, const json_t *doc,
                         const struct sdat_validation *validation, int64_t now_ms, char *err,
                         size_t errlen);
/* The same with its children's matches made already (sdat_engine_prepare),
 * or NULL to match them here. */
int sdat_engine_incident_matched(struct sdat_engine *e, const struct sdat_inbound *m,
                                 const json_t *doc, const struct sdat_validation *validation,
                                 const struct sdat_incident_matches *matched, int64_t now_ms,
                                 char *err, size_t errlen);

/* Within an open transaction: a person's decision on a review item
 * (flows.md §1): accept with register_child_id (routes as a match, the
 * school schedule computed from the incident's reported_at), or reject with
 * NULL (routes as none). by names who decided. 0 and, when ret_created is
 * not NULL, the ids of the notifications created (new reference);
 * -ENOENT no such item; -EALREADY decided before; -EINVAL no such register
 * child; -EDOM the incident can no longer be routed; or a store error. err
 * says why. */
int sdat_engine_review_decide(struct sdat_engine *e, const char *review_id,
                              const char *register_child_id, const char *by, int64_t now_ms,
                              json_t **ret_created, char *err, size_t errlen);
/* The same, saying through what the person decided (via: "console", or
 * NULL) and why (reason, or NULL): both go into the review.decided record's
 * detail. */
int sdat_engine_review_decide_via(struct sdat_engine *e, const char *review_id,
                                  const char *register_child_id, const char *by, const char *via,
                                  const char *reason, int64_t now_ms, json_t **ret_created,
                                  char *err, size_t errlen);

/* Within an open transaction, just before a school da-incident is handed
 * to its connector (flows.md §1 "Re-check at delivery"): the child's
 * education is resolved again for today. 0: deliver it; 1: it was
 * superseded and the child's current school (on its schedule from
 * reported_at, route_reason moved-school) or area was notified instead; or a
 * negative store error. */
int sdat_engine_recheck(struct sdat_engine *e, const struct sdat_notification *n, int64_t now_ms);

/* Within an open transaction: a recipient acknowledges notification id
 * (delivery.md); by names who. 0 acknowledged now, 1 acknowledged before
 * (the HTTP API answers 204 both times), -ENOENT no such notification,
 * -EBUSY not delivered (409), or a store error. */
int sdat_engine_acknowledge(struct sdat_engine *e, const char *id, const char *by,
                            int64_t now_ms);
/* The same with via (e.g. "console") added to the record's detail. */
int sdat_engine_acknowledge_via(struct sdat_engine *e, const char *id, const char *by,
                                const char *via, int64_t now_ms);

/* Within an open transaction: replays dead letter id through the engine
 * as if it were consumed now from its original topic, partition and offset
 * (after the operator fixed the directory or the producer). 0 and
 * *ret_outcome (new reference): {"outcome":"processed"} when it was
 * processed, or {"outcome":"dead-lettered","stage":…,"error":…,
 * "dead_letter_id":N} when it is rejected again (a new dead letter);
 * audited as dlq.replayed. -ENOENT: no such dead letter; -EINVAL: its bytes
 * were cut (an oversized event) or removed by retention. */
int sdat_engine_dlq_replay(struct sdat_engine *e, int64_t id, const char *by, int64_t now_ms,
                           json_t **ret_outcome);
/* The same, with via ("console", or NULL) in the dlq.replayed detail. */
int sdat_engine_dlq_replay_via(struct sdat_engine *e, int64_t id, const char *by, const char *via,
                               int64_t now_ms, json_t **ret_outcome);

/* ---- A new notification (notification.c) ---- */

/* The fields every payload built now shares (decide/payload.h): id, kind,
 * recipient to, created now_ms and due scheduled_ms, the kind's lawful
 * basis, http.public_url and, when the deployment makes acknowledgement
 * links, the key read for them into *ack_key (which ret points at). Clear
 * the key with sdat_ack_key_clear once the payload is built. */
void sdat_engine_payload_common(struct sdat_engine *e, const char *id, const char *kind,
                                const struct sdat_recipient *to, int64_t now_ms,
                                int64_t scheduled_ms, struct sdat_ack_key *ack_key,
                                struct sdat_payload_common *ret);

/* n as a new notification due at once, version 1 of source_key (what
 * CP-IS accesses and escalations make); id is copied. */
void sdat_engine_notification_due_now(struct sdat_notification *n, const char *id,
                                      const char *kind, const char *recipient,
                                      const char *source_key, int64_t now_ms);

/* Stores one new notification in the open transaction: its payload is
 * validated against sdat.notification/1 first (a payload that fails is a
 * builder's bug: nothing is stored, the refusal is logged, err (may be
 * NULL) says "payload fails sdat.notification/1 at PATH: MESSAGE", and
 * -EPROTO), then kept as canonical JSON with its SHA-256 (ret_sha) and n
 * inserted with them (n->payload and n->payload_sha256 are set here and
 * cleared again). 0 inserted, 1 when a notification with n's id exists already, -ENOMEM,
 * or a store error. */
int sdat_engine_notification_store(struct sdat_engine *e, struct sdat_notification *n,
                                   const json_t *payload, char ret_sha[65], char *err,
                                   size_t errlen);

/* An incident's children matched together (sdat_engine_match_incident). */
#define SDAT_INCIDENT_MAX_CHILDREN 20 /* police.da-incident/1's maxItems */
struct sdat_incident_matches {
    size_t n;
    struct sdat_match_params params; /* the thresholds used, for the explanation */
    bool in_scope[SDAT_INCIDENT_MAX_CHILDREN]; /* false: 18 or over (flows.md §1) */
    struct sdat_match_query queries[SDAT_INCIDENT_MAX_CHILDREN];
    struct sdat_match_outcome outcomes[SDAT_INCIDENT_MAX_CHILDREN];
};

/* Matches every child of a validated police.da-incident/1 (v: its
 * warnings, whose lenient fields are not used) on its local incident date,
 * then decides them together (sdat_match_corroborate). The daemon,
 * `sdatctl match` and the benchmark all match through here. 0, or a
 * negative store error. */
int sdat_engine_match_incident(struct sdat_engine *e, const json_t *doc,
                               const struct sdat_validation *v, int32_t incident_days,
                               struct sdat_incident_matches *ret);
/* The same against a read-only view of the register index, from any
 * thread (reads nothing else of the store). */
int sdat_engine_match_incident_view(const struct sdat_engine *e,
                                    const struct sdat_register_view *view, const json_t *doc,
                                    const struct sdat_validation *v, int32_t incident_days,
                                    struct sdat_incident_matches *ret);
/* An incident's local date (occurred_at in the configured zone): 0, or
 * -EDOM when it does not resolve. */
int sdat_engine_incident_days(const struct sdat_engine *e, const json_t *doc, int32_t *ret_days);

/* Matches one police child against the store's register with the
 * configured thresholds (the parameters used are returned for the
 * explanation). 0, or a negative store error. */
int sdat_engine_match(struct sdat_engine *e, const struct sdat_match_query *q,
                      struct sdat_match_params *ret_params, struct sdat_match_outcome *ret);

/* ---- Escalation (escalation.c; delivery.md "Escalation") ---- */

/* A notification that failed, was late or was not acknowledged. Borrowed. */
struct sdat_escalation {
    const char *id, *kind, *recipient;
    int attempts;
    const char *last_error; /* the last attempt's detail, or NULL */
    const char *payload;    /* its payload text, or NULL (removed by retention) */
    const char *source_key;
};

/* Within an open transaction: sends delivery-failed for what (reason late,
 * failed or unacknowledged; once per notification and reason) to the
 * escalation recipient of its recipient's area, else that area's MASH, and
 * audits it. 0 (also when escalated before, or refused with an error
 * logged), or a negative store error. */
int sdat_engine_escalate(struct sdat_engine *e, const char *reason,
                         const struct sdat_escalation *what, int64_t now_ms);
/* One scan, in its own transaction, of at most limit open notifications,
 * oldest due first: a delivered one past its ack_due is escalated
 * unacknowledged; a scheduled one give_up_after past due becomes failed
 * and is escalated failed; one past its late time (escalate_after after
 * due, or a school da-incident's start_time of its release day if
 * earlier) is escalated late. 0 or a negative store error. */
int sdat_engine_escalation_scan(struct sdat_engine *e, int64_t now_ms, int limit);

/* ---- Operator actions on one notification (operator.c; delivery.md
 * "Operator actions"). Each runs within an open transaction (a job), is
 * audited with `by` as its actor, and fills *ret. Each returns 0; -ENOENT
 * no such notification; -EBUSY the notification's state, or what it is,
 * does not allow the action (HTTP 409); -EINVAL bad input, such as an
 * unknown recipient (HTTP 400); or a store error. ret->err says why for
 * -EBUSY and -EINVAL. New notifications get delivery.md's ids with SOURCE
 * the notification acted on, VERSION 1, CHILD its child ref and DISC the
 * ordinal (1, 2, …) of the first id of that kind and recipient not yet
 * used, so that a second redirect or withdrawal is a new notification. ---- */

/* The route_reason column (not the payload) of a redirected notification:
 * the re-check at delivery leaves it where the operator sent it. */
#define SDAT_ROUTE_REASON_REDIRECTED "redirected"



/* A scheduled notification becomes cancelled (notification.cancelled). */
int sdat_engine_notification_cancel(struct sdat_engine *e, const char *id, const char *by,
                                    int64_t now_ms, struct sdat_operator_result *ret);
/* A delivered, acknowledged or failed notification is delivered again under
 * the same id and payload, due now (notification.resent). */
int sdat_engine_notification_resend(struct sdat_engine *e, const char *id, const char *by,
                                    int64_t now_ms, struct sdat_operator_result *ret);
/* A new notification to recipient_id with the payload rebuilt for that
 * recipient's kind (a da-incident from the incident and the register, on a
 * school's schedule from reported_at; other kinds readdressed, never to a
 * school); the old one is superseded when it was not delivered (scheduled
 * or failed), else followed by a withdrawn notification to its recipient
 * with reason (NULL: a standard one). notification.redirected. */
int sdat_engine_notification_redirect(struct sdat_engine *e, const char *id,
                                      const char *recipient_id, const char *reason,
                                      const char *by, int64_t now_ms,
                                      struct sdat_operator_result *ret);
/* A delivered (or acknowledged) notification sent in error: a withdrawn
 * notification with reason goes to its recipient at once
 * (notification.withdrawn); its own state is unchanged. */
int sdat_engine_notification_withdraw(struct sdat_engine *e, const char *id, const char *reason,
                                      const char *by, int64_t now_ms,
                                      struct sdat_operator_result *ret);

/* The same four, saying through what the person acted (via: "console", or
 * NULL) and why (note, or NULL: the person's reason), both added to the
 * detail of the action's audit record (a note replaces cancel's standard
 * "reason"); via also goes into the records of the notifications the
 * action creates or supersedes. A withdrawal's reason is its note. */
int sdat_engine_notification_cancel_via(struct sdat_engine *e, const char *id, const char *by,
                                        const char *via, const char *note, int64_t now_ms,
                                        struct sdat_operator_result *ret);
int sdat_engine_notification_resend_via(struct sdat_engine *e, const char *id, const char *by,
                                        const char *via, const char *note, int64_t now_ms,
                                        struct sdat_operator_result *ret);
int sdat_engine_notification_redirect_via(struct sdat_engine *e, const char *id,
                                          const char *recipient_id, const char *reason,
                                          const char *by, const char *via, const char *note,
                                          int64_t now_ms, struct sdat_operator_result *ret);
int sdat_engine_notification_withdraw_via(struct sdat_engine *e, const char *id,
                                          const char *reason, const char *by, const char *via,
                                          int64_t now_ms, struct sdat_operator_result *ret);

#endif
