/* Escalation (delivery.md "Escalation"): a notification late, failed for
 * good or not acknowledged in time becomes a delivery-failed notification
 * to its recipient's area's escalation recipient (else its MASH), at most
 * once per notification and reason. The outbox decides when a delivery has
 * failed; this is what follows. */
#include "engine.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

/* Sends delivery-failed for notification n (once per reason) to the
 * escalation recipient of its recipient's area, else that area's MASH. */
int sdat_engine_escalate(struct sdat_engine *e, const char *reason,
                         const struct sdat_escalation *what, int64_t now_ms)
{
    const struct sdat_config *cfg = e->cfg;
    const char *failed_id = what->id, *failed_recipient_id = what->recipient;
    const char *source_key = what->source_key;
    int r = sdat_store_notification_escalated(e->st, failed_id, reason);
    if (r != 0) {
        return r < 0 ? r : 0; /* escalated for this reason before */
    }
    const struct sdat_recipient *failed = sdat_config_recipient(cfg, failed_recipient_id);
    const struct sdat_area *area = failed ? sdat_config_area(cfg, failed->la_code) : NULL;
    const char *to_id = area ? (area->escalation ? area->escalation : area->mash) : NULL;
    const struct sdat_recipient *to = to_id ? sdat_config_recipient(cfg, to_id) : NULL;
    if (!to) {
        log_error("delivery", "cannot escalate %s (%s): recipient %s has no area with an "
                  "escalation or MASH recipient", failed_id, reason, failed_recipient_id);
        return sdat_audit_append(e->audit, e->st, now_ms, "notification.escalated", "sdatd",
                                 json_pack("{s:s, s:s}", "notification_id", failed_id,
                                           "recipient", failed_recipient_id),
                                 json_pack("{s:s, s:s}", "reason", reason, "error",
                                           "no escalation recipient"));
    }
    char id[SDAT_ID_LEN + 1], sha[65];
    sdat_id_notification("delivery-failed", failed_id, 1, NULL, to->id, reason, id);
    struct sdat_payload_common common;
    struct sdat_ack_key ack_key;
    sdat_engine_payload_common(e, id, "delivery-failed", to, now_ms, now_ms, &ack_key, &common);
    struct sdat_recipient unknown = {.id = (char *)failed_recipient_id,
                                     .name = (char *)failed_recipient_id};
    json_t *failed_payload = what->payload ? json_loads(what->payload, 0, NULL) : NULL;
    json_t *payload = sdat_payload_delivery_failed(&common, reason, failed_id, what->kind,
                                                   failed ? failed : &unknown, what->attempts,
                                                   what->last_error, failed_payload);
    sdat_ack_key_clear(&ack_key);
    json_decref(failed_payload);
    if (!payload) {
        return -ENOMEM;
    }
    struct sdat_notification n;
    sdat_engine_notification_due_now(&n, id, "delivery-failed", to->id, source_key, now_ms);
    r = sdat_engine_notification_store(e, &n, payload, sha, NULL, 0);
    json_decref(payload);
    if (r == -EPROTO) {
        return 0; /* a builder's bug, logged: the failed notification stays as it is */
    }
    if (r < 0) {
        return r;
    }
    log_warn("delivery", "escalated id=%s reason=%s to=%s as %s", failed_id, reason, to->id, id);
    r = sdat_audit_append(e->audit, e->st, now_ms, "notification.escalated", "sdatd",
                          json_pack("{s:s, s:s}", "notification_id", failed_id, "recipient",
                                    failed_recipient_id),
                          json_pack("{s:s, s:s, s:s}", "reason", reason, "escalation_id", id,
                                    "escalated_to", to->id));
    if (r == 0) {
        r = sdat_audit_append(e->audit, e->st, now_ms, "notification.created", "sdatd",
                              json_pack("{s:s, s:s, s:s}", "notification_id", id, "recipient",
                                        to->id, "incident", source_key),
                              json_pack("{s:s, s:s, s:s, s:s}", "kind", "delivery-failed",
                                        "payload_sha256", sha, "lawful_basis",
                                        common.lawful_basis, "reason", reason));
    }
    return r;
}

/* When an undelivered notification is late: escalate_after after it was
 * due, or for a school at the start_time of the school day it was released
 * on, if that comes first (a DSL must not learn of it at lunchtime). */
static int64_t late_at(const struct sdat_config *cfg, const struct sdat_notification *n)
{
    int64_t at = n->scheduled_ms + (int64_t)(cfg->delivery.escalate_after * 1000.0);
    const struct sdat_recipient *r = sdat_config_recipient(cfg, n->recipient);
    const struct sdat_calendar *cal =
        r && r->kind == SDAT_KIND_SCHOOL && r->calendar ? sdat_config_calendar(cfg, r->calendar)
                                                        : NULL;
    const sdat_tz_t *tz;
    if (cal && strcmp(n->kind, "da-incident") == 0 && sdat_tz_get(cal->timezone, &tz) == 0) {
        int32_t day, sec;
        sdat_tz_to_local(tz, n->scheduled_ms / 1000, &day, &sec);
        int64_t start = sdat_tz_from_local(tz, day, cal->start_time * 60) * 1000;
        if (start > n->scheduled_ms && start < at) {
            at = start;
        }
    }
    return at;
}

struct scan_ctx {
    struct sdat_engine *e;
    int64_t now_ms;
};

static struct sdat_escalation escalation_of(const struct sdat_notification *n, bool last_error)
{
    return (struct sdat_escalation){.id = n->id,
                                    .kind = n->kind,
                                    .recipient = n->recipient,
                                    .attempts = n->attempts,
                                    .last_error = last_error ? n->last_error : NULL,
                                    .payload = n->payload,
                                    .source_key = n->source_key};
}

static int scan_one(const struct sdat_notification *n, void *opaque)
{
    struct scan_ctx *sc = opaque;
    const struct sdat_config *cfg = sc->e->cfg;
    int64_t now = sc->now_ms;
    if (strcmp(n->state, "delivered") == 0) {
        /* Selected only once its ack_due time has passed. */
        struct sdat_escalation what = escalation_of(n, false);
        return sdat_engine_escalate(sc->e, "unacknowledged", &what, now);
    }
    /* Still undelivered give_up_after after it was due: retrying stops. */
    if (strcmp(n->state, "scheduled") == 0 &&
        now - n->scheduled_ms >= (int64_t)(cfg->delivery.give_up_after * 1000.0)) {
        int r = sdat_store_notification_update(sc->e->st, n->id, "failed", n->attempts, now,
                                               n->last_error);
        if (r == 0) {
            r = sdat_audit_append(sc->e->audit, sc->e->st, now, "notification.failed", "sdatd",
                                  json_pack("{s:s, s:s, s:s}", "notification_id", n->id,
                                            "recipient", n->recipient, "incident", n->source_key),
                                  json_pack("{s:s, s:s, s:i, s:s}", "kind", n->kind, "payload_sha256",
                                            n->payload_sha256, "attempts", n->attempts, "reason",
                                            "give_up_after"));
        }
        if (r == 0 && strcmp(n->kind, "delivery-failed") != 0) {
            struct sdat_escalation what = escalation_of(n, true);
            r = sdat_engine_escalate(sc->e, "failed", &what, now);
        }
        if (r == 0) {
            log_warn("delivery", "failed id=%s recipient=%s: undelivered after give_up_after",
                     n->id, n->recipient);
        }
        return r;
    }
    if (now >= late_at(cfg, n)) {
        struct sdat_escalation what = escalation_of(n, true);
        return sdat_engine_escalate(sc->e, "late", &what, now);
    }
    return 0;
}

int sdat_engine_escalation_scan(struct sdat_engine *e, int64_t now_ms, int limit)
{
    struct scan_ctx sc = {.e = e, .now_ms = now_ms};
    int r = sdat_store_begin(e->st);
    if (r < 0) {
        return r;
    }
    int64_t give_up_before = now_ms - (int64_t)(e->cfg->delivery.give_up_after * 1000.0);
    r = sdat_store_notifications_open(e->st, now_ms, give_up_before, limit, scan_one, &sc);
    if (r < 0) {
        sdat_store_rollback(e->st);
        return r;
    }
    return sdat_store_commit(e->st);
}
