/* Shared between the HTTP server's files only: http.c (its life),
 * http_request.c (a request's checks) and http_api.c (the endpoints). */
#ifndef SDAT_HTTP_INTERNAL_H
#define SDAT_HTTP_INTERNAL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <microhttpd.h>

#include "config/config.h"
#include "http.h"
#include "engine/engine.h"
#include "store/store.h"

#define HTTP_BODY_MAX 65536
#define HTTP_JOB_TIMEOUT_MS 10000
#define HTTP_ID_MAX 200

/* What a request needs of one configured token (a copy: the configuration
 * may be freed by a reload while a request runs). */
struct http_token {
    char *name;
    unsigned char sha256[32];
    unsigned roles;
    struct sdat_strv recipients, ods_codes;
};

/* The reloadable keys, reference-counted: a request holds the snapshot it
 * started with. */
struct http_conf {
    atomic_int refs;
    char *public_url;
    char *ack_key_file; /* NULL: ack links are refused */
    bool metrics_public;
    bool console;     /* http.console */
    int console_idle; /* http.console_idle, seconds */
    struct http_token *tokens;
    size_t n_tokens;
};

/* The answer a handler fills; the server sends it. */
struct http_answer {
    unsigned status;
    char *body; /* malloc'd, or NULL for none */
    size_t len;
    const char *content_type;
    char allow[32]; /* 405 */
    /* The console's pages (console.c): */
    bool console;       /* send console.md's headers */
    char location[256]; /* a 303's Location, or "" */
    char cookie[256];   /* a Set-Cookie value, or "" */
};

struct http_request;
typedef void (*http_handler_fn)(sdat_http_t *http, struct http_request *req,
                                struct http_answer *ret);

enum {
    HTTP_ROUTE_METRICS = 1, /* the role is not needed when metrics_public */
    HTTP_ROUTE_CONSOLE = 2  /* the console: no bearer token; its own session (console.c) */
};

struct http_route {
    const char *name;    /* in the log line, never the path */
    const char *method;  /* GET or POST (HEAD is served as GET) */
    const char *pattern; /* "/v1/notifications/{}/ack": {} is an id segment */
    unsigned role;       /* SDAT_ROLE_*, 0 for none */
    unsigned flags;
    /* After the role check, before the body is read: narrows the token to
     * what it covers (403). NULL: nothing to check. Sets ret->status to
     * answer at once. */
    http_handler_fn check;
    /* Runs once the body is read. NULL: not available in this version. */
    http_handler_fn handler;
};

struct http_request {
    const struct http_route *route;
    const char *method; /* a literal, for the log */
    struct MHD_Connection *connection;
    struct http_conf *conf;         /* a reference */
    const struct http_token *token; /* in conf; NULL when the route needs no role */
    char id[HTTP_ID_MAX + 1];       /* the path's {} segment */
    char *body;                     /* NUL-terminated once read */
    size_t body_len, body_cap;
    bool too_big;
    size_t discarded;
    int64_t started_mono_ms;
    unsigned status; /* once answered */
};

extern const struct http_route http_routes[];
extern const size_t http_n_routes;

/* http.c */
struct http_conf *http_conf_get(sdat_http_t *http); /* a reference */
void http_conf_unref(struct http_conf *conf);       /* accepts NULL */
bool http_client_ca(const sdat_http_t *http);       /* client certificates required */
/* The header deadline (http.c): a connection is tracked from start to
 * close; serving is true from a request's headers to its completion, when
 * the deadline for the next request's headers starts. */
void http_conn_started(sdat_http_t *http, struct MHD_Connection *connection,
                       void **socket_context);
void http_conn_closed(sdat_http_t *http, void **socket_context);
void http_conn_serving(struct MHD_Connection *connection, bool serving);
bool http_tls(const sdat_http_t *http);             /* the listener speaks TLS */
/* The listener is neither loopback nor TLS: the console answers 503. */
bool http_console_exposed(const sdat_http_t *http);
struct console_state *http_console_state(sdat_http_t *http);
/* The configuration's timezone (restart-only, so fixed for the server's
 * life). */
const char *http_timezone(const sdat_http_t *http);
/* http_request.c: the configured token with this value (constant time over
 * every token), or NULL. */
const struct http_token *http_token_match(const struct http_conf *conf, const char *token,
                                          size_t len);

/* http_request.c: libmicrohttpd's callbacks (cls is the server). */
enum MHD_Result http_on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls);
void http_on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                       enum MHD_RequestTerminationCode toe);
void http_on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe);

/* For the endpoints: answers (http_request.c) and the server's services
 * (http.c). */
void http_error(struct http_answer *ret, unsigned status, const char *error, const char *detail);
/* Takes ownership of doc. */
void http_json(struct http_answer *ret, unsigned status, json_t *doc);
void http_text(struct http_answer *ret, unsigned status, const char *content_type,
               const char *text);
/* A read-only store for this request (the server's pool), or NULL (the
 * answer is then 503). Give it back with http_store_put. */
sdat_store_t *http_store_get(sdat_http_t *http);
void http_store_put(sdat_http_t *http, sdat_store_t *st);
/* Runs fn on the writer thread: its value, or -ETIMEDOUT / -ESHUTDOWN /
 * -EIO (answer 503 via http_job_failed). */
int http_job(sdat_http_t *http, sdat_job_fn fn, void *arg);
/* 503 for a job that did not run or commit, 500 for anything else. */
void http_job_failed(struct http_answer *ret, int r);
const char *http_query(struct http_request *req, const char *name);
/* http_ack.c: the acknowledgement link's pages (GET and POST /ack/ID). */
void http_ack_page_get(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_ack_page_post(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
/* The name an acknowledgement records (`by`), from the form or the API:
 * trimmed into out (HTTP_BY_MAX_BYTES), 1 to 200 characters of text without
 * control characters. */
#define HTTP_BY_MAX_BYTES (200 * 4 + 1)
bool http_ack_by(const char *in, char *out, size_t outlen);
/* /readyz and /metrics. */
json_t *http_readiness(sdat_http_t *http, bool *ret_ready);
char *http_metrics_text(sdat_http_t *http);

/* http_api.c: what the endpoints share. */
json_t *http_time_or_null(int64_t ms);
json_t *http_string_or_null(const char *s);
/* The request's body as a JSON object (optional: an empty body is NULL);
 * false after answering 400. */
bool http_body_object(struct http_request *req, bool optional, json_t **ret_doc,
                      struct http_answer *ret);
size_t http_utf8_chars(const char *s);
int http_string_member(const json_t *doc, const char *name, bool required, const char **ret_s,
                       struct http_answer *ret);
/* The `by` member, as http_string_member takes it, without control
 * characters (they would reach sdatctl's tables and the audit as given). */
int http_by_member(const json_t *doc, bool required, const char **ret_s, struct http_answer *ret);
bool http_store_or_503(sdat_http_t *http, sdat_store_t **ret_st, struct http_answer *ret);
/* Whether notification id exists and its recipient is one of recipients
 * (*ret_covered; an unknown id is not covered): 0, or -EIO when the store
 * cannot be read. The API's ack and the console's inbox answer both alike. */
int http_notification_covered(sdat_http_t *http, const char *id,
                              const struct sdat_strv *recipients, bool *ret_covered);
/* A dead letter's replay as a job on the writer (http_job): via is
 * "console" or NULL; outcome is the engine's (a new reference). */
struct http_replay_job {
    int64_t id;
    const char *by, *via;
    json_t *outcome;
};
int http_run_replay(struct sdat_engine *e, void *arg, int64_t now_ms);
/* The endpoints (http_api*.c), as the route table names them. */
void http_get_healthz(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_readyz(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_metrics(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_check_ack(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_ack(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_notification(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_cancel(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_resend(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_redirect(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_withdraw(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_reviews(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_dlq(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_replay(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_lookup(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_get_flags(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void http_post_attendance(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
/* console*.c: the web console (console.md). */
struct console_state *console_state_new(void);
void console_state_free(struct console_state *cs);
void console_get_root(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_static(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_login(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_login(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_logout(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_today(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_reviews(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
/* console_notifications.c, console_dlq.c */
void console_get_notifications(sdat_http_t *http, struct http_request *req,
                               struct http_answer *ret);
void console_get_notification(sdat_http_t *http, struct http_request *req,
                              struct http_answer *ret);
void console_post_cancel(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_resend(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_redirect(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_withdraw(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_dead_letters(sdat_http_t *http, struct http_request *req,
                              struct http_answer *ret);
void console_post_replay(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
/* console_children.c, console_audit.c, console_inbox.c */
void console_get_children(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_children(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_child(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_audit(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_audit(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_get_inbox(sdat_http_t *http, struct http_request *req, struct http_answer *ret);
void console_post_inbox(sdat_http_t *http, struct http_request *req, struct http_answer *ret);

#endif
