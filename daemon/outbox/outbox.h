/* The outbox: notifications become due at their next attempt time and are
 * handed to their recipient's connector, up to delivery.concurrency at
 * once. The core owns retries, circuits, escalation and state; a delivery
 * is marked done only after the connector said so. Every function takes the
 * time from its caller (now_ms), so tests can run a night in seconds. */
#ifndef SDAT_OUTBOX_H
#define SDAT_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "engine/engine.h"

typedef struct sdat_outbox sdat_outbox_t;

struct sdat_letter;
/* What a person reads for a delivery of payload (notification kind and id)
 * to r (may be NULL): the letter (decide/letter.h) in cfg's timezone with
 * guidance.KIND and http.public_url, and the link-mode letter. For a
 * withdrawal the withdrawn notification's date is looked up in st (may be
 * NULL: the letter then names it by id alone). Either letter is left
 * zeroed (NULL parts) when it cannot be rendered; the caller frees both
 * with sdat_letter_free. The outbox hands them to connectors in
 * struct sdat_delivery; connector-drive does the same. */
void sdat_outbox_render_letters(const struct sdat_config *cfg, sdat_store_t *st,
                                const struct sdat_recipient *r, const char *kind, const char *id,
                                const char *payload, struct sdat_letter *letter,
                                struct sdat_letter *link);

/* Creates a connector context per recipient of cfg (borrowed; must outlive
 * the outbox). bootstrap_servers: the Kafka cluster in use (copied; may be
 * NULL). */
int sdat_outbox_new(const struct sdat_config *cfg, const char *bootstrap_servers,
                    sdat_outbox_t **ret_outbox, char *err, size_t errlen);
/* Frees the outbox; deliveries still in flight are abandoned (call
 * sdat_outbox_abandon first so that they are due again). */
void sdat_outbox_free(sdat_outbox_t *outbox);
/* One turn: records the deliveries that finished, escalates what is late,
 * failed or unacknowledged, and starts due deliveries while fewer than
 * delivery.concurrency are in flight. Never blocks on a receiver. 0, or a
 * negative store error. */
int sdat_outbox_run(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms);
/* Waits at most timeout_ms for the connectors' I/O while deliveries are in
 * flight (returns at once when none is). */
void sdat_outbox_wait(sdat_outbox_t *outbox, int timeout_ms);
/* Records the deliveries that finished, and nothing else (at shutdown). */
int sdat_outbox_run_collect(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms);
size_t sdat_outbox_in_flight(const sdat_outbox_t *outbox);
/* Whether delivery.concurrency deliveries are in flight: no due delivery
 * can start before one of them finishes. */
bool sdat_outbox_full(const sdat_outbox_t *outbox);
/* Deliveries in flight are given up (their connectors will not report
 * them) and made due again at now_ms: a repeat under the same id. */
int sdat_outbox_abandon(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms);
/* Whether the recipient's circuit is open (for metrics and tests). */
bool sdat_outbox_circuit_open(const sdat_outbox_t *outbox, const char *recipient_id);
/* Tests: delivers recipient_id's notifications through ops and ctx instead
 * of its configured connector (ctx is destroyed with the outbox). */
int sdat_outbox_bind(sdat_outbox_t *outbox, const char *recipient_id,
                     const struct sdat_connector_ops *ops, void *ctx);
/* The retry delay for attempt n (1-based) in ms, uniformly random between
 * half and all of min(retry_max, retry_initial * 2^(n-1)); rnd in [0, 1). */
int64_t sdat_outbox_backoff_ms(double retry_initial_s, double retry_max_s, int n, double rnd);

/* ---- The connector registry (connector.c): names to connectors. ---- */

const struct sdat_connector_ops *sdat_connector_find(const char *name);
/* Every connector's key table, NULL-terminated, for sdat_config_load and
 * sdatd.conf(5). */
const struct sdat_key_table *const *sdat_connector_key_tables(void);
/* A configured recipient as its connector sees it (borrows r). */
struct sdat_connector_recipient sdat_connector_recipient_of(const struct sdat_recipient *r);
/* Runs r's connector check (sdat_config_load_checked's check): every
 * problem with its connector keys goes to report(opaque, KEY, ...), KEY
 * relative to the recipient ("url") or NULL; 0 when there was none, else
 * -EINVAL. A recipient whose connector is unknown passes here: the
 * configuration's own check names it. */
int sdat_connector_check(const struct sdat_recipient *r, sdat_key_report_fn report, void *opaque);
/* As sdat_connector_check with the connector ops given (NULL passes): its
 * check_keys from ABI 4, else its check's one "KEY: MESSAGE" reported at
 * KEY, so that a connector written for ABI 3 keeps working. */
int sdat_connector_check_ops(const struct sdat_connector_ops *ops, const struct sdat_recipient *r,
                             sdat_key_report_fn report, void *opaque);
/* The connectors' environment from cfg: bootstrap_servers (copied; may be
 * NULL), kafka.properties, delivery.give_up_after. Free with
 * sdat_connector_env_free; it must outlive the contexts made with it. */
int sdat_connector_env_new(const struct sdat_config *cfg, const char *bootstrap_servers,
                           struct sdat_connector_env **ret_env);
void sdat_connector_env_free(struct sdat_connector_env *env); /* accepts NULL */

#endif
