/* Jobs: writes asked by other threads run on the writer thread, grouped in
 * one transaction, one savepoint each. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"

static char dir[64];
static sdat_store_t *st;
static sdat_audit_t *audit;
static struct sdat_engine engine;
static sdat_jobs_t *jobs;

static void setup(void)
{
    fixture_dir_make(dir, sizeof dir, "jobs");
    st = fixture_store_open(dir);
    cr_assert_eq(sdat_audit_new("test", &audit), 0);
    engine = (struct sdat_engine){.st = st, .audit = audit};
    cr_assert_eq(sdat_jobs_new(&jobs), 0);
}

static void teardown(void)
{
    sdat_jobs_free(jobs);
    fixture_close(NULL, st, NULL, audit);
    fixture_dir_remove(dir);
}

TestSuite(jobs, .init = setup, .fini = teardown);

/* A job that appends one audit record and answers its argument; a
 * negative argument appends and then fails (rolled back alone). */
static int append_job(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    int v = *(int *)arg;
    int r = sdat_audit_append(e->audit, e->st, now_ms, "test.job", "test", NULL,
                              json_pack("{s:i}", "v", v));
    return r < 0 ? r : v;
}

struct requester {
    int arg, result;
};

static void *request(void *opaque)
{
    struct requester *q = opaque;
    q->result = sdat_jobs_run(jobs, append_job, &q->arg, 10000);
    return NULL;
}

static volatile int writer_stop;

static void *writer(void *opaque)
{
    (void)opaque;
    while (!writer_stop) {
        sdat_jobs_drain(jobs, &engine, 1000);
        usleep(1000);
    }
    sdat_jobs_drain(jobs, &engine, 1000);
    return NULL;
}

static int count_records(int64_t seq, const char *record, void *opaque)
{
    (void)seq;
    if (strstr(record, "test.job")) {
        (*(int *)opaque)++;
    }
    return 0;
}

struct chain {
    int64_t expected;
    char prev[65];
};

static int verify_chain(int64_t seq, const char *record, void *opaque)
{
    struct chain *c = opaque;
    char hash[65], reason[128];
    cr_assert_eq(seq, c->expected);
    cr_assert_eq(sdat_audit_verify_record(record, c->expected, c->prev, hash, reason, sizeof reason),
                 0, "seq %lld: %s", (long long)seq, reason);
    memcpy(c->prev, hash, 65);
    c->expected++;
    return 0;
}

Test(jobs, many_threads_get_their_own_results_and_a_failing_job_leaves_nothing)
{
    enum { N = 40 };
    pthread_t w, t[N];
    struct requester q[N];
    writer_stop = 0;
    cr_assert_eq(pthread_create(&w, NULL, writer, NULL), 0);
    for (int i = 0; i < N; i++) {
        /* Every fifth job fails after writing. */
        q[i] = (struct requester){.arg = i % 5 == 4 ? -(i + 1) : i + 1};
        cr_assert_eq(pthread_create(&t[i], NULL, request, &q[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(q[i].result, q[i].arg, "job %d answered %d", i, q[i].result);
    }
    writer_stop = 1;
    pthread_join(w, NULL);
    int n = 0;
    cr_assert_eq(sdat_store_audit_each(st, 1, count_records, &n), 0);
    cr_assert_eq(n, N - N / 5, "only the jobs that succeeded left records");
    /* The chain is intact: no gap where a failed job's record was. */
    struct chain c = {.expected = 1};
    memset(c.prev, '0', 64);
    cr_assert_eq(sdat_store_audit_each(st, 1, verify_chain, &c), 0);
    cr_assert_eq(c.expected, N - N / 5 + 1);
}

Test(jobs, a_job_nobody_runs_times_out_and_never_runs_later)
{
    struct requester q = {.arg = 7};
    q.result = sdat_jobs_run(jobs, append_job, &q.arg, 50);
    cr_assert_eq(q.result, -ETIMEDOUT);
    cr_assert_eq(sdat_jobs_drain(jobs, &engine, 1000), 0, "the timed-out job was withdrawn");
}

static int64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A job that, while it runs on the writer, has another thread queue a job
 * and waits until it is queued (it ends at late_queued_us). */
static struct requester late = {.arg = 9};
static pthread_t late_thread;
static int64_t late_queued_us;

static int job_with_a_late_neighbour(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    cr_assert_eq(pthread_create(&late_thread, NULL, request, &late), 0);
    while (!sdat_jobs_pending(jobs)) {
        usleep(50);
    }
    int r = append_job(e, arg, now_ms);
    late_queued_us = mono_us();
    return r;
}

static void *request_with_a_late_neighbour(void *opaque)
{
    struct requester *q = opaque;
    q->result = sdat_jobs_run(jobs, job_with_a_late_neighbour, &q->arg, 10000);
    return NULL;
}

Test(jobs, a_job_queued_while_others_run_joins_their_transaction_and_commit)
{
    struct requester first = {.arg = 1};
    pthread_t t;
    cr_assert_eq(pthread_create(&t, NULL, request_with_a_late_neighbour, &first), 0);
    while (!sdat_jobs_pending(jobs)) {
        usleep(50);
    }
    /* The test is the writer: one drain, one transaction. */
    int64_t began = mono_us();
    int n = sdat_jobs_drain(jobs, &engine, 1000);
    if (n == 1 && late_queued_us - began >= SDAT_JOBS_COMMIT_US / 2) {
        /* The machine was too slow to start the late requester within
         * the time a transaction may grow: its job is (rightly) left for
         * the next drain. Not the case under test. */
        sdat_jobs_drain(jobs, &engine, 1000);
        pthread_join(t, NULL);
        pthread_join(late_thread, NULL);
        cr_skip_test("the late job took %lld us to be queued", (long long)(late_queued_us - began));
    }
    cr_assert_eq(n, 2, "both jobs ran in one drain");
    cr_assert_eq(sdat_jobs_pending(jobs), false);
    pthread_join(t, NULL);
    pthread_join(late_thread, NULL);
    cr_assert_eq(first.result, 1);
    cr_assert_eq(late.result, 9, "answered after that one commit");
    int records = 0;
    cr_assert_eq(sdat_store_audit_each(st, 1, count_records, &records), 0);
    cr_assert_eq(records, 2);
}
