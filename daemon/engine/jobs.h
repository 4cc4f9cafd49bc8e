/* Writes requested by other threads (the HTTP API), run on the one writer
 * thread. A job is a function run inside a store transaction on the
 * daemon's main loop; the requesting thread waits for its result. Jobs that
 * arrive together are run in one transaction (grouped commits, one
 * savepoint each: a failing job rolls back only itself), so that many
 * audited requests cost one commit. */
#ifndef SDAT_JOBS_H
#define SDAT_JOBS_H

#include <stdbool.h>
#include <stdint.h>

#include "engine-t.h"

typedef struct sdat_jobs sdat_jobs_t;

/* Runs on the writer thread inside a transaction: >= 0 keeps its changes,
 * < 0 rolls them back. The value is handed back to the requester. */
typedef int (*sdat_job_fn)(struct sdat_engine *e, void *arg, int64_t now_ms);

int sdat_jobs_new(sdat_jobs_t **ret_jobs);
/* Fails every waiting job with -ESHUTDOWN; accepts NULL. */
void sdat_jobs_free(sdat_jobs_t *jobs);
/* The writer's wake-up: called (from the requesting thread) when a job is
 * queued, so that the main loop stops waiting for Kafka. */
void sdat_jobs_set_wake(sdat_jobs_t *jobs, void (*wake)(void *opaque), void *opaque);

/* From any thread but the writer: runs fn(e, arg, now) on the writer and
 * waits at most timeout_ms for it. Returns fn's value once its changes are
 * committed (or rolled back, for a negative value), -ETIMEDOUT when the
 * writer did not run it in time (it may still run later: arg must stay
 * valid — use sdat_jobs_run only with arguments that outlive the wait, or
 * accept that a timed-out job is abandoned, see below), -ESHUTDOWN when the
 * daemon is stopping, or -EIO when the commit failed. A timed-out job is
 * cancelled if it has not started; if it is running, the call waits for
 * it. So after return, fn never runs again and arg may be freed. */
int sdat_jobs_run(sdat_jobs_t *jobs, sdat_job_fn fn, void *arg, int timeout_ms);

/* What one transaction of jobs may grow to before it commits. */
#define SDAT_JOBS_PER_COMMIT 64
#define SDAT_JOBS_COMMIT_US 2000

/* How long a transaction of jobs may keep taking jobs queued while it runs
 * (SDAT_JOBS_COMMIT_US unless set; writer thread, before draining). */
void sdat_jobs_set_commit_window(sdat_jobs_t *jobs, int64_t us);

/* Writer thread: runs every queued job in one transaction, and those queued
 * meanwhile, and commits when none is left (or SDAT_JOBS_PER_COMMIT ran, or
 * the commit window passed). Returns how many ran, or a negative store
 * error (each of them then gets -EIO). */
int sdat_jobs_drain(sdat_jobs_t *jobs, struct sdat_engine *e, int64_t now_ms);
/* Whether a job is queued (any thread). */
bool sdat_jobs_pending(sdat_jobs_t *jobs);

#endif
