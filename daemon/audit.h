/* The tamper-evident audit chain (interfaces.md "Audit record").
 *
 * A record is {seq, ts, instance, type, actor, subject, detail, prev, hash}:
 * hash = SHA-256 hex of prev, "\n", and the record's canonical JSON without
 * hash. Records are appended inside the caller's store transaction, so a
 * record exists exactly when the change it describes does. Records hold ids,
 * decisions and reasons, never personal data. */
#ifndef SDAT_AUDIT_H
#define SDAT_AUDIT_H

#include <stdint.h>

#include <jansson.h>

#include "store.h"

typedef struct sdat_audit sdat_audit_t;

/* instance is copied. */
int sdat_audit_new(const char *instance, sdat_audit_t **ret_audit);
void sdat_audit_free(sdat_audit_t *audit);

/* Appends one record in the store's open transaction. Takes ownership of
 * subject and detail (either may be NULL: an empty object). */
int sdat_audit_append(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms, const char *type,
                      const char *actor, json_t *subject, json_t *detail);

/* Canonical JSON (sorted keys, no white space, jansson's escaping): the bytes
 * that are hashed. Caller frees. */
char *sdat_audit_canonical(const json_t *value);
/* hash of a record given its prev and canonical text without hash. */
void sdat_audit_hash(const char *prev, const char *canonical, char ret_hash[65]);

/* Checks one stored record text against the expected seq and prev: 0 and the
 * record's hash in ret_hash, or -EBADMSG with a reason. */
int sdat_audit_verify_record(const char *record, int64_t expected_seq, const char *expected_prev,
                             char ret_hash[65], char *reason, size_t reasonlen);

#endif
