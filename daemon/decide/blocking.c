#include "blocking.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

static void add(struct sdat_blocking_keys *k, const char *key)
{
    for (size_t i = 0; i < k->n; i++) {
        if (strcmp(k->key[i], key) == 0) {
            return;
        }
    }
    if (k->n < SDAT_BLOCKING_MAX_KEYS) {
        snprintf(k->key[k->n++], SDAT_BLOCKING_KEY_LEN, "%s", key);
    }
}

/* The first word and each space-separated word of others, into out. */
#define MAX_WORDS 12
static size_t words(const char *first, const char *others, char out[MAX_WORDS][SDAT_MATCH_NAME_MAX])
{
    size_t n = 0;
    if (first && *first) {
        snprintf(out[n++], SDAT_MATCH_NAME_MAX, "%s", first);
    }
    for (const char *p = others ? others : ""; *p && n < MAX_WORDS;) {
        size_t len = strcspn(p, " ");
        if (len > 0 && len < SDAT_MATCH_NAME_MAX) {
            memcpy(out[n], p, len);
            out[n][len] = '\0';
            n++;
        }
        p += len;
        p += strspn(p, " ");
    }
    return n;
}

static void name_keys(struct sdat_blocking_keys *k, char given[][SDAT_MATCH_NAME_MAX],
                      size_t n_given, char family[][SDAT_MATCH_NAME_MAX], size_t n_family,
                      const int *years, size_t n_years)
{
    char key[SDAT_BLOCKING_KEY_LEN], fs[5];
    for (size_t f = 0; f < n_family; f++) {
        sdat_name_soundex(family[f], fs);
        if (!fs[0]) {
            continue;
        }
        for (size_t g = 0; g < n_given; g++) {
            for (size_t y = 0; y < n_years; y++) {
                snprintf(key, sizeof key, "f:%s:%d:%c", fs, years[y], given[g][0]);
                add(k, key);
            }
        }
    }
}

void sdat_blocking_register(const char *given, const char *family, const char *other_given,
                            const char *other_family, const char *dob, const char *postcode,
                            const char *uprn, struct sdat_blocking_keys *ret)
{
    char g[MAX_WORDS][SDAT_MATCH_NAME_MAX], f[MAX_WORDS][SDAT_MATCH_NAME_MAX];
    char key[SDAT_BLOCKING_KEY_LEN];
    ret->n = 0;
    if (dob && *dob) {
        snprintf(key, sizeof key, "d:%s", dob);
        add(ret, key);
    }
    if (postcode && *postcode) {
        snprintf(key, sizeof key, "p:%s", postcode);
        add(ret, key);
    }
    if (uprn && *uprn) {
        snprintf(key, sizeof key, "u:%s", uprn);
        add(ret, key);
    }
    int year = 0;
    if (dob && sscanf(dob, "%4d", &year) != 1) {
        year = 0;
    }
    size_t n_g = words(given, other_given, g), n_f = words(family, other_family, f);
    name_keys(ret, g, n_g, f, n_f, &year, year ? 1 : 0);
}

void sdat_blocking_query(const struct sdat_match_query *q, struct sdat_blocking_keys *ret)
{
    char g[1][SDAT_MATCH_NAME_MAX], f[SDAT_MATCH_MAX_PARTS + 1][SDAT_MATCH_NAME_MAX];
    char key[SDAT_BLOCKING_KEY_LEN];
    int years[2];
    size_t n_years = 0;
    ret->n = 0;
    if (q->has_dob) {
        int y, m, d;
        sdat_civil_from_days(q->dob_days, &y, &m, &d);
        snprintf(key, sizeof key, "d:%04d-%02d-%02d", y, m, d);
        add(ret, key);
        if (d <= 12 && d != m) {
            snprintf(key, sizeof key, "d:%04d-%02d-%02d", y, d, m);
            add(ret, key);
        }
        years[n_years++] = y;
    } else if (q->age >= 0) {
        /* An age on the incident date fits two birth years. */
        int y, m, d;
        sdat_civil_from_days(q->occurred_days, &y, &m, &d);
        years[n_years++] = y - q->age;
        years[n_years++] = y - q->age - 1;
    }
    if (q->postcode[0]) {
        snprintf(key, sizeof key, "p:%s", q->postcode);
        add(ret, key);
    }
    if (q->uprn[0]) {
        snprintf(key, sizeof key, "u:%s", q->uprn);
        add(ret, key);
    }
    size_t n_g = 0, n_f = 0;
    if (q->given[0]) {
        snprintf(g[n_g++], SDAT_MATCH_NAME_MAX, "%s", q->given);
    }
    if (q->family[0]) {
        snprintf(f[n_f++], SDAT_MATCH_NAME_MAX, "%s", q->family);
    }
    for (size_t i = 0; i < q->n_family_parts; i++) {
        snprintf(f[n_f++], SDAT_MATCH_NAME_MAX, "%s", q->family_parts[i]);
    }
    name_keys(ret, g, n_g, f, n_f, years, n_years);
}
