/* make bench-match: matching quality and latency on the labelled synthetic
 * set (bench/synth). Usage: bench_match CONFIG POLICE.jsonl TRUTH.jsonl
 * against the register already imported into CONFIG's store. Prints the
 * figures of quality.md: precision of match, recall of match and of
 * match + review, the share sent to review, and p50/p99 of the time to
 * match one child (candidates from the store, scoring, decision); then
 * each wrong auto-match with its cause (the register's relation between the
 * child matched and the right one: twin, sibling, namesake, other), the
 * children missed by what the officer got wrong, and the reviews by reason,
 * so that the next step of the matcher is visible. All data is synthetic. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "decide/decide.h"
#include "engine/engine.h"
#include "outbox/outbox.h"
#include "util/util.h"

/* One of this process's memory figures (kB) from /proc/self/status (name
 * as "RssAnon:"), or 0. */
static long status_kib(const char *name)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[128];
    long kib = 0;
    while (f && fgets(line, sizeof line, f)) {
        if (strncmp(line, name, strlen(name)) == 0) {
            kib = strtol(line + strlen(name), NULL, 10);
            break;
        }
    }
    if (f) {
        fclose(f);
    }
    return kib;
}

/* This process's CPU time (user and system) in seconds: on a machine shared
 * with other work, steadier than the wall clock. */
static double cpu_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Counts by a short text key, in order of first appearance. */
#define MAX_KEYS 64
struct counts {
    char *key[MAX_KEYS];
    long n[MAX_KEYS];
    size_t used;
};

static void count(struct counts *c, const char *key)
{
    for (size_t i = 0; i < c->used; i++) {
        if (strcmp(c->key[i], key) == 0) {
            c->n[i]++;
            return;
        }
    }
    if (c->used < MAX_KEYS) {
        c->key[c->used] = strdup(key);
        c->n[c->used++] = 1;
    }
}

static void print_counts(const char *title, struct counts *c)
{
    printf("match: %s:", title);
    if (c->used == 0) {
        printf(" none");
    }
    for (size_t i = 0; i < c->used; i++) {
        printf("%s %s %ld", i ? "," : "", c->key[i], c->n[i]);
        free(c->key[i]);
    }
    printf("\n");
}

struct tally {
    long children, in_register, matches, true_matches, reviews, found_with_review, out_of_scope;
    long twin_wrong, identifier_reviews, in_register_reviews;
    struct counts wrong, missed, review_reasons;
    double *latency;
    size_t n_lat, cap;
};

struct bench {
    struct sdat_config *cfg;
    sdat_store_t *st;
    sdat_schemas_t *schemas;
    sdat_nicknames_t *nicknames;
    struct sdat_engine e;
};

static const char *text_of(const json_t *doc, const char *key)
{
    const char *s = json_string_value(json_object_get(doc, key));
    return s ? s : "";
}

static const char *address_of(const json_t *child)
{
    const json_t *a = json_object_get(child, "address");
    const char *uprn = json_string_value(json_object_get(a, "uprn"));
    return uprn ? uprn : text_of(a, "postcode");
}

/* How the register relates the child matched to the right one: "twin"
 * (the same date of birth, at one address or in one family), "sibling" (at
 * one address), "namesake" (the same names), "not-in-register" (the police
 * child is not in the register at all) or "other". */
static const char *cause_of(struct bench *b, const char *matched_id, const char *truth_id)
{
    if (!truth_id) {
        return "not-in-register";
    }
    json_t *m = NULL, *t = NULL;
    const char *cause = "other";
    if (sdat_store_child_get(b->st, matched_id, &m) == 0 &&
        sdat_store_child_get(b->st, truth_id, &t) == 0) {
        bool one_address = address_of(m)[0] && strcmp(address_of(m), address_of(t)) == 0;
        bool one_family = strcmp(text_of(m, "family_name"), text_of(t, "family_name")) == 0;
        if (strcmp(text_of(m, "dob"), text_of(t, "dob")) == 0 && (one_address || one_family)) {
            cause = "twin";
        } else if (one_address) {
            cause = "sibling";
        } else if (one_family && strcmp(text_of(m, "given_name"), text_of(t, "given_name")) == 0) {
            cause = "namesake";
        }
    }
    json_decref(m);
    json_decref(t);
    return cause;
}

/* The officer's errors of a truth line as one key ("none" without). */
static void errors_key(const json_t *tr, char *out, size_t len)
{
    const json_t *errs = json_object_get(tr, "errors");
    out[0] = '\0';
    for (size_t i = 0; i < json_array_size(errs); i++) {
        const char *e = json_string_value(json_array_get(errs, i));
        size_t used = strlen(out);
        snprintf(out + used, len - used, "%s%s", used ? "+" : "", e ? e : "?");
    }
    if (!out[0]) {
        snprintf(out, len, "none");
    }
}

/* BENCH_MATCH_CHECK=1: each child's candidates from the register index
 * and from SQLite, row for row (the index must answer exactly the same).
 * Counts the children compared; -1 at the first difference. */
static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static long checked;

static int check_candidates(struct bench *b, const json_t *doc, const struct sdat_validation *v,
                            int32_t occurred_days)
{
    size_t n = json_array_size(json_object_get(doc, "children"));
    for (size_t c = 0; c < n; c++) {
        struct sdat_match_query q;
        sdat_match_query_from_incident(doc, c, v, occurred_days, &q);
        struct sdat_register_row *x = NULL, *y = NULL;
        size_t n_x = 0, n_y = 0;
        int r = sdat_store_register_candidates(b->st, &q, &x, &n_x);
        if (r == 0) {
            r = sdat_store_register_candidates_sql(b->st, &q, &y, &n_y);
        }
        bool same = r == 0 && n_x == n_y;
        for (size_t i = 0; same && i < n_x; i++) {
            same = same_text(x[i].child_id, y[i].child_id) && same_text(x[i].given, y[i].given) &&
                   same_text(x[i].family, y[i].family) &&
                   same_text(x[i].other_given, y[i].other_given) &&
                   same_text(x[i].other_family, y[i].other_family) &&
                   same_text(x[i].dob, y[i].dob) && same_text(x[i].postcode, y[i].postcode) &&
                   same_text(x[i].uprn, y[i].uprn) && same_text(x[i].nhs_number, y[i].nhs_number) &&
                   same_text(x[i].upn, y[i].upn) && x[i].family_count == y[i].family_count &&
                   x[i].given_count == y[i].given_count;
        }
        sdat_store_rows_free(x, n_x);
        sdat_store_rows_free(y, n_y);
        if (!same) {
            fprintf(stderr,
                    "bench_match: the register index and SQLite differ on child %zu of "
                    "an incident (%zu rows against %zu)\n",
                    c, n_x, n_y);
            return -1;
        }
        checked++;
    }
    return 0;
}

/* Matches every child of doc together, as the engine does; each in-scope
 * child's latency is the incident's time shared among them. */
static int match_incident(struct bench *b, struct tally *t, const json_t *doc,
                          const struct sdat_validation *v, int32_t occurred_days,
                          struct sdat_incident_matches *m)
{
    const char *check = getenv("BENCH_MATCH_CHECK");
    if (check && check[0] && check_candidates(b, doc, v, occurred_days) < 0) {
        return -1;
    }
    double t0 = now_us();
    if (sdat_engine_match_incident(&b->e, doc, v, occurred_days, m) < 0) {
        fprintf(stderr, "bench_match: store error: %s\n", sdat_store_errmsg(b->st));
        return -1;
    }
    double t1 = now_us();
    size_t in_scope = 0;
    for (size_t i = 0; i < m->n; i++) {
        in_scope += m->in_scope[i];
    }
    for (size_t i = 0; i < in_scope; i++) {
        if (t->n_lat == t->cap) {
            t->latency = realloc(t->latency, (t->cap *= 2) * sizeof *t->latency);
        }
        t->latency[t->n_lat++] = (t1 - t0) / (double)in_scope;
    }
    return 0;
}

/* With BENCH_MATCH_TRACE set, each review and each missed register child
 * as a tab-separated line on stderr (synthetic ids only): the decision,
 * incident/child, the right register child, the reason, what the officer
 * got wrong. */
static void trace(const json_t *doc, size_t i, const char *decision,
                  const struct sdat_match_outcome *o, const char *truth_id, const char *errs)
{
    if (getenv("BENCH_MATCH_TRACE")) {
        fprintf(stderr, "%s\t%s/%zu\t%s\t%s\t%s\n", decision, text_of(doc, "incident_id"), i,
                truth_id ? truth_id : "none", o->reason ? o->reason : "", errs);
    }
}

/* One police child's outcome against its label. */
static void judge(struct bench *b, struct tally *t, const json_t *doc, size_t i,
                  const struct sdat_match_outcome *o, const json_t *tr)
{
    const char *truth_id = json_string_value(json_object_get(tr, "child_id"));
    t->children++;
    t->in_register += truth_id != NULL;
    char errs[256];
    errors_key(tr, errs, sizeof errs);
    if (o->decision == SDAT_DECISION_MATCH) {
        t->matches++;
        bool right = truth_id && strcmp(o->child_id, truth_id) == 0;
        t->true_matches += right;
        t->found_with_review += right;
        if (!right) {
            const char *cause = cause_of(b, o->child_id, truth_id);
            count(&t->wrong, cause);
            t->twin_wrong += strcmp(cause, "twin") == 0;
            printf("match:   wrong %s/%zu: matched %s, right %s (%s; rule %s; officer: %s)\n",
                   text_of(doc, "incident_id"), i, o->child_id, truth_id ? truth_id : "none", cause,
                   o->rule, errs);
        }
    } else if (o->decision == SDAT_DECISION_REVIEW) {
        t->reviews++;
        t->found_with_review += truth_id != NULL;
        count(&t->review_reasons, o->reason);
        t->identifier_reviews += strcmp(o->rule, "identifier") == 0;
        t->in_register_reviews += truth_id != NULL;
        trace(doc, i, "review", o, truth_id, errs);
    } else if (truth_id) {
        count(&t->missed, errs);
        trace(doc, i, "none", o, truth_id, errs);
    }
}

static int run(struct bench *b, struct tally *t, FILE *police, FILE *truth)
{
    char *line = NULL, *tline = NULL;
    size_t lcap = 0, tcap = 0;
    struct sdat_incident_matches *m = malloc(sizeof *m);
    json_t *labels[SDAT_INCIDENT_MAX_CHILDREN];
    int r = m ? 0 : -1;
    while (r == 0 && getline(&line, &lcap, police) > 0) {
        json_error_t jerr;
        json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        struct sdat_validation v;
        if (!doc || sdat_schemas_validate(b->schemas, doc, "police.da-incident/1", &v) != 0) {
            fprintf(stderr, "bench_match: an invalid incident\n");
            json_decref(doc);
            r = -1;
            break;
        }
        int64_t occurred_ms;
        int32_t occurred_days;
        sdat_datetime_parse(text_of(doc, "occurred_at"), &occurred_ms);
        sdat_time_local_date(occurred_ms, b->cfg->timezone, &occurred_days);
        size_t n = json_array_size(json_object_get(doc, "children"));
        for (size_t i = 0; i < n && i < SDAT_INCIDENT_MAX_CHILDREN; i++) {
            labels[i] = getline(&tline, &tcap, truth) > 0 ? json_loads(tline, 0, NULL) : NULL;
            if (!labels[i]) {
                fprintf(stderr, "bench_match: the truth is shorter than the police children\n");
                r = -1;
            }
        }
        if (r == 0) {
            r = match_incident(b, t, doc, &v, occurred_days, m);
        }
        for (size_t i = 0; i < n && i < SDAT_INCIDENT_MAX_CHILDREN; i++) {
            if (r == 0 && m->in_scope[i]) {
                judge(b, t, doc, i, &m->outcomes[i], labels[i]);
            } else if (r == 0) {
                t->out_of_scope++;
            }
            json_decref(labels[i]);
        }
        json_decref(doc);
    }
    free(m);
    free(line);
    free(tline);
    return r;
}

static void report(struct bench *b, struct tally *t)
{
    int64_t register_size = 0;
    sdat_store_child_count(b->st, &register_size);
    qsort(t->latency, t->n_lat, sizeof *t->latency, by_double);
    long in = t->in_register ? t->in_register : 1;
    printf("match: register %lld children, %ld police children (%ld in the register, %ld out of "
           "scope)\n",
           (long long)register_size, t->children, t->in_register, t->out_of_scope);
    printf("match: precision of match        %8.3f %%  (target >= 99.99 %%; %ld wrong of %ld)\n",
           t->matches ? 100.0 * (double)t->true_matches / (double)t->matches : 100.0,
           t->matches - t->true_matches, t->matches);
    printf("match: twins auto-matched to a twin   %ld  (target: never)\n", t->twin_wrong);
    printf("match: recall of match           %8.3f %%  (target >= 95 %%)\n",
           100.0 * (double)t->true_matches / (double)in);
    printf("match: recall of match + review  %8.3f %%  (target >= 99.5 %%)\n",
           100.0 * (double)t->found_with_review / (double)in);
    printf("match: share sent to review      %8.3f %%  (target <= 5 %%)\n",
           100.0 * (double)t->reviews / (double)(t->children ? t->children : 1));
    if (t->n_lat) {
        printf("match: latency per child         p50 %.0f us, p99 %.0f us, max %.0f us (target "
               "p99 <= 1 ms)\n",
               t->latency[t->n_lat / 2], t->latency[t->n_lat * 99 / 100], t->latency[t->n_lat - 1]);
    }
    printf("match: reviews flows.md's identifier rule requires %.3f %% of police children, "
           "%.3f %% of register children's recall\n",
           100.0 * (double)t->identifier_reviews / (double)(t->children ? t->children : 1),
           100.0 * (double)t->identifier_reviews / (double)in);
    print_counts("wrong auto-matches by cause", &t->wrong);
    print_counts("missed (none) by what the officer got wrong", &t->missed);
    print_counts("sent to review by reason", &t->review_reasons);
}

static int open_bench(const char *config_path, struct bench *b)
{
    char *errors = NULL, err[512];
    if (sdat_config_load(config_path, sdat_connector_key_tables(), &b->cfg, &errors) < 0) {
        fprintf(stderr, "%s", errors ? errors : "bad configuration\n");
        free(errors);
        return -1;
    }
    if (sdat_store_open(b->cfg->state_dir, SDAT_STORE_READONLY, &b->st, err, sizeof err) < 0 ||
        sdat_schemas_new(&b->schemas, err, sizeof err) < 0 ||
        sdat_match_nicknames_load(b->cfg->matching.nicknames_file, &b->nicknames, err, sizeof err) <
            0) {
        fprintf(stderr, "bench_match: %s\n", err);
        return -1;
    }
    b->e = (struct sdat_engine){
        .cfg = b->cfg, .st = b->st, .schemas = b->schemas, .nicknames = b->nicknames};
    /* As sdatd matches: from the register index, unless BENCH_MATCH_SQL is
     * set (then every query reads SQLite, the reference). */
    const char *sql = getenv("BENCH_MATCH_SQL");
    if (!sql || !sql[0]) {
        long before = status_kib("RssAnon:");
        double t0 = now_us(), c0 = cpu_s();
        int r = sdat_store_register_index_load(b->st);
        if (r < 0) {
            fprintf(stderr, "bench_match: cannot load the register index: %s\n", strerror(-r));
            return -1;
        }
        double load_s = (now_us() - t0) / 1e6, load_cpu_s = cpu_s() - c0;
        int64_t children = 0, keys = 0;
        sdat_store_register_index_size(b->st, &children, &keys);
        long after = status_kib("RssAnon:");
        printf(
            "match: register index of %lld children, %lld keys loaded in %.2f s (CPU %.2f s), "
            "RssAnon %+.0f MiB (%.0f MiB -> %.0f MiB; VmRSS then %.0f MiB, of which RssFile %.0f "
            "MiB)\n",
            (long long)children, (long long)keys, load_s, load_cpu_s,
            (double)(after - before) / 1024.0, (double)before / 1024.0, (double)after / 1024.0,
            (double)status_kib("VmRSS:") / 1024.0, (double)status_kib("RssFile:") / 1024.0);
    } else {
        printf("match: candidates read from SQLite (BENCH_MATCH_SQL)\n");
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_match CONFIG POLICE.jsonl TRUTH.jsonl\n");
        return 2;
    }
    struct bench b = {0};
    if (open_bench(argv[1], &b) < 0) {
        return 1;
    }
    FILE *police = fopen(argv[2], "r"), *truth = fopen(argv[3], "r");
    if (!police || !truth) {
        perror("bench_match");
        return 1;
    }
    struct tally t = {.cap = 1 << 16};
    t.latency = malloc(t.cap * sizeof *t.latency);
    int r = t.latency ? run(&b, &t, police, truth) : -1;
    if (r == 0) {
        report(&b, &t);
    }
    if (checked > 0) {
        printf("match: register index and SQLite gave the same candidates for all %ld police "
               "children\n",
               checked);
    }
    free(t.latency);
    fclose(police);
    fclose(truth);
    sdat_nicknames_free(b.nicknames);
    sdat_schemas_free(b.schemas);
    sdat_store_close(b.st);
    sdat_config_free(b.cfg);
    return r == 0 ? 0 : 1;
}
