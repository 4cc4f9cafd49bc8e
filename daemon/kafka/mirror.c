#include "mirror.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store.h"
#include "util/util.h"

/* Acknowledgements collected by the callback before sdat_mirror_poll
 * applies them; a stream stops producing while its buffer is full. */
#define MIRROR_MAX_ACKED 1024
/* Rows read from the store per stream and pump. */
#define MIRROR_BATCH SDAT_MIRROR_BATCH
/* Acknowledgements are recorded in one transaction once this many have
 * come or the oldest has waited this long: one fsync for many messages. A
 * crash before they are recorded produces them again (at least once). */
#define MIRROR_RECORD_AFTER 512
#define MIRROR_RECORD_MS 1000

enum stream { S_DLQ, S_CPIS, S_AUDIT, N_STREAMS };

static const char *const stream_names[N_STREAMS] = {"dead letter", "CP-IS response",
                                                    "audit record"};

struct stream_state {
    char *topic;
    int64_t in_flight_above; /* rows with id <= this have been produced */
    int64_t acked[MIRROR_MAX_ACKED];
    size_t n_acked;
    bool failed;
    char last_error[128];
};

struct sdat_mirror {
    rd_kafka_t *producer;
    int64_t first_ack_mono_ms; /* when the oldest unrecorded ack came; 0: none */
    char *instance;
    struct stream_state s[N_STREAMS];
    int produced; /* by the current pump */
};

/* A message's opaque carries its stream and row id. */
static void *tag(enum stream s, int64_t id)
{
    return (void *)(intptr_t)((id << 2) | (int64_t)s);
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    sdat_mirror_t *m = opaque;
    intptr_t t = (intptr_t)msg->_private;
    enum stream s = (enum stream)(t & 3);
    if (!m || s >= N_STREAMS) {
        return;
    }
    struct stream_state *ss = &m->s[s];
    if (msg->err) {
        ss->failed = true;
        snprintf(ss->last_error, sizeof ss->last_error, "%s", rd_kafka_err2str(msg->err));
        return;
    }
    if (ss->n_acked < MIRROR_MAX_ACKED) {
        ss->acked[ss->n_acked++] = (int64_t)(t >> 2);
    } else {
        /* Cannot happen (production stops while the buffer is full); if it
         * did, produce again rather than lose the acknowledgement. */
        ss->failed = true;
    }
}

int sdat_mirror_new(const struct sdat_mirror_topics *topics, sdat_mirror_t **ret_mirror)
{
    sdat_mirror_t *m = calloc(1, sizeof *m);
    if (!m) {
        return -ENOMEM;
    }
    m->instance = strdup(topics->instance);
    m->s[S_DLQ].topic = strdup(topics->dead_letter);
    m->s[S_CPIS].topic = strdup(topics->cpis_responses);
    m->s[S_AUDIT].topic = strdup(topics->audit);
    if (!m->instance || !m->s[S_DLQ].topic || !m->s[S_CPIS].topic || !m->s[S_AUDIT].topic) {
        sdat_mirror_free(m);
        return -ENOMEM;
    }
    *ret_mirror = m;
    return 0;
}

void sdat_mirror_free(sdat_mirror_t *m)
{
    if (!m) {
        return;
    }
    for (int i = 0; i < N_STREAMS; i++) {
        free(m->s[i].topic);
    }
    free(m->instance);
    free(m);
}

void sdat_mirror_conf_hook(sdat_mirror_t *m, rd_kafka_conf_t *conf)
{
    rd_kafka_conf_set_opaque(conf, m);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
}

void sdat_mirror_attach(sdat_mirror_t *m, rd_kafka_t *producer)
{
    m->producer = producer;
}

/* Produces one message; 0, or 1 to stop this stream's pump for now. */
static int produce(sdat_mirror_t *m, enum stream s, int64_t id, const void *key, size_t key_len,
                   const void *value, size_t value_len, rd_kafka_headers_t *hdrs)
{
    struct stream_state *ss = &m->s[s];
    rd_kafka_resp_err_t err = rd_kafka_producev(
        m->producer, RD_KAFKA_V_TOPIC(ss->topic), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)value, value_len),
        RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(tag(s, id)), RD_KAFKA_V_END);
    if (err) {
        if (hdrs) {
            rd_kafka_headers_destroy(hdrs);
        }
        return 1; /* queue full or broker trouble: again on the next pump */
    }
    ss->in_flight_above = id;
    m->produced++;
    return 0;
}

static bool room(const struct stream_state *ss)
{
    return ss->n_acked < MIRROR_MAX_ACKED - MIRROR_BATCH;
}

static int produce_dead_letter(const struct sdat_dead_letter *dl, void *opaque)
{
    sdat_mirror_t *m = opaque;
    struct stream_state *ss = &m->s[S_DLQ];
    char partition[16], offset[24], size[24];

    if (!room(ss)) {
        return 1;
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
    return produce(m, S_DLQ, dl->id, dl->key, dl->key_len, dl->value, dl->value_len, hdrs);
}

static int produce_cpis(const struct sdat_outbound *o, void *opaque)
{
    sdat_mirror_t *m = opaque;
    if (!room(&m->s[S_CPIS])) {
        return 1;
    }
    return produce(m, S_CPIS, o->id, o->key, o->key_len, o->value, o->value_len, NULL);
}

static int produce_audit(const struct sdat_outbound *o, void *opaque)
{
    sdat_mirror_t *m = opaque;
    char key[300];
    if (!room(&m->s[S_AUDIT])) {
        return 1;
    }
    int n = snprintf(key, sizeof key, "%s/%" PRId64, m->instance, o->id);
    return produce(m, S_AUDIT, o->id, key, (size_t)n, o->value, o->value_len, NULL);
}

int sdat_mirror_pump(sdat_mirror_t *m, sdat_store_t *st)
{
    if (!m->producer) {
        return 0;
    }
    m->produced = 0;
    int r = sdat_store_dead_letters_unsent(st, m->s[S_DLQ].in_flight_above, MIRROR_BATCH,
                                           produce_dead_letter, m);
    if (r >= 0) {
        r = sdat_store_cpis_responses_unsent(st, m->s[S_CPIS].in_flight_above, MIRROR_BATCH,
                                             produce_cpis, m);
    }
    if (r >= 0) {
        r = sdat_store_audit_unmirrored(st, m->s[S_AUDIT].in_flight_above, MIRROR_BATCH,
                                        produce_audit, m);
    }
    return r < 0 ? r : m->produced;
}

static int mark_sent(sdat_store_t *st, enum stream s, int64_t id)
{
    switch (s) {
    case S_DLQ:
        return sdat_store_dead_letter_mark_sent(st, id);
    case S_CPIS:
        return sdat_store_cpis_response_sent(st, id);
    default:
        return sdat_store_audit_mirrored(st, id);
    }
}

void sdat_mirror_poll(sdat_mirror_t *m, sdat_store_t *st, bool all)
{
    if (!m->producer) {
        return;
    }
    rd_kafka_poll(m->producer, 0);
    size_t total = 0;
    for (int s = 0; s < N_STREAMS; s++) {
        struct stream_state *ss = &m->s[s];
        if (ss->failed) {
            /* Produce again everything not yet acknowledged. */
            ss->failed = false;
            ss->in_flight_above = 0;
            log_warn("kafka", "a %s was not accepted by topic %s (%s); will produce again",
                     stream_names[s], ss->topic, ss->last_error);
        }
        total += ss->n_acked;
    }
    if (total == 0) {
        m->first_ack_mono_ms = 0;
        return;
    }
    int64_t mono = sdat_time_mono_ms();
    if (m->first_ack_mono_ms == 0) {
        m->first_ack_mono_ms = mono;
    }
    if (!all && total < MIRROR_RECORD_AFTER && mono - m->first_ack_mono_ms < MIRROR_RECORD_MS) {
        return;
    }
    if (sdat_store_begin(st) < 0) {
        return; /* the acknowledgements stay queued */
    }
    for (int s = 0; s < N_STREAMS; s++) {
        for (size_t i = 0; i < m->s[s].n_acked; i++) {
            if (mark_sent(st, (enum stream)s, m->s[s].acked[i]) < 0) {
                sdat_store_rollback(st);
                return;
            }
        }
    }
    if (sdat_store_commit(st) == 0) {
        for (int s = 0; s < N_STREAMS; s++) {
            m->s[s].n_acked = 0;
        }
        m->first_ack_mono_ms = 0;
    }
}
