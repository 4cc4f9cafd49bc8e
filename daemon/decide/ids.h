/* Deterministic ids (delivery.md): a replay of the same event never mints a
 * second notification or review item. */
#ifndef SDAT_IDS_H
#define SDAT_IDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SDAT_ID_LEN 34 /* "n_" + 32 hex */

/* n_ + the first 32 lowercase hex digits of SHA-256 over KIND, SOURCE,
 * VERSION (decimal), CHILD, RECIPIENT, DISC joined by NUL bytes. NULL counts
 * as the empty string. ret_id must hold SDAT_ID_LEN + 1 bytes. */
void sdat_id_notification(const char *kind, const char *source, int64_t version,
                          const char *child, const char *recipient, const char *disc,
                          char *ret_id);
/* r_ + 32 hex, derived the same way with kind "review". */
void sdat_id_review(const char *source, int64_t version, const char *child, char *ret_id);

/* Whether the LEN bytes at KEY are a register id as council.child/1 and
 * council.cpis-flag/1 give them (child_id, flag_id: ^[A-Za-z0-9/_-]{1,64}$),
 * the key a register message, a tombstone too, must carry. */
bool sdat_id_register_key_valid(const void *key, size_t len);

#endif
