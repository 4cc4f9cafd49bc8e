/* sdatd: the safeguarding notification daemon. Runs in the foreground; one
 * writer thread (this main loop) owns the store: it consumes events, commits
 * each event's effects before storing its offset, and delivers what is due. */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <librdkafka/rdkafka.h>

#include "engine/engine.h"
#include "decide/decide.h"
#include "kafka/kafka.h"
#include "config/config.h"
#include "outbox/connector.h"
#include "http/http.h"
#include "util/util.h"
#include "outbox/outbox.h"
#include "sdatd.h"
#include "store/store.h"

#define EXIT_CONFIG 78
#define DEFAULT_CONFIG SDAT_SYSCONFDIR "/sdat/sdatd.conf"

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t reload_requested;

static void on_signal(int sig)
{
    if (sig == SIGHUP) {
        reload_requested = 1;
    } else {
        stop_requested = 1;
    }
}

/* The configuration's log settings, unless the command line overrides them. */
static void setup_logging(const struct daemon *d, const struct sdat_config *cfg)
{
    sdat_log_setup(d->log_level >= 0 ? (enum sdat_log_level)d->log_level : cfg->log_level,
                   d->log_format >= 0 ? (enum sdat_log_format)d->log_format : cfg->log_format);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: sdatd [-c FILE] [-t [--keys DIR]] [-V] [-h] [--log-level LEVEL] "
                 "[--log-format FORMAT]\n"
                 "  -c FILE  configuration (default %s)\n"
                 "  -t       check the configuration and exit (0 valid, 78 invalid)\n"
                 "  --keys DIR  with -t outside the unit: read \"$CREDENTIALS_DIRECTORY/keys_NAME\"\n"
                 "           as DIR/NAME (the unit's LoadCredential=keys:DIR)\n"
                 "  -V       print the version and exit\n"
                 "  -h       this help\n"
                 "  --log-level error|warn|info|debug, --log-format text|json\n"
                 "           override log_level and log_format, also across reloads\n",
                 DEFAULT_CONFIG);
}

/* Loads and fully checks a configuration: the table's checks and each
 * recipient's connector keys. Prints every problem to stderr. */
static int load_config(const char *path, struct sdat_config **ret_cfg, bool running)
{
    char *errors = NULL;
    struct sdat_config *cfg = NULL;
    int r = sdat_config_load_checked(path, sdat_connector_key_tables(), sdat_connector_check, &cfg,
                                     &errors);
    if (errors && running) {
        /* A reload's problems go through the log, in its format. */
        for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n")) {
            log_error("config", "%s", line);
        }
    } else if (errors) {
        fputs(errors, stderr);
    }
    free(errors);
    if (r < 0) {
        sdat_config_free(cfg);
        return r;
    }
    *ret_cfg = cfg;
    return 0;
}

static int write_bootstrap_file(const struct sdat_config *cfg, const char *bootstrap)
{
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/bootstrap.servers", cfg->state_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "we");
    if (!f) {
        return -errno;
    }
    fprintf(f, "%s\n", bootstrap);
    if (fclose(f) != 0 || rename(tmp, path) < 0) {
        return -errno;
    }
    return 0;
}

/* Every 2 s: can the cluster be reached? */
static void *probe_broker(void *opaque)
{
    struct daemon *d = opaque;
    while (!atomic_load(&d->probe_stop)) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t e = rd_kafka_metadata(d->producer, 0, NULL, &md, 1000);
        bool up = e == RD_KAFKA_RESP_ERR_NO_ERROR && md && md->broker_cnt > 0;
        if (md) {
            rd_kafka_metadata_destroy(md);
        }
        if (up != atomic_load(&d->broker_up)) {
            atomic_store(&d->broker_up, up);
            if (up) {
                log_info("kafka", "broker reachable");
            } else {
                log_warn("kafka", "broker unreachable: %s", rd_kafka_err2str(e));
            }
        }
        for (int i = 0; i < 20 && !atomic_load(&d->probe_stop); i++) {
            usleep(100 * 1000);
        }
    }
    return NULL;
}

static char *metrics_text(void *opaque)
{
    (void)opaque;
    return sdat_metrics_text();
}

/* A job was queued by another thread: stop waiting for Kafka. */
static void wake_main_loop(void *opaque)
{
    struct daemon *d = opaque;
    if (d->consumer_queue) {
        rd_kafka_queue_yield(d->consumer_queue);
    }
}

static int start_kafka(struct daemon *d)
{
    const struct sdat_config *cfg = d->cfg;
    char err[512], errstr[512];
    rd_kafka_conf_t *conf = NULL;
    int r;

    if (cfg->kafka.embedded) {
        r = sdat_broker_start(cfg->kafka.embedded_brokers, &d->broker, err, sizeof err);
        if (r < 0) {
            log_error("kafka", "embedded broker: %s", err);
            return r;
        }
        const char *topics[] = {cfg->topics.police_incidents, cfg->topics.health_attendances,
                                cfg->topics.council_children, cfg->topics.council_flags,
                                cfg->topics.cpis_responses,   cfg->topics.dead_letter,
                                cfg->topics.audit};
        for (size_t i = 0; i < sizeof topics / sizeof topics[0]; i++) {
            sdat_broker_create_topic(d->broker, topics[i], 4);
        }
        r = write_bootstrap_file(cfg, sdat_broker_bootstraps(d->broker));
        if (r < 0) {
            log_error("kafka", "cannot write %s/bootstrap.servers: %s", cfg->state_dir,
                      strerror(-r));
            return r;
        }
        log_info("kafka", "embedded broker listening bootstrap=%s",
                 sdat_broker_bootstraps(d->broker));
    }
    r = sdat_kafka_bootstrap(cfg, &d->bootstrap, err, sizeof err);
    if (r < 0) {
        log_error("kafka", "%s", err);
        return r;
    }

    r = sdat_kafka_consumer_new(cfg, d->bootstrap, &d->consumer, err, sizeof err);
    if (r < 0) {
        log_error("kafka", "%s", err);
        return r;
    }
    d->unassigned_since_mono_ms = sdat_time_mono_ms();
    log_info("kafka", "subscribed as group %s member %s; waiting for partition assignment",
             cfg->kafka.group_id, cfg->instance_id);
    r = sdat_kafka_conf_new(cfg, d->bootstrap, &conf, err, sizeof err);
    if (r < 0) {
        log_error("kafka", "%s", err);
        return r;
    }
    rd_kafka_conf_set(conf, "enable.idempotence", "true", NULL, 0);
    struct sdat_mirror_topics mt = {.dead_letter = cfg->topics.dead_letter,
                                    .cpis_responses = cfg->topics.cpis_responses,
                                    .audit = cfg->topics.audit,
                                    .instance = cfg->instance_id};
    r = sdat_mirror_new(&mt, &d->mirror);
    if (r < 0) {
        rd_kafka_conf_destroy(conf);
        return r;
    }
    sdat_mirror_conf_hook(d->mirror, conf);
    d->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!d->producer) {
        log_error("kafka", "cannot create the producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return -EIO;
    }
    r = sdat_regfeed_new(cfg, d->bootstrap, &d->regfeed, err, sizeof err);
    if (r < 0) {
        log_error("kafka", "%s", err);
        return r;
    }
    d->started_mono_ms = d->register_said_mono_ms = sdat_time_mono_ms();
    d->consumer_queue = rd_kafka_queue_get_consumer(d->consumer);
    atomic_store(&d->broker_up, true);
    if (pthread_create(&d->probe, NULL, probe_broker, d) == 0) {
        d->probe_started = true;
    }
    sdat_mirror_attach(d->mirror, d->producer);
    return 0;
}

static int start(struct daemon *d)
{
    char err[512];
    int r;

    r = sdat_store_open(d->cfg->state_dir, SDAT_STORE_WRITER, &d->st, err, sizeof err);
    if (r < 0) {
        log_error("store", "%s", err);
        return r;
    }
    /* Matching reads the register from memory from now on (this process is
     * the only writer while it runs: the store's lock). */
    int64_t began_ms = sdat_time_now_ms(), n_children = 0;
    r = sdat_store_register_index_load(d->st);
    if (r < 0) {
        log_warn("store", "cannot load the register index: %s; matching reads the store, ignoring",
                 strerror(-r));
    }
    d->index_loaded = r >= 0;
    sdat_metrics_set(SDAT_M_REGISTER_INDEX, d->index_loaded ? 1.0 : 0.0);
    if (r >= 0 && sdat_store_child_count(d->st, &n_children) == 0) {
        log_info("store", "register index loaded: %lld children in %lld ms", (long long)n_children,
                 (long long)(sdat_time_now_ms() - began_ms));
    }
    r = sdat_schemas_new(&d->schemas, err, sizeof err);
    if (r < 0) {
        log_error("schema", "%s", err);
        return r;
    }
    r = sdat_audit_new(d->cfg->instance_id, &d->audit);
    if (r < 0) {
        return r;
    }
    r = sdat_audit_configure_from(d->audit, d->cfg, err, sizeof err);
    if (r < 0) {
        log_error("config", "%s", err);
        return r;
    }
    r = sdat_match_nicknames_load(d->cfg->matching.nicknames_file, &d->nicknames, err,
                                  sizeof err);
    if (r < 0) {
        log_error("config", "matching.nicknames_file: %s", err);
        return r;
    }
    d->engine = (struct sdat_engine){.cfg = d->cfg,
                                     .st = d->st,
                                     .audit = d->audit,
                                     .schemas = d->schemas,
                                     .nicknames = d->nicknames};
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    int threads = d->cfg->threads > 0 ? d->cfg->threads : cpus > 0 ? (int)(cpus < 64 ? cpus : 64) : 1;
    r = sdat_workers_start(threads, &d->engine.workers);
    if (r < 0) {
        log_error("main", "cannot start %d decision workers: %s", threads, strerror(-r));
        return r;
    }
    log_info("main", "%d decision worker%s", threads, threads == 1 ? "" : "s");
    r = sdat_store_begin(d->st);
    if (r == 0) {
        r = sdat_audit_append(d->audit, d->st, sdat_time_now_ms(), "config.loaded", "sdatd",
                              json_pack("{s:s}", "instance", d->cfg->instance_id),
                              json_pack("{s:s, s:s}", "version", SDAT_VERSION, "reason", "start"));
        r = r == 0 ? sdat_store_commit(d->st) : r;
    }
    if (r < 0) {
        log_error("store", "cannot write the start record: %s", sdat_store_errmsg(d->st));
        return r;
    }
    r = start_kafka(d);
    if (r < 0) {
        return r;
    }
    /* Deliveries in flight when the daemon last stopped are due again: the
     * receiver may see a repeat under the same id, never a loss. */
    r = sdat_store_begin(d->st);
    if (r == 0) {
        r = sdat_store_notifications_requeue(d->st, sdat_time_now_ms());
        if (r > 0) {
            log_info("delivery", "%d deliveries interrupted by the last stop are due again", r);
        }
        r = r < 0 ? r : sdat_store_commit(d->st);
    }
    if (r < 0) {
        log_error("store", "cannot requeue interrupted deliveries: %s", sdat_store_errmsg(d->st));
        return r;
    }
    r = sdat_outbox_new(d->cfg, d->bootstrap, &d->outbox, err, sizeof err);
    if (r < 0) {
        log_error("delivery", "%s", err);
        return r;
    }
    r = sdat_jobs_new(&d->jobs);
    if (r < 0) {
        return r;
    }
    sdat_jobs_set_wake(d->jobs, wake_main_loop, d);
    struct sdat_http_hooks hooks = {.jobs = d->jobs,
                                    .state_dir = d->cfg->state_dir,
                                    .metrics_text = metrics_text};
    r = sdat_http_start(d->cfg, &hooks, &d->http, err, sizeof err);
    if (r < 0) {
        log_error("http", "%s", err);
        return r;
    }
    return 0;
}

/* SIGHUP: reload the configuration; a bad file keeps the old one. */
static void reload(struct daemon *d)
{
    struct sdat_config *cfg = NULL;
    sdat_outbox_t *outbox = NULL;
    char err[512];

    log_info("config", "reloading %s", d->config_path);
    if (load_config(d->config_path, &cfg, true) < 0) {
        log_error("config", "reload failed; keeping the running configuration");
        return;
    }
    char *ignored = sdat_config_restart_only_changes(d->cfg, cfg);
    if (ignored) {
        /* Restart-only keys keep their running values. */
        char *line = strtok(ignored, "\n");
        while (line) {
            log_warn("config", "%s", line);
            line = strtok(NULL, "\n");
        }
        free(ignored);
    }
    if (sdat_outbox_new(cfg, d->bootstrap, &outbox, err, sizeof err) < 0) {
        log_error("config", "reload failed: %s; keeping the running configuration", err);
        sdat_config_free(cfg);
        return;
    }
    /* The nickname list is read again on every reload, so that a list
     * edited in place takes effect as a changed path does. */
    sdat_nicknames_t *nicknames = NULL;
    if (sdat_match_nicknames_load(cfg->matching.nicknames_file, &nicknames, err, sizeof err) < 0) {
        log_error("config", "reload failed: matching.nicknames_file: %s; keeping the running "
                  "configuration", err);
        sdat_outbox_free(outbox);
        sdat_config_free(cfg);
        return;
    }
    /* The new checkpoint interval and key; the next record declares them. */
    if (sdat_audit_configure_from(d->audit, cfg, err, sizeof err) < 0) {
        log_error("config", "reload failed: %s; keeping the running configuration", err);
        sdat_nicknames_free(nicknames);
        sdat_outbox_free(outbox);
        sdat_config_free(cfg);
        return;
    }
    /* Named before the restart-only values are swapped back. */
    char *changed = sdat_config_changed_keys(d->cfg, cfg);
    /* Restart-only values stay as they run. */
    sdat_config_keep_restart_only(cfg, d->cfg);
    /* Deliveries in flight with the old connectors are due again. */
    sdat_outbox_abandon(d->outbox, &d->engine, sdat_time_now_ms());
    sdat_outbox_free(d->outbox);
    d->outbox = outbox;
    setup_logging(d, cfg);
    struct sdat_config *old = d->cfg;
    d->cfg = cfg;
    d->engine.cfg = cfg;
    sdat_http_set_config(d->http, cfg);
    sdat_config_free(old);
    sdat_nicknames_free(d->nicknames);
    d->nicknames = nicknames;
    d->engine.nicknames = nicknames;
    /* Names only: a value may be a secret or personal data. */
    log_info("config", "reloaded; changed: %s", changed ? changed : "nothing");
    free(changed);
}

/* The order of shutdown, in one place: stop taking requests, stop
 * consuming (committing the stored offsets), let deliveries in flight
 * finish for a moment (the rest are due again at the next start), flush
 * what was produced, close the store. */
static void shutdown_daemon(struct daemon *d)
{
    sdat_sdnotify("STOPPING=1");
    sdat_kafka_batch_free(&d->held);
    if (d->http) {
        /* No new requests; those waiting for a job get it done first. */
        sdat_http_quiesce(d->http);
        int64_t until = sdat_time_mono_ms() + 5000;
        while (sdat_http_jobs_waiting(d->http) > 0 && sdat_time_mono_ms() < until) {
            sdat_jobs_drain(d->jobs, &d->engine, sdat_time_now_ms());
            usleep(1000);
        }
        sdat_http_stop(d->http);
        d->http = NULL;
    }
    if (d->jobs) {
        sdat_jobs_drain(d->jobs, &d->engine, sdat_time_now_ms());
        sdat_jobs_free(d->jobs);
        d->jobs = NULL;
    }
    if (d->probe_started) {
        atomic_store(&d->probe_stop, true);
        pthread_join(d->probe, NULL);
    }
    if (d->consumer_queue) {
        rd_kafka_queue_destroy(d->consumer_queue);
    }
    if (d->consumer) {
        sdat_kafka_consumer_close(d->consumer);
        rd_kafka_destroy(d->consumer);
    }
    sdat_regfeed_free(d->regfeed);
    if (d->outbox) {
        /* Give deliveries in flight a moment to finish, then requeue the
         * rest: a repeat under the same id on the next start. */
        int64_t until = sdat_time_mono_ms() + 5000;
        while (sdat_outbox_in_flight(d->outbox) > 0 && sdat_time_mono_ms() < until) {
            sdat_outbox_wait(d->outbox, 100);
            sdat_outbox_run_collect(d->outbox, &d->engine, sdat_time_now_ms());
        }
        sdat_outbox_abandon(d->outbox, &d->engine, sdat_time_now_ms());
        sdat_outbox_free(d->outbox);
        d->outbox = NULL;
    }
    if (d->producer) {
        rd_kafka_flush(d->producer, 5000);
        if (d->mirror && d->st) {
            sdat_mirror_poll(d->mirror, d->st, true);
        }
        rd_kafka_destroy(d->producer);
    }
    sdat_mirror_free(d->mirror);
    sdat_workers_stop(d->engine.workers);
    d->engine.workers = NULL;
    sdat_broker_stop(d->broker);
    sdat_audit_free(d->audit);
    sdat_schemas_free(d->schemas);
    sdat_nicknames_free(d->nicknames);
    sdat_store_close(d->st);
    free(d->bootstrap);
    sdat_config_free(d->cfg);
}

/* Once a day (and once at start): payloads, dead-lettered bytes and CP-IS
 * accesses past their retention (delivery.md "Retention"); the audit chain
 * keeps the hashes. */
static void run_retention(struct daemon *d, int64_t now, int64_t mono)
{
    if (mono < d->next_retention_mono_ms) {
        return;
    }
    struct sdat_retention_counts rc = {0};
    if (sdat_retention_run(d->st, d->audit, d->cfg, now, &rc) < 0) {
        log_error("store", "retention could not run: %s", sdat_store_errmsg(d->st));
        d->next_retention_mono_ms = mono + 60 * 60 * 1000;
        return;
    }
    log_info("retention", "removed %lld payloads, %lld dead-lettered messages, "
             "%lld CP-IS accesses",
             (long long)rc.payloads, (long long)rc.dead_letters, (long long)rc.accesses);
    d->next_retention_mono_ms = mono + 24 * 60 * 60 * 1000;
}

/* Delivers what is due and sends what the store owes Kafka. Finished
 * deliveries that cannot be recorded stay with the outbox and are recorded
 * on a later turn. Whether the mirror has a backlog (pump again at once). */
static bool run_outbound(struct daemon *d, int64_t now)
{
    bool unrecorded = sdat_outbox_run(d->outbox, &d->engine, now) < 0;
    if (unrecorded && !d->deliveries_unrecorded) {
        log_error("store", "cannot record deliveries (%s); retrying every %d ms",
                  sdat_store_errmsg(d->st), STORE_RETRY_MS);
    } else if (!unrecorded && d->deliveries_unrecorded) {
        log_info("store", "deliveries recorded again");
    }
    d->deliveries_unrecorded = unrecorded;
    bool backlog = sdat_mirror_pump(d->mirror, d->st) >= SDAT_MIRROR_BATCH;
    sdat_mirror_poll(d->mirror, d->st, false);
    return backlog;
}

/* Incidents and attendances wait until the register is current (applied
 * up to the end offsets read at start), so that a child is matched against
 * what the council has published; a register topic the cluster does not
 * have holds nothing back. While it waits, the daemon says so every
 * REGISTER_WAIT_MS. Whether to consume. */
static bool register_gate(struct daemon *d, int64_t mono)
{
    if (d->register_wait_over) {
        return true;
    }
    if (sdat_regfeed_current(d->regfeed)) {
        d->register_wait_over = true;
        return true;
    }
    if (mono - d->register_said_mono_ms >= REGISTER_WAIT_MS) {
        log_warn("register", "waiting for the register topics to be applied up to their "
                 "end before consuming incidents and attendances (%lld s since start)",
                 (long long)((mono - d->started_mono_ms) / 1000));
        d->register_said_mono_ms = mono;
    }
    return false;
}

/* Writes asked by the HTTP API (jobs.h), grouped in one transaction. The
 * turn runs them first and again between its other steps, so that an
 * answer waiting for its commit waits for at most one step, and while the
 * API is busy those steps take smaller batches (api_busy). */
static void serve_jobs(struct daemon *d)
{
    int n = sdat_jobs_drain(d->jobs, &d->engine, sdat_time_now_ms());
    if (n < 0) {
        log_error("store", "cannot commit API requests: %s", sdat_store_errmsg(d->st));
    }
    if (n != 0) {
        d->jobs_served_mono_ms = sdat_time_mono_ms();
    }
}

static bool api_busy(const struct daemon *d, int64_t mono)
{
    return d->jobs_served_mono_ms > 0 && mono - d->jobs_served_mono_ms < API_BUSY_MS;
}

/* How long this turn may wait for events (ms): 200, or timeout when set
 * (>= 0), shortened by a due delivery, none while events or API jobs are
 * waiting;
 * while deliveries are in flight the wait is spent on the connectors'
 * sockets first. */
static int turn_wait(struct daemon *d, int64_t now, bool consume, int timeout)
{
    int64_t next_due = INT64_MAX;
    sdat_store_next_due(d->st, &next_due);
    if (timeout < 0) {
        timeout = 200;
    }
    /* A due delivery shortens the wait, unless every flight is taken:
     * then it waits for a receiver below rather than turning at once
     * (a backlog of due notifications made the loop spin). */
    if (next_due != INT64_MAX && next_due - now < timeout && !sdat_outbox_full(d->outbox)) {
        timeout = next_due <= now ? 0 : (int)(next_due - now);
    }
    if ((consume && d->consumed_full_batch) || sdat_jobs_pending(d->jobs)) {
        timeout = 0; /* events or jobs are waiting: no pause, not even for receivers */
    }
    if (d->deliveries_unrecorded) {
        /* Deliveries due or finished cannot be recorded: nothing to
         * gain by turning faster (the outbox would report at once). */
        return STORE_RETRY_MS;
    }
    if (timeout > 0 && sdat_outbox_in_flight(d->outbox) > 0) {
        /* Receivers answer on the connectors' own sockets: wait there,
         * then look at Kafka without waiting. */
        sdat_outbox_wait(d->outbox, timeout > 20 ? 20 : timeout);
        return 0;
    }
    return timeout;
}

/* What systemd is told: READY=1 after the first turn, WATCHDOG=1 when it
 * asks for one, a STATUS= line every 10 s. */
struct notify_state {
    int64_t watchdog_ms, last_watchdog, last_status;
    bool ready;
};

static void tell_systemd(struct daemon *d, struct notify_state *ns, int64_t mono)
{
    if (!ns->ready) {
        sdat_sdnotify("READY=1");
        ns->ready = true;
    }
    if (ns->watchdog_ms > 0 && mono - ns->last_watchdog >= ns->watchdog_ms) {
        sdat_sdnotify("WATCHDOG=1");
        ns->last_watchdog = mono;
    }
    if (mono - ns->last_status >= 10000) {
        char status[128];
        int64_t pending = 0;
        sdat_store_notification_count(d->st, "scheduled", &pending);
        snprintf(status, sizeof status, "STATUS=consuming; %lld notifications pending",
                 (long long)pending);
        sdat_sdnotify(status);
        ns->last_status = mono;
    }
}

/* The main loop: one writer thread owns the store (docs/DESIGN.md
 * "Processing model"). */
static int run(struct daemon *d)
{
    struct notify_state ns = {.watchdog_ms = sdat_sdnotify_watchdog_interval_ms()};
    int timeout_override = -1;

    while (!stop_requested) {
        int64_t now = sdat_time_now_ms();
        int64_t mono = sdat_time_mono_ms();
        if (reload_requested) {
            reload_requested = 0;
            reload(d);
        }
        /* Ready: the store writable (no held message, deliveries recorded),
         * the register read to its end, partitions assigned and the broker
         * answering. */
        bool store_ok = d->held.n == 0 && !d->deliveries_unrecorded;
        bool register_ok = sdat_regfeed_current(d->regfeed), broker_ok = atomic_load(&d->broker_up);
        sdat_http_set_ready(d->http, store_ok, register_ok, d->consumer_assigned, broker_ok);
        sdat_metrics_set(SDAT_M_READY,
                         store_ok && register_ok && d->consumer_assigned && broker_ok ? 1.0 : 0.0);
        if (d->held.n > 0) {
            if (sdatd_handle_batch(d, &d->held) == 0) {
                sdat_kafka_batch_free(&d->held);
                log_info("store", "store writable again; consuming");
            } else {
                usleep(STORE_RETRY_MS * 1000);
                continue;
            }
        }
        run_retention(d, now, mono);
        sdatd_watch_assignment(d, mono);
        if (mono - d->last_gauges_mono_ms >= 1000) {
            sdatd_update_gauges(d, now);
            d->last_gauges_mono_ms = mono;
        }
        serve_jobs(d);
        /* Deliver what is due before waiting for more events. */
        if (run_outbound(d, now)) {
            timeout_override = 0; /* a backlog to send (an import's audit records) */
        }
        serve_jobs(d);
        bool busy = api_busy(d, mono);
        /* The register first: a batch of its records per turn. */
        int applied = sdat_regfeed_poll(d->regfeed, &d->engine, now,
                                        busy ? REGISTER_BATCH_API_BUSY : REGISTER_BATCH);
        if (applied < 0) {
            log_error("store", "cannot apply register records (%s); retrying",
                      sdat_store_errmsg(d->st));
            usleep(500 * 1000);
            continue;
        }
        bool consume = register_gate(d, mono);
        if (applied > 0) {
            timeout_override = 0; /* more register records may be waiting */
        }
        serve_jobs(d);
        int timeout = turn_wait(d, now, consume, timeout_override);
        timeout_override = -1;
        if (consume) {
            sdatd_consume_batch(d, timeout, busy ? CONSUME_BATCH_API_BUSY : CONSUME_BATCH);
        } else {
            /* The group join goes on in librdkafka's threads meanwhile. */
            usleep((useconds_t)(timeout > 50 ? 50 : timeout) * 1000);
        }
        tell_systemd(d, &ns, mono);
    }
    return 0;
}

int main(int argc, char **argv)
{
    /* Whatever it creates is its owner's only (quality.md S9): the store,
     * the state directory, the lock and bootstrap files. The file connector
     * sets its pickup modes (0750, 0640) itself. */
    umask(077);
    struct daemon d = {.config_path = DEFAULT_CONFIG, .log_level = -1, .log_format = -1};
    bool check_only = false;
    const char *keys = NULL;
    int opt;
    static const struct option long_options[] = {{"log-level", required_argument, NULL, 'L'},
                                                 {"log-format", required_argument, NULL, 'F'},
                                                 {"keys", required_argument, NULL, 'K'},
                                                 {"help", no_argument, NULL, 'h'},
                                                 {NULL, 0, NULL, 0}};
    static const char *const levels[] = {"error", "warn", "info", "debug", NULL};
    static const char *const formats[] = {"text", "json", NULL};

    while ((opt = getopt_long(argc, argv, "c:tVh", long_options, NULL)) != -1) {
        switch (opt) {
        case 'L':
        case 'F': {
            const char *const *names = opt == 'L' ? levels : formats;
            int found = -1;
            for (int i = 0; names[i]; i++) {
                found = strcmp(names[i], optarg) == 0 ? i : found;
            }
            if (found < 0) {
                fprintf(stderr, "sdatd: --%s: \"%s\" is not one of the allowed values\n",
                        opt == 'L' ? "log-level" : "log-format", optarg);
                return EXIT_CONFIG;
            }
            *(opt == 'L' ? &d.log_level : &d.log_format) = found;
            break;
        }
        case 'c':
            d.config_path = optarg;
            break;
        case 't':
            check_only = true;
            break;
        case 'K':
            keys = optarg;
            break;
        case 'V':
            printf("sdatd %s (librdkafka %s)\n", SDAT_VERSION, rd_kafka_version_str());
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EXIT_CONFIG;
        }
    }
    if (optind != argc || (keys && !check_only)) {
        if (keys && !check_only) {
            fprintf(stderr, "sdatd: --keys is for -t (the daemon reads its credentials)\n");
        }
        usage(stderr);
        return EXIT_CONFIG;
    }
    /* -t outside the unit: "$CREDENTIALS_DIRECTORY/keys_NAME" from DIR/NAME. */
    sdat_secret_keys_from(keys);
    /* With --log-format given, even a configuration that cannot be loaded
     * is reported in that format; sdatd -t always prints plain
     * FILE:LINE: KEY: MESSAGE lines. */
    bool early_log = !check_only && d.log_format >= 0;
    if (early_log) {
        sdat_log_setup(d.log_level >= 0 ? (enum sdat_log_level)d.log_level : SDAT_LOG_INFO,
                       (enum sdat_log_format)d.log_format);
    }
    if (load_config(d.config_path, &d.cfg, early_log) < 0) {
        if (early_log) {
            log_error("config", "cannot start with %s", d.config_path);
        }
        return EXIT_CONFIG;
    }
    if (check_only) {
        sdat_config_free(d.cfg);
        fprintf(stderr, "%s: configuration ok\n", d.config_path);
        return 0;
    }
    setup_logging(&d, d.cfg);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    srandom((unsigned)(sdat_time_now_ms() ^ getpid()));

    log_info("main", "sdatd %s starting instance=%s", SDAT_VERSION, d.cfg->instance_id);
    int rc = 0;
    if (start(&d) < 0) {
        rc = 1;
    } else {
        log_info("main", "running");
        rc = run(&d) < 0 ? 1 : 0;
        log_info("main", "stopping");
    }
    shutdown_daemon(&d);
    if (rc == 0) {
        log_info("main", "stopped");
    }
    return rc;
}
