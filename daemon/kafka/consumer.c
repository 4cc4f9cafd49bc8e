/* The consumer of the inbound event topics and its batches: each batch's
 * effects in one store transaction, then its offsets (docs/DESIGN.md
 * "Processing model"), and the lag it reads for /metrics. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "engine/engine.h"
#include "kafka.h"
#include "store/store.h"
#include "util/util.h"

int sdat_kafka_consumer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen)
{
    char errstr[512];
    rd_kafka_conf_t *conf = NULL;
    int r = sdat_kafka_conf_new(cfg, bootstrap, &conf, err, errlen);
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
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
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
    int r = sdat_store_begin(e->st);
    for (size_t i = 0; r == 0 && i < b->n; i++) {
        struct sdat_inbound m = sdat_kafka_inbound(b->msgs[i]);
        r = sdat_engine_process(e, &m, now_ms);
    }
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
