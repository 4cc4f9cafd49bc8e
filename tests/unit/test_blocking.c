/* The register's blocking keys (decide/blocking.c) against the code that
 * wrote them before: child_keys holds keys made by snprintf and sscanf,
 * and the register index's load recomputes them with the faster writers,
 * so both must give the same bytes on any child. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "decide/decide.h"

/* sdat_blocking_register as it was written with snprintf and sscanf: the
 * keys child_keys holds were made so, and the register index's load
 * recomputes them, so the faster writers must give the same bytes. */
static void reference_add(struct sdat_blocking_keys *k, const char *key)
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

static size_t reference_words(const char *first, const char *others,
                              char out[12][SDAT_MATCH_NAME_MAX])
{
    size_t n = 0;
    if (first && *first) {
        snprintf(out[n++], SDAT_MATCH_NAME_MAX, "%s", first);
    }
    for (const char *p = others ? others : ""; *p && n < 12;) {
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

static void reference_register(const char *given, const char *family, const char *other_given,
                               const char *other_family, const char *dob, const char *postcode,
                               const char *uprn, struct sdat_blocking_keys *ret)
{
    char g[12][SDAT_MATCH_NAME_MAX], f[12][SDAT_MATCH_NAME_MAX], key[SDAT_BLOCKING_KEY_LEN];
    ret->n = 0;
    if (dob && *dob) {
        snprintf(key, sizeof key, "d:%s", dob);
        reference_add(ret, key);
    }
    if (postcode && *postcode) {
        snprintf(key, sizeof key, "p:%s", postcode);
        reference_add(ret, key);
    }
    if (uprn && *uprn) {
        snprintf(key, sizeof key, "u:%s", uprn);
        reference_add(ret, key);
    }
    int year = 0;
    if (dob && sscanf(dob, "%4d", &year) != 1) {
        year = 0;
    }
    size_t n_g = reference_words(given, other_given, g),
           n_f = reference_words(family, other_family, f);
    char fs[5];
    for (size_t i = 0; i < n_f && year; i++) {
        sdat_name_soundex(f[i], fs);
        for (size_t j = 0; fs[0] && j < n_g; j++) {
            snprintf(key, sizeof key, "f:%s:%d:%c", fs, year, g[j][0]);
            reference_add(ret, key);
        }
    }
}

static unsigned blocking_seed = 7;

static unsigned blocking_random(unsigned n)
{
    blocking_seed = blocking_seed * 1103515245u + 12345u;
    return (blocking_seed >> 8) % n;
}

/* A random field: NULL, empty, or up to max characters drawn from an
 * alphabet that reaches the edges (signs, blanks, digits, long text). */
static const char *random_field(char *buf, size_t max)
{
    static const char alphabet[] = "abcxyzSMITH -+0123456789\t'";
    switch (blocking_random(8)) {
    case 0:
        return NULL;
    case 1:
        return "";
    default:
        break;
    }
    size_t len = blocking_random(4) == 0 ? blocking_random((unsigned)max) : blocking_random(14);
    for (size_t i = 0; i < len; i++) {
        buf[i] = alphabet[blocking_random(sizeof alphabet - 1)];
    }
    buf[len] = '\0';
    return buf;
}

Test(blocking, register_keys_are_those_snprintf_wrote)
{
    static const char *const dobs[] = {"2016-04-12",  "  -12-01", "+999", "-0",
                                       "0000-01-01",  "12",       "-",    " 7x",
                                       "99999-01-01", "\t2015"};
    for (int i = 0; i < 200000; i++) {
        char b[7][120];
        const char *given = random_field(b[0], 100), *family = random_field(b[1], 100),
                   *other_given = random_field(b[2], 100), *other_family = random_field(b[3], 100),
                   *dob = blocking_random(2) ? dobs[blocking_random(10)] : random_field(b[4], 60),
                   *postcode = random_field(b[5], 60), *uprn = random_field(b[6], 60);
        struct sdat_blocking_keys got, want;
        sdat_blocking_register(given, family, other_given, other_family, dob, postcode, uprn, &got);
        reference_register(given, family, other_given, other_family, dob, postcode, uprn, &want);
        cr_assert_eq(got.n, want.n, "case %d: %zu keys, not %zu", i, got.n, want.n);
        for (size_t k = 0; k < got.n; k++) {
            cr_assert_str_eq(got.key[k], want.key[k], "case %d, key %zu", i, k);
        }
    }
}
