/* sdatd's own state, shared by its main loop (sdatd.c) and the
 * consumption of events and the read gauges (sdatd_consume.c). Not part of
 * libsdat: only the daemon's program links these. */
#ifndef SDAT_SDATD_H
#define SDAT_SDATD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "engine/engine.h"
#include "decide/decide.h"
#include "kafka/kafka.h"
#include "config/config.h"
#include "http/http.h"
#include "outbox/outbox.h"
#include "store/store.h"

#define REGISTER_WAIT_MS 30000
/* Events consumed and committed together (one transaction, one fsync). */
#define CONSUME_BATCH 256
/* Register records applied in one turn. */
#define REGISTER_BATCH 512
/* While the HTTP API has asked for writes (jobs) in the last API_BUSY_MS,
 * the turn's other steps take smaller batches, so that an answer waiting
 * for the writer waits for little (P2: a lookup's audit record). */
#define API_BUSY_MS 1000
#define CONSUME_BATCH_API_BUSY 16
#define REGISTER_BATCH_API_BUSY 64
/* How often a store write that failed (a full disk) is tried again. */
#define STORE_RETRY_MS 500

struct daemon {
    const char *config_path;
    int log_level, log_format; /* command-line overrides, or -1 */
    struct sdat_config *cfg;
    sdat_store_t *st;
    sdat_audit_t *audit;
    sdat_schemas_t *schemas;
    sdat_broker_t *broker;
    char *bootstrap;
    rd_kafka_t *consumer;
    sdat_regfeed_t *regfeed;
    sdat_nicknames_t *nicknames;
    int64_t started_mono_ms;
    bool register_wait_over;
    int64_t register_said_mono_ms;
    rd_kafka_t *producer;
    sdat_mirror_t *mirror;
    sdat_outbox_t *outbox;
    sdat_jobs_t *jobs;
    sdat_http_t *http;
    rd_kafka_queue_t *consumer_queue; /* woken when a job is queued */
    /* Readiness: the broker answered a metadata request in the last probe
     * (a thread of its own, so that the loop never waits for it). */
    pthread_t probe;
    bool probe_started;
    atomic_bool probe_stop, broker_up;
    bool consumer_assigned;
    bool index_loaded; /* the register index was loaded and not yet dropped */
    /* Since when the consumer has held no partition (monotonic ms; 0 while
     * it holds some): the log says how long an assignment took. */
    int64_t unassigned_since_mono_ms;
    int64_t last_gauges_mono_ms;
    int64_t next_retention_mono_ms; /* 0: at the first turn after start */
    struct sdat_engine engine;
    /* A message whose effects could not be committed (store failure); it is
     * processed again before anything else is consumed. */
    struct sdat_kafka_batch held; /* n 0: none */
    bool consumed_full_batch;    /* more may be fetched already: do not wait */
    int64_t jobs_served_mono_ms; /* when the last HTTP job ran, 0 for never */
    /* The outbox could not record its deliveries (the same store failure,
     * met before an event is): not ready, said once, retried calmly. */
    bool deliveries_unrecorded;
};

/* Processes a batch of consumed messages (sdat_kafka_batch_process); a
 * negative store error means nothing of the batch was committed. */
int sdatd_handle_batch(struct daemon *d, const struct sdat_kafka_batch *b);
/* Up to max messages (CONSUME_BATCH at most), the first waited for at most
 * timeout ms, processed in one transaction; on a store failure they are
 * held. */
void sdatd_consume_batch(struct daemon *d, int timeout, size_t max);
/* The gauges of /metrics that are read rather than counted. */
void sdatd_update_gauges(struct daemon *d, int64_t now);
/* Notes when the consumer gains or loses its partitions, and logs how long
 * the wait took (the restart figures of docs/OPERATING.md). */
void sdatd_watch_assignment(struct daemon *d, int64_t mono);

#endif
