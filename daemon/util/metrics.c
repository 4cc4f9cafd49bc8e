#include "metrics.h"
#include "text.h"

#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LABELS 2
#define MAX_BUCKETS 10 /* finite upper bounds; +Inf is implicit */

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metric_def {
    const char *name;
    const char *help;
    enum metric_type type;
    int nlabels;
    const char *labels[MAX_LABELS];
    int nbuckets;
    double buckets[MAX_BUCKETS];
};

/* Indexed by sdat_metric_t. */
static const struct metric_def defs[SDAT_M_COUNT] = {
    [SDAT_M_EVENTS] = {.name = "sdat_events_total",
                       .type = METRIC_COUNTER,
                       .nlabels = 2,
                       .labels = {"topic", "outcome"},
                       .help = "Events consumed, by topic and outcome."},
    [SDAT_M_MATCH_DECISIONS] = {.name = "sdat_match_decisions_total",
                                .type = METRIC_COUNTER,
                                .nlabels = 1,
                                .labels = {"decision"},
                                .help = "Matching decisions, one per child in an incident."},
    [SDAT_M_NOTIFICATIONS] = {.name = "sdat_notifications_total",
                              .type = METRIC_COUNTER,
                              .nlabels = 2,
                              .labels = {"kind", "state"},
                              .help = "Notification transitions into a state, by kind and state."},
    [SDAT_M_DELIVERY_ATTEMPTS] = {.name = "sdat_delivery_attempts_total",
                                  .type = METRIC_COUNTER,
                                  .nlabels = 2,
                                  .labels = {"connector", "outcome"},
                                  .help = "Delivery attempts, by connector and outcome."},
    [SDAT_M_AUDIT_RECORDS] = {.name = "sdat_audit_records_total",
                              .type = METRIC_COUNTER,
                              .help = "Audit records written."},
    [SDAT_M_PENDING] = {.name = "sdat_notifications_pending",
                        .type = METRIC_GAUGE,
                        .help = "Notifications waiting to be delivered."},
    [SDAT_M_OLDEST_PENDING] = {.name = "sdat_oldest_pending_seconds",
                               .type = METRIC_GAUGE,
                               .help = "Age in seconds of the oldest pending notification."},
    [SDAT_M_CONSUMER_LAG] = {.name = "sdat_consumer_lag",
                             .type = METRIC_GAUGE,
                             .nlabels = 2,
                             .labels = {"topic", "partition"},
                             .help = "Messages behind the end of each assigned partition."},
    [SDAT_M_CIRCUIT_OPEN] = {.name = "sdat_circuit_open",
                             .type = METRIC_GAUGE,
                             .nlabels = 1,
                             .labels = {"recipient"},
                             .help = "1 while the delivery circuit of a recipient is open."},
    [SDAT_M_REGISTER_CHILDREN] = {.name = "sdat_register_children",
                                  .type = METRIC_GAUGE,
                                  .help = "Children in the register."},
    [SDAT_M_FLAGS_ACTIVE] = {.name = "sdat_flags_active",
                             .type = METRIC_GAUGE,
                             .help = "CP-IS flags active today."},
    [SDAT_M_READY] = {.name = "sdat_ready",
                      .type = METRIC_GAUGE,
                      .help = "1 while the daemon is ready (/readyz answers 200), else 0."},
    [SDAT_M_AUDIT_UNMIRRORED] = {.name = "sdat_audit_unmirrored",
                                 .type = METRIC_GAUGE,
                                 .help = "Audit records not yet produced to the audit topic."},
    [SDAT_M_REGISTER_INDEX] = {.name = "sdat_register_index",
                               .type = METRIC_GAUGE,
                               .help = "1 while matching reads the register from memory, 0 while it reads the store."},
    [SDAT_M_DELIVERY_DELAY] = {.name = "sdat_delivery_delay_seconds",
                               .type = METRIC_HISTOGRAM,
                               .nbuckets = 10,
                               .buckets = {1, 5, 15, 60, 300, 900, 3600, 7200, 21600, 86400},
                               .help = "Seconds from when a notification was due (scheduled_for) to its delivery."},
    [SDAT_M_LOOKUP_DURATION] = {.name = "sdat_lookup_duration_seconds",
                                .type = METRIC_HISTOGRAM,
                                .nbuckets = 10,
                                .buckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                            0.25, 1},
                                .help = "Seconds taken to answer a CP-IS lookup."},
};

/* One label combination. The key is the label values joined by NUL bytes
 * (values cannot contain NUL), so memcmp order with the shorter key first is
 * the order of the values compared one by one; an unlabelled metric has the
 * single key "". */
struct series {
    char *key;
    size_t key_len;
    double value;
};

struct family {
    struct series *series; /* sorted by key */
    size_t count, cap;
    uint64_t dropped; /* updates refused: series limit reached or out of memory */
    uint64_t bucket_counts[MAX_BUCKETS + 1]; /* per bucket, not cumulative; last is +Inf */
    double sum;
    uint64_t observations;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct family families[SDAT_M_COUNT];

static int key_compare(const char *a, size_t a_len, const char *b, size_t b_len)
{
    int c = memcmp(a, b, a_len < b_len ? a_len : b_len);
    if (c != 0) {
        return c;
    }
    return a_len < b_len ? -1 : a_len > b_len ? 1 : 0;
}

/* Binary search; *ret_index is where the key is, or where it belongs. */
static bool family_find(const struct family *f, const char *key, size_t key_len, size_t *ret_index)
{
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = key_compare(f->series[mid].key, f->series[mid].key_len, key, key_len);
        if (c == 0) {
            *ret_index = mid;
            return true;
        }
        if (c < 0) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    *ret_index = lo;
    return false;
}

/* The series for key, created with value 0 when new; NULL (and counted as a
 * drop) when the family is full or memory runs out. Called with the lock. */
static struct series *family_series(struct family *f, const char *key, size_t key_len)
{
    size_t at;
    if (family_find(f, key, key_len, &at)) {
        return &f->series[at];
    }
    if (f->count >= SDAT_METRICS_MAX_SERIES) {
        goto fail;
    }
    if (f->count == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 8;
        struct series *grown = realloc(f->series, cap * sizeof *grown);
        if (!grown) {
            goto fail;
        }
        f->series = grown;
        f->cap = cap;
    }
    char *copy = malloc(key_len + 1);
    if (!copy) {
        goto fail;
    }
    memcpy(copy, key, key_len);
    copy[key_len] = '\0';
    memmove(&f->series[at + 1], &f->series[at], (f->count - at) * sizeof *f->series);
    f->series[at] = (struct series){.key = copy, .key_len = key_len, .value = 0};
    f->count++;
    return &f->series[at];
fail:
    f->dropped++;
    return NULL;
}

static void family_clear(struct family *f)
{
    for (size_t i = 0; i < f->count; i++) {
        free(f->series[i].key);
    }
    free(f->series);
    *f = (struct family){0};
}

/* Joins the metric's label values from ap into buf when they fit, else into
 * a malloc'd buffer (the caller frees it when it is not buf). NULL when out
 * of memory. */
static char *build_key(const struct metric_def *def, va_list ap, char *buf, size_t bufsize,
                       size_t *ret_len)
{
    const char *values[MAX_LABELS];
    size_t lens[MAX_LABELS];
    size_t need = 0;
    for (int i = 0; i < def->nlabels; i++) {
        values[i] = va_arg(ap, const char *);
        if (!values[i]) {
            values[i] = "";
        }
        lens[i] = strlen(values[i]);
        need += lens[i] + (i > 0);
    }
    char *key = need < bufsize ? buf : malloc(need + 1);
    if (!key) {
        return NULL;
    }
    size_t len = 0;
    for (int i = 0; i < def->nlabels; i++) {
        if (i > 0) {
            key[len++] = '\0';
        }
        memcpy(key + len, values[i], lens[i]);
        len += lens[i];
    }
    key[len] = '\0';
    *ret_len = len;
    return key;
}

enum update_op { OP_ADD, OP_SET };

static void update(sdat_metric_t m, enum update_op op, double v, va_list ap)
{
    if ((unsigned)m >= SDAT_M_COUNT) {
        return;
    }
    const struct metric_def *def = &defs[m];
    if (def->type == METRIC_HISTOGRAM || (op == OP_SET && def->type != METRIC_GAUGE) ||
        (op == OP_ADD && def->type == METRIC_COUNTER && !(v >= 0))) {
        return;
    }
    char buf[512];
    size_t key_len = 0;
    char *key = build_key(def, ap, buf, sizeof buf, &key_len);

    pthread_mutex_lock(&lock);
    struct family *f = &families[m];
    if (!key) {
        f->dropped++;
    } else {
        struct series *s = family_series(f, key, key_len);
        if (s) {
            s->value = op == OP_SET ? v : s->value + v;
        }
    }
    pthread_mutex_unlock(&lock);
    if (key != buf) {
        free(key);
    }
}

void sdat_metrics_add(sdat_metric_t m, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    update(m, OP_ADD, v, ap);
    va_end(ap);
}

void sdat_metrics_set(sdat_metric_t m, double v, ...)
{
    va_list ap;
    va_start(ap, v);
    update(m, OP_SET, v, ap);
    va_end(ap);
}

void sdat_metrics_observe(sdat_metric_t m, double v)
{
    if ((unsigned)m >= SDAT_M_COUNT || defs[m].type != METRIC_HISTOGRAM || isnan(v)) {
        return;
    }
    const struct metric_def *def = &defs[m];
    int b = 0;
    while (b < def->nbuckets && v > def->buckets[b]) {
        b++;
    }
    pthread_mutex_lock(&lock);
    struct family *f = &families[m];
    f->bucket_counts[b]++;
    f->sum += v;
    f->observations++;
    pthread_mutex_unlock(&lock);
}

void sdat_metrics_clear(sdat_metric_t m)
{
    if ((unsigned)m >= SDAT_M_COUNT || defs[m].type != METRIC_GAUGE) {
        return;
    }
    pthread_mutex_lock(&lock);
    uint64_t dropped = families[m].dropped;
    family_clear(&families[m]);
    families[m].dropped = dropped;
    pthread_mutex_unlock(&lock);
}

size_t sdat_metrics_gauge_nonzero(sdat_metric_t m)
{
    if ((unsigned)m >= SDAT_M_COUNT || defs[m].type != METRIC_GAUGE) {
        return 0;
    }
    size_t n = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < families[m].count; i++) {
        n += families[m].series[i].value != 0;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

bool sdat_metrics_gauge_get(sdat_metric_t m, double *ret)
{
    if ((unsigned)m >= SDAT_M_COUNT || defs[m].type != METRIC_GAUGE || defs[m].nlabels != 0) {
        return false;
    }
    pthread_mutex_lock(&lock);
    bool set = families[m].count > 0;
    if (set) {
        *ret = families[m].series[0].value;
    }
    pthread_mutex_unlock(&lock);
    return set;
}

void sdat_metrics_reset(void)
{
    pthread_mutex_lock(&lock);
    for (int m = 0; m < SDAT_M_COUNT; m++) {
        family_clear(&families[m]);
    }
    pthread_mutex_unlock(&lock);
}

/* ---- exposition ---- */

struct text {
    char *data;
    size_t len, cap;
    bool failed;
};

static void put(struct text *t, const char *s, size_t n)
{
    if (!t->failed && !sdat_text_append(&t->data, &t->len, &t->cap, s, n)) {
        t->failed = true;
    }
}

static void puts_text(struct text *t, const char *s)
{
    put(t, s, strlen(s));
}

/* Escapes backslash and newline (HELP text), and double quote too when
 * quoted (label values). */
static void put_escaped(struct text *t, const char *s, size_t n, bool quoted)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '\\'              ? "\\\\"
                          : s[i] == '\n'            ? "\\n"
                          : (quoted && s[i] == '"') ? "\\\""
                                                    : NULL;
        if (esc) {
            put(t, s + start, i - start);
            puts_text(t, esc);
            start = i + 1;
        }
    }
    put(t, s + start, n - start);
}

/* A number as Prometheus (Go's ParseFloat) reads it: an integral value
 * without exponent, else the shortest of %.15g..%.17g that reads back
 * exactly (so a bucket bound prints as 0.0005, not 0.00050000000000000001),
 * NaN, +Inf, -Inf. Assumes the C locale's decimal point, which the daemon
 * never changes. */
static void format_number(double v, char out[32])
{
    if (isnan(v)) {
        strcpy(out, "NaN");
    } else if (isinf(v)) {
        strcpy(out, v > 0 ? "+Inf" : "-Inf");
    } else if (v == floor(v) && fabs(v) < 1e17) {
        snprintf(out, 32, "%.0f", v == 0 ? 0.0 : v);
    } else {
        for (int precision = 15; precision <= 17; precision++) {
            snprintf(out, 32, "%.*g", precision, v);
            if (strtod(out, NULL) == v) {
                break;
            }
        }
    }
}

static void put_number(struct text *t, double v)
{
    char number[32];
    format_number(v, number);
    puts_text(t, number);
}

static void put_u64(struct text *t, uint64_t v)
{
    char number[24];
    snprintf(number, sizeof number, "%llu", (unsigned long long)v);
    puts_text(t, number);
}

static void put_header(struct text *t, const struct metric_def *def, const struct family *f)
{
    static const char *const type_names[] = {"counter", "gauge", "histogram"};
    puts_text(t, "# HELP ");
    puts_text(t, def->name);
    puts_text(t, " ");
    put_escaped(t, def->help, strlen(def->help), false);
    puts_text(t, "\n# TYPE ");
    puts_text(t, def->name);
    puts_text(t, " ");
    puts_text(t, type_names[def->type]);
    puts_text(t, "\n");
    if (f->dropped > 0) {
        puts_text(t, "# sdat: ");
        put_u64(t, f->dropped);
        puts_text(t, " updates dropped (series limit ");
        put_u64(t, SDAT_METRICS_MAX_SERIES);
        puts_text(t, " reached or out of memory)\n");
    }
}

static void put_series(struct text *t, const struct metric_def *def, const struct series *s)
{
    puts_text(t, def->name);
    if (def->nlabels > 0) {
        const char *value = s->key;
        const char *end = s->key + s->key_len;
        puts_text(t, "{");
        for (int i = 0; i < def->nlabels; i++) {
            size_t n = i < def->nlabels - 1 ? strlen(value) : (size_t)(end - value);
            puts_text(t, i > 0 ? "," : "");
            puts_text(t, def->labels[i]);
            puts_text(t, "=\"");
            put_escaped(t, value, n, true);
            puts_text(t, "\"");
            value += n + 1;
        }
        puts_text(t, "}");
    }
    puts_text(t, " ");
    put_number(t, s->value);
    puts_text(t, "\n");
}

static void put_histogram(struct text *t, const struct metric_def *def, const struct family *f)
{
    uint64_t cumulative = 0;
    for (int b = 0; b <= def->nbuckets; b++) {
        cumulative += f->bucket_counts[b];
        puts_text(t, def->name);
        puts_text(t, "_bucket{le=\"");
        if (b < def->nbuckets) {
            put_number(t, def->buckets[b]);
        } else {
            puts_text(t, "+Inf");
        }
        puts_text(t, "\"} ");
        put_u64(t, cumulative);
        puts_text(t, "\n");
    }
    puts_text(t, def->name);
    puts_text(t, "_sum ");
    put_number(t, f->sum);
    puts_text(t, "\n");
    puts_text(t, def->name);
    puts_text(t, "_count ");
    put_u64(t, f->observations);
    puts_text(t, "\n");
}

char *sdat_metrics_text(void)
{
    struct text t = {0};
    pthread_mutex_lock(&lock);
    for (int m = 0; m < SDAT_M_COUNT; m++) {
        const struct metric_def *def = &defs[m];
        const struct family *f = &families[m];
        put_header(&t, def, f);
        if (def->type == METRIC_HISTOGRAM) {
            put_histogram(&t, def, f);
        } else if (f->count == 0 && def->nlabels == 0) {
            puts_text(&t, def->name);
            puts_text(&t, " 0\n");
        } else {
            for (size_t i = 0; i < f->count; i++) {
                put_series(&t, def, &f->series[i]);
            }
        }
    }
    pthread_mutex_unlock(&lock);
    if (t.failed) {
        free(t.data);
        return NULL;
    }
    return t.data;
}
