/* The tamper-evident audit chain (interfaces.md "Audit record").
 *
 * A record is {seq, ts, instance, type, actor, subject, detail, prev, hash}:
 * hash = SHA-256 hex of prev, "\n", and the record's canonical JSON without
 * hash. Records are appended inside the caller's store transaction, so a
 * record exists exactly when the change it describes does. Records hold ids,
 * decisions and reasons, never personal data.
 *
 * Checkpoints (once sdat_audit_configure set an interval E =
 * audit.checkpoint_every, E >= 2):
 *
 * - A checkpoint is a record of type "checkpoint", actor "sdat", subject {},
 *   detail {"every": E} (the interval it declares) and, when a key is set,
 *   a top-level "mac": lowercase hex HMAC-SHA256 keyed with the key over
 *   "SEQ:PREV" (its own seq in decimal, a colon, its prev). mac is part of
 *   the hashed record like any other field.
 * - Every record whose seq is a multiple of E is a checkpoint, and no other
 *   record is, except a "declaring" checkpoint: when the chain's last
 *   checkpoint declares another interval than E, or has a mac where no key
 *   is set or none where one is, or there is no checkpoint yet, the next
 *   append first writes a checkpoint declaring E (with a mac when keyed),
 *   wherever the chain stands. So a new chain starts with a checkpoint at
 *   seq 1, and a changed interval or a new key takes effect at once.
 * - The appender writes the checkpoint due at seq S right after the record
 *   at S - 1, in the same call and transaction.
 *
 * sdat_audit_verifier checks these rules (and the hashes, the sequence and
 * the prev links) record by record; see its comment. */
#ifndef SDAT_AUDIT_H
#define SDAT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config.h"
#include "store.h"

typedef struct sdat_audit sdat_audit_t;

/* instance is copied. Without sdat_audit_configure no checkpoints are
 * written (unit tests and tools that do not care). */
int sdat_audit_new(const char *instance, sdat_audit_t **ret_audit);
void sdat_audit_free(sdat_audit_t *audit); /* wipes the key */

/* Sets the checkpoint interval (>= 2, else -EINVAL) and the checkpoint key:
 * the bytes of audit.checkpoint_key_file less one trailing newline (copied;
 * the previous key is wiped), or NULL for checkpoints without a mac. Safe
 * to call again (a reload); a changed interval or key is declared by a
 * checkpoint at the next append. 0, -EINVAL or -ENOMEM. */
int sdat_audit_configure(sdat_audit_t *audit, int checkpoint_every, const char *key,
                         size_t key_len);
/* The same from a configuration: audit.checkpoint_every, and the key read
 * from audit.checkpoint_key_file when set (sdat_secret_read; wiped after
 * copying). 0, or a negative errno with err naming the key. */
int sdat_audit_configure_from(sdat_audit_t *audit, const struct sdat_config *cfg, char *err,
                              size_t errlen);

/* Appends one record in the store's open transaction (and the checkpoints
 * due before and after it). Takes ownership of subject and detail (either
 * may be NULL: an empty object). */
int sdat_audit_append(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms, const char *type,
                      const char *actor, json_t *subject, json_t *detail);

/* Canonical JSON (sorted keys, no white space, jansson's escaping): the bytes
 * that are hashed. Caller frees. */
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
