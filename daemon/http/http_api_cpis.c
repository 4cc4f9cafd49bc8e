/* The HTTP API for CP-IS: silent lookups and attendances. */
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

/* ---- CP-IS lookups (silent: answered and audited, nobody notified) ---- */

struct lookup_job {
    const sdat_cpis_lookup_t *lookup;
    const char *asker;
    int64_t now_ms; /* the audit record's time, set on the writer */
};

static int run_lookup(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct lookup_job *j = arg;
    j->now_ms = now_ms;
    return sdat_engine_cpis_lookup_audit(e, j->lookup, j->asker, now_ms);
}

/* The reads run here, on a read-only store: they see what was committed
 * when they began (docs/DESIGN.md "CP-IS"). Only the lookup.served record
 * is a job on the writer. The answer is sent only after its lookup.served
 * record is committed (the job's transaction, grouped with its
 * neighbours). */
static void lookup(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                   const char *nhs_number, const char *at)
{
    struct lookup_job j = {.asker = req->token->name};
    sdat_cpis_lookup_t *l = NULL;
    sdat_store_t *st = NULL;
    json_t *response = NULL;
    int32_t day = 0;
    if (!nhs_number || !sdat_format_nhs_number(nhs_number)) {
        /* The detail never repeats the number. */
        http_error(ret, 400, "bad request", "nhs_number: not a valid NHS number");
        return;
    }
    if (at && sdat_date_parse(at, &day) < 0) {
        http_error(ret, 400, "bad request", "at: not a date (YYYY-MM-DD)");
        return;
    }
    int64_t began = sdat_time_mono_ms();
    if (!at && sdat_time_local_date(sdat_time_now_ms(), http_timezone(http), &day) < 0) {
        http_error(ret, 500, "internal", "the time zone cannot be read");
        return;
    }
    if (!http_store_or_503(http, &st, ret)) {
        return;
    }
    int r = sdat_cpis_lookup_read(st, nhs_number, day, &l);
    http_store_put(http, st);
    if (r == -ENOMEM) {
        http_job_failed(ret, r); /* 500 */
        return;
    }
    if (r < 0) {
        http_error(ret, 503, "unavailable", "the store cannot be read");
        return;
    }
    j.lookup = l;
    r = http_job(http, run_lookup, &j);
    if (r == 0) {
        response = sdat_cpis_lookup_response(l, j.now_ms);
        r = response ? 0 : -ENOMEM;
    }
    if (r == 0) {
        log_info("cpis", "lookup served asker=%s flags=%zu", j.asker,
                 sdat_cpis_lookup_flag_count(l));
        sdat_metrics_observe(SDAT_M_LOOKUP_DURATION,
                             (double)(sdat_time_mono_ms() - began) / 1000.0);
        http_json(ret, 200, response);
    } else {
        http_job_failed(ret, r);
    }
    sdat_cpis_lookup_free(l);
}

void http_post_lookup(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    const char *nhs_number = NULL, *at = NULL;
    if (!http_body_object(req, false, &doc, ret) ||
        http_string_member(doc, "nhs_number", true, &nhs_number, ret) < 0 ||
        http_string_member(doc, "at", false, &at, ret) < 0) {
        json_decref(doc);
        return;
    }
    lookup(http, req, ret, nhs_number, at);
    json_decref(doc);
}

void http_get_flags(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
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
void http_post_attendance(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    json_t *doc = NULL;
    if (!http_body_object(req, false, &doc, ret)) {
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
