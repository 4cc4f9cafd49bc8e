/* The engine's types that other parts name without needing the engine's
 * functions (the Kafka part hands messages in as sdat_inbound). */
#ifndef SDAT_ENGINE_T_H
#define SDAT_ENGINE_T_H

#include <stddef.h>
#include <stdint.h>

struct sdat_engine;

/* One consumed message as the engine sees it; the bytes are borrowed. */
struct sdat_inbound {
    const char *topic;
    int32_t partition;
    int64_t offset;
    const void *key; /* may be NULL */
    size_t key_len;
    const void *value; /* NULL for a tombstone */
    size_t value_len;
};

/* What an operator action did (engine.h, "Operator actions"). */
struct sdat_operator_result {
    char state[16];         /* the notification's state afterwards */
    char redirected_to[40]; /* redirect: the new notification, else "" */
    char withdrawal[40];    /* the withdrawn notification sent, else "" */
    char err[256];
};

#endif
