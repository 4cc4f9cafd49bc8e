/* http-drive: the HTTP API server over a real store, with the daemon's
 * writer loop reduced to draining jobs, for tests/integration/test_http.sh
 * (the role matrix, bodies, TLS) without Kafka.
 *
 *   http-drive CONFIG [--port-file F] [--seed] [--ingest FILE]
 *
 * Opens STATE_DIR's store as the writer, then optionally:
 *   --seed         inserts notifications n_http_delivered_1 and
 *                  n_http_delivered_2 (delivered, school:100001, with two
 *                  attempts), n_http_other (delivered, school:100002) and
 *                  n_http_scheduled (scheduled, school:100001);
 *   --ingest FILE  hands each line of FILE to the engine as a message on
 *                  the police incidents topic (key FORCE/INCIDENT_ID when the
 *                  line is an object that has them, else "bad/N"): incidents
 *                  become notifications or review items, anything else a
 *                  dead letter.
 * Then serves http.listen and writes the bound port to F (or stdout).
 * Signals: SIGUSR1 reports every readiness condition true; SIGUSR2 reports
 * the store open and the consumer assigned but the register not current
 * and the broker unreachable; SIGHUP reloads CONFIG's tokens, public_url
 * and metrics_public; SIGTERM/SIGINT stop. Exit 0, or 2 on set-up errors. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "outbox/outbox.h"
#include "engine/engine.h"
#include "decide/decide.h"
#include "config/config.h"
#include "http/http.h"
#include "util/util.h"
#include "store/store.h"

static volatile sig_atomic_t stop_requested, reload_requested, ready_signal;
static int wake_pipe[2] = {-1, -1};

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
    } else if (sig == SIGUSR1) {
        ready_signal = 1;
    } else if (sig == SIGUSR2) {
        ready_signal = 2;
    } else {
        stop_requested = 1;
    }
    int saved = errno;
    (void)!write(wake_pipe[1], "s", 1);
    errno = saved;
}

static void wake(void *opaque)
{
    (void)opaque;
    (void)!write(wake_pipe[1], "j", 1);
}

static char *metrics(void *opaque)
{
    (void)opaque;
    return sdat_metrics_text();
}

static int seed(sdat_store_t *st, int64_t now)
{
    static const struct {
        const char *id, *recipient, *state;
    } rows[] = {
        {"n_http_delivered_1", "school:100001", "delivered"},
        {"n_http_delivered_2", "school:100001", "delivered"},
        {"n_http_other", "school:100002", "delivered"},
        {"n_http_scheduled", "school:100001", "scheduled"},
    };
    int r = sdat_store_begin(st);
    for (size_t i = 0; r == 0 && i < sizeof rows / sizeof rows[0]; i++) {
        struct sdat_notification n = {
            .kind = "da-incident",
            .recipient = rows[i].recipient,
            .source_key = "derbyshire/HTTP-SEED",
            .source_version = 1,
            .child_ref = "c1",
            .state = rows[i].state,
            .created_ms = now - 60000,
            .scheduled_ms = now - 60000,
            .next_attempt_ms = now + 86400000,
            .attempts = 2,
            .payload = "{\"kind\":\"da-incident\",\"schema\":\"sdat.notification/1\"}",
            .payload_sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
        };
        snprintf(n.id, sizeof n.id, "%s", rows[i].id);
        r = sdat_store_notification_insert(st, &n);
        if (r >= 0) {
            r = sdat_store_attempt_insert(st, n.id, 1, now - 50000, "retry", "HTTP 500");
        }
        if (r >= 0) {
            r = sdat_store_attempt_insert(st, n.id, 2, now - 40000, "done", "HTTP 201");
        }
        r = r > 0 ? 0 : r;
    }
    if (r == 0) {
        return sdat_store_commit(st);
    }
    sdat_store_rollback(st);
    return r;
}

static int ingest_file(struct sdat_engine *e, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        fprintf(stderr, "http-drive: cannot open %s: %s\n", path, strerror(errno));
        return -errno;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int64_t offset = 0;
    int r = 0;
    while (r == 0 && (len = getline(&line, &cap, f)) > 0) {
        if (line[len - 1] == '\n') {
            line[--len] = '\0';
        }
        char key[256];
        json_t *doc = json_loadb(line, (size_t)len, 0, NULL);
        const char *force = json_string_value(json_object_get(doc, "force"));
        const char *id = json_string_value(json_object_get(doc, "incident_id"));
        if (force && id) {
            snprintf(key, sizeof key, "%s/%s", force, id);
        } else {
            snprintf(key, sizeof key, "bad/%lld", (long long)offset);
        }
        json_decref(doc);
        struct sdat_inbound m = {.topic = e->cfg->topics.police_incidents,
                                 .partition = 0,
                                 .offset = offset++,
                                 .key = key,
                                 .key_len = strlen(key),
                                 .value = line,
                                 .value_len = (size_t)len};
        r = sdat_engine_ingest(e, &m, sdat_time_now_ms());
    }
    free(line);
    fclose(f);
    return r;
}

struct options {
    const char *config_path, *port_file, *ingest_path;
    bool seeding;
};

/* The writer's side of the daemon; close_drive releases what was set up. */
struct drive {
    struct sdat_config *cfg;
    sdat_store_t *st;
    sdat_schemas_t *schemas;
    sdat_audit_t *audit;
    sdat_jobs_t *jobs;
    sdat_http_t *http;
    struct sdat_engine engine;
};

/* 0, or -EINVAL for a command line that is not the one in the usage. */
static int parse_options(int argc, char **argv, struct options *ret_opts)
{
    struct options opts = {0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc) {
            opts.port_file = argv[++i];
        } else if (strcmp(argv[i], "--ingest") == 0 && i + 1 < argc) {
            opts.ingest_path = argv[++i];
        } else if (strcmp(argv[i], "--seed") == 0) {
            opts.seeding = true;
        } else if (!opts.config_path && argv[i][0] != '-') {
            opts.config_path = argv[i];
        } else {
            return -EINVAL;
        }
    }
    if (!opts.config_path) {
        return -EINVAL;
    }
    *ret_opts = opts;
    return 0;
}

/* Opens the store as the writer and makes what the engine and the jobs
 * need, then seeds and ingests as asked. Reports its own errors. */
static int set_up(struct drive *d, const struct options *opts)
{
    char err[512];
    if (sdat_store_open(d->cfg->state_dir, SDAT_STORE_WRITER, &d->st, err, sizeof err) < 0 ||
        sdat_schemas_new(&d->schemas, err, sizeof err) < 0) {
        fprintf(stderr, "http-drive: %s\n", err);
        return -1;
    }
    if (sdat_audit_new(d->cfg->instance_id, &d->audit) < 0 || sdat_jobs_new(&d->jobs) < 0 ||
        pipe2(wake_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
        fprintf(stderr, "http-drive: cannot set up\n");
        return -1;
    }
    d->engine =
        (struct sdat_engine){.cfg = d->cfg, .st = d->st, .audit = d->audit, .schemas = d->schemas};
    if (opts->seeding && seed(d->st, sdat_time_now_ms()) < 0) {
        fprintf(stderr, "http-drive: cannot seed: %s\n", sdat_store_errmsg(d->st));
        return -1;
    }
    if (opts->ingest_path && ingest_file(&d->engine, opts->ingest_path) < 0) {
        fprintf(stderr, "http-drive: cannot ingest %s\n", opts->ingest_path);
        return -1;
    }
    return 0;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* Starts the API server and writes its port to port_file, or to stdout
 * when port_file is NULL. */
static int start_server(struct drive *d, const char *port_file)
{
    char err[512];
    sdat_jobs_set_wake(d->jobs, wake, NULL);
    struct sdat_http_hooks hooks = {
        .jobs = d->jobs, .state_dir = d->cfg->state_dir, .metrics_text = metrics};
    if (sdat_http_start(d->cfg, &hooks, &d->http, err, sizeof err) < 0) {
        fprintf(stderr, "http-drive: %s\n", err);
        return -1;
    }
    FILE *pf = port_file ? fopen(port_file, "we") : stdout;
    if (!pf) {
        fprintf(stderr, "http-drive: cannot write %s\n", port_file);
        return -1;
    }
    fprintf(pf, "%d\n", sdat_http_port(d->http));
    if (pf != stdout) {
        fclose(pf);
    } else {
        fflush(stdout);
    }
    return 0;
}

/* SIGHUP: the server takes the fresh configuration, keeping the settings
 * that need a restart; a configuration that does not load is reported and
 * the current one kept. */
static void reload_config(struct drive *d, const char *config_path)
{
    struct sdat_config *fresh = NULL;
    char *errors = NULL;
    if (sdat_config_load(config_path, sdat_connector_key_tables(), &fresh, &errors) == 0) {
        sdat_http_set_config(d->http, fresh);
        sdat_config_keep_restart_only(fresh, d->cfg);
        d->engine.cfg = fresh;
        sdat_config_free(d->cfg);
        d->cfg = fresh;
    } else {
        fputs(errors ? errors : "http-drive: reload failed\n", stderr);
    }
    free(errors);
}

/* The daemon's writer loop reduced to signals and jobs, until SIGTERM or
 * SIGINT. */
static void serve(struct drive *d, const char *config_path)
{
    while (!stop_requested) {
        struct pollfd pfd = {.fd = wake_pipe[0], .events = POLLIN};
        poll(&pfd, 1, 200);
        char buf[64];
        while (read(wake_pipe[0], buf, sizeof buf) > 0) {
        }
        if (reload_requested) {
            reload_requested = 0;
            reload_config(d, config_path);
        }
        if (ready_signal) {
            bool all = ready_signal == 1;
            ready_signal = 0;
            sdat_http_set_ready(d->http, true, all, true, all);
        }
        if (sdat_jobs_drain(d->jobs, &d->engine, sdat_time_now_ms()) < 0) {
            fprintf(stderr, "http-drive: jobs failed: %s\n", sdat_store_errmsg(d->st));
        }
    }
}

/* The shutdown order the daemon follows: no new requests, the jobs already
 * asked for are run (for at most 5 s), then the server stops (close_drive). */
static void quiesce(struct drive *d)
{
    sdat_http_quiesce(d->http);
    int64_t until = sdat_time_mono_ms() + 5000;
    while (sdat_http_jobs_waiting(d->http) > 0 && sdat_time_mono_ms() < until) {
        sdat_jobs_drain(d->jobs, &d->engine, sdat_time_now_ms());
        usleep(10000);
    }
}

/* Accepts a drive set up only in part. */
static void close_drive(struct drive *d)
{
    sdat_http_stop(d->http);
    sdat_jobs_free(d->jobs);
    sdat_audit_free(d->audit);
    sdat_schemas_free(d->schemas);
    sdat_store_close(d->st);
    sdat_config_free(d->cfg);
}

int main(int argc, char **argv)
{
    struct options opts;
    if (parse_options(argc, argv, &opts) < 0) {
        fprintf(stderr, "usage: http-drive CONFIG [--port-file F] [--seed] [--ingest FILE]\n");
        return 2;
    }
    struct drive d = {0};
    char *errors = NULL;
    if (sdat_config_load(opts.config_path, sdat_connector_key_tables(), &d.cfg, &errors) < 0) {
        fputs(errors ? errors : "http-drive: cannot load the configuration\n", stderr);
        free(errors);
        return 2;
    }
    free(errors);
    sdat_log_setup(d.cfg->log_level, d.cfg->log_format);

    int rc = 2;
    if (set_up(&d, &opts) < 0) {
        goto out;
    }
    install_signals();
    if (start_server(&d, opts.port_file) < 0) {
        goto out;
    }
    serve(&d, opts.config_path);
    quiesce(&d);
    rc = 0;
out:
    close_drive(&d);
    return rc;
}
