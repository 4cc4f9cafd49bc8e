/* Read queries the HTTP API needs beside store.h's (store_api.c). They
 * work on a read-only store (SDAT_STORE_READONLY) as on the writer's. */
#ifndef SDAT_STORE_API_H
#define SDAT_STORE_API_H

#include <stdint.h>

#include "store.h"

struct sdat_attempt {
    int n;
    int64_t at_ms;
    const char *outcome;
    const char *detail; /* may be NULL */
};

/* Calls fn for each delivery attempt of a notification, oldest first; the
 * strings are borrowed for the duration of the call. 0 (also when there
 * are none), fn's negative value, or -EIO. */
int sdat_store_attempts_each(sdat_store_t *st, const char *notification_id,
                             int (*fn)(const struct sdat_attempt *a, void *opaque), void *opaque);

/* A read transaction, so that the several queries of one answer see one
 * snapshot of the store; never held across a wait. 0 or -EIO. */
int sdat_store_read_begin(sdat_store_t *st);
void sdat_store_read_end(sdat_store_t *st);

#endif
