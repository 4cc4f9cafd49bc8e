#include "curl_shared.h"

#include <errno.h>

#include "util/util.h"

static int acquire(struct sdat_curl_shared *s)
{
    if (s->refs == 0) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            return -EIO;
        }
        s->multi = curl_multi_init();
        if (!s->multi) {
            curl_global_cleanup();
            return -ENOMEM;
        }
        if (s->setup) {
            s->setup(s->multi);
        }
    }
    s->refs++;
    return 0;
}

/* The last reference frees the multi handle. */
static void release(struct sdat_curl_shared *s)
{
    if (s->refs == 0 || --s->refs > 0) {
        return;
    }
    curl_multi_cleanup(s->multi);
    s->multi = NULL;
    curl_global_cleanup();
}

int sdat_curl_client_open(struct sdat_curl_client *c, struct sdat_curl_shared *s,
                          const struct sdat_curl_ops *ops)
{
    int r = acquire(s);
    if (r < 0) {
        return r;
    }
    c->shared = s;
    c->ops = ops;
    c->transfers = NULL;
    return 0;
}

void sdat_curl_client_close(struct sdat_curl_client *c)
{
    while (c->transfers) {
        sdat_curl_transfer_free(c->transfers);
    }
    if (c->shared) {
        release(c->shared);
        c->shared = NULL;
    }
}

int sdat_curl_transfer_init(struct sdat_curl_transfer *t, struct sdat_curl_client *c,
                            struct sdat_delivery *d, sdat_delivery_done_fn done, void *opaque)
{
    t->client = c;
    t->d = d;
    t->done = done;
    t->opaque = opaque;
    t->easy = curl_easy_init();
    if (!t->easy) {
        return -ENOMEM;
    }
    if (curl_easy_setopt(t->easy, CURLOPT_PRIVATE, (void *)t) != CURLE_OK ||
        curl_easy_setopt(t->easy, CURLOPT_ERRORBUFFER, t->errbuf) != CURLE_OK ||
        curl_easy_setopt(t->easy, CURLOPT_NOSIGNAL, 1L) != CURLE_OK) {
        return -EINVAL;
    }
    return 0;
}

int sdat_curl_transfer_start(struct sdat_curl_transfer *t)
{
    struct sdat_curl_client *c = t->client;
    if (curl_multi_add_handle(c->shared->multi, t->easy) != CURLM_OK) {
        return -EIO;
    }
    t->started = true;
    c->shared->in_flight++;
    t->prev = NULL;
    t->next = c->transfers;
    if (t->next) {
        t->next->prev = t;
    }
    c->transfers = t;
    return 0;
}

void sdat_curl_transfer_free(struct sdat_curl_transfer *t)
{
    struct sdat_curl_client *c = t->client;
    if (t->started) {
        if (t->prev) {
            t->prev->next = t->next;
        } else {
            c->transfers = t->next;
        }
        if (t->next) {
            t->next->prev = t->prev;
        }
        curl_multi_remove_handle(c->shared->multi, t->easy);
        c->shared->in_flight--;
    }
    if (t->easy) {
        curl_easy_cleanup(t->easy);
        t->easy = NULL;
    }
    c->ops->release(t);
}

/* Reports one finished transfer: frees it, then calls done, which may start
 * deliveries or destroy the context that started this one. */
static void finish(struct sdat_curl_transfer *t, CURLcode code)
{
    struct sdat_delivery *d = t->d;
    sdat_delivery_done_fn done = t->done;
    void *opaque = t->opaque;
    d->retry_after_ms = 0;
    enum sdat_delivery_result result = t->client->ops->outcome(t, code);
    sdat_curl_transfer_free(t);
    done(d, result, opaque);
}

/* Reports every finished transfer, whichever context started it; the
 * number reported. */
static int reap(struct sdat_curl_shared *s)
{
    CURLMsg *msg;
    int left = 0, reported = 0;
    while ((msg = curl_multi_info_read(s->multi, &left))) {
        if (msg->msg != CURLMSG_DONE) {
            continue;
        }
        CURL *easy = msg->easy_handle;
        CURLcode code = msg->data.result; /* msg is gone once the handle is removed */
        char *private = NULL;
        if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, &private) != CURLE_OK || !private) {
            curl_multi_remove_handle(s->multi, easy);
            continue;
        }
        finish((struct sdat_curl_transfer *)(void *)private, code);
        reported++;
    }
    return reported;
}

int sdat_curl_shared_poll(struct sdat_curl_shared *s, int timeout_ms)
{
    int64_t deadline = sdat_time_mono_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    int running = 0, r = 0;
    if (!s->multi || s->in_flight == 0) {
        return 0;
    }
    /* A done callback may destroy the last context: hold the multi handle
     * until this poll is over. */
    s->refs++;
    for (;;) {
        if (curl_multi_perform(s->multi, &running) != CURLM_OK) {
            r = -EIO;
            break;
        }
        if (reap(s) > 0 || running == 0 || s->in_flight == 0) {
            break;
        }
        int64_t left = deadline - sdat_time_mono_ms();
        if (left <= 0) {
            break;
        }
        if (curl_multi_poll(s->multi, NULL, 0, (int)left, NULL) != CURLM_OK) {
            r = -EIO;
            break;
        }
    }
    release(s);
    return r;
}
