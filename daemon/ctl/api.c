/* sdatctl's calls to the daemon's HTTP API: every change an operator makes
 * goes through the daemon (the store's one writer), authenticated by a
 * token. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctl.h"

struct buffer {
    char *data;
    size_t len;
};

static size_t collect(char *ptr, size_t size, size_t nmemb, void *opaque)
{
    struct buffer *b = opaque;
    size_t n = size * nmemb;
    if (b->len + n > 4 * 1024 * 1024) {
        return 0; /* an answer this big is not the API's */
    }
    char *grown = realloc(b->data, b->len + n + 1);
    if (!grown) {
        return 0;
    }
    b->data = grown;
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* --url, else http.public_url, else http.listen (https when the daemon
 * serves TLS). */
static void base_url(const struct ctl_options *opts, const struct sdat_config *cfg, char *out,
                     size_t outlen)
{
    const char *url = opts->url;
    if (!url && cfg && cfg->http.public_url && *cfg->http.public_url) {
        url = cfg->http.public_url;
    }
    if (url) {
        size_t len = strlen(url);
        snprintf(out, outlen, "%.*s", (int)(len && url[len - 1] == '/' ? len - 1 : len), url);
        return;
    }
    bool tls = cfg && cfg->http.tls_cert && cfg->http.tls_key;
    snprintf(out, outlen, "%s://%s", tls ? "https" : "http",
             cfg && cfg->http.listen ? cfg->http.listen : "127.0.0.1:8080");
}

/* The token: --token-file (a secret file: mode 0600), else $SDAT_TOKEN. */
static int token(const struct ctl_options *opts, char **ret_token)
{
    if (opts->token_file) {
        char err[512];
        size_t len;
        int r = sdat_secret_read(opts->token_file, ret_token, &len, err, sizeof err);
        if (r < 0) {
            fprintf(stderr, "sdatctl: %s\n", err);
        }
        return r;
    }
    const char *env = getenv("SDAT_TOKEN");
    *ret_token = env ? strdup(env) : NULL;
    return 0;
}

int ctl_api(const struct ctl_options *opts, const struct sdat_config *cfg, const char *method,
            const char *path, const char *body, long *ret_status, char **ret_body)
{
    char url[2048], *tok = NULL, auth[1100];
    struct buffer answer = {0};
    struct curl_slist *headers = NULL;
    int r = token(opts, &tok);
    if (r < 0) {
        return r;
    }
    base_url(opts, cfg, url, sizeof url);
    strncat(url, path, sizeof url - strlen(url) - 1);
    CURL *curl = curl_easy_init();
    if (!curl) {
        free(tok);
        return -ENOMEM;
    }
    headers = curl_slist_append(headers, "Content-Type: application/json");
    if (tok && *tok) {
        snprintf(auth, sizeof auth, "Authorization: Bearer %s", tok);
        headers = curl_slist_append(headers, auth);
        explicit_bzero(auth, sizeof auth);
    }
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    if (body) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    }
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    /* Verification is always on; --ca-file adds the daemon's CA. */
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
    if (opts->ca_file) {
        curl_easy_setopt(curl, CURLOPT_CAINFO, opts->ca_file);
    }
    CURLcode rc = curl_easy_perform(curl);
    if (rc != CURLE_OK) {
        /* The URL is ours, not the operator's secret; the token is not in it. */
        fprintf(stderr, "sdatctl: cannot reach the daemon at %s: %s\n", url,
                curl_easy_strerror(rc));
        r = -EHOSTUNREACH;
        free(answer.data);
    } else {
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, ret_status);
        *ret_body = answer.data ? answer.data : strdup("");
        r = 0;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (tok) {
        explicit_bzero(tok, strlen(tok));
        free(tok);
    }
    return r;
}

int ctl_api_report(long status, const char *body)
{
    if (status >= 200 && status < 300) {
        return CTL_OK;
    }
    json_t *doc = json_loads(body, 0, NULL);
    const char *error = json_string_value(json_object_get(doc, "error"));
    const char *detail = json_string_value(json_object_get(doc, "detail"));
    fprintf(stderr, "sdatctl: the daemon answered %ld%s%s%s%s\n", status, error ? ": " : "",
            error ? error : "", detail ? " — " : "", detail ? detail : "");
    json_decref(doc);
    return CTL_NEGATIVE;
}

/* With --url (or SDAT_URL) the configuration is not read: a person's own
 * account, which may not read /etc/sdat, can talk to the daemon. */
struct sdat_config *ctl_api_config(const struct ctl_options *opts, bool *ret_failed)
{
    *ret_failed = false;
    if (opts->url) {
        return NULL;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    *ret_failed = !cfg;
    return cfg;
}

int ctl_api_post_answer(const struct ctl_options *opts, const char *path, json_t *body,
                        char **ret_answer)
{
    *ret_answer = NULL;
    bool failed;
    struct sdat_config *cfg = ctl_api_config(opts, &failed);
    if (failed) {
        json_decref(body);
        return CTL_CONFIG;
    }
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    long status = 0;
    char *answer = NULL;
    int r = text ? ctl_api(opts, cfg, "POST", path, text, &status, &answer) : -ENOMEM;
    free(text);
    sdat_config_free(cfg);
    if (r < 0) {
        return CTL_NEGATIVE;
    }
    r = ctl_api_report(status, answer);
    if (r == CTL_OK) {
        *ret_answer = answer;
    } else {
        free(answer);
    }
    return r;
}

int ctl_api_post(const struct ctl_options *opts, const char *path, json_t *body)
{
    char *answer = NULL;
    int r = ctl_api_post_answer(opts, path, body, &answer);
    if (r == CTL_OK && answer && *answer) {
        printf("%s\n", answer);
    }
    free(answer);
    return r;
}
