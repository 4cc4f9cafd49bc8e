/* The operator's actions on one notification (delivery.md "Operator
 * actions"): cancel, resend, redirect and withdraw. Each runs as a job on
 * the writer thread, inside the job's transaction, so that the state
 * change, the notifications it creates and their audit records are
 * committed together or not at all. People make mistakes: these are how
 * the MASH desk corrects one, and every correction is audited with who made
 * it. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "decide/decide.h"
#include "util/util.h"
#include "incident_internal.h"

/* Ordinals tried for a new operator notification's id (DISC). */
#define OPERATOR_ORDINAL_MAX 1000

/* The withdrawn notification that follows a redirect tells its recipient
 * only that it was not for them: where it went instead would tell a wrong
 * school which school the child attends. */
static const char default_redirect_reason[] =
    "This notification was sent to the wrong recipient and has been redirected.";

/* An owned copy of one notification row. */
struct held {
    char id[40];
    char *kind, *recipient, *source_key, *child_ref, *state, *payload, *payload_sha256,
        *register_child_id;
    int64_t source_version;
    int attempts;
};

static void held_free(struct held *h)
{
    free(h->kind);
    free(h->recipient);
    free(h->source_key);
    free(h->child_ref);
    free(h->state);
    free(h->payload);
    free(h->payload_sha256);
    free(h->register_child_id);
    memset(h, 0, sizeof *h);
}

static bool dup_or_null(char **to, const char *from)
{
    *to = from ? strdup(from) : NULL;
    return !from || *to;
}

static int hold_row(const struct sdat_notification *n, void *opaque)
{
    struct held *h = opaque;
    snprintf(h->id, sizeof h->id, "%s", n->id);
    h->source_version = n->source_version;
    h->attempts = n->attempts;
    bool ok = dup_or_null(&h->kind, n->kind) && dup_or_null(&h->recipient, n->recipient) &&
              dup_or_null(&h->source_key, n->source_key) &&
              dup_or_null(&h->child_ref, n->child_ref) && dup_or_null(&h->state, n->state) &&
              dup_or_null(&h->payload, n->payload) &&
              dup_or_null(&h->payload_sha256, n->payload_sha256) &&
              dup_or_null(&h->register_child_id, n->register_child_id);
    return ok && h->kind && h->recipient && h->source_key && h->state ? 0 : -ENOMEM;
}

/* Loads notification id: 0, -ENOENT or a store error (h is then empty). */
static int hold(struct sdat_engine *e, const char *id, struct held *h,
                struct sdat_operator_result *ret)
{
    memset(ret, 0, sizeof *ret);
    memset(h, 0, sizeof *h);
    int r = sdat_store_notification_get(e->st, id, hold_row, h);
    if (r < 0) {
        held_free(h);
    }
    return r;
}

static bool is(const char *state, const char *want)
{
    return state && strcmp(state, want) == 0;
}

static bool delivered(const char *state)
{
    return is(state, "delivered") || is(state, "acknowledged");
}

static int ignore_row(const struct sdat_notification *n, void *opaque)
{
    (void)n;
    (void)opaque;
    return 0;
}

/* The first unused id for an operator's notification of kind about
 * notification `source` to recipient (engine.h: DISC is the ordinal). */
static int free_id(struct sdat_engine *e, const char *kind, const char *source, const char *child,
                   const char *recipient, char ret_id[SDAT_ID_LEN + 1])
{
    for (int k = 1; k <= OPERATOR_ORDINAL_MAX; k++) {
        char disc[16];
        snprintf(disc, sizeof disc, "%d", k);
        sdat_id_notification(kind, source, 1, child, recipient, disc, ret_id);
        int r = sdat_store_notification_get(e->st, ret_id, ignore_row, NULL);
        if (r == -ENOENT) {
            return 0;
        }
        if (r < 0) {
            return r;
        }
    }
    return -EBUSY;
}

static json_t *subject_of(const char *id, const char *recipient, const char *source_key)
{
    return json_pack("{s:s, s:s, s:s}", "notification_id", id, "recipient", recipient, "incident",
                     source_key);
}

/* The detail of an operator's record, with through what the person acted
 * (via: "console", or NULL) and their reason (note, or NULL) added. */
static json_t *said(json_t *detail, const char *via, const char *note)
{
    if (detail && via) {
        json_object_set_new(detail, "via", json_string(via));
    }
    if (detail && note) {
        json_object_set_new(detail, "reason", json_string(note));
    }
    return detail;
}

/* A notification an operator's action creates, before it is stored. */
struct created {
    const char *id, *kind;
    const struct sdat_recipient *to;
    json_t *payload; /* borrowed */
    int64_t at_ms;
    const struct held *about; /* the notification acted on */
    int64_t source_version;
    const char *child_ref, *register_child_id, *route_reason;
    const char *action; /* "redirect" or "withdraw" */
    const char *by;
    const char *via; /* "console", or NULL */
};

/* Validates, stores and audits (notification.created, with the payload's
 * SHA-256 and lawful basis) one new notification. */
static int store_created(struct sdat_engine *e, const struct created *c, int64_t now_ms,
                         struct sdat_operator_result *ret)
{
    char sha[SDAT_SHA256_HEX_LEN + 1], scheduled[32], why[300];
    struct sdat_notification n = {
        .kind = c->kind,
        .recipient = c->to->id,
        .source_key = c->about->source_key,
        .source_version = c->source_version,
        .child_ref = c->child_ref,
        .state = "scheduled",
        .created_ms = now_ms,
        .scheduled_ms = c->at_ms,
        .next_attempt_ms = c->at_ms,
        .route_reason = c->route_reason,
        .register_child_id = c->register_child_id,
    };
    snprintf(n.id, sizeof n.id, "%s", c->id);
    int r = sdat_engine_notification_store(e, &n, c->payload, sha, why, sizeof why);
    if (r == -EPROTO) {
        /* A bug in a builder: never send it. */
        snprintf(ret->err, sizeof ret->err, "the rebuilt %.240s", why);
        return -EPROTO;
    }
    if (r != 0) {
        return r < 0 ? r : -EEXIST; /* free_id found it unused */
    }
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, c->kind, "scheduled");
    sdat_time_format_ms(c->at_ms, scheduled, sizeof scheduled);
    json_t *detail = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s}", "kind", c->kind, "payload_sha256", sha, "scheduled_for",
        scheduled, "lawful_basis", sdat_config_lawful_basis(e->cfg, c->kind), "by", c->by,
        strcmp(c->action, "redirect") == 0 ? "redirects" : "withdraws", c->about->id);
    if (detail && c->child_ref) {
        json_object_set_new(detail, "child", json_string(c->child_ref));
    }
    said(detail, c->via, NULL);
    r = sdat_audit_append(e->audit, e->st, now_ms, "notification.created", c->by,
                          subject_of(c->id, c->to->id, c->about->source_key), detail);
    if (r == 0) {
        log_info("operator",
                 "notification created id=%s kind=%s recipient=%s scheduled_for=%s "
                 "(%s of %s)",
                 c->id, c->kind, c->to->id, scheduled, c->action, c->about->id);
    }
    return r;
}

/* Sends a withdrawn notification about h to its recipient, at once. */
static int send_withdrawn(struct sdat_engine *e, const struct held *h, const char *reason,
                          const char *by, const char *via, int64_t now_ms,
                          struct sdat_operator_result *ret)
{
    const struct sdat_recipient *to = sdat_config_recipient(e->cfg, h->recipient);
    char id[SDAT_ID_LEN + 1];
    if (!to) {
        snprintf(ret->err, sizeof ret->err,
                 "recipient %s is no longer in the directory: it cannot be sent a withdrawal",
                 h->recipient);
        return -EBUSY;
    }
    int r = free_id(e, "withdrawn", h->id, NULL, to->id, id);
    if (r == -EBUSY) {
        snprintf(ret->err, sizeof ret->err, "too many withdrawals of %s", h->id);
    }
    if (r < 0) {
        return r;
    }
    struct sdat_ack_key ack_key;
    struct sdat_payload_common common;
    sdat_engine_payload_common(e, id, "withdrawn", to, now_ms, now_ms, &ack_key, &common);
    json_t *payload = sdat_payload_withdrawn(&common, h->id, reason);
    sdat_ack_key_clear(&ack_key);
    if (!payload) {
        return -ENOMEM;
    }
    struct created c = {.id = id,
                        .kind = "withdrawn",
                        .to = to,
                        .payload = payload,
                        .at_ms = now_ms,
                        .about = h,
                        .source_version = h->source_version,
                        .action = "withdraw",
                        .by = by,
                        .via = via};
    r = store_created(e, &c, now_ms, ret);
    json_decref(payload);
    if (r == 0) {
        snprintf(ret->withdrawal, sizeof ret->withdrawal, "%s", id);
    }
    return r;
}

/* ---- cancel ---- */

int sdat_engine_notification_cancel(struct sdat_engine *e, const char *id, const char *by,
                                    int64_t now_ms, struct sdat_operator_result *ret)
{
    return sdat_engine_notification_cancel_via(e, id, by, NULL, NULL, now_ms, ret);
}

int sdat_engine_notification_cancel_via(struct sdat_engine *e, const char *id, const char *by,
                                        const char *via, const char *note, int64_t now_ms,
                                        struct sdat_operator_result *ret)
{
    struct held h;
    int r = hold(e, id, &h, ret);
    if (r < 0) {
        return r;
    }
    r = sdat_store_notification_move(e->st, id, "scheduled", "cancelled");
    if (r == -EBUSY) {
        snprintf(ret->err, sizeof ret->err,
                 "the notification is %s: only a scheduled one can be cancelled", h.state);
    }
    if (r == 0) {
        r = sdat_audit_append(e->audit, e->st, now_ms, "notification.cancelled", by,
                              subject_of(h.id, h.recipient, h.source_key),
                              said(json_pack("{s:s, s:s, s:s}", "kind", h.kind, "reason",
                                             "cancelled by an operator", "by", by),
                                   via, note));
    }
    if (r == 0) {
        sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, h.kind, "cancelled");
        log_info("operator", "cancelled id=%s recipient=%s", h.id, h.recipient);
        snprintf(ret->state, sizeof ret->state, "cancelled");
    }
    held_free(&h);
    return r;
}

/* ---- resend ---- */

int sdat_engine_notification_resend(struct sdat_engine *e, const char *id, const char *by,
                                    int64_t now_ms, struct sdat_operator_result *ret)
{
    return sdat_engine_notification_resend_via(e, id, by, NULL, NULL, now_ms, ret);
}

int sdat_engine_notification_resend_via(struct sdat_engine *e, const char *id, const char *by,
                                        const char *via, const char *note, int64_t now_ms,
                                        struct sdat_operator_result *ret)
{
    struct held h;
    int r = hold(e, id, &h, ret);
    if (r < 0) {
        return r;
    }
    if (!h.payload && (delivered(h.state) || is(h.state, "failed"))) {
        snprintf(ret->err, sizeof ret->err,
                 "the notification's payload was removed under retention: it cannot be resent");
        r = -EBUSY;
        goto out;
    }
    r = sdat_store_notification_resend(e->st, id, now_ms);
    if (r == -EBUSY) {
        snprintf(ret->err, sizeof ret->err,
                 "the notification is %s: only a delivered, acknowledged or failed one can be "
                 "resent",
                 h.state);
    }
    if (r == 0) {
        r = sdat_audit_append(e->audit, e->st, now_ms, "notification.resent", by,
                              subject_of(h.id, h.recipient, h.source_key),
                              said(json_pack("{s:s, s:s, s:s, s:s, s:i}", "kind", h.kind, "by",
                                             by, "previous_state", h.state, "payload_sha256",
                                             h.payload_sha256, "attempts", h.attempts),
                                   via, note));
    }
    if (r == 0) {
        sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, h.kind, "scheduled");
        log_info("operator", "resend id=%s recipient=%s was=%s", h.id, h.recipient, h.state);
        snprintf(ret->state, sizeof ret->state, "scheduled");
    }
out:
    held_free(&h);
    return r;
}

/* ---- withdraw ---- */

int sdat_engine_notification_withdraw(struct sdat_engine *e, const char *id, const char *reason,
                                      const char *by, int64_t now_ms,
                                      struct sdat_operator_result *ret)
{
    return sdat_engine_notification_withdraw_via(e, id, reason, by, NULL, now_ms, ret);
}

int sdat_engine_notification_withdraw_via(struct sdat_engine *e, const char *id,
                                          const char *reason, const char *by, const char *via,
                                          int64_t now_ms, struct sdat_operator_result *ret)
{
    struct held h;
    int r = hold(e, id, &h, ret);
    if (r < 0) {
        return r;
    }
    if (is(h.kind, "withdrawn")) {
        snprintf(ret->err, sizeof ret->err, "a withdrawn notification cannot itself be withdrawn");
        r = -EBUSY;
    } else if (!delivered(h.state)) {
        snprintf(ret->err, sizeof ret->err,
                 "the notification is %s: only a delivered one can be withdrawn%s", h.state,
                 is(h.state, "scheduled") ? " (cancel a scheduled one)" : "");
        r = -EBUSY;
    } else {
        r = send_withdrawn(e, &h, reason, by, via, now_ms, ret);
    }
    if (r == 0) {
        r = sdat_audit_append(
            e->audit, e->st, now_ms, "notification.withdrawn", by,
            subject_of(h.id, h.recipient, h.source_key),
            said(json_pack("{s:s, s:s, s:s}", "kind", h.kind, "by", by, "withdrawal",
                           ret->withdrawal),
                 via, via ? reason : NULL));
    }
    if (r == 0) {
        log_info("operator", "withdrawn id=%s recipient=%s withdrawal=%s", h.id, h.recipient,
                 ret->withdrawal);
        snprintf(ret->state, sizeof ret->state, "%s", h.state);
    }
    held_free(&h);
    return r;
}

/* ---- redirect ---- */

/* When a redirected da-incident is due: a school on its calendar from the
 * incident's reported_at (at once when that has passed, or when the
 * calendar has no school day soon: the operator chose this school), anyone
 * else at once. */
static int64_t redirect_due(const struct sdat_config *cfg, const struct sdat_recipient *to,
                            int64_t reported_ms, int64_t now_ms)
{
    const struct sdat_calendar *cal = to->kind == SDAT_KIND_SCHOOL && to->calendar
                                          ? sdat_config_calendar(cfg, to->calendar)
                                          : NULL;
    int64_t at_ms;
    bool exhausted = false;
    if (!cal || sdat_schedule_school(cal, reported_ms, &at_ms, &exhausted) < 0 || exhausted) {
        return now_ms;
    }
    return at_ms > now_ms ? at_ms : now_ms;
}

/* The payload of a da-incident rebuilt for recipient `to` from the
 * incident's latest document and, for a school, the register child (the
 * names the school knows the child by; flows.md §5). -EBUSY with ret->err
 * when what it needs is gone. */
static int rebuild_incident(struct sdat_engine *e, const struct held *h,
                            const struct sdat_recipient *to, const char *id, int64_t now_ms,
                            json_t **ret_payload, int64_t *ret_at_ms, int64_t *ret_version,
                            struct sdat_operator_result *ret)
{
    json_t *doc = NULL, *register_child = NULL;
    struct sdat_validation v;
    struct child_ctx c = {0};
    struct incident_ctx ic = {
        .e = e, .key = h->source_key, .now_ms = now_ms, .err = ret->err, .errlen = sizeof ret->err};
    size_t index = 0;
    int64_t version = 0;
    int r = sdat_store_incident_get(e->st, h->source_key, &version, &doc);
    if (r == -ENOENT) {
        snprintf(ret->err, sizeof ret->err, "the incident %s is no longer held", h->source_key);
        r = -EBUSY;
    }
    if (r < 0) {
        goto out;
    }
    sdat_schemas_validate(e->schemas, doc, "police.da-incident/1", &v);
    ic.doc = doc;
    ic.version = version;
    ic.v = &v;
    const json_t *police_child =
        h->child_ref ? incident_child_by_ref(doc, h->child_ref, &index) : NULL;
    if (!police_child) {
        snprintf(ret->err, sizeof ret->err, "the child is no longer in incident %s", h->source_key);
        r = -EBUSY;
        goto out;
    }
    if (incident_times(&ic) < 0) {
        r = -EBUSY;
        goto out;
    }
    incident_child_init(&ic, index, police_child, &c);
    if (to->kind == SDAT_KIND_SCHOOL || !h->register_child_id) {
        r = h->register_child_id
                ? sdat_store_child_get(e->st, h->register_child_id, &register_child)
                : -ENOENT;
        if (r == -ENOENT) {
            snprintf(ret->err, sizeof ret->err,
                     "the register child of %s is not in the register: a school is told only "
                     "the names the register holds",
                     h->id);
            r = -EBUSY;
        }
        if (r < 0) {
            goto out;
        }
    }
    struct sdat_ack_key ack_key;
    struct sdat_payload_common common;
    sdat_engine_payload_common(e, id, "da-incident", to, now_ms, redirect_due(e->cfg, to, ic.reported_ms, now_ms), &ack_key, &common);
    *ret_payload = to->kind == SDAT_KIND_SCHOOL
                       ? sdat_payload_school_incident(&common, doc, police_child, register_child)
                       : sdat_payload_other_incident(&common, doc, police_child,
                                                     h->register_child_id, c.ignored);
    sdat_ack_key_clear(&ack_key);
    r = *ret_payload ? 0 : -ENOMEM;
    *ret_at_ms = common.scheduled_ms;
    *ret_version = version;
out:
    json_decref(c.ignored);
    json_decref(register_child);
    json_decref(doc);
    return r;
}

/* The payload of any other kind readdressed to `to` (never a school): its
 * content does not depend on who receives it. */
static int readdress(struct sdat_engine *e, const struct held *h, const struct sdat_recipient *to,
                     const char *id, int64_t now_ms, json_t **ret_payload,
                     struct sdat_operator_result *ret)
{
    json_t *old = h->payload ? json_loads(h->payload, 0, NULL) : NULL;
    if (!old) {
        snprintf(ret->err, sizeof ret->err,
                 "the notification's payload was removed under retention: it cannot be "
                 "redirected");
        return -EBUSY;
    }
    struct sdat_ack_key ack_key;
    struct sdat_payload_common common;
    sdat_engine_payload_common(e, id, h->kind, to, now_ms, now_ms, &ack_key, &common);
    *ret_payload = common.lawful_basis ? sdat_payload_readdressed(&common, old) : NULL;
    sdat_ack_key_clear(&ack_key);
    json_decref(old);
    return *ret_payload ? 0 : -ENOMEM;
}

int sdat_engine_notification_redirect(struct sdat_engine *e, const char *id,
                                      const char *recipient_id, const char *reason, const char *by,
                                      int64_t now_ms, struct sdat_operator_result *ret)
{
    return sdat_engine_notification_redirect_via(e, id, recipient_id, reason, by, NULL, NULL,
                                                 now_ms, ret);
}

int sdat_engine_notification_redirect_via(struct sdat_engine *e, const char *id,
                                          const char *recipient_id, const char *reason,
                                          const char *by, const char *via, const char *note,
                                          int64_t now_ms, struct sdat_operator_result *ret)
{
    const struct sdat_recipient *to = sdat_config_recipient(e->cfg, recipient_id);
    char new_id[SDAT_ID_LEN + 1];
    json_t *payload = NULL;
    struct held h;
    int64_t at_ms = now_ms, version = 0;
    int r;

    memset(ret, 0, sizeof *ret);
    memset(&h, 0, sizeof h);
    if (!to) {
        snprintf(ret->err, sizeof ret->err, "/recipient: no such recipient in the directory");
        return -EINVAL;
    }
    r = hold(e, id, &h, ret);
    if (r < 0) {
        return r;
    }
    /* Bad input (400) before a state that does not allow it (409). */
    bool supersede = is(h.state, "scheduled") || is(h.state, "failed");
    if (strcmp(to->id, h.recipient) == 0) {
        snprintf(ret->err, sizeof ret->err,
                 "/recipient: the notification is already addressed to %s", to->id);
        r = -EINVAL;
    } else if (to->kind == SDAT_KIND_SCHOOL && !is(h.kind, "da-incident")) {
        /* Minimisation: the other kinds carry what only social care, the
         * police or health may hold. */
        snprintf(ret->err, sizeof ret->err,
                 "/recipient: a school receives only da-incident notifications, not %s", h.kind);
        r = -EINVAL;
    } else if (is(h.kind, "withdrawn")) {
        snprintf(ret->err, sizeof ret->err, "a withdrawn notification cannot be redirected");
        r = -EBUSY;
    } else if (!supersede && !delivered(h.state)) {
        snprintf(ret->err, sizeof ret->err,
                 "the notification is %s: only a scheduled, failed, delivered or acknowledged "
                 "one can be redirected",
                 h.state);
        r = -EBUSY;
    } else {
        r = free_id(e, h.kind, h.id, h.child_ref, to->id, new_id);
        if (r == -EBUSY) {
            snprintf(ret->err, sizeof ret->err, "too many redirects of %s", h.id);
        }
    }
    if (r < 0) {
        goto out;
    }
    if (is(h.kind, "da-incident")) {
        r = rebuild_incident(e, &h, to, new_id, now_ms, &payload, &at_ms, &version, ret);
    } else {
        version = h.source_version;
        r = readdress(e, &h, to, new_id, now_ms, &payload, ret);
    }
    if (r < 0) {
        goto out;
    }
    struct created c = {.id = new_id,
                        .kind = h.kind,
                        .to = to,
                        .payload = payload,
                        .at_ms = at_ms,
                        .about = &h,
                        .source_version = version,
                        .child_ref = h.child_ref,
                        .register_child_id = h.register_child_id,
                        .route_reason = SDAT_ROUTE_REASON_REDIRECTED,
                        .action = "redirect",
                        .by = by,
                        .via = via};
    r = store_created(e, &c, now_ms, ret);
    if (r < 0) {
        goto out;
    }
    snprintf(ret->redirected_to, sizeof ret->redirected_to, "%s", new_id);
    if (supersede) {
        r = sdat_store_notification_move(e->st, h.id, h.state, "superseded");
        if (r == 0) {
            r = sdat_audit_append(e->audit, e->st, now_ms, "notification.superseded", by,
                                  subject_of(h.id, h.recipient, h.source_key),
                                  said(json_pack("{s:s, s:s, s:s}", "kind", h.kind, "reason",
                                                 "redirected by an operator", "superseded_by",
                                                 new_id),
                                       via, NULL));
        }
        if (r == 0) {
            sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, h.kind, "superseded");
        }
    } else {
        r = send_withdrawn(e, &h, reason ? reason : default_redirect_reason, by, via, now_ms,
                           ret);
    }
    if (r == 0) {
        json_t *detail =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "kind", h.kind, "by", by, "previous_state",
                      h.state, "redirected_to", new_id, "to", to->id);
        if (detail && ret->withdrawal[0]) {
            json_object_set_new(detail, "withdrawal", json_string(ret->withdrawal));
        }
        said(detail, via, note);
        r = sdat_audit_append(e->audit, e->st, now_ms, "notification.redirected", by,
                              subject_of(h.id, h.recipient, h.source_key), detail);
    }
    if (r == 0) {
        log_info("operator", "redirected id=%s recipient=%s to=%s as %s%s%s", h.id, h.recipient,
                 to->id, new_id, ret->withdrawal[0] ? " withdrawal=" : "", ret->withdrawal);
        snprintf(ret->state, sizeof ret->state, "%s", supersede ? "superseded" : h.state);
    }
out:
    json_decref(payload);
    held_free(&h);
    return r;
}
