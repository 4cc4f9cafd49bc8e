/* The console (console.md): login, logout, the checks every page makes,
 * and the "today" page. The review pages are in console_reviews.c; the
 * frame, escaping and the stylesheet in console_html.c; sessions in
 * console_session.c.
 *
 * Nothing personal is logged or put in a URL: the request log names the
 * route, never the path; paths carry ids only. */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/crypto.h>

#include "console_internal.h"
#include "util/util.h"

/* ---- the checks ---- */

static void client_addr(struct http_request *req, char out[64])
{
    snprintf(out, 64, "unknown");
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(req->connection, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!info || !info->client_addr) {
        return;
    }
    const struct sockaddr *sa = info->client_addr;
    socklen_t len = sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                               : sizeof(struct sockaddr_in);
    if (getnameinfo(sa, len, out, 64, NULL, 0, NI_NUMERICHOST) != 0) {
        snprintf(out, 64, "unknown");
    }
}

/* The console is on and may be served here; false with ret answered. */
static bool console_available(sdat_http_t *http, struct http_request *req,
                              struct http_answer *ret)
{
    ret->console = true;
    if (!req->conf->console) {
        console_message(ret, 404, NULL, "Page not found",
                        "The console is switched off on this server (http.console).");
        return false;
    }
    if (http_console_exposed(http)) {
        console_message(ret, 503, NULL, "The console is not available on this address",
                        "This server listens without TLS on an address other than loopback. A "
                        "console session cookie must not cross a network in clear, so the "
                        "console is refused here: configure http.tls_cert and http.tls_key, or "
                        "listen on 127.0.0.1 behind a TLS proxy.");
        return false;
    }
    return true;
}

static const char *cookie_of(struct http_request *req)
{
    return MHD_lookup_connection_value(req->connection, MHD_COOKIE_KIND, CONSOLE_COOKIE);
}

/* The csrf field of the body equals the session's (constant time). */
static bool csrf_ok(struct http_request *req, const struct console_ctx *ctx)
{
    char given[64];
    if (!console_form_field(req->body, "csrf", given, sizeof given) ||
        strlen(given) != strlen(ctx->sess.csrf)) {
        return false;
    }
    return CRYPTO_memcmp(given, ctx->sess.csrf, strlen(given)) == 0;
}

bool console_begin(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                   unsigned roles, struct console_ctx *ctx)
{
    memset(ctx, 0, sizeof *ctx);
    if (!console_available(http, req, ret)) {
        return false;
    }
    const char *cookie = cookie_of(req);
    if (!cookie || strlen(cookie) != 64 ||
        console_session_find(http_console_state(http), cookie, sdat_time_mono_ms(),
                             (int64_t)req->conf->console_idle * 1000, &ctx->sess) < 0) {
        console_redirect(ret, "/console/login");
        return false;
    }
    snprintf(ctx->cookie, sizeof ctx->cookie, "%s", cookie);
    if (strcmp(req->method, "POST") == 0 && !csrf_ok(req, ctx)) {
        console_message(ret, 403, ctx, "The form has expired",
                        "The form was not sent from this session's page, so nothing was "
                        "changed. Go back, reload the page and try again.");
        return false;
    }
    if (!(ctx->sess.roles & roles)) {
        console_message(ret, 403, ctx, "You cannot open this page",
                        (ctx->sess.roles & SDAT_ROLE_AUDITOR)
                            ? "The auditor role opens the children (subject access) and audit "
                              "pages only."
                        : (ctx->sess.roles & SDAT_ROLE_ACK)
                            ? "An acknowledgement token opens the inbox only."
                            : "Your token's role does not open this page.");
        return false;
    }
    return true;
}

/* ---- login and logout ---- */

static void login_form(struct http_answer *ret, unsigned status, const char *error_field,
                       const char *error, const char *name)
{
    struct cbuf b = {0};
    if (error) {
        cb_raw(&b, "<div class=\"error-summary\" role=\"alert\" tabindex=\"-1\" "
                   "aria-labelledby=\"error-summary-title\">\n"
                   "<h2 id=\"error-summary-title\">There is a problem</h2>\n<ul>\n<li><a href=\"#");
        cb_raw(&b, error_field);
        cb_raw(&b, "\">");
        cb_esc(&b, error);
        cb_raw(&b, "</a></li>\n</ul>\n</div>\n");
    }
    cb_raw(&b, "<h1>Log in to the sdat console</h1>\n"
               "<form method=\"post\" action=\"/console/login\" id=\"login\" novalidate>\n"
               "<label for=\"name\">Your name</label>\n"
               "<p class=\"hint\" id=\"name-hint\">As it should appear in the audit log, "
               "up to 80 characters.</p>\n");
    if (error && strcmp(error_field, "name") == 0) {
        cb_raw(&b, "<p class=\"error-message\" id=\"name-error\">");
        cb_esc(&b, error);
        cb_raw(&b, "</p>\n");
    }
    cb_raw(&b, "<input type=\"text\" id=\"name\" name=\"name\" maxlength=\"80\" "
               "autocomplete=\"name\" aria-describedby=\"name-hint\" value=\"");
    cb_esc(&b, name);
    cb_raw(&b, "\">\n<label for=\"token\">Token</label>\n"
               "<p class=\"hint\" id=\"token-hint\">The API token your administrator gave "
               "you.</p>\n<input type=\"password\" id=\"token\" name=\"token\" "
               "autocomplete=\"off\" aria-describedby=\"token-hint\">\n"
               "<button type=\"submit\">Log in</button>\n</form>\n");
    console_page(ret, status, NULL, "Log in", &b);
    cb_free(&b);
}

void console_get_root(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    if (console_available(http, req, ret)) {
        console_redirect(ret, "/console/");
    }
}

void console_get_login(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    if (console_available(http, req, ret)) {
        login_form(ret, 200, NULL, NULL, NULL);
    }
}

/* 1–80 characters of valid UTF-8 without control characters (C0, DEL,
 * C1). */
static bool name_valid(const char *s)
{
    size_t chars = 0;
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned c = *p;
        size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
        if (n == 0) {
            return false;
        }
        unsigned cp = n == 1 ? c : c & (0x7f >> n);
        for (size_t i = 1; i < n; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return false;
            }
            cp = (cp << 6) | (p[i] & 0x3f);
        }
        if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || (n == 2 && cp < 0x80) ||
            (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp < 0xe000) || cp == 0x2028 || cp == 0x2029) {
            return false;
        }
        p += n;
        chars++;
    }
    return chars >= 1 && chars <= CONSOLE_NAME_MAX_CHARS;
}

void console_post_login(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    if (!console_available(http, req, ret)) {
        return;
    }
    char addr[64];
    client_addr(req, addr);
    struct console_state *cs = http_console_state(http);
    int64_t now = sdat_time_mono_ms();
    if (console_login_limited(cs, addr, now)) {
        console_message(ret, 429, NULL, "Too many attempts",
                        "There were more than 5 failed logins from this address in the last "
                        "minute. Wait a minute and try again.");
        return;
    }
    char name[CONSOLE_NAME_MAX_CHARS * 4 + 8] = "", token[512] = "";
    bool has_name = console_form_field(req->body, "name", name, sizeof name);
    bool has_token = console_form_field(req->body, "token", token, sizeof token);
    if (!has_name || !name_valid(name)) {
        login_form(ret, 400, "name", "Enter your name, 1 to 80 characters without control "
                                     "characters", NULL);
        OPENSSL_cleanse(token, sizeof token);
        return;
    }
    const struct http_token *t =
        has_token && token[0] ? http_token_match(req->conf, token, strlen(token)) : NULL;
    OPENSSL_cleanse(token, sizeof token);
    unsigned roles = t ? t->roles & (SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR) : 0;
    if (t && (t->roles & SDAT_ROLE_ACK) && t->recipients.n > 0) {
        roles |= SDAT_ROLE_ACK; /* the inbox of its recipients */
    }
    if (!t || (!roles && !(t->roles & SDAT_ROLE_ACK))) {
        console_login_failed(cs, addr, now);
        log_info("http", "console login refused");
        login_form(ret, 401, "token", "Name or token not recognised", name);
        return;
    }
    if (!roles) {
        /* An ack token narrowed to no recipient covers every notification:
         * an inbox of everything is the operator's, not a recipient's. */
        console_message(ret, 403, NULL, "This token has no inbox",
                        "This token acknowledges notifications but is not narrowed to "
                        "recipients, so it has no inbox in the console. Ask your "
                        "administrator for a token for your recipients.");
        return;
    }
    char cookie[65];
    if (console_session_new(cs, name, t->name, roles, now, cookie) < 0) {
        console_message(ret, 503, NULL, "Try again later", "A session could not be started.");
        return;
    }
    log_info("http", "console login token=%s", t->name);
    console_redirect(ret, "/console/");
    snprintf(ret->cookie, sizeof ret->cookie,
             CONSOLE_COOKIE "=%s; Path=/console/; Max-Age=28800; HttpOnly; SameSite=Strict%s",
             cookie, http_tls(http) ? "; Secure" : "");
    OPENSSL_cleanse(cookie, sizeof cookie);
}

void console_post_logout(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR | SDAT_ROLE_ACK,
                       &ctx)) {
        return;
    }
    console_session_end(http_console_state(http), ctx.cookie);
    console_redirect(ret, "/console/login");
    snprintf(ret->cookie, sizeof ret->cookie,
             CONSOLE_COOKIE "=; Path=/console/; Max-Age=0; HttpOnly; SameSite=Strict%s",
             http_tls(http) ? "; Secure" : "");
}

/* ---- today ---- */

static void count_item(struct cbuf *b, const char *key, const char *label, int64_t n,
                       const char *link)
{
    cb_raw(b, "<div><dt>");
    if (link) {
        cb_raw(b, "<a href=\"");
        cb_raw(b, link);
        cb_raw(b, "\">");
    }
    cb_raw(b, label);
    if (link) {
        cb_raw(b, "</a>");
    }
    cb_printf(b, "</dt><dd data-count=\"%s\">%lld</dd></div>\n", key, (long long)n);
}

void console_get_today(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR | SDAT_ROLE_ACK,
                       &ctx)) {
        return;
    }
    if (!(ctx.sess.roles & SDAT_ROLE_OPERATOR)) {
        /* Where every login lands: the pages of the other roles. */
        if (ctx.sess.roles & SDAT_ROLE_AUDITOR) {
            struct cbuf b = {0};
            cb_raw(&b, "<h1>Information governance</h1>\n<ul id=\"pages\">\n"
                       "<li><a href=\"/console/children\">Children</a>: find a child and see "
                       "the subject access report</li>\n<li><a href=\"/console/audit\">Audit "
                       "log</a>: the chain's head, its checkpoints, and verify it now</li>\n"
                       "</ul>\n");
            console_page(ret, 200, &ctx, "Information governance", &b);
            cb_free(&b);
        } else {
            console_redirect(ret, "/console/inbox");
        }
        return;
    }
    ctx.title = "Today";
    sdat_store_t *st = http_store_get(http);
    struct sdat_console_counts c;
    int64_t children = 0;
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        r = sdat_store_console_counts(st, sdat_time_now_ms(), &c);
        /* The writer's count (kept current by every register change and
         * published once a second): a reader's own would count a million
         * rows on its first use and then go stale. */
        double gauge = 0;
        if (r == 0 && sdat_metrics_gauge_get(SDAT_M_REGISTER_CHILDREN, &gauge)) {
            children = (int64_t)gauge;
        } else if (r == 0) {
            r = sdat_store_child_count(st, &children);
        }
        sdat_store_read_end(st);
    }
    http_store_put(http, st);
    if (r < 0) {
        console_message(ret, 503, &ctx, "Try again later", "The store cannot be read now.");
        return;
    }
    struct cbuf b = {0};
    char flash[512];
    console_session_take_flash(http_console_state(http), ctx.cookie, flash, sizeof flash);
    if (flash[0]) {
        cb_raw(&b, flash);
    }
    cb_raw(&b, "<h1>Today</h1>\n<dl id=\"counts\">\n");
    count_item(&b, "reviews", "Open reviews", c.reviews, "/console/reviews");
    count_item(&b, "scheduled", "Scheduled", c.scheduled, "/console/notifications?state=scheduled");
    count_item(&b, "pending", "Pending", c.pending, "/console/notifications?state=pending");
    count_item(&b, "failed", "Failed", c.failed, "/console/notifications?state=failed");
    count_item(&b, "unacknowledged", "Unacknowledged", c.unacknowledged,
               "/console/notifications?state=unacknowledged");
    count_item(&b, "dead_letters", "Dead letters", c.dead_letters, "/console/dead-letters");
    count_item(&b, "circuits_open", "Circuits open",
               (int64_t)sdat_metrics_gauge_nonzero(SDAT_M_CIRCUIT_OPEN), NULL);
    cb_raw(&b, "</dl>\n<h2>The daemon</h2>\n<dl class=\"facts\" id=\"status\">\n<dt>Ready</dt><dd "
               "id=\"ready\">");
    bool ready = false;
    json_t *doc = http_readiness(http, &ready);
    if (ready) {
        cb_raw(&b, "Yes");
    } else {
        cb_raw(&b, "No: ");
        size_t i;
        json_t *reason;
        json_array_foreach (json_object_get(doc, "reasons"), i, reason) {
            cb_raw(&b, i ? ", " : "");
            cb_esc(&b, json_string_value(reason));
        }
    }
    json_decref(doc);
    cb_printf(&b, "</dd>\n<dt>Register</dt><dd>%lld children</dd>\n<dt>Next release</dt><dd>",
              (long long)children);
    if (c.next_release_ms > 0) {
        cb_time(&b, c.next_release_ms);
    } else {
        cb_raw(&b, "nothing scheduled");
    }
    cb_raw(&b, "</dd>\n</dl>\n");
    console_page(ret, 200, &ctx, "Today", &b);
    cb_free(&b);
}
