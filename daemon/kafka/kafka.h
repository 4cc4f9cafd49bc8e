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

/* The defaults of a member of the consumer group, below kafka.properties
 * (docs/OPERATING.md "Restarts and the consumer group"): the shortest
 * session a Kafka broker allows by default (group.min.session.timeout.ms),
 * a heartbeat well under a third of it. On librdkafka's mock cluster, whose
 * coordinator ignores group.instance.id and takes two sessions to replace a
 * dead member, a shorter one (it has no minimum). */
#define SDAT_KAFKA_SESSION_TIMEOUT_MS "6000"
#define SDAT_KAFKA_HEARTBEAT_INTERVAL_MS "1000"
#define SDAT_KAFKA_MOCK_SESSION_TIMEOUT_MS "3000"
#define SDAT_KAFKA_MOCK_HEARTBEAT_INTERVAL_MS "500"
/* Kafka's limit on a group.instance.id's length. */
#define SDAT_KAFKA_GROUP_INSTANCE_ID_MAX 249
/* INSTANCE_ID as a group.instance.id: the characters Kafka allows in one
 * ([A-Za-z0-9._-]) kept, any other replaced by '_', at most
 * SDAT_KAFKA_GROUP_INSTANCE_ID_MAX of them (and size - 1). */
void sdat_kafka_group_instance_id(const char *instance_id, char *buf, size_t size);
/* sdat_kafka_conf_new for a member of the consumer group: static
 * membership (group.instance.id from instance_id) and the session defaults
 * above (the mock cluster's with MOCK), set before kafka.properties so
 * that the operator's properties override them. */
int sdat_kafka_conf_new_member(const struct sdat_config *cfg, const char *bootstrap, bool mock,
                               rd_kafka_conf_t **ret_conf, char *err, size_t errlen);
/* librdkafka's log callback: its messages through the daemon's log. */
void sdat_kafka_log(const rd_kafka_t *rk, int level, const char *fac, const char *buf);
/* An idempotent producer. */
int sdat_kafka_producer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen);

/* ---- The consumer of the inbound event topics (consumer.c) ---- */

/* A consumer in the group kafka.group_id subscribed to the police
 * incidents and health attendances topics, a static member of it. Asks the
 * cluster's id first (waiting up to 2 s for the broker): librdkafka's mock
 * cluster gets the shorter default session. */
int sdat_kafka_consumer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen);

/* Leaves the group (also as a static member: see consumer.c), committing
 * the stored offsets, and closes CONSUMER; the caller still destroys it. */
void sdat_kafka_consumer_close(rd_kafka_t *consumer);

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
/* How many partitions the consumer holds now (0 when it cannot say): a
 * local call, cheap enough for every turn of the main loop. */
int sdat_kafka_assigned_count(rd_kafka_t *consumer);

#endif
