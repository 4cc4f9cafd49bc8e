/* The connector contract. The core is blind to connectors: it hands a
 * connector one serialised notification at a time and owns retries, backoff,
 * circuits and state. A connector answers done, retry (optionally after a
 * delay it asks for) or failed, and nothing else.
 *
 * Each connector exports exactly one `const struct sdat_connector_ops` and
 * keeps everything else static; the registry in connector.c maps names to
 * them. The struct grows only at its end, and `abi` says which members a
 * connector fills (as sqlite's iVersion does): a core never reads a member
 * beyond the connector's abi. */
#ifndef SDAT_CONNECTOR_H
#define SDAT_CONNECTOR_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define SDAT_CONNECTOR_ABI 1

enum sdat_delivery_result {
    SDAT_DELIVERY_DONE = 0,
    SDAT_DELIVERY_RETRY,
    SDAT_DELIVERY_FAILED,
};

struct sdat_delivery {
    /* in, borrowed for the duration of deliver() */
    const char *notification_id;
    const char *kind;
    const char *recipient_id;
    const char *payload; /* byte-identical on every attempt */
    size_t payload_len;
    int attempt; /* 1 for the first */
    /* out */
    int64_t retry_after_ms; /* with RETRY: the delay the receiver asked for, or 0 */
    char detail[256];       /* short reason for the attempt record; no personal data */
};

struct sdat_connector_ops {
    unsigned abi; /* SDAT_CONNECTOR_ABI at the time the connector was written */
    const char *name;
    /* Checks the recipient's connector keys without side effects (sdatd -t).
     * NULL: nothing to check. Fills err with "KEY: MESSAGE" (KEY relative to
     * the recipient, e.g. "directory: is required"). */
    int (*check)(const struct sdat_recipient *recipient, char *err, size_t errlen);
    /* Creates the per-recipient context. The recipient is borrowed and
     * outlives the context. */
    int (*init)(const struct sdat_recipient *recipient, void **ret_ctx, char *err, size_t errlen);
    enum sdat_delivery_result (*deliver)(void *ctx, struct sdat_delivery *d);
    /* Optional: lets a connector make progress on its own I/O. */
    int (*poll)(void *ctx, int timeout_ms);
    void (*destroy)(void *ctx); /* accepts NULL */
};

const struct sdat_connector_ops *sdat_connector_find(const char *name);
/* Runs each recipient's connector check; one "FILE:LINE: recipients.[N].KEY:
 * MESSAGE\n" line per problem appended to *errors (malloc'd, may be NULL on
 * entry). Returns the number of problems. */
int sdat_connector_check_all(const struct sdat_config *cfg, char **errors);

#endif
