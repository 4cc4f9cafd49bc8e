/* SHA-256 and HMAC-SHA256 as lowercase hex (OpenSSL libcrypto). */
#ifndef SDAT_DIGEST_H
#define SDAT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define SDAT_SHA256_HEX_LEN 64

/* hex must hold 65 bytes. */
void sdat_sha256_hex(const void *data, size_t len, char hex[SDAT_SHA256_HEX_LEN + 1]);

/* SHA-256 over pieces fed in turn: the digest of their concatenation, as
 * sdat_sha256_hex would give it, without copying them together. */
typedef struct sdat_sha256 sdat_sha256_t;
/* 0 or -ENOMEM. */
int sdat_sha256_begin(sdat_sha256_t **ret_sha);
void sdat_sha256_update(sdat_sha256_t *sha, const void *data, size_t len);
/* Writes the digest and frees sha. */
void sdat_sha256_end_hex(sdat_sha256_t *sha, char hex[SDAT_SHA256_HEX_LEN + 1]);
/* Frees sha without a digest (accepts NULL). */
void sdat_sha256_free(sdat_sha256_t *sha);
int sdat_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                         char hex[SDAT_SHA256_HEX_LEN + 1]);
/* Constant-time comparison of two equal-length buffers. */
bool sdat_digest_equal(const void *a, const void *b, size_t len);

#endif
