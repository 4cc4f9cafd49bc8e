/* The audit chain's pure half (interfaces.md "Audit record"; the rules
 * of records and checkpoints are written in engine/audit.h, whose appender
 * writes what sdat_audit_record_build makes): a record's canonical JSON,
 * its hash, a checkpoint's mac, and the verifier. No I/O. */
#ifndef SDAT_AUDIT_CHAIN_H
#define SDAT_AUDIT_CHAIN_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A checkpoint record's type and actor (engine/audit.h says when one is
 * written). */
#define SDAT_AUDIT_CHECKPOINT_TYPE "checkpoint"
#define SDAT_AUDIT_CHECKPOINT_ACTOR "sdat"

/* Where a new record goes: its seq, the previous record's hash, its time
 * and the instance that writes it. */
struct sdat_audit_link {
    int64_t seq;
    char prev[65];
    int64_t ts_ms;
    const char *instance;
};

/* The record at link: {seq, ts, instance, type, actor, subject, detail,
 * prev[, mac], hash}, with a checkpoint's mac when mac_key is not NULL.
 * Takes ownership of subject and detail (either may be NULL: an empty
 * object). 0 with *ret_text (its canonical text with hash, the same bytes
 * as sdat_audit_canonical of the record as a jansson object; caller frees)
 * and ret_hash; -EINVAL (a NULL string, or one that is not UTF-8), -ENOMEM
 * or -EIO. */
int sdat_audit_record_build(const struct sdat_audit_link *link, const char *type, const char *actor,
                            json_t *subject, json_t *detail, const char *mac_key,
                            size_t mac_key_len, char **ret_text, char ret_hash[65]);

/* Canonical JSON (sorted keys, no white space, jansson's escaping; byte for
 * byte json_dumps with JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY, see
 * canonical.h): the bytes that are hashed. Caller frees; NULL where
 * json_dumps fails too, or out of memory. */
char *sdat_audit_canonical(const json_t *value);
/* hash of a record given its prev and canonical text without hash. */
void sdat_audit_hash(const char *prev, const char *canonical, char ret_hash[65]);
/* A checkpoint's mac: HMAC-SHA256 hex over "SEQ:PREV". 0 or -EIO. */
int sdat_audit_checkpoint_mac(const char *key, size_t key_len, int64_t seq, const char *prev,
                              char ret_mac[65]);

/* Checks one stored record text against the expected seq and prev: 0 and the
 * record's hash in ret_hash, or -EBADMSG with a reason. */
int sdat_audit_verify_record(const char *record, int64_t expected_seq, const char *expected_prev,
                             char ret_hash[65], char *reason, size_t reasonlen);

/* A whole chain, fed in order from seq 1 (the store's rows or an export's
 * lines). It checks each record's hash, the sequence (1, 2, 3 …), the prev
 * links, and the checkpoint rules above: a checkpoint where none belongs,
 * a record where one is due, and, with a key, each checkpoint's mac (a
 * checkpoint without a mac after one with a mac is a break). Before the
 * chain's first checkpoint (records written before checkpoints existed)
 * only the chain itself is checked. With checkpoint_every > 0 (a
 * configuration was given) the end is checked too: the last checkpoint
 * must declare that interval and, with a key, carry a mac, so that the
 * records after it cannot be rewritten unseen beyond what the interval
 * allows; a chain of E or more records needs a checkpoint. */
typedef struct sdat_audit_verifier sdat_audit_verifier_t;

/* checkpoint_every: the configured interval, or 0 when unknown (an export
 * checked without a configuration). key: as for sdat_audit_configure
 * (copied), or NULL: macs are then not checked. */
int sdat_audit_verifier_new(int checkpoint_every, const char *key, size_t key_len,
                            sdat_audit_verifier_t **ret_verifier);
void sdat_audit_verifier_free(sdat_audit_verifier_t *verifier); /* wipes the key */
/* The next record: its text, and for a stored record its row's seq and
 * hash column (else 0 and NULL). 0, or -EBADMSG once the chain is broken
 * (then every later call too), -ENOMEM. */
int sdat_audit_verifier_feed(sdat_audit_verifier_t *verifier, const char *text, int64_t row_seq,
                             const char *row_hash);
/* After the last record: the end checks, and when head is not NULL that
 * the last record's hash is head (nothing was cut from the end). 0 or
 * -EBADMSG. */
int sdat_audit_verifier_finish(sdat_audit_verifier_t *verifier, const char *head);
/* The records verified and the chain's head (64 zeros when empty). */
int64_t sdat_audit_verifier_count(const sdat_audit_verifier_t *verifier);
const char *sdat_audit_verifier_head(const sdat_audit_verifier_t *verifier);
/* After -EBADMSG: the first seq that does not verify (the seq expected
 * there) and why (borrowed; no personal data: ids and rules only). */
int64_t sdat_audit_verifier_broken_seq(const sdat_audit_verifier_t *verifier);
const char *sdat_audit_verifier_reason(const sdat_audit_verifier_t *verifier);

#endif
