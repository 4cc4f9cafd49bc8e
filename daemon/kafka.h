/* Kafka clients configured from the configuration: the bootstrap servers
 * (or the embedded broker's address) and kafka.properties. */
#ifndef SDAT_KAFKA_H
#define SDAT_KAFKA_H

#include <stddef.h>

#include <librdkafka/rdkafka.h>

#include "config.h"

/* The bootstrap address to use: kafka.bootstrap_servers, or with
 * kafka.embedded the address in STATE_DIR/bootstrap.servers. Caller frees. */
int sdat_kafka_bootstrap(const struct sdat_config *cfg, char **ret_bootstrap, char *err,
                         size_t errlen);
/* A configuration with bootstrap.servers and every kafka.properties pair set.
 * Property values are never copied into err (they may be secrets). */
int sdat_kafka_conf_new(const struct sdat_config *cfg, const char *bootstrap,
                        rd_kafka_conf_t **ret_conf, char *err, size_t errlen);
/* An idempotent producer. */
int sdat_kafka_producer_new(const struct sdat_config *cfg, const char *bootstrap,
                            rd_kafka_t **ret_rk, char *err, size_t errlen);

#endif
