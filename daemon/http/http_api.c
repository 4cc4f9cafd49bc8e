/* The HTTP API's endpoints (interfaces.md "HTTP API"): the route table and
 * one handler per row. Reads use the server's read-only stores; writes are
 * jobs on the writer thread. By the time a handler runs, the route, token,
 * role, coverage and body size have been checked (http.c); a handler
 * answers 400, then 404/409/503 or success. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"
#include "engine/engine.h"
#include "decide/decide.h"
#include "http_internal.h"
#include "store/store.h"

/* ---- helpers ---- */

static json_t *time_or_null(int64_t ms)
{
    if (ms <= 0) {
        return json_null();
    }
    char buf[40];
    sdat_time_format_ms(ms, buf, sizeof buf);
    return json_string(buf);
}

static json_t *string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The body as a JSON object. optional: an empty body gives *ret_doc NULL.
 * false with a 400 in ret otherwise. */
static bool body_object(struct http_request *req, bool optional, json_t **ret_doc,
                        struct http_answer *ret)
{
    *ret_doc = NULL;
    size_t len = req->body_len;
    while (len > 0 && strchr(" \t\r\n", req->body[len - 1])) {
        len--;
    }
    if (len == 0) {
        if (!optional) {
            http_error(ret, 400, "bad request", "a JSON object body is required");
        }
        return optional;
    }
    json_error_t jerr;
    json_t *doc = json_loadb(req->body, req->body_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc || !json_is_object(doc)) {
        http_error(ret, 400, "bad request",
                   doc ? "the body must be a JSON object" : "the body is not valid JSON");
        json_decref(doc);
        return false;
    }
    *ret_doc = doc;
    return true;
}

/* Characters (code points) of valid UTF-8 text, as jansson holds it. */
static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

/* A string member of 1–200 characters: 0, 1 when absent (and not
 * required), or -1 with a 400 in ret. */
static int string_member(const json_t *doc, const char *name, bool required, const char **ret_s,
                         struct http_answer *ret)
{
    const json_t *v = json_object_get(doc, name);
    char detail[96];
    if (!v || json_is_null(v)) {
        if (!required) {
            *ret_s = NULL;
            return 1;
        }
        snprintf(detail, sizeof detail, "/%s: required", name);
        http_error(ret, 400, "bad request", detail);
        return -1;
    }
    const char *s = json_string_value(v);
    size_t n = s ? utf8_chars(s) : 0;
    if (!s || n < 1 || n > 200 || strlen(s) != json_string_length(v)) {
        snprintf(detail, sizeof detail, "/%s: must be a string of 1 to 200 characters", name);
        http_error(ret, 400, "bad request", detail);
        return -1;
    }
    *ret_s = s;
    return 0;
}

static bool store_or_503(sdat_http_t *http, sdat_store_t **ret_st, struct http_answer *ret)
{
    *ret_st = http_store_get(http);
    if (!*ret_st) {
        http_error(ret, 503, "unavailable", "the store cannot be opened");
        return false;
    }
    return true;
}

/* ---- health, readiness, metrics ---- */

static void get_healthz(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    (void)http;
    (void)req;
    http_text(ret, 200, "text/plain; charset=utf-8", "ok");
}

static void get_readyz(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    bool ready = false;
    (void)req;
    json_t *doc = http_readiness(http, &ready);
    http_json(ret, ready ? 200 : 503, doc);
}

static void get_metrics(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    (void)req;
    char *text = http_metrics_text(http);
    if (!text) {
        http_error(ret, 503, "unavailable", "metrics are not available");
        return;
    }
    free(ret->body);
    ret->status = 200;
    ret->body = text;
    ret->len = strlen(text);
    ret->content_type = "text/plain; version=0.0.4; charset=utf-8";
}

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

/* A token narrowed to recipients acknowledges only their notifications. */
static void check_ack(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    const struct sdat_strv *allowed = &req->token->recipients;
    if (allowed->n == 0) {
        return;
    }
    sdat_store_t *st = NULL;
    if (!store_or_503(http, &st, ret)) {
        return;
    }
    struct recipient_copy c = {""};
    int r = sdat_store_notification_get(st, req->id, copy_recipient, &c);
    http_store_put(http, st);
    if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such notification");
        return;
    }
    if (r < 0) {
        http_error(ret, 503, "unavailable", "the store cannot be read");
        return;
    }
    for (size_t i = 0; i < allowed->n; i++) {
        if (strcmp(allowed->v[i], c.recipient) == 0) {
            return;
        }
    }
    http_error(ret, 403, "forbidden", "the token does not cover this notification's recipient");
}

struct ack_job {
    const char *id, *by;
};

static int run_ack(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct ack_job *j = arg;
    return sdat_engine_acknowledge(e, j->id, j->by, now_ms);
}

static void post_ack(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    struct ack_job j = {.id = req->id};
    if (!body_object(req, false, &doc, ret) || string_member(doc, "by", true, &j.by, ret) < 0) {
        json_decref(doc);
        return;
    }
    int r = http_job(http, run_ack, &j);
    json_decref(doc);
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
    return json_array_append_new(attempts, json_pack("{s:o, s:s, s:o}", "at",
                                                     time_or_null(a->at_ms), "outcome", a->outcome,
                                                     "detail", string_or_null(a->detail))) == 0
               ? 0
               : -ENOMEM;
}

static int view_notification(const struct sdat_notification *n, void *opaque)
{
    struct notification_view *v = opaque;
    json_t *payload = n->payload ? json_loads(n->payload, 0, NULL) : NULL;
    v->doc = json_pack("{s:s, s:s, s:s, s:s, s:o, s:[], s:o}", "notification_id", n->id, "kind",
                       n->kind, "recipient", n->recipient, "state", n->state, "scheduled_for",
                       time_or_null(n->scheduled_ms), "attempts", "payload",
                       payload ? payload : json_null());
    return v->doc ? 0 : -ENOMEM;
}

static void get_notification(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    sdat_store_t *st = NULL;
    if (!store_or_503(http, &st, ret)) {
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
    if (!body_object(req, false, &doc, ret)) {
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
    if (string_member(doc, "by", true, &j->by, ret) < 0 ||
        (j->action == ACTION_REDIRECT &&
         string_member(doc, "recipient", true, &j->recipient, ret) < 0)) {
        return false;
    }
    const json_t *reason = json_object_get(doc, "reason");
    if (j->action == ACTION_WITHDRAW || (reason && !json_is_null(reason))) {
        /* The withdrawn notification carries 1 to 1000 characters. */
        const char *s = json_string_value(reason);
        size_t n = s ? utf8_chars(s) : 0;
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

static void post_cancel(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_CANCEL);
}

static void post_resend(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_RESEND);
}

static void post_redirect(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_REDIRECT);
}

static void post_withdraw(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_WITHDRAW);
}

/* ---- reviews ---- */

struct review_view {
    sdat_store_t *st;
    json_t *list; /* the list, or NULL for one item */
    json_t *item;
};

/* A review's candidates with the register's names and date of birth:
 * deciding between them is what an operator is for. */
static json_t *enriched_candidates(sdat_store_t *st, const char *text)
{
    json_t *stored = text ? json_loads(text, 0, NULL) : NULL;
    json_t *out = json_array();
    size_t i;
    json_t *c;
    json_array_foreach (stored, i, c) {
        const char *child_id = json_string_value(json_object_get(c, "child_id"));
        json_t *child = NULL;
        if (child_id && sdat_store_child_get(st, child_id, &child) < 0) {
            child = NULL;
        }
        json_array_append_new(out, json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "child_id",
                                             json_object_get(c, "child_id"), "score",
                                             json_object_get(c, "score"), "given_name",
                                             json_object_get(child, "given_name"), "family_name",
                                             json_object_get(child, "family_name"), "dob",
                                             json_object_get(child, "dob")));
        json_decref(child);
    }
    json_decref(stored);
    return out;
}

static int view_review(const struct sdat_review_item *item, void *opaque)
{
    struct review_view *v = opaque;
    json_t *doc =
        json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o, s:o}", "review_id", item->id,
                  "incident", item->incident, "child", item->child_ref, "state", item->state,
                  "created_at", time_or_null(item->created_ms), "decided_by",
                  string_or_null(item->decided_by), "decided_at", time_or_null(item->decided_ms),
                  "register_child_id", string_or_null(item->register_child_id), "candidates",
                  enriched_candidates(v->st, item->candidates));
    if (!doc) {
        return -ENOMEM;
    }
    if (v->list) {
        return json_array_append_new(v->list, doc) == 0 ? 0 : -ENOMEM;
    }
    v->item = doc;
    return 0;
}

static void get_reviews(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    (void)req;
    struct review_view v = {.list = json_array()};
    if (!store_or_503(http, &v.st, ret)) {
        json_decref(v.list);
        return;
    }
    int r = sdat_store_read_begin(v.st);
    if (r == 0) {
        r = sdat_store_reviews_each(v.st, NULL, view_review, &v);
    }
    sdat_store_read_end(v.st);
    http_store_put(http, v.st);
    if (r == 0) {
        http_json(ret, 200, v.list);
        return;
    }
    json_decref(v.list);
    http_error(ret, 503, "unavailable", "the store cannot be read");
}

static void get_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct review_view v = {NULL};
    if (!store_or_503(http, &v.st, ret)) {
        return;
    }
    int r = sdat_store_read_begin(v.st);
    if (r == 0) {
        r = sdat_store_review_get(v.st, req->id, view_review, &v);
    }
    sdat_store_read_end(v.st);
    http_store_put(http, v.st);
    if (r == 0) {
        http_json(ret, 200, v.item);
        return;
    }
    json_decref(v.item);
    if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such review item");
    } else {
        http_error(ret, 503, "unavailable", "the store cannot be read");
    }
}

struct review_job {
    const char *id, *child_id, *by;
    json_t *created;
    char err[256];
};

static int run_review(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct review_job *j = arg;
    return sdat_engine_review_decide(e, j->id, j->child_id, j->by, now_ms, &j->created, j->err,
                                     sizeof j->err);
}

static void post_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    struct review_job j = {.id = req->id};
    if (!body_object(req, false, &doc, ret)) {
        return;
    }
    const char *decision = json_string_value(json_object_get(doc, "decision"));
    bool accept = decision && strcmp(decision, "accept") == 0;
    if (!decision || (!accept && strcmp(decision, "reject") != 0)) {
        http_error(ret, 400, "bad request", "/decision: must be \"accept\" or \"reject\"");
        goto out;
    }
    int has_child = string_member(doc, "child_id", accept, &j.child_id, ret);
    if (has_child < 0 || string_member(doc, "by", true, &j.by, ret) < 0) {
        goto out;
    }
    if (!accept && has_child == 0) {
        http_error(ret, 400, "bad request", "/child_id: only with \"accept\"");
        goto out;
    }
    int r = http_job(http, run_review, &j);
    if (r == 0) {
        http_json(ret, 200,
                  json_pack("{s:s, s:s, s:O}", "review_id", req->id, "decision", decision,
                            "notifications", j.created ? j.created : json_array()));
    } else if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such review item");
    } else if (r == -EINVAL) {
        http_error(ret, 400, "bad request", j.err[0] ? j.err : "unknown register child");
    } else if (r == -EALREADY || r == -EDOM || r == -ESTALE) {
        http_error(ret, 409, "conflict", j.err);
    } else {
        http_job_failed(ret, r);
    }
out:
    json_decref(j.created);
    json_decref(doc);
}

/* ---- dead letters ---- */

static int add_dead_letter(const struct sdat_dead_letter *dl, void *opaque)
{
    json_t *list = opaque;
    return json_array_append_new(
               list, json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:o}", "id", (json_int_t)dl->id,
                               "stage", dl->stage, "error", dl->error, "topic", dl->topic,
                               "partition", (int)dl->partition, "offset", (json_int_t)dl->offset,
                               "at", time_or_null(dl->at_ms))) == 0
               ? 0
               : -ENOMEM;
}

static void get_dlq(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    const char *since = http_query(req, "since");
    int64_t since_ms = 0;
    if (since && sdat_datetime_parse(since, &since_ms) < 0) {
        http_error(ret, 400, "bad request", "since: must be an RFC 3339 date-time with an offset");
        return;
    }
    sdat_store_t *st = NULL;
    if (!store_or_503(http, &st, ret)) {
        return;
    }
    json_t *list = json_array();
    int r = sdat_store_dead_letters_since(st, since_ms, add_dead_letter, list);
    http_store_put(http, st);
    if (r == 0) {
        http_json(ret, 200, list);
        return;
    }
    json_decref(list);
    http_error(ret, 503, "unavailable", "the store cannot be read");
}

struct replay_job {
    int64_t id;
    const char *by;
    json_t *outcome;
};

static int run_replay(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct replay_job *j = arg;
    return sdat_engine_dlq_replay(e, j->id, j->by, now_ms, &j->outcome);
}

static void post_replay(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    char *end = NULL;
    errno = 0;
    long long id = strtoll(req->id, &end, 10);
    if (errno || *end || id <= 0 || req->id[0] < '1' || req->id[0] > '9') {
        http_error(ret, 404, "not found", "no such dead letter");
        return;
    }
    json_t *doc = NULL;
    struct replay_job j = {.id = id, .by = req->token->name};
    const char *by = NULL;
    if (!body_object(req, true, &doc, ret) ||
        (doc && string_member(doc, "by", false, &by, ret) < 0)) {
        json_decref(doc);
        return;
    }
    if (by) {
        j.by = by;
    }
    int r = http_job(http, run_replay, &j);
    if (r == 0) {
        http_json(ret, 200, j.outcome);
        j.outcome = NULL;
    } else if (r == -ENOENT) {
        http_error(ret, 404, "not found", "no such dead letter");
    } else if (r == -EINVAL) {
        char detail[160];
        snprintf(detail, sizeof detail,
                 "dead letter %lld cannot be replayed: only its first 64 KiB were kept, or "
                 "retention removed it; produce the original event again",
                 id);
        http_error(ret, 409, "conflict", detail);
    } else {
        http_job_failed(ret, r);
    }
    json_decref(j.outcome);
    json_decref(doc);
}

/* ---- CP-IS lookups (silent: answered and audited, nobody notified) ---- */

struct lookup_job {
    const char *nhs_number;
    int32_t day; /* -1: today, in the deployment's time zone */
    const char *asker;
    json_t *response;
};

static int run_lookup(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct lookup_job *j = arg;
    return sdat_engine_cpis_lookup(e, j->nhs_number, j->day, j->asker, now_ms, &j->response);
}

/* The answer is sent only after its lookup.served record is committed (the
 * job's transaction, grouped with its neighbours). */
static void lookup(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                   const char *nhs_number, const char *at)
{
    struct lookup_job j = {.nhs_number = nhs_number, .day = -1, .asker = req->token->name};
    if (!nhs_number || !sdat_format_nhs_number(nhs_number)) {
        /* The detail never repeats the number. */
        http_error(ret, 400, "bad request", "nhs_number: not a valid NHS number");
        return;
    }
    if (at && sdat_date_parse(at, &j.day) < 0) {
        http_error(ret, 400, "bad request", "at: not a date (YYYY-MM-DD)");
        return;
    }
    int64_t began = sdat_time_mono_ms();
    int r = http_job(http, run_lookup, &j);
    if (r == 0) {
        sdat_metrics_observe(SDAT_M_LOOKUP_DURATION,
                             (double)(sdat_time_mono_ms() - began) / 1000.0);
        http_json(ret, 200, j.response);
        j.response = NULL;
    } else {
        http_job_failed(ret, r);
    }
    json_decref(j.response);
}

static void post_lookup(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    const char *nhs_number = NULL, *at = NULL;
    if (!body_object(req, false, &doc, ret) ||
        string_member(doc, "nhs_number", true, &nhs_number, ret) < 0 ||
        string_member(doc, "at", false, &at, ret) < 0) {
        json_decref(doc);
        return;
    }
    lookup(http, req, ret, nhs_number, at);
    json_decref(doc);
}

static void get_flags(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    lookup(http, req, ret, req->id, http_query(req, "at"));
}

/* ---- CP-IS attendances: the same processing as the topic ---- */

struct attendance_job {
    const json_t *doc;
    const char *asker;
    const char *body;
    size_t body_len;
    json_t *response;
    char err[512];
};

/* Validation runs here, on the writer (the engine holds the schemas); a
 * flag that cannot be routed keeps the attendance as a dead letter, as on
 * the topic, while the answer still goes back. */
static int run_attendance(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct attendance_job *j = arg;
    struct sdat_validation v;
    int r = sdat_schemas_validate(e->schemas, j->doc, "health.attendance/1", &v);
    if (r != 0) {
        /* A JSON Pointer and the rule broken, never the value. */
        snprintf(j->err, sizeof j->err, "%s: %s", v.n_errors ? v.errors[0].path : "",
                 v.n_errors ? v.errors[0].message : "invalid");
        return r < 0 ? -EIO : -EBADMSG;
    }
    r = sdat_engine_attendance(e, j->doc, j->asker, false, now_ms, &j->response, j->err,
                               sizeof j->err);
    if (r == 1) {
        char key[200];
        r = sdat_schemas_derive_key(j->doc, "health.attendance/1", key, sizeof key);
        if (r == 0) {
            struct sdat_inbound m = {.topic = e->cfg->topics.health_attendances,
                                     .partition = -1,
                                     .offset = -1,
                                     .key = key,
                                     .key_len = strlen(key),
                                     .value = j->body,
                                     .value_len = j->body_len};
            r = sdat_engine_dead_letter(e, &m, "routing", j->err, now_ms);
        }
    }
    if (r < 0) {
        json_decref(j->response);
        j->response = NULL;
    }
    return r;
}

/* Whether the token covers the attendance's organisation: a token without
 * ods_codes covers every one. An ods_code that is absent or not a string is
 * left to the schema (400). */
static bool ods_covered(const struct http_token *token, const json_t *doc)
{
    const char *ods_code = json_string_value(json_object_get(doc, "ods_code"));
    if (token->ods_codes.n == 0 || !ods_code) {
        return true;
    }
    for (size_t i = 0; i < token->ods_codes.n; i++) {
        if (strcmp(token->ods_codes.v[i], ods_code) == 0) {
            return true;
        }
    }
    return false;
}

/* The 403 for an organisation the token does not cover needs the body, so
 * it comes after the 413 and after a body that is not a JSON object (400),
 * but before the schema's 400. Idempotent by the attendance key. */
static void post_attendance(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    if (!body_object(req, false, &doc, ret)) {
        return;
    }
    if (!ods_covered(req->token, doc)) {
        http_error(ret, 403, "forbidden", "the token does not cover this ods_code");
        json_decref(doc);
        return;
    }
    struct attendance_job j = {.doc = doc,
                               .asker = req->token->name,
                               .body = req->body,
                               .body_len = req->body_len};
    int64_t began = sdat_time_mono_ms();
    int r = http_job(http, run_attendance, &j);
    if (r >= 0) {
        sdat_metrics_observe(SDAT_M_LOOKUP_DURATION,
                             (double)(sdat_time_mono_ms() - began) / 1000.0);
        http_json(ret, 200, j.response);
        j.response = NULL;
    } else if (r == -EBADMSG) {
        http_error(ret, 400, "bad request", j.err);
    } else {
        http_job_failed(ret, r);
    }
    json_decref(j.response);
    json_decref(doc);
}

/* ---- the route table ---- */

/* Rows with a NULL handler belong to later issues and answer 404 "not
 * available in this version" (after the 404/405 check, before any other). */
const struct http_route http_routes[] = {
    {"healthz", "GET", "/healthz", 0, 0, NULL, get_healthz},
    {"readyz", "GET", "/readyz", 0, 0, NULL, get_readyz},
    {"metrics", "GET", "/metrics", SDAT_ROLE_METRICS, HTTP_ROUTE_METRICS, NULL, get_metrics},
    {"cpis-lookup", "POST", "/v1/cpis/lookups", SDAT_ROLE_LOOKUP, 0, NULL, post_lookup},
    {"cpis-flags", "GET", "/v1/cpis/flags/{}", SDAT_ROLE_LOOKUP, 0, NULL, get_flags},
    {"cpis-attendance", "POST", "/v1/cpis/attendances", SDAT_ROLE_LOOKUP, 0, NULL, post_attendance},
    {"notification-ack", "POST", "/v1/notifications/{}/ack", SDAT_ROLE_ACK, 0, check_ack, post_ack},
    {"ack-page", "GET", "/ack/{}", 0, 0, NULL, http_ack_page_get},
    {"ack-page", "POST", "/ack/{}", 0, 0, NULL, http_ack_page_post},
    {"notification", "GET", "/v1/notifications/{}", SDAT_ROLE_OPERATOR, 0, NULL, get_notification},
    {"notification-cancel", "POST", "/v1/notifications/{}/cancel", SDAT_ROLE_OPERATOR, 0, NULL,
     post_cancel},
    {"notification-resend", "POST", "/v1/notifications/{}/resend", SDAT_ROLE_OPERATOR, 0, NULL,
     post_resend},
    {"notification-redirect", "POST", "/v1/notifications/{}/redirect", SDAT_ROLE_OPERATOR, 0, NULL,
     post_redirect},
    {"notification-withdraw", "POST", "/v1/notifications/{}/withdraw", SDAT_ROLE_OPERATOR, 0, NULL,
     post_withdraw},
    {"reviews", "GET", "/v1/reviews", SDAT_ROLE_OPERATOR, 0, NULL, get_reviews},
    {"review", "GET", "/v1/reviews/{}", SDAT_ROLE_OPERATOR, 0, NULL, get_review},
    {"review-decide", "POST", "/v1/reviews/{}", SDAT_ROLE_OPERATOR, 0, NULL, post_review},
    {"dlq", "GET", "/v1/dlq", SDAT_ROLE_OPERATOR, 0, NULL, get_dlq},
    {"dlq-replay", "POST", "/v1/dlq/{}/replay", SDAT_ROLE_OPERATOR, 0, NULL, post_replay},
};
const size_t http_n_routes = sizeof http_routes / sizeof http_routes[0];
