#include "outbox.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "connector.h"
#include "log.h"

struct binding {
    const struct sdat_recipient *recipient;
    const struct sdat_connector_ops *ops;
    void *ctx;
};

struct sdat_outbox {
    const struct sdat_config *cfg;
    struct sdat_connector_env env;
    struct binding *bindings;
    size_t n_bindings;
};

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
    free(outbox->bindings);
    free(outbox);
}

int sdat_outbox_new(const struct sdat_config *cfg, sdat_outbox_t **ret_outbox, char *err,
                    size_t errlen)
{
    sdat_outbox_t *outbox = calloc(1, sizeof *outbox);
    int r = 0;
    if (!outbox || !(outbox->bindings = calloc(cfg->n_recipients + 1, sizeof *outbox->bindings))) {
        free(outbox);
        return -ENOMEM;
    }
    outbox->cfg = cfg;
    outbox->env = (struct sdat_connector_env){
        .cfg = cfg, .bootstrap_servers = cfg->kafka.bootstrap_servers,
        .user_agent = "sdatd/" SDAT_VERSION};
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
        r = b->ops->init(&outbox->env, b->recipient, &b->ctx, cerr, sizeof cerr);
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

struct run_ctx {
    sdat_outbox_t *outbox;
    struct sdat_engine *e;
    int64_t now_ms;
};

static const char *outcome_name(enum sdat_delivery_result result)
{
    return result == SDAT_DELIVERY_DONE ? "done" : result == SDAT_DELIVERY_RETRY ? "retry" : "failed";
}

/* Records one attempt and its consequence in one transaction. */
static int record(struct run_ctx *rc, const struct sdat_notification *n,
                  enum sdat_delivery_result result, const struct sdat_delivery *d)
{
    struct sdat_engine *e = rc->e;
    int attempt = n->attempts + 1;
    int64_t next = rc->now_ms;
    const char *state = "scheduled";
    int r = sdat_store_begin(e->st);
    if (r < 0) {
        return r;
    }
    if (result == SDAT_DELIVERY_RETRY &&
        rc->now_ms - n->scheduled_ms > (int64_t)(e->cfg->delivery.give_up_after * 1000.0)) {
        result = SDAT_DELIVERY_FAILED; /* retrying stops at give_up_after */
    }
    if (result == SDAT_DELIVERY_DONE) {
        state = "delivered";
    } else if (result == SDAT_DELIVERY_FAILED) {
        state = "failed";
    } else {
        int64_t delay = d->retry_after_ms > 0
                            ? d->retry_after_ms
                            : sdat_outbox_backoff_ms(e->cfg->delivery.retry_initial,
                                                     e->cfg->delivery.retry_max, attempt,
                                                     (double)random() / ((double)RAND_MAX + 1.0));
        next = rc->now_ms + delay;
    }
    r = sdat_store_attempt_insert(e->st, n->id, attempt, rc->now_ms, outcome_name(result),
                                  d->detail);
    if (r == 0) {
        r = sdat_store_notification_update(e->st, n->id, state, attempt, next,
                                           result == SDAT_DELIVERY_DONE ? NULL : d->detail);
    }
    if (r == 0) {
        r = sdat_audit_append(e->audit, e->st, rc->now_ms, "delivery.attempted", "sdatd",
                              json_pack("{s:s, s:s}", "notification_id", n->id, "recipient",
                                        n->recipient),
                              json_pack("{s:i, s:s, s:s}", "attempt", attempt, "outcome",
                                        outcome_name(result), "detail", d->detail));
    }
    if (r == 0 && result != SDAT_DELIVERY_RETRY) {
        r = sdat_audit_append(
            e->audit, e->st, rc->now_ms,
            result == SDAT_DELIVERY_DONE ? "notification.delivered" : "notification.failed",
            "sdatd",
            json_pack("{s:s, s:s, s:s}", "notification_id", n->id, "recipient", n->recipient,
                      "incident", n->source_key),
            json_pack("{s:s, s:s, s:i}", "kind", n->kind, "payload_sha256", n->payload_sha256,
                      "attempts", attempt));
    }
    if (r < 0) {
        sdat_store_rollback(e->st);
        return r;
    }
    r = sdat_store_commit(e->st);
    if (r == 0) {
        if (result == SDAT_DELIVERY_DONE) {
            log_info("delivery", "delivered id=%s recipient=%s attempt=%d", n->id, n->recipient,
                     attempt);
        } else {
            log_warn("delivery", "%s id=%s recipient=%s attempt=%d: %s",
                     result == SDAT_DELIVERY_FAILED ? "failed" : "will retry", n->id, n->recipient,
                     attempt, d->detail);
        }
    }
    return r;
}

struct sync_wait {
    bool reported;
    enum sdat_delivery_result result;
};

static void sync_done(struct sdat_delivery *d, enum sdat_delivery_result result, void *opaque)
{
    (void)d;
    struct sync_wait *w = opaque;
    w->reported = true;
    w->result = result;
}

static int deliver_one(const struct sdat_notification *n, void *opaque)
{
    struct run_ctx *rc = opaque;
    struct binding *b = binding_for(rc->outbox, n->recipient);
    struct sdat_delivery d = {
        .notification_id = n->id,
        .kind = n->kind,
        .recipient_id = n->recipient,
        .payload = n->payload,
        .payload_len = n->payload ? strlen(n->payload) : 0,
        .attempt = n->attempts + 1,
    };
    enum sdat_delivery_result result;

    if (!b) {
        /* Never guess another recipient: wait for the directory to be fixed. */
        snprintf(d.detail, sizeof d.detail, "recipient is not in the directory");
        result = SDAT_DELIVERY_RETRY;
    } else if (!n->payload) {
        snprintf(d.detail, sizeof d.detail, "payload was removed by retention");
        result = SDAT_DELIVERY_FAILED;
    } else {
        struct sync_wait w = {0};
        if (b->ops->start(b->ctx, &d, sync_done, &w) < 0) {
            snprintf(d.detail, sizeof d.detail, "the connector could not start the delivery");
            w.result = SDAT_DELIVERY_RETRY;
        } else {
            while (!w.reported && b->ops->poll) {
                b->ops->poll(b->ctx, 100);
            }
        }
        result = w.result;
    }
    return record(rc, n, result, &d);
}

int sdat_outbox_run(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms, int max)
{
    struct run_ctx rc = {.outbox = outbox, .e = e, .now_ms = now_ms};
    return sdat_store_notifications_due(e->st, now_ms, max, deliver_one, &rc);
}
