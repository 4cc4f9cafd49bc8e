/* The HTTP API for the review queue and the dead letters. */
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
        json_t *one = json_pack("{s:O?, s:O?, s:O?, s:O?, s:O?}", "child_id",
                                json_object_get(c, "child_id"), "score",
                                json_object_get(c, "score"), "given_name",
                                json_object_get(child, "given_name"), "family_name",
                                json_object_get(child, "family_name"), "dob",
                                json_object_get(child, "dob"));
        if (one && json_is_true(json_object_get(c, "sibling"))) {
            json_object_set_new(one, "sibling", json_true());
        }
        json_array_append_new(out, one);
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
                  "created_at", http_time_or_null(item->created_ms), "decided_by",
                  http_string_or_null(item->decided_by), "decided_at",
                  http_time_or_null(item->decided_ms),
                  "register_child_id", http_string_or_null(item->register_child_id), "candidates",
                  enriched_candidates(v->st, item->candidates));
    if (doc) {
        json_object_set_new(doc, "version", json_integer((json_int_t)item->version));
    }
    if (!doc) {
        return -ENOMEM;
    }
    /* The sibling guard sent the child here: a twin, sibling or cousin is
     * among the candidates (flows.md §4). */
    size_t i;
    json_t *c;
    json_array_foreach (json_object_get(doc, "candidates"), i, c) {
        if (json_is_true(json_object_get(c, "sibling"))) {
            json_object_set_new(doc, "sibling_guard", json_true());
            break;
        }
    }
    if (v->list) {
        return json_array_append_new(v->list, doc) == 0 ? 0 : -ENOMEM;
    }
    v->item = doc;
    return 0;
}

void http_get_reviews(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    (void)req;
    struct review_view v = {.list = json_array()};
    if (!http_store_or_503(http, &v.st, ret)) {
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

void http_get_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct review_view v = {NULL};
    if (!http_store_or_503(http, &v.st, ret)) {
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

void http_post_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    struct review_job j = {.id = req->id};
    if (!http_body_object(req, false, &doc, ret)) {
        return;
    }
    const char *decision = json_string_value(json_object_get(doc, "decision"));
    bool accept = decision && strcmp(decision, "accept") == 0;
    if (!decision || (!accept && strcmp(decision, "reject") != 0)) {
        http_error(ret, 400, "bad request", "/decision: must be \"accept\" or \"reject\"");
        goto out;
    }
    int has_child = http_string_member(doc, "child_id", accept, &j.child_id, ret);
    if (has_child < 0 || http_by_member(doc, true, &j.by, ret) < 0) {
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
                               "at", http_time_or_null(dl->at_ms))) == 0
               ? 0
               : -ENOMEM;
}

void http_get_dlq(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    const char *since = http_query(req, "since");
    int64_t since_ms = 0;
    if (since && sdat_datetime_parse(since, &since_ms) < 0) {
        http_error(ret, 400, "bad request", "since: must be an RFC 3339 date-time with an offset");
        return;
    }
    sdat_store_t *st = NULL;
    if (!http_store_or_503(http, &st, ret)) {
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

int http_run_replay(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct http_replay_job *j = arg;
    return sdat_engine_dlq_replay_via(e, j->id, j->by, j->via, now_ms, &j->outcome);
}

void http_post_replay(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    char *end = NULL;
    errno = 0;
    long long id = strtoll(req->id, &end, 10);
    if (errno || *end || id <= 0 || req->id[0] < '1' || req->id[0] > '9') {
        http_error(ret, 404, "not found", "no such dead letter");
        return;
    }
    json_t *doc = NULL;
    struct http_replay_job j = {.id = id, .by = req->token->name};
    const char *by = NULL;
    if (!http_body_object(req, true, &doc, ret) ||
        (doc && http_by_member(doc, false, &by, ret) < 0)) {
        json_decref(doc);
        return;
    }
    if (by) {
        j.by = by;
    }
    int r = http_job(http, http_run_replay, &j);
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
