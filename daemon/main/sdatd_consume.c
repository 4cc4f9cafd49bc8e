/* sdatd's consumption of events in batches (each batch's effects in one
 * store transaction, then its offsets) and the gauges it reads once a
 * second. */
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "kafka/kafka.h"
#include "util/util.h"
#include "sdatd.h"

/* Processes a batch of consumed messages in one store transaction (one
 * commit, one fsync, however many events), then stores their offsets for
 * the consumer to commit: an offset is committed only after the effects of
 * its message are. Returns 0, or a negative store error: nothing of the
 * batch was committed and the caller holds the batch to try again. */
int sdatd_handle_batch(struct daemon *d, rd_kafka_message_t **msgs, size_t n)
{
    int64_t now = sdat_time_now_ms();
    int r = sdat_store_begin(d->st);
    for (size_t i = 0; r == 0 && i < n; i++) {
        struct sdat_inbound m = sdat_kafka_inbound(msgs[i]);
        r = sdat_engine_process(&d->engine, &m, now);
    }
    if (r < 0) {
        sdat_store_rollback(d->st);
        return r;
    }
    r = sdat_store_commit(d->st);
    if (r < 0) {
        return r;
    }
    rd_kafka_topic_partition_list_t *list = rd_kafka_topic_partition_list_new((int)n);
    for (size_t i = 0; i < n; i++) {
        rd_kafka_topic_partition_list_add(list, rd_kafka_topic_name(msgs[i]->rkt),
                                          msgs[i]->partition)
            ->offset = msgs[i]->offset + 1;
    }
    rd_kafka_resp_err_t e = rd_kafka_offsets_store(d->consumer, list);
    if (e) {
        /* A partition was revoked meanwhile: its new owner reads the
         * message again, and the deterministic ids make that harmless. */
        log_debug("kafka", "offsets not stored: %s", rd_kafka_err2str(e));
    }
    rd_kafka_topic_partition_list_destroy(list);
    return 0;
}

void sdatd_free_batch(rd_kafka_message_t **msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        rd_kafka_message_destroy(msgs[i]);
    }
    free(msgs);
}

/* The gauges of /metrics that are read rather than counted. */
void sdatd_update_gauges(struct daemon *d, int64_t now)
{
    int64_t pending = 0, oldest = INT64_MAX, children = 0, flags = 0;
    if (sdat_store_pending(d->st, &pending, &oldest) == 0) {
        sdat_metrics_set(SDAT_M_PENDING, (double)pending);
        sdat_metrics_set(SDAT_M_OLDEST_PENDING,
                         oldest == INT64_MAX || oldest > now ? 0.0 : (double)(now - oldest) / 1000.0);
    }
    if (sdat_store_child_count(d->st, &children) == 0) {
        sdat_metrics_set(SDAT_M_REGISTER_CHILDREN, (double)children);
    }
    if (sdat_store_flag_count(d->st, &flags) == 0) {
        sdat_metrics_set(SDAT_M_FLAGS_ACTIVE, (double)flags);
    }
    /* Lag per assigned partition: the high watermark last seen by the
     * fetcher minus the consumer's position (no broker round trip). */
    rd_kafka_topic_partition_list_t *assigned = NULL;
    if (rd_kafka_assignment(d->consumer, &assigned) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return;
    }
    sdat_metrics_clear(SDAT_M_CONSUMER_LAG);
    if (rd_kafka_position(d->consumer, assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        for (int i = 0; i < assigned->cnt; i++) {
            rd_kafka_topic_partition_t *p = &assigned->elems[i];
            int64_t lo = 0, hi = 0;
            if (rd_kafka_get_watermark_offsets(d->consumer, p->topic, p->partition, &lo, &hi) ==
                    RD_KAFKA_RESP_ERR_NO_ERROR &&
                hi >= 0) {
                char part[16];
                snprintf(part, sizeof part, "%d", (int)p->partition);
                int64_t lag = p->offset >= 0 ? hi - p->offset : hi - lo;
                sdat_metrics_set(SDAT_M_CONSUMER_LAG, (double)(lag > 0 ? lag : 0), p->topic, part);
            }
        }
    }
    d->consumer_assigned = assigned->cnt > 0;
    rd_kafka_topic_partition_list_destroy(assigned);
}

/* Up to CONSUME_BATCH messages, the first waited for at most timeout ms
 * and the rest only as far as they are already fetched, processed in one
 * transaction; on a store failure they are held. */
void sdatd_consume_batch(struct daemon *d, int timeout)
{
    rd_kafka_message_t **msgs = malloc(CONSUME_BATCH * sizeof *msgs);
    size_t n = 0;
    if (!msgs) {
        return;
    }
    while (n < CONSUME_BATCH) {
        rd_kafka_message_t *msg = rd_kafka_consumer_poll(d->consumer, n == 0 ? timeout : 0);
        if (!msg) {
            break;
        }
        if (msg->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            msgs[n++] = msg;
            continue;
        }
        if (msg->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            log_warn("kafka", "consumer: %s", rd_kafka_message_errstr(msg));
        }
        rd_kafka_message_destroy(msg);
        if (n == 0) {
            break; /* an error or end of partition instead of a message */
        }
    }
    if (n > 0 && sdatd_handle_batch(d, msgs, n) < 0) {
        log_error("store", "cannot commit the effects of %zu events (%s); holding them and not "
                  "consuming until the store accepts them",
                  n, sdat_store_errmsg(d->st));
        d->held = msgs;
        d->n_held = n;
        return;
    }
    sdatd_free_batch(msgs, n);
    d->consumed_full_batch = n == CONSUME_BATCH;
}
