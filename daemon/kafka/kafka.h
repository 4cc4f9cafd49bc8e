/* Kafka clients configured from the configuration: the bootstrap servers
 * (or the embedded broker's address) and kafka.properties. */
#ifndef SDAT_KAFKA_H
#define SDAT_KAFKA_H

#include <stdbool.h>
#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config/config.h"
#include "engine/engine-t.h"

#include "broker.h"
#include "mirror.h"
#include "regfeed.h"

/* The bootstrap address to use: kafka.bootstrap_servers, or with
 * kafka.embedded the address in STATE_DIR/bootstrap.servers. Caller frees. */
int sdat_kafka_bootstrap(const struct sdat_config *cfg, char **ret_bootstrap, char *err,
                         size_t errlen);
/* A configuration with bootstrap.servers and every kafka.properties pair set.
 * Property values are never copied into err (they may be secrets). */
/* A consumed message as the engine sees it; borrows msg. */
struct sdat_inbound sdat_kafka_inbound(const rd_kafka_message_t *msg);

/* The settings both consumers share: GROUP_ID, offsets stored by the
 * caller only after its store transaction committed, the earliest offset
 * when none is known, and a fetch size that admits an oversized message so
 * that it can be dead-lettered. auto_commit: commit stored offsets to the
 * group (the police consumer), or keep positions elsewhere (the register). */
void sdat_kafka_conf_consumer(rd_kafka_conf_t *conf, const struct sdat_config *cfg,
                              const char *group_id, bool auto_commit);
int sdat_kafka_conf_new(const struct sdat_config *cfg, const char *bootstrap,
                        rd_kafka_conf_t **ret_conf, char *err, size_t errlen);
/* librdkafka's log callback: its messages through the daemon's log. */
void sdat_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);
/* An idempotent producer. */
int sdat_kafka_producer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen);

/* ---- The consumer of the inbound event topics (consumer.c) ---- */

/* A consumer in the group kafka.group_id subscribed to the police
 * incidents and health attendances topics. */
int sdat_kafka_consumer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen);

/* Consumed messages processed together. */
struct sdat_kafka_batch {
    rd_kafka_message_t **msgs; /* owned */
    size_t n;
};

/* Up to max messages, the first waited for at most timeout ms and the
 * rest only as far as they are already fetched (n may be 0). 0 or
 * -ENOMEM. Free with sdat_kafka_batch_free. */
int sdat_kafka_batch_poll(rd_kafka_t *consumer, int timeout, size_t max,
                          struct sdat_kafka_batch *ret);
/* Processes the batch in one store transaction (one commit, one fsync,
 * however many events), then stores its offsets for the consumer to
 * commit: an offset is committed only after the effects of its message
 * are. 0, or a negative store error: nothing of the batch was committed
 * and the caller holds it to try again. */
int sdat_kafka_batch_process(rd_kafka_t *consumer, struct sdat_engine *e,
                             const struct sdat_kafka_batch *b, int64_t now_ms);
void sdat_kafka_batch_free(struct sdat_kafka_batch *b);
/* Sets the consumer-lag gauge per assigned partition (the high watermark
 * last seen by the fetcher minus the position: no broker round trip).
 * Whether any partition is assigned. */
bool sdat_kafka_lag_gauges(rd_kafka_t *consumer);

#endif
