/* Mirrors the store's dead letters to the DLQ topic: the original bytes
 * (first 64 KiB of an oversized one), keyed by the source key, with the
 * sdat-* headers of interfaces.md. A row is marked sent only after the
 * broker acknowledged it, so a crash or outage repeats, never loses. */
#ifndef SDAT_DLQ_H
#define SDAT_DLQ_H

#include <librdkafka/rdkafka.h>

#include "store.h"

typedef struct sdat_dlq sdat_dlq_t;

/* The producer must have been created with sdat_dlq_conf_hook applied. */
int sdat_dlq_new(rd_kafka_t *producer, const char *topic, sdat_dlq_t **ret_dlq);
void sdat_dlq_free(sdat_dlq_t *dlq);
/* Installs the delivery-report callback on a producer configuration. */
void sdat_dlq_conf_hook(rd_kafka_conf_t *conf);
/* Produces unsent dead letters not already in flight. */
int sdat_dlq_pump(sdat_dlq_t *dlq, sdat_store_t *st);
/* Serves delivery reports (marks rows sent); call from the writer thread. */
void sdat_dlq_poll(sdat_dlq_t *dlq, sdat_store_t *st);

#endif
