/* The HTTP API for one notification: its acknowledgement, its view and
 * the operator actions on it (delivery.md). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"
#include "engine/engine.h"
#include "http_internal.h"
#include "store/store.h"
#include "util/util.h"

/* ---- acknowledgement ---- */

struct recipient_copy {
    char recipient[128];
};

static int copy_recipient(const struct sdat_notification *n, void *opaque)
{
    struct recipient_copy *c = opaque;
    snprintf(c->recipient, sizeof c->recipient, "%s", n->recipient);
    return 0;
}

int http_notification_covered(sdat_http_t *http, const char *id,
                              const struct sdat_strv *recipients, bool *ret_covered)
{
    *ret_covered = false;
    struct recipient_copy c = {""};
    sdat_store_t *st = http_store_get(http);
    int r = st ? sdat_store_notification_get(st, id, copy_recipient, &c) : -EIO;
    http_store_put(http, st);
    if (r < 0 && r != -ENOENT) {
        return -EIO;
    }
    for (size_t i = 0; r == 0 && recipients && i < recipients->n; i++) {
        *ret_covered |= strcmp(recipients->v[i], c.recipient) == 0;
    }
    return 0;
}

/* A token narrowed to recipients acknowledges only their notifications.
 * An id that is no notification of theirs is not covered either, whether
 * or not it exists: the same 403 (interfaces.md: 403 before the endpoint's
 * 404), so that such a token cannot learn which ids exist. */
void http_check_ack(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    const struct sdat_strv *allowed = &req->token->recipients;
    if (allowed->n == 0) {
        return;
    }
    bool covered = false;
    if (http_notification_covered(http, req->id, allowed, &covered) < 0) {
        http_error(ret, 503, "unavailable", "the store cannot be read");
        return;
    }
    if (covered) {
        return;
    }
    http_error(ret, 403, "forbidden", "the token does not cover this notification's recipient");
}

struct ack_job {
    const char *id;
    char by[HTTP_BY_MAX_BYTES];
};

static int run_ack(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct ack_job *j = arg;
    return sdat_engine_acknowledge(e, j->id, j->by, now_ms);
}

void http_post_ack(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    const char *by = NULL;
    struct ack_job j = {.id = req->id};
    if (!http_body_object(req, false, &doc, ret) ||
        http_string_member(doc, "by", true, &by, ret) < 0) {
        json_decref(doc);
        return;
    }
    /* What the acknowledgement form accepts, and recorded as it would be. */
    bool by_ok = http_ack_by(by, j.by, sizeof j.by);
    json_decref(doc);
    if (!by_ok) {
        http_error(ret, 400, "bad request",
                   "/by: must be a name of 1 to 200 characters without control characters");
        return;
    }
    int r = http_job(http, run_ack, &j);
    if (r >= 0) {
        ret->status = 204;
    } else if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such notification");
    } else if (r == -EBUSY) {
        http_error(ret, 409, "conflict", "the notification has not been delivered");
    } else {
        http_job_failed(ret, r);
    }
}

/* ---- one notification ---- */

struct notification_view {
    json_t *doc;
};

static int add_attempt(const struct sdat_attempt *a, void *opaque)
{
    json_t *attempts = opaque;
    json_t *attempt = json_pack("{s:o, s:s, s:o}", "at", http_time_or_null(a->at_ms), "outcome",
                                a->outcome, "detail", http_string_or_null(a->detail));
    return json_array_append_new(attempts, attempt) == 0 ? 0 : -ENOMEM;
}

static int view_notification(const struct sdat_notification *n, void *opaque)
{
    struct notification_view *v = opaque;
    json_t *payload = n->payload ? json_loads(n->payload, 0, NULL) : NULL;
    v->doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:[], s:o}", "notification_id", n->id, "kind",
                       n->kind, "recipient", n->recipient, "state", n->state, "scheduled_for",
                       http_time_or_null(n->scheduled_ms), "attempts", "payload",
                       payload ? payload : json_null());
    return v->doc ? 0 : -ENOMEM;
}

void http_get_notification(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    sdat_store_t *st = NULL;
    if (!http_store_or_503(http, &st, ret)) {
        return;
    }
    struct notification_view v = {NULL};
    int r = sdat_store_read_begin(st);
    if (r == 0) {
        r = sdat_store_notification_get(st, req->id, view_notification, &v);
    }
    if (r == 0) {
        r = sdat_store_attempts_each(st, req->id, add_attempt, json_object_get(v.doc, "attempts"));
    }
    sdat_store_read_end(st);
    http_store_put(http, st);
    if (r == 0) {
        http_json(ret, 200, v.doc);
        return;
    }
    json_decref(v.doc);
    if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such notification");
    } else {
        http_error(ret, 503, "unavailable", "the store cannot be read");
    }
}

/* ---- operator actions on a notification (delivery.md) ---- */

enum notification_action { ACTION_CANCEL, ACTION_RESEND, ACTION_REDIRECT, ACTION_WITHDRAW };

struct action_job {
    enum notification_action action;
    const char *id, *by, *recipient, *reason;
    struct sdat_operator_result result;
};

static int run_action(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct action_job *j = arg;
    switch (j->action) {
    case ACTION_CANCEL:
        return sdat_engine_notification_cancel(e, j->id, j->by, now_ms, &j->result);
    case ACTION_RESEND:
        return sdat_engine_notification_resend(e, j->id, j->by, now_ms, &j->result);
    case ACTION_REDIRECT:
        return sdat_engine_notification_redirect(e, j->id, j->recipient, j->reason, j->by, now_ms,
                                                 &j->result);
    case ACTION_WITHDRAW:
        return sdat_engine_notification_withdraw(e, j->id, j->reason, j->by, now_ms, &j->result);
    }
    return -EINVAL;
}

/* The body's members: by always, recipient for a redirect, reason for a
 * withdrawal (required) and a redirect (optional: the withdrawn
 * notification's text when the old one was delivered). Anything else is
 * a mistake worth a 400. */
static bool action_body(struct http_request *req, struct action_job *j, json_t **ret_doc,
                        struct http_answer *ret)
{
    json_t *doc = NULL;
    const char *name;
    json_t *v;
    if (!http_body_object(req, false, &doc, ret)) {
        return false;
    }
    *ret_doc = doc;
    json_object_foreach (doc, name, v) {
        bool allowed = strcmp(name, "by") == 0 ||
                       (strcmp(name, "recipient") == 0 && j->action == ACTION_REDIRECT) ||
                       (strcmp(name, "reason") == 0 &&
                        (j->action == ACTION_REDIRECT || j->action == ACTION_WITHDRAW));
        if (!allowed) {
            char detail[96];
            snprintf(detail, sizeof detail, "/%.40s: not a member of this action's body", name);
            http_error(ret, 400, "bad request", detail);
            return false;
        }
    }
    if (http_by_member(doc, true, &j->by, ret) < 0 ||
        (j->action == ACTION_REDIRECT &&
         http_string_member(doc, "recipient", true, &j->recipient, ret) < 0)) {
        return false;
    }
    const json_t *reason = json_object_get(doc, "reason");
    if (j->action == ACTION_WITHDRAW || (reason && !json_is_null(reason))) {
        /* The withdrawn notification carries 1 to 1000 characters. */
        const char *s = json_string_value(reason);
        size_t n = s ? http_utf8_chars(s) : 0;
        if (!s || n < 1 || n > 1000 || strlen(s) != json_string_length(reason)) {
            http_error(ret, 400, "bad request",
                       reason ? "/reason: must be a string of 1 to 1000 characters"
                              : "/reason: required");
            return false;
        }
        j->reason = s;
    }
    return true;
}

/* 200 {"notification_id", "state" (afterwards), "notifications": [the ids
 * created], "redirected_to"?, "withdrawal"?}. */
static void notification_action(sdat_http_t *http, struct http_request *req,
                                struct http_answer *ret, enum notification_action action)
{
    json_t *doc = NULL;
    struct action_job j = {.action = action, .id = req->id};
    if (!action_body(req, &j, &doc, ret)) {
        json_decref(doc);
        return;
    }
    int r = http_job(http, run_action, &j);
    json_decref(doc);
    if (r == 0) {
        json_t *created = json_array();
        json_t *answer = json_pack("{s:s, s:s, s:o}", "notification_id", req->id, "state",
                                   j.result.state, "notifications", created);
        if (answer && j.result.redirected_to[0]) {
            json_array_append_new(created, json_string(j.result.redirected_to));
            json_object_set_new(answer, "redirected_to", json_string(j.result.redirected_to));
        }
        if (answer && j.result.withdrawal[0]) {
            json_array_append_new(created, json_string(j.result.withdrawal));
            json_object_set_new(answer, "withdrawal", json_string(j.result.withdrawal));
        }
        http_json(ret, 200, answer);
    } else if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such notification");
    } else if (r == -EINVAL) {
        http_error(ret, 400, "bad request", j.result.err);
    } else if (r == -EBUSY) {
        http_error(ret, 409, "conflict", j.result.err);
    } else {
        http_job_failed(ret, r);
    }
}

void http_post_cancel(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_CANCEL);
}

void http_post_resend(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_RESEND);
}

void http_post_redirect(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_REDIRECT);
}

void http_post_withdraw(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_WITHDRAW);
}
