/* Audit hashing: canonical JSON and the chain hash. The expected digest was
 * computed with Python (json.dumps(sort_keys=True, separators=(',', ':'),
 * ensure_ascii=False) and hashlib), independently of jansson. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

Test(audit, canonical_json_sorts_keys_and_keeps_slash_and_utf8)
{
    json_t *v = json_pack("{s:i, s:s}", "b", 1, "a", "x/\xc3\xa9");
    char *text = sdat_audit_canonical(v);
    cr_assert_str_eq(text, "{\"a\":\"x/\xc3\xa9\",\"b\":1}");
    char hash[65];
    sdat_audit_hash("0000000000000000000000000000000000000000000000000000000000000000", text,
                    hash);
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
    free(bad);
    free(full);
    free(canonical);
    json_decref(rec);
}
