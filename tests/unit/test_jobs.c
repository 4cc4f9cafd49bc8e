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

/* A job that, while it runs on the writer, has another thread queue a job
 * and waits until it is queued. */
static struct requester late = {.arg = 9};
static pthread_t late_thread;

static int job_with_a_late_neighbour(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    cr_assert_eq(pthread_create(&late_thread, NULL, request, &late), 0);
    while (!sdat_jobs_pending(jobs)) {
        usleep(50);
    }
    return append_job(e, arg, now_ms);
}

static void *request_with_a_late_neighbour(void *opaque)
{
    struct requester *q = opaque;
    q->result = sdat_jobs_run(jobs, job_with_a_late_neighbour, &q->arg, 10000);
    return NULL;
}

/* Runs the first job with a late neighbour through drains under a commit
 * window: returns how many jobs the first drain ran. */
static int drain_with_a_late_neighbour(int64_t window_us, struct requester *first)
{
    pthread_t t;
    sdat_jobs_set_commit_window(jobs, window_us);
    cr_assert_eq(pthread_create(&t, NULL, request_with_a_late_neighbour, first), 0);
    while (!sdat_jobs_pending(jobs)) {
        usleep(50);
    }
    /* The test is the writer. */
    int n = sdat_jobs_drain(jobs, &engine, 1000);
    pthread_join(t, NULL);
    return n;
}

Test(jobs, a_job_queued_while_others_run_joins_their_transaction_and_commit)
{
    struct requester first = {.arg = 1};
    /* A window no machine outlasts: the late job is queued inside it. */
    int n = drain_with_a_late_neighbour(INT64_C(60000000), &first);
    cr_assert_eq(n, 2, "both jobs ran in one drain");
    cr_assert_eq(sdat_jobs_pending(jobs), false);
    pthread_join(late_thread, NULL);
    cr_assert_eq(first.result, 1);
    cr_assert_eq(late.result, 9, "answered after that one commit");
    int records = 0;
    cr_assert_eq(sdat_store_audit_each(st, 1, count_records, &records), 0);
    cr_assert_eq(records, 2);
}

Test(jobs, a_job_queued_after_the_commit_window_waits_for_the_next_drain)
{
    struct requester first = {.arg = 1};
    late.result = 0;
    /* A window already over when the first job ends: the transaction
     * commits with one job and the late one is left queued. */
    int n = drain_with_a_late_neighbour(0, &first);
    cr_assert_eq(n, 1, "the late job did not join");
    cr_assert_eq(first.result, 1);
    cr_assert_eq(sdat_jobs_pending(jobs), true, "the late job is still queued");
    cr_assert_eq(sdat_jobs_drain(jobs, &engine, 1000), 1);
    pthread_join(late_thread, NULL);
    cr_assert_eq(late.result, 9);
    int records = 0;
    cr_assert_eq(sdat_store_audit_each(st, 1, count_records, &records), 0);
    cr_assert_eq(records, 2);
}
