/* Metrics: the exposition is valid Prometheus text format 0.0.4 as read by
 * the strict parser in exposition.h and by prometheus_client's parser:
 * every metric's HELP and TYPE, escaped label values, sorted series,
 * numbers as Prometheus reads them, and the series limit. What the
 * counters, gauges and histograms count is tested in test_metrics.c. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "exposition.h"

TestSuite(metrics, .init = fresh);

/* ---- the text format ---- */

Test(metrics, every_metric_has_help_and_type_even_without_samples)
{
    static const struct {
        const char *name, *type;
    } expected[] = {
        {"sdat_events_total", "counter"},
        {"sdat_match_decisions_total", "counter"},
        {"sdat_notifications_total", "counter"},
        {"sdat_delivery_attempts_total", "counter"},
        {"sdat_audit_records_total", "counter"},
        {"sdat_notifications_pending", "gauge"},
        {"sdat_oldest_pending_seconds", "gauge"},
        {"sdat_consumer_lag", "gauge"},
        {"sdat_circuit_open", "gauge"},
        {"sdat_register_children", "gauge"},
        {"sdat_flags_active", "gauge"},
        {"sdat_ready", "gauge"},
        {"sdat_audit_unmirrored", "gauge"},
        {"sdat_register_index", "gauge"},
        {"sdat_delivery_delay_seconds", "histogram"},
        {"sdat_lookup_duration_seconds", "histogram"},
    };
    struct exposition e;
    char *text = scrape(&e);
    cr_assert_eq(e.nfamilies, sizeof expected / sizeof expected[0]);
    for (size_t i = 0; i < sizeof expected / sizeof expected[0]; i++) {
        struct family_seen *f = family_get(&e, expected[i].name, false);
        cr_assert_not_null(f, "%s missing", expected[i].name);
        cr_assert(f->help && f->typed, "%s lacks HELP or TYPE", expected[i].name);
        cr_assert_str_eq(f->type, expected[i].type, "%s", expected[i].name);
    }
    /* Unlabelled counters and gauges read 0; labelled ones have no series. */
    cr_assert_eq(value_of(find_sample(&e, "sdat_audit_records_total", NULL)), 0);
    cr_assert_eq(value_of(find_sample(&e, "sdat_notifications_pending", NULL)), 0);
    cr_assert_eq(value_of(find_sample(&e, "sdat_flags_active", NULL)), 0);
    cr_assert_eq(count_samples(&e, "sdat_events_total"), 0);
    cr_assert_eq(count_samples(&e, "sdat_consumer_lag"), 0);
    cr_assert_eq(value_of(find_sample(&e, "sdat_lookup_duration_seconds_count", NULL)), 0);
    cr_assert_eq(
        value_of(find_sample(&e, "sdat_lookup_duration_seconds_bucket", "le", "+Inf", NULL)), 0);
    cr_assert_eq(e.other_comments, 0);
    exposition_free(&e);
    free(text);
}

Test(metrics, label_values_escape_quote_backslash_and_newline)
{
    const char *odd = "a\"b\\c\nd";
    sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 1, odd);
    sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 0, NULL); /* NULL is the empty value */

    struct exposition e;
    char *text = scrape(&e);
    cr_assert(strstr(text, "\nsdat_circuit_open{recipient=\"a\\\"b\\\\c\\nd\"} 1\n") != NULL, "%s",
              text);
    cr_assert_eq(value_of(find_sample(&e, "sdat_circuit_open", "recipient", odd, NULL)), 1);
    cr_assert_eq(value_of(find_sample(&e, "sdat_circuit_open", "recipient", "", NULL)), 0);
    exposition_free(&e);
    free(text);
}

Test(metrics, series_are_sorted_and_output_is_stable)
{
    sdat_metrics_add(SDAT_M_EVENTS, 1, "b", "z");
    sdat_metrics_add(SDAT_M_EVENTS, 1, "ab", "a");
    sdat_metrics_add(SDAT_M_EVENTS, 1, "a", "z");
    sdat_metrics_add(SDAT_M_EVENTS, 1, "a", "b");
    sdat_metrics_add(SDAT_M_EVENTS, 1, "", "q");

    struct exposition e;
    char *text = scrape(&e);
    static const char *const order[][2] = {
        {"", "q"}, {"a", "b"}, {"a", "z"}, {"ab", "a"}, {"b", "z"}};
    size_t k = 0;
    for (size_t i = 0; i < e.count; i++) {
        if (strcmp(e.samples[i].name, "sdat_events_total") == 0) {
            cr_assert_lt(k, 5);
            cr_assert_str_eq(label_value(&e.samples[i], "topic"), order[k][0]);
            cr_assert_str_eq(label_value(&e.samples[i], "outcome"), order[k][1]);
            k++;
        }
    }
    cr_assert_eq(k, 5);
    char *again = sdat_metrics_text();
    cr_assert_str_eq(again, text);
    free(again);
    exposition_free(&e);
    free(text);
}

Test(metrics, numbers_print_as_prometheus_reads_them)
{
    static const struct {
        const char *partition;
        double value;
        const char *printed;
    } cases[] = {
        {"0", 0.1, "0.1"},        {"1", 2.5, "2.5"},
        {"2", -3, "-3"},          {"3", 1e20, "1e+20"},
        {"4", NAN, "NaN"},        {"5", INFINITY, "+Inf"},
        {"6", -INFINITY, "-Inf"}, {"7", 12345678, "12345678"},
        {"8", -0.0, "0"},         {"9", 1.0 / 3, "0.3333333333333333"},
    };
    size_t n = sizeof cases / sizeof cases[0];
    for (size_t i = 0; i < n; i++) {
        sdat_metrics_set(SDAT_M_CONSUMER_LAG, cases[i].value, "t", cases[i].partition);
    }
    struct exposition e;
    char *text = scrape(&e);
    for (size_t i = 0; i < n; i++) {
        char line[128];
        snprintf(line, sizeof line, "\nsdat_consumer_lag{topic=\"t\",partition=\"%s\"} %s\n",
                 cases[i].partition, cases[i].printed);
        cr_assert(strstr(text, line) != NULL, "missing %s in:\n%s", line + 1, text);
        double v = value_of(find_sample(&e, "sdat_consumer_lag", "topic", "t", "partition",
                                        cases[i].partition, NULL));
        cr_assert(isnan(cases[i].value) ? isnan(v) : v == cases[i].value, "%s", cases[i].printed);
    }
    exposition_free(&e);
    free(text);
}

Test(metrics, series_beyond_the_limit_are_dropped_and_counted)
{
    char id[32];
    for (int i = 0; i <= SDAT_METRICS_MAX_SERIES + 1; i++) {
        snprintf(id, sizeof id, "school:%06d", i);
        sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 1, id);
    }
    /* An existing series still takes updates. */
    sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 0, "school:000000");

    struct exposition e;
    char *text = scrape(&e);
    cr_assert_eq(count_samples(&e, "sdat_circuit_open"), SDAT_METRICS_MAX_SERIES);
    cr_assert_eq(value_of(find_sample(&e, "sdat_circuit_open", "recipient", "school:000000", NULL)),
                 0);
    cr_assert_null(find_sample(&e, "sdat_circuit_open", "recipient", "school:010000", NULL));
    cr_assert_eq(e.other_comments, 1);
    cr_assert(strstr(text, "\n# sdat: 2 updates dropped (series limit 10000 reached or out of "
                           "memory)\n") != NULL);
    exposition_free(&e);
    free(text);

    /* Clearing frees room; the drop count stays, for the record. */
    sdat_metrics_clear(SDAT_M_CIRCUIT_OPEN);
    sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 1, "school:010000");
    text = scrape(&e);
    cr_assert_eq(count_samples(&e, "sdat_circuit_open"), 1);
    cr_assert_eq(e.other_comments, 1);
    exposition_free(&e);
    free(text);
}

/* ---- cross-check with the reference parser ---- */

/* Prints one JSON line per sample: [name, {labels}, repr(value)]. Passed
 * with -c in single quotes, so it must not contain one. */
static const char python_check[] =
    "import json, sys\n"
    "from prometheus_client.parser import text_string_to_metric_families\n"
    "with open(sys.argv[1]) as f:\n"
    "    text = f.read()\n"
    "for family in text_string_to_metric_families(text):\n"
    "    for s in family.samples:\n"
    "        print(json.dumps([s.name, s.labels, repr(float(s.value))]))\n";

/* The Debian interpreter has python3-prometheus-client (scripts/deps.sh);
 * a python3 earlier on the PATH (pyenv) may not. */
static const char *python_interpreter(void)
{
    return system("python3 -c 'import prometheus_client' >/dev/null 2>&1") == 0 ? "python3"
                                                                                : "/usr/bin/python3";
}

/* Everything the command prints, and its exit status. The text file is
 * removed before any assertion can end the test. */
static char *run_python(const char *text, int *ret_status)
{
    char path[] = "/tmp/test_metrics.XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    bool written = fputs(text, f) >= 0;
    written = fclose(f) == 0 && written;

    char command[1024];
    snprintf(command, sizeof command, "%s -c '%s' %s", python_interpreter(), python_check, path);
    FILE *out = written ? popen(command, "r") : NULL;
    char *output = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&output, &len);
    char chunk[4096];
    size_t n;
    while (out && mem && (n = fread(chunk, 1, sizeof chunk, out)) > 0) {
        fwrite(chunk, 1, n, mem);
    }
    *ret_status = out ? pclose(out) : -1;
    if (mem) {
        fclose(mem);
    }
    unlink(path);
    cr_assert(written, "could not write %s", path);
    cr_assert_not_null(output);
    return output;
}

Test(metrics, prometheus_client_reads_the_same_samples)
{
    /* An independent parser: python3-prometheus-client (scripts/deps.sh). */
    char check[128];
    snprintf(check, sizeof check, "%s -c 'import prometheus_client' >/dev/null 2>&1",
             python_interpreter());
    cr_assert_eq(system(check), 0, "python3-prometheus-client is missing: run make deps");
    sdat_metrics_add(SDAT_M_EVENTS, 2, "police.da-incidents", "accepted");
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, "da-incident", "pending");
    sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 7);
    sdat_metrics_set(SDAT_M_CIRCUIT_OPEN, 1, "x\"y\\z\nw");
    sdat_metrics_set(SDAT_M_CONSUMER_LAG, 0.25, "council.children", "11");
    sdat_metrics_set(SDAT_M_OLDEST_PENDING, 1e20);
    sdat_metrics_observe(SDAT_M_DELIVERY_DELAY, 42);
    sdat_metrics_observe(SDAT_M_LOOKUP_DURATION, 0.0007);

    struct exposition e;
    char *text = scrape(&e);
    int status = 0;
    char *output = run_python(text, &status);
    cr_assert_eq(status, 0, "the prometheus_client parser failed on:\n%s", text);

    size_t seen = 0;
    char *save = NULL;
    for (char *line = strtok_r(output, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        json_error_t error;
        json_t *row = json_loads(line, 0, &error);
        cr_assert_not_null(row, "%s: %s", error.text, line);
        const char *name = json_string_value(json_array_get(row, 0));
        json_t *labels = json_array_get(row, 1);
        const char *value_text = json_string_value(json_array_get(row, 2));
        cr_assert(name && json_is_object(labels) && value_text, "%s", line);
        const struct sample *match = NULL;
        for (size_t i = 0; i < e.count && !match; i++) {
            const struct sample *s = &e.samples[i];
            if (strcmp(s->name, name) != 0 || (size_t)s->nlabels != json_object_size(labels)) {
                continue;
            }
            bool same = true;
            for (int k = 0; k < s->nlabels; k++) {
                const char *v = json_string_value(json_object_get(labels, s->label_names[k]));
                same = same && v && strcmp(v, s->label_values[k]) == 0;
            }
            match = same ? s : NULL;
        }
        cr_assert_not_null(match, "prometheus_client read a sample we did not: %s", line);
        double v = strtod(value_text, NULL);
        cr_assert(isnan(v) ? isnan(match->value) : v == match->value, "%s", line);
        json_decref(row);
        seen++;
    }
    cr_assert_eq(seen, e.count, "prometheus_client read %zu samples, we wrote %zu", seen, e.count);
    free(output);
    exposition_free(&e);
    free(text);
}
