/* Building the console's pages: a growing buffer whose every value from
 * input or the store goes through cb_esc, the frame every page shares, the
 * stylesheet compiled in and served under a name with its hash, and the
 * parsing of form bodies (console.md "Principles"). */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "console_internal.h"
#include "util/util.h"

/* ---- the buffer ---- */

static void cb_put(struct cbuf *b, const char *s, size_t n)
{
    if (!b->failed && !sdat_text_append(&b->p, &b->len, &b->cap, s, n)) {
        b->failed = true;
    }
}

void cb_raw(struct cbuf *b, const char *s)
{
    cb_put(b, s, strlen(s));
}

void cb_esc(struct cbuf *b, const char *s)
{
    if (!s) {
        return;
    }
    const char *run = s;
    for (; *s; s++) {
        const char *entity = NULL;
        switch (*s) {
        case '&':
            entity = "&amp;";
            break;
        case '<':
            entity = "&lt;";
            break;
        case '>':
            entity = "&gt;";
            break;
        case '"':
            entity = "&quot;";
            break;
        case '\'':
            entity = "&#39;";
            break;
        default:
            continue;
        }
        cb_put(b, run, (size_t)(s - run));
        cb_raw(b, entity);
        run = s + 1;
    }
    cb_put(b, run, (size_t)(s - run));
}

void cb_printf(struct cbuf *b, const char *fmt, ...)
{
    char small[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = true;
        return;
    }
    if ((size_t)n < sizeof small) {
        cb_put(b, small, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        b->failed = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    cb_put(b, big, (size_t)n);
    free(big);
}

void cb_time(struct cbuf *b, int64_t ms)
{
    if (ms <= 0) {
        cb_raw(b, "–");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    char s[40];
    gmtime_r(&t, &tm);
    strftime(s, sizeof s, "%Y-%m-%d %H:%M UTC", &tm);
    cb_raw(b, s);
}

void cb_duration(struct cbuf *b, int64_t seconds)
{
    if (seconds < 0) {
        seconds = 0;
    }
    if (seconds >= 86400) {
        cb_printf(b, "%lld d %lld h", (long long)(seconds / 86400),
                  (long long)(seconds % 86400 / 3600));
    } else if (seconds >= 3600) {
        cb_printf(b, "%lld h %lld min", (long long)(seconds / 3600),
                  (long long)(seconds % 3600 / 60));
    } else if (seconds >= 60) {
        cb_printf(b, "%lld min", (long long)(seconds / 60));
    } else {
        cb_printf(b, "%lld s", (long long)seconds);
    }
}

void cb_free(struct cbuf *b)
{
    free(b->p);
    *b = (struct cbuf){0};
}

void cb_table_end(struct cbuf *b, struct cbuf *rows, size_t n, const char *empty_id,
                  const char *empty_text)
{
    if (rows->p) {
        cb_raw(b, rows->p);
    }
    b->failed |= rows->failed;
    cb_free(rows);
    cb_raw(b, "</tbody>\n</table>\n");
    if (n == 0) {
        cb_printf(b, "<p id=\"%s\">%s</p>\n", empty_id, empty_text);
    }
}

/* ---- the stylesheet ---- */

/* Plain and calm (GOV.UK's colours: text #0b0c0c on white, 19.4:1; links
 * #1d70b8, 5.2:1; focus a yellow #fd0 band with a black underline), one
 * column that reads at 320 px. */
static const char stylesheet[] =
    "*,*::before,*::after{box-sizing:border-box}\n"
    "html{font-family:system-ui,-apple-system,\"Segoe UI\",Arial,sans-serif;font-size:100%;"
    "line-height:1.5;color:#0b0c0c;background:#fff}\n"
    "body{margin:0}\n"
    ".skip{position:absolute;left:-9999px}\n"
    ".skip:focus{position:static;display:block;padding:.5rem 1rem}\n"
    "header{background:#0b0c0c;color:#fff;padding:.5rem 1rem;display:flex;flex-wrap:wrap;"
    "gap:.5rem 1.5rem;align-items:center}\n"
    "header .service{font-weight:700;font-size:1.125rem;color:#fff;text-decoration:none}\n"
    "header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}\n"
    "header nav a{color:#fff}\n"
    "header nav a[aria-current]{font-weight:700}\n"
    "header .who{margin-left:auto;display:flex;gap:.75rem;align-items:center;flex-wrap:wrap}\n"
    "header .who button{background:#fff;color:#0b0c0c;border:2px solid #fff;box-shadow:none}\n"
    "main{max-width:60rem;margin:0 auto;padding:1rem}\n"
    "h1{font-size:2rem;line-height:1.2;margin:.5rem 0 1.5rem}\n"
    "h2{font-size:1.5rem;margin:2rem 0 1rem}\n"
    "a{color:#1d70b8}\n"
    "a:visited{color:#4c2c92}\n"
    "a:focus,button:focus,input:focus,select:focus,textarea:focus,summary:focus{outline:3px "
    "solid #fd0;outline-offset:0;background-color:#fd0;color:#0b0c0c;box-shadow:0 4px #0b0c0c}\n"
    "label,legend{display:block;font-weight:700;margin:1rem 0 .25rem}\n"
    "fieldset{border:0;padding:0;margin:0}\n"
    ".radio{display:flex;gap:.5rem;align-items:center;margin:.25rem 0}\n"
    ".radio label{font-weight:400;margin:0}\n"
    "input[type=text],input[type=password],textarea,select{font:inherit;width:100%;"
    "max-width:30rem;padding:.4rem;border:2px solid #0b0c0c;border-radius:0}\n"
    "input[type=radio]{width:1.5rem;height:1.5rem;margin:0}\n"
    "textarea{min-height:5rem}\n"
    "button{font:inherit;font-weight:700;background:#00703c;color:#fff;border:2px solid "
    "transparent;padding:.5rem 1rem;margin:1rem 0;cursor:pointer;box-shadow:0 2px #002d18}\n"
    "button.secondary{background:#f3f2f1;color:#0b0c0c;box-shadow:0 2px #929191}\n"
    ".hint{color:#505a5f;margin:0 0 .25rem}\n"
    ".error-summary{border:5px solid #d4351c;padding:1rem;margin:0 0 1.5rem}\n"
    ".error-summary h2{margin-top:0;font-size:1.25rem}\n"
    ".error-message{color:#d4351c;font-weight:700;margin:0 0 .25rem}\n"
    ".banner{border:5px solid #00703c;padding:1rem;margin:0 0 1.5rem}\n"
    "table{border-collapse:collapse;width:100%;margin:0 0 1.5rem;display:block;overflow-x:auto}\n"
    "caption{text-align:left;font-weight:700;font-size:1.25rem;padding:0 0 .5rem}\n"
    "th,td{text-align:left;vertical-align:top;padding:.5rem 1rem .5rem 0;border-bottom:1px "
    "solid #b1b4b6}\n"
    "dl#counts{display:grid;grid-template-columns:repeat(auto-fill,minmax(9rem,1fr));gap:1rem;"
    "margin:0 0 1.5rem}\n"
    "dl#counts div{border-left:5px solid #1d70b8;padding:.25rem .75rem}\n"
    "dl#counts dt{font-weight:400}\n"
    "dl#counts dd{margin:0;font-size:2rem;font-weight:700}\n"
    "dl.facts{display:grid;grid-template-columns:minmax(8rem,max-content) 1fr;gap:.25rem 1rem}\n"
    "dl.facts dt{font-weight:700}\n"
    "dl.facts dd{margin:0}\n"
    "pre{white-space:pre-wrap;overflow-wrap:anywhere;background:#f3f2f1;padding:1rem}\n"
    ".letter{overflow-wrap:anywhere;border-left:4px solid #b1b4b6;padding:0 1rem;max-width:40rem}\n"
    ".letter dt{font-weight:bold;margin-top:.4rem}.letter dd{margin:0}\n"
    ".letter footer{font-size:.85rem;color:#505a5f}\n"
    "header nav a:visited,header .service:visited{color:#fff}\n"
    "td code,h1,dl.facts dd,.banner,.error-summary{overflow-wrap:anywhere}\n"
    "form.replay button{margin:0}\n"
    "@media print{header,form,.skip{display:none}main{max-width:none}}\n"
    /* The subject access report on paper: black text, every column, rows
     * not split across pages, links as plain text. */
    "@media print{html{font-size:11pt}table{display:table;overflow:visible}"
    "a,a:visited{color:#0b0c0c;text-decoration:none}tr,dl{break-inside:avoid}"
    "h2{break-after:avoid}code{word-break:break-all}}\n"
    "code{font-family:ui-monospace,monospace;font-size:.9em;word-break:break-all}\n"
    ".field{margin:0 0 .5rem}\n";

static pthread_once_t style_once = PTHREAD_ONCE_INIT;
static char style_path[64];

static void style_init(void)
{
    char hex[SDAT_SHA256_HEX_LEN + 1];
    sdat_sha256_hex(stylesheet, sizeof stylesheet - 1, hex);
    snprintf(style_path, sizeof style_path, "/console/static/console-%.16s.css", hex);
}

const char *console_stylesheet_path(void)
{
    pthread_once(&style_once, style_init);
    return style_path;
}

/* GET /console/static/NAME: the stylesheet under its hashed name (a new
 * build with another stylesheet has another name, so it may be kept for a
 * year). No session: the login page needs it. */
void console_get_static(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    (void)http;
    const char *path = console_stylesheet_path();
    const char *name = path + strlen("/console/static/");
    ret->console = true;
    if (strcmp(req->id, name) != 0) {
        http_text(ret, 404, "text/plain; charset=utf-8", "not found");
        return;
    }
    http_text(ret, 200, "text/css; charset=utf-8", stylesheet);
}

/* ---- the frame ---- */

static const char html_type[] = "text/html; charset=utf-8";

void cb_csrf(struct cbuf *b, const struct console_ctx *ctx)
{
    cb_raw(b, "<input type=\"hidden\" name=\"csrf\" value=\"");
    cb_esc(b, ctx->sess.csrf);
    cb_raw(b, "\">\n");
}

struct nav_item {
    const char *path, *label;
    unsigned roles;
};

/* The pages of this version (docs/CONSOLE.md says which are still to come). */
static const struct nav_item nav[] = {
    {"/console/", "Today", SDAT_ROLE_OPERATOR},
    {"/console/reviews", "Reviews", SDAT_ROLE_OPERATOR},
    {"/console/notifications", "Notifications", SDAT_ROLE_OPERATOR},
    {"/console/dead-letters", "Dead letters", SDAT_ROLE_OPERATOR},
    {"/console/children", "Children", SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR},
    {"/console/audit", "Audit", SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR},
    {"/console/inbox", "Inbox", SDAT_ROLE_ACK},
};

void console_page(struct http_answer *ret, unsigned status, const struct console_ctx *ctx,
                  const char *title, struct cbuf *body)
{
    struct cbuf b = {0};
    bool session = ctx && ctx->sess.csrf[0];
    cb_raw(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
               "<meta name=\"referrer\" content=\"no-referrer\">\n<title>");
    cb_esc(&b, title);
    cb_raw(&b, " – sdat console</title>\n<link rel=\"stylesheet\" href=\"");
    cb_raw(&b, console_stylesheet_path());
    cb_raw(&b, "\">\n</head>\n<body>\n<a class=\"skip\" href=\"#main\">Skip to main content</a>\n"
               "<header>\n<a class=\"service\" href=\"/console/\">sdat console</a>\n");
    if (session) {
        cb_raw(&b, "<nav aria-label=\"Pages\"><ul>\n");
        for (size_t i = 0; i < sizeof nav / sizeof nav[0]; i++) {
            if (!(ctx->sess.roles & nav[i].roles)) {
                continue;
            }
            cb_raw(&b, "<li><a href=\"");
            cb_raw(&b, nav[i].path);
            cb_raw(&b, "\"");
            if (ctx->title && strcmp(ctx->title, nav[i].label) == 0) {
                cb_raw(&b, " aria-current=\"page\"");
            }
            cb_raw(&b, ">");
            cb_raw(&b, nav[i].label);
            cb_raw(&b, "</a></li>\n");
        }
        cb_raw(&b, "</ul></nav>\n<div class=\"who\"><span id=\"who\">");
        cb_esc(&b, ctx->sess.name);
        cb_raw(&b, "</span>\n<form method=\"post\" action=\"/console/logout\">\n");
        cb_csrf(&b, ctx);
        cb_raw(&b, "<button type=\"submit\" id=\"logout\">Log out</button>\n</form></div>\n");
    }
    cb_raw(&b, "</header>\n<main id=\"main\">\n");
    if (body) {
        cb_put(&b, body->p ? body->p : "", body->len);
        b.failed |= body->failed;
    }
    cb_raw(&b, "</main>\n</body>\n</html>\n");
    if (b.failed) {
        cb_free(&b);
        http_text(ret, 500, "text/plain; charset=utf-8", "out of memory");
        ret->console = true;
        return;
    }
    free(ret->body);
    ret->status = status;
    ret->body = b.p;
    ret->len = b.len;
    ret->content_type = html_type;
    ret->console = true;
}

void console_redirect(struct http_answer *ret, const char *location)
{
    free(ret->body);
    ret->body = NULL;
    ret->len = 0;
    ret->status = 303;
    ret->content_type = NULL;
    ret->console = true;
    snprintf(ret->location, sizeof ret->location, "%s", location);
}

void console_message(struct http_answer *ret, unsigned status, const struct console_ctx *ctx,
                     const char *title, const char *text)
{
    struct cbuf b = {0};
    cb_raw(&b, "<h1>");
    cb_esc(&b, title);
    cb_raw(&b, "</h1>\n<p>");
    cb_esc(&b, text);
    cb_raw(&b, "</p>\n");
    console_page(ret, status, ctx, title, &b);
    cb_free(&b);
}

/* ---- form bodies ---- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes s[0..n) (+ is a space, %XX a byte) into out. */
static bool form_decode(const char *s, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '+') {
            c = ' ';
        } else if (c == '%') {
            if (i + 2 >= n) {
                return false;
            }
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) {
                return false;
            }
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= outlen) {
            return false;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return true;
}

bool console_form_field(const char *body, const char *name, char *out, size_t outlen)
{
    size_t name_len = strlen(name);
    const char *p = body ? body : "";
    while (*p) {
        size_t n = strcspn(p, "&");
        const char *eq = memchr(p, '=', n);
        if (eq && (size_t)(eq - p) == name_len && memcmp(p, name, name_len) == 0) {
            return form_decode(eq + 1, n - name_len - 1, out, outlen);
        }
        p += n;
        if (*p == '&') {
            p++;
        }
    }
    return false;
}

/* 1–max characters of text without control characters other than line
 * breaks and tabs: a reason or a name typed into a form. */
bool console_text_valid(const char *s, size_t max)
{
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\r' && *p != '\t') || *p == 0x7f) {
            return false;
        }
        chars += (*p & 0xc0) != 0x80;
    }
    return chars >= 1 && chars <= max;
}

/* s percent-encoded for a query string (unreserved characters kept), then
 * HTML-escaped for an attribute. */
void cb_query_value(struct cbuf *b, const char *s)
{
    char out[160 * 3 + 1]; /* a search field's longest (FILTER_MAX) */
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && o + 4 < sizeof out; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
            strchr("-._~", *p)) {
            out[o++] = (char)*p;
        } else {
            o += (size_t)snprintf(out + o, sizeof out - o, "%%%02X", *p);
        }
    }
    out[o] = '\0';
    cb_esc(b, out);
}
