/* The HTTP server's life: libmicrohttpd's thread pool, the listen address,
 * TLS, configuration snapshots, readiness, the read-only store pool and
 * jobs. A request's own path (routing, tokens, the body, the order of
 * checks) is in http_request.c; the endpoints in http_api.c. */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "http_internal.h"
#include "util/util.h"

/* A request that writes (an audited CP-IS lookup, an acknowledgement)
 * blocks its thread until the writer commits, and every connection served
 * by that thread waits with it; the writer groups what waits into one
 * commit. So the pool is sized for concurrent requests, not for cores:
 * with 4 threads at most 4 lookups shared a commit (P2, 32 connections:
 * 4,636 requests/s; with 32 threads 8,167-8,632/s on the same machine).
 * One read-only store per thread. */
#define POOL_THREADS 32
#define STORE_POOL_MAX POOL_THREADS

/* S10 (quality.md): a client without a token cannot keep others from the
 * API (docs/OPERATING.md "Connection limits"). libmicrohttpd refuses a
 * connection past either limit at once (accept, then close). The header
 * deadline runs from a connection's start, or from its previous answer,
 * until a request's headers are in: libmicrohttpd's own timeout is an idle
 * one, which a byte a second resets. A connection past the deadline is shut
 * down (shutdown(2) on a duplicate of its socket, see conn_reaper) and
 * libmicrohttpd closes it. With one epoll thread per pool worker an idle
 * connection costs a socket and a little memory, no thread. */
#define CONNECTIONS_PER_ADDRESS 64
#define CONNECTIONS_MAX 1024
#define HEADER_DEADLINE_MS 10000
#define IDLE_TIMEOUT_S 30
#define REAPER_PERIOD_MS 500
#define REAPER_LOG_EVERY_MS 60000

/* One open connection, the socket context libmicrohttpd keeps for it. */
struct http_conn {
    struct http_conn *prev, *next;
    int fd; /* a duplicate of the connection's socket: ours to shut down and close */
    /* Monotonic ms since which a request's headers are awaited; 0 while a
     * request is served. */
    atomic_llong awaiting_since_ms;
    bool shut;
};

struct sdat_http {
    struct MHD_Daemon *daemon;
    int port;
    bool client_ca; /* verified client certificates required */
    bool tls;
    bool console_exposed; /* neither loopback nor TLS: the console answers 503 */
    struct console_state *console;
    sdat_jobs_t *jobs;
    char *state_dir;
    char *timezone; /* a restart-only key: "today" for a CP-IS lookup */
    char *(*metrics_text)(void *opaque);
    void *opaque;
    /* TLS material, kept for the daemon's lifetime. */
    char *tls_cert, *tls_key, *tls_trust;
    size_t tls_key_len;

    pthread_rwlock_t conf_lock;
    struct http_conf *conf;

    pthread_mutex_t lock; /* readiness, the store pool, counters */
    bool ready_known, store_writable, register_current, consumer_assigned, broker_up;
    sdat_store_t *stores[STORE_POOL_MAX];
    size_t n_stores;
    bool quiesced;
    int jobs_waiting;

    /* Open connections and the thread that enforces the header deadline. */
    pthread_mutex_t conns_lock;
    pthread_cond_t conns_cond;
    struct http_conn *conns;
    size_t n_conns;
    bool reaper_running, reaper_stop;
    pthread_t reaper;
    uint64_t reaped;         /* shut down, since the last log line */
    int64_t reaped_log_ms;   /* when that line was written */

    /* libmicrohttpd's messages while starting (they name the problem);
     * after start they are dropped, since they may quote request data. */
    atomic_bool started;
    char start_err[256];
};

/* ---- configuration snapshots ---- */

static void strv_free(struct sdat_strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i]);
    }
    free(v->v);
}

static int strv_copy(struct sdat_strv *to, const struct sdat_strv *from)
{
    *to = (struct sdat_strv){0};
    if (from->n == 0) {
        return 0;
    }
    to->v = calloc(from->n, sizeof *to->v);
    if (!to->v) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < from->n; i++) {
        to->v[i] = strdup(from->v[i]);
        if (!to->v[i]) {
            return -ENOMEM;
        }
        to->n++;
    }
    return 0;
}

void http_conf_unref(struct http_conf *conf)
{
    if (!conf || atomic_fetch_sub(&conf->refs, 1) != 1) {
        return;
    }
    for (size_t i = 0; i < conf->n_tokens; i++) {
        free(conf->tokens[i].name);
        strv_free(&conf->tokens[i].recipients);
        strv_free(&conf->tokens[i].ods_codes);
    }
    free(conf->tokens);
    free(conf->public_url);
    free(conf->ack_key_file);
    free(conf);
}

static struct http_conf *conf_new(const struct sdat_config *cfg)
{
    struct http_conf *conf = calloc(1, sizeof *conf);
    if (!conf) {
        return NULL;
    }
    atomic_init(&conf->refs, 1);
    conf->metrics_public = cfg->http.metrics_public;
    conf->console = cfg->http.console;
    conf->console_idle = cfg->http.console_idle > 0 ? cfg->http.console_idle : 900;
    bool failed = (cfg->http.public_url && !(conf->public_url = strdup(cfg->http.public_url))) ||
                  (cfg->http.ack_key_file &&
                   !(conf->ack_key_file = strdup(cfg->http.ack_key_file)));
    if (!failed && cfg->http.n_tokens > 0) {
        conf->tokens = calloc(cfg->http.n_tokens, sizeof *conf->tokens);
        failed = !conf->tokens;
    }
    for (size_t i = 0; !failed && i < cfg->http.n_tokens; i++) {
        const struct sdat_token *from = &cfg->http.tokens[i];
        struct http_token *t = &conf->tokens[i];
        conf->n_tokens++;
        memcpy(t->sha256, from->sha256, sizeof t->sha256);
        t->roles = from->roles;
        failed = !(t->name = strdup(from->name ? from->name : "")) ||
                 strv_copy(&t->recipients, &from->recipients) < 0 ||
                 strv_copy(&t->ods_codes, &from->ods_codes) < 0;
    }
    if (failed) {
        http_conf_unref(conf);
        return NULL;
    }
    return conf;
}

struct http_conf *http_conf_get(sdat_http_t *http)
{
    pthread_rwlock_rdlock(&http->conf_lock);
    struct http_conf *conf = http->conf;
    atomic_fetch_add(&conf->refs, 1);
    pthread_rwlock_unlock(&http->conf_lock);
    return conf;
}

bool http_client_ca(const sdat_http_t *http)
{
    return http->client_ca;
}

bool http_tls(const sdat_http_t *http)
{
    return http->tls;
}

bool http_console_exposed(const sdat_http_t *http)
{
    return http->console_exposed;
}

const char *http_timezone(const sdat_http_t *http)
{
    return http->timezone;
}

struct console_state *http_console_state(sdat_http_t *http)
{
    return http->console;
}

/* A loopback address: 127.0.0.0/8, ::1 or an IPv4-mapped 127.x. */
static bool loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)addr;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)addr)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return false;
}

void sdat_http_set_config(sdat_http_t *http, const struct sdat_config *cfg)
{
    struct http_conf *conf = conf_new(cfg);
    if (!conf) {
        log_error("http", "out of memory reloading the tokens; keeping the running ones");
        return;
    }
    pthread_rwlock_wrlock(&http->conf_lock);
    struct http_conf *old = http->conf;
    http->conf = conf;
    pthread_rwlock_unlock(&http->conf_lock);
    http_conf_unref(old);
    log_info("http", "configuration reloaded tokens=%zu", conf->n_tokens);
}

/* ---- stores, jobs, readiness ---- */

sdat_store_t *http_store_get(sdat_http_t *http)
{
    sdat_store_t *st = NULL;
    pthread_mutex_lock(&http->lock);
    if (http->n_stores > 0) {
        st = http->stores[--http->n_stores];
    }
    pthread_mutex_unlock(&http->lock);
    if (st) {
        return st;
    }
    char err[512];
    if (sdat_store_open(http->state_dir, SDAT_STORE_READONLY, &st, err, sizeof err) < 0) {
        log_warn("http", "cannot open the store read-only: %s", err);
        return NULL;
    }
    return st;
}

void http_store_put(sdat_http_t *http, sdat_store_t *st)
{
    if (!st) {
        return;
    }
    pthread_mutex_lock(&http->lock);
    if (http->n_stores < STORE_POOL_MAX) {
        http->stores[http->n_stores++] = st;
        st = NULL;
    }
    pthread_mutex_unlock(&http->lock);
    sdat_store_close(st);
}

int http_job(sdat_http_t *http, sdat_job_fn fn, void *arg)
{
    pthread_mutex_lock(&http->lock);
    bool refused = http->quiesced || !http->jobs;
    if (!refused) {
        http->jobs_waiting++;
    }
    pthread_mutex_unlock(&http->lock);
    if (refused) {
        return -ESHUTDOWN;
    }
    int r = sdat_jobs_run(http->jobs, fn, arg, HTTP_JOB_TIMEOUT_MS);
    pthread_mutex_lock(&http->lock);
    http->jobs_waiting--;
    pthread_mutex_unlock(&http->lock);
    return r;
}

void http_job_failed(struct http_answer *ret, int r)
{
    switch (r) {
    case -ETIMEDOUT:
        http_error(ret, 503, "unavailable", "the writer did not take the request in time");
        break;
    case -ESHUTDOWN:
        http_error(ret, 503, "unavailable", "the daemon is stopping");
        break;
    case -EIO:
    case -ENOSPC:
        http_error(ret, 503, "unavailable", "the store did not accept the change");
        break;
    default:
        http_error(ret, 500, "internal", strerror(-r));
        break;
    }
}

int sdat_http_jobs_waiting(sdat_http_t *http)
{
    pthread_mutex_lock(&http->lock);
    int n = http->jobs_waiting;
    pthread_mutex_unlock(&http->lock);
    return n;
}

void sdat_http_set_ready(sdat_http_t *http, bool store_writable, bool register_current,
                         bool consumer_assigned, bool broker_up)
{
    pthread_mutex_lock(&http->lock);
    http->ready_known = true;
    http->store_writable = store_writable;
    http->register_current = register_current;
    http->consumer_assigned = consumer_assigned;
    http->broker_up = broker_up;
    pthread_mutex_unlock(&http->lock);
}

json_t *http_readiness(sdat_http_t *http, bool *ret_ready)
{
    json_t *reasons = json_array();
    pthread_mutex_lock(&http->lock);
    if (!http->ready_known) {
        json_array_append_new(reasons, json_string("starting"));
    } else {
        if (!http->store_writable) {
            json_array_append_new(reasons, json_string("store not writable"));
        }
        if (!http->register_current) {
            json_array_append_new(reasons, json_string("register not current"));
        }
        if (!http->consumer_assigned) {
            json_array_append_new(reasons, json_string("consumer not assigned"));
        }
        if (!http->broker_up) {
            json_array_append_new(reasons, json_string("broker unreachable"));
        }
    }
    pthread_mutex_unlock(&http->lock);
    *ret_ready = json_array_size(reasons) == 0;
    if (*ret_ready) {
        json_decref(reasons);
        return json_pack("{s:b}", "ready", 1);
    }
    return json_pack("{s:b, s:o}", "ready", 0, "reasons", reasons);
}

char *http_metrics_text(sdat_http_t *http)
{
    return http->metrics_text ? http->metrics_text(http->opaque) : NULL;
}

const char *http_query(struct http_request *req, const char *name)
{
    return MHD_lookup_connection_value(req->connection, MHD_GET_ARGUMENT_KIND, name);
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
    sdat_http_t *http = cls;
    if (atomic_load(&http->started)) {
        return;
    }
    vsnprintf(http->start_err, sizeof http->start_err, fmt, ap);
    size_t len = strlen(http->start_err);
    while (len > 0 && (http->start_err[len - 1] == '\n' || http->start_err[len - 1] == ' ')) {
        http->start_err[--len] = '\0';
    }
}

/* ---- connections: the header deadline ---- */

void http_conn_started(sdat_http_t *http, struct MHD_Connection *connection,
                       void **socket_context)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_CONNECTION_FD);
    struct http_conn *c = calloc(1, sizeof *c);
    if (!c) {
        return; /* untracked: libmicrohttpd's idle timeout still applies */
    }
    c->fd = info ? fcntl(info->connect_fd, F_DUPFD_CLOEXEC, 0) : -1;
    if (c->fd < 0) {
        free(c);
        return;
    }
    atomic_init(&c->awaiting_since_ms, (long long)sdat_time_mono_ms());
    pthread_mutex_lock(&http->conns_lock);
    c->next = http->conns;
    if (c->next) {
        c->next->prev = c;
    }
    http->conns = c;
    http->n_conns++;
    pthread_mutex_unlock(&http->conns_lock);
    *socket_context = c;
}

void http_conn_closed(sdat_http_t *http, void **socket_context)
{
    struct http_conn *c = *socket_context;
    if (!c) {
        return;
    }
    pthread_mutex_lock(&http->conns_lock);
    if (c->prev) {
        c->prev->next = c->next;
    } else {
        http->conns = c->next;
    }
    if (c->next) {
        c->next->prev = c->prev;
    }
    http->n_conns--;
    pthread_mutex_unlock(&http->conns_lock);
    close(c->fd);
    free(c);
    *socket_context = NULL;
}

void http_conn_serving(struct MHD_Connection *connection, bool serving)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(connection, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct http_conn *c = info ? info->socket_context : NULL;
    if (c) {
        atomic_store(&c->awaiting_since_ms, serving ? 0 : (long long)sdat_time_mono_ms());
    }
}

/* Shuts down every connection whose request headers are overdue. The
 * duplicate descriptor stays open until libmicrohttpd reports the
 * connection closed (http_conn_closed, under conns_lock), so the number
 * shut down is never another connection's. */
static void *conn_reaper(void *arg)
{
    sdat_http_t *http = arg;
    pthread_mutex_lock(&http->conns_lock);
    while (!http->reaper_stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += (long)REAPER_PERIOD_MS * 1000000L;
        until.tv_sec += until.tv_nsec / 1000000000L;
        until.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&http->conns_cond, &http->conns_lock, &until);
        int64_t now = sdat_time_mono_ms();
        for (struct http_conn *c = http->conns; c && !http->reaper_stop; c = c->next) {
            long long since = atomic_load(&c->awaiting_since_ms);
            if (!c->shut && since > 0 && now - since >= HEADER_DEADLINE_MS) {
                shutdown(c->fd, SHUT_RDWR);
                c->shut = true;
                http->reaped++;
            }
        }
        if (http->reaped > 0 && now - http->reaped_log_ms >= REAPER_LOG_EVERY_MS) {
            log_info("http", "closed connections=%llu without a request's headers within %d s",
                     (unsigned long long)http->reaped, HEADER_DEADLINE_MS / 1000);
            http->reaped = 0;
            http->reaped_log_ms = now;
        }
    }
    pthread_mutex_unlock(&http->conns_lock);
    return NULL;
}

static void reaper_stop(sdat_http_t *http)
{
    if (!http->reaper_running) {
        return;
    }
    pthread_mutex_lock(&http->conns_lock);
    http->reaper_stop = true;
    pthread_cond_signal(&http->conns_cond);
    pthread_mutex_unlock(&http->conns_lock);
    pthread_join(http->reaper, NULL);
    http->reaper_running = false;
}

/* ---- start and stop ---- */

static int read_text_file(const char *key, const char *path, char **ret, char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        int r = -errno;
        snprintf(err, errlen, "%s: \"%s\": %s", key, path, strerror(-r));
        return r;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0, n;
    char chunk[4096];
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        if (len + n + 1 > cap) {
            cap = (len + n + 1) * 2;
            char *grown = realloc(buf, cap);
            if (!grown) {
                free(buf);
                fclose(f);
                return -ENOMEM;
            }
            buf = grown;
        }
        memcpy(buf + len, chunk, n);
        len += n;
    }
    fclose(f);
    if (!buf) {
        snprintf(err, errlen, "%s: \"%s\": empty file", key, path);
        return -EINVAL;
    }
    buf[len] = '\0';
    *ret = buf;
    return 0;
}

static void http_free(sdat_http_t *http)
{
    for (size_t i = 0; i < http->n_stores; i++) {
        sdat_store_close(http->stores[i]);
    }
    http_conf_unref(http->conf);
    console_state_free(http->console);
    if (http->tls_key) {
        OPENSSL_cleanse(http->tls_key, http->tls_key_len);
    }
    free(http->tls_key);
    free(http->tls_cert);
    free(http->tls_trust);
    free(http->state_dir);
    free(http->timezone);
    pthread_rwlock_destroy(&http->conf_lock);
    pthread_mutex_destroy(&http->lock);
    pthread_cond_destroy(&http->conns_cond);
    pthread_mutex_destroy(&http->conns_lock);
    free(http);
}

static int load_tls(sdat_http_t *http, const struct sdat_config *cfg, char *err, size_t errlen)
{
    char key_err[512] = "";
    int r = read_text_file("http.tls_cert", cfg->http.tls_cert, &http->tls_cert, err, errlen);
    if (r < 0) {
        return r;
    }
    char *key = NULL;
    size_t key_len = 0;
    r = sdat_secret_read(cfg->http.tls_key, &key, &key_len, key_err, sizeof key_err);
    if (r < 0) {
        snprintf(err, errlen, "http.tls_key: %s", key_err);
        return r;
    }
    /* NUL-terminated for libmicrohttpd; the trailing newline is PEM's. */
    http->tls_key = malloc(key_len + 2);
    if (!http->tls_key) {
        OPENSSL_cleanse(key, key_len);
        free(key);
        return -ENOMEM;
    }
    memcpy(http->tls_key, key, key_len);
    http->tls_key[key_len] = '\n';
    http->tls_key[key_len + 1] = '\0';
    http->tls_key_len = key_len + 2;
    OPENSSL_cleanse(key, key_len);
    free(key);
    if (cfg->http.client_ca && *cfg->http.client_ca) {
        r = read_text_file("http.client_ca", cfg->http.client_ca, &http->tls_trust, err, errlen);
        if (r < 0) {
            return r;
        }
        http->client_ca = true;
    }
    return 0;
}

int sdat_http_start(const struct sdat_config *cfg, const struct sdat_http_hooks *hooks,
                    sdat_http_t **ret, char *err, size_t errlen)
{
    struct sockaddr_storage addr;
    const char *listen = cfg->http.listen ? cfg->http.listen : "127.0.0.1:8080";
    char listen_err[300];
    int r = sdat_listen_parse(listen, &addr, listen_err, sizeof listen_err);
    if (r < 0) {
        snprintf(err, errlen, "http.listen: %s", listen_err);
        return r;
    }
    sdat_http_t *http = calloc(1, sizeof *http);
    if (!http) {
        return -ENOMEM;
    }
    pthread_rwlock_init(&http->conf_lock, NULL);
    pthread_mutex_init(&http->lock, NULL);
    pthread_mutex_init(&http->conns_lock, NULL);
    pthread_condattr_t cond_attr;
    pthread_condattr_init(&cond_attr);
    pthread_condattr_setclock(&cond_attr, CLOCK_MONOTONIC);
    pthread_cond_init(&http->conns_cond, &cond_attr);
    pthread_condattr_destroy(&cond_attr);
    http->jobs = hooks->jobs;
    http->metrics_text = hooks->metrics_text;
    http->opaque = hooks->opaque;
    http->state_dir = strdup(hooks->state_dir ? hooks->state_dir : cfg->state_dir);
    http->timezone = strdup(cfg->timezone ? cfg->timezone : "Europe/London");
    http->conf = conf_new(cfg);
    http->console = console_state_new();
    if (!http->state_dir || !http->timezone || !http->conf || !http->console) {
        r = -ENOMEM;
        goto fail;
    }
    bool tls = cfg->http.tls_cert && *cfg->http.tls_cert && cfg->http.tls_key && *cfg->http.tls_key;
    http->tls = tls;
    http->console_exposed = !tls && !loopback(&addr);
    if (tls) {
        r = load_tls(http, cfg, err, errlen);
        if (r < 0) {
            goto fail;
        }
    } else if (cfg->http.client_ca && *cfg->http.client_ca) {
        snprintf(err, errlen, "http.client_ca: needs http.tls_cert and http.tls_key");
        r = -EINVAL;
        goto fail;
    }

    unsigned flags = MHD_USE_EPOLL_INTERNAL_THREAD | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    if (addr.ss_family == AF_INET6) {
        flags |= MHD_USE_IPv6;
    }
    struct MHD_OptionItem options[16];
    size_t n = 0;
#define OPT(o, v, p) (options[n++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)})
    OPT(MHD_OPTION_SOCK_ADDR, 0, &addr);
    OPT(MHD_OPTION_THREAD_POOL_SIZE, POOL_THREADS, NULL);
    OPT(MHD_OPTION_CONNECTION_TIMEOUT, IDLE_TIMEOUT_S, NULL);
    OPT(MHD_OPTION_CONNECTION_LIMIT, CONNECTIONS_MAX, NULL);
    OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, CONNECTIONS_PER_ADDRESS, NULL);
    OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)http_on_completed, NULL);
    OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)http_on_connection, http);
    OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, http);
    if (tls) {
        flags |= MHD_USE_TLS;
        OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, http->tls_cert);
        OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, http->tls_key);
        OPT(MHD_OPTION_HTTPS_PRIORITIES, 0, "NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2");
        if (http->client_ca) {
            OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, http->tls_trust);
        }
    }
    OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
    http->daemon = MHD_start_daemon(flags, 0, NULL, NULL, http_on_request, http, MHD_OPTION_ARRAY,
                                    options, MHD_OPTION_END);
    if (!http->daemon) {
        snprintf(err, errlen, "http.listen: cannot serve on \"%s\"%s%s", listen,
                 http->start_err[0] ? ": " : "", http->start_err);
        r = -EADDRNOTAVAIL;
        goto fail;
    }
    atomic_store(&http->started, true);
    if (pthread_create(&http->reaper, NULL, conn_reaper, http) != 0) {
        MHD_stop_daemon(http->daemon);
        http->daemon = NULL;
        snprintf(err, errlen, "http: cannot start the connection reaper thread");
        r = -EAGAIN;
        goto fail;
    }
    http->reaper_running = true;
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(http->daemon, MHD_DAEMON_INFO_BIND_PORT);
    http->port = info ? (int)info->port : 0;
    log_info("http",
             "listening on %s port=%d%s%s connections_max=%d per_address=%d header_deadline_s=%d",
             listen, http->port, tls ? " tls" : "", http->client_ca ? " client-certificates" : "",
             CONNECTIONS_MAX, CONNECTIONS_PER_ADDRESS, HEADER_DEADLINE_MS / 1000);
    *ret = http;
    return 0;
fail:
    http_free(http);
    return r;
}

void sdat_http_quiesce(sdat_http_t *http)
{
    if (!http) {
        return;
    }
    pthread_mutex_lock(&http->lock);
    bool first = !http->quiesced;
    http->quiesced = true;
    pthread_mutex_unlock(&http->lock);
    if (first && http->daemon) {
        MHD_socket fd = MHD_quiesce_daemon(http->daemon);
        if (fd != MHD_INVALID_SOCKET) {
            close(fd);
        }
    }
}

void sdat_http_stop(sdat_http_t *http)
{
    if (!http) {
        return;
    }
    pthread_mutex_lock(&http->lock);
    http->quiesced = true;
    pthread_mutex_unlock(&http->lock);
    if (http->daemon) {
        MHD_stop_daemon(http->daemon); /* every connection closed */
    }
    reaper_stop(http);
    http_free(http);
}

int sdat_http_port(const sdat_http_t *http)
{
    return http->port;
}
