/* The outbox: notifications become due at their next attempt time and are
 * handed to their recipient's connector. The core owns retries and state;
 * a delivery is marked done only after the connector said so. */
#ifndef SDAT_OUTBOX_H
#define SDAT_OUTBOX_H

#include <stdint.h>

#include "engine.h"

typedef struct sdat_outbox sdat_outbox_t;

/* Creates a connector context per recipient of cfg (borrowed; must outlive
 * the outbox). */
int sdat_outbox_new(const struct sdat_config *cfg, sdat_outbox_t **ret_outbox, char *err,
                    size_t errlen);
void sdat_outbox_free(sdat_outbox_t *outbox);
/* Delivers up to max due notifications; 0 or a negative store error. */
int sdat_outbox_run(sdat_outbox_t *outbox, struct sdat_engine *e, int64_t now_ms, int max);
/* The retry delay for attempt n (1-based) in ms, uniformly random between
 * half and all of min(retry_max, retry_initial * 2^(n-1)); rnd in [0, 1). */
int64_t sdat_outbox_backoff_ms(double retry_initial_s, double retry_max_s, int n, double rnd);

#endif
