/* One libcurl multi handle shared by every context of a connector, so that
 * connections to a receiver are reused across its recipients. Used from
 * the daemon's main loop only (the connector contract's one thread). */
#ifndef SDAT_CURL_SHARED_H
#define SDAT_CURL_SHARED_H

#include <stddef.h>

#include <curl/curl.h>

struct sdat_curl_shared {
    CURLM *multi;
    unsigned refs;
    size_t in_flight; /* for the connector's own bookkeeping */
};

/* Takes a reference, creating the multi handle on the first (and
 * initialising libcurl, which counts its own initialisations); setup, when
 * not NULL, configures a new handle. 0, -EIO or -ENOMEM. */
int sdat_curl_shared_acquire(struct sdat_curl_shared *s, void (*setup)(CURLM *multi));
/* Drops a reference; the last one frees the handle. */
void sdat_curl_shared_release(struct sdat_curl_shared *s);

#endif
