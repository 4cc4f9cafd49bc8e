/* The consumer of the inbound event topics and its batches: each batch's
 * effects in one store transaction, then its offsets (docs/DESIGN.md
 * "Processing model"), and the lag it reads for /metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/engine.h"
#include "kafka.h"
#include "store/store.h"
#include "util/util.h"

/* How long a clean stop waits for the partitions to be revoked before it
 * closes the consumer. */
#define CLOSE_LEAVE_WAIT_MS 3000
/* How long a start waits for the cluster's id (the mock cluster's test). */
#define CLUSTER_ID_WAIT_MS 2000

/* A consumer, not yet subscribed, with the defaults for the mock cluster
 * or for a Kafka broker. */
static int consumer_create(const struct sdat_config *cfg, const char *bootstrap, bool mock,
                           rd_kafka_t **ret_rk, char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = NULL;
    int r = sdat_kafka_conf_new_member(cfg, bootstrap, mock, &conf, err, errlen);
    if (r < 0) {
        return r;
    }
    /* At least once: an offset is stored only after the store transaction
     * holding all of the event's effects committed; auto-commit then sends
     * stored offsets, and close() commits the last ones. */
    sdat_kafka_conf_consumer(conf, cfg, cfg->kafka.group_id, true);
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        snprintf(err, errlen, "cannot create the consumer: %s", errstr);
        rd_kafka_conf_destroy(conf);
        return -EIO;
    }
    *ret_rk = rk;
    return 0;
}

/* Whether RK's cluster is librdkafka's mock cluster (kafka.embedded, or
 * sdatctl broker), which names itself "mockCluster" and a number. A
 * broker that does not answer within the wait counts as Kafka. */
static bool mock_cluster(rd_kafka_t *rk)
{
    char *id = rd_kafka_clusterid(rk, CLUSTER_ID_WAIT_MS);
    bool mock = id && strncmp(id, "mockCluster", strlen("mockCluster")) == 0;
    if (id) {
        rd_kafka_mem_free(rk, id);
    }
    return mock;
}

int sdat_kafka_consumer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen)
{
    rd_kafka_t *rk = NULL;
    int r = consumer_create(cfg, bootstrap, false, &rk, err, errlen);
    if (r < 0) {
        return r;
    }
    if (mock_cluster(rk)) {
        /* Never subscribed: nothing to leave. */
        rd_kafka_destroy(rk);
        r = consumer_create(cfg, bootstrap, true, &rk, err, errlen);
        if (r < 0) {
            return r;
        }
        log_info("kafka", "the broker is librdkafka's mock cluster: consumer session %s ms "
                 "unless kafka.properties say otherwise", SDAT_KAFKA_MOCK_SESSION_TIMEOUT_MS);
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_partition_list_t *topics = rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, cfg->topics.police_incidents,
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, cfg->topics.health_attendances,
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(rk, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    if (e) {
        snprintf(err, errlen, "cannot subscribe: %s", rd_kafka_err2str(e));
        rd_kafka_destroy(rk);
        return -EIO;
    }
    *ret_rk = rk;
    return 0;
}

/* Whether CONSUMER holds no partition (or cannot say). */
static bool unassigned(rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return true;
    }
    bool none = assigned->cnt == 0;
    rd_kafka_topic_partition_list_destroy(assigned);
    return none;
}

void sdat_kafka_consumer_close(rd_kafka_t *consumer)
{
    /* A static member's close() does not leave the group (KIP-345): its
     * partitions would wait for it for a whole session, unread by the
     * other instances, and a broker without static membership (the mock
     * cluster) would keep the departed member until its session expires,
     * stalling the next start's join. Unsubscribing first revokes the
     * partitions (committing the stored offsets) and then sends the
     * LeaveGroup, which close() alone omits. */
    rd_kafka_resp_err_t e = rd_kafka_unsubscribe(consumer);
    if (e) {
        log_warn("kafka", "cannot unsubscribe: %s, ignoring", rd_kafka_err2str(e));
    }
    int64_t until = sdat_time_mono_ms() + CLOSE_LEAVE_WAIT_MS;
    while (!e && !unassigned(consumer) && sdat_time_mono_ms() < until) {
        /* Messages fetched meanwhile are dropped unprocessed: their offsets
         * were not stored, so they are read again. */
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, 100);
        if (msg) {
            rd_kafka_message_destroy(msg);
        }
    }
    bool left = !e && unassigned(consumer);
    e = rd_kafka_consumer_close(consumer);
    if (e) {
        log_warn("kafka", "consumer close: %s, ignoring", rd_kafka_err2str(e));
    }
    if (left) {
        log_info("kafka", "left the consumer group: partitions revoked, offsets committed");
    } else {
        log_warn("kafka", "the partitions were not revoked within %d ms; closed without "
                 "leaving the group (the next start waits for this member's session)",
                 CLOSE_LEAVE_WAIT_MS);
    }
}

int sdat_kafka_batch_poll(rd_kafka_t *consumer, int timeout, size_t max,
                          struct sdat_kafka_batch *ret)
{
    *ret = (struct sdat_kafka_batch){malloc(max * sizeof *ret->msgs), 0};
    if (!ret->msgs) {
        return -ENOMEM;
    }
    while (ret->n < max) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(consumer, ret->n == 0 ? timeout : 0);
        if (!msg) {
            break;
        }
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            ret->msgs[ret->n++] = msg;
            continue;
        }
        if (msg->err == RD_KAFKA_RESP_ERR__FATAL) {
            /* Typically fenced: another daemon with this instance_id (its
             * group.instance.id) joined the group; this one stops consuming. */
            char why[256];
            rd_kafka_fatal_error(consumer, why, sizeof why);
            log_error("kafka", "consumer stopped: %s (is instance_id unique in the group?)",
                      why);
        } else if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("kafka", "consumer: %s", rd_kafka_message_errstr(msg));
        }
        rd_kafka_message_destroy(msg);
        if (ret->n == 0) {
            break; /* an error or end of partition instead of a message */
        }
    }
    return 0;
}

int sdat_kafka_batch_process(rd_kafka_t *consumer, struct sdat_engine *e,
                             const struct sdat_kafka_batch *b, int64_t now_ms)
{
    struct sdat_inbound *msgs = malloc((b->n ? b->n : 1) * sizeof *msgs);
    if (!msgs) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < b->n; i++) {
        msgs[i] = sdat_kafka_inbound(b->msgs[i]);
    }
    int r = sdat_store_begin(e->st);
    if (r == 0) {
        r = sdat_engine_process_batch(e, msgs, b->n, now_ms);
    }
    free(msgs);
    if (r < 0) {
        sdat_store_rollback(e->st);
        return r;
    }
    r = sdat_store_commit(e->st);
    if (r < 0) {
        return r;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)b->n);
    for (size_t i = 0; i < b->n; i++) {
        rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(b->msgs[i]->rkt),
                                          b->msgs[i]->partition)
            ->offset = b->msgs[i]->offset + 1;
    }
    rd_kafka_resp_err_t err = rd_kafka_offsets_store(consumer, list);
    if (err) {
        /* A partition was revoked meanwhile: its new owner reads the
         * message again, and the deterministic ids make that harmless. */
        log_debug("kafka", "offsets not stored: %s", rd_kafka_err2str(err));
    }
    rd_kafka_topic_partition_list_destroy(list);
    return 0;
}

void sdat_kafka_batch_free(struct sdat_kafka_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        rd_kafka_message_destroy(b->msgs[i]);
    }
    free(b->msgs);
    *b = (struct sdat_kafka_batch){NULL, 0};
}

int sdat_kafka_assigned_count(rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return 0;
    }
    int n = assigned->cnt;
    rd_kafka_topic_partition_list_destroy(assigned);
    return n;
}

bool sdat_kafka_lag_gauges(rd_kafka_t *consumer)
{
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return false;
    }
    sdat_metrics_clear(SDAT_M_CONSUMER_LAG);
    if (rd_kafka_position(consumer, assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < assigned->cnt; i++) {
            rd_kafka_topic_partition_t *p = &assigned->elems[i];
            int64_t lo = 0, hi = 0;
            if (rd_kafka_get_watermark_offsets(consumer, p->topic, p->partition, &lo, &hi) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR &&
                hi >= 0) {
                char part[16];
                snprintf(part, sizeof part, "%d", (int)p->partition);
                int64_t lag = p->offset >= 0 ? hi - p->offset : hi - lo;
                sdat_metrics_set(SDAT_M_CONSUMER_LAG, (double)(lag > 0 ? lag : 0), p->topic, part);
            }
        }
    }
    bool any = assigned->cnt > 0;
    rd_kafka_topic_partition_list_destroy(assigned);
    return any;
}
