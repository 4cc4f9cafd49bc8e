/* The canonical JSON writer (decide/canonical.c) and the audit records
 * built with it, held byte for byte to what they replace: jansson's
 * json_dumps(JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY), and the
 * record construction of before (a jansson object serialised, hashed, and
 * serialised again with its hash; copied below as the reference, hashed
 * with GnuTLS rather than sdat's digest). A record hashed differently would
 * break every chain written before the change, so the corpus is large and
 * made to hit what can differ: escapes, UTF-8 of every length, keys that
 * are prefixes of each other or differ in case only, integers at the
 * limits, reals of every shape, nesting. The PRNG is seeded: the same
 * corpus every run (SDAT_CANONICAL_SEED=N tries another). */
#include <criterion/criterion.h>
#include <errno.h>
#include <float.h>
#include <gnutls/crypto.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "decide/decide.h"
#include "util/util.h"

#define FLAGS (JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY)
#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define VALUES 200000
#define RECORDS 50000
#define MAX_DEPTH 5

static uint64_t rng_state, seed;

static void rng_seed(uint64_t fallback)
{
    const char *env = getenv("SDAT_CANONICAL_SEED");
    seed = env ? strtoull(env, NULL, 10) : fallback;
    rng_state = seed;
}

/* splitmix64 */
static uint64_t rng(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
    return (uint32_t)(rng() % n);
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* One code point of a kind picked at random: printable ASCII, a control
 * character (NUL included), what JSON escapes or might ('"', '\', '/',
 * DEL), two-, three- and four-byte UTF-8, and the edges between them. */
static uint32_t random_code_point(void)
{
    static const uint32_t edges[] = {0x80,   0x7FF,  0x800,  0xD7FF,  0xE000,  0xFEFF,
                                     0xFFFD, 0xFFFF, 0x2028, 0x2029,  0x10000, 0x10FFFF,
                                     0xE9,   0xC9,   0x20AC, 0x1D11E, 0x1F600, 0x85,
                                     0xA0,   0x2F,   0x5C,   0x22,    0x7F,    0x1F};
    uint32_t kind = below(100);
    if (kind < 35) {
        return 0x20 + below(0x5F);
    }
    if (kind < 47) {
        return below(0x20);
    }
    if (kind < 55) {
        static const uint32_t punct[] = {'"', '\\', '/', 0x7F, 'u', '0'};
        return punct[below(sizeof punct / sizeof punct[0])];
    }
    if (kind < 70) {
        return 0x80 + below(0x800 - 0x80);
    }
    if (kind < 83) {
        uint32_t cp;
        do {
            cp = 0x800 + below(0x10000 - 0x800);
        } while (cp >= 0xD800 && cp <= 0xDFFF);
        return cp;
    }
    if (kind < 92) {
        return 0x10000 + below(0x110000 - 0x10000);
    }
    return edges[below(sizeof edges / sizeof edges[0])];
}

/* Random UTF-8 of up to max code points; its length in *len. */
static void random_text(char *out, size_t max, size_t *len)
{
    size_t n = below((uint32_t)max + 1), at = 0;
    for (size_t i = 0; i < n; i++) {
        at += put_utf8(out + at, random_code_point());
    }
    out[at] = '\0';
    *len = at;
}

static json_t *random_string(void)
{
    char text[4 * 24 + 1];
    size_t len;
    random_text(text, below(8) == 0 ? 24 : 8, &len);
    json_t *s = json_stringn(text, len);
    cr_assert_not_null(s);
    return s;
}

/* Keys that sort close together: prefixes of each other, the same letters
 * in other cases, NUL inside, bytes above ASCII against ASCII. */
static const char *const close_keys[] = {"",
                                         "a",
                                         "A",
                                         "aa",
                                         "aA",
                                         "Aa",
                                         "AA",
                                         "ab",
                                         "abc",
                                         "abd",
                                         "b",
                                         "B",
                                         "_",
                                         "id",
                                         "ID",
                                         "Id",
                                         "iD",
                                         "key",
                                         "keys",
                                         "ke",
                                         "z",
                                         "Z",
                                         "~",
                                         "\x7f",
                                         "e",
                                         "E",
                                         "\xc3\xa9",
                                         "\xc3\x89",
                                         "\xc3\xa9t",
                                         "/",
                                         "k\"",
                                         "k\\",
                                         "k/",
                                         "k\n",
                                         "k\t",
                                         "k\x01",
                                         "\xe2\x82\xac",
                                         "\xf0\x9d\x84\x9e",
                                         "0",
                                         "1",
                                         "10",
                                         "9",
                                         "seq",
                                         "ts",
                                         "type",
                                         "subject",
                                         "detail"};

static void random_key(char *out, size_t *len)
{
    uint32_t kind = below(10);
    if (kind < 5) {
        const char *k = close_keys[below(sizeof close_keys / sizeof close_keys[0])];
        *len = strlen(k);
        memcpy(out, k, *len + 1);
    } else if (kind == 5) {
        /* NUL inside a key: "a\0", "a\0b" and the like. */
        out[0] = (char)('a' + below(3));
        out[1] = '\0';
        out[2] = (char)('a' + below(3));
        *len = 2 + below(2);
    } else {
        random_text(out, 6, len);
    }
}

static json_int_t random_integer(void)
{
    static const json_int_t edges[] = {0,
                                       1,
                                       -1,
                                       INT64_MAX,
                                       INT64_MIN,
                                       INT64_MAX - 1,
                                       INT64_MIN + 1,
                                       9007199254740993LL,
                                       -9007199254740993LL,
                                       4294967296LL,
                                       -2147483648LL,
                                       1000000000000000000LL,
                                       -999999999999999999LL};
    switch (below(4)) {
    case 0:
        return (json_int_t)below(2001) - 1000;
    case 1:
        return (json_int_t)rng();
    case 2:
        return edges[below(sizeof edges / sizeof edges[0])];
    default:
        return (json_int_t)(rng() >> below(64));
    }
}

static double random_real(void)
{
    static const double edges[] = {0.1,
                                   1e300,
                                   -0.0,
                                   0.0,
                                   1.0,
                                   -1.5,
                                   1e16,
                                   1e17,
                                   1e15,
                                   1e21,
                                   1e22,
                                   1e-5,
                                   1e-4,
                                   1e-7,
                                   5e-324,
                                   DBL_MIN,
                                   DBL_MAX,
                                   -DBL_MAX,
                                   0.5,
                                   2.5,
                                   1.0 / 3,
                                   2.0 / 3,
                                   100.0,
                                   123456789.0,
                                   1e100,
                                   -1e-300,
                                   0.3,
                                   0.7,
                                   9007199254740993.0,
                                   3.14159,
                                   -273.15,
                                   1e-10,
                                   12345678901234567890.0};
    switch (below(6)) {
    case 0:
        return edges[below(sizeof edges / sizeof edges[0])];
    case 1: { /* any finite double, from its bits */
        double d;
        do {
            uint64_t bits = rng();
            memcpy(&d, &bits, sizeof d);
        } while (!isfinite(d));
        return d;
    }
    case 2: /* integral */
        return (double)((int64_t)rng() >> below(64));
    case 3: /* a short decimal */
        return (double)((int64_t)below(2000001) - 1000000) / pow(10, below(9));
    case 4: /* a score */
        return (double)below(1001) / 1000.0;
    default: { /* any magnitude, subnormals included */
        double d;
        do {
            d = ldexp((double)(rng() >> 11), (int)below(2100) - 1100);
        } while (!isfinite(d));
        return d;
    }
    }
}

static json_t *random_value(int depth)
{
    uint32_t kind = below(100);
    if (depth == 0 && below(4) != 0) {
        kind = below(27); /* mostly a container at the top */
    }
    if (depth >= MAX_DEPTH && kind < 27) {
        kind += 27; /* no containers at the last level */
    }
    if (kind < 15) {
        json_t *o = json_object();
        uint32_t n = below((uint32_t)(9 - depth));
        for (uint32_t i = 0; i < n; i++) {
            char key[4 * 6 + 1];
            size_t len;
            random_key(key, &len);
            cr_assert_eq(json_object_setn_new(o, key, len, random_value(depth + 1)), 0);
        }
        return o;
    }
    if (kind < 27) {
        json_t *a = json_array();
        uint32_t n = below((uint32_t)(8 - depth));
        for (uint32_t i = 0; i < n; i++) {
            cr_assert_eq(json_array_append_new(a, random_value(depth + 1)), 0);
        }
        return a;
    }
    if (kind < 55) {
        return random_string();
    }
    if (kind < 72) {
        return json_integer(random_integer());
    }
    if (kind < 88) {
        json_t *r = json_real(random_real());
        cr_assert_not_null(r);
        return r;
    }
    if (kind < 92) {
        return json_true();
    }
    if (kind < 96) {
        return json_false();
    }
    return json_null();
}

/* Printable for a failure message: escapes every byte outside ASCII
 * graphics (the texts hold control characters). */
static const char *shown(const char *s, char *out, size_t size)
{
    size_t at = 0;
    for (; s && *s && at + 5 < size; s++) {
        unsigned char c = (unsigned char)*s;
        at += (size_t)(c >= 0x20 && c < 0x7F ? snprintf(out + at, size - at, "%c", c)
                                             : snprintf(out + at, size - at, "<%02X>", c));
    }
    out[at] = '\0';
    return s ? out : "(null)";
}

/* json_dumps and the writer give the same text for v, or both fail. */
static void assert_same_text(const json_t *v, const char *what, long index)
{
    char *want = json_dumps(v, FLAGS);
    char *got = sdat_audit_canonical(v);
    bool same = (!want && !got) || (want && got && strcmp(want, got) == 0);
    if (!same) {
        char a[2048], b[2048];
        cr_assert_fail("%s %ld (seed %" PRIu64 "): jansson %s\nwriter  %s", what, index, seed,
                       shown(want, a, sizeof a), shown(got, b, sizeof b));
    }
    free(want);
    free(got);
}

Test(canonical, random_values_are_written_byte_for_byte_as_jansson_writes_them)
{
    rng_seed(20261207);
    size_t bytes = 0;
    for (long i = 0; i < VALUES; i++) {
        json_t *v = random_value(0);
        assert_same_text(v, "value", i);
        char *t = json_dumps(v, FLAGS);
        bytes += strlen(t);
        free(t);
        json_decref(v);
    }
    /* The corpus is what it says: mostly non-trivial texts. */
    cr_log_info("%d values, %zu bytes of canonical JSON, %zu on average", VALUES, bytes,
                bytes / VALUES);
    cr_assert_gt(bytes / VALUES, 20, "%zu bytes a value on average", bytes / VALUES);
}

Test(canonical, objects_of_many_members_sort_as_jansson_sorts_them)
{
    rng_seed(7);
    for (long i = 0; i < 3000; i++) {
        json_t *o = json_object();
        uint32_t n = below(120);
        for (uint32_t k = 0; k < n; k++) {
            char key[4 * 6 + 1];
            size_t len;
            random_key(key, &len);
            json_object_setn_new(o, key, len, json_integer((json_int_t)k));
        }
        assert_same_text(o, "object", i);
        json_decref(o);
    }
}

Test(canonical, every_code_point_and_control_character_is_escaped_as_jansson_does)
{
    char text[8];
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        if (cp >= 0xD800 && cp <= 0xDFFF) {
            continue;
        }
        size_t n = put_utf8(text, cp);
        json_t *s = json_stringn(text, n);
        cr_assert_not_null(s, "U+%04X", cp);
        assert_same_text(s, "code point", cp);
        json_decref(s);
    }
}

Test(canonical, reals_at_every_power_of_ten_and_two_are_written_as_jansson_writes_them)
{
    for (int e = -330; e <= 310; e++) {
        double values[] = {pow(10, e), -pow(10, e), 1.5 * pow(10, e), 7.000001 * pow(10, e)};
        for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
            json_t *r = json_real(values[i]);
            if (r) {
                assert_same_text(r, "power of ten", e);
                json_decref(r);
            }
        }
    }
    for (int e = -1074; e <= 1023; e++) {
        json_t *r = json_real(ldexp(1, e));
        assert_same_text(r, "power of two", e);
        json_decref(r);
    }
}

Test(canonical, bytes_that_are_not_utf8_fail_as_in_jansson_and_a_bad_key_is_cut_alike)
{
    static const char *const bad[] = {"\xff",
                                      "a\xc0\xaf",
                                      "\xc3",
                                      "\xe2\x82",
                                      "\xed\xa0\x80",
                                      "\xf4\x90\x80\x80",
                                      "\xf8\x88\x80\x80\x80",
                                      "a\\b\n\xe0\x80\xaf c",
                                      "\x80",
                                      "x\ty\xc1\x81"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *s = json_stringn_nocheck(bad[i], strlen(bad[i]));
        assert_same_text(s, "string", (long)i);
        json_t *in_array = json_pack("[s, o]", "before", s);
        assert_same_text(in_array, "array", (long)i);
        json_decref(in_array);
        /* json_dumps ignores an object key's error: it keeps what it had
         * written of it (up to the last escape) and goes on. */
        json_t *o = json_pack("{s:i, s:i}", "a", 1, "z", 2);
        json_object_setn_new_nocheck(o, bad[i], strlen(bad[i]), json_true());
        assert_same_text(o, "object key", (long)i);
        json_decref(o);
    }
}

Test(canonical, deep_nesting_and_circular_references_end_as_in_jansson)
{
    json_t *deep = json_string("bottom");
    for (int i = 0; i < 300; i++) {
        deep = i % 2 ? json_pack("[i, o]", i, deep) : json_pack("{s:o, s:i}", "k", deep, "n", i);
        cr_assert_not_null(deep);
    }
    assert_same_text(deep, "deep", 300);
    json_decref(deep);

    json_t *a = json_array(), *b = json_array();
    json_array_append(a, b);
    json_array_append(b, a);
    json_t *top = json_pack("{s:O}", "loop", a);
    assert_same_text(top, "cycle", 0);
    char *text = sdat_audit_canonical(top);
    cr_assert_null(text);
    json_array_clear(b);
    json_decref(top);
    json_decref(a);
    json_decref(b);
}

/* ---- records: the construction before this writer, as the reference ---- */

static void reference_hash(const char *prev, const char *canonical, char hex[65])
{
    size_t plen = strlen(prev), clen = strlen(canonical);
    char *joined = malloc(plen + 1 + clen);
    cr_assert_not_null(joined);
    memcpy(joined, prev, plen);
    joined[plen] = '\n';
    memcpy(joined + plen + 1, canonical, clen);
    unsigned char md[32];
    cr_assert_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, joined, plen + 1 + clen, md), 0);
    for (int i = 0; i < 32; i++) {
        snprintf(hex + 2 * i, 3, "%02x", md[i]);
    }
    free(joined);
}

/* sdat_audit_record_build as it was: the record as a jansson object,
 * json_dumps, the hash of prev "\n" that text, the hash set, json_dumps
 * again. Takes ownership of subject and detail. */
static int reference_build(const struct sdat_audit_link *link, const char *type, const char *actor,
                           json_t *subject, json_t *detail, const char *mac_key, size_t mac_key_len,
                           char **ret_text, char ret_hash[65])
{
    char hash[65], ts[32], mac[65];
    char *canonical = NULL;
    int r = -ENOMEM;
    sdat_time_format_ms(link->ts_ms, ts, sizeof ts);
    json_t *record = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "seq",
                               (json_int_t)link->seq, "ts", ts, "instance", link->instance, "type",
                               type, "actor", actor, "subject", subject ? subject : json_object(),
                               "detail", detail ? detail : json_object(), "prev", link->prev);
    if (!record) {
        return -ENOMEM;
    }
    if (mac_key) {
        r = sdat_audit_checkpoint_mac(mac_key, mac_key_len, link->seq, link->prev, mac);
        if (r < 0) {
            goto out;
        }
        r = -ENOMEM;
        json_object_set_new(record, "mac", json_string(mac));
    }
    canonical = json_dumps(record, FLAGS);
    if (!canonical) {
        goto out;
    }
    reference_hash(link->prev, canonical, hash);
    json_object_set_new(record, "hash", json_string(hash));
    *ret_text = json_dumps(record, FLAGS);
    if (*ret_text) {
        memcpy(ret_hash, hash, 65);
        r = 0;
    }
out:
    free(canonical);
    json_decref(record);
    return r;
}

static const char *random_record_string(char *out)
{
    static const char *const usual[] = {
        "notification.created", "register.changed", "sdat", "op:alice", "record.viewed", "sdat-1"};
    size_t len;
    if (below(2)) {
        return usual[below(sizeof usual / sizeof usual[0])];
    }
    random_text(out, 12, &len);
    return out;
}

static json_t *random_member(void)
{
    uint32_t kind = below(10);
    if (kind == 0) {
        return NULL; /* an empty object */
    }
    if (kind == 1) {
        return random_value(1); /* not an object: any value */
    }
    json_t *o = json_object();
    uint32_t n = below(9);
    for (uint32_t i = 0; i < n; i++) {
        char key[4 * 6 + 1];
        size_t len;
        random_key(key, &len);
        json_object_setn_new(o, key, len, random_value(2));
    }
    return o;
}

Test(canonical, records_are_built_byte_for_byte_as_before_and_verify)
{
    rng_seed(42);
    static const char key[] = "a checkpoint key of the test, 32b";
    long verified_count = 0;
    for (long i = 0; i < RECORDS; i++) {
        char type_buf[64], actor_buf[64], instance_buf[64];
        struct sdat_audit_link link = {
            .seq = below(4) ? (int64_t)below(10000000) + 1 : (int64_t)(rng() >> 1),
            .ts_ms = (int64_t)(rng() % 4102444800000ULL),
            .instance = random_record_string(instance_buf),
        };
        if (below(8) == 0) {
            memcpy(link.prev, ZEROS, 65);
        } else {
            for (int k = 0; k < 64; k++) {
                link.prev[k] = "0123456789abcdef"[below(16)];
            }
            link.prev[64] = '\0';
        }
        const char *type = random_record_string(type_buf);
        const char *actor = random_record_string(actor_buf);
        json_t *subject = random_member(), *detail = random_member();
        bool keyed = below(4) == 0;
        const char *mac_key = keyed ? key : NULL;
        char *want = NULL, *got = NULL, want_hash[65], got_hash[65];

        int rw = reference_build(&link, type, actor, json_incref(subject), json_incref(detail),
                                 mac_key, keyed ? sizeof key - 1 : 0, &want, want_hash);
        int rg = sdat_audit_record_build(&link, type, actor, subject, detail, mac_key,
                                         keyed ? sizeof key - 1 : 0, &got, got_hash);
        cr_assert_eq(rw, 0, "record %ld: the reference failed", i);
        cr_assert_eq(rg, 0, "record %ld: %d", i, rg);
        if (strcmp(want, got) != 0) {
            char a[4096], b[4096];
            cr_assert_fail("record %ld (seed %" PRIu64 "):\nbefore %s\nnow    %s", i, seed,
                           shown(want, a, sizeof a), shown(got, b, sizeof b));
        }
        cr_assert_str_eq(got_hash, want_hash, "record %ld", i);
        /* The verifier reads a record with json_loads, which refuses a NUL
         * (\u0000) in a key or, without JSON_ALLOW_NUL, a string: those
         * records it never could verify. */
        json_t *parsed = i % 5 == 0 ? json_loads(got, 0, NULL) : NULL;
        if (parsed) {
            json_decref(parsed);
            verified_count++;
            char verified[65], reason[200];
            cr_assert_eq(
                sdat_audit_verify_record(got, link.seq, link.prev, verified, reason, sizeof reason),
                0, "record %ld: %s", i, reason);
            cr_assert_str_eq(verified, got_hash);
        }
        free(want);
        free(got);
    }
    cr_assert_gt(verified_count, RECORDS / 5 / 4, "%ld records verified", verified_count);
}

Test(canonical, a_record_with_a_string_that_is_not_utf8_is_refused_as_before)
{
    struct sdat_audit_link link = {.seq = 3, .ts_ms = 1764547200000, .instance = "sdat-1"};
    memcpy(link.prev, ZEROS, 65);
    char *text = NULL, hash[65];
    cr_assert_eq(sdat_audit_record_build(&link, "t\xff", "sdat", NULL, NULL, NULL, 0, &text, hash),
                 -EINVAL);
    cr_assert_null(text);
    json_t *detail = json_pack("{s:o}", "x", json_stringn_nocheck("\xc3", 1));
    cr_assert_eq(
        reference_build(&link, "t", "sdat", NULL, json_incref(detail), NULL, 0, &text, hash),
        -ENOMEM);
    cr_assert_eq(sdat_audit_record_build(&link, "t", "sdat", NULL, detail, NULL, 0, &text, hash),
                 -EINVAL);
    cr_assert_null(text);
    cr_assert_eq(sdat_audit_record_build(&link, "t", NULL, NULL, NULL, NULL, 0, &text, hash),
                 -EINVAL);
}

Test(canonical, the_streamed_digest_is_the_digest_of_the_pieces_together)
{
    rng_seed(99);
    char data[3000];
    for (size_t i = 0; i < sizeof data; i++) {
        data[i] = (char)rng();
    }
    for (int round = 0; round < 500; round++) {
        size_t len = below(sizeof data + 1);
        char whole[65], pieces[65];
        sdat_sha256_hex(data, len, whole);
        sdat_sha256_t *sha;
        cr_assert_eq(sdat_sha256_begin(&sha), 0);
        for (size_t at = 0; at < len;) {
            size_t n = below((uint32_t)(len - at) + 1);
            sdat_sha256_update(sha, data + at, n);
            at += n;
        }
        sdat_sha256_end_hex(sha, pieces);
        cr_assert_str_eq(pieces, whole, "%zu bytes", len);
    }
    char empty[65];
    sdat_sha256_hex("", 0, empty);
    cr_assert_str_eq(empty, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
