/* The webhook connector (delivery.md): POSTs the notification to an https
 * URL, signed with HMAC-SHA256, on libcurl's multi interface.
 *
 * Every webhook context in the process shares one CURLM handle (static and
 * reference-counted: created with the first context, destroyed with the
 * last), so that connections, TLS sessions and the DNS cache are reused
 * across recipients on the same host, and so that any context's poll drives
 * every webhook transfer. libcurl reuses a connection only for a transfer
 * whose TLS settings (CA file and path, client certificate, verification)
 * match, so one recipient never rides on another's client certificate.
 *
 * Threading: the contract calls a connector from one thread; the shared
 * state below is not locked. */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "outbox/connector.h"
#include "transfer/curl_shared.h"

/* Where the system's hashed CA directory is when libcurl was built without
 * one (curl_version_info's capath is used when it has one). */
#ifndef SDAT_SYSTEM_CA_PATH
#define SDAT_SYSTEM_CA_PATH "/etc/ssl/certs"
#endif

#define MAX_HOST_CONNECTIONS 16L
#define MAX_CONNECT_TIMEOUT_MS 10000L
#define MAX_RESPONSE_BODY (1024 * 1024) /* read and discarded; more is not read */
#define DEFAULT_GIVE_UP_AFTER_S 259200.0

struct transfer;

struct webhook_ctx {
    const struct sdat_connector_recipient *recipient; /* borrowed */
    const char *user_agent;                 /* borrowed */
    char *url;
    char *ca_file, *ca_path, *client_cert; /* $CREDENTIALS_DIRECTORY expanded, or NULL */
    /* Secrets: the bytes of each file less one trailing newline; zeroed
     * before they are freed. */
    char *secret, *secret_next, *client_key;
    size_t secret_len, secret_next_len, client_key_len;
    EVP_MAC *mac;
    long timeout_ms, connect_timeout_ms;
    int64_t max_retry_after_ms;
    struct sdat_curl_client client; /* the shared loop and this context's transfers */
};

/* One delivery in flight: owns its header list; base owns the easy handle. */
struct transfer {
    struct sdat_curl_transfer base;
    struct webhook_ctx *ctx;
    struct curl_slist *headers;
    size_t received;
    bool body_too_large;
    int64_t retry_after_ms; /* -1: the response asked for nothing */
};

/* HTTP/2 multiplexing where the receiver offers it (ALPN); HTTP/1.1
 * keep-alive otherwise. Transfers beyond the per-host limit wait in
 * libcurl's queue for a free connection. */
static void setup_multi(CURLM *multi)
{
    curl_multi_setopt(multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
    curl_multi_setopt(multi, CURLMOPT_MAX_HOST_CONNECTIONS, MAX_HOST_CONNECTIONS);
}

static struct sdat_curl_shared shared = {.setup = setup_multi};

static bool is_https_url(const char *url)
{
    return url && strncasecmp(url, "https://", 8) == 0 && url[8] != '\0' && url[8] != '/';
}

struct webhook_conf {
    char *url;
    char *secret_file;
    char *secret_file_next;
    char *ca_file;
    char *client_cert;
    char *client_key;
    double timeout;
};

static const struct sdat_key webhook_keys[] = {
    SDAT_KEY_S("url", struct webhook_conf, url, 0, "https URL"),
    SDAT_KEY_S("secret_file", struct webhook_conf, secret_file, SDAT_KEY_FILE | SDAT_KEY_SECRET,
               "signing secret"),
    SDAT_KEY_S("secret_file_next", struct webhook_conf, secret_file_next,
               SDAT_KEY_FILE | SDAT_KEY_SECRET, "the next secret (rotation)"),
    SDAT_KEY_S("ca_file", struct webhook_conf, ca_file, SDAT_KEY_FILE, "an extra trust anchor"),
    SDAT_KEY_S("client_cert", struct webhook_conf, client_cert, SDAT_KEY_FILE,
               "client certificate (mTLS)"),
    SDAT_KEY_S("client_key", struct webhook_conf, client_key, SDAT_KEY_FILE | SDAT_KEY_SECRET,
               "client key (a secret file)"),
    SDAT_KEY_N("timeout", struct webhook_conf, timeout, 0, "15", 1, 600,
               "time allowed for one delivery attempt (s)"),
    SDAT_KEY_END,
};

static const struct sdat_key_table webhook_table =
    SDAT_KEY_TABLE("webhook", struct webhook_conf, webhook_keys);

/* Every problem with the recipient's keys (the files are the core's). */
static int check_keys(const struct sdat_connector_recipient *recipient, sdat_key_report_fn report,
                      void *opaque)
{
    const struct webhook_conf *conf = recipient->conf;
    int problems = 0;
    if (!conf->url || !conf->url[0]) {
        report(opaque, "url", "is required for the webhook connector");
        problems++;
    } else if (!is_https_url(conf->url)) {
        report(opaque, "url", "must be an https:// URL");
        problems++;
    }
    if (!conf->secret_file || !conf->secret_file[0]) {
        report(opaque, "secret_file", "is required for the webhook connector");
        problems++;
    }
    if (conf->client_cert && !conf->client_key) {
        report(opaque, "client_key", "is required with client_cert");
        problems++;
    }
    if (conf->client_key && !conf->client_cert) {
        report(opaque, "client_cert", "is required with client_key");
        problems++;
    }
    if (!(conf->timeout > 0)) {
        report(opaque, "timeout", "must be more than 0");
        problems++;
    }
    return problems ? -EINVAL : 0;
}

/* A path handed to libcurl as it is, so the "$CREDENTIALS_DIRECTORY/"
 * prefix the configuration allows is expanded here (sdat_secret_read does
 * the same for the files it reads). malloc'd, or NULL. */
static char *expand_path(const char *path)
{
    static const char prefix[] = "$CREDENTIALS_DIRECTORY/";
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    char *out = NULL;
    if (strncmp(path, prefix, sizeof prefix - 1) != 0 || !dir) {
        return strdup(path);
    }
    if (asprintf(&out, "%s/%s", dir, path + sizeof prefix - 1) < 0) {
        return NULL;
    }
    return out;
}

static void free_secret(char **secret, size_t *len)
{
    if (*secret) {
        explicit_bzero(*secret, *len);
        free(*secret);
    }
    *secret = NULL;
    *len = 0;
}

/* ops.release: what the loop leaves of a transfer. */
static void transfer_release(struct sdat_curl_transfer *base)
{
    struct transfer *t = sdat_curl_transfer_of(base, struct transfer, base);
    curl_slist_free_all(t->headers);
    free(t);
}

static enum sdat_delivery_result outcome(struct sdat_curl_transfer *base, CURLcode code);

static const struct sdat_curl_ops webhook_curl_ops = {
    .outcome = outcome,
    .release = transfer_release,
};

static void destroy(void *ctx_)
{
    struct webhook_ctx *ctx = ctx_;
    if (!ctx) {
        return;
    }
    /* Its transfers are abandoned: done is not called for them. */
    sdat_curl_client_close(&ctx->client);
    free_secret(&ctx->secret, &ctx->secret_len);
    free_secret(&ctx->secret_next, &ctx->secret_next_len);
    free_secret(&ctx->client_key, &ctx->client_key_len);
    EVP_MAC_free(ctx->mac);
    free(ctx->url);
    free(ctx->ca_file);
    free(ctx->ca_path);
    free(ctx->client_cert);
    free(ctx);
}

/* Reads one secret file; the message names the key and the file, never the
 * content. An empty secret is refused: it would sign with an empty key. */
static int read_secret(const char *key, const char *path, char **ret_data, size_t *ret_len,
                       char *err, size_t errlen)
{
    char msg[400] = "";
    char *data = NULL;
    size_t len = 0;
    int r = sdat_secret_read(path, &data, &len, msg, sizeof msg);
    if (r < 0) {
        snprintf(err, errlen, "%s: %s", key, msg[0] ? msg : strerror(-r));
        return r;
    }
    if (len == 0) {
        free(data);
        snprintf(err, errlen, "%s: \"%s\" is empty", key, path);
        return -EINVAL;
    }
    *ret_data = data;
    *ret_len = len;
    return 0;
}

static int init(const struct sdat_connector_env *env,
                const struct sdat_connector_recipient *recipient, void **ret_ctx, char *err,
                size_t errlen)
{
    const struct webhook_conf *conf = recipient->conf;
    struct webhook_ctx *ctx = NULL;
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
    ctx->user_agent = env && env->user_agent ? env->user_agent : "sdatd";
    ctx->timeout_ms = (long)(conf->timeout * 1000.0);
    ctx->connect_timeout_ms =
        ctx->timeout_ms < MAX_CONNECT_TIMEOUT_MS ? ctx->timeout_ms : MAX_CONNECT_TIMEOUT_MS;
    double give_up = env && env->give_up_after > 0
                         ? env->give_up_after
                         : DEFAULT_GIVE_UP_AFTER_S;
    ctx->max_retry_after_ms = (int64_t)(give_up * 1000.0);

    r = read_secret("secret_file", conf->secret_file, &ctx->secret, &ctx->secret_len, err,
                    errlen);
    if (r < 0) {
        goto fail;
    }
    if (conf->secret_file_next && conf->secret_file_next[0]) {
        r = read_secret("secret_file_next", conf->secret_file_next, &ctx->secret_next,
                        &ctx->secret_next_len, err, errlen);
        if (r < 0) {
            goto fail;
        }
    }
    if (conf->client_key) {
        /* Read here, under the same mode check as every secret, and handed
         * to libcurl from memory: the key checked is the key used. */
        r = read_secret("client_key", conf->client_key, &ctx->client_key, &ctx->client_key_len,
                        err, errlen);
        if (r < 0) {
            goto fail;
        }
    }
    r = -ENOMEM;
    ctx->url = strdup(conf->url);
    if (!ctx->url) {
        goto fail;
    }
    if (conf->client_cert && !(ctx->client_cert = expand_path(conf->client_cert))) {
        goto fail;
    }
    if (conf->ca_file) {
        /* CURLOPT_CAINFO replaces libcurl's default bundle, so the system
         * store stays trusted through CURLOPT_CAPATH, the hashed directory
         * (libcurl's own default capath, else SDAT_SYSTEM_CA_PATH): ca_file
         * adds a trust anchor, it takes none away. */
        const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
        const char *system_path = v->age >= CURLVERSION_SEVENTH && v->capath && v->capath[0]
                                      ? v->capath
                                      : SDAT_SYSTEM_CA_PATH;
        ctx->ca_file = expand_path(conf->ca_file);
        ctx->ca_path = strdup(system_path);
        if (!ctx->ca_file || !ctx->ca_path) {
            goto fail;
        }
    }
    ctx->mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    if (!ctx->mac) {
        snprintf(err, errlen, "secret_file: HMAC is not available from OpenSSL");
        r = -ENOSYS;
        goto fail;
    }
    r = sdat_curl_client_open(&ctx->client, &shared, &webhook_curl_ops);
    if (r < 0) {
        snprintf(err, errlen, "url: libcurl could not be initialised");
        goto fail;
    }
    *ret_ctx = ctx;
    return 0;
fail:
    destroy(ctx);
    return r;
}

/* Lowercase hex HMAC-SHA256 with key over "<t>." followed by the body. */
static int sign(EVP_MAC *mac, const char *key, size_t key_len, const char *prefix,
                size_t prefix_len, const char *body, size_t body_len, char hex[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    size_t md_len = 0;
    int r = -EIO;
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, (char *)"SHA256", 0),
        OSSL_PARAM_construct_end(),
    };
    EVP_MAC_CTX *mc = EVP_MAC_CTX_new(mac);
    if (!mc) {
        return -ENOMEM;
    }
    if (EVP_MAC_init(mc, (const unsigned char *)key, key_len, params) != 1 ||
        EVP_MAC_update(mc, (const unsigned char *)prefix, prefix_len) != 1 ||
        EVP_MAC_update(mc, (const unsigned char *)body, body_len) != 1 ||
        EVP_MAC_final(mc, md, &md_len, sizeof md) != 1 || md_len != sizeof md) {
        goto out;
    }
    for (size_t i = 0; i < sizeof md; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[64] = '\0';
    r = 0;
out:
    EVP_MAC_CTX_free(mc);
    return r;
}

/* The response body is not used: counted, and refused past a limit. */
static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
    struct transfer *t = userdata;
    (void)data;
    t->received += size * nmemb;
    if (t->received > MAX_RESPONSE_BODY) {
        t->body_too_large = true;
        return 0;
    }
    return size * nmemb;
}

/* Retry-After: delay-seconds or an HTTP-date, as a delay from now in ms
 * (0 for a date already past), at most give_up_after; -1 when unreadable. */
static int64_t parse_retry_after(const char *value, int64_t max_ms)
{
    while (*value == ' ' || *value == '\t') {
        value++;
    }
    if (isdigit((unsigned char)*value)) {
        const char *p = value;
        int64_t seconds = 0;
        while (isdigit((unsigned char)*p)) {
            if (seconds < INT64_MAX / 10000) {
                seconds = seconds * 10 + (*p - '0');
            }
            p++;
        }
        if (*p == '\0') {
            return seconds * 1000 < max_ms ? seconds * 1000 : max_ms;
        }
    }
    time_t date = curl_getdate(value, NULL);
    if (date == (time_t)-1) {
        return -1;
    }
    time_t now = time(NULL);
    if (date <= now) {
        return 0;
    }
    int64_t ms = ((int64_t)date - (int64_t)now) * 1000;
    return ms < max_ms ? ms : max_ms;
}

/* Each header line of each response; only the last response's Retry-After
 * counts. */
static size_t on_header(char *data, size_t size, size_t nmemb, void *userdata)
{
    static const char name[] = "retry-after:";
    struct transfer *t = userdata;
    size_t len = size * nmemb;
    if (len >= 5 && memcmp(data, "HTTP/", 5) == 0) {
        t->retry_after_ms = -1;
    } else if (len > sizeof name - 1 && strncasecmp(data, name, sizeof name - 1) == 0) {
        char value[128];
        size_t n = len - (sizeof name - 1);
        if (n >= sizeof value) {
            n = sizeof value - 1;
        }
        memcpy(value, data + sizeof name - 1, n);
        while (n > 0 && (value[n - 1] == '\r' || value[n - 1] == '\n' || value[n - 1] == ' ' ||
                         value[n - 1] == '\t')) {
            n--;
        }
        value[n] = '\0';
        t->retry_after_ms = parse_retry_after(value, t->ctx->max_retry_after_ms);
    }
    return len;
}

/* A header value taken from the core must not be able to end the line. */
static bool header_safe(const char *s)
{
    for (; *s; s++) {
        if ((unsigned char)*s < 0x20 || *s == 0x7f) {
            return false;
        }
    }
    return true;
}

static int add_header(struct curl_slist **list, const char *line)
{
    struct curl_slist *grown = curl_slist_append(*list, line);
    if (!grown) {
        return -ENOMEM;
    }
    *list = grown;
    return 0;
}

static int build_headers(struct webhook_ctx *ctx, const struct sdat_delivery *d,
                         struct curl_slist **ret_headers)
{
    struct curl_slist *headers = NULL;
    char line[512], prefix[32], hex[65], hex_next[65];
    int r;

    int prefix_len = snprintf(prefix, sizeof prefix, "%lld.", (long long)time(NULL));
    r = sign(ctx->mac, ctx->secret, ctx->secret_len, prefix, (size_t)prefix_len, d->payload,
             d->payload_len, hex);
    if (r == 0 && ctx->secret_next) {
        r = sign(ctx->mac, ctx->secret_next, ctx->secret_next_len, prefix, (size_t)prefix_len,
                 d->payload, d->payload_len, hex_next);
    }
    if (r < 0) {
        goto fail;
    }
    prefix[prefix_len - 1] = '\0'; /* the timestamp without its '.' */
    if (ctx->secret_next) {
        snprintf(line, sizeof line, "Sdat-Signature: t=%s,v1=%s,v1=%s", prefix, hex, hex_next);
    } else {
        snprintf(line, sizeof line, "Sdat-Signature: t=%s,v1=%s", prefix, hex);
    }
    r = add_header(&headers, "Content-Type: application/json");
    if (r == 0) {
        r = add_header(&headers, line);
    }
    if (r == 0) {
        snprintf(line, sizeof line, "Idempotency-Key: %s", d->notification_id);
        r = add_header(&headers, line);
    }
    if (r == 0) {
        snprintf(line, sizeof line, "Sdat-Attempt: %d", d->attempt);
        r = add_header(&headers, line);
    }
    if (r == 0) {
        /* No "Expect: 100-continue" round trip before a large body. */
        r = add_header(&headers, "Expect:");
    }
    if (r < 0) {
        goto fail;
    }
    *ret_headers = headers;
    return 0;
fail:
    curl_slist_free_all(headers);
    return r;
}

#define SETOPT(easy, option, value)                                                                \
    do {                                                                                           \
        if (curl_easy_setopt((easy), (option), (value)) != CURLE_OK) {                             \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

/* Sets every option of one delivery's transfer. The payload is borrowed:
 * the core keeps d unchanged until done. */
static int configure(struct webhook_ctx *ctx, struct transfer *t, const struct sdat_delivery *d)
{
    CURL *easy = t->base.easy;
    SETOPT(easy, CURLOPT_URL, ctx->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    SETOPT(easy, CURLOPT_PROTOCOLS_STR, "https");
#else
    SETOPT(easy, CURLOPT_PROTOCOLS, (long)CURLPROTO_HTTPS);
#endif
    SETOPT(easy, CURLOPT_FOLLOWLOCATION, 0L);
    SETOPT(easy, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    /* Wait for a connection that may multiplex rather than open another. */
    SETOPT(easy, CURLOPT_PIPEWAIT, 1L);
    SETOPT(easy, CURLOPT_TCP_KEEPALIVE, 1L);
    SETOPT(easy, CURLOPT_TIMEOUT_MS, ctx->timeout_ms);
    SETOPT(easy, CURLOPT_CONNECTTIMEOUT_MS, ctx->connect_timeout_ms);
    /* Verification is always on; nothing in the configuration turns it off. */
    SETOPT(easy, CURLOPT_SSL_VERIFYPEER, 1L);
    SETOPT(easy, CURLOPT_SSL_VERIFYHOST, 2L);
    SETOPT(easy, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ctx->ca_file) {
        /* CAINFO replaces the default bundle; CAPATH keeps the system store
         * (see init). */
        SETOPT(easy, CURLOPT_CAINFO, ctx->ca_file);
        SETOPT(easy, CURLOPT_CAPATH, ctx->ca_path);
    }
    if (ctx->client_cert) {
        struct curl_blob key = {
            .data = ctx->client_key, .len = ctx->client_key_len, .flags = CURL_BLOB_NOCOPY};
        SETOPT(easy, CURLOPT_SSLCERT, ctx->client_cert);
        /* Borrowed from the context, which outlives its transfers. */
        SETOPT(easy, CURLOPT_SSLKEY_BLOB, &key);
    }
    SETOPT(easy, CURLOPT_USERAGENT, ctx->user_agent);
    SETOPT(easy, CURLOPT_HTTPHEADER, t->headers);
    SETOPT(easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)d->payload_len);
    SETOPT(easy, CURLOPT_POSTFIELDS, d->payload ? d->payload : "");
    SETOPT(easy, CURLOPT_WRITEFUNCTION, on_body);
    SETOPT(easy, CURLOPT_WRITEDATA, t);
    SETOPT(easy, CURLOPT_HEADERFUNCTION, on_header);
    SETOPT(easy, CURLOPT_HEADERDATA, t);
    return 0;
fail:
    return -EINVAL;
}

static int start(void *ctx_, struct sdat_delivery *d, sdat_delivery_done_fn done, void *opaque)
{
    struct webhook_ctx *ctx = ctx_;
    int r;
    if (!d->notification_id || !header_safe(d->notification_id)) {
        return -EINVAL;
    }
    struct transfer *t = calloc(1, sizeof *t);
    if (!t) {
        return -ENOMEM;
    }
    t->ctx = ctx;
    t->retry_after_ms = -1;
    r = sdat_curl_transfer_init(&t->base, &ctx->client, d, done, opaque);
    if (r == 0) {
        r = build_headers(ctx, d, &t->headers);
    }
    if (r == 0) {
        r = configure(ctx, t, d);
    }
    if (r == 0) {
        r = sdat_curl_transfer_start(&t->base);
    }
    if (r < 0) {
        sdat_curl_transfer_free(&t->base);
    }
    return r;
}

/* "PREFIX: TEXT" with TEXT libcurl's message for the error (its error
 * buffer, else its description of the code), control characters blanked.
 * libcurl's messages name at most the host and port, never the URL's path
 * or query, and never a request or response body. */
static void describe(struct sdat_delivery *d, const char *prefix, const char *text)
{
    snprintf(d->detail, sizeof d->detail, "%s: %s", prefix, text);
    size_t n = strlen(d->detail);
    while (n > 0 && (d->detail[n - 1] == '\n' || d->detail[n - 1] == ' ')) {
        d->detail[--n] = '\0';
    }
    for (char *p = d->detail; *p; p++) {
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            *p = ' ';
        }
    }
}

static bool tls_error(CURLcode code, const char *text)
{
    switch (code) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return true;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        /* A TLS 1.3 server refuses a client certificate with an alert after
         * the client's handshake is over: it surfaces on the first read. */
        return strstr(text, "SSL") || strstr(text, "alert");
    default:
        return false;
    }
}

/* ops.outcome: maps a finished transfer onto the contract's three answers. */
static enum sdat_delivery_result outcome(struct sdat_curl_transfer *base, CURLcode code)
{
    struct transfer *t = sdat_curl_transfer_of(base, struct transfer, base);
    struct sdat_delivery *d = base->d;
    long status = 0;
    curl_easy_getinfo(base->easy, CURLINFO_RESPONSE_CODE, &status);
    if (code == CURLE_OK || (code == CURLE_WRITE_ERROR && t->body_too_large && status > 0)) {
        snprintf(d->detail, sizeof d->detail, "HTTP %ld", status);
        if (status >= 200 && status <= 299) {
            return SDAT_DELIVERY_DONE;
        }
        if (status == 408 || status == 429 || (status >= 500 && status <= 599)) {
            d->retry_after_ms = t->retry_after_ms > 0 ? t->retry_after_ms : 0;
            return SDAT_DELIVERY_RETRY;
        }
        if (status >= 300 && status <= 499) {
            /* Redirects are not followed: the configured URL is wrong. */
            return SDAT_DELIVERY_FAILED;
        }
        snprintf(d->detail, sizeof d->detail, "HTTP %ld: not a final status", status);
        return SDAT_DELIVERY_RETRY;
    }
    /* The error buffer holds libcurl's first message, which is not always
     * about the error returned (a reset connection can first fail
     * getpeername), so a plain transport error gives both. */
    const char *what = curl_easy_strerror(code);
    const char *text = base->errbuf[0] ? base->errbuf : what;
    char both[sizeof base->errbuf + 128];
    if (tls_error(code, text)) {
        describe(d, "TLS", text);
    } else if (code == CURLE_OPERATION_TIMEDOUT) {
        describe(d, "timeout", text);
    } else if (code == CURLE_COULDNT_CONNECT || code == CURLE_COULDNT_RESOLVE_HOST) {
        describe(d, "connect", text);
    } else if (base->errbuf[0]) {
        snprintf(both, sizeof both, "%s (%s)", what, base->errbuf);
        describe(d, "transport", both);
    } else {
        describe(d, "transport", what);
    }
    return SDAT_DELIVERY_RETRY;
}

/* The event loop is shared: any context's poll serves every context. */
static int poll_(void *ctx, int timeout_ms)
{
    (void)ctx;
    return sdat_curl_shared_poll(&shared, timeout_ms);
}

const struct sdat_connector_ops sdat_connector_webhook = {
    .abi = SDAT_CONNECTOR_ABI,
    .name = "webhook",
    .init = init,
    .start = start,
    .poll = poll_,
    .destroy = destroy,
    .keys = &webhook_table,
    .check_keys = check_keys,
};
