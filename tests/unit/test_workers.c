/* The decision workers (engine/workers.c, issue 21): a batch prepared on
 * any number of workers is applied as if one thread had processed it.
 * The same messages (incidents of one to twenty children, twins, unknown
 * children, duplicates, amendments, broken JSON, wrong keys) go through
 * sdat_engine_process_batch with no workers, one and four, each run into a
 * store of its own with the same clock: every audit record, with its
 * sequence number and hash, must be the same bytes in the same order.
 * Incidents of twenty children and broken messages side by side make
 * four workers finish out of order, so a writer that applied them in the
 * order they were prepared would fail here (make mutate: W1). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"

#define MESSAGES 240
#define NOW_MS 1795179600000 /* 2026-11-19T21:00:00Z */

static const char *const givens[] = {"Ashlyn", "Bramwell", "Corvina", "Dashiell", "Emberly",
                                     "Fenna",  "Fenn",     "Quillon", "Rosalind", "Tamsin"};
static const char *const families[] = {"Testwood", "Exampleton", "Sampleby", "Twinsworth",
                                       "Otherly"};
static const char *const dobs[] = {"2016-04-12", "2018-09-30", "2015-02-03", "2023-05-06",
                                   "2013-07-08", "2017-01-01", "2004-03-03"};

struct text {
    char *s;
    size_t len, cap;
};

static void append(struct text *t, const char *s)
{
    size_t n = strlen(s);
    if (t->len + n + 2 > t->cap) {
        t->cap = (t->len + n + 2) * 2;
        t->s = realloc(t->s, t->cap);
        cr_assert_not_null(t->s);
    }
    memcpy(t->s + t->len, s, n);
    t->len += n;
    t->s[t->len++] = '\n';
    t->s[t->len] = '\0';
}

static int audit_line(int64_t seq, const char *record, void *opaque)
{
    char head[32];
    snprintf(head, sizeof head, "%lld", (long long)seq);
    append(opaque, head);
    append(opaque, record);
    return 0;
}

static int notification_line(const struct sdat_notification *n, void *opaque)
{
    char line[256];
    snprintf(line, sizeof line, "%s %s %s %s", n->id, n->recipient, n->kind, n->payload_sha256);
    append(opaque, line);
    return 0;
}

/* Message i of the stream: its topic, key and value (owned by the caller). */
static void message(unsigned i, char **ret_key, char **ret_value)
{
    unsigned seed = i * 2654435761u;
    char id[32];
    snprintf(id, sizeof id, "W%04u", i % 200 == i ? i : i - 40); /* the last 40 come again */
    int version = i >= 200 && i % 2 ? 2 : 1;                     /* half of them amended */
    size_t kids = i % 7 == 0 ? 20 : 1 + seed % 4;
    json_t *list = json_array();
    for (size_t k = 0; k < kids; k++) {
        unsigned r = seed >> (k % 16) ^ (unsigned)k * 40503u;
        char ref[8];
        snprintf(ref, sizeof ref, "c%zu", k);
        json_array_append_new(list, police_child(ref, givens[r % 10], families[(r >> 4) % 5],
                                                 dobs[(r >> 8) % 7],
                                                 (r >> 12) % 3 == 0 ? "9990000018" : NULL));
    }
    if (version == 2) {
        json_array_remove(list, json_array_size(list) - 1);
        if (json_array_size(list) == 0) {
            json_array_append_new(list,
                                  police_child("c0", "Fenna", "Twinsworth", "2017-01-01", NULL));
        }
    }
    json_t *doc = incident(id, version, "2026-11-19T20:00:00Z", list);
    *ret_key = malloc(64);
    snprintf(*ret_key, 64, "derbyshire/%s", id);
    if (i % 11 == 5) {
        snprintf(*ret_key, 64, "derbyshire/not-its-key");
    }
    *ret_value = json_dumps(doc, JSON_COMPACT);
    if (i % 13 == 6) {
        (*ret_value)[strlen(*ret_value) / 2] = '\0'; /* cut short: not JSON */
    }
    json_decref(doc);
}

/* The stream through a fresh engine with n workers, in batches of batch;
 * the audit records and notifications it left, as text. */
static char *run(int n, size_t batch, int64_t *ret_prepared, int64_t *ret_matched)
{
    engine_setup();
    if (n > 0) {
        cr_assert_eq(sdat_workers_start(n, &engine.workers), 0);
        cr_assert_eq(sdat_workers_count(engine.workers), n);
    }
    struct sdat_inbound msgs[MESSAGES];
    char *keys[MESSAGES], *values[MESSAGES];
    for (unsigned i = 0; i < MESSAGES; i++) {
        message(i, &keys[i], &values[i]);
        msgs[i] = (struct sdat_inbound){.topic = "police.da-incidents",
                                        .partition = 0,
                                        .offset = i,
                                        .key = keys[i],
                                        .key_len = strlen(keys[i]),
                                        .value = values[i],
                                        .value_len = strlen(values[i])};
    }
    for (size_t at = 0; at < MESSAGES; at += batch) {
        size_t k = MESSAGES - at < batch ? MESSAGES - at : batch;
        cr_assert_eq(sdat_store_begin(st), 0);
        cr_assert_eq(sdat_engine_process_batch(&engine, msgs + at, k, NOW_MS), 0);
        cr_assert_eq(sdat_store_commit(st), 0);
    }
    struct text t = {0};
    cr_assert_eq(sdat_store_audit_each(st, 0, audit_line, &t), 0);
    cr_assert_eq(sdat_store_notifications_list(st, NULL, 1000000, notification_line, &t), 0);
    *ret_prepared = *ret_matched = 0;
    if (engine.workers) {
        sdat_workers_stats(engine.workers, ret_prepared, ret_matched);
    }
    cr_assert(sdat_store_register_index_loaded(st));
    sdat_workers_stop(engine.workers);
    engine.workers = NULL;
    for (unsigned i = 0; i < MESSAGES; i++) {
        free(keys[i]);
        free(values[i]);
    }
    engine_teardown();
    return t.s;
}

static size_t count(const char *text, const char *what)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, what)); p++) {
        n++;
    }
    return n;
}

Test(workers, any_number_of_workers_leaves_the_same_audit_records_and_notifications)
{
    int64_t prepared, matched;
    char *none = run(0, 64, &prepared, &matched);
    cr_assert_eq(prepared, 0);
    /* The stream is what it says: matches, reviews, the unmatched, the
     * dead letters, duplicates and amendments. */
    cr_assert_gt(count(none, "\"type\":\"match.decided\""), 300);
    cr_assert_gt(count(none, "\"decision\":\"review\""), 0);
    cr_assert_gt(count(none, "\"decision\":\"none\""), 0);
    cr_assert_gt(count(none, "\"type\":\"event.rejected\""), 30);
    cr_assert_gt(count(none, "\"type\":\"event.duplicate\""), 0);
    cr_assert_gt(count(none, "\"supersedes_version\""), 0);
    cr_assert_gt(count(none, " da-incident "), 0);
    const struct {
        int workers;
        size_t batch;
    } runs[] = {{1, 64}, {4, 240}, {4, 7}, {3, 1}};
    for (size_t r = 0; r < sizeof runs / sizeof runs[0]; r++) {
        char *got = run(runs[r].workers, runs[r].batch, &prepared, &matched);
        cr_assert_eq(prepared, MESSAGES, "%d workers: every message prepared on them",
                     runs[r].workers);
        cr_assert_gt(matched, 150, "%d workers: the incidents matched on them", runs[r].workers);
        size_t i = 0;
        while (none[i] && none[i] == got[i]) {
            i++;
        }
        cr_assert(none[i] == got[i], "%d workers, %zu a batch: differs at byte %zu of %zu",
                  runs[r].workers, runs[r].batch, i, strlen(none));
        free(got);
    }
    free(none);
}

Test(workers, starts_and_stops_without_a_batch)
{
    sdat_workers_t *w = NULL;
    cr_assert_eq(sdat_workers_start(0, &w), -EINVAL);
    cr_assert_eq(sdat_workers_start(3, &w), 0);
    cr_assert_eq(sdat_workers_count(w), 3);
    sdat_workers_stop(w);
    sdat_workers_stop(NULL);
}
