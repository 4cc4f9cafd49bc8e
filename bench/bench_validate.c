/* make bench: the validation rate of police.da-incident/1 events beside a
 * plain jansson parse of the same bytes (issue 3, quality.md P1's first
 * reference). Events are synthetic, about 1.1 KB with two children each, all
 * different and all valid (checked before timing). Each figure is the best
 * of ROUNDS passes over the whole set, so that a noisy neighbour on the
 * 2-core machine costs a round, not the figure.
 *
 *   parse        json_loadb(flags 0) + json_decref
 *   ingest       json_loadb(JSON_REJECT_DUPLICATES) + schema validation +
 *                key derivation + json_decref: what ingest.c does before a
 *                flow sees the event
 *   validate     schema validation alone, on documents parsed beforehand
 *   payloads     sdat.notification/1 validation alone (what every stored
 *                notification pays, notification.c), cycling through the
 *                golden payloads of every kind in tests/golden/letters/payloads
 *                (SDAT_BENCH_PAYLOADS names another folder); skipped, with a
 *                line saying so, when the folder is not there */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "decide/decide.h"

#define EVENTS 20000
#define ROUNDS 5
#define PAYLOAD_FILES 64
#define PAYLOAD_VALIDATIONS 40000

static const char *given[] = {"Ashlyn", "Bramwell", "Corin", "Delphine", "Emrys", "Fenella",
                              "Gideon", "Honor", "Ivo", "Juniper", "Kit", "Lorcan"};
static const char *family[] = {"Testwood", "Samplefield", "Mockridge", "Dummerton",
                               "Fakenham-Test", "Examplesby"};
static const char *postcodes[] = {"DE22 3XY", "DE1 1AA", "S40 2QT", "DE7 5RB", "NG10 1JP"};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A synthetic NHS number (the 999 test range) with a valid check digit. */
static void nhs_number(unsigned seed, char out[11])
{
    for (;;) {
        snprintf(out, 11, "999%06u", seed % 1000000);
        int sum = 0;
        for (int i = 0; i < 9; i++) {
            sum += (out[i] - '0') * (10 - i);
        }
        int check = 11 - sum % 11;
        if (check == 11) {
            check = 0;
        }
        if (check != 10) {
            out[9] = (char)('0' + check);
            out[10] = '\0';
            return;
        }
        seed++;
    }
}

/* A UPN for LA 831 with the check letter found by trying each letter. */
static void upn(unsigned seed, char out[14])
{
    static const char letters[] = "ABCDEFGHJKLMNPQRTUVWXYZ";
    for (const char *l = letters; *l; l++) {
        snprintf(out, 14, "%c831%04u%02u%03u", *l, 2000 + seed % 100, 20 + seed % 6, seed % 1000);
        if (sdat_format_upn(out)) {
            return;
        }
    }
    fprintf(stderr, "bench: no check letter for UPN seed %u\n", seed);
    exit(1);
}

static char *make_event(unsigned i, size_t *ret_len)
{
    char nhs[11], u[14], buf[2048];
    nhs_number(i * 7919u, nhs);
    upn(i, u);
    int n = snprintf(
        buf, sizeof buf,
        "{\"schema\":\"police.da-incident/1\",\"force\":\"derbyshire\","
        "\"incident_id\":\"BENCH-%07u\",\"version\":%u,"
        "\"occurred_at\":\"2026-11-%02uT%02u:%02u:00Z\",\"reported_at\":\"2026-11-%02uT%02u:%02u:30+00:00\","
        "\"location\":{\"address\":\"%u Synthetic Street, Testville\",\"postcode\":\"%s\"},"
        "\"risk\":\"%s\",\"urgent\":%s,\"children\":["
        "{\"ref\":\"c1\",\"given_name\":\"%s\",\"family_name\":\"%s\",\"dob\":\"20%02u-%02u-%02u\","
        "\"sex\":\"%s\",\"nhs_number\":\"%s\",\"present\":true,\"resident\":true,\"spoken_to\":true,"
        "\"voice\":\"Synthetic words recorded for the benchmark, nothing more; a second synthetic sentence pads the event to the size quality.md names.\"},"
        "{\"ref\":\"c2\",\"given_name\":\"%s\",\"family_name\":\"%s\",\"age\":%u,\"upn\":\"%s\","
        "\"present\":false,\"resident\":true,\"school_hint\":\"Synthetic Primary\"}],"
        "\"circumstances\":\"Synthetic circumstances for benchmark event %u: a verbal argument "
        "between adults at the address; no injuries reported; the officer attended and "
        "spoke with both parties and with the older child.\","
        "\"officer\":{\"id\":\"PC-%04u\",\"name\":\"PC Bench Officer\",\"phone\":\"01000 %06u\"}}",
        i, 1 + i % 3, 1 + i % 28, i % 24, i % 60, 1 + i % 28, i % 24, i % 60, i % 200,
        postcodes[i % 5], i % 3 == 0 ? "high" : "medium", i % 11 == 0 ? "true" : "false",
        given[i % 12], family[i % 6], 10 + i % 15, 1 + i % 12, 1 + i % 28, i % 2 ? "F" : "M", nhs,
        given[(i + 5) % 12], family[i % 6], 2 + i % 14, u, i, i % 10000, i % 1000000);
    if (n < 0 || (size_t)n >= sizeof buf) {
        fprintf(stderr, "bench: event %u does not fit\n", i);
        exit(1);
    }
    *ret_len = (size_t)n;
    return strdup(buf);
}

/* The valid sdat.notification/1 documents in dir, in name order; how many. */
static size_t load_payloads(const sdat_schemas_t *schemas, const char *dir, json_t **ret_docs)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(names[i]->d_name);
        if (count < PAYLOAD_FILES && len > 5 && strcmp(names[i]->d_name + len - 5, ".json") == 0) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]->d_name);
            json_t *doc = json_load_file(path, JSON_REJECT_DUPLICATES, NULL);
            struct sdat_validation v;
            if (doc && sdat_schemas_validate(schemas, doc, "sdat.notification/1", &v) == 0) {
                ret_docs[count++] = doc;
            } else {
                fprintf(stderr, "bench: %s is not a valid notification, left out\n", path);
                json_decref(doc);
            }
        }
        free(names[i]);
    }
    free(names);
    return count;
}

/* Best of ROUNDS passes of PAYLOAD_VALIDATIONS validations cycling through
 * docs; payloads a second, or 0 when one failed. */
static double payload_rate(const sdat_schemas_t *schemas, json_t **docs, size_t n)
{
    double best = 1e9;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        for (unsigned i = 0; i < PAYLOAD_VALIDATIONS; i++) {
            struct sdat_validation v;
            if (sdat_schemas_validate(schemas, docs[i % n], "sdat.notification/1", &v) != 0) {
                return 0;
            }
        }
        double t = now_s() - t0;
        best = t < best ? t : best;
    }
    return PAYLOAD_VALIDATIONS / best;
}

int main(void)
{
    char err[256], key[200];
    sdat_schemas_t *schemas = NULL;
    if (sdat_schemas_new(&schemas, err, sizeof err) < 0) {
        fprintf(stderr, "bench: %s\n", err);
        return 1;
    }
    static char *events[EVENTS];
    static size_t lens[EVENTS];
    static json_t *docs[EVENTS];
    size_t bytes = 0;
    for (unsigned i = 0; i < EVENTS; i++) {
        events[i] = make_event(i, &lens[i]);
        bytes += lens[i];
        json_error_t jerr;
        docs[i] = json_loadb(events[i], lens[i], JSON_REJECT_DUPLICATES, &jerr);
        struct sdat_validation v;
        if (!docs[i] || sdat_schemas_validate(schemas, docs[i], "police.da-incident/1", &v) != 0) {
            fprintf(stderr, "bench: event %u is not valid: %s %s\n", i,
                    docs[i] ? v.errors[0].path : jerr.text, docs[i] ? v.errors[0].message : "");
            return 1;
        }
    }
    double best_parse = 1e9, best_ingest = 1e9, best_validate = 1e9;
    for (int round = 0; round < ROUNDS; round++) {
        double t0 = now_s();
        for (unsigned i = 0; i < EVENTS; i++) {
            json_t *doc = json_loadb(events[i], lens[i], 0, NULL);
            json_decref(doc);
        }
        double t1 = now_s();
        for (unsigned i = 0; i < EVENTS; i++) {
            json_t *doc = json_loadb(events[i], lens[i], JSON_REJECT_DUPLICATES, NULL);
            struct sdat_validation v;
            if (!doc || sdat_schemas_validate(schemas, doc, "police.da-incident/1", &v) != 0 ||
                sdat_schemas_derive_key(doc, "police.da-incident/1", key, sizeof key) < 0) {
                fprintf(stderr, "bench: event %u failed in the timed loop\n", i);
                return 1;
            }
            json_decref(doc);
        }
        double t2 = now_s();
        for (unsigned i = 0; i < EVENTS; i++) {
            struct sdat_validation v;
            if (sdat_schemas_validate(schemas, docs[i], "police.da-incident/1", &v) != 0) {
                return 1;
            }
        }
        double t3 = now_s();
        best_parse = t1 - t0 < best_parse ? t1 - t0 : best_parse;
        best_ingest = t2 - t1 < best_ingest ? t2 - t1 : best_ingest;
        best_validate = t3 - t2 < best_validate ? t3 - t2 : best_validate;
    }
    double parse_rate = EVENTS / best_parse, ingest_rate = EVENTS / best_ingest,
           validate_rate = EVENTS / best_validate;
    printf("validate: %d police.da-incident/1 events, %.0f bytes each on average, best of %d\n",
           EVENTS, (double)bytes / EVENTS, ROUNDS);
    printf("validate: jansson parse only         %9.0f events/s  (reference)\n", parse_rate);
    printf("validate: parse + validate + key     %9.0f events/s  ratio %.2f x parse\n",
           ingest_rate, ingest_rate / parse_rate);
    printf("validate: validation alone           %9.0f events/s  (%.1f us/event)\n",
           validate_rate, 1e6 / validate_rate);
    const char *dir = getenv("SDAT_BENCH_PAYLOADS");
    dir = dir ? dir : "tests/golden/letters/payloads";
    static json_t *payloads[PAYLOAD_FILES];
    size_t n_payloads = load_payloads(schemas, dir, payloads);
    if (n_payloads == 0) {
        printf("validate: payloads: none found in %s, not measured\n", dir);
    } else {
        double rate = payload_rate(schemas, payloads, n_payloads);
        if (rate == 0) {
            fprintf(stderr, "bench: a payload failed in the timed loop\n");
            return 1;
        }
        printf("validate: sdat.notification/1 alone  %9.0f payloads/s (%.1f us/payload; "
               "%zu golden payloads, best of %d)\n",
               rate, 1e6 / rate, n_payloads, ROUNDS);
    }
    for (size_t i = 0; i < n_payloads; i++) {
        json_decref(payloads[i]);
    }
    for (unsigned i = 0; i < EVENTS; i++) {
        free(events[i]);
        json_decref(docs[i]);
    }
    sdat_schemas_free(schemas);
    return 0;
}
