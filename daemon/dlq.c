#include "dlq.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DLQ_MAX_ACKED 256

struct sdat_dlq {
    rd_kafka_t *producer;
    char *topic;
    int64_t in_flight_above; /* rows with id <= this have been produced */
    /* Delivery reports collected by the callback, applied to the store by
     * sdat_dlq_poll on the writer thread. */
    int64_t acked[DLQ_MAX_ACKED];
    size_t n_acked;
    bool failed;
};

static sdat_dlq_t *current_dlq; /* the delivery-report callback's target */

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    (void)opaque;
    sdat_dlq_t *dlq = current_dlq;
    if (!dlq) {
        return;
    }
    if (msg->err) {
        dlq->failed = true;
        return;
    }
    if (dlq->n_acked < DLQ_MAX_ACKED) {
        dlq->acked[dlq->n_acked++] = (int64_t)(intptr_t)msg->_private;
    }
}

void sdat_dlq_conf_hook(rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
}

int sdat_dlq_new(rd_kafka_t *producer, const char *topic, sdat_dlq_t **ret_dlq)
{
    sdat_dlq_t *dlq = calloc(1, sizeof *dlq);
    if (!dlq || !(dlq->topic = strdup(topic))) {
        free(dlq);
        return -ENOMEM;
    }
    dlq->producer = producer;
    current_dlq = dlq;
    *ret_dlq = dlq;
    return 0;
}

void sdat_dlq_free(sdat_dlq_t *dlq)
{
    if (!dlq) {
        return;
    }
    if (current_dlq == dlq) {
        current_dlq = NULL;
    }
    free(dlq->topic);
    free(dlq);
}

static int produce_one(const struct sdat_dead_letter *dl, void *opaque)
{
    sdat_dlq_t *dlq = opaque;
    char partition[16], offset[24], size[24];

    if (dl->id <= dlq->in_flight_above) {
        return 0;
    }
    if (dlq->n_acked >= DLQ_MAX_ACKED) {
        return 1; /* let sdat_dlq_poll drain the acknowledgements first */
    }
    snprintf(partition, sizeof partition, "%" PRId32, dl->partition);
    snprintf(offset, sizeof offset, "%" PRId64, dl->offset);
    snprintf(size, sizeof size, "%" PRId64, dl->original_size);
    rd_kafka_headers_t *hdrs = rd_kafka_headers_new(6);
    rd_kafka_header_add(hdrs, "sdat-error", -1, dl->error, -1);
    rd_kafka_header_add(hdrs, "sdat-stage", -1, dl->stage, -1);
    rd_kafka_header_add(hdrs, "sdat-source-topic", -1, dl->topic, -1);
    rd_kafka_header_add(hdrs, "sdat-source-partition", -1, partition, -1);
    rd_kafka_header_add(hdrs, "sdat-source-offset", -1, offset, -1);
    if (dl->original_size >= 0) {
        rd_kafka_header_add(hdrs, "sdat-original-size", -1, size, -1);
    }
    rd_kafka_resp_err_t err = rd_kafka_producev(
        dlq->producer, RD_KAFKA_V_TOPIC(dlq->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(dl->key, dl->key_len), RD_KAFKA_V_VALUE((void *)dl->value, dl->value_len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE((void *)(intptr_t)dl->id), RD_KAFKA_V_END);
    if (err) {
        rd_kafka_headers_destroy(hdrs);
        return 1; /* queue full or broker trouble: try again on the next pump */
    }
    dlq->in_flight_above = dl->id;
    return 0;
}

int sdat_dlq_pump(sdat_dlq_t *dlq, sdat_store_t *st)
{
    int r = sdat_store_dead_letters_unsent(st, 100, produce_one, dlq);
    return r < 0 ? r : 0;
}

void sdat_dlq_poll(sdat_dlq_t *dlq, sdat_store_t *st)
{
    rd_kafka_poll(dlq->producer, 0);
    if (dlq->failed) {
        /* Produce again everything not yet acknowledged. */
        dlq->failed = false;
        dlq->in_flight_above = 0;
        log_warn("dlq", "a dead letter was not accepted by the broker; will produce again");
    }
    if (dlq->n_acked == 0) {
        return;
    }
    if (sdat_store_begin(st) < 0) {
        return; /* the acknowledgements stay queued */
    }
    for (size_t i = 0; i < dlq->n_acked; i++) {
        if (sdat_store_dead_letter_mark_sent(st, dlq->acked[i]) < 0) {
            sdat_store_rollback(st);
            return;
        }
    }
    if (sdat_store_commit(st) == 0) {
        dlq->n_acked = 0;
    }
}
