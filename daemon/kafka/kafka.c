#include "kafka.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int sdat_kafka_bootstrap(const struct sdat_config *cfg, char **ret_bootstrap, char *err,
                         size_t errlen)
{
    if (!cfg->kafka.embedded) {
        *ret_bootstrap = strdup(cfg->kafka.bootstrap_servers ? cfg->kafka.bootstrap_servers : "");
        return *ret_bootstrap ? 0 : -ENOMEM;
    }
    char path[4096], line[1024];
    snprintf(path, sizeof path, "%s/bootstrap.servers", cfg->state_dir);
    FILE *f = fopen(path, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read \"%s\" (is sdatd with kafka.embedded running?): %s",
                 path, strerror(errno));
        return -ENOENT;
    }
    if (!fgets(line, sizeof line, f)) {
        fclose(f);
        snprintf(err, errlen, "\"%s\" is empty", path);
        return -EINVAL;
    }
    fclose(f);
    line[strcspn(line, "\r\n")] = '\0';
    *ret_bootstrap = strdup(line);
    return *ret_bootstrap ? 0 : -ENOMEM;
}

void sdat_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
    (void)rk;
    sdat_log(sdat_log_level_from_syslog(level), "librdkafka", "%s: %s", fac, buf);
}

/* Sets bootstrap.servers, the log callback, the pairs in DEFAULTS (NAME,
 * VALUE, ..., NULL) and then every kafka.properties pair, so that the
 * operator's properties override the defaults. */
static int conf_new(const struct sdat_config *cfg, const char *bootstrap,
                    const char *const *defaults, rd_kafka_conf_t **ret_conf, char *err,
                    size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (!conf) {
        return -ENOMEM;
    }
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) !=
        RD_KAFKA_CONF_OK) {
        snprintf(err, errlen, "kafka.bootstrap_servers: %s", errstr);
        goto fail;
    }
    /* librdkafka's own messages (warning level and above) go through the
     * daemon's log, in its format; they name brokers and topics, never
     * message contents. */
    rd_kafka_conf_set(conf, "log_level", "4", NULL, 0);
    rd_kafka_conf_set_log_cb(conf, sdat_kafka_log);
    for (size_t i = 0; defaults && defaults[i]; i += 2) {
        if (rd_kafka_conf_set(conf, defaults[i], defaults[i + 1], errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            snprintf(err, errlen, "%s: %s", defaults[i], errstr);
            goto fail;
        }
    }
    for (size_t i = 0; i < cfg->kafka.n_properties; i++) {
        const struct sdat_kafka_property *p = &cfg->kafka.properties[i];
        if (rd_kafka_conf_set(conf, p->name, p->value, errstr, sizeof errstr) !=
            RD_KAFKA_CONF_OK) {
            /* errstr may quote the value; name the property only. */
            snprintf(err, errlen, "kafka.properties: \"%s\" is not accepted by librdkafka",
                     p->name);
            goto fail;
        }
    }
    *ret_conf = conf;
    return 0;
fail:
    rd_kafka_conf_destroy(conf);
    return -EINVAL;
}

int sdat_kafka_conf_new(const struct sdat_config *cfg, const char *bootstrap,
                        rd_kafka_conf_t **ret_conf, char *err, size_t errlen)
{
    return conf_new(cfg, bootstrap, NULL, ret_conf, err, errlen);
}

void sdat_kafka_group_instance_id(const char *instance_id, char *buf, size_t size)
{
    size_t n = 0;
    for (; instance_id[n] && n + 1 < size && n < SDAT_KAFKA_GROUP_INSTANCE_ID_MAX; n++) {
        char c = instance_id[n];
        bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        buf[n] = legal ? c : '_';
    }
    buf[n] = '\0';
}

int sdat_kafka_conf_new_member(const struct sdat_config *cfg, const char *bootstrap, bool mock,
                               rd_kafka_conf_t **ret_conf, char *err, size_t errlen)
{
    char instance[SDAT_KAFKA_GROUP_INSTANCE_ID_MAX + 1];
    sdat_kafka_group_instance_id(cfg->instance_id, instance, sizeof instance);
    /* docs/OPERATING.md "Restarts and the consumer group": static
     * membership, so that a restarted instance takes its partitions back at
     * once where the broker supports it, and a session short enough that
     * elsewhere (and on the mock cluster) the dead predecessor is thrown
     * out within seconds. */
    const char *defaults[] = {
        "group.instance.id",     instance,
        "session.timeout.ms",    mock ? SDAT_KAFKA_MOCK_SESSION_TIMEOUT_MS
                                      : SDAT_KAFKA_SESSION_TIMEOUT_MS,
        "heartbeat.interval.ms", mock ? SDAT_KAFKA_MOCK_HEARTBEAT_INTERVAL_MS
                                      : SDAT_KAFKA_HEARTBEAT_INTERVAL_MS,
        NULL,
    };
    return conf_new(cfg, bootstrap, defaults, ret_conf, err, errlen);
}

int sdat_kafka_producer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = NULL;
    int r = sdat_kafka_conf_new(cfg, bootstrap, &conf, err, errlen);
    if (r < 0) {
        return r;
    }
    rd_kafka_conf_set(conf, "enable.idempotence", "true", NULL, 0);
    rd_kafka_conf_set(conf, "linger.ms", "5", NULL, 0);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(err, errlen, "cannot create a Kafka producer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return -EIO;
    }
    *ret_rk = rk;
    return 0;
}

void sdat_kafka_conf_consumer(rd_kafka_conf_t *conf, const struct sdat_config *cfg,
                              const char *group_id, bool auto_commit)
{
    char maxbytes[32];
    snprintf(maxbytes, sizeof maxbytes, "%d", cfg->kafka.max_message_bytes * 2 + 65536);
    rd_kafka_conf_set(conf, "group.id", group_id, NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.offset.store", "false", NULL, 0);
    rd_kafka_conf_set(conf, "enable.auto.commit", auto_commit ? "true" : "false", NULL, 0);
    rd_kafka_conf_set(conf, "auto.offset.reset", "earliest", NULL, 0);
    rd_kafka_conf_set(conf, "fetch.message.max.bytes", maxbytes, NULL, 0);
}

struct sdat_inbound sdat_kafka_inbound(const rd_kafka_message_t *msg)
{
    return (struct sdat_inbound){
        .topic = rd_kafka_topic_name(msg->rkt),
        .partition = msg->partition,
        .offset = msg->offset,
        .key = msg->key,
        .key_len = msg->key_len,
        .value = msg->payload,
        .value_len = msg->len,
    };
}
