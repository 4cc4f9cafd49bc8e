/* The audit chain's pure half: a record's canonical form, hash and
 * checkpoint MAC, and the verifier. The appender (engine/audit.c) writes
 * the records this builds. */
#include "audit_chain.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "canonical.h"
#include "util/util.h"

#define ZERO_HASH "0000000000000000000000000000000000000000000000000000000000000000"

char *sdat_audit_canonical(const json_t *value)
{
    struct sdat_canonical_buf buf = {0};
    if (sdat_canonical_value(&buf, value) < 0) {
        free(buf.data);
        return NULL;
    }
    return buf.data;
}

void sdat_audit_hash(const char *prev, const char *canonical, char ret_hash[65])
{
    sdat_sha256_t *sha;
    if (sdat_sha256_begin(&sha) < 0) {
        abort(); /* cannot hash: nothing safe to return */
    }
    sdat_sha256_update(sha, prev, strlen(prev));
    sdat_sha256_update(sha, "\n", 1);
    sdat_sha256_update(sha, canonical, strlen(canonical));
    sdat_sha256_end_hex(sha, ret_hash);
}

int sdat_audit_checkpoint_mac(const char *key, size_t key_len, int64_t seq, const char *prev,
                              char ret_mac[65])
{
    char message[96];
    int n = snprintf(message, sizeof message, "%" PRId64 ":%s", seq, prev);
    if (n < 0 || (size_t)n >= sizeof message) {
        return -EINVAL;
    }
    return sdat_hmac_sha256_hex(key, key_len, message, (size_t)n, ret_mac);
}

/* The record's members in the order JSON_SORT_KEYS puts them: actor,
 * detail, hash, instance, mac, prev, seq, subject, ts, type. The hash is
 * taken over the text without its member, and that text is the full one
 * less the `"hash":"…",` between detail and instance: the text is written
 * once with a placeholder there, hashed around it, and the hash written
 * in. */
#define HASH_MEMBER "\"hash\":\"" ZERO_HASH "\","
#define HASH_AT (sizeof "\"hash\":\"" - 1)
/* Room for a typical record at once (the biggest are about 700 bytes). */
#define RECORD_RESERVE 1024

#define PUT(call)                                                                                  \
    do {                                                                                           \
        if ((r = (call)) < 0) {                                                                    \
            goto out;                                                                              \
        }                                                                                          \
    } while (0)
#define PUT_LITERAL(s) PUT(sdat_canonical_raw(&buf, s, sizeof s - 1))
#define PUT_STRING(s) PUT(sdat_canonical_string(&buf, s, strlen(s)))

int sdat_audit_record_build(const struct sdat_audit_link *link, const char *type, const char *actor,
                            json_t *subject, json_t *detail, const char *mac_key,
                            size_t mac_key_len, char **ret_text, char ret_hash[65])
{
    struct sdat_canonical_buf buf = {0};
    sdat_sha256_t *sha = NULL;
    char hash[65], ts[32], mac[65];
    size_t hash_start, hash_end;
    int r = -EINVAL;

    if (!type || !actor || !link->instance) {
        goto out;
    }
    sdat_time_format_ms(link->ts_ms, ts, sizeof ts);
    if (mac_key) {
        PUT(sdat_audit_checkpoint_mac(mac_key, mac_key_len, link->seq, link->prev, mac));
    }
    PUT(sdat_canonical_reserve(&buf, RECORD_RESERVE));
    PUT_LITERAL("{\"actor\":");
    PUT_STRING(actor);
    PUT_LITERAL(",\"detail\":");
    PUT(detail ? sdat_canonical_value(&buf, detail) : sdat_canonical_raw(&buf, "{}", 2));
    PUT_LITERAL(",");
    hash_start = buf.len;
    PUT_LITERAL(HASH_MEMBER);
    hash_end = buf.len;
    PUT_LITERAL("\"instance\":");
    PUT_STRING(link->instance);
    if (mac_key) {
        PUT_LITERAL(",\"mac\":");
        PUT_STRING(mac);
    }
    PUT_LITERAL(",\"prev\":");
    PUT_STRING(link->prev);
    PUT_LITERAL(",\"seq\":");
    PUT(sdat_canonical_integer(&buf, link->seq));
    PUT_LITERAL(",\"subject\":");
    PUT(subject ? sdat_canonical_value(&buf, subject) : sdat_canonical_raw(&buf, "{}", 2));
    PUT_LITERAL(",\"ts\":");
    PUT_STRING(ts);
    PUT_LITERAL(",\"type\":");
    PUT_STRING(type);
    PUT_LITERAL("}");

    PUT(sdat_sha256_begin(&sha));
    sdat_sha256_update(sha, link->prev, strlen(link->prev));
    sdat_sha256_update(sha, "\n", 1);
    sdat_sha256_update(sha, buf.data, hash_start);
    sdat_sha256_update(sha, buf.data + hash_end, buf.len - hash_end);
    sdat_sha256_end_hex(sha, hash);
    sha = NULL;
    memcpy(buf.data + hash_start + HASH_AT, hash, 64);

    *ret_text = buf.data;
    buf.data = NULL;
    memcpy(ret_hash, hash, 65);
    r = 0;
out:
    sdat_sha256_free(sha);
    free(buf.data);
    json_decref(subject);
    json_decref(detail);
    return r;
}

/* The chain checks of one parsed record (hash removed from it): 0 and its
 * hash, or -EBADMSG with a reason. */
static int check_link(json_t *record, int64_t expected_seq, const char *expected_prev,
                      char ret_hash[65], char *reason, size_t reasonlen)
{
    char stored[65], hash[65];
    json_t *seq = json_object_get(record, "seq");
    const char *prev = json_string_value(json_object_get(record, "prev"));
    const char *stored_text = json_string_value(json_object_get(record, "hash"));

    if (!json_is_integer(seq)) {
        snprintf(reason, reasonlen, "the record has no integer seq");
        return -EBADMSG;
    }
    json_int_t found = json_integer_value(seq);
    if (found != expected_seq) {
        snprintf(reason, reasonlen,
                 "found seq %" JSON_INTEGER_FORMAT " where seq %" PRId64 " belongs (%s)", found,
                 expected_seq,
                 found > expected_seq ? "a record is missing or out of order"
                                      : "a record is out of order or repeated");
        return -EBADMSG;
    }
    if (!prev || strcmp(prev, expected_prev) != 0) {
        snprintf(reason, reasonlen, "prev does not match the previous record's hash");
        return -EBADMSG;
    }
    if (!stored_text || strlen(stored_text) != 64) {
        snprintf(reason, reasonlen, "hash is missing");
        return -EBADMSG;
    }
    memcpy(stored, stored_text, 65);
    json_object_del(record, "hash");
    char *canonical = sdat_audit_canonical(record);
    if (!canonical) {
        return -ENOMEM;
    }
    sdat_audit_hash(prev, canonical, hash);
    free(canonical);
    if (strcmp(hash, stored) != 0) {
        snprintf(reason, reasonlen, "hash does not match the record's contents");
        return -EBADMSG;
    }
    memcpy(ret_hash, hash, 65);
    return 0;
}

int sdat_audit_verify_record(const char *text, int64_t expected_seq, const char *expected_prev,
                             char ret_hash[65], char *reason, size_t reasonlen)
{
    json_error_t jerr;
    json_t *record = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    int r = -EBADMSG;
    if (!json_is_object(record)) {
        snprintf(reason, reasonlen, "not a JSON object");
    } else {
        r = check_link(record, expected_seq, expected_prev, ret_hash, reason, reasonlen);
    }
    json_decref(record);
    return r;
}

struct sdat_audit_verifier {
    int every_configured; /* 0: unknown */
    char *key;
    size_t key_len;
    int64_t count;
    char head[65];
    int64_t every; /* declared by the last checkpoint; 0 before the first */
    int64_t last_checkpoint;
    bool last_has_mac, mac_seen;
    int64_t broken_seq; /* 0 while the chain holds */
    char reason[256];
};

int sdat_audit_verifier_new(int checkpoint_every, const char *key, size_t key_len,
                            sdat_audit_verifier_t **ret_verifier)
{
    sdat_audit_verifier_t *v = calloc(1, sizeof *v);
    if (!v) {
        return -ENOMEM;
    }
    int r = sdat_secret_dup(key, key_len, &v->key);
    if (r < 0) {
        free(v);
        return r;
    }
    v->key_len = v->key ? key_len : 0;
    v->every_configured = checkpoint_every > 0 ? checkpoint_every : 0;
    memcpy(v->head, ZERO_HASH, 65);
    *ret_verifier = v;
    return 0;
}

void sdat_audit_verifier_free(sdat_audit_verifier_t *v)
{
    if (!v) {
        return;
    }
    sdat_secret_wipe(&v->key, &v->key_len);
    free(v);
}

static int broken(sdat_audit_verifier_t *v, int64_t seq, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int broken(sdat_audit_verifier_t *v, int64_t seq, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->reason, sizeof v->reason, fmt, ap);
    va_end(ap);
    v->broken_seq = seq;
    return -EBADMSG;
}

/* The checkpoint rules for the record at seq, which passed the chain
 * checks. */
static int check_checkpoint_rules(sdat_audit_verifier_t *v, json_t *record, int64_t seq)
{
    const char *type = json_string_value(json_object_get(record, "type"));
    if (!type || strcmp(type, SDAT_AUDIT_CHECKPOINT_TYPE) != 0) {
        if (v->every > 0 && seq % v->every == 0) {
            return broken(v, seq, "a checkpoint is due here (every %" PRId64 " records)", v->every);
        }
        return 0;
    }
    json_t *every_json = json_object_get(json_object_get(record, "detail"), "every");
    if (!json_is_integer(every_json) || json_integer_value(every_json) < 2 ||
        json_integer_value(every_json) > INT_MAX) {
        return broken(v, seq, "checkpoint without a valid detail.every");
    }
    int64_t every = json_integer_value(every_json);
    json_t *mac_json = json_object_get(record, "mac");
    bool has_mac = mac_json != NULL;
    /* A declaring checkpoint may stand anywhere: it changes what the last
     * one declared (or is the first). Any other falls on a multiple. */
    bool declares = v->every == 0 || every != v->every || has_mac != v->last_has_mac;
    if (!declares && seq % every != 0) {
        return broken(v, seq,
                      "a checkpoint out of place (checkpoints fall on multiples of %" PRId64 ")",
                      every);
    }
    if (has_mac && v->key) {
        const char *mac = json_string_value(mac_json);
        char want[65];
        if (sdat_audit_checkpoint_mac(v->key, v->key_len, seq,
                                      json_string_value(json_object_get(record, "prev")),
                                      want) < 0) {
            return -ENOMEM;
        }
        if (!mac || strlen(mac) != 64 || !sdat_digest_equal(mac, want, 64)) {
            return broken(v, seq,
                          "the checkpoint's mac does not verify with "
                          "audit.checkpoint_key_file");
        }
    } else if (!has_mac && v->key && v->mac_seen) {
        return broken(v, seq, "the checkpoint has no mac, though earlier checkpoints have one");
    }
    v->every = every;
    v->last_checkpoint = seq;
    v->last_has_mac = has_mac;
    v->mac_seen = v->mac_seen || has_mac;
    return 0;
}

int sdat_audit_verifier_feed(sdat_audit_verifier_t *v, const char *text, int64_t row_seq,
                             const char *row_hash)
{
    if (v->broken_seq > 0) {
        return -EBADMSG;
    }
    int64_t expected = v->count + 1;
    if (row_seq > 0 && row_seq != expected) {
        return broken(v, expected,
                      "record %" PRId64 " is missing (the next stored record is %" PRId64 ")",
                      expected, row_seq);
    }
    json_error_t jerr;
    json_t *record = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    char hash[65], reason[200];
    int r;
    if (!json_is_object(record)) {
        r = broken(v, expected, "not a JSON object");
        goto out;
    }
    r = check_link(record, expected, v->head, hash, reason, sizeof reason);
    if (r == -EBADMSG) {
        r = broken(v, expected, "%s", reason);
    }
    if (r < 0) {
        goto out;
    }
    if (row_hash && strcmp(row_hash, hash) != 0) {
        r = broken(v, expected, "the stored hash column differs from the record's hash");
        goto out;
    }
    r = check_checkpoint_rules(v, record, expected);
    if (r < 0) {
        goto out;
    }
    memcpy(v->head, hash, 65);
    v->count = expected;
out:
    json_decref(record);
    return r;
}

int sdat_audit_verifier_finish(sdat_audit_verifier_t *v, const char *head)
{
    if (v->broken_seq > 0) {
        return -EBADMSG;
    }
    if (v->every_configured > 0) {
        if (v->every == 0 && v->count >= v->every_configured) {
            return broken(v, 1,
                          "no checkpoint in %" PRId64 " records (a chain starts with one; "
                          "audit.checkpoint_every is %d)",
                          v->count, v->every_configured);
        }
        if (v->every > 0 && v->every != v->every_configured) {
            return broken(v, v->last_checkpoint,
                          "the last checkpoint declares every %" PRId64
                          " records, audit.checkpoint_every is %d",
                          v->every, v->every_configured);
        }
    }
    if (v->key && v->every > 0 && !v->last_has_mac) {
        return broken(v, v->last_checkpoint,
                      "the last checkpoint has no mac, though "
                      "audit.checkpoint_key_file is set");
    }
    if (head && strcmp(head, v->head) != 0) {
        return broken(v, v->count + 1,
                      "the last record (seq %" PRId64 ") is not the given head: records were "
                      "cut from the end, or the head belongs to another point of the chain",
                      v->count);
    }
    return 0;
}

int64_t sdat_audit_verifier_count(const sdat_audit_verifier_t *v)
{
    return v->count;
}

const char *sdat_audit_verifier_head(const sdat_audit_verifier_t *v)
{
    return v->head;
}

int64_t sdat_audit_verifier_broken_seq(const sdat_audit_verifier_t *v)
{
    return v->broken_seq;
}

const char *sdat_audit_verifier_reason(const sdat_audit_verifier_t *v)
{
    return v->reason;
}
