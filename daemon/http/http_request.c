/* One request's path through the server, in the order interfaces.md
 * fixes: the client certificate, then 404/405 (the route table), 401 (no or
 * unknown token), 403 (the role, then what the token covers), 413 (a body
 * over 64 KiB, never buffered), then the endpoint (400, 404, 409, 503). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "http_internal.h"
#include "util/util.h"

/* A chunked body past the limit is read and dropped up to this much more,
 * so that the 413 can be sent; beyond it the connection is closed. */
#define DISCARD_MAX (1024 * 1024)

/* ---- answers ---- */

void http_error(struct http_answer *ret, unsigned status, const char *error, const char *detail)
{
    http_json(ret, status, json_pack("{s:s, s:s}", "error", error, "detail", detail ? detail : ""));
}

void http_json(struct http_answer *ret, unsigned status, json_t *doc)
{
    free(ret->body);
    ret->body = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
    json_decref(doc);
    if (!ret->body) {
        ret->status = 500;
        ret->body = strdup("{\"error\":\"internal\",\"detail\":\"out of memory\"}");
    } else {
        ret->status = status;
    }
    ret->len = ret->body ? strlen(ret->body) : 0;
    ret->content_type = "application/json";
}

void http_text(struct http_answer *ret, unsigned status, const char *content_type, const char *text)
{
    free(ret->body);
    ret->status = status;
    ret->body = strdup(text);
    ret->len = ret->body ? strlen(ret->body) : 0;
    ret->content_type = content_type;
}

/* Queues the answer; the request is then complete. */
static enum MHD_Result respond(struct http_request *req, struct http_answer *a)
{
    struct MHD_Response *response =
        MHD_create_response_from_buffer(a->len, a->body, MHD_RESPMEM_MUST_FREE);
    if (!response) {
        free(a->body);
        return MHD_NO;
    }
    a->body = NULL;
    if (a->content_type) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_CONTENT_TYPE, a->content_type);
    }
    MHD_add_response_header(response, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (a->console || (req->route && (req->route->flags & HTTP_ROUTE_CONSOLE))) {
        /* console.md "Access": the console's own policy (its stylesheet is
         * same-origin; no inline style or script). */
        MHD_add_response_header(response, "Content-Security-Policy",
                                "default-src 'none'; style-src 'self'; img-src 'self'; "
                                "script-src 'self'; form-action 'self'; frame-ancestors 'none'; "
                                "base-uri 'none'");
        MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(response, "X-Frame-Options", "DENY");
        if (a->location[0]) {
            MHD_add_response_header(response, MHD_HTTP_HEADER_LOCATION, a->location);
        }
        if (a->cookie[0]) {
            MHD_add_response_header(response, MHD_HTTP_HEADER_SET_COOKIE, a->cookie);
        }
    } else if (a->content_type && strncmp(a->content_type, "text/html", 9) == 0) {
        /* The acknowledgement pages: their URL holds a token, so no referrer
         * leaves them; nothing but their own inline style and form runs. */
        MHD_add_response_header(response, "Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; "
                                "form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
        MHD_add_response_header(response, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(response, "X-Content-Type-Options", "nosniff");
        MHD_add_response_header(response, "X-Frame-Options", "DENY");
    }
    if (a->status == MHD_HTTP_METHOD_NOT_ALLOWED && a->allow[0]) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_ALLOW, a->allow);
    }
    if (a->status == MHD_HTTP_UNAUTHORIZED && !a->console) {
        MHD_add_response_header(response, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    }
    enum MHD_Result r = MHD_queue_response(req->connection, a->status, response);
    MHD_destroy_response(response);
    if (r == MHD_YES) {
        req->status = a->status;
    }
    return r;
}

/* ---- admission: route, client certificate, token, role, size ---- */

/* Matches path against pattern; the {} segment is copied to id. */
static bool path_matches(const char *pattern, const char *path, char id[HTTP_ID_MAX + 1])
{
    while (*pattern && *path) {
        if (strncmp(pattern, "{}", 2) == 0) {
            size_t n = strcspn(path, "/");
            if (n == 0 || n > HTTP_ID_MAX) {
                return false;
            }
            for (size_t i = 0; i < n; i++) {
                unsigned char ch = (unsigned char)path[i];
                if (ch <= 0x20 || ch >= 0x7f) {
                    return false;
                }
            }
            memcpy(id, path, n);
            id[n] = '\0';
            pattern += 2;
            path += n;
        } else if (*pattern++ != *path++) {
            return false;
        }
    }
    return *pattern == '\0' && *path == '\0';
}

/* The route for method and path, or 404 / 405 (with Allow) in ret. */
static const struct http_route *route_find(const char *url, const char *method,
                                           struct http_request *req, struct http_answer *ret)
{
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    bool path_known = false;
    char allow[32] = "";
    for (size_t i = 0; i < http_n_routes; i++) {
        const struct http_route *route = &http_routes[i];
        char id[HTTP_ID_MAX + 1] = "";
        if (!path_matches(route->pattern, url, id)) {
            continue;
        }
        path_known = true;
        if (strcmp(route->method, want) == 0) {
            if (!route->handler) {
                http_error(ret, 404, "not found", "not available in this version");
                return NULL;
            }
            memcpy(req->id, id, sizeof req->id);
            return route;
        }
        if (!strstr(allow, route->method)) {
            size_t len = strlen(allow);
            snprintf(allow + len, sizeof allow - len, "%s%s", len ? ", " : "", route->method);
        }
    }
    if (path_known) {
        http_error(ret, 405, "method not allowed", "see the Allow header");
        snprintf(ret->allow, sizeof ret->allow, "%s", allow);
    } else {
        http_error(ret, 404, "not found", "no such endpoint");
    }
    return NULL;
}

/* The configured token whose digest matches the bearer token, comparing
 * every digest in constant time (no early exit). */
static const struct http_token *token_find(const struct http_conf *conf, const char *header)
{
    if (!header || strncasecmp(header, "Bearer ", 7) != 0) {
        return NULL;
    }
    const char *token = header + 7;
    while (*token == ' ') {
        token++;
    }
    size_t len = strlen(token);
    while (len > 0 && token[len - 1] == ' ') {
        len--;
    }
    if (len == 0 || memchr(token, ' ', len)) {
        return NULL;
    }
    return http_token_match(conf, token, len);
}

const struct http_token *http_token_match(const struct http_conf *conf, const char *token,
                                          size_t len)
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)token, len, digest);
    size_t found = 0; /* index + 1 */
    for (size_t i = 0; i < conf->n_tokens; i++) {
        size_t equal = (size_t)(CRYPTO_memcmp(digest, conf->tokens[i].sha256, sizeof digest) == 0);
        size_t mask = (size_t)0 - equal;
        found = ((i + 1) & mask) | (found & ~mask);
    }
    OPENSSL_cleanse(digest, sizeof digest);
    return found ? &conf->tokens[found - 1] : NULL;
}

static const char *role_name(unsigned role)
{
    switch (role) {
    case SDAT_ROLE_LOOKUP:
        return "lookup";
    case SDAT_ROLE_ACK:
        return "ack";
    case SDAT_ROLE_OPERATOR:
        return "operator";
    case SDAT_ROLE_AUDITOR:
        return "auditor";
    default:
        return "metrics";
    }
}

/* A client certificate chained to client_ca, fit for client authentication. */
static bool client_verified(struct MHD_Connection *connection)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (!info || !info->tls_session) {
        return false;
    }
    gnutls_session_t session = (gnutls_session_t)info->tls_session;
    gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
    unsigned status = 0;
    if (gnutls_certificate_type_get(session) != GNUTLS_CRT_X509 ||
        gnutls_certificate_verify_peers(session, &purpose, 1, &status) < 0) {
        return false;
    }
    return status == 0;
}

struct content_lengths {
    const char *first;
    bool differ;
};

static enum MHD_Result each_content_length(void *cls, enum MHD_ValueKind kind, const char *key,
                                           const char *value)
{
    struct content_lengths *cl = cls;
    (void)kind;
    if (strcasecmp(key, MHD_HTTP_HEADER_CONTENT_LENGTH) == 0) {
        value = value ? value : "";
        if (!cl->first) {
            cl->first = value;
        } else if (strcmp(cl->first, value) != 0) {
            cl->differ = true;
        }
    }
    return MHD_YES;
}

/* Two different Content-Length headers: the body's end is ambiguous (a
 * proxy in front may have read the other one), so the request is refused
 * before anything else; answered before its body is read, the connection
 * is then closed. */
static bool framing_ambiguous(struct MHD_Connection *connection)
{
    struct content_lengths cl = {NULL, false};
    MHD_get_connection_values(connection, MHD_HEADER_KIND, each_content_length, &cl);
    return cl.differ;
}

/* Everything decided from the request line and headers. false with ret
 * set: answer now. */
static bool admit(sdat_http_t *http, struct http_request *req, const char *url, const char *method,
                  struct http_answer *ret)
{
    if (framing_ambiguous(req->connection)) {
        http_error(ret, 400, "bad request", "two different Content-Length headers");
        return false;
    }
    if (http_client_ca(http) && !client_verified(req->connection)) {
        http_error(ret, 401, "unauthorized", "a client certificate from client_ca is required");
        return false;
    }
    req->route = route_find(url, method, req, ret);
    if (!req->route) {
        return false;
    }
    req->conf = http_conf_get(http);
    unsigned role = req->route->role;
    if ((req->route->flags & HTTP_ROUTE_METRICS) && req->conf->metrics_public) {
        role = 0;
    }
    if (role) {
        const char *header =
            MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, "Authorization");
        req->token = token_find(req->conf, header);
        if (!req->token) {
            http_error(ret, 401, "unauthorized",
                       header ? "unknown token or malformed Authorization header"
                              : "an Authorization: Bearer token is required");
            return false;
        }
        if (!(req->token->roles & role)) {
            char detail[64];
            snprintf(detail, sizeof detail, "the token lacks the %s role", role_name(role));
            http_error(ret, 403, "forbidden", detail);
            return false;
        }
    }
    if (req->route->check) {
        req->route->check(http, req, ret);
        if (ret->status) {
            return false;
        }
    }
    const char *length =
        MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, "Content-Length");
    if (length) {
        char *end = NULL;
        errno = 0;
        unsigned long long n = strtoull(length, &end, 10);
        if (errno == ERANGE || n > HTTP_BODY_MAX) {
            http_error(ret, 413, "payload too large", "the body is over 64 KiB");
            return false;
        }
    }
    return true;
}

/* ---- libmicrohttpd callbacks ---- */

static const char *method_literal(const char *method)
{
    static const char *const known[] = {"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(method, known[i]) == 0) {
            return known[i];
        }
    }
    return "other";
}

enum MHD_Result http_on_request(void *cls, struct MHD_Connection *connection, const char *url,
                                const char *method, const char *version, const char *upload_data,
                                size_t *upload_data_size, void **con_cls)
{
    sdat_http_t *http = cls;
    struct http_request *req = *con_cls;
    struct http_answer a = {0};
    (void)version;

    if (!req) {
        req = calloc(1, sizeof *req);
        if (!req) {
            return MHD_NO;
        }
        *con_cls = req;
        req->connection = connection;
        req->method = method_literal(method);
        req->started_mono_ms = sdat_time_mono_ms();
        http_conn_serving(connection, true);
        a.console = strncmp(url, "/console", 8) == 0;
        if (!admit(http, req, url, method, &a)) {
            return respond(req, &a);
        }
        return MHD_YES;
    }
    if (req->status) {
        *upload_data_size = 0; /* answered already: drop the rest */
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (!req->too_big && req->body_len + n <= HTTP_BODY_MAX) {
            if (req->body_len + n + 1 > req->body_cap) {
                size_t cap = req->body_cap ? req->body_cap * 2 : 1024;
                while (cap < req->body_len + n + 1) {
                    cap *= 2;
                }
                cap = cap > HTTP_BODY_MAX + 1 ? HTTP_BODY_MAX + 1 : cap;
                char *grown = realloc(req->body, cap);
                if (!grown) {
                    return MHD_NO;
                }
                req->body = grown;
                req->body_cap = cap;
            }
            memcpy(req->body + req->body_len, upload_data, n);
            req->body_len += n;
            return MHD_YES;
        }
        /* Over the limit (a body without Content-Length): keep nothing
         * more. libmicrohttpd takes an answer only once the body is read,
         * so the rest is read and dropped, up to DISCARD_MAX; past that the
         * connection is closed without one. */
        req->too_big = true;
        free(req->body);
        req->body = NULL;
        req->discarded += n;
        return req->discarded > DISCARD_MAX ? MHD_NO : MHD_YES;
    }
    if (req->too_big) {
        http_error(&a, 413, "payload too large", "the body is over 64 KiB");
    } else {
        if (req->body) {
            req->body[req->body_len] = '\0';
        }
        req->route->handler(http, req, &a);
        if (!a.status) {
            http_error(&a, 500, "internal", "no answer");
        }
    }
    return respond(req, &a);
}

void http_on_completed(void *cls, struct MHD_Connection *connection, void **con_cls,
                       enum MHD_RequestTerminationCode toe)
{
    struct http_request *req = *con_cls;
    (void)cls;
    http_conn_serving(connection, false);
    if (!req) {
        return;
    }
    log_debug("http", "%s %s status=%u duration_ms=%lld%s", req->method,
              req->route ? req->route->name : "unknown", req->status,
              (long long)(sdat_time_mono_ms() - req->started_mono_ms),
              toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection ended)");
    http_conf_unref(req->conf);
    free(req->body);
    free(req);
    *con_cls = NULL;
}

/* Every connection is tracked for the header deadline (http.c). With
 * client_ca, a client without a verified certificate fails the handshake. */
void http_on_connection(void *cls, struct MHD_Connection *connection, void **socket_context,
                        enum MHD_ConnectionNotificationCode toe)
{
    sdat_http_t *http = cls;
    if (toe == MHD_CONNECTION_NOTIFY_CLOSED) {
        http_conn_closed(http, socket_context);
        return;
    }
    http_conn_started(http, connection, socket_context);
    if (!http_client_ca(http)) {
        return;
    }
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_GNUTLS_SESSION);
    if (info && info->tls_session) {
        /* The handshake itself fails without a certificate that chains to
         * client_ca and is fit for client authentication; client_verified
         * checks again for each request. */
        gnutls_session_t session = (gnutls_session_t)info->tls_session;
        static gnutls_typed_vdata_st purpose = {.type = GNUTLS_DT_KEY_PURPOSE_OID,
                                                .data = (unsigned char *)GNUTLS_KP_TLS_WWW_CLIENT};
        gnutls_certificate_server_set_request(session, GNUTLS_CERT_REQUIRE);
        gnutls_session_set_verify_cert2(session, &purpose, 1, 0);
    }
}
