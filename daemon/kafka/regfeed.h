/* The register feed: the compacted topics council.children and
 * council.cpis-flags read as global tables. Every instance reads every
 * partition (no consumer group splits the register) from the positions it
 * keeps in its own store per cluster id, so a restart resumes where it
 * stopped and a new instance, or any instance on another cluster, reads
 * the topics from the beginning. Records are applied in
 * batches, each batch and its positions in one transaction. */
#ifndef SDAT_REGFEED_H
#define SDAT_REGFEED_H

#include <stdbool.h>
#include <stddef.h>

#include "config/config.h"
#include "engine/engine-t.h"

typedef struct sdat_regfeed sdat_regfeed_t;

int sdat_regfeed_new(const struct sdat_config *cfg, const char *bootstrap, sdat_regfeed_t **ret,
                     char *err, size_t errlen);
void sdat_regfeed_free(sdat_regfeed_t *feed); /* accepts NULL */

/* Assigns partitions as they appear, then reads up to max records and
 * applies them. The number applied, or a negative store error: nothing of
 * the batch was committed and it is applied again on the next call. */
int sdat_regfeed_poll(sdat_regfeed_t *feed, struct sdat_engine *e, int64_t now_ms, int max);

/* Whether both topics' partitions are known (a topic the cluster does not
 * have counts as empty) and each has been applied up to the end offset
 * read when it was assigned (or reported its end): the register is
 * current. */
bool sdat_regfeed_current(const sdat_regfeed_t *feed);

#endif
