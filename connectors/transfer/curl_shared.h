/* The libcurl multi loop of the connectors that run deliveries as libcurl
 * transfers (webhook, smtp): one multi handle per connector, shared by every
 * context of it, so that connections to a receiver are reused across its
 * recipients and so that any context's poll drives and completes every
 * context's deliveries (connector.h allows it). The connector builds each
 * transfer's request and classifies its end; everything between, from
 * adding the easy handle to calling done, is here.
 *
 * Used from the daemon's main loop only (the connector contract's one
 * thread); nothing is locked. */
#ifndef SDAT_CURL_SHARED_H
#define SDAT_CURL_SHARED_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "outbox/connector.h"

/* One per connector, static, with setup set in its initialiser; the other
 * members belong to curl_shared.c. */
struct sdat_curl_shared {
    void (*setup)(CURLM *multi); /* configures a new multi handle, or NULL */
    CURLM *multi;
    unsigned refs;
    size_t in_flight;
};

struct sdat_curl_transfer;

/* What differs between connectors. */
struct sdat_curl_ops {
    /* Maps a finished transfer onto the contract's three answers: sets
     * t->d->detail and, with a retry, t->d->retry_after_ms (0 on entry).
     * t->easy is still attached for curl_easy_getinfo; t->errbuf holds
     * libcurl's message, if it gave one. */
    enum sdat_delivery_result (*outcome)(struct sdat_curl_transfer *t, CURLcode code);
    /* Frees the connector's transfer, which embeds t, and what it owns; the
     * easy handle is already gone. Accepts a half-built one. */
    void (*release)(struct sdat_curl_transfer *t);
};

/* A context's part in the loop: its reference on the shared handle and its
 * transfers in flight, which it owns until they are reported. Embedded in
 * the context, zeroed; the members belong to curl_shared.c. */
struct sdat_curl_client {
    struct sdat_curl_shared *shared; /* NULL until opened */
    const struct sdat_curl_ops *ops;
    struct sdat_curl_transfer *transfers;
};

/* One delivery in flight, embedded in the connector's own transfer struct
 * (sdat_curl_transfer_of finds that). The connector reads d, easy and
 * errbuf; the rest belongs to curl_shared.c. */
struct sdat_curl_transfer {
    struct sdat_curl_client *client;
    struct sdat_curl_transfer *prev, *next;
    bool started;            /* attached to the multi handle and listed in the client */
    CURL *easy;              /* owned */
    struct sdat_delivery *d; /* borrowed from the core until done */
    sdat_delivery_done_fn done;
    void *opaque;
    char errbuf[CURL_ERROR_SIZE];
};

/* The connector's struct of type `type` whose member `member` is t. */
#define sdat_curl_transfer_of(t, type, member)                                                     \
    ((type *)(void *)((char *)(t) - offsetof(type, member)))

/* Takes a reference on s for the context that embeds c, creating the multi
 * handle on the first (and initialising libcurl, which counts its own
 * initialisations). s and ops are borrowed and outlive c. 0, -EIO or
 * -ENOMEM, with c untouched on failure. */
int sdat_curl_client_open(struct sdat_curl_client *c, struct sdat_curl_shared *s,
                          const struct sdat_curl_ops *ops);
/* Abandons c's transfers in flight (done is not called for them) and drops
 * its reference; the last one frees the multi handle. Accepts a zeroed c. */
void sdat_curl_client_close(struct sdat_curl_client *c);

/* Prepares t, zeroed, for one delivery of an open client: a new easy handle
 * with the options every transfer has (CURLOPT_PRIVATE, which is t's and
 * must not be changed, the error buffer, no signals). The connector then
 * sets its own options and calls sdat_curl_transfer_start. 0, -ENOMEM or
 * -EINVAL; on failure too, t is ready for sdat_curl_transfer_free. */
int sdat_curl_transfer_init(struct sdat_curl_transfer *t, struct sdat_curl_client *c,
                            struct sdat_delivery *d, sdat_delivery_done_fn done, void *opaque);
/* Hands t to the loop: its client owns it until it is reported (done is
 * called after ops->release) or abandoned. 0, or -EIO with t still the
 * caller's. */
int sdat_curl_transfer_start(struct sdat_curl_transfer *t);
/* Detaches t from the loop and from its client, cleans up its easy handle
 * and calls ops->release; done is not called. For a transfer that was
 * initialised (started or not). */
void sdat_curl_transfer_free(struct sdat_curl_transfer *t);

/* Drives every transfer on s, whichever context started it, until at least
 * one is reported or timeout_ms passes; returns at once when none is in
 * flight. done may start deliveries and create or destroy contexts. 0, or
 * -EIO when libcurl fails. */
int sdat_curl_shared_poll(struct sdat_curl_shared *s, int timeout_ms);

#endif
