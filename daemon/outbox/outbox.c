#include "outbox.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "decide/decide.h"

/* How often the open notifications are scanned for escalation. */
#define ESCALATION_SCAN_MS 1000
#define ESCALATION_SCAN_LIMIT 500

struct binding {
    const struct sdat_recipient *recipient;
    struct sdat_connector_recipient as_connector_sees; /* borrowed by ctx */
    const struct sdat_connector_ops *ops;
    void *ctx;
    size_t in_flight;
    /* The circuit (delivery.md): consecutive failures; once open, one probe
     * every retry_max until one succeeds. */
    int failures;
    bool open, probing;
    int64_t probe_at_ms;
};

/* One delivery in flight. The connector holds d until it calls done. */
struct flight {
    struct sdat_delivery d;
    struct sdat_outbox *outbox;
    struct binding *b;
    bool used, reported, probe;
    enum sdat_delivery_result result;
    char id[40], kind[32], recipient[80], source_key[200], sha[65];
    int attempt;
    int64_t scheduled_ms;
    char *payload;
    struct sdat_letter letter, link; /* what a person reads (connector.h) */
};

struct sdat_outbox {
    const struct sdat_config *cfg;
    struct sdat_connector_env *env;
    struct binding *bindings;
    size_t n_bindings;
    struct flight *flights;
    size_t n_flights; /* delivery.concurrency */
    size_t in_flight, reported;
    int64_t last_scan_ms;
};

static void flight_release(struct flight *f)
{
    if (f->b) {
        f->b->in_flight--;
    }
    f->outbox->in_flight--;
    free(f->payload);
    sdat_letter_free(&f->letter);
    sdat_letter_free(&f->link);
    memset(&f->d, 0, sizeof f->d);
    f->payload = NULL;
    f->used = f->reported = f->probe = false;
    f->b = NULL;
}

void sdat_outbox_free(sdat_outbox_t *outbox)
{
    if (!outbox) {
        return;
    }
    for (size_t i = 0; i < outbox->n_bindings; i++) {
        if (outbox->bindings[i].ops && outbox->bindings[i].ctx) {
            outbox->bindings[i].ops->destroy(outbox->bindings[i].ctx);
        }
    }
    for (size_t i = 0; outbox->flights && i < outbox->n_flights; i++) {
        free(outbox->flights[i].payload);
    }
    free(outbox->flights);
    free(outbox->bindings);
    sdat_connector_env_free(outbox->env);
    free(outbox);
}

int sdat_outbox_new(const struct sdat_config *cfg, const char *bootstrap_servers,
                    sdat_outbox_t **ret_outbox, char *err, size_t errlen)
{
    sdat_outbox_t *outbox = calloc(1, sizeof *outbox);
    size_t concurrency = cfg->delivery.concurrency > 0 ? (size_t)cfg->delivery.concurrency : 1;
    int r = 0;
    if (!outbox || !(outbox->bindings = calloc(cfg->n_recipients + 1, sizeof *outbox->bindings)) ||
        !(outbox->flights = calloc(concurrency, sizeof *outbox->flights)) ||
        sdat_connector_env_new(cfg, bootstrap_servers, &outbox->env) < 0) {
        sdat_outbox_free(outbox);
        return -ENOMEM;
    }
    outbox->cfg = cfg;
    outbox->n_flights = concurrency;
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        struct binding *b = &outbox->bindings[outbox->n_bindings];
        char cerr[256] = "";
        b->recipient = &cfg->recipients[i];
        b->ops = sdat_connector_find(b->recipient->connector);
        if (!b->ops) {
            snprintf(err, errlen, "recipients.[%zu].connector: \"%s\" is not a known connector", i,
                     b->recipient->connector);
            r = -EINVAL;
            goto fail;
        }
        b->as_connector_sees = sdat_connector_recipient_of(b->recipient);
        r = b->ops->init(outbox->env, &b->as_connector_sees, &b->ctx, cerr, sizeof cerr);
        if (r < 0) {
            snprintf(err, errlen, "recipients.[%zu].%s", i, cerr);
            goto fail;
        }
        outbox->n_bindings++;
    }
    *ret_outbox = outbox;
    return 0;
fail:
    sdat_outbox_free(outbox);
    return r;
}

int64_t sdat_outbox_backoff_ms(double retry_initial_s, double retry_max_s, int n, double rnd)
{
    double cap = retry_initial_s * pow(2.0, n > 1 ? n - 1 : 0);
    if (cap > retry_max_s) {
        cap = retry_max_s;
    }
    return (int64_t)((cap / 2.0 + rnd * cap / 2.0) * 1000.0);
}

static struct binding *binding_for(sdat_outbox_t *outbox, const char *recipient_id)
{
    for (size_t i = 0; i < outbox->n_bindings; i++) {
        if (strcmp(outbox->bindings[i].recipient->id, recipient_id) == 0) {
            return &outbox->bindings[i];
        }
    }
    return NULL;
}

int sdat_outbox_bind(sdat_outbox_t *outbox, const char *recipient_id,
                     const struct sdat_connector_ops *ops, void *ctx)
{
    struct binding *b = binding_for(outbox, recipient_id);
    if (!b) {
        return -ENOENT;
    }
    if (b->ctx) {
        b->ops->destroy(b->ctx);
    }
    b->ops = ops;
    b->ctx = ctx;
    return 0;
}

bool sdat_outbox_circuit_open(const sdat_outbox_t *outbox, const char *recipient_id)
{
    for (size_t i = 0; i < outbox->n_bindings; i++) {
        if (strcmp(outbox->bindings[i].recipient->id, recipient_id) == 0) {
            return outbox->bindings[i].open;
        }
    }
    return false;
}

size_t sdat_outbox_in_flight(const sdat_outbox_t *outbox)
{
    return outbox->in_flight;
}

bool sdat_outbox_full(const sdat_outbox_t *outbox)
{
    return outbox->in_flight >= outbox->n_flights;
}

static const char *outcome_name(enum sdat_delivery_result result)
{
    return result == SDAT_DELIVERY_DONE ? "done" : result == SDAT_DELIVERY_RETRY ? "retry" : "failed";
}

static void on_done(struct sdat_delivery *d, enum sdat_delivery_result result, void *opaque)
{
    struct flight *f = opaque;
    (void)d;
    if (!f->used || f->reported) {
        return; /* a connector bug; never record twice */
    }
    f->reported = true;
    f->result = result;
    f->outbox->reported++;
}

/* ---- recording finished deliveries ---- */

static void circuit_result(sdat_outbox_t *outbox, struct sdat_engine *e, struct flight *f,
                           int64_t now_ms)
{
    struct binding *b = f->b;
    if (!b) {
        return;
    }
    int64_t retry_max = (int64_t)(outbox->cfg->delivery.retry_max * 1000.0);
    if (f->probe) {
        b->probing = false;
    }
    if (f->result == SDAT_DELIVERY_DONE) {
        b->failures = 0;
        if (b->open) {
            b->open = false;
            sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 0, b->recipient->id);
            log_info("delivery", "circuit closed recipient=%s", b->recipient->id);
            sdat_store_notifications_wake(e->st, b->recipient->id, now_ms);
        }
        return;
    }
    b->failures++;
    if (b->open) {
        b->probe_at_ms = now_ms + retry_max; /* the probe failed */
    } else if (b->failures >= outbox->cfg->delivery.circuit_failures) {
        b->open = true;
        b->probe_at_ms = now_ms + retry_max;
        sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 1, b->recipient->id);
        log_warn("delivery", "circuit open recipient=%s after %d consecutive failures; one probe "
                 "every %.0f s", b->recipient->id, b->failures, outbox->cfg->delivery.retry_max);
    }
}

/* Records one finished attempt and its consequence (within a transaction). */
static int record(sdat_outbox_t *outbox, struct sdat_engine *e, struct flight *f, int64_t now_ms)
{
    const struct sdat_config *cfg = outbox->cfg;
    enum sdat_delivery_result result = f->result;
    struct sdat_delivery *d = &f->d;
    int64_t next = now_ms;
    const char *state = "scheduled";
    int r;

    if (result == SDAT_DELIVERY_RETRY &&
        now_ms - f->scheduled_ms >= (int64_t)(cfg->delivery.give_up_after * 1000.0)) {
        result = SDAT_DELIVERY_FAILED; /* retrying stops at give_up_after */
    }
    if (result == SDAT_DELIVERY_DONE) {
        state = "delivered";
    } else if (result == SDAT_DELIVERY_FAILED) {
        state = "failed";
    } else {
        int64_t delay = sdat_outbox_backoff_ms(cfg->delivery.retry_initial, cfg->delivery.retry_max,
                                               f->attempt,
                                               (double)random() / ((double)RAND_MAX + 1.0));
        if (d->retry_after_ms > 0) {
            /* What the receiver asks, up to when retrying stops. */
            int64_t limit = f->scheduled_ms + (int64_t)(cfg->delivery.give_up_after * 1000.0);
            delay = d->retry_after_ms;
            if (now_ms + delay > limit) {
                delay = limit > now_ms ? limit - now_ms : 0;
            }
        }
        next = now_ms + delay;
    }
    r = sdat_store_attempt_insert(e->st, f->id, f->attempt, now_ms, outcome_name(result),
                                  d->detail);
    if (r == 0) {
        r = sdat_store_notification_update(e->st, f->id, state, f->attempt, next,
                                           result == SDAT_DELIVERY_DONE ? NULL : d->detail);
    }
    if (r == 0) {
        r = sdat_audit_append(e->audit, e->st, now_ms, "delivery.attempted", "sdatd",
                              json_pack("{s:s, s:s}", "notification_id", f->id, "recipient",
                                        f->recipient),
                              json_pack("{s:i, s:s, s:s}", "attempt", f->attempt, "outcome",
                                        outcome_name(result), "detail", d->detail));
    }
    if (r == 0 && result != SDAT_DELIVERY_RETRY) {
        r = sdat_audit_append(
            e->audit, e->st, now_ms,
            result == SDAT_DELIVERY_DONE ? "notification.delivered" : "notification.failed",
            "sdatd",
            json_pack("{s:s, s:s, s:s}", "notification_id", f->id, "recipient", f->recipient,
                      "incident", f->source_key),
            json_pack("{s:s, s:s, s:i}", "kind", f->kind, "payload_sha256", f->sha, "attempts",
                      f->attempt));
    }
    if (r == 0 && result == SDAT_DELIVERY_DONE && f->b && f->b->recipient->ack_within > 0) {
        r = sdat_store_notification_ack_due(
            e->st, f->id, now_ms + (int64_t)(f->b->recipient->ack_within * 1000.0));
    }
    /* Failed for good: escalate at once (never a delivery-failed itself). */
    if (r == 0 && result == SDAT_DELIVERY_FAILED && strcmp(f->kind, "delivery-failed") != 0) {
        struct sdat_escalation what = {.id = f->id,
                                       .kind = f->kind,
                                       .recipient = f->recipient,
                                       .attempts = f->attempt,
                                       .last_error = d->detail,
                                       .payload = f->payload,
                                       .source_key = f->source_key};
        r = sdat_engine_escalate(e, "failed", &what, now_ms);
    }
    if (r == 0) {
        f->result = result;
        circuit_result(outbox, e, f, now_ms);
        sdat_metrics_add(SDAT_M_DELIVERY_ATTEMPTS, 1, f->b ? f->b->recipient->connector : "none",
                         outcome_name(result));
        if (result != SDAT_DELIVERY_RETRY) {
            sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, f->kind,
                             result == SDAT_DELIVERY_DONE ? "delivered" : "failed");
        }
        if (result == SDAT_DELIVERY_DONE) {
            /* Delivered minus due: what late costs a recipient. */
            double delay = (double)(now_ms - f->scheduled_ms) / 1000.0;
            sdat_metrics_observe(SDAT_M_DELIVERY_DELAY, delay > 0 ? delay : 0);
        }
        if (result == SDAT_DELIVERY_DONE) {
            log_info("delivery", "delivered id=%s recipient=%s attempt=%d", f->id, f->recipient,
                     f->attempt);
        } else {
            log_warn("delivery", "%s id=%s recipient=%s attempt=%d: %s",
                     result == SDAT_DELIVERY_FAILED ? "failed" : "will retry", f->id, f->recipient,
                     f->attempt, d->detail);
        }
    }
    return r;
}

static int collect(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms)
{
    if (outbox->reported == 0) {
        return 0;
    }
    int r = sdat_store_begin(e->st);
    if (r < 0) {
        return r;
    }
    for (size_t i = 0; i < outbox->n_flights && r == 0; i++) {
        struct flight *f = &outbox->flights[i];
        if (f->used && f->reported) {
            r = record(outbox, e, f, now_ms);
        }
    }
    if (r == 0) {
        r = sdat_store_commit(e->st);
    } else {
        sdat_store_rollback(e->st);
    }
    if (r < 0) {
        /* Nothing recorded: the flights stay reported and are recorded on
         * the next turn, when the store may accept them. */
        return r;
    }
    for (size_t i = 0; i < outbox->n_flights; i++) {
        struct flight *f = &outbox->flights[i];
        if (f->used && f->reported) {
            outbox->reported--;
            flight_release(f);
        }
    }
    return 0;
}

/* ---- starting due deliveries ---- */

struct start_ctx {
    sdat_outbox_t *outbox;
    struct sdat_engine *e;
    int64_t now_ms;
    struct flight *started[256];
    size_t n_started;
};

static struct flight *free_flight(sdat_outbox_t *outbox)
{
    for (size_t i = 0; i < outbox->n_flights; i++) {
        if (!outbox->flights[i].used) {
            return &outbox->flights[i];
        }
    }
    return NULL;
}

void sdat_outbox_render_letters(const struct sdat_config *cfg, sdat_store_t *st,
                                const struct sdat_recipient *r, const char *kind, const char *id,
                                const char *payload, struct sdat_letter *letter,
                                struct sdat_letter *link)
{
    const sdat_tz_t *tz = NULL;
    json_t *doc = payload ? json_loads(payload, 0, NULL) : NULL;
    *letter = *link = (struct sdat_letter){0};
    if (sdat_tz_get(cfg->timezone ? cfg->timezone : "Europe/London", &tz) < 0) {
        tz = NULL; /* -t checked the zone: UTC rather than no letter */
    }
    struct sdat_letter_in in = {.payload = doc,
                                .recipient_name = r ? r->name : NULL,
                                .recipient_kind = r ? sdat_recipient_kind_name(r->kind) : NULL,
                                .tz = tz,
                                .guidance = sdat_config_guidance(cfg, kind),
                                .public_url = cfg->http.public_url};
    const char *withdraws = json_string_value(json_object_get(doc, "withdraws"));
    if (st && withdraws &&
        sdat_store_notification_sent_ms(st, withdraws, &in.withdraws_sent_ms) < 0) {
        in.withdraws_sent_ms = 0; /* gone (retention) or unreadable: the id alone */
    }
    if (doc && sdat_letter_render(&in, letter) < 0) {
        *letter = (struct sdat_letter){0};
    }
    json_decref(doc);
    if (sdat_letter_link(kind, id, r ? r->name : NULL, in.recipient_kind, cfg->http.public_url,
                         link) < 0) {
        *link = (struct sdat_letter){0};
    }
}

static int start_one(const struct sdat_notification *n, void *opaque)
{
    struct start_ctx *sc = opaque;
    sdat_outbox_t *outbox = sc->outbox;
    struct binding *b = binding_for(outbox, n->recipient);
    int64_t now = sc->now_ms;
    int64_t retry_max = (int64_t)(outbox->cfg->delivery.retry_max * 1000.0);
    bool probe = false;

    if (b && b->open) {
        if (b->probing || now < b->probe_at_ms) {
            /* Wait for the probe; a success wakes every waiting one. */
            int64_t at = b->probe_at_ms > now ? b->probe_at_ms : now + retry_max;
            return sdat_store_notification_defer(sc->e->st, n->id, at);
        }
        probe = true;
    }
    struct flight *f = free_flight(outbox);
    if (!f || sc->n_started >= sizeof sc->started / sizeof sc->started[0]) {
        return 0;
    }
    /* A school is told only if the child is still there (flows.md). */
    int r = sdat_engine_recheck(sc->e, n, now);
    if (r != 0) {
        return r < 0 ? r : 0;
    }
    *f = (struct flight){.outbox = outbox,
                         .b = b,
                         .used = true,
                         .probe = probe,
                         .attempt = n->attempts + 1,
                         .scheduled_ms = n->scheduled_ms,
                         .payload = n->payload ? strdup(n->payload) : NULL};
    snprintf(f->id, sizeof f->id, "%s", n->id);
    snprintf(f->kind, sizeof f->kind, "%s", n->kind);
    snprintf(f->recipient, sizeof f->recipient, "%s", n->recipient);
    snprintf(f->source_key, sizeof f->source_key, "%s", n->source_key);
    snprintf(f->sha, sizeof f->sha, "%s", n->payload_sha256);
    f->d = (struct sdat_delivery){.notification_id = f->id,
                                  .kind = f->kind,
                                  .recipient_id = f->recipient,
                                  .payload = f->payload,
                                  .payload_len = f->payload ? strlen(f->payload) : 0,
                                  .attempt = f->attempt};
    sdat_outbox_render_letters(outbox->cfg, sc->e->st, b ? b->recipient : NULL, f->kind, f->id,
                               f->payload, &f->letter, &f->link);
    f->d.letter_text = f->letter.text;
    f->d.letter_html = f->letter.html;
    f->d.link_text = f->link.text;
    f->d.link_html = f->link.html;
    outbox->in_flight++;
    if (b) {
        b->in_flight++;
        if (probe) {
            b->probing = true;
        }
    }
    r = sdat_store_notification_set_state(sc->e->st, n->id, "delivering");
    if (r < 0) {
        flight_release(f);
        return r;
    }
    sc->started[sc->n_started++] = f;
    return 0;
}

/* Hands the started flights to their connectors, after the transaction
 * that marked them delivering has committed. */
static void launch(struct start_ctx *sc)
{
    for (size_t i = 0; i < sc->n_started; i++) {
        struct flight *f = sc->started[i];
        if (!f->b) {
            /* Never guess another recipient: wait for the directory to be
             * fixed (a retry, so that escalation still happens). */
            snprintf(f->d.detail, sizeof f->d.detail, "recipient is not in the directory");
            on_done(&f->d, SDAT_DELIVERY_RETRY, f);
        } else if (!f->payload) {
            snprintf(f->d.detail, sizeof f->d.detail, "payload was removed by retention");
            on_done(&f->d, SDAT_DELIVERY_FAILED, f);
        } else {
            int r = f->b->ops->start(f->b->ctx, &f->d, on_done, f);
            if (r < 0 && !f->reported) {
                snprintf(f->d.detail, sizeof f->d.detail, "the connector could not start: %s",
                         strerror(-r));
                on_done(&f->d, SDAT_DELIVERY_RETRY, f);
            }
        }
    }
}

int sdat_outbox_run(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms)
{
    int r;
    /* Let connectors report without waiting. */
    sdat_outbox_wait(outbox, 0);
    r = collect(outbox, e, now_ms);
    if (r < 0) {
        return r;
    }
    if (now_ms - outbox->last_scan_ms >= ESCALATION_SCAN_MS || now_ms < outbox->last_scan_ms) {
        r = sdat_engine_escalation_scan(e, now_ms, ESCALATION_SCAN_LIMIT);
        if (r < 0) {
            return r;
        }
        outbox->last_scan_ms = now_ms;
    }
    size_t room = outbox->n_flights - outbox->in_flight;
    if (room == 0) {
        return 0;
    }
    /* Nothing can be due before the earliest next attempt, which the store
     * keeps until a notification is written (sdat_store_next_due): most
     * turns need neither the transaction nor the due query. */
    int64_t next_due;
    if (sdat_store_next_due(e->st, &next_due) == 0 && next_due > now_ms) {
        return 0;
    }
    struct start_ctx sc = {.outbox = outbox, .e = e, .now_ms = now_ms};
    r = sdat_store_begin(e->st);
    if (r < 0) {
        return r;
    }
    size_t limit = room < 256 ? room : 256;
    r = sdat_store_notifications_due(e->st, now_ms, (int)limit, start_one, &sc);
    if (r == 0) {
        r = sdat_store_commit(e->st);
    } else {
        sdat_store_rollback(e->st);
    }
    if (r < 0) {
        for (size_t i = 0; i < sc.n_started; i++) {
            flight_release(sc.started[i]);
        }
        return r;
    }
    launch(&sc);
    /* Synchronous connectors reported already: record them now. */
    return collect(outbox, e, now_ms);
}

void sdat_outbox_wait(sdat_outbox_t *outbox, int timeout_ms)
{
    if (outbox->in_flight == outbox->reported) {
        return;
    }
    /* Each connector with deliveries in flight gets a turn; only the first
     * may wait, so that a turn never takes more than timeout_ms. */
    bool waited = false;
    for (size_t i = 0; i < outbox->n_bindings; i++) {
        struct binding *b = &outbox->bindings[i];
        if (b->in_flight > 0 && b->ops->poll) {
            b->ops->poll(b->ctx, waited ? 0 : timeout_ms);
            waited = true;
        }
    }
}

int sdat_outbox_run_collect(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms)
{
    return collect(outbox, e, now_ms);
}

int sdat_outbox_abandon(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms)
{
    int r = collect(outbox, e, now_ms);
    if (r < 0 || outbox->in_flight == 0) {
        return r;
    }
    r = sdat_store_begin(e->st);
    if (r == 0) {
        r = sdat_store_notifications_requeue(e->st, now_ms);
        r = r < 0 ? r : sdat_store_commit(e->st);
    }
    if (r < 0) {
        sdat_store_rollback(e->st);
    }
    for (size_t i = 0; i < outbox->n_bindings; i++) {
        struct binding *b = &outbox->bindings[i];
        if (b->in_flight > 0 && b->ctx) {
            /* The connector forgets its deliveries; a new context replaces
             * it with the new outbox. */
            b->ops->destroy(b->ctx);
            b->ctx = NULL;
        }
    }
    for (size_t i = 0; i < outbox->n_flights; i++) {
        if (outbox->flights[i].used) {
            if (outbox->flights[i].reported) {
                outbox->reported--;
            }
            flight_release(&outbox->flights[i]);
        }
    }
    return r < 0 ? r : 0;
}
