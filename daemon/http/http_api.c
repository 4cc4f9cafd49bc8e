/* The HTTP API's shared request helpers, health, readiness and metrics,
 * and the route table; the endpoints by resource are in
 * http_api_notifications.c, http_api_reviews.c and http_api_cpis.c. */
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

/* ---- helpers ---- */

json_t *http_time_or_null(int64_t ms)
{
    if (ms <= 0) {
        return json_null();
    }
    char buf[40];
    sdat_time_format_ms(ms, buf, sizeof buf);
    return json_string(buf);
}

json_t *http_string_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* The body as a JSON object. optional: an empty body gives *ret_doc NULL.
 * false with a 400 in ret otherwise. */
bool http_body_object(struct http_request *req, bool optional, json_t **ret_doc,
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
size_t http_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++) {
        n += ((unsigned char)*s & 0xC0) != 0x80;
    }
    return n;
}

/* A string member of 1–200 characters: 0, 1 when absent (and not
 * required), or -1 with a 400 in ret. */
int http_string_member(const json_t *doc, const char *name, bool required, const char **ret_s,
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
    size_t n = s ? http_utf8_chars(s) : 0;
    if (!s || n < 1 || n > 200 || strlen(s) != json_string_length(v)) {
        snprintf(detail, sizeof detail, "/%s: must be a string of 1 to 200 characters", name);
        http_error(ret, 400, "bad request", detail);
        return -1;
    }
    *ret_s = s;
    return 0;
}

/* Whether s holds a control character: C0, DEL or C1 (U+0080-U+009F,
 * 0xC2 0x80-0x9F in UTF-8). */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || (p[0] == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F)) {
            return true;
        }
    }
    return false;
}

int http_by_member(const json_t *doc, bool required, const char **ret_s, struct http_answer *ret)
{
    int r = http_string_member(doc, "by", required, ret_s, ret);
    if (r == 0 && has_control(*ret_s)) {
        http_error(ret, 400, "bad request", "/by: must not hold control characters");
        return -1;
    }
    return r;
}

bool http_store_or_503(sdat_http_t *http, sdat_store_t **ret_st, struct http_answer *ret)
{
    *ret_st = http_store_get(http);
    if (!*ret_st) {
        http_error(ret, 503, "unavailable", "the store cannot be opened");
        return false;
    }
    return true;
}

/* ---- health, readiness, metrics ---- */

void http_get_healthz(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    (void)http;
    (void)req;
    http_text(ret, 200, "text/plain; charset=utf-8", "ok");
}

void http_get_readyz(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    bool ready = false;
    (void)req;
    json_t *doc = http_readiness(http, &ready);
    http_json(ret, ready ? 200 : 503, doc);
}

void http_get_metrics(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
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

/* ---- the route table ---- */

/* Rows with a NULL handler belong to later issues and answer 404 "not
 * available in this version" (after the 404/405 check, before any other). */
const struct http_route http_routes[] = {
    {"healthz", "GET", "/healthz", 0, 0, NULL, http_get_healthz},
    {"readyz", "GET", "/readyz", 0, 0, NULL, http_get_readyz},
    {"metrics", "GET", "/metrics", SDAT_ROLE_METRICS, HTTP_ROUTE_METRICS, NULL, http_get_metrics},
    {"cpis-lookup", "POST", "/v1/cpis/lookups", SDAT_ROLE_LOOKUP, 0, NULL, http_post_lookup},
    {"cpis-flags", "GET", "/v1/cpis/flags/{}", SDAT_ROLE_LOOKUP, 0, NULL, http_get_flags},
    {"cpis-attendance", "POST", "/v1/cpis/attendances", SDAT_ROLE_LOOKUP, 0, NULL,
     http_post_attendance},
    {"notification-ack", "POST", "/v1/notifications/{}/ack", SDAT_ROLE_ACK, 0, http_check_ack,
     http_post_ack},
    {"ack-page", "GET", "/ack/{}", 0, 0, NULL, http_ack_page_get},
    {"ack-page", "POST", "/ack/{}", 0, 0, NULL, http_ack_page_post},
    {"notification", "GET", "/v1/notifications/{}", SDAT_ROLE_OPERATOR, 0, NULL,
     http_get_notification},
    {"notification-cancel", "POST", "/v1/notifications/{}/cancel", SDAT_ROLE_OPERATOR, 0, NULL,
     http_post_cancel},
    {"notification-resend", "POST", "/v1/notifications/{}/resend", SDAT_ROLE_OPERATOR, 0, NULL,
     http_post_resend},
    {"notification-redirect", "POST", "/v1/notifications/{}/redirect", SDAT_ROLE_OPERATOR, 0, NULL,
     http_post_redirect},
    {"notification-withdraw", "POST", "/v1/notifications/{}/withdraw", SDAT_ROLE_OPERATOR, 0, NULL,
     http_post_withdraw},
    {"reviews", "GET", "/v1/reviews", SDAT_ROLE_OPERATOR, 0, NULL, http_get_reviews},
    {"review", "GET", "/v1/reviews/{}", SDAT_ROLE_OPERATOR, 0, NULL, http_get_review},
    {"review-decide", "POST", "/v1/reviews/{}", SDAT_ROLE_OPERATOR, 0, NULL, http_post_review},
    {"dlq", "GET", "/v1/dlq", SDAT_ROLE_OPERATOR, 0, NULL, http_get_dlq},
    {"dlq-replay", "POST", "/v1/dlq/{}/replay", SDAT_ROLE_OPERATOR, 0, NULL, http_post_replay},
    /* The console (console.md): a session cookie instead of a bearer
     * token, checked by each handler (console.c). */
    {"console", "GET", "/console", 0, HTTP_ROUTE_CONSOLE, NULL, console_get_root},
    {"console-static", "GET", "/console/static/{}", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_static},
    {"console-login", "GET", "/console/login", 0, HTTP_ROUTE_CONSOLE, NULL, console_get_login},
    {"console-login", "POST", "/console/login", 0, HTTP_ROUTE_CONSOLE, NULL, console_post_login},
    {"console-logout", "POST", "/console/logout", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_logout},
    {"console-today", "GET", "/console/", 0, HTTP_ROUTE_CONSOLE, NULL, console_get_today},
    {"console-reviews", "GET", "/console/reviews", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_reviews},
    {"console-review", "GET", "/console/reviews/{}", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_review},
    {"console-review", "POST", "/console/reviews/{}", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_review},
    {"console-notifications", "GET", "/console/notifications", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_notifications},
    {"console-notification", "GET", "/console/notifications/{}", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_notification},
    {"console-cancel", "POST", "/console/notifications/{}/cancel", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_cancel},
    {"console-resend", "POST", "/console/notifications/{}/resend", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_resend},
    {"console-redirect", "POST", "/console/notifications/{}/redirect", 0, HTTP_ROUTE_CONSOLE,
     NULL, console_post_redirect},
    {"console-withdraw", "POST", "/console/notifications/{}/withdraw", 0, HTTP_ROUTE_CONSOLE,
     NULL, console_post_withdraw},
    {"console-dead-letters", "GET", "/console/dead-letters", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_dead_letters},
    {"console-replay", "POST", "/console/dead-letters/{}/replay", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_replay},
    {"console-children", "GET", "/console/children", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_children},
    {"console-children", "POST", "/console/children", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_children},
    {"console-child", "GET", "/console/children/{}", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_get_child},
    {"console-audit", "GET", "/console/audit", 0, HTTP_ROUTE_CONSOLE, NULL, console_get_audit},
    {"console-audit", "POST", "/console/audit", 0, HTTP_ROUTE_CONSOLE, NULL, console_post_audit},
    {"console-inbox", "GET", "/console/inbox", 0, HTTP_ROUTE_CONSOLE, NULL, console_get_inbox},
    {"console-inbox-ack", "POST", "/console/inbox/{}", 0, HTTP_ROUTE_CONSOLE, NULL,
     console_post_inbox},
};
const size_t http_n_routes = sizeof http_routes / sizeof http_routes[0];
