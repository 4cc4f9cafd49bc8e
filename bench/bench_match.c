/* make bench-match: matching quality and latency on the labelled synthetic
 * set (bench/synth). Usage: bench_match CONFIG POLICE.jsonl TRUTH.jsonl
 * against the register already imported into CONFIG's store. Prints the
 * figures of quality.md: precision of match, recall of match and of
 * match + review, the share sent to review, and p50/p99 of the time to
 * match one child (candidates from the store, scoring, decision). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "outbox/outbox.h"
#include "engine/engine.h"
#include "decide/decide.h"
#include "util/util.h"

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

struct tally {
    long children, in_register, matches, true_matches, reviews, found_with_review, out_of_scope;
};

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_match CONFIG POLICE.jsonl TRUTH.jsonl\n");
        return 2;
    }
    struct sdat_config *cfg = NULL;
    char *errors = NULL, err[512];
    sdat_store_t *st = NULL;
    sdat_schemas_t *schemas = NULL;
    sdat_nicknames_t *nicknames = NULL;
    if (sdat_config_load(argv[1], sdat_connector_key_tables(), &cfg, &errors) < 0) {
        fprintf(stderr, "%s", errors ? errors : "bad configuration\n");
        return 1;
    }
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_READONLY, &st, err, sizeof err) < 0 ||
        sdat_schemas_new(&schemas, err, sizeof err) < 0 ||
        sdat_match_nicknames_load(cfg->matching.nicknames_file, &nicknames, err, sizeof err) < 0) {
        fprintf(stderr, "bench_match: %s\n", err);
        return 1;
    }
    FILE *police = fopen(argv[2], "r"), *truth = fopen(argv[3], "r");
    if (!police || !truth) {
        perror("bench_match");
        return 1;
    }
    struct sdat_engine e = {.cfg = cfg, .st = st, .schemas = schemas, .nicknames = nicknames};
    struct tally t = {0};
    size_t cap = 1 << 16, n_lat = 0;
    double *latency = malloc(cap * sizeof *latency);
    char *line = NULL, *tline = NULL;
    size_t lcap = 0, tcap = 0;
    int64_t register_size = 0;
    sdat_store_child_count(st, &register_size);
    while (getline(&line, &lcap, police) > 0) {
        json_error_t jerr;
        json_t *doc = json_loads(line, JSON_REJECT_DUPLICATES, &jerr);
        struct sdat_validation v;
        if (!doc || sdat_schemas_validate(schemas, doc, "police.da-incident/1", &v) != 0) {
            fprintf(stderr, "bench_match: an invalid incident in %s\n", argv[2]);
            return 1;
        }
        int64_t occurred_ms;
        int32_t occurred_days;
        sdat_datetime_parse(json_string_value(json_object_get(doc, "occurred_at")), &occurred_ms);
        sdat_time_local_date(occurred_ms, cfg->timezone, &occurred_days);
        for (size_t i = 0; i < json_array_size(json_object_get(doc, "children")); i++) {
            if (getline(&tline, &tcap, truth) <= 0) {
                fprintf(stderr, "bench_match: %s is shorter than the police children\n", argv[3]);
                return 1;
            }
            json_t *tr = json_loads(tline, 0, NULL);
            const char *truth_id = json_string_value(json_object_get(tr, "child_id"));
            struct sdat_match_query q;
            sdat_match_query_from_incident(doc, i, &v, occurred_days, &q);
            int age = q.has_dob ? sdat_age_on(q.dob_days, occurred_days) : q.age;
            if (age >= 18) {
                t.out_of_scope++;
                json_decref(tr);
                continue;
            }
            struct sdat_match_params p;
            struct sdat_match_outcome o;
            double t0 = now_us();
            if (sdat_engine_match(&e, &q, &p, &o) < 0) {
                fprintf(stderr, "bench_match: store error: %s\n", sdat_store_errmsg(st));
                return 1;
            }
            double t1 = now_us();
            if (n_lat == cap) {
                latency = realloc(latency, (cap *= 2) * sizeof *latency);
            }
            latency[n_lat++] = t1 - t0;
            t.children++;
            t.in_register += truth_id != NULL;
            if (o.decision == SDAT_DECISION_MATCH) {
                t.matches++;
                bool right = truth_id && strcmp(o.child_id, truth_id) == 0;
                t.true_matches += right;
                t.found_with_review += right;
            } else if (o.decision == SDAT_DECISION_REVIEW) {
                t.reviews++;
                t.found_with_review += truth_id != NULL;
            }
            json_decref(tr);
        }
        json_decref(doc);
    }
    qsort(latency, n_lat, sizeof *latency, by_double);
    printf("match: register %lld children, %ld police children (%ld in the register, %ld out of "
           "scope)\n",
           (long long)register_size, t.children, t.in_register, t.out_of_scope);
    printf("match: precision of match        %8.3f %%  (target >= 99.95 %%; %ld wrong of %ld)\n",
           t.matches ? 100.0 * (double)t.true_matches / (double)t.matches : 100.0,
           t.matches - t.true_matches, t.matches);
    printf("match: recall of match           %8.3f %%  (target >= 95 %%)\n",
           100.0 * (double)t.true_matches / (double)(t.in_register ? t.in_register : 1));
    printf("match: recall of match + review  %8.3f %%  (target >= 99.5 %%)\n",
           100.0 * (double)t.found_with_review / (double)(t.in_register ? t.in_register : 1));
    printf("match: share sent to review      %8.3f %%  (target <= 5 %%)\n",
           100.0 * (double)t.reviews / (double)(t.children ? t.children : 1));
    if (n_lat) {
        printf("match: latency per child         p50 %.0f us, p99 %.0f us, max %.0f us (target "
               "p99 <= 1 ms)\n",
               latency[n_lat / 2], latency[n_lat * 99 / 100], latency[n_lat - 1]);
    }
    free(latency);
    free(line);
    free(tline);
    fclose(police);
    fclose(truth);
    sdat_nicknames_free(nicknames);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    free(errors);
    return 0;
}
