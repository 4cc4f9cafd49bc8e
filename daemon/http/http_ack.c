/* The acknowledgement link's pages (interfaces.md: `GET /ack/ID?t=TOKEN` and
 * `POST /ack/ID?t=TOKEN`): the link in a notification's ack_url opens a
 * small page naming the notification id with a name field and an
 * "Acknowledge" button; the form posts back to the same URL and the
 * acknowledgement is recorded like the API's (sdat_engine_acknowledge,
 * audited as notification.acknowledged by the name given).
 *
 * TOKEN is the capability (ack.h): it is checked first, in constant time,
 * so that a page without a valid one says nothing about the id (403); then
 * an unknown notification is 404. The pages hold no personal data — not
 * even the name typed — and load nothing from elsewhere (http_request.c
 * sends them with a strict Content-Security-Policy and no referrer). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decide/decide.h"
#include "engine/engine.h"
#include "http_internal.h"

#define BY_MAX_CHARS 200

static const char html_type[] = "text/html; charset=utf-8";

/* Answers status with a whole page around body (HTML, trusted). */
static void page(struct http_answer *ret, unsigned status, const char *title, const char *body)
{
    char *html = NULL;
    int n = asprintf(&html,
                     "<!DOCTYPE html>\n"
                     "<html lang=\"en\">\n"
                     "<head>\n"
                     "<meta charset=\"utf-8\">\n"
                     "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                     "<meta name=\"referrer\" content=\"no-referrer\">\n"
                     "<title>%s</title>\n"
                     "<style>\n"
                     "body { font-family: system-ui, sans-serif; line-height: 1.5; color: #0b0c0c;"
                     " max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }\n"
                     "label { display: block; font-weight: bold; margin-top: 1rem; }\n"
                     "input { display: block; font-size: 1rem; padding: 0.4rem; margin: 0.25rem 0"
                     " 1rem; width: 100%%; max-width: 20rem; border: 2px solid #0b0c0c; }\n"
                     "button { font-size: 1rem; padding: 0.5rem 1.25rem; }\n"
                     "input:focus, button:focus { outline: 3px solid #fd0; }\n"
                     ".error { color: #b10e1e; font-weight: bold; }\n"
                     "</style>\n"
                     "</head>\n"
                     "<body>\n"
                     "<main>\n"
                     "%s"
                     "</main>\n"
                     "</body>\n"
                     "</html>\n",
                     title, body);
    if (n < 0) {
        http_error(ret, 500, "internal", "out of memory");
        return;
    }
    free(ret->body);
    ret->status = status;
    ret->body = html;
    ret->len = (size_t)n;
    ret->content_type = html_type;
}

/* Notification ids are n_ and 32 lowercase hex digits (ids.h): nothing
 * else is ever echoed into a page. */
static bool id_valid(const char *id)
{
    if (strncmp(id, "n_", 2) != 0 || strlen(id) != 34) {
        return false;
    }
    return strspn(id + 2, "0123456789abcdef") == 32;
}

static void not_valid(struct http_answer *ret)
{
    page(ret, 403, "This link is not valid",
         "<h1>This link is not valid</h1>\n"
         "<p>The link may be incomplete or may have been changed. Open it again from the "
         "notification you received, or contact the sender.</p>\n");
}

static void not_found(struct http_answer *ret)
{
    page(ret, 404, "Notification not found",
         "<h1>Notification not found</h1>\n"
         "<p>There is no such notification. Contact the sender.</p>\n");
}

static void unavailable(struct http_answer *ret)
{
    page(ret, 503, "Try again later",
         "<h1>Try again later</h1>\n"
         "<p>The acknowledgement cannot be recorded now. Try again in a few minutes.</p>\n");
}

static void form(struct http_answer *ret, unsigned status, const char *id, const char *token,
                 bool invalid_name)
{
    char title[256], body[2048];
    snprintf(title, sizeof title, "Acknowledge notification %s", id);
    snprintf(body, sizeof body,
             "<h1>Acknowledge a safeguarding notification</h1>\n"
             "<p>Notification <strong>%s</strong></p>\n"
             "<p>Acknowledging tells the sender that a person has received this notification "
             "and will act on it.</p>\n"
             "<form method=\"post\" action=\"%s?t=%s\">\n"
             "%s"
             "<label for=\"by\">Your name</label>\n"
             "<input type=\"text\" id=\"by\" name=\"by\" required maxlength=\"%d\" "
             "autocomplete=\"name\"%s>\n"
             "<button type=\"submit\">Acknowledge</button>\n"
             "</form>\n",
             id, id, token,
             invalid_name ? "<p id=\"by-error\" class=\"error\" role=\"alert\">Enter your name, "
                            "up to 200 characters.</p>\n"
                          : "",
             BY_MAX_CHARS,
             invalid_name ? " aria-invalid=\"true\" aria-describedby=\"by-error\"" : "");
    page(ret, status, title, body);
}

static void confirmation(struct http_answer *ret, const char *id)
{
    char title[256], body[768];
    snprintf(title, sizeof title, "Notification %s acknowledged", id);
    snprintf(body, sizeof body,
             "<h1>Acknowledged</h1>\n"
             "<p role=\"status\">Notification <strong>%s</strong> has been acknowledged. "
             "Thank you.</p>\n"
             "<p>You can close this page.</p>\n",
             id);
    page(ret, 200, title, body);
}

/* The id from the path and the token from the query, checked: false with
 * the page in ret when the link is not valid. */
static bool link_valid(struct http_request *req, struct http_answer *ret, const char **ret_token)
{
    const char *token = http_query(req, "t");
    struct sdat_ack_key key;
    char err[512];
    if (!req->conf->ack_key_file || !*req->conf->ack_key_file) {
        page(ret, 404, "Not available",
             "<h1>Not available</h1>\n"
             "<p>Acknowledgement links are not enabled on this service.</p>\n");
        return false;
    }
    /* Read each time: a reloaded key file takes effect at once. */
    if (sdat_ack_key_read(req->conf->ack_key_file, &key, err, sizeof err) < 0) {
        unavailable(ret);
        return false;
    }
    bool valid = sdat_ack_token_valid(&key, req->id, token);
    sdat_ack_key_clear(&key);
    if (!valid) {
        not_valid(ret);
        return false;
    }
    if (!id_valid(req->id)) {
        not_found(ret); /* a key holder's own token for a made-up id */
        return false;
    }
    *ret_token = token;
    return true;
}

struct state_copy {
    char state[16];
};

static int copy_state(const struct sdat_notification *n, void *opaque)
{
    struct state_copy *c = opaque;
    snprintf(c->state, sizeof c->state, "%s", n->state);
    return 0;
}

void http_ack_page_get(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    const char *token = NULL;
    if (!link_valid(req, ret, &token)) {
        return;
    }
    sdat_store_t *st = http_store_get(http);
    if (!st) {
        unavailable(ret);
        return;
    }
    struct state_copy c = {""};
    int r = sdat_store_notification_get(st, req->id, copy_state, &c);
    http_store_put(http, st);
    if (r == -ENOENT) {
        not_found(ret);
    } else if (r < 0) {
        unavailable(ret);
    } else if (strcmp(c.state, "acknowledged") == 0) {
        confirmation(ret, req->id);
    } else {
        form(ret, 200, req->id, token, false);
    }
}

static int hex_value(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Decodes one application/x-www-form-urlencoded value of len bytes into
 * out (NUL-terminated): false when malformed, too long or holding a NUL. */
static bool form_decode(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == '\0') {
            return false;
        }
        if (ch == '+') {
            ch = ' ';
        } else if (ch == '%') {
            int hi = i + 2 < len ? hex_value(in[i + 1]) : -1;
            int lo = i + 2 < len ? hex_value(in[i + 2]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return false; /* malformed, or a NUL byte */
            }
            ch = (char)(hi * 16 + lo);
            i += 2;
        }
        if (n + 1 >= outlen) {
            return false;
        }
        out[n++] = ch;
    }
    out[n] = '\0';
    return true;
}

/* Valid UTF-8 without control characters: 0 and its characters, or -1. */
static int text_chars(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    int chars = 0;
    while (*p) {
        size_t extra;
        unsigned cp;
        if (*p < 0x80) {
            cp = *p;
            extra = 0;
        } else if ((*p & 0xE0) == 0xC0) {
            cp = *p & 0x1F;
            extra = 1;
        } else if ((*p & 0xF0) == 0xE0) {
            cp = *p & 0x0F;
            extra = 2;
        } else if ((*p & 0xF8) == 0xF0) {
            cp = *p & 0x07;
            extra = 3;
        } else {
            return -1;
        }
        for (size_t k = 1; k <= extra; k++) {
            if ((p[k] & 0xC0) != 0x80) {
                return -1;
            }
            cp = (cp << 6) | (p[k] & 0x3F);
        }
        static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp < 0x20 ||
            (cp >= 0x7F && cp < 0xA0)) {
            return -1;
        }
        p += extra + 1;
        chars++;
    }
    return chars;
}

/* A name given as `by`, by the form or the API: copied to out without the
 * spaces and tabs around it; true with 1 to 200 characters of text (valid
 * UTF-8, no control characters). in and out may be the same. */
bool http_ack_by(const char *in, char *out, size_t outlen)
{
    while (*in == ' ' || *in == '\t') {
        in++;
    }
    size_t len = strlen(in);
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t')) {
        len--;
    }
    if (len >= outlen) {
        return false;
    }
    memmove(out, in, len);
    out[len] = '\0';
    int chars = text_chars(out);
    return chars >= 1 && chars <= BY_MAX_CHARS;
}

/* The form's `by` field, as http_ack_by takes it. */
static bool form_by(const char *body, size_t body_len, char *out, size_t outlen)
{
    const char *p = body, *end = body + body_len;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *field_end = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(field_end - p));
        if (eq && eq - p == 2 && strncmp(p, "by", 2) == 0) {
            return form_decode(eq + 1, (size_t)(field_end - eq - 1), out, outlen) &&
                   http_ack_by(out, out, outlen);
        }
        p = field_end + 1;
    }
    return false;
}

struct ack_link_job {
    const char *id, *by;
};

static int run_ack_link(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct ack_link_job *j = arg;
    return sdat_engine_acknowledge(e, j->id, j->by, now_ms);
}

void http_ack_page_post(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    const char *token = NULL;
    if (!link_valid(req, ret, &token)) {
        return;
    }
    const char *type =
        MHD_lookup_connection_value(req->connection, MHD_HEADER_KIND, "Content-Type");
    char by[HTTP_BY_MAX_BYTES];
    if (!type || strncasecmp(type, "application/x-www-form-urlencoded", 33) != 0 ||
        (type[33] != '\0' && type[33] != ';' && type[33] != ' ') ||
        !form_by(req->body ? req->body : "", req->body_len, by, sizeof by)) {
        form(ret, 400, req->id, token, true);
        return;
    }
    struct ack_link_job j = {.id = req->id, .by = by};
    int r = http_job(http, run_ack_link, &j);
    if (r >= 0) {
        confirmation(ret, req->id);
    } else if (r == -ENOENT) {
        not_found(ret);
    } else if (r == -EBUSY) {
        page(ret, 409, "Not delivered yet",
             "<h1>Not delivered yet</h1>\n"
             "<p>This notification has not been delivered, so it cannot be acknowledged yet. "
             "Try again later.</p>\n");
    } else {
        unavailable(ret);
    }
}
