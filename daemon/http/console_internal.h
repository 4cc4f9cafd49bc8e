/* Shared between the console's files only (console.md): console_html.c
 * (building pages: escaping, the frame, forms), console_session.c (the
 * sessions and the login rate limit) and console.c / console_reviews.c
 * (the pages). */
#ifndef SDAT_CONSOLE_INTERNAL_H
#define SDAT_CONSOLE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http_internal.h"

#define CONSOLE_NAME_MAX_CHARS 80
#define CONSOLE_REASON_MAX_CHARS 200
#define CONSOLE_ABSOLUTE_MS (8 * 3600 * 1000LL) /* a session ends 8 hours after login */
#define CONSOLE_SESSIONS_MAX 512
#define CONSOLE_FAILURES_MAX 5 /* login failures a minute from one address before 429 */
#define CONSOLE_COOKIE "sdat_console"

/* ---- a growing HTML buffer (console_html.c) ---- */

struct cbuf {
    char *p;
    size_t len, cap;
    bool failed; /* out of memory: the page answers 500 */
};

/* Trusted text: literals of the page itself. */
void cb_raw(struct cbuf *b, const char *s);
/* Any value from input, the store or the configuration: HTML-escaped
 * (& < > " ' become entities), so that it is text in an element or an
 * attribute value in double quotes. NULL writes nothing. */
void cb_esc(struct cbuf *b, const char *s);
/* printf for numbers and trusted literals only: never pass a value from
 * input or the store through %s here (use cb_esc). */
void cb_printf(struct cbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* An instant as "YYYY-MM-DD HH:MM UTC", or "–" for 0. */
void cb_time(struct cbuf *b, int64_t ms);
/* A duration in seconds as "3 h 5 min", "12 min", "40 s". */
void cb_duration(struct cbuf *b, int64_t seconds);
void cb_free(struct cbuf *b);
/* Ends a table whose <tbody> is open: the rows made in *rows (freed), the
 * closing tags, and when there were none (n == 0) the paragraph
 * <p id="EMPTY_ID">EMPTY_TEXT</p> (both trusted literals). */
/* 1–max characters (UTF-8) without control characters other than line
 * breaks and tabs: a reason or a name typed into a form. */
bool console_text_valid(const char *s, size_t max);
/* s (up to 160 characters) percent-encoded for a query string, then
 * HTML-escaped for an attribute. */
void cb_query_value(struct cbuf *b, const char *s);
void cb_table_end(struct cbuf *b, struct cbuf *rows, size_t n, const char *empty_id,
                  const char *empty_text);

/* ---- sessions (console_session.c) ---- */

/* A copy of a session's fields, for one request. */
struct console_session {
    char name[CONSOLE_NAME_MAX_CHARS * 4 + 1]; /* the person's name, as typed */
    char token_name[128];                      /* the token's name in the configuration */
    unsigned roles;
    char csrf[33]; /* 128 bits, hex */
    char flash[512]; /* a message for the next page (HTML, built by the console), or "" */
};

/* A new session: its cookie value (64 hex digits, 256 bits from
 * getrandom) in cookie. 0, or -ENOMEM / -EIO. */
int console_session_new(struct console_state *cs, const char *name, const char *token_name,
                        unsigned roles, int64_t now_ms, char cookie[65]);
/* The session of a cookie value, still valid at now_ms with idle_ms (its
 * last use becomes now): 0 and *ret, or -ENOENT. */
int console_session_find(struct console_state *cs, const char *cookie, int64_t now_ms,
                         int64_t idle_ms, struct console_session *ret);
void console_session_end(struct console_state *cs, const char *cookie);
/* Leaves a message for the session's next page (HTML, trusted). */
void console_session_flash(struct console_state *cs, const char *cookie, const char *html);
/* Takes the message (one page shows it). */
void console_session_take_flash(struct console_state *cs, const char *cookie, char *out,
                                size_t outlen);
/* Login failures from addr: true when more than CONSOLE_FAILURES_MAX came
 * in the last minute (answer 429 and do not check the token). */
bool console_login_limited(struct console_state *cs, const char *addr, int64_t now_ms);
void console_login_failed(struct console_state *cs, const char *addr, int64_t now_ms);

/* ---- requests (console.c) ---- */

/* What a console handler knows after its checks. */
struct console_ctx {
    struct console_session sess;
    char cookie[65];
    const char *title;
};

/* The checks every page makes: the console is enabled (else 404), the
 * listener may carry it (else 503), a session (else 303 to the login),
 * a role in roles (else 403) and, for a POST, the csrf field (else 403).
 * false with ret answered. */
bool console_begin(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                   unsigned roles, struct console_ctx *ctx);
/* A form field of an application/x-www-form-urlencoded body, decoded into
 * out (NUL-terminated): true, or false when absent, too long or holding a
 * NUL. */
bool console_form_field(const char *body, const char *name, char *out, size_t outlen);
/* Answers status with the page: the frame (head, the stylesheet, the
 * navigation with the person's name and a logout button when ctx has a
 * session) around body. title is trusted text. */
void console_page(struct http_answer *ret, unsigned status, const struct console_ctx *ctx,
                  const char *title, struct cbuf *body);
/* 303 to location (a trusted path). */
void console_redirect(struct http_answer *ret, const char *location);
/* A page that says what went wrong (403, 404, 409, 503 …). */
void console_message(struct http_answer *ret, unsigned status, const struct console_ctx *ctx,
                     const char *title, const char *text);
/* The hashed stylesheet's path (/console/static/console-HASH.css). */
const char *console_stylesheet_path(void);
/* The CSRF field for a form of this session. */
void cb_csrf(struct cbuf *b, const struct console_ctx *ctx);
/* The recipients the session's token is narrowed to now (console_inbox.c),
 * or NULL: not narrowed, or the token is gone. */
const struct sdat_strv *console_recipients_of(const struct http_request *req,
                                              const struct console_ctx *ctx);
/* The Acknowledge form of one notification (POST /console/inbox/ID). */
void console_ack_form(struct cbuf *b, const struct console_ctx *ctx, const char *id);

#endif
