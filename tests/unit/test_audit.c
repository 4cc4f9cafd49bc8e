/* Audit hashing: canonical JSON and the chain hash. The expected digest was
 * computed with Python (json.dumps(sort_keys=True, separators=(',', ':'),
 * ensure_ascii=False) and hashlib), independently of jansson. */
#include <criterion/criterion.h>
#include <errno.h>
#include <gnutls/crypto.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fixture.h"

Test(audit, canonical_json_sorts_keys_and_keeps_slash_and_utf8)
{
    json_t *v = json_pack("{s:i, s:s}", "b", 1, "a", "x/\xc3\xa9");
    char *text = sdat_audit_canonical(v);
    cr_assert_str_eq(text, "{\"a\":\"x/\xc3\xa9\",\"b\":1}");
    char hash[65];
    sdat_audit_hash("0000000000000000000000000000000000000000000000000000000000000000", text, hash);
    cr_assert_str_eq(hash, "ef4387019ff016a355a0236ed7791ec066471f93f3bcaa8109fc2539fe2fd2d8");
    free(text);
    json_decref(v);
}

Test(audit, canonical_json_escapes_control_characters_in_upper_case_hex)
{
    json_t *v = json_pack("{s:s}", "k", "a\nb\x01\"\\");
    char *text = sdat_audit_canonical(v);
    cr_assert_str_eq(text, "{\"k\":\"a\\nb\\u0001\\\"\\\\\"}");
    free(text);
    json_decref(v);
}

/* ---- the canonical JSON against an encoder written here from
 * interfaces.md alone: object keys sorted by their UTF-8 bytes; no white
 * space; strings escape only '"', '\' and U+0000-U+001F (\b \f \n \r \t
 * short, the rest \u00XX with upper-case hex); '/', DEL and non-ASCII as
 * they are; integers only. ---- */

struct buf {
    char b[8192];
    size_t n;
};

static void put(struct buf *o, const char *s, size_t n)
{
    cr_assert_lt(o->n + n, sizeof o->b);
    memcpy(o->b + o->n, s, n);
    o->n += n;
    o->b[o->n] = '\0';
}

static void put_string(struct buf *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    put(o, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *shortform = c == '"'    ? "\\\""
                                : c == '\\' ? "\\\\"
                                : c == 0x08 ? "\\b"
                                : c == 0x0c ? "\\f"
                                : c == 0x0a ? "\\n"
                                : c == 0x0d ? "\\r"
                                : c == 0x09 ? "\\t"
                                            : NULL;
        if (shortform) {
            put(o, shortform, 2);
        } else if (c < 0x20) {
            char esc[7] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15], '\0'};
            put(o, esc, 6);
        } else {
            put(o, (const char *)&c, 1); /* '/', DEL and UTF-8 bytes as they are */
        }
    }
    put(o, "\"", 1);
}

static int by_bytes(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: UTF-8 byte order. */
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void encode(struct buf *o, const json_t *v)
{
    char num[32];
    switch (json_typeof(v)) {
    case JSON_OBJECT: {
        const char *keys[64];
        size_t n = 0;
        const char *k;
        json_t *member;
        json_object_foreach((json_t *)v, k, member)
        {
            cr_assert_lt(n, 64);
            keys[n++] = k;
        }
        qsort(keys, n, sizeof keys[0], by_bytes);
        put(o, "{", 1);
        for (size_t i = 0; i < n; i++) {
            if (i > 0) {
                put(o, ",", 1);
            }
            put_string(o, keys[i], strlen(keys[i]));
            put(o, ":", 1);
            encode(o, json_object_get(v, keys[i]));
        }
        put(o, "}", 1);
        break;
    }
    case JSON_ARRAY:
        put(o, "[", 1);
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i > 0) {
                put(o, ",", 1);
            }
            encode(o, json_array_get(v, i));
        }
        put(o, "]", 1);
        break;
    case JSON_STRING:
        put_string(o, json_string_value(v), json_string_length(v));
        break;
    case JSON_INTEGER:
        snprintf(num, sizeof num, "%lld", (long long)json_integer_value(v));
        put(o, num, strlen(num));
        break;
    case JSON_TRUE:
        put(o, "true", 4);
        break;
    case JSON_FALSE:
        put(o, "false", 5);
        break;
    case JSON_NULL:
        put(o, "null", 4);
        break;
    case JSON_REAL:
        cr_assert_fail("an audit record holds no non-integer number");
        break;
    }
}

Test(audit, canonical_json_equals_an_independent_encoder_of_the_written_rules)
{
    /* Every control character, NUL, DEL, the two escaped characters, '/',
     * and non-ASCII of two, three and four bytes (é € 𝄞) and U+2028. */
    char controls[40];
    size_t n = 0;
    for (int c = 1; c < 0x20; c++) {
        controls[n++] = (char)c;
    }
    controls[n++] = '\0';
    controls[n++] = 'x';
    controls[n++] = 0x7f;
    static const char mixed[] = "\"quoted\" back\\slash a/b \xc3\xa9 \xe2\x82\xac "
                                "\xf0\x9d\x84\x9e \xe2\x80\xa8 end\x7f";
    json_t *v = json_object();
    json_object_set_new(v, "controls", json_stringn(controls, n));
    json_object_set_new(v, "mixed", json_string(mixed));
    json_object_set_new(v, "nul", json_stringn("a\0b", 3));
    /* Keys sorted by bytes: upper case before lower, ASCII before é, €, 𝄞;
     * keys with escapes and non-ASCII themselves. */
    json_object_set_new(v, "\xf0\x9d\x84\x9e", json_string("clef"));
    json_object_set_new(v, "\xe2\x82\xac", json_string("euro"));
    json_object_set_new(v, "\xc3\xa9t\xc3\xa9", json_string("\xc3\xa9"));
    json_object_set_new(v, "Zed", json_integer(-42));
    json_object_set_new(v, "a\tb/\"c\"", json_string("tab\tin key"));
    json_object_set_new(v, "seq", json_integer(9007199254740993LL));
    json_object_set_new(v, "subject",
                        json_pack("{s:s, s:[s, i, b, n, {s:s}]}", "z", "\x1f\x0b\x0c",
                                  "a", "\xe2\x80\xa8", 0, 1, "\xe2\x80\xa9", "/\\"));
    struct buf want = {.n = 0};
    encode(&want, v);
    char *got = sdat_audit_canonical(v);
    cr_assert_not_null(got);
    cr_assert_eq(strlen(got), want.n, "got %s\nwant %s", got, want.b);
    cr_assert_eq(memcmp(got, want.b, want.n), 0, "got %s\nwant %s", got, want.b);
    /* Spot checks that the encoder above says what the rules say. */
    cr_assert_not_null(strstr(want.b, "\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n"
                                      "\\u000B\\f\\r\\u000E"));
    cr_assert_not_null(strstr(want.b, "\\u001F\\u0000x\x7f\""));
    cr_assert_not_null(strstr(want.b, "a/b \xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e \xe2\x80\xa8"));
    cr_assert_eq(strncmp(want.b, "{\"Zed\":-42,\"a\\tb/\\\"c\\\"\":", 24), 0, "%s", want.b);
    free(got);
    json_decref(v);
}

Test(audit, tampered_record_does_not_verify)
{
    const char *prev = "0000000000000000000000000000000000000000000000000000000000000000";
    json_t *rec = json_pack("{s:i, s:s, s:s}", "seq", 1, "type", "checkpoint", "prev", prev);
    char *canonical = sdat_audit_canonical(rec);
    char hash[65], got[65], reason[128];
    sdat_audit_hash(prev, canonical, hash);
    json_object_set_new(rec, "hash", json_string(hash));
    char *full = sdat_audit_canonical(rec);
    cr_assert_eq(sdat_audit_verify_record(full, 1, prev, got, reason, sizeof reason), 0, "%s",
                 reason);
    cr_assert_str_eq(got, hash);
    char *bad = strdup(full);
    *strstr(bad, "checkpoint") = 'C';
    cr_assert_lt(sdat_audit_verify_record(bad, 1, prev, got, reason, sizeof reason), 0);
    cr_assert(strstr(reason, "hash") != NULL);
    cr_assert_lt(sdat_audit_verify_record(full, 2, prev, got, reason, sizeof reason), 0);
    /* Whole and rightly hashed, but not after the record it should follow
     * (one put in from another chain, or re-hashed after an edit). */
    cr_assert_lt(sdat_audit_verify_record(full, 1, hash, got, reason, sizeof reason), 0);
    cr_assert(strstr(reason, "prev") != NULL, "%s", reason);
    free(bad);
    free(full);
    free(canonical);
    json_decref(rec);
}

/* ---- Checkpoints, the chain verifier and retention, on a real store ---- */

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"
#define KEY "audit key\x01\xff"
#define KEY_LEN (sizeof KEY - 1)

static char dir[64];
static sdat_store_t *st;
static sdat_audit_t *audit;

static void chain_setup(void)
{
    fixture_dir_make(dir, sizeof dir, "audit");
    st = fixture_store_open(dir);
    cr_assert_eq(sdat_audit_new("test1", &audit), 0);
}

static void chain_teardown(void)
{
    fixture_close(NULL, st, NULL, audit);
    fixture_dir_remove(dir);
}

/* n records (type test.event) in one transaction. */
static void append_n(int n, int64_t at_ms)
{
    cr_assert_eq(sdat_store_begin(st), 0);
    for (int i = 0; i < n; i++) {
        cr_assert_eq(sdat_audit_append(audit, st, at_ms + i, "test.event", "tester",
                                       json_pack("{s:s}", "incident", "f/1"),
                                       json_pack("{s:i}", "i", i)),
                     0);
    }
    cr_assert_eq(sdat_store_commit(st), 0);
}

/* The chain as stored: texts[i] is seq i + 1. */
struct texts {
    char *v[256];
    size_t n;
};

static int collect(int64_t seq, const char *record, const char *hash, void *opaque)
{
    struct texts *t = opaque;
    cr_assert_eq(seq, (int64_t)t->n + 1);
    cr_assert_lt(t->n, 256);
    (void)hash;
    t->v[t->n++] = strdup(record);
    return 0;
}

static struct texts stored_chain(void)
{
    struct texts t = {.n = 0};
    cr_assert_eq(sdat_store_audit_rows(st, collect, &t), 0);
    return t;
}

static void texts_free(struct texts *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i]);
    }
}

static json_t *record_at(const struct texts *t, int64_t seq)
{
    json_t *r = json_loads(t->v[seq - 1], 0, NULL);
    cr_assert_not_null(r);
    return r;
}

static bool is_checkpoint(const struct texts *t, int64_t seq)
{
    json_t *r = record_at(t, seq);
    bool yes = strcmp(json_string_value(json_object_get(r, "type")), "checkpoint") == 0;
    json_decref(r);
    return yes;
}

/* Runs the verifier over the texts (with row seqs when rows is set):
 * 0 when the chain verifies, else the first broken seq. */
static int64_t verify_texts(const struct texts *t, int every, const char *key, size_t key_len,
                            const char *head, bool rows)
{
    sdat_audit_verifier_t *v = NULL;
    cr_assert_eq(sdat_audit_verifier_new(every, key, key_len, &v), 0);
    int r = 0;
    for (size_t i = 0; i < t->n && r == 0; i++) {
        r = sdat_audit_verifier_feed(v, t->v[i], rows ? (int64_t)i + 1 : 0, NULL);
    }
    if (r == 0) {
        r = sdat_audit_verifier_finish(v, head);
    }
    int64_t broken = r == 0 ? 0 : sdat_audit_verifier_broken_seq(v);
    if (r == 0) {
        cr_assert_eq(sdat_audit_verifier_count(v), (int64_t)t->n);
    } else {
        cr_assert_eq(r, -EBADMSG);
        cr_log_info("broken at %lld: %s", (long long)broken, sdat_audit_verifier_reason(v));
    }
    sdat_audit_verifier_free(v);
    return broken;
}

/* SHA-256 and HMAC-SHA256 with GnuTLS, apart from digest.c's OpenSSL. */
static void hex(const unsigned char *md, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        sprintf(out + 2 * i, "%02x", md[i]);
    }
}

static void independent_hmac(const char *key, size_t key_len, const char *msg, char out[65])
{
    unsigned char md[32];
    cr_assert_eq(gnutls_hmac_fast(GNUTLS_MAC_SHA256, key, key_len, msg, strlen(msg), md), 0);
    hex(md, 32, out);
}

/* The stored text less its ,"hash":"…" member is the canonical text that
 * was hashed (keys sorted: hash sits between detail and instance). */
static void independent_hash_check(const char *text)
{
    json_t *r = json_loads(text, 0, NULL);
    const char *hash = json_string_value(json_object_get(r, "hash"));
    const char *prev = json_string_value(json_object_get(r, "prev"));
    char member[80], *rest = strdup(text), got[65];
    snprintf(member, sizeof member, ",\"hash\":\"%s\"", hash);
    char *at = strstr(rest, member);
    cr_assert_not_null(at);
    memmove(at, at + strlen(member), strlen(at + strlen(member)) + 1);
    size_t len = strlen(prev) + 1 + strlen(rest);
    char *buf = malloc(len + 1);
    sprintf(buf, "%s\n%s", prev, rest);
    unsigned char md[32];
    cr_assert_eq(gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, len, md), 0);
    hex(md, 32, got);
    cr_assert_str_eq(got, hash);
    free(buf);
    free(rest);
    json_decref(r);
}

/* An attacker without the key: sets field of the record at seq (a JSON
 * value, or NULL to delete it) and rewrites every hash and prev from there,
 * so that the chain itself is consistent again. */
static void rewrite(struct texts *t, int64_t seq, const char *field, json_t *value)
{
    json_t *r = record_at(t, seq);
    if (value) {
        json_object_set_new(r, field, value);
    } else {
        json_object_del(r, field);
    }
    free(t->v[seq - 1]);
    t->v[seq - 1] = json_dumps(r, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(r);
    char prev[65];
    memcpy(prev, ZEROS, 65);
    if (seq > 1) {
        json_t *before = record_at(t, seq - 1);
        memcpy(prev, json_string_value(json_object_get(before, "hash")), 65);
        json_decref(before);
    }
    for (size_t i = (size_t)seq - 1; i < t->n; i++) {
        json_t *rec = json_loads(t->v[i], 0, NULL);
        json_object_set_new(rec, "prev", json_string(prev));
        json_object_del(rec, "hash");
        char *canonical = sdat_audit_canonical(rec);
        sdat_audit_hash(prev, canonical, prev);
        json_object_set_new(rec, "hash", json_string(prev));
        free(canonical);
        free(t->v[i]);
        t->v[i] = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(rec);
    }
}

TestSuite(audit_chain, .init = chain_setup, .fini = chain_teardown);

Test(audit_chain, a_chain_starts_with_a_checkpoint_and_has_one_at_every_multiple_of_the_interval)
{
    cr_assert_eq(sdat_audit_configure(audit, 5, NULL, 0), 0);
    append_n(9, 1000);
    struct texts t = stored_chain();
    /* 1 declaring; records 2-4; 5; records 6-9; 10; record 11 … */
    cr_assert_eq(t.n, 12);
    for (int64_t seq = 1; seq <= 12; seq++) {
        bool want = seq == 1 || seq % 5 == 0;
        cr_assert_eq(is_checkpoint(&t, seq), want, "seq %lld", (long long)seq);
        json_t *r = record_at(&t, seq);
        if (want) {
            cr_assert_null(json_object_get(r, "mac"), "no key: no mac");
            cr_assert_eq(json_integer_value(json_object_get(json_object_get(r, "detail"), "every")),
                         5);
            cr_assert_str_eq(json_string_value(json_object_get(r, "actor")), "sdat");
        }
        independent_hash_check(t.v[seq - 1]);
        json_decref(r);
    }
    cr_assert_eq(verify_texts(&t, 5, NULL, 0, NULL, true), 0);
    cr_assert_eq(verify_texts(&t, 0, NULL, 0, NULL, false), 0, "an export without a config");
    /* The head is the last record's hash. */
    json_t *last = record_at(&t, 12);
    cr_assert_eq(
        verify_texts(&t, 5, NULL, 0, json_string_value(json_object_get(last, "hash")), true), 0);
    cr_assert_eq(verify_texts(&t, 5, NULL, 0, ZEROS, true), 13, "a wrong head");
    json_decref(last);
    texts_free(&t);
}

Test(audit_chain, keyed_checkpoints_carry_the_hmac_of_seq_and_prev)
{
    cr_assert_eq(sdat_audit_configure(audit, 4, KEY, KEY_LEN), 0);
    append_n(10, 1000);
    struct texts t = stored_chain();
    int checkpoints = 0;
    for (int64_t seq = 1; seq <= (int64_t)t.n; seq++) {
        independent_hash_check(t.v[seq - 1]);
        if (!is_checkpoint(&t, seq)) {
            continue;
        }
        checkpoints++;
        json_t *r = record_at(&t, seq);
        char msg[96], want[65];
        snprintf(msg, sizeof msg, "%lld:%s", (long long)seq,
                 json_string_value(json_object_get(r, "prev")));
        independent_hmac(KEY, KEY_LEN, msg, want);
        cr_assert_str_eq(json_string_value(json_object_get(r, "mac")), want, "seq %lld",
                         (long long)seq);
        json_decref(r);
    }
    cr_assert_eq(checkpoints, 4, "seq 1, 4, 8, 12");
    cr_assert_eq(verify_texts(&t, 4, KEY, KEY_LEN, NULL, true), 0);
    /* Without the key the macs are not checked, with another they fail at
     * the first checkpoint. */
    cr_assert_eq(verify_texts(&t, 4, NULL, 0, NULL, true), 0);
    cr_assert_eq(verify_texts(&t, 4, "other key", 9, NULL, true), 1);
    texts_free(&t);
}

Test(audit_chain, the_verifier_names_the_first_record_that_does_not_verify)
{
    cr_assert_eq(sdat_audit_configure(audit, 5, KEY, KEY_LEN), 0);
    append_n(14, 1000); /* seq 1 … 18 */
    struct texts t = stored_chain();
    cr_assert_eq(t.n, 18);

    /* A changed field. */
    char *saved = t.v[6];
    t.v[6] = strdup(saved);
    *strstr(t.v[6], "tester") = 'T';
    cr_assert_eq(verify_texts(&t, 5, KEY, KEY_LEN, NULL, true), 7);
    free(t.v[6]);
    t.v[6] = saved;

    /* A deleted record: the missing seq (as rows, and as an export). */
    struct texts cut = t;
    memmove(&cut.v[8], &cut.v[9], (cut.n - 9) * sizeof cut.v[0]);
    cut.n--;
    sdat_audit_verifier_t *v = NULL;
    cr_assert_eq(sdat_audit_verifier_new(5, KEY, KEY_LEN, &v), 0);
    int r = 0;
    for (size_t i = 0; i < cut.n && r == 0; i++) {
        /* Row seqs keep their gap: 1 … 8, 10 … */
        r = sdat_audit_verifier_feed(v, cut.v[i], i < 8 ? (int64_t)i + 1 : (int64_t)i + 2, NULL);
    }
    cr_assert_eq(r, -EBADMSG);
    cr_assert_eq(sdat_audit_verifier_broken_seq(v), 9);
    cr_assert(strstr(sdat_audit_verifier_reason(v), "missing") != NULL);
    sdat_audit_verifier_free(v);
    cr_assert_eq(verify_texts(&cut, 5, KEY, KEY_LEN, NULL, false), 9);

    /* Two records swapped: the first position that holds a wrong one. */
    struct texts swapped = t;
    char *tmp = swapped.v[11];
    swapped.v[11] = swapped.v[13];
    swapped.v[13] = tmp;
    cr_assert_eq(verify_texts(&swapped, 5, KEY, KEY_LEN, NULL, true), 12);

    /* A record cut from the end: caught by --head only. */
    json_t *last = record_at(&t, 18);
    struct texts shorter = t;
    shorter.n--;
    cr_assert_eq(verify_texts(&shorter, 5, KEY, KEY_LEN, NULL, true), 0);
    cr_assert_eq(verify_texts(&shorter, 5, KEY, KEY_LEN,
                              json_string_value(json_object_get(last, "hash")), true),
                 18);
    json_decref(last);
    texts_free(&t);
}

Test(audit_chain, a_rewritten_chain_is_caught_at_the_next_keyed_checkpoint)
{
    cr_assert_eq(sdat_audit_configure(audit, 5, KEY, KEY_LEN), 0);
    append_n(14, 1000);
    struct texts t = stored_chain();

    /* Change record 7 and fix every hash after it: the chain holds, the
     * mac of checkpoint 10 (over the new prev) does not. Without the key
     * nothing can tell. */
    struct texts a = stored_chain();
    rewrite(&a, 7, "actor", json_string("someone else"));
    cr_assert_eq(verify_texts(&a, 5, KEY, KEY_LEN, NULL, true), 10);
    cr_assert_eq(verify_texts(&a, 5, NULL, 0, NULL, true), 0);
    texts_free(&a);

    /* Drop checkpoint 10 (made an ordinary record): one is due there. */
    struct texts b = stored_chain();
    rewrite(&b, 10, "type", json_string("test.event"));
    cr_assert_eq(verify_texts(&b, 5, KEY, KEY_LEN, NULL, true), 10);
    cr_assert_eq(verify_texts(&b, 5, NULL, 0, NULL, true), 10, "placement needs no key");
    texts_free(&b);

    /* An ordinary record made a checkpoint that declares nothing new. */
    struct texts c = stored_chain();
    rewrite(&c, 16, "type", json_string("checkpoint"));
    rewrite(&c, 16, "detail", json_pack("{s:i}", "every", 5));
    rewrite(&c, 16, "mac", json_string(ZEROS));
    cr_assert_eq(verify_texts(&c, 5, NULL, 0, NULL, true), 16, "out of place");
    texts_free(&c);

    /* The mac taken off the last checkpoint (and the tail rewritten). */
    struct texts d = stored_chain();
    rewrite(&d, 15, "mac", NULL);
    cr_assert_eq(verify_texts(&d, 5, KEY, KEY_LEN, NULL, true), 15);
    texts_free(&d);

    /* The last checkpoint made to declare a longer interval, so that the
     * records after it need none: the configured interval says otherwise. */
    struct texts e = stored_chain();
    rewrite(&e, 15, "detail", json_pack("{s:i}", "every", 1000));
    cr_assert_eq(verify_texts(&e, 5, KEY, KEY_LEN, NULL, true), 15);
    texts_free(&e);
    texts_free(&t);
}

Test(audit_chain, a_changed_interval_or_new_key_is_declared_at_once)
{
    cr_assert_eq(sdat_audit_configure(audit, 5, NULL, 0), 0);
    append_n(6, 1000); /* 1 cp, 2-4, 5 cp, 6-8 */
    cr_assert_eq(sdat_audit_configure(audit, 3, KEY, KEY_LEN), 0);
    append_n(4, 2000); /* 9 declaring cp, 10, 11, 12 cp, 13, 14, 15 cp */
    struct texts t = stored_chain();
    cr_assert_eq(t.n, 15);
    for (int64_t seq = 1; seq <= 15; seq++) {
        bool want = seq == 1 || seq == 5 || seq == 9 || seq == 12 || seq == 15;
        cr_assert_eq(is_checkpoint(&t, seq), want, "seq %lld", (long long)seq);
    }
    json_t *r = record_at(&t, 9);
    cr_assert_not_null(json_object_get(r, "mac"));
    json_decref(r);
    cr_assert_eq(verify_texts(&t, 3, KEY, KEY_LEN, NULL, true), 0);
    /* Verified against the old interval, the end does not match. */
    cr_assert_eq(verify_texts(&t, 5, KEY, KEY_LEN, NULL, true), 15);
    /* The same configuration again declares nothing new. */
    cr_assert_eq(sdat_audit_configure(audit, 3, KEY, KEY_LEN), 0);
    append_n(1, 3000);
    texts_free(&t);
    t = stored_chain();
    cr_assert_eq(t.n, 16);
    cr_assert_not(is_checkpoint(&t, 16));
    cr_assert_eq(verify_texts(&t, 3, KEY, KEY_LEN, NULL, true), 0);
    texts_free(&t);
}

Test(audit_chain, a_rolled_back_declaring_checkpoint_is_written_again)
{
    cr_assert_eq(sdat_audit_configure(audit, 5, KEY, KEY_LEN), 0);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1000, "test.event", "tester", NULL, NULL), 0);
    sdat_store_rollback(st);
    append_n(2, 2000);
    struct texts t = stored_chain();
    cr_assert_eq(t.n, 3);
    cr_assert(is_checkpoint(&t, 1));
    cr_assert_eq(verify_texts(&t, 5, KEY, KEY_LEN, NULL, true), 0);
    texts_free(&t);
}

Test(audit_chain, configure_refuses_an_interval_below_two_and_an_empty_key)
{
    cr_assert_eq(sdat_audit_configure(audit, 1, NULL, 0), -EINVAL);
    cr_assert_eq(sdat_audit_configure(audit, 5, "", 0), -EINVAL);
    cr_assert_eq(sdat_audit_configure(audit, 5, NULL, 0), 0);
}

Test(audit_chain, a_configured_verifier_wants_a_checkpoint_in_a_long_chain)
{
    append_n(6, 1000); /* an unconfigured writer: no checkpoints */
    struct texts t = stored_chain();
    cr_assert_eq(verify_texts(&t, 0, NULL, 0, NULL, true), 0);
    cr_assert_eq(verify_texts(&t, 10, NULL, 0, NULL, true), 0, "shorter than the interval");
    cr_assert_eq(verify_texts(&t, 5, NULL, 0, NULL, true), 1);
    texts_free(&t);
}

/* ---- Retention ---- */

static void insert_notification(const char *id, const char *state, int64_t at_ms)
{
    struct sdat_notification n = {
        .kind = "da-incident",
        .recipient = "school:1",
        .source_key = "f/1",
        .source_version = 1,
        .state = "scheduled",
        .created_ms = at_ms,
        .scheduled_ms = at_ms,
        .next_attempt_ms = at_ms,
        .payload = "{\"child\":\"x\"}",
        .payload_sha256 = "sha-of-payload",
    };
    snprintf(n.id, sizeof n.id, "%s", id);
    cr_assert_eq(sdat_store_notification_insert(st, &n), 0);
    cr_assert_eq(sdat_store_notification_set_state(st, id, state), 0);
}

struct payload_seen {
    bool has_payload;
    char sha[80];
};

static int seen_payload(const struct sdat_notification *n, void *opaque)
{
    struct payload_seen *p = opaque;
    p->has_payload = n->payload != NULL;
    snprintf(p->sha, sizeof p->sha, "%s", n->payload_sha256);
    return 0;
}

static bool has_payload(const char *id)
{
    struct payload_seen p = {0};
    cr_assert_eq(sdat_store_notification_get(st, id, seen_payload, &p), 0);
    cr_assert_str_eq(p.sha, "sha-of-payload", "the hash stays");
    return p.has_payload;
}

static int64_t count_sql(const char *sql)
{
    char path[128];
    sqlite3 *db;
    sqlite3_stmt *stmt;
    snprintf(path, sizeof path, "%s/sdat.db", dir);
    cr_assert_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL), SQLITE_OK, "%s", sql);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    int64_t n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return n;
}

Test(audit_chain, retention_removes_old_payloads_dead_letters_and_accesses_and_keeps_the_chain)
{
    const int64_t day = 86400000;
    const int64_t now = 1800000000000;
    struct sdat_config cfg = {.instance_id = "test1"};
    cfg.retention.payload_days = 400;
    cfg.retention.dead_letter_days = 30;
    cfg.retention.access_days = 300; /* each limit its own (not payload_days) */
    cr_assert_eq(sdat_audit_configure(audit, 5, KEY, KEY_LEN), 0);

    cr_assert_eq(sdat_store_begin(st), 0);
    insert_notification("n_old_delivered", "delivered", now - 401 * day);
    insert_notification("n_old_failed", "failed", now - 500 * day);
    insert_notification("n_old_scheduled", "scheduled", now - 401 * day);
    insert_notification("n_old_delivering", "delivering", now - 401 * day);
    insert_notification("n_recent_delivered", "delivered", now - 399 * day);
    cr_assert_eq(sdat_audit_append(audit, st, now - 401 * day, "notification.created", "sdatd",
                                   json_pack("{s:s}", "notification_id", "n_old_delivered"),
                                   json_pack("{s:s}", "payload_sha256", "sha-of-payload")),
                 0);
    struct sdat_dead_letter old_dl = {.at_ms = now - 31 * day,
                                      .stage = "parse",
                                      .error = "not JSON",
                                      .topic = "t",
                                      .key = "k",
                                      .key_len = 1,
                                      .value = "secret bytes",
                                      .value_len = 12,
                                      .original_size = -1};
    struct sdat_dead_letter new_dl = old_dl;
    new_dl.at_ms = now - 29 * day;
    int64_t old_id = 0;
    cr_assert_eq(sdat_store_dead_letter_insert(st, &old_dl, &old_id), 0);
    cr_assert_eq(sdat_store_dead_letter_mark_sent(st, old_id), 0);
    /* As old, but the DLQ topic never acknowledged it: its bytes stay. */
    cr_assert_eq(sdat_store_dead_letter_insert(st, &old_dl, NULL), 0);
    cr_assert_eq(sdat_store_dead_letter_insert(st, &new_dl, NULL), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    /* Accesses straight into the table (their writer is the CP-IS module). */
    char path[128], *errmsg = NULL;
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/sdat.db", dir);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    char sql[512];
    snprintf(sql, sizeof sql,
             "INSERT INTO accesses(nhs_number, ods_code, setting, arrived_ms, attendance,"
             " recorded_ms) VALUES ('9990000018', 'RTG', 'ED', %lld, 'RTG/A1', %lld),"
             " ('9990000018', 'RTG', 'ED', %lld, 'RTG/A2', %lld)",
             (long long)(now - 301 * day), (long long)(now - 301 * day),
             (long long)(now - 10 * day), (long long)(now - 10 * day));
    cr_assert_eq(sqlite3_exec(db, sql, NULL, NULL, &errmsg), SQLITE_OK, "%s", errmsg);
    sqlite3_close(db);

    struct sdat_retention_counts counts = {-1, -1, -1};
    cr_assert_eq(sdat_retention_run(st, audit, &cfg, now, &counts), 0);
    cr_assert_eq(counts.payloads, 2);
    cr_assert_eq(counts.dead_letters, 1);
    cr_assert_eq(counts.accesses, 1);

    cr_assert_not(has_payload("n_old_delivered"));
    cr_assert_not(has_payload("n_old_failed"));
    cr_assert(has_payload("n_old_scheduled"), "still to be delivered");
    cr_assert(has_payload("n_old_delivering"));
    cr_assert(has_payload("n_recent_delivered"));
    cr_assert_eq(count_sql("SELECT count(*) FROM dead_letters WHERE value IS NULL AND key IS NULL"),
                 1);
    cr_assert_eq(count_sql("SELECT count(*) FROM dead_letters WHERE value IS NOT NULL"), 2);
    cr_assert_eq(count_sql("SELECT count(*) FROM dead_letters WHERE value IS NULL AND sent = 1"),
                 1);
    cr_assert_eq(count_sql("SELECT count(*) FROM accesses"), 1);
    cr_assert_eq(count_sql("SELECT count(*) FROM accesses WHERE attendance = 'RTG/A2'"), 1);

    /* One retention.pruned record with the counts and cutoffs; the chain,
     * notification.created with the payload's hash included, verifies. */
    struct texts t = stored_chain();
    json_t *pruned = record_at(&t, (int64_t)t.n);
    cr_assert_str_eq(json_string_value(json_object_get(pruned, "type")), "retention.pruned");
    json_t *detail = json_object_get(pruned, "detail");
    cr_assert_eq(json_integer_value(json_object_get(detail, "payloads")), 2);
    cr_assert_eq(json_integer_value(json_object_get(detail, "dead_letters")), 1);
    cr_assert_eq(json_integer_value(json_object_get(detail, "accesses")), 1);
    char cutoff[32];
    sdat_time_format_ms(now - 400 * day, cutoff, sizeof cutoff);
    cr_assert_str_eq(json_string_value(json_object_get(detail, "payloads_before")), cutoff);
    sdat_time_format_ms(now - 30 * day, cutoff, sizeof cutoff);
    cr_assert_str_eq(json_string_value(json_object_get(detail, "dead_letters_before")), cutoff);
    sdat_time_format_ms(now - 300 * day, cutoff, sizeof cutoff);
    cr_assert_str_eq(json_string_value(json_object_get(detail, "accesses_before")), cutoff);
    json_decref(pruned);
    cr_assert_eq(verify_texts(&t, 5, KEY, KEY_LEN, NULL, true), 0);
    texts_free(&t);

    /* Run again: nothing more to remove, still one record saying so. */
    cr_assert_eq(sdat_retention_run(st, audit, &cfg, now, &counts), 0);
    cr_assert_eq(counts.payloads + counts.dead_letters + counts.accesses, 0);
    cr_assert_eq(count_sql("SELECT count(*) FROM audit WHERE type = 'retention.pruned'"), 2);
}

Test(audit_chain, retention_refuses_to_run_inside_an_open_transaction)
{
    struct sdat_config cfg = {.instance_id = "test1"};
    cfg.retention.payload_days = cfg.retention.dead_letter_days = cfg.retention.access_days = 1;
    struct sdat_retention_counts counts;
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_lt(sdat_retention_run(st, audit, &cfg, 1800000000000, &counts), 0);
    sdat_store_rollback(st);
}
