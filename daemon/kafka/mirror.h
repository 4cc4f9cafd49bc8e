/* What the store owes Kafka, produced after the transaction that wrote it:
 * dead letters to the DLQ topic (the original bytes, first 64 KiB of an
 * oversized one, keyed by the source key, with the sdat-* headers of
 * interfaces.md), CP-IS responses to topics.cpis_responses (keyed by the
 * attendance key) and every audit record to topics.audit (keyed
 * INSTANCE/SEQ). A row is marked sent only after the broker acknowledged
 * it, so a crash or an outage repeats a message, never loses one. */
#ifndef SDAT_MIRROR_H
#define SDAT_MIRROR_H

#include <stdbool.h>

#include <librdkafka/rdkafka.h>

#include "store/store-t.h"

typedef struct sdat_mirror sdat_mirror_t;

struct sdat_mirror_topics {
    const char *dead_letter, *cpis_responses, *audit;
    const char *instance; /* the audit key's prefix */
};

/* The strings are copied. */
int sdat_mirror_new(const struct sdat_mirror_topics *topics, sdat_mirror_t **ret_mirror);
void sdat_mirror_free(sdat_mirror_t *mirror);
/* Installs the delivery-report callback on the producer's configuration;
 * then sdat_mirror_attach the producer made from it. */
void sdat_mirror_conf_hook(sdat_mirror_t *mirror, rd_kafka_conf_t *conf);
void sdat_mirror_attach(sdat_mirror_t *mirror, rd_kafka_t *producer);
/* At most this many rows of each stream are produced by one pump. */
#define SDAT_MIRROR_BATCH 256
/* Produces rows not yet in flight: the number produced, or a negative
 * store error. A full batch says more may be waiting (an import's audit
 * records): the caller should pump again without pausing. */
int sdat_mirror_pump(sdat_mirror_t *mirror, sdat_store_t *st);
/* Serves delivery reports and marks the acknowledged rows sent, in one
 * transaction, once enough have come or the oldest has waited a second
 * (all: now, whatever there is); call from the writer thread. */
void sdat_mirror_poll(sdat_mirror_t *mirror, sdat_store_t *st, bool all);

#endif
