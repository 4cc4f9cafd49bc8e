/* Metrics: counters, gauges and histograms land in the right series, and
 * threads adding at once lose no increment. What the registry writes is
 * read by the strict parser in exposition.h; the text format itself is
 * tested in test_metrics_exposition.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "exposition.h"

TestSuite(metrics, .init = fresh);

/* ---- behaviour ---- */

Test(metrics, counters_add_up_per_label_combination)
{
    sdat_metrics_add(SDAT_M_EVENTS, 1, "police.da-incidents", "accepted");
    sdat_metrics_add(SDAT_M_EVENTS, 2, "police.da-incidents", "accepted");
    sdat_metrics_add(SDAT_M_EVENTS, 1, "police.da-incidents", "dead_letter");
    sdat_metrics_add(SDAT_M_EVENTS, 5, "health.attendances", "accepted");
    sdat_metrics_add(SDAT_M_MATCH_DECISIONS, 1, "review");
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, "da-incident", "delivered");
    sdat_metrics_add(SDAT_M_DELIVERY_ATTEMPTS, 1, "webhook", "retry");
    sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 3);
    sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 0.5);
    /* A counter never goes down, and set does not apply to it. */
    sdat_metrics_add(SDAT_M_AUDIT_RECORDS, -10);
    sdat_metrics_add(SDAT_M_AUDIT_RECORDS, NAN);
    sdat_metrics_set(SDAT_M_AUDIT_RECORDS, 0);

    struct exposition e;
    char *text = scrape(&e);
    cr_assert_eq(value_of(find_sample(&e, "sdat_events_total", "topic", "police.da-incidents",
                                      "outcome", "accepted", NULL)),
                 3);
    cr_assert_eq(value_of(find_sample(&e, "sdat_events_total", "topic", "police.da-incidents",
                                      "outcome", "dead_letter", NULL)),
                 1);
    cr_assert_eq(value_of(find_sample(&e, "sdat_events_total", "topic", "health.attendances",
                                      "outcome", "accepted", NULL)),
                 5);
    cr_assert_eq(count_samples(&e, "sdat_events_total"), 3);
    cr_assert_eq(
        value_of(find_sample(&e, "sdat_match_decisions_total", "decision", "review", NULL)), 1);
    cr_assert_eq(value_of(find_sample(&e, "sdat_notifications_total", "kind", "da-incident",
                                      "state", "delivered", NULL)),
                 1);
    cr_assert_eq(value_of(find_sample(&e, "sdat_delivery_attempts_total", "connector", "webhook",
                                      "outcome", "retry", NULL)),
                 1);
    cr_assert_eq(value_of(find_sample(&e, "sdat_audit_records_total", NULL)), 3.5);
    cr_assert(strstr(text, "\nsdat_audit_records_total 3.5\n") != NULL, "%s", text);
    exposition_free(&e);
    free(text);
}

Test(metrics, gauges_are_set_and_clear_drops_every_series)
{
    sdat_metrics_set(SDAT_M_CONSUMER_LAG, 5, "police.da-incidents", "0");
    sdat_metrics_set(SDAT_M_CONSUMER_LAG, 7, "police.da-incidents", "1");
    sdat_metrics_set(SDAT_M_CONSUMER_LAG, 2, "police.da-incidents", "0");
    sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 1, "school:112233");
    sdat_metrics_set(SDAT_M_PENDING, 42);
    sdat_metrics_set(SDAT_M_PENDING, 40);
    sdat_metrics_add(SDAT_M_PENDING, -3);
    sdat_metrics_set(SDAT_M_REGISTER_CHILDREN, 1000000);

    struct exposition e;
    char *text = scrape(&e);
    cr_assert_eq(value_of(find_sample(&e, "sdat_consumer_lag", "topic", "police.da-incidents",
                                      "partition", "0", NULL)),
                 2);
    cr_assert_eq(value_of(find_sample(&e, "sdat_consumer_lag", "topic", "police.da-incidents",
                                      "partition", "1", NULL)),
                 7);
    cr_assert_eq(value_of(find_sample(&e, "sdat_notifications_pending", NULL)), 37);
    cr_assert(strstr(text, "\nsdat_register_children 1000000\n") != NULL, "%s", text);
    exposition_free(&e);
    free(text);

    sdat_metrics_clear(SDAT_M_CONSUMER_LAG);
    sdat_metrics_clear(SDAT_M_EVENTS); /* not a gauge: ignored */
    text = scrape(&e);
    cr_assert_eq(count_samples(&e, "sdat_consumer_lag"), 0);
    cr_assert_not_null(family_get(&e, "sdat_consumer_lag", false));
    cr_assert_eq(value_of(find_sample(&e, "sdat_circuit_open", "recipient", "school:112233", NULL)),
                 1);
    exposition_free(&e);
    free(text);

    sdat_metrics_set(SDAT_M_CONSUMER_LAG, 9, "council.children", "3");
    text = scrape(&e);
    cr_assert_eq(count_samples(&e, "sdat_consumer_lag"), 1);
    cr_assert_eq(value_of(find_sample(&e, "sdat_consumer_lag", "topic", "council.children",
                                      "partition", "3", NULL)),
                 9);
    exposition_free(&e);
    free(text);
}

Test(metrics, an_unlabelled_gauge_is_read_back_once_set)
{
    double v = -1;
    cr_assert_not(sdat_metrics_gauge_get(SDAT_M_REGISTER_CHILDREN, &v), "never set: not known");
    cr_assert_eq(v, -1);
    sdat_metrics_set(SDAT_M_REGISTER_CHILDREN, 1000000);
    cr_assert(sdat_metrics_gauge_get(SDAT_M_REGISTER_CHILDREN, &v));
    cr_assert_eq(v, 1000000);
    sdat_metrics_set(SDAT_M_REGISTER_CHILDREN, 0);
    cr_assert(sdat_metrics_gauge_get(SDAT_M_REGISTER_CHILDREN, &v), "zero is a value");
    cr_assert_eq(v, 0);
    /* Not for a counter, nor for a gauge with labels. */
    sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 3);
    cr_assert_not(sdat_metrics_gauge_get(SDAT_M_AUDIT_RECORDS, &v));
    sdat_metrics_set(SDAT_M_CONSUMER_LAG, 4, "police.da-incidents", "0");
    cr_assert_not(sdat_metrics_gauge_get(SDAT_M_CONSUMER_LAG, &v));
}

Test(metrics, histogram_buckets_are_cumulative_with_sum_and_count)
{
    double delays[] = {0.5, 1, 3, 100, 100000, -2};
    for (size_t i = 0; i < sizeof delays / sizeof delays[0]; i++) {
        sdat_metrics_observe(SDAT_M_DELIVERY_DELAY, delays[i]);
    }
    sdat_metrics_observe(SDAT_M_DELIVERY_DELAY, NAN); /* ignored */
    sdat_metrics_observe(SDAT_M_LOOKUP_DURATION, 0.0005);
    sdat_metrics_observe(SDAT_M_LOOKUP_DURATION, 0.003);
    sdat_metrics_observe(SDAT_M_EVENTS, 1); /* not a histogram: ignored */

    struct exposition e;
    char *text = scrape(&e);
    static const struct {
        const char *le;
        double count;
    } delay[] = {{"1", 3},    {"5", 4},    {"15", 4},    {"60", 4},    {"300", 5}, {"900", 5},
                 {"3600", 5}, {"7200", 5}, {"21600", 5}, {"86400", 5}, {"+Inf", 6}};
    cr_assert_eq(count_samples(&e, "sdat_delivery_delay_seconds_bucket"), 11);
    for (size_t i = 0; i < sizeof delay / sizeof delay[0]; i++) {
        const struct sample *s =
            find_sample(&e, "sdat_delivery_delay_seconds_bucket", "le", delay[i].le, NULL);
        cr_assert_not_null(s, "le=%s missing", delay[i].le);
        cr_assert_eq(s->value, delay[i].count, "le=%s: %g", delay[i].le, s->value);
    }
    cr_assert_eq(value_of(find_sample(&e, "sdat_delivery_delay_seconds_sum", NULL)), 100102.5);
    cr_assert_eq(value_of(find_sample(&e, "sdat_delivery_delay_seconds_count", NULL)), 6);

    static const char *const lookup_le[] = {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
                                            "0.05",   "0.1",   "0.25",   "1",     "+Inf"};
    static const double lookup_count[] = {1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2};
    for (size_t i = 0; i < sizeof lookup_le / sizeof lookup_le[0]; i++) {
        cr_assert_eq(value_of(find_sample(&e, "sdat_lookup_duration_seconds_bucket", "le",
                                          lookup_le[i], NULL)),
                     lookup_count[i], "le=%s", lookup_le[i]);
    }
    cr_assert_eq(value_of(find_sample(&e, "sdat_lookup_duration_seconds_sum", NULL)),
                 0.0005 + 0.003);
    cr_assert_eq(value_of(find_sample(&e, "sdat_lookup_duration_seconds_count", NULL)), 2);
    /* Buckets come in increasing le order, each after the last. */
    const char *b1 = strstr(text, "sdat_lookup_duration_seconds_bucket{le=\"0.0005\"} 1\n");
    const char *b2 = strstr(text, "sdat_lookup_duration_seconds_bucket{le=\"0.001\"} 1\n");
    const char *inf = strstr(text, "sdat_lookup_duration_seconds_bucket{le=\"+Inf\"} 2\n");
    cr_assert(b1 && b2 && inf && b1 < b2 && b2 < inf, "%s", text);
    exposition_free(&e);
    free(text);
}

/* ---- concurrency ---- */

#define THREADS 4
#define ADDS_PER_THREAD 100000

static void *adder(void *arg)
{
    (void)arg;
    for (int i = 0; i < ADDS_PER_THREAD; i++) {
        sdat_metrics_add(SDAT_M_EVENTS, 1, "police.da-incidents", "accepted");
        sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 1);
    }
    return NULL;
}

static void *scraper(void *arg)
{
    volatile int *stop = arg;
    while (!*stop) {
        free(sdat_metrics_text());
    }
    return NULL;
}

Test(metrics, four_threads_adding_lose_no_increment)
{
    pthread_t threads[THREADS], reader;
    volatile int stop = 0;
    cr_assert_eq(pthread_create(&reader, NULL, scraper, (void *)&stop), 0);
    for (int i = 0; i < THREADS; i++) {
        cr_assert_eq(pthread_create(&threads[i], NULL, adder, NULL), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(threads[i], NULL);
    }
    stop = 1;
    pthread_join(reader, NULL);

    struct exposition e;
    char *text = scrape(&e);
    cr_assert_eq(value_of(find_sample(&e, "sdat_events_total", "topic", "police.da-incidents",
                                      "outcome", "accepted", NULL)),
                 THREADS * ADDS_PER_THREAD);
    cr_assert_eq(value_of(find_sample(&e, "sdat_audit_records_total", NULL)),
                 THREADS * ADDS_PER_THREAD);
    cr_assert(strstr(text, "\nsdat_audit_records_total 400000\n") != NULL);
    exposition_free(&e);
    free(text);
}
