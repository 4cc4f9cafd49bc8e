/* Decision workers (issue 21): threads that prepare a batch's messages
 * (parse, schema, key, and an incident's matches against a read-only view
 * of the register index) while the writer applies them one by one, in the
 * batch's order, within its transaction. Whatever thread prepared a
 * message and whenever it finished, the writer applies message i only
 * after message i - 1, so audit sequence numbers, notification ids and
 * every record are those of a single thread (sdat_engine_process). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

struct slot {
    struct sdat_prepared p;
    struct sdat_incident_matches matches;
    bool done; /* prepared: the writer may apply it */
};

struct sdat_workers {
    pthread_mutex_t lock;
    pthread_cond_t work; /* a batch to prepare, or stop */
    pthread_cond_t done; /* a slot prepared, or a worker idle */
    pthread_t *threads;
    int n_threads;
    bool stop;
    /* The batch being prepared; the fields are set by the writer under
     * lock before next is reset, and read by the workers under lock. */
    const struct sdat_engine *e;
    const struct sdat_register_view *view;
    const struct sdat_inbound *msgs;
    struct slot **slots; /* one per message, kept from batch to batch */
    size_t n_slots;
    size_t n, next; /* the batch's messages; the next one to take */
    size_t busy;    /* workers preparing a message now */
    int64_t prepared, matched;
};

static void *worker(void *opaque)
{
    struct sdat_workers *w = opaque;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && w->next >= w->n) {
            pthread_cond_wait(&w->work, &w->lock);
        }
        if (w->stop) {
            break;
        }
        size_t i = w->next++;
        struct slot *s = w->slots[i];
        const struct sdat_engine *e = w->e;
        const struct sdat_register_view *view = w->view;
        const struct sdat_inbound *m = &w->msgs[i];
        w->busy++;
        pthread_mutex_unlock(&w->lock);

        sdat_engine_prepare(e, view, m, &s->p);

        pthread_mutex_lock(&w->lock);
        s->done = true;
        w->busy--;
        w->prepared++;
        w->matched += s->p.matched;
        pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int sdat_workers_start(int n, sdat_workers_t **ret)
{
    if (n < 1) {
        return -EINVAL;
    }
    struct sdat_workers *w = calloc(1, sizeof *w);
    if (!w) {
        return -ENOMEM;
    }
    w->threads = calloc((size_t)n, sizeof *w->threads);
    if (!w->threads) {
        free(w);
        return -ENOMEM;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    for (; w->n_threads < n; w->n_threads++) {
        int r = pthread_create(&w->threads[w->n_threads], NULL, worker, w);
        if (r != 0) {
            sdat_workers_stop(w);
            return -r;
        }
        char name[32]; /* as top -H and perf show it: 15 bytes at most */
        snprintf(name, sizeof name, "sdatd-work%d", w->n_threads + 1);
        name[15] = '\0';
        pthread_setname_np(w->threads[w->n_threads], name);
    }
    *ret = w;
    return 0;
}

void sdat_workers_stop(sdat_workers_t *w)
{
    if (!w) {
        return;
    }
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_broadcast(&w->work);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->n_threads; i++) {
        pthread_join(w->threads[i], NULL);
    }
    for (size_t i = 0; i < w->n_slots; i++) {
        free(w->slots[i]);
    }
    free(w->slots);
    free(w->threads);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    free(w);
}

int sdat_workers_count(const sdat_workers_t *w)
{
    return w ? w->n_threads : 0;
}

void sdat_workers_stats(const sdat_workers_t *w, int64_t *ret_prepared, int64_t *ret_matched)
{
    struct sdat_workers *mw = (struct sdat_workers *)w;
    pthread_mutex_lock(&mw->lock);
    *ret_prepared = w->prepared;
    *ret_matched = w->matched;
    pthread_mutex_unlock(&mw->lock);
}

/* Room for n messages' preparations (the writer's, outside any batch). */
static int reserve(struct sdat_workers *w, size_t n)
{
    if (n <= w->n_slots) {
        return 0;
    }
    struct slot **slots = realloc(w->slots, n * sizeof *slots);
    if (!slots) {
        return -ENOMEM;
    }
    w->slots = slots;
    for (; w->n_slots < n; w->n_slots++) {
        if (!(w->slots[w->n_slots] = malloc(sizeof **w->slots))) {
            return -ENOMEM;
        }
    }
    return 0;
}

/* Whether a message of the batch writes the register: the workers must
 * then not match against the index, which that write changes (the
 * daemon's consumer reads no register topic; the register feed applies
 * them between batches). */
static bool writes_register(const struct sdat_engine *e, const struct sdat_inbound *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(msgs[i].topic, e->cfg->topics.council_children) == 0 ||
            strcmp(msgs[i].topic, e->cfg->topics.council_flags) == 0) {
            return true;
        }
    }
    return false;
}

static int process_inline(struct sdat_engine *e, const struct sdat_inbound *msgs, size_t n,
                          int64_t now_ms)
{
    int r = 0;
    for (size_t i = 0; r == 0 && i < n; i++) {
        r = sdat_engine_process(e, &msgs[i], now_ms);
    }
    return r;
}

int sdat_engine_process_batch(struct sdat_engine *e, const struct sdat_inbound *msgs, size_t n,
                              int64_t now_ms)
{
    struct sdat_workers *w = e->workers;
    if (!w || n == 0 || reserve(w, n) < 0) {
        return process_inline(e, msgs, n, now_ms);
    }
    struct sdat_register_view view;
    bool viewing =
        !writes_register(e, msgs, n) && sdat_store_register_view_begin(e->st, &view) == 0;
    for (size_t i = 0; i < n; i++) {
        struct slot *s = w->slots[i];
        s->done = false;
        s->p.doc = NULL;
        s->p.matches = &s->matches;
    }
    pthread_mutex_lock(&w->lock);
    w->e = e;
    w->view = viewing ? &view : NULL;
    w->msgs = msgs;
    w->n = n;
    w->next = 0;
    pthread_cond_broadcast(&w->work);

    int r = 0;
    size_t i = 0;
    for (; i < n && r == 0; i++) {
        struct slot *s = w->slots[i];
        while (!s->done) {
            pthread_cond_wait(&w->done, &w->lock);
        }
        pthread_mutex_unlock(&w->lock);
        r = sdat_engine_apply(e, &msgs[i], &s->p, now_ms);
        sdat_engine_prepared_clear(&s->p);
        pthread_mutex_lock(&w->lock);
    }
    /* After a store error: take no more, wait for those being prepared,
     * and free what was prepared and not applied. */
    w->next = w->n;
    while (w->busy > 0) {
        pthread_cond_wait(&w->done, &w->lock);
    }
    w->n = w->next = 0;
    pthread_mutex_unlock(&w->lock);
    for (; i < n; i++) {
        sdat_engine_prepared_clear(&w->slots[i]->p);
    }
    if (viewing) {
        sdat_store_register_view_end(e->st);
    }
    return r;
}
