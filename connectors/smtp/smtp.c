/* The smtp connector (delivery.md): one message per delivery, sent with
 * libcurl's multi interface so that deliveries run concurrently.
 *
 * TLS is required: smtp:// is upgraded with STARTTLS and smtps:// is TLS
 * from the first byte; a server that does not offer STARTTLS is a retry,
 * never a plain-text send. Peer and host verification are always on;
 * ca_file adds a trust anchor beside the system store.
 *
 * The message is raw RFC 5322 text built here (exact control of every
 * header): a Subject without personal data, Message-ID <notification_id@sdat>,
 * and the letter a person reads (delivery.md "What a person reads", rendered
 * by the core: sdat_delivery's letter_* and link_*) as multipart/alternative,
 * a text/plain and a text/html part (quoted-printable). With content =
 * "full" (the default) that is inside multipart/mixed with the JSON itself
 * as an application/json attachment (base64); with content = "link" it is
 * the whole message and says only that a notification waits in the
 * console: no personal data at all.
 *
 * Every smtp context shares one CURLM, so a poll on any context drives and
 * completes every context's deliveries (connector.h allows it). The core
 * calls a connector from one thread; nothing here is locked. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "outbox/connector.h"
#include "transfer/curl_shared.h"
#include "util/util.h"

#define SMTP_DEFAULT_TIMEOUT_S 15.0 /* config_table.c's default for `timeout` */
#define SMTP_SYSTEM_CAPATH "/etc/ssl/certs"

struct smtp_ctx {
    const struct sdat_connector_recipient *recipient; /* borrowed; outlives the context */
    const char *user_agent;                 /* borrowed from the env, or NULL */
    char *password;                         /* owned; wiped on destroy */
    size_t password_len;
    struct curl_slist *rcpt; /* owned; every `to`, read by curl during transfers */
    char *to_header;         /* owned; the To: field body, folded */
    long timeout_ms;
    struct sdat_curl_client client; /* the shared loop and this context's jobs */
};

/* One delivery in flight. Owns its message; base owns the easy handle. */
struct smtp_job {
    struct sdat_curl_transfer base;
    struct smtp_ctx *ctx;
    char *message;
    size_t message_len, sent;
};

static struct sdat_curl_shared shared;

/* ---- text buffers ---- */

struct buf {
    char *data;
    size_t len, cap;
    bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
    if (!b->failed && !sdat_text_append(&b->data, &b->len, &b->cap, s, n)) {
        b->failed = true;
    }
}

static void buf_puts(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void buf_printf(struct buf *b, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line) {
        b->failed = true;
        return;
    }
    buf_add(b, line, (size_t)n);
}

/* ---- checks ---- */

static bool has(const char *s)
{
    return s && s[0];
}

/* A bare ASCII address local@domain: it goes into MAIL FROM / RCPT TO and
 * into the From: and To: headers as it is, so nothing that could end a
 * command or a header, or need encoding, is allowed. */
static bool valid_address(const char *a)
{
    const char *at = strrchr(a, '@');
    if (!at || at == a || !at[1] || strlen(a) > 254) {
        return false;
    }
    for (const unsigned char *p = (const unsigned char *)a; *p; p++) {
        if (*p <= 0x20 || *p >= 0x7f || strchr("<>,;:\"()\\", *p)) {
            return false;
        }
    }
    return true;
}

struct smtp_conf {
    char *url;
    char *from;
    struct sdat_strv to;
    char *username;
    char *password_file;
    char *ca_file;
    double timeout;
    char *content; /* "full" (NULL: the default) or "link" */
};

static const struct sdat_key smtp_keys[] = {
    SDAT_KEY_S("url", struct smtp_conf, url, 0, "smtp:// or smtps:// URL"),
    SDAT_KEY_S("from", struct smtp_conf, from, 0, "sender address"),
    SDAT_KEY_V("to", struct smtp_conf, to, 0, "recipient addresses"),
    SDAT_KEY_S("username", struct smtp_conf, username, 0, "user name"),
    SDAT_KEY_S("password_file", struct smtp_conf, password_file, SDAT_KEY_FILE | SDAT_KEY_SECRET,
               "password (a secret file)"),
    SDAT_KEY_S("ca_file", struct smtp_conf, ca_file, SDAT_KEY_FILE, "an extra trust anchor"),
    SDAT_KEY_S("content", struct smtp_conf, content, 0,
               "full (default: the letter and the JSON attached) or link (no personal data: a "
               "link to the console)"),
    SDAT_KEY_N("timeout", struct smtp_conf, timeout, 0, "15", 1, 600,
               "time allowed for one delivery attempt (s)"),
    SDAT_KEY_END,
};

static const struct sdat_key_table smtp_table = SDAT_KEY_TABLE("smtp", struct smtp_conf, smtp_keys);

/* The url's problems, each reported (the url itself is quoted only where
 * it cannot hold a password). */
static int check_url(const char *url, sdat_key_report_fn report, void *opaque)
{
    const char *host = NULL;
    int problems = 0;
    if (!has(url)) {
        report(opaque, "url", "is required for the smtp connector");
        return 1;
    }
    if (strncasecmp(url, "smtp://", 7) == 0) {
        host = url + 7;
    } else if (strncasecmp(url, "smtps://", 8) == 0) {
        host = url + 8;
    } else {
        report(opaque, "url", "must be smtp:// (STARTTLS) or smtps://");
        return 1;
    }
    size_t authority = strcspn(host, "/?#");
    /* Not quoted: the url may hold a password here. */
    if (memchr(host, '@', authority)) {
        report(opaque, "url", "must not carry credentials (use username and password_file)");
        problems++;
    } else if (authority == 0) {
        report(opaque, "url", "\"%s\" has no host", url);
        problems++;
    }
    for (const unsigned char *p = (const unsigned char *)url; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f) {
            report(opaque, "url", "must not contain spaces or control characters");
            problems++;
            break;
        }
    }
    return problems;
}

/* Every problem with the recipient's keys (the files are the core's). */
static int check_keys(const struct sdat_connector_recipient *recipient, sdat_key_report_fn report,
                      void *opaque)
{
    const struct smtp_conf *conf = recipient->conf;
    int problems = check_url(conf->url, report, opaque);

    if (!has(conf->from)) {
        report(opaque, "from", "is required for the smtp connector");
        problems++;
    } else if (!valid_address(conf->from)) {
        report(opaque, "from", "\"%s\" is not an address (local@domain, ASCII)", conf->from);
        problems++;
    }
    if (conf->to.n == 0) {
        report(opaque, "to", "at least one address is required for the smtp connector");
        problems++;
    }
    for (size_t i = 0; i < conf->to.n; i++) {
        if (!valid_address(conf->to.v[i])) {
            report(opaque, "to", "\"%s\" is not an address (local@domain, ASCII)",
                   conf->to.v[i]);
            problems++;
        }
    }
    if (has(conf->content) && strcmp(conf->content, "full") != 0 &&
        strcmp(conf->content, "link") != 0) {
        report(opaque, "content", "\"%s\" is not full or link", conf->content);
        problems++;
    }
    if (has(conf->username) && !has(conf->password_file)) {
        report(opaque, "password_file", "is required with username");
        problems++;
    }
    if (has(conf->password_file) && !has(conf->username)) {
        report(opaque, "username", "is required with password_file");
        problems++;
    }
    return problems ? -EINVAL : 0;
}

/* ---- the message (pure functions of their inputs) ---- */

/* Notification ids and kinds go into headers and a file name unquoted. */
static bool header_safe(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > 128) {
        return false;
    }
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._:-") == n;
}

/* RFC 5322 date-time in UTC, independent of the locale. */
static void format_date(time_t now, char *out, size_t len)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    struct tm tm;
    gmtime_r(&now, &tm);
    snprintf(out, len, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7], tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Quoted-printable (RFC 2045 6.7): LF (or CRLF) in s ends a line; output
 * lines end in CRLF and are at most 76 characters with soft breaks. A dot
 * opening a line is encoded so that no transport has to stuff it. */
static void qp_encode(struct buf *out, const char *s, size_t n)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            buf_add(out, "\r\n", 2);
            col = 0;
            continue;
        }
        if (c == '\r' && i + 1 < n && s[i + 1] == '\n') {
            continue;
        }
        bool line_end =
            i + 1 == n || s[i + 1] == '\n' || (s[i + 1] == '\r' && i + 2 < n && s[i + 2] == '\n');
        char token[4];
        size_t token_len;
        for (int pass = 0; pass < 2; pass++) {
            bool literal = (c >= 33 && c <= 126 && c != '=' && !(c == '.' && col == 0)) ||
                           ((c == ' ' || c == '\t') && !line_end);
            if (literal) {
                token[0] = (char)c;
                token_len = 1;
            } else {
                snprintf(token, sizeof token, "=%02X", c);
                token_len = 3;
            }
            if (col + token_len <= 75) {
                break;
            }
            buf_add(out, "=\r\n", 3);
            col = 0;
        }
        buf_add(out, token, token_len);
        col += token_len;
    }
    if (col > 0) {
        buf_add(out, "\r\n", 2);
    }
}

/* Base64 (RFC 2045 6.8) in lines of 76 characters ending in CRLF. */
static void base64_encode(struct buf *out, const unsigned char *s, size_t n)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t col = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)s[i] << 16;
        if (i + 1 < n) {
            v |= (uint32_t)s[i + 1] << 8;
        }
        if (i + 2 < n) {
            v |= s[i + 2];
        }
        char quad[4] = {alphabet[(v >> 18) & 63], alphabet[(v >> 12) & 63],
                        i + 1 < n ? alphabet[(v >> 6) & 63] : '=',
                        i + 2 < n ? alphabet[v & 63] : '='};
        buf_add(out, quad, 4);
        col += 4;
        if (col == 76) {
            buf_add(out, "\r\n", 2);
            col = 0;
        }
    }
    if (col > 0) {
        buf_add(out, "\r\n", 2);
    }
}

/* The text part when the core could not render the letter (a payload that
 * is not a notification): what this is, the ids, and the document's fields
 * (pretty-printed; the raw payload if it does not parse). */
static void build_text(struct buf *text, const struct sdat_delivery *d)
{
    json_t *doc = json_loadb(d->payload, d->payload_len, 0, NULL);
    char *pretty = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL;
    const char *ack_url = doc ? json_string_value(json_object_get(doc, "ack_url")) : NULL;

    buf_puts(text, "This is a safeguarding notification from sdat.\n\n");
    buf_printf(text, "Kind:          %s\n", d->kind);
    buf_printf(text, "Notification:  %s\n", d->notification_id);
    buf_printf(text, "Recipient:     %s\n", d->recipient_id);
    buf_printf(text, "Attached as:   %s.json\n", d->notification_id);
    if (ack_url) {
        buf_puts(text, "Acknowledge:   ");
        buf_puts(text, ack_url);
        buf_puts(text, "\n");
    }
    buf_puts(text, "\nIt may hold personal data about a child. Handle it under your\n"
                   "safeguarding and information sharing procedures.\n");
    if (ack_url) {
        buf_puts(text, "Please acknowledge it by opening the link above.\n");
    }
    buf_puts(text, "\nThe notification follows; the attachment holds the same document\n"
                   "for systems that read it.\n\n");
    if (pretty) {
        buf_puts(text, pretty);
    } else {
        buf_add(text, d->payload, d->payload_len);
    }
    buf_puts(text, "\n");
    free(pretty);
    json_decref(doc);
}

static bool link_mode(const struct smtp_conf *conf)
{
    return has(conf->content) && strcmp(conf->content, "link") == 0;
}

/* A quoted-printable text part of type TYPE (text/plain or text/html). */
static void add_text_part(struct buf *msg, const char *boundary, const char *type,
                          const char *body, size_t len)
{
    buf_printf(msg, "\r\n--%s\r\n", boundary);
    buf_printf(msg, "Content-Type: %s; charset=utf-8\r\n"
                    "Content-Transfer-Encoding: quoted-printable\r\n\r\n", type);
    qp_encode(msg, body, len);
}

/* The multipart/alternative entity (its headers and body): the letter's
 * text and HTML parts, or the fallback text alone. */
static void add_alternative(struct buf *msg, const char *boundary, const char *text,
                            const char *html, const struct sdat_delivery *d)
{
    struct buf fallback = {0};
    buf_printf(msg, "Content-Type: multipart/alternative;\r\n boundary=\"%s\"\r\n", boundary);
    if (!text) {
        build_text(&fallback, d);
        if (fallback.failed) {
            msg->failed = true;
        }
    }
    add_text_part(msg, boundary, "text/plain", text ? text : fallback.data ? fallback.data : "",
                  text ? strlen(text) : fallback.len);
    if (html) {
        add_text_part(msg, boundary, "text/html", html, strlen(html));
    }
    buf_printf(msg, "\r\n--%s--\r\n", boundary);
    free(fallback.data);
}

/* The whole message, CRLF throughout. Returns malloc'd text (caller owns)
 * and its length, or NULL when out of memory (or, in link mode, when the
 * core could not render the link letter: never the payload instead). */
static char *build_message(const struct smtp_ctx *ctx, const struct sdat_delivery *d, time_t now,
                           size_t *ret_len)
{
    const struct smtp_conf *conf = ctx->recipient->conf;
    bool link = link_mode(conf);
    struct buf msg = {0};
    char date[64], mixed[160], alternative[160];

    if (link && (!d->link_text || !d->link_html)) {
        return NULL;
    }
    format_date(now, date, sizeof date);
    /* "=_" never occurs in base64 or quoted-printable output, and neither
     * boundary is a prefix of the other. */
    snprintf(mixed, sizeof mixed, "=_sdat_%s", d->notification_id);
    snprintf(alternative, sizeof alternative, "=_sdat_alt_%s", d->notification_id);

    buf_printf(&msg, "Date: %s\r\n", date);
    buf_printf(&msg, "From: %s\r\n", conf->from);
    buf_printf(&msg, "To: %s\r\n", ctx->to_header);
    /* Folded before the id when the line would pass 78 characters; the
     * unfolded value is the same text. */
    size_t subject_len = strlen("Subject: Safeguarding notification  ") + strlen(d->kind) +
                         strlen(d->notification_id);
    buf_printf(&msg, "Subject: Safeguarding notification %s%s%s\r\n", d->kind,
               subject_len > 78 ? "\r\n " : " ", d->notification_id);
    buf_printf(&msg, "Message-ID: <%s@sdat>\r\n", d->notification_id);
    buf_puts(&msg, "Auto-Submitted: auto-generated\r\n");
    if (ctx->user_agent) {
        buf_printf(&msg, "X-Mailer: %s\r\n", ctx->user_agent);
    }
    buf_puts(&msg, "MIME-Version: 1.0\r\n");
    if (link) {
        add_alternative(&msg, alternative, d->link_text, d->link_html, d);
    } else {
        buf_printf(&msg, "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n", mixed);
        buf_puts(&msg, "\r\nThis is a multi-part message in MIME format.\r\n");
        buf_printf(&msg, "\r\n--%s\r\n", mixed);
        add_alternative(&msg, alternative, d->letter_text, d->letter_html, d);

        buf_printf(&msg, "\r\n--%s\r\n", mixed);
        buf_printf(&msg, "Content-Type: application/json;\r\n name=\"%s.json\"\r\n",
                   d->notification_id);
        buf_printf(&msg, "Content-Disposition: attachment;\r\n filename=\"%s.json\"\r\n",
                   d->notification_id);
        buf_puts(&msg, "Content-Transfer-Encoding: base64\r\n\r\n");
        base64_encode(&msg, (const unsigned char *)d->payload, d->payload_len);
        buf_printf(&msg, "\r\n--%s--\r\n", mixed);
    }

    if (msg.failed) {
        free(msg.data);
        return NULL;
    }
    *ret_len = msg.len;
    return msg.data;
}

/* The To: field body: the addresses, folded before a line would pass 78. */
static char *build_to_header(const struct sdat_strv *to)
{
    struct buf b = {0};
    size_t col = 4; /* "To: " */
    for (size_t i = 0; i < to->n; i++) {
        size_t n = strlen(to->v[i]);
        if (i > 0) {
            if (col + 2 + n > 78) {
                buf_puts(&b, ",\r\n ");
                col = 1;
            } else {
                buf_puts(&b, ", ");
                col += 2;
            }
        }
        buf_puts(&b, to->v[i]);
        col += n;
    }
    if (b.failed) {
        free(b.data);
        return NULL;
    }
    return b.data;
}

/* ---- the outcome ---- */

/* Maps libcurl's verdict and the last SMTP reply onto the core's three
 * answers, with a detail free of personal data and secrets (libcurl's
 * error text names codes, hosts and TLS problems, not addresses). */
static enum sdat_delivery_result classify(CURLcode code, long reply, const char *errtext,
                                          char *detail, size_t detail_len)
{
    bool has_text = errtext && errtext[0];
    const char *why = has_text ? errtext : curl_easy_strerror(code);

    if (code == CURLE_OK) {
        snprintf(detail, detail_len, "SMTP %ld", reply);
        return SDAT_DELIVERY_DONE;
    }
    /* Before the reply code: a refused STARTTLS may carry a 5xx, and a
     * server without TLS must be retried (and so escalate), not failed. */
    if (code == CURLE_USE_SSL_FAILED) {
        snprintf(detail, detail_len, "STARTTLS not offered (%.200s)", why);
        return SDAT_DELIVERY_RETRY;
    }
    if (reply >= 400 && reply <= 599) {
        /* libcurl's own text for a reply (e.g. "RCPT failed: 550") when it
         * has one; its generic code text would only blur the reply. */
        if (has_text) {
            snprintf(detail, detail_len, "SMTP %ld (%.200s)", reply, errtext);
        } else {
            snprintf(detail, detail_len, "SMTP %ld", reply);
        }
        return reply >= 500 ? SDAT_DELIVERY_FAILED : SDAT_DELIVERY_RETRY;
    }
    /* Connect, TLS, timeouts and transport errors may all recover. */
    snprintf(detail, detail_len, "%s", why);
    return SDAT_DELIVERY_RETRY;
}

/* ---- deliveries ---- */

static size_t read_message(char *buffer, size_t size, size_t nitems, void *userdata)
{
    struct smtp_job *job = userdata;
    size_t room = size * nitems, left = job->message_len - job->sent;
    size_t n = left < room ? left : room;
    memcpy(buffer, job->message + job->sent, n);
    job->sent += n;
    return n;
}

/* libcurl rewinds when it resends on a fresh connection. */
static int seek_message(void *userdata, curl_off_t offset, int origin)
{
    struct smtp_job *job = userdata;
    if (origin != SEEK_SET || offset < 0 || (size_t)offset > job->message_len) {
        return CURL_SEEKFUNC_CANTSEEK;
    }
    job->sent = (size_t)offset;
    return CURL_SEEKFUNC_OK;
}

/* ops.release: what the loop leaves of a job. */
static void job_release(struct sdat_curl_transfer *base)
{
    struct smtp_job *job = sdat_curl_transfer_of(base, struct smtp_job, base);
    free(job->message);
    free(job);
}

/* ops.outcome: classify with the last SMTP reply. */
static enum sdat_delivery_result job_outcome(struct sdat_curl_transfer *base, CURLcode code)
{
    long reply = 0;
    if (curl_easy_getinfo(base->easy, CURLINFO_RESPONSE_CODE, &reply) != CURLE_OK) {
        reply = 0;
    }
    return classify(code, reply, base->errbuf, base->d->detail, sizeof base->d->detail);
}

static const struct sdat_curl_ops smtp_curl_ops = {
    .outcome = job_outcome,
    .release = job_release,
};

#define SET(option, value)                                                                         \
    do {                                                                                           \
        if (c == CURLE_OK) {                                                                       \
            c = curl_easy_setopt(job->base.easy, (option), (value));                               \
        }                                                                                          \
    } while (0)

static int job_configure(struct smtp_job *job)
{
    const struct smtp_ctx *ctx = job->ctx;
    const struct smtp_conf *r = ctx->recipient->conf;
    CURLcode c = CURLE_OK;

    SET(CURLOPT_URL, r->url);
    SET(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    SET(CURLOPT_MAIL_FROM, r->from);
    SET(CURLOPT_MAIL_RCPT, ctx->rcpt);
    SET(CURLOPT_UPLOAD, 1L);
    SET(CURLOPT_READFUNCTION, read_message);
    SET(CURLOPT_READDATA, (void *)job);
    SET(CURLOPT_SEEKFUNCTION, seek_message);
    SET(CURLOPT_SEEKDATA, (void *)job);
    SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)job->message_len);
    /* STARTTLS or fail: never a plain-text send. */
    SET(CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    if (has(r->ca_file)) {
        /* An extra anchor: the system store still counts. */
        SET(CURLOPT_CAINFO, r->ca_file);
        SET(CURLOPT_CAPATH, SMTP_SYSTEM_CAPATH);
    }
    if (ctx->password) {
        SET(CURLOPT_USERNAME, r->username);
        SET(CURLOPT_PASSWORD, ctx->password);
    }
    SET(CURLOPT_TIMEOUT_MS, ctx->timeout_ms);
    SET(CURLOPT_CONNECTTIMEOUT_MS, ctx->timeout_ms);
    return c == CURLE_OK ? 0 : -EINVAL;
}

#undef SET

static int start(void *opaque_ctx, struct sdat_delivery *d, sdat_delivery_done_fn done,
                 void *opaque)
{
    struct smtp_ctx *ctx = opaque_ctx;
    struct smtp_job *job = NULL;
    int r;

    if (!header_safe(d->notification_id) || !header_safe(d->kind)) {
        /* Never better on a later attempt. */
        d->retry_after_ms = 0;
        snprintf(d->detail, sizeof d->detail, "notification id or kind unusable in a mail header");
        done(d, SDAT_DELIVERY_FAILED, opaque);
        return 0;
    }
    job = calloc(1, sizeof *job);
    if (!job) {
        return -ENOMEM;
    }
    job->ctx = ctx;
    r = sdat_curl_transfer_init(&job->base, &ctx->client, d, done, opaque);
    if (r == 0) {
        job->message = build_message(ctx, d, time(NULL), &job->message_len);
        r = job->message ? 0 : -ENOMEM;
    }
    if (r == 0) {
        r = job_configure(job);
    }
    if (r == 0) {
        r = sdat_curl_transfer_start(&job->base);
    }
    if (r < 0) {
        sdat_curl_transfer_free(&job->base);
    }
    return r;
}

/* Drives every smtp delivery, whichever context started it (the loop is
 * shared). */
static int poll_deliveries(void *opaque_ctx, int timeout_ms)
{
    (void)opaque_ctx;
    return sdat_curl_shared_poll(&shared, timeout_ms);
}

/* ---- contexts ---- */

static void destroy(void *opaque_ctx)
{
    struct smtp_ctx *ctx = opaque_ctx;
    if (!ctx) {
        return;
    }
    /* Its jobs are abandoned: done is not called for them. */
    sdat_curl_client_close(&ctx->client);
    if (ctx->password) {
        explicit_bzero(ctx->password, ctx->password_len);
        free(ctx->password);
    }
    curl_slist_free_all(ctx->rcpt);
    free(ctx->to_header);
    free(ctx);
}

static int init(const struct sdat_connector_env *env,
                const struct sdat_connector_recipient *recipient, void **ret_ctx, char *err,
                size_t errlen)
{
    const struct smtp_conf *conf = recipient->conf;
    struct smtp_ctx *ctx = NULL;
    char why[512] = "";
    int r;
    struct sdat_key_first first = {.err = err, .errlen = errlen};
    if (check_keys(recipient, sdat_key_report_first, &first) < 0) {
        return -EINVAL;
    }
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return -ENOMEM;
    }
    ctx->recipient = recipient;
    ctx->user_agent = env ? env->user_agent : NULL;
    double timeout = conf->timeout > 0 ? conf->timeout : SMTP_DEFAULT_TIMEOUT_S;
    ctx->timeout_ms = (long)(timeout * 1000.0);
    if (has(conf->password_file)) {
        /* The message names the file, never its contents. */
        r = sdat_secret_read(conf->password_file, &ctx->password, &ctx->password_len, why,
                             sizeof why);
        if (r < 0) {
            snprintf(err, errlen, "password_file: %s", why[0] ? why : strerror(-r));
            goto fail;
        }
    }
    if (has(conf->ca_file) && access(conf->ca_file, R_OK) < 0) {
        r = -errno;
        snprintf(err, errlen, "ca_file: \"%s\" cannot be read: %s", conf->ca_file,
                 strerror(-r));
        goto fail;
    }
    for (size_t i = 0; i < conf->to.n; i++) {
        struct curl_slist *grown = curl_slist_append(ctx->rcpt, conf->to.v[i]);
        if (!grown) {
            r = -ENOMEM;
            goto fail;
        }
        ctx->rcpt = grown;
    }
    ctx->to_header = build_to_header(&conf->to);
    if (!ctx->to_header) {
        r = -ENOMEM;
        goto fail;
    }
    r = sdat_curl_client_open(&ctx->client, &shared, &smtp_curl_ops);
    if (r < 0) {
        snprintf(err, errlen, "url: cannot set up libcurl: %s", strerror(-r));
        goto fail;
    }
    *ret_ctx = ctx;
    return 0;
fail:
    destroy(ctx);
    return r;
}

const struct sdat_connector_ops sdat_connector_smtp = {
    .abi = SDAT_CONNECTOR_ABI,
    .name = "smtp",
    .init = init,
    .start = start,
    .poll = poll_deliveries,
    .destroy = destroy,
    .keys = &smtp_table,
    .check_keys = check_keys,
};
