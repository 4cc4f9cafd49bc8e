/* The metrics tests' reader of what the registry writes: a strict parser
 * for the Prometheus text format 0.0.4, the lookups the tests make in what
 * it read, and scrape, which fails the test when the registry's output
 * breaks the format. Shared by test_metrics.c and test_metrics_exposition.c;
 * each is its own program, so the functions are static inline (a program
 * need not use them all) and current_family is its own. */
#ifndef SDAT_TESTS_EXPOSITION_H
#define SDAT_TESTS_EXPOSITION_H

#include <criterion/criterion.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static inline bool fail_at(struct exposition *e, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline bool fail_at(struct exposition *e, int line, const char *fmt, ...)
{
    va_list ap;
    int n = snprintf(e->error, sizeof e->error, "line %d: ", line);
    va_start(ap, fmt);
    vsnprintf(e->error + n, sizeof e->error - (size_t)n, fmt, ap);
    va_end(ap);
    return false;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* for metric names, without ':' for label names. */
static inline size_t scan_name(const char *p, const char *end, bool colon, char *out,
                               size_t outsize)
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
static inline bool parse_value(const char *p, size_t n, double *ret)
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

static inline struct family_seen *family_get(struct exposition *e, const char *name, bool create)
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
static inline struct family_seen *family_of_sample(struct exposition *e, const char *name,
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

static inline bool parse_comment(struct exposition *e, int lineno, const char *p, const char *end)
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

static inline bool parse_labels(struct exposition *e, int lineno, const char **pp, const char *end,
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

static inline const char *label_value(const struct sample *s, const char *label)
{
    for (int i = 0; i < s->nlabels; i++) {
        if (strcmp(s->label_names[i], label) == 0) {
            return s->label_values[i];
        }
    }
    return NULL;
}

static struct family_seen *current_family;

static inline bool parse_sample(struct exposition *e, int lineno, const char *p, const char *end)
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
static inline bool parse_exposition(const char *text, struct exposition *e)
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

static inline void exposition_free(struct exposition *e)
{
    free(e->samples);
    e->samples = NULL;
}

/* The sample named NAME with exactly the label pairs given (label, value,
 * ..., NULL), or NULL. */
static inline const struct sample *find_sample(const struct exposition *e, const char *name, ...)
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

static inline size_t count_samples(const struct exposition *e, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < e->count; i++) {
        n += strcmp(e->samples[i].name, name) == 0;
    }
    return n;
}

/* Parses the registry's output, failing the test when it is not valid. */
static inline char *scrape(struct exposition *e)
{
    char *text = sdat_metrics_text();
    cr_assert_not_null(text);
    cr_assert(parse_exposition(text, e), "%s in:\n%s", e->error, text);
    return text;
}

static inline double value_of(const struct sample *s)
{
    cr_assert_not_null(s, "sample missing");
    return s->value;
}

static inline void fresh(void)
{
    sdat_metrics_reset();
}

#endif
