/* Metrics: counters, gauges and histograms land in the right series, and the
 * exposition is valid Prometheus text format 0.0.4 as read by a strict parser
 * written here (and by prometheus_client's parser when Python has it). */
#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "util/util.h"

/* ---- a strict parser for the text format ---- */

#define MAX_TEST_LABELS 4

struct sample {
    char name[128];
    int nlabels;
    char label_names[MAX_TEST_LABELS][64];
    char label_values[MAX_TEST_LABELS][512];
    double value;
};

struct family_seen {
    char name[128];
    char type[16];
    bool help, typed, sampled, done;
};

struct exposition {
    struct sample *samples;
    size_t count, cap;
    struct family_seen families[64];
    size_t nfamilies;
    size_t other_comments;
    char error[256];
};

static bool fail_at(struct exposition *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static bool fail_at(struct exposition *e, int line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(e->error, sizeof e->error, "line %d: ", line);
    va_start(ap, fmt);
    vsnprintf(e->error + n, sizeof e->error - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, without ':' for label names. */
static size_t scan_name(const char *p, const char *end, bool colon, char *out, size_t outsize)
{
    size_t n = 0;
    while (p + n < end) {
        char c = p[n];
        bool ok = isalpha((unsigned char)c) || c == '_' || (colon && c == ':') ||
                  (n > 0 && isdigit((unsigned char)c));
        if (!ok) {
            break;
        }
        n++;
    }
    if (n == 0 || n >= outsize) {
        return 0;
    }
    memcpy(out, p, n);
    out[n] = '\0';
    return n;
}

/* Go's ParseFloat as Prometheus uses it, minus the forms we never write. */
static bool parse_value(const char *p, size_t n, double *ret)
{
    char text[64];
    if (n == 0 || n >= sizeof text) {
        return false;
    }
    memcpy(text, p, n);
    text[n] = '\0';
    if (strcmp(text, "NaN") == 0) {
        *ret = NAN;
        return true;
    }
    if (strcmp(text, "+Inf") == 0 || strcmp(text, "-Inf") == 0) {
        *ret = text[0] == '+' ? INFINITY : -INFINITY;
        return true;
    }
    if (strspn(text, "0123456789.eE+-") != n) {
        return false;
    }
    char *rest = NULL;
    *ret = strtod(text, &rest);
    return rest == text + n;
}

static struct family_seen *family_get(struct exposition *e, const char *name, bool create)
{
    for (size_t i = 0; i < e->nfamilies; i++) {
        if (strcmp(e->families[i].name, name) == 0) {
            return &e->families[i];
        }
    }
    if (!create || e->nfamilies == sizeof e->families / sizeof e->families[0]) {
        return NULL;
    }
    struct family_seen *f = &e->families[e->nfamilies++];
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", name);
    return f;
}

/* The typed family a sample belongs to: its own name, or a histogram's
 * for NAME_bucket, NAME_sum and NAME_count. */
static struct family_seen *family_of_sample(struct exposition *e, const char *name,
                                            bool *ret_bucket)
{
    static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
    struct family_seen *f = family_get(e, name, false);
    *ret_bucket = false;
    if (f && f->typed && strcmp(f->type, "histogram") != 0) {
        return f;
    }
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(name), s = strlen(suffixes[i]);
        if (n > s && strcmp(name + n - s, suffixes[i]) == 0) {
            char base[128];
            snprintf(base, sizeof base, "%.*s", (int)(n - s), name);
            f = family_get(e, base, false);
            if (f && f->typed && strcmp(f->type, "histogram") == 0) {
                *ret_bucket = i == 0;
                return f;
            }
        }
    }
    return NULL;
}

static bool parse_comment(struct exposition *e, int lineno, const char *p, const char *end)
{
    bool help = (size_t)(end - p) > 7 && memcmp(p, "# HELP ", 7) == 0;
    bool type = (size_t)(end - p) > 7 && memcmp(p, "# TYPE ", 7) == 0;
    if (!help && !type) {
        e->other_comments++;
        return true;
    }
    char name[128];
    p += 7;
    size_t n = scan_name(p, end, true, name, sizeof name);
    if (n == 0 || p + n >= end || p[n] != ' ') {
        return fail_at(e, lineno, "bad metric name in %s", help ? "HELP" : "TYPE");
    }
    p += n + 1;
    struct family_seen *f = family_get(e, name, true);
    if (!f) {
        return fail_at(e, lineno, "too many families");
    }
    if (f->sampled) {
        return fail_at(e, lineno, "%s for %s after its samples", help ? "HELP" : "TYPE", name);
    }
    if (help) {
        if (f->help) {
            return fail_at(e, lineno, "second HELP for %s", name);
        }
        for (const char *q = p; q < end; q++) {
            if (*q == '\\' && (q + 1 == end || (q[1] != '\\' && q[1] != 'n'))) {
                return fail_at(e, lineno, "bad escape in HELP");
            }
            q += *q == '\\';
        }
        f->help = true;
        return true;
    }
    static const char *const types[] = {"counter", "gauge", "histogram", "summary", "untyped"};
    size_t len = (size_t)(end - p);
    bool known = false;
    for (int i = 0; i < 5; i++) {
        known = known || (strlen(types[i]) == len && memcmp(p, types[i], len) == 0);
    }
    if (!known) {
        return fail_at(e, lineno, "unknown TYPE for %s", name);
    }
    if (f->typed) {
        return fail_at(e, lineno, "second TYPE for %s", name);
    }
    snprintf(f->type, sizeof f->type, "%.*s", (int)len, p);
    f->typed = true;
    return true;
}

static bool parse_labels(struct exposition *e, int lineno, const char **pp, const char *end,
                         struct sample *s)
{
    const char *p = *pp + 1; /* past '{' */
    if (p < end && *p == '}') {
        *pp = p + 1;
        return true;
    }
    for (;;) {
        if (s->nlabels == MAX_TEST_LABELS) {
            return fail_at(e, lineno, "too many labels");
        }
        char *label = s->label_names[s->nlabels];
        char *value = s->label_values[s->nlabels];
        size_t n = scan_name(p, end, false, label, sizeof s->label_names[0]);
        if (n == 0 || p + n + 1 >= end || p[n] != '=' || p[n + 1] != '"') {
            return fail_at(e, lineno, "bad label");
        }
        for (int i = 0; i < s->nlabels; i++) {
            if (strcmp(s->label_names[i], label) == 0) {
                return fail_at(e, lineno, "label %s twice", label);
            }
        }
        p += n + 2;
        size_t len = 0;
        for (;;) {
            if (p == end) {
                return fail_at(e, lineno, "unterminated label value");
            }
            char c = *p++;
            if (c == '"') {
                break;
            }
            if (c == '\\') {
                if (p == end || (*p != '\\' && *p != '"' && *p != 'n')) {
                    return fail_at(e, lineno, "bad escape in label value");
                }
                c = *p == 'n' ? '\n' : *p;
                p++;
            }
            if (len + 1 >= sizeof s->label_values[0]) {
                return fail_at(e, lineno, "label value too long");
            }
            value[len++] = c;
        }
        value[len] = '\0';
        s->nlabels++;
        if (p == end) {
            return fail_at(e, lineno, "unterminated labels");
        }
        if (*p == '}') {
            *pp = p + 1;
            return true;
        }
        if (*p != ',' || p + 1 == end || p[1] == '}') {
            return fail_at(e, lineno, "expected , or }");
        }
        p++;
    }
}

static const char *label_value(const struct sample *s, const char *label)
{
    for (int i = 0; i < s->nlabels; i++) {
        if (strcmp(s->label_names[i], label) == 0) {
            return s->label_values[i];
        }
    }
    return NULL;
}

static struct family_seen *current_family;

static bool parse_sample(struct exposition *e, int lineno, const char *p, const char *end)
{
    struct sample s = {0};
    size_t n = scan_name(p, end, true, s.name, sizeof s.name);
    if (n == 0) {
        return fail_at(e, lineno, "bad metric name");
    }
    p += n;
    if (p < end && *p == '{' && !parse_labels(e, lineno, &p, end, &s)) {
        return false;
    }
    if (p == end || *p != ' ') {
        return fail_at(e, lineno, "expected one space before the value");
    }
    p++;
    /* No timestamps: the value runs to the end of the line. */
    if (!parse_value(p, (size_t)(end - p), &s.value)) {
        return fail_at(e, lineno, "bad value '%.*s'", (int)(end - p), p);
    }
    bool bucket = false;
    struct family_seen *f = family_of_sample(e, s.name, &bucket);
    if (!f) {
        return fail_at(e, lineno, "sample %s has no TYPE", s.name);
    }
    double le = 0;
    if (bucket && (!label_value(&s, "le") ||
                   !parse_value(label_value(&s, "le"), strlen(label_value(&s, "le")), &le))) {
        return fail_at(e, lineno, "%s without a numeric le", s.name);
    }
    if (f != current_family) {
        if (f->done) {
            return fail_at(e, lineno, "samples of %s are not together", f->name);
        }
        if (current_family) {
            current_family->done = true;
        }
        current_family = f;
    }
    f->sampled = true;
    if (e->count == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 64;
        e->samples = realloc(e->samples, e->cap * sizeof *e->samples);
        cr_assert_not_null(e->samples);
    }
    e->samples[e->count++] = s;
    return true;
}

/* Fills e from text; false with e->error set when the text breaks the
 * format. Strict beyond the format where our output never goes (no blank
 * lines, no timestamps, no trailing comma in labels). */
static bool parse_exposition(const char *text, struct exposition *e)
{
    memset(e, 0, sizeof *e);
    current_family = NULL;
    int lineno = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        lineno++;
        if (!end) {
            return fail_at(e, lineno, "no newline at the end");
        }
        if (end == p) {
            return fail_at(e, lineno, "blank line");
        }
        bool ok = *p == '#' ? parse_comment(e, lineno, p, end) : parse_sample(e, lineno, p, end);
        if (!ok) {
            return false;
        }
        p = end + 1;
    }
    return true;
}

static void exposition_free(struct exposition *e)
{
    free(e->samples);
    e->samples = NULL;
}

/* The sample named NAME with exactly the label pairs given (label, value,
 * ..., NULL), or NULL. */
static const struct sample *find_sample(const struct exposition *e, const char *name, ...)
{
    const char *pairs[2 * MAX_TEST_LABELS + 2];
    int npairs = 0;
    va_list ap;
    va_start(ap, name);
    for (const char *s = va_arg(ap, const char *); s && npairs < 2 * MAX_TEST_LABELS;
         s = va_arg(ap, const char *)) {
        pairs[npairs++] = s;
    }
    va_end(ap);
    for (size_t i = 0; i < e->count; i++) {
        const struct sample *s = &e->samples[i];
        if (strcmp(s->name, name) != 0 || s->nlabels * 2 != npairs) {
            continue;
        }
        bool all = true;
        for (int k = 0; k < npairs; k += 2) {
            const char *v = label_value(s, pairs[k]);
            all = all && v && strcmp(v, pairs[k + 1]) == 0;
        }
        if (all) {
            return s;
        }
    }
    return NULL;
}

static size_t count_samples(const struct exposition *e, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < e->count; i++) {
        n += strcmp(e->samples[i].name, name) == 0;
    }
    return n;
}

/* Parses the registry's output, failing the test when it is not valid. */
static char *scrape(struct exposition *e)
{
    char *text = sdat_metrics_text();
    cr_assert_not_null(text);
    cr_assert(parse_exposition(text, e), "%s in:\n%s", e->error, text);
    return text;
}

static double value_of(const struct sample *s)
{
    cr_assert_not_null(s, "sample missing");
    return s->value;
}

static void fresh(void)
{
    sdat_metrics_reset();
}

TestSuite(metrics, .init = fresh);

/* ---- behaviour ---- */

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
