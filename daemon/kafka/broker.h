/* librdkafka's mock cluster as a Kafka-protocol broker on loopback: the
 * embedded broker of `kafka.embedded = true` and `sdatctl broker`. It keeps
 * nothing on disk. */
#ifndef SDAT_BROKER_H
#define SDAT_BROKER_H

#include <stddef.h>

typedef struct sdat_broker sdat_broker_t;

int sdat_broker_start(int brokers, sdat_broker_t **ret_broker, char *err, size_t errlen);
void sdat_broker_stop(sdat_broker_t *broker); /* accepts NULL */
/* "127.0.0.1:port,…", borrowed for the broker's life. */
const char *sdat_broker_bootstraps(const sdat_broker_t *broker);
int sdat_broker_create_topic(sdat_broker_t *broker, const char *topic, int partitions);
/* One fault command: "down BROKER", "up BROKER", "rtt BROKER MS",
 * "error APIKEY CODE COUNT". 0, or -EINVAL with a message. */
int sdat_broker_command(sdat_broker_t *broker, const char *line, char *err, size_t errlen);

#endif
