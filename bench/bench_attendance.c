/* make bench, P3: the round trip of an attendance through the daemon's
 * topics. A producer thread publishes health.attendance/1 events at RATE per
 * second for SECONDS, keyed ODS_CODE/ATTENDANCE_ID, and notes the monotonic
 * time just before each is handed to librdkafka; the main thread reads
 * health.cpis-responses (assigned at its end offsets before the first
 * attendance is sent) and, for each response whose key is one of this run's
 * attendance keys, takes the time it became readable. The patients' NHS
 * numbers are taken in turn from NHS_FILE (one a line: the script mixes
 * numbers with and without CP-IS flags).
 *
 *   bench_attendance BOOTSTRAP NHS_FILE RATE SECONDS [WARMUP_SECONDS]
 *
 * Prints the counts and the round trip's p50, p90, p99 and maximum in ms of
 * the attendances sent after the first WARMUP_SECONDS (default 0; their
 * worst is printed apart: the first seconds after a consumer joins its
 * group are not the steady state P3 asks about). A response that never
 * comes counts as longer than any: a percentile among them is "inf". The
 * producer sends at once (linger.ms 0) and the consumer fetches with
 * fetch.wait.max.ms 10, so that the figure is the daemon's, not the
 * benchmark's. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <librdkafka/rdkafka.h>

#define IN_TOPIC "health.attendances"
#define OUT_TOPIC "health.cpis-responses"
#define ODS_CODE "RBENCH"
#define DRAIN_SECONDS 10 /* to wait for the last responses */

struct run {
    rd_kafka_t *producer;
    char **nhs;
    size_t n_nhs;
    long rate, count, warm;   /* attendances SEQ < warm are not counted */
    char tag[32];             /* attendance ids are TAG-SEQ */
    _Atomic int64_t *sent_ns; /* per SEQ; 0 until sent */
    atomic_long sent, failed;
    atomic_bool done;
};

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void on_delivery(rd_kafka_t *rk, const rd_kafka_message_t *msg, void *opaque)
{
    (void)rk;
    struct run *run = opaque;
    if (msg->err) {
        atomic_fetch_add(&run->failed, 1);
    }
}

static void *produce_all(void *opaque)
{
    struct run *run = opaque;
    int64_t start = mono_ns();
    for (long seq = 0; seq < run->count; seq++) {
        int64_t due = start + (int64_t)((double)seq * 1e9 / (double)run->rate);
        struct timespec ts = {.tv_sec = due / 1000000000, .tv_nsec = due % 1000000000};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        char key[96], value[512], arrived[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(arrived, sizeof arrived, "%Y-%m-%dT%H:%M:%SZ", &tm);
        int klen = snprintf(key, sizeof key, "%s/%s-%ld", ODS_CODE, run->tag, seq);
        int vlen = snprintf(value, sizeof value,
                            "{\"schema\":\"health.attendance/1\",\"attendance_id\":\"%s-%ld\","
                            "\"ods_code\":\"%s\",\"setting\":\"emergency-department\","
                            "\"arrived_at\":\"%s\",\"patient\":{\"nhs_number\":\"%s\"}}",
                            run->tag, seq, ODS_CODE, arrived, run->nhs[seq % run->n_nhs]);
        atomic_store(&run->sent_ns[seq], mono_ns());
        rd_kafka_resp_err_t e = rd_kafka_producev(
            run->producer, RD_KAFKA_V_TOPIC(IN_TOPIC), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
            RD_KAFKA_V_KEY(key, (size_t)klen), RD_KAFKA_V_VALUE(value, (size_t)vlen),
            RD_KAFKA_V_END);
        if (e) {
            atomic_store(&run->sent_ns[seq], 0);
            atomic_fetch_add(&run->failed, 1);
        } else {
            atomic_fetch_add(&run->sent, 1);
        }
        rd_kafka_poll(run->producer, 0);
    }
    rd_kafka_flush(run->producer, 10000);
    atomic_store(&run->done, true);
    return NULL;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

/* The p-th percentile in ms of TOTAL round trips of which the N in v
 * (sorted) arrived: the missing ones count as longer than any, so a
 * percentile that falls among them is infinite. */
static double pct(const int64_t *v, size_t n, size_t total, double p)
{
    size_t i = (size_t)(p / 100.0 * (double)total);
    i = i < total ? i : total - 1;
    return i < n ? (double)v[i] / 1e6 : 1.0 / 0.0;
}

static char **read_lines(const char *path, size_t *ret_n)
{
    FILE *f = fopen(path, "re");
    if (!f) {
        perror(path);
        return NULL;
    }
    char **v = NULL, *line = NULL;
    size_t n = 0, cap = 0, linecap = 0;
    ssize_t len;
    while ((len = getline(&line, &linecap, f)) > 0) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0]) {
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 1024;
            char **v2 = realloc(v, cap * sizeof *v);
            if (!v2) {
                break;
            }
            v = v2;
        }
        v[n++] = strdup(line);
    }
    free(line);
    fclose(f);
    *ret_n = n;
    return v;
}

/* A consumer of OUT_TOPIC assigned at each partition's current end. */
static rd_kafka_t *response_consumer(const char *bootstrap)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "group.id", "sdat-bench-attendance", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "enable.auto.commit", "false", errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "fetch.wait.max.ms", "10", errstr, sizeof errstr)) {
        fprintf(stderr, "bench_attendance: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof errstr);
    if (!rk) {
        fprintf(stderr, "bench_attendance: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return NULL;
    }
    rd_kafka_poll_set_consumer(rk);
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, OUT_TOPIC, NULL);
    const struct rd_kafka_metadata *md = NULL;
    rd_kafka_topic_partition_list_t *list = NULL;
    if (rd_kafka_metadata(rk, 0, rkt, &md, 10000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        md->topic_cnt == 1 && md->topics[0].partition_cnt > 0) {
        list = rd_kafka_topic_partition_list_new(md->topics[0].partition_cnt);
        for (int i = 0; i < md->topics[0].partition_cnt; i++) {
            int32_t p = md->topics[0].partitions[i].id;
            int64_t lo = 0, hi = 0;
            rd_kafka_query_watermark_offsets(rk, OUT_TOPIC, p, &lo, &hi, 10000);
            rd_kafka_topic_partition_list_add(list, OUT_TOPIC, p)->offset = hi;
        }
    }
    if (md) {
        rd_kafka_metadata_destroy(md);
    }
    rd_kafka_topic_destroy(rkt);
    if (!list || rd_kafka_assign(rk, list) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "bench_attendance: cannot assign the partitions of %s\n", OUT_TOPIC);
        if (list) {
            rd_kafka_topic_partition_list_destroy(list);
        }
        rd_kafka_destroy(rk);
        return NULL;
    }
    rd_kafka_topic_partition_list_destroy(list);
    return rk;
}

/* What the main thread makes of the responses. */
struct tally {
    int64_t *rtt; /* ns, of the counted attendances answered, in order of arrival */
    bool *seen;   /* per SEQ: a response has been read */
    size_t received, counted, foreign, repeats;
    int64_t warm_max; /* ns, the worst round trip of the warm-up */
};

/* Sets run's rate, warm and count from the command line; -1 for a usage error. */
static int parse_args(int argc, char **argv, struct run *run)
{
    if ((argc != 5 && argc != 6) || atol(argv[3]) < 1 || atol(argv[4]) < 1 ||
        (argc == 6 && atol(argv[5]) < 0)) {
        return -1;
    }
    run->rate = atol(argv[3]);
    run->warm = argc == 6 ? run->rate * atol(argv[5]) : 0;
    run->count = run->warm + run->rate * atol(argv[4]);
    return 0;
}

/* Reads the NHS numbers and allocates the per-SEQ arrays; reports its own
 * errors. */
static int prepare(struct run *run, struct tally *t, const char *nhs_path)
{
    snprintf(run->tag, sizeof run->tag, "B%lld", (long long)time(NULL));
    run->nhs = read_lines(nhs_path, &run->n_nhs);
    if (!run->nhs || run->n_nhs == 0) {
        fprintf(stderr, "bench_attendance: no NHS numbers in %s\n", nhs_path);
        return -1;
    }
    run->sent_ns = calloc((size_t)run->count, sizeof *run->sent_ns);
    t->rtt = calloc((size_t)run->count, sizeof *t->rtt);
    t->seen = calloc((size_t)run->count, sizeof *t->seen);
    if (!run->sent_ns || !t->rtt || !t->seen) {
        fprintf(stderr, "bench_attendance: out of memory\n");
        return -1;
    }
    return 0;
}

/* Sets run->producer: sends at once (linger.ms 0), counts failed
 * deliveries in run. */
static int start_producer(struct run *run, const char *bootstrap)
{
    char errstr[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    if (rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap, errstr, sizeof errstr) ||
        rd_kafka_conf_set(conf, "linger.ms", "0", errstr, sizeof errstr)) {
        fprintf(stderr, "bench_attendance: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    rd_kafka_conf_set_opaque(conf, run);
    rd_kafka_conf_set_dr_msg_cb(conf, on_delivery);
    run->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof errstr);
    if (!run->producer) {
        fprintf(stderr, "bench_attendance: %s\n", errstr);
        rd_kafka_conf_destroy(conf);
        return -1;
    }
    return 0;
}

/* Counts one message read at now from OUT_TOPIC: a first response to one of
 * this run's attendances (keys prefix + SEQ) is a round trip, a second a
 * repeat; anything else on the topic is foreign. */
static void note_response(const struct run *run, struct tally *t, const rd_kafka_message_t *m,
                          const char *prefix, size_t plen, int64_t now)
{
    if (m->err) {
        return;
    }
    if (!m->key || m->key_len <= plen || memcmp(m->key, prefix, plen) != 0) {
        t->foreign++;
        return;
    }
    char digits[24];
    size_t dl = m->key_len - plen;
    if (dl >= sizeof digits) {
        return;
    }
    memcpy(digits, (const char *)m->key + plen, dl);
    digits[dl] = '\0';
    long seq = atol(digits);
    int64_t sent = seq >= 0 && seq < run->count ? atomic_load(&run->sent_ns[seq]) : 0;
    if (sent && !t->seen[seq]) {
        t->seen[seq] = true;
        t->received++;
        if (seq >= run->warm) {
            t->rtt[t->counted++] = now - sent;
        } else if (now - sent > t->warm_max) {
            t->warm_max = now - sent;
        }
    } else if (sent) {
        t->repeats++;
    }
}

/* Reads responses until every attendance has one, or DRAIN_SECONDS after
 * the producer has finished. */
static void collect_responses(const struct run *run, rd_kafka_t *consumer, struct tally *t)
{
    char prefix[64];
    int plen = snprintf(prefix, sizeof prefix, "%s/%s-", ODS_CODE, run->tag);
    int64_t drain_until = 0;
    while (t->received < (size_t)run->count) {
        if (atomic_load(&run->done) && drain_until == 0) {
            drain_until = mono_ns() + (int64_t)DRAIN_SECONDS * 1000000000;
        }
        if (drain_until && mono_ns() > drain_until) {
            break;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 100);
        if (!m) {
            continue;
        }
        note_response(run, t, m, prefix, (size_t)plen, mono_ns());
        rd_kafka_message_destroy(m);
    }
}

/* Sorts t->rtt. */
static void print_report(const struct run *run, struct tally *t)
{
    long sent = atomic_load(&run->sent), failed = atomic_load(&run->failed);
    printf("attendance: sent %ld at %ld/s (%ld not accepted by the broker); %zu responses, "
           "%ld missing after %d s, %zu repeated, %zu others on the topic\n",
           sent, run->rate, failed, t->received, sent - (long)t->received, DRAIN_SECONDS,
           t->repeats, t->foreign);
    if (run->warm > 0) {
        printf("attendance: the first %ld (warm-up, not counted): worst round trip %.1f ms\n",
               run->warm, (double)t->warm_max / 1e6);
    }
    size_t total = (size_t)(run->count - run->warm);
    size_t counted = t->counted;
    if (counted > 0) {
        /* A missing response is a round trip longer than the run: "inf". */
        qsort(t->rtt, counted, sizeof *t->rtt, cmp_i64);
        printf("attendance: round trip of the %zu counted (%zu answered): p50 %.1f ms, "
               "p90 %.1f ms, p99 %.1f ms, max %.1f ms\n",
               total, counted, pct(t->rtt, counted, total, 50), pct(t->rtt, counted, total, 90),
               pct(t->rtt, counted, total, 99),
               counted < total ? 1.0 / 0.0 : (double)t->rtt[counted - 1] / 1e6);
    }
}

static void free_run(struct run *run, struct tally *t)
{
    for (size_t i = 0; i < run->n_nhs; i++) {
        free(run->nhs[i]);
    }
    free(run->nhs);
    free(run->sent_ns);
    free(t->rtt);
    free(t->seen);
}

int main(int argc, char **argv)
{
    struct run run = {0};
    if (parse_args(argc, argv, &run) < 0) {
        fprintf(stderr,
                "usage: bench_attendance BOOTSTRAP NHS_FILE RATE SECONDS [WARMUP_SECONDS]\n");
        return 2;
    }
    struct tally t = {0};
    if (prepare(&run, &t, argv[2]) < 0) {
        return 1;
    }
    rd_kafka_t *consumer = response_consumer(argv[1]);
    if (!consumer) {
        return 1;
    }
    /* Let the assignment take effect (first fetch) before producing. */
    rd_kafka_message_t *m = rd_kafka_consumer_poll(consumer, 1000);
    if (m) {
        rd_kafka_message_destroy(m);
    }
    if (start_producer(&run, argv[1]) < 0) {
        return 1;
    }
    pthread_t thread;
    if (pthread_create(&thread, NULL, produce_all, &run) != 0) {
        fprintf(stderr, "bench_attendance: cannot start the producer\n");
        return 1;
    }
    collect_responses(&run, consumer, &t);
    pthread_join(thread, NULL);
    print_report(&run, &t);
    rd_kafka_consumer_close(consumer);
    rd_kafka_destroy(consumer);
    rd_kafka_destroy(run.producer);
    free_run(&run, &t);
    return t.counted > 0 ? 0 : 1;
}
