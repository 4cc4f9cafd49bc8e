#include "engine.h"
#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

enum job_state { JOB_QUEUED, JOB_RUNNING, JOB_DONE };

struct job {
    sdat_job_fn fn;
    void *arg;
    int result;
    enum job_state state;
    struct job *next;
};

struct sdat_jobs {
    pthread_mutex_t lock;
    pthread_cond_t done; /* a job finished */
    struct job *head, *tail;
    bool closed;
    void (*wake)(void *opaque);
    void *wake_opaque;
    int64_t commit_us; /* how long a transaction of jobs may keep growing */
};

int sdat_jobs_new(sdat_jobs_t **ret_jobs)
{
    sdat_jobs_t *jobs = calloc(1, sizeof *jobs);
    if (jobs) {
        jobs->commit_us = SDAT_JOBS_COMMIT_US;
    }
    if (!jobs) {
        return -ENOMEM;
    }
    pthread_mutex_init(&jobs->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&jobs->done, &attr);
    pthread_condattr_destroy(&attr);
    *ret_jobs = jobs;
    return 0;
}

void sdat_jobs_free(sdat_jobs_t *jobs)
{
    if (!jobs) {
        return;
    }
    pthread_mutex_lock(&jobs->lock);
    jobs->closed = true;
    for (struct job *j = jobs->head; j; j = j->next) {
        j->result = -ESHUTDOWN;
        j->state = JOB_DONE;
    }
    jobs->head = jobs->tail = NULL;
    pthread_cond_broadcast(&jobs->done);
    pthread_mutex_unlock(&jobs->lock);
    /* Requesters still waiting must leave before the memory goes: the
     * HTTP server is stopped before the jobs are freed. */
    pthread_cond_destroy(&jobs->done);
    pthread_mutex_destroy(&jobs->lock);
    free(jobs);
}

void sdat_jobs_set_wake(sdat_jobs_t *jobs, void (*wake)(void *opaque), void *opaque)
{
    pthread_mutex_lock(&jobs->lock);
    jobs->wake = wake;
    jobs->wake_opaque = opaque;
    pthread_mutex_unlock(&jobs->lock);
}

static void unlink_job(sdat_jobs_t *jobs, struct job *job)
{
    struct job **p = &jobs->head;
    struct job *prev = NULL;
    while (*p && *p != job) {
        prev = *p;
        p = &(*p)->next;
    }
    if (*p) {
        *p = job->next;
        if (jobs->tail == job) {
            jobs->tail = prev;
        }
    }
}

int sdat_jobs_run(sdat_jobs_t *jobs, sdat_job_fn fn, void *arg, int timeout_ms)
{
    struct job job = {.fn = fn, .arg = arg, .state = JOB_QUEUED};
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&jobs->lock);
    if (jobs->closed) {
        pthread_mutex_unlock(&jobs->lock);
        return -ESHUTDOWN;
    }
    /* Only the first of the jobs queued since the last drain wakes the
     * writer: that drain takes them all. */
    void (*wake)(void *) = jobs->tail ? NULL : jobs->wake;
    void *wake_opaque = jobs->wake_opaque;
    if (jobs->tail) {
        jobs->tail->next = &job;
    } else {
        jobs->head = &job;
    }
    jobs->tail = &job;
    pthread_mutex_unlock(&jobs->lock);
    if (wake) {
        wake(wake_opaque);
    }

    pthread_mutex_lock(&jobs->lock);
    while (job.state != JOB_DONE) {
        int rc = pthread_cond_timedwait(&jobs->done, &jobs->lock, &deadline);
        if (rc == ETIMEDOUT && job.state == JOB_QUEUED) {
            unlink_job(jobs, &job);
            job.result = -ETIMEDOUT;
            break;
        }
        /* Running: wait for it, however long, so that arg stays valid. */
        if (rc == ETIMEDOUT) {
            deadline.tv_sec += 1;
        }
    }
    pthread_mutex_unlock(&jobs->lock);
    return job.result;
}

bool sdat_jobs_pending(sdat_jobs_t *jobs)
{
    pthread_mutex_lock(&jobs->lock);
    bool pending = jobs->head != NULL;
    pthread_mutex_unlock(&jobs->lock);
    return pending;
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Takes the queued jobs (marked running), or NULL. */
static struct job *take_queued(sdat_jobs_t *jobs)
{
    pthread_mutex_lock(&jobs->lock);
    struct job *batch = jobs->head;
    jobs->head = jobs->tail = NULL;
    for (struct job *j = batch; j; j = j->next) {
        j->state = JOB_RUNNING;
    }
    pthread_mutex_unlock(&jobs->lock);
    return batch;
}

void sdat_jobs_set_commit_window(sdat_jobs_t *jobs, int64_t us)
{
    jobs->commit_us = us;
}

int sdat_jobs_drain(sdat_jobs_t *jobs, struct sdat_engine *e, int64_t now_ms)
{
    struct job *batch = take_queued(jobs);
    if (!batch) {
        return 0;
    }

    /* Jobs queued while these run join the transaction, so that they share
     * its commit instead of waiting for it and then for one of their own;
     * the transaction commits once the queue is empty, or after
     * SDAT_JOBS_PER_COMMIT jobs or the commit window, so that the first
     * answers never wait long for later ones. */
    int64_t began = mono_us();
    int n = 0, r = sdat_store_begin(e->st);
    for (struct job *j = batch; j && r == 0; j = j->next) {
        r = sdat_store_savepoint(e->st);
        if (r < 0) {
            break;
        }
        j->result = j->fn(e, j->arg, now_ms);
        r = j->result >= 0 ? sdat_store_savepoint_release(e->st)
                           : sdat_store_savepoint_rollback(e->st);
        n++;
        if (!j->next && n < SDAT_JOBS_PER_COMMIT && mono_us() - began < jobs->commit_us) {
            j->next = take_queued(jobs);
        }
    }
    if (r == 0) {
        r = sdat_store_commit(e->st);
    } else {
        sdat_store_rollback(e->st);
    }

    pthread_mutex_lock(&jobs->lock);
    struct job *next;
    for (struct job *j = batch; j; j = next) {
        next = j->next; /* j lives on its requester's stack until DONE */
        if (r < 0) {
            j->result = -EIO;
        }
        j->state = JOB_DONE;
    }
    pthread_cond_broadcast(&jobs->done);
    pthread_mutex_unlock(&jobs->lock);
    return r < 0 ? r : n;
}
