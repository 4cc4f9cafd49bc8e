/* The kafka connector: produces the JSON to the recipient's topic with key =
 * the recipient id and headers sdat-kind and sdat-notification-id, through
 * one idempotent producer (acks=all) shared by every kafka context in the
 * process. A delivery report of success is done; any error is a retry (the
 * core backs off and escalates).
 *
 * Threading: every context must be driven (init, start, poll, destroy) from
 * one thread, the outbox's. The delivery-report callback runs inside
 * rd_kafka_poll/rd_kafka_flush on that thread, so the shared state below
 * needs no lock, and done is never called from another thread. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "outbox/connector.h"
#include "util/util.h"

/* A delivery is reported as a retry after this long without an
 * acknowledgement, rather than waiting for ever; kafka.properties may set
 * message.timeout.ms (or its alias delivery.timeout.ms) to override it. */
#define DEFAULT_MESSAGE_TIMEOUT_MS "30000"
/* How long the last destroy, or replacing a failed producer, waits for
 * outstanding delivery reports before purging them. */
#define DRAIN_TIMEOUT_MS 1000

struct kafka_ctx {
    const struct sdat_connector_env *env;
    const struct sdat_connector_recipient *recipient;
};

/* One delivery handed to librdkafka (the message's opaque). */
struct record {
    struct sdat_delivery *d;
    sdat_delivery_done_fn done;
    void *opaque;
    struct kafka_ctx *ctx; /* NULL once abandoned by destroy: free, never report */
    rd_kafka_t *rk;        /* the producer it went to */
    struct record *prev, *next;
};

/* The process-wide producer, created at the first init and destroyed with
 * the last context. */
static struct {
    rd_kafka_t *rk;
    char *bootstrap;
    unsigned refs;
    bool fatal_logged;
    struct record *inflight; /* every record not yet reported or freed */
} shared;

static bool valid_topic(const char *topic)
{
    size_t n = strlen(topic);
    if (n < 1 || n > 249 || strcmp(topic, ".") == 0 || strcmp(topic, "..") == 0) {
        return false;
    }
    return strspn(topic, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n;
}

struct kafka_conf {
    char *topic;
};

static const struct sdat_key kafka_keys[] = {
    SDAT_KEY_S("topic", struct kafka_conf, topic, 0, "topic"),
    SDAT_KEY_END,
};

static const struct sdat_key_table kafka_table =
    SDAT_KEY_TABLE("kafka", struct kafka_conf, kafka_keys);

static int check_keys(const struct sdat_connector_recipient *recipient, sdat_key_report_fn report,
                      void *opaque)
{
    const struct kafka_conf *conf = recipient->conf;
    if (!conf->topic || !conf->topic[0]) {
        report(opaque, "topic", "is required for the kafka connector");
        return -EINVAL;
    }
    if (!valid_topic(conf->topic)) {
        report(opaque, "topic",
               "\"%s\" is not a valid Kafka topic name ([A-Za-z0-9._-], 1 to 249 "
               "characters, not \".\" or \"..\")",
               conf->topic);
        return -EINVAL;
    }
    return 0;
}

static void record_unlink(struct record *rec)
{
    if (rec->prev) {
        rec->prev->next = rec->next;
    } else {
        shared.inflight = rec->next;
    }
    if (rec->next) {
        rec->next->prev = rec->prev;
    }
    rec->prev = rec->next = NULL;
}

/* Reports rec (unless abandoned) and frees it. */
static void record_finish(struct record *rec, enum sdat_delivery_result result, const char *detail)
{
    struct sdat_delivery *d = rec->d;
    sdat_delivery_done_fn done = rec->done;
    void *opaque = rec->opaque;
    bool live = rec->ctx != NULL;

    record_unlink(rec);
    free(rec);
    if (live) {
        d->retry_after_ms = 0;
        snprintf(d->detail, sizeof d->detail, "%s", detail);
        done(d, result, opaque);
    }
}

static void log_fatal_once(rd_kafka_t *rk)
{
    char reason[256] = "";
    if (shared.fatal_logged) {
        return;
    }
    shared.fatal_logged = true;
    rd_kafka_resp_err_t e = rd_kafka_fatal_error(rk, reason, sizeof reason);
    log_error("kafka",
              "connector producer: fatal error %s: %s; deliveries are retried with a "
              "new producer",
              rd_kafka_err2name(e), reason);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)opaque;
    struct record *rec = msg->_private;
    char detail[256];

    if (!rec) {
        return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
        snprintf(detail, sizeof detail, "partition %d offset %lld", (int)msg->partition,
                 (long long)msg->offset);
        record_finish(rec, SDAT_DELIVERY_DONE, detail);
        return;
    }
    if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
        log_fatal_once(rk);
    }
    snprintf(detail, sizeof detail, "%s", rd_kafka_err2str(msg->err));
    record_finish(rec, SDAT_DELIVERY_RETRY, detail);
}

static void on_error(rd_kafka_t *rk, int code, const char *reason, void *opaque)
{
    (void)opaque;
    if (code == RD_KAFKA_RESP_ERR__FATAL) {
        log_fatal_once(rk);
        return;
    }
    /* Transient: librdkafka reconnects and retries within message.timeout.ms,
     * and logs the failure itself; a delivery that does not make it in time is
     * a retry with the reason in its attempt record. The reason names
     * brokers, never property values. */
    log_debug("kafka", "connector producer: %s: %s", rd_kafka_err2name((rd_kafka_resp_err_t)code),
              reason);
}

static bool property_given(const struct sdat_connector_env *env, const char *name)
{
    for (const char *const *p = env->kafka_properties; p && p[0]; p += 2) {
        if (strcmp(p[0], name) == 0) {
            return true;
        }
    }
    return false;
}

static void on_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sdat_log(sdat_log_level_from_syslog(level), "librdkafka", "%s: %s", fac, buf);
}

/* A new producer for env: the connection and security settings the
 * daemon's own clients get (bootstrap.servers, kafka.properties, librdkafka's
 * messages through the log), then the connector's own. */
static int producer_new(const struct sdat_connector_env *env, rd_kafka_t **ret_rk, char *err,
                        size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        return -ENOMEM;
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", env->bootstrap_servers, errstr,
                          sizeof errstr) != RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka.bootstrap_servers: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return -EINVAL;
    }
    rd_kafka_conf_set(conf, "log_level", "4", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, on_log);
    for (const char *const *p = env->kafka_properties; p && p[0]; p += 2) {
        if (rd_kafka_conf_set(conf, p[0], p[1], errstr, sizeof errstr) != RD_KAFKA_CONF_OK) {
            /* errstr may quote the value, a secret perhaps: name the property only. */
            snprintf(err, errlen, "kafka.properties: \"%s\" is not accepted by librdkafka", p[0]);
            rd_kafka_conf_destroy(conf);
            return -EINVAL;
        }
    }
    /* Not overridable: the spec's delivery guarantee, and a recipient's topic
     * is provisioned, never created by a typo in the configuration (an
     * auto-created topic nobody reads would turn a misdelivery into done). */
    static const char *const fixed[][2] = {
        {"enable.idempotence", "true"},
        {"acks", "all"},
        {"allow.auto.create.topics", "false"},
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (rd_kafka_conf_set(conf, fixed[i][0], fixed[i][1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "cannot set %s for the Kafka producer: %s", fixed[i][0], errstr);
            rd_kafka_conf_destroy(conf);
            return -EINVAL;
        }
    }
    if (!property_given(env, "message.timeout.ms") && !property_given(env, "delivery.timeout.ms")) {
        rd_kafka_conf_set(conf, "message.timeout.ms", DEFAULT_MESSAGE_TIMEOUT_MS, NULL, 0);
    }
    if (!property_given(env, "linger.ms")) {
        rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    }
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    rd_kafka_conf_set_error_cb(conf, on_error);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(err, errlen, "cannot create the Kafka producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return -EIO;
    }
    *ret_rk = rk;
    return 0;
}

/* Serves rk's outstanding delivery reports for up to DRAIN_TIMEOUT_MS, purges
 * what is left, destroys rk, and reports as retries any record that
 * librdkafka dropped without a report. */
static void producer_drain_destroy(rd_kafka_t *rk, const char *why)
{
    int64_t until = sdat_time_mono_ms() + DRAIN_TIMEOUT_MS;
    while (rd_kafka_outq_len(rk) > 0 && sdat_time_mono_ms() < until) {
        rd_kafka_poll(rk, 100);
    }
    if (rd_kafka_outq_len(rk) > 0) {
        rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
        rd_kafka_poll(rk, 0);
    }
    rd_kafka_destroy(rk);
    struct record *rec = shared.inflight, *next;
    for (; rec; rec = next) {
        next = rec->next;
        if (rec->rk == rk) {
            record_finish(rec, SDAT_DELIVERY_RETRY, why);
        }
    }
}

static int init(const struct sdat_connector_env *env,
                const struct sdat_connector_recipient *recipient, void **ret_ctx, char *err,
                size_t errlen)
{
    struct sdat_key_first first = {.err = err, .errlen = errlen};
    if (check_keys(recipient, sdat_key_report_first, &first) < 0) {
        return -EINVAL;
    }
    if (!env->bootstrap_servers || !env->bootstrap_servers[0]) {
        snprintf(err, errlen,
                 "connector: no Kafka cluster to produce to "
                 "(kafka.bootstrap_servers is empty and no embedded broker runs)");
        return -EINVAL;
    }
    if (shared.bootstrap && strcmp(shared.bootstrap, env->bootstrap_servers) != 0) {
        snprintf(err, errlen,
                 "connector: the Kafka producer already produces to \"%s\", not \"%s\"",
                 shared.bootstrap, env->bootstrap_servers);
        return -EINVAL;
    }
    struct kafka_ctx *ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        return -ENOMEM;
    }
    ctx->env = env;
    ctx->recipient = recipient;
    if (shared.refs == 0) {
        rd_kafka_t *rk = NULL;
        char *bootstrap = strdup(env->bootstrap_servers);
        if (!bootstrap) {
            free(ctx);
            return -ENOMEM;
        }
        int r = producer_new(env, &rk, err, errlen);
        if (r < 0) {
            free(bootstrap);
            free(ctx);
            return r;
        }
        shared.rk = rk;
        shared.bootstrap = bootstrap;
        shared.fatal_logged = false;
    }
    shared.refs++;
    *ret_ctx = ctx;
    return 0;
}

/* A producer with a fatal error (idempotence broken) accepts nothing more:
 * report its deliveries as retries and start a new one. Only from poll, where
 * completing any context's deliveries is allowed. */
static void producer_replace_if_fatal(struct kafka_ctx *ctx)
{
    char err[256];
    if (shared.rk && rd_kafka_fatal_error(shared.rk, NULL, 0) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    if (shared.rk) {
        log_fatal_once(shared.rk);
        rd_kafka_t *old = shared.rk;
        shared.rk = NULL;
        producer_drain_destroy(old, "the Kafka producer had a fatal error");
    }
    if (producer_new(ctx->env, &shared.rk, err, sizeof err) < 0) {
        shared.rk = NULL;
        log_error("kafka", "connector producer: %s; trying again at the next poll", err);
        return;
    }
    shared.fatal_logged = false;
    log_info("kafka", "connector producer: replaced after a fatal error");
}

static int start(void *opaque_ctx, struct sdat_delivery *d, sdat_delivery_done_fn done,
                 void *opaque)
{
    struct kafka_ctx *ctx = opaque_ctx;
    const struct kafka_conf *conf = ctx->recipient->conf;
    if (!shared.rk) {
        /* A replacement producer could not be created; poll tries again. */
        snprintf(d->detail, sizeof d->detail, "no Kafka producer");
        d->retry_after_ms = 0;
        done(d, SDAT_DELIVERY_RETRY, opaque);
        return 0;
    }
    struct record *rec = calloc(1, sizeof *rec);
    if (!rec) {
        return -ENOMEM;
    }
    *rec = (struct record){.d = d, .done = done, .opaque = opaque, .ctx = ctx, .rk = shared.rk};
    const char *key = ctx->recipient->id;
    rd_kafka_resp_err_t e = rd_kafka_producev(
        shared.rk, RD_KAFKA_V_TOPIC(conf->topic),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_KEY(key, strlen(key)),
        RD_KAFKA_V_VALUE((void *)d->payload, d->payload_len),
        RD_KAFKA_V_HEADER("sdat-kind", d->kind, -1),
        RD_KAFKA_V_HEADER("sdat-notification-id", d->notification_id, -1), RD_KAFKA_V_OPAQUE(rec),
        RD_KAFKA_V_END);
    if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        /* Not handed to librdkafka (queue full, fatal error, …): a retry
         * reported here, so that the attempt record says why. */
        free(rec);
        if (e == RD_KAFKA_RESP_ERR__FATAL) {
            log_fatal_once(shared.rk);
        }
        snprintf(d->detail, sizeof d->detail, "cannot produce: %s", rd_kafka_err2str(e));
        d->retry_after_ms = 0;
        done(d, SDAT_DELIVERY_RETRY, opaque);
        return 0;
    }
    rec->next = shared.inflight;
    if (shared.inflight) {
        shared.inflight->prev = rec;
    }
    shared.inflight = rec;
    return 0;
}

/* Serves the shared producer's delivery reports: any context's deliveries
 * may complete here. */
static int poll_reports(void *opaque_ctx, int timeout_ms)
{
    struct kafka_ctx *ctx = opaque_ctx;
    producer_replace_if_fatal(ctx);
    if (!shared.rk) {
        return -EIO;
    }
    rd_kafka_poll(shared.rk, timeout_ms);
    return 0;
}

static void destroy(void *opaque_ctx)
{
    struct kafka_ctx *ctx = opaque_ctx;
    if (!ctx) {
        return;
    }
    /* Deliveries still in flight stay pending in the core: their records
     * are freed by their delivery reports, never reported. */
    for (struct record *rec = shared.inflight; rec; rec = rec->next) {
        if (rec->ctx == ctx) {
            rec->ctx = NULL;
        }
    }
    free(ctx);
    if (--shared.refs > 0) {
        return;
    }
    if (shared.rk) {
        producer_drain_destroy(shared.rk, "abandoned");
    }
    shared.rk = NULL;
    free(shared.bootstrap);
    shared.bootstrap = NULL;
    /* Records of producers already gone (none expected) are abandoned too. */
    while (shared.inflight) {
        record_finish(shared.inflight, SDAT_DELIVERY_RETRY, "abandoned");
    }
}

const struct sdat_connector_ops sdat_connector_kafka = {
    .abi = SDAT_CONNECTOR_ABI,
    .name = "kafka",
    .init = init,
    .start = start,
    .poll = poll_reports,
    .destroy = destroy,
    .keys = &kafka_table,
    .check_keys = check_keys,
};
