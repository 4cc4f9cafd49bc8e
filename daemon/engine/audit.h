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
 * The record itself, its hash and the verifier of these rules:
 * decide/audit_chain.h. */
#ifndef SDAT_AUDIT_H
#define SDAT_AUDIT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "decide/decide.h"
#include "store/store.h"

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

/* Verification as `sdatctl audit verify` does it (audit_verify.c). A
 * verifier for cfg (audit.checkpoint_every and the key read from
 * audit.checkpoint_key_file, wiped after copying), or for the chain alone
 * when cfg is NULL: 0, or with err saying why -EACCES (the key file cannot
 * be read), -EINVAL (it is empty) or -ENOMEM. */
int sdat_audit_verifier_for(const struct sdat_config *cfg, sdat_audit_verifier_t **ret_verifier,
                            char *err, size_t errlen);
/* Feeds every audit row of st (one statement: one snapshot) to v and
 * finishes it with head (may be NULL). 0 when the chain verifies, 1 when it
 * is broken (sdat_audit_verifier_broken_seq and _reason say where), or a
 * negative errno when the rows cannot be read. */
int sdat_audit_verify_store(sdat_store_t *st, sdat_audit_verifier_t *v, const char *head);

#endif
