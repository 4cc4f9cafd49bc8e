#include "blocking.h"

#include <ctype.h>
#include <stdbool.h>
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
        size_t len = strnlen(key, SDAT_BLOCKING_KEY_LEN - 1);
        memcpy(k->key[k->n], key, len);
        k->key[k->n++][len] = '\0';
    }
}

/* The keys are written without snprintf, which was a tenth of the register
 * index's load: each writer below gives snprintf's bytes, truncation
 * included (tests/unit/test_match.c holds them to it). */

/* Appends s to out (room for size bytes with the NUL) from *at, truncating
 * as snprintf does. */
static void put_text(char *out, size_t size, size_t *at, const char *s)
{
    size_t len = strlen(s);
    if (*at + len > size - 1) {
        len = *at < size - 1 ? size - 1 - *at : 0;
    }
    memcpy(out + *at, s, len);
    *at += len;
    out[*at] = '\0';
}

/* Appends v in decimal ("%d"). */
static void put_int(char *out, size_t size, size_t *at, int v)
{
    char digits[16], *p = digits + sizeof digits - 1;
    unsigned magnitude = v < 0 ? 0u - (unsigned)v : (unsigned)v;
    *p = '\0';
    do {
        *--p = (char)('0' + magnitude % 10);
        magnitude /= 10;
    } while (magnitude);
    if (v < 0) {
        *--p = '-';
    }
    put_text(out, size, at, p);
}

/* sscanf(s, "%4d", ret) == 1: blanks skipped, then at most 4 characters of
 * an optionally signed decimal. */
static bool scan_year(const char *s, int *ret)
{
    while (isspace((unsigned char)*s)) {
        s++;
    }
    int width = 4, sign = 1, v = 0;
    if (*s == '-' || *s == '+') {
        sign = *s == '-' ? -1 : 1;
        s++;
        width--;
    }
    int digits = 0;
    for (; digits < width && *s >= '0' && *s <= '9'; s++, digits++) {
        v = v * 10 + (*s - '0');
    }
    if (digits == 0) {
        return false;
    }
    *ret = sign * v;
    return true;
}

/* The first word and each space-separated word of others, into out. */
#define MAX_WORDS 12
static size_t words(const char *first, const char *others, char out[MAX_WORDS][SDAT_MATCH_NAME_MAX])
{
    size_t n = 0;
    if (first && *first) {
        size_t len = strnlen(first, SDAT_MATCH_NAME_MAX - 1);
        memcpy(out[n], first, len);
        out[n++][len] = '\0';
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
                size_t at = 0;
                put_text(key, sizeof key, &at, "f:");
                put_text(key, sizeof key, &at, fs);
                put_text(key, sizeof key, &at, ":");
                put_int(key, sizeof key, &at, years[y]);
                put_text(key, sizeof key, &at, ":");
                put_text(key, sizeof key, &at, (char[2]){given[g][0], '\0'});
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
    const char *const prefix[3] = {"d:", "p:", "u:"}, *const value[3] = {dob, postcode, uprn};
    for (int i = 0; i < 3; i++) {
        if (value[i] && *value[i]) {
            size_t at = 0;
            put_text(key, sizeof key, &at, prefix[i]);
            put_text(key, sizeof key, &at, value[i]);
            add(ret, key);
        }
    }
    int year = 0;
    if (dob && !scan_year(dob, &year)) {
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
