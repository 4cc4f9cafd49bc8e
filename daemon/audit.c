#include "audit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "metrics.h"
#include "timeutil.h"

struct sdat_audit {
    char *instance;
};

int sdat_audit_new(const char *instance, sdat_audit_t **ret_audit)
{
    sdat_audit_t *audit = calloc(1, sizeof *audit);
    if (!audit || !(audit->instance = strdup(instance))) {
        free(audit);
        return -ENOMEM;
    }
    *ret_audit = audit;
    return 0;
}

void sdat_audit_free(sdat_audit_t *audit)
{
    if (!audit) {
        return;
    }
    free(audit->instance);
    free(audit);
}

char *sdat_audit_canonical(const json_t *value)
{
    return json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
}

void sdat_audit_hash(const char *prev, const char *canonical, char ret_hash[65])
{
    size_t plen = strlen(prev);
    size_t clen = strlen(canonical);
    char stackbuf[4096];
    char *buf = plen + 1 + clen <= sizeof stackbuf ? stackbuf : malloc(plen + 1 + clen);
    if (!buf) {
        abort(); /* cannot hash: nothing safe to return */
    }
    memcpy(buf, prev, plen);
    buf[plen] = '\n';
    memcpy(buf + plen + 1, canonical, clen);
    sdat_sha256_hex(buf, plen + 1 + clen, ret_hash);
    if (buf != stackbuf) {
        free(buf);
    }
}

int sdat_audit_append(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms, const char *type,
                      const char *actor, json_t *subject, json_t *detail)
{
    int64_t seq;
    char prev[65], hash[65], ts[32];
    char *canonical = NULL, *full = NULL;
    json_t *record = NULL;
    int r = -ENOMEM;

    sdat_store_audit_head(st, &seq, prev);
    seq++;
    sdat_time_format_ms(now_ms, ts, sizeof ts);
    record = json_pack("{s:I, s:s, s:s, s:s, s:s, s:o, s:o, s:s}", "seq", (json_int_t)seq, "ts",
                       ts, "instance", audit->instance, "type", type, "actor", actor, "subject",
                       subject ? subject : json_object(), "detail",
                       detail ? detail : json_object(), "prev", prev);
    subject = detail = NULL; /* json_pack's "o" took them, also on failure */
    if (!record) {
        goto out;
    }
    canonical = sdat_audit_canonical(record);
    if (!canonical) {
        goto out;
    }
    sdat_audit_hash(prev, canonical, hash);
    if (json_object_set_new(record, "hash", json_string(hash)) < 0) {
        goto out;
    }
    full = sdat_audit_canonical(record);
    if (!full) {
        goto out;
    }
    r = sdat_store_audit_insert(st, seq, type, full, hash);
    if (r == 0) {
        sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 1);
    }
out:
    free(canonical);
    free(full);
    json_decref(record);
    return r;
}

int sdat_audit_verify_record(const char *text, int64_t expected_seq, const char *expected_prev,
                             char ret_hash[65], char *reason, size_t reasonlen)
{
    json_error_t jerr;
    json_t *record = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    char *canonical = NULL;
    char hash[65];
    int r = -EBADMSG;

    if (!json_is_object(record)) {
        snprintf(reason, reasonlen, "not a JSON object");
        goto out;
    }
    json_t *seq = json_object_get(record, "seq");
    const char *prev = json_string_value(json_object_get(record, "prev"));
    const char *stored = json_string_value(json_object_get(record, "hash"));
    if (!json_is_integer(seq) || json_integer_value(seq) != expected_seq) {
        snprintf(reason, reasonlen, "sequence number is not %lld", (long long)expected_seq);
        goto out;
    }
    if (!prev || strcmp(prev, expected_prev) != 0) {
        snprintf(reason, reasonlen, "prev does not match the previous record's hash");
        goto out;
    }
    if (!stored || strlen(stored) != 64) {
        snprintf(reason, reasonlen, "hash is missing");
        goto out;
    }
    char stored_copy[65];
    memcpy(stored_copy, stored, 65);
    json_object_del(record, "hash");
    canonical = sdat_audit_canonical(record);
    if (!canonical) {
        r = -ENOMEM;
        goto out;
    }
    sdat_audit_hash(prev, canonical, hash);
    if (strcmp(hash, stored_copy) != 0) {
        snprintf(reason, reasonlen, "hash does not match the record's contents");
        goto out;
    }
    memcpy(ret_hash, hash, 65);
    r = 0;
out:
    free(canonical);
    json_decref(record);
    return r;
}
