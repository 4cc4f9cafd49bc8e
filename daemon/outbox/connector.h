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

#include "util/util.h"

/* ABI 2: deliveries are started and completed asynchronously, so that a
 * connector can run many at once on one event loop (libcurl's multi
 * interface, librdkafka's delivery reports); init receives the runtime
 * environment. ABI 3: a connector declares its recipient keys (keys) and
 * receives them filled in (sdat_connector_recipient), so that the core's
 * configuration holds no connector's fields and a connector sees nothing
 * of the core but this header and util. ABI 4: check_keys reports every
 * problem with a recipient's keys, each at its key, where check stopped at
 * the first (sdatd -t then showed one problem per recipient per run). */
#define SDAT_CONNECTOR_ABI 4

enum sdat_delivery_result {
    SDAT_DELIVERY_DONE = 0,
    SDAT_DELIVERY_RETRY,
    SDAT_DELIVERY_FAILED,
};

/* What a connector may need beyond its recipient's keys. Borrowed; it
 * outlives every context created with it. */
struct sdat_connector_env {
    const char *bootstrap_servers; /* the Kafka cluster actually in use (embedded or configured) */
    /* kafka.properties, the connection and security settings the daemon's
     * own Kafka clients use: "name", "value", … pairs ending with NULL, or
     * NULL for none. Values may be secrets: never copied into a message. */
    const char *const *kafka_properties;
    const char *user_agent; /* "sdatd/VERSION" */
    double give_up_after;   /* delivery.give_up_after (s): no retry is asked for beyond it */
};

/* A recipient as its connector sees it. Borrowed; it outlives every
 * context created with it. */
struct sdat_connector_recipient {
    const char *id; /* recipients.[N].id */
    /* The connector's own struct (the size its key table gives), filled
     * from the recipient's keys by the configuration: defaults, then the
     * values given; strings NULL when absent. Never NULL. */
    const void *conf;
};

struct sdat_delivery;
/* Reports the end of one delivery. Called exactly once per started
 * delivery, from start (a synchronous connector) or from poll, never from
 * another thread. The connector must not touch d after calling it. */
typedef void (*sdat_delivery_done_fn)(struct sdat_delivery *d, enum sdat_delivery_result result,
                                      void *opaque);

struct sdat_delivery {
    /* in, owned by the core and unchanged until done is called */
    const char *notification_id;
    const char *kind;
    const char *recipient_id;
    const char *payload; /* byte-identical on every attempt */
    size_t payload_len;
    int attempt; /* 1 for the first */
    /* What a person reads (decide/letter.h, delivery.md "What a person
     * reads"), rendered by the core for connectors that send to people:
     * the letter's text and HTML parts, and the link-mode letter that holds
     * no personal data. Each NULL when it could not be rendered. Added
     * within ABI 3: a connector that ignores them is unaffected. */
    const char *letter_text, *letter_html;
    const char *link_text, *link_html;
    /* out, set before done is called */
    int64_t retry_after_ms; /* with RETRY: the delay the receiver asked for, or 0 */
    char detail[256];       /* short reason for the attempt record; no personal data */
};

struct sdat_connector_ops {
    unsigned abi; /* SDAT_CONNECTOR_ABI at the time the connector was written */
    const char *name;
    /* Up to ABI 3: checks the recipient's connector keys without side
     * effects (sdatd -t) and stops at the first problem: 0, or a negative
     * errno and err filled with "KEY: MESSAGE" (KEY relative to the
     * recipient, e.g. "url: must start with https://"). NULL: nothing to
     * check. Superseded by check_keys, which the core calls instead when a
     * connector of ABI 4 or later fills it; NULL in such a connector. */
    int (*check)(const struct sdat_connector_recipient *recipient, char *err, size_t errlen);
    /* Creates the per-recipient context. The recipient and env are borrowed
     * and outlive the context. Secrets are read here (sdat_secret_read). */
    int (*init)(const struct sdat_connector_env *env,
                const struct sdat_connector_recipient *recipient, void **ret_ctx, char *err,
                size_t errlen);
    /* Starts one delivery; done(d, result, opaque) reports its end. 0
     * started (or already done), or a negative errno when it could not be
     * started (done is then not called; the core records a retry). */
    int (*start)(void *ctx, struct sdat_delivery *d, sdat_delivery_done_fn done, void *opaque);
    /* Drives the connector's I/O for at most timeout_ms and reports the
     * deliveries that finished. NULL for a connector whose start completes
     * every delivery itself. Connectors sharing one event loop between their
     * contexts may complete any context's deliveries from any poll. */
    int (*poll)(void *ctx, int timeout_ms);
    /* Abandons the deliveries in flight (done is not called for them) and
     * frees the context; accepts NULL. */
    void (*destroy)(void *ctx);
    /* ABI 3: the recipient keys this connector reads (util/keytab.h), with
     * keys->connector equal to name. The configuration parses them into a
     * struct of keys->size bytes (sdat_connector_recipient.conf), -t checks
     * the files they mark, and sdatd.conf(5) lists them. */
    const struct sdat_key_table *keys;
    /* ABI 4: checks the recipient's connector keys without side effects
     * (sdatd -t) and reports every problem it finds, each once, through
     * report(opaque, KEY, FORMAT, ...) with KEY one of its keys ("url"; NULL
     * for the recipient as a whole). It does not stop at the first: one run
     * of -t shows them all, each at its key's line. The files its key table
     * marks are checked by the core; it need not open them. 0 when it
     * reported nothing, else -EINVAL. NULL: nothing to check. */
    int (*check_keys)(const struct sdat_connector_recipient *recipient, sdat_key_report_fn report,
                      void *opaque);
};

#endif
