/* The HTTP API (interfaces.md "HTTP API"), served by libmicrohttpd from its
 * own thread pool. Reads go to read-only store handles owned by the server;
 * every write is a job run on the daemon's one writer thread (jobs.h).
 *
 * Checks run in the order the interface fixes: 404/405, 401, 403, 413, 400,
 * then 409/503. Request paths and bodies are never logged (CP-IS paths hold
 * NHS numbers): a request is logged at debug as method, route name, status
 * and duration. */
#ifndef SDAT_HTTP_H
#define SDAT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "engine/engine.h"

typedef struct sdat_http sdat_http_t;

struct sdat_http_hooks {
    sdat_jobs_t *jobs;     /* writes go through sdat_jobs_run(jobs, fn, arg, 10000) */
    const char *state_dir; /* read-only stores are opened here; copied */
    /* Prometheus text for /metrics (malloc'd), or NULL when unavailable.
     * Called from the server's threads. */
    char *(*metrics_text)(void *opaque);
    void *opaque;
};

/* Starts listening on cfg->http.listen ("HOST:PORT", IPv4 or [IPv6]); TLS
 * when tls_cert and tls_key are set (the key read with sdat_secret_read),
 * verified client certificates required when client_ca is set. A pool of
 * server threads. cfg is copied (what the server needs of it); hooks->jobs
 * is borrowed and must outlive the server. 0 and *ret, or a negative errno
 * with err naming the key. */
int sdat_http_start(const struct sdat_config *cfg, const struct sdat_http_hooks *hooks,
                    sdat_http_t **ret, char *err, size_t errlen);
/* Stops accepting connections and waits for the requests in flight (a
 * request waiting for a job waits for it: see sdat_http_quiesce). Accepts
 * NULL. Call before sdat_jobs_free. */
void sdat_http_stop(sdat_http_t *http);
/* Shutdown, first step: no new connections; requests that would queue a job
 * answer 503 from now on. The writer keeps draining jobs until
 * sdat_http_jobs_waiting() is 0, then calls sdat_http_stop. */
void sdat_http_quiesce(sdat_http_t *http);
/* Requests waiting for a job now. */
int sdat_http_jobs_waiting(sdat_http_t *http);
/* SIGHUP: swaps in a new configuration's tokens, public_url, ack_key_file
 * and metrics_public; requests in flight finish with the old ones. Thread-safe;
 * cfg is copied, so the old configuration may be freed after this returns.
 * (The listen address and the TLS files are read at start only.) */
void sdat_http_set_config(sdat_http_t *http, const struct sdat_config *cfg);
/* The main loop reports readiness (store_writable: the store accepts
 * writes: no event held, deliveries recorded); each false condition adds a
 * reason to /readyz's 503 body. Until the first call /readyz answers 503
 * "starting". */
void sdat_http_set_ready(sdat_http_t *http, bool store_writable, bool register_current,
                         bool consumer_assigned, bool broker_up);
/* The port actually bound (listen with port 0 binds a free one). */
int sdat_http_port(const sdat_http_t *http);

#endif
