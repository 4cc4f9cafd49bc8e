/* SHA-256 and HMAC-SHA256 as lowercase hex (OpenSSL libcrypto). */
#ifndef SDAT_DIGEST_H
#define SDAT_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#define SDAT_SHA256_HEX_LEN 64

/* hex must hold 65 bytes. */
void sdat_sha256_hex(const void *data, size_t len, char hex[SDAT_SHA256_HEX_LEN + 1]);
int sdat_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                         char hex[SDAT_SHA256_HEX_LEN + 1]);
/* Constant-time comparison of two equal-length buffers. */
bool sdat_digest_equal(const void *a, const void *b, size_t len);

#endif
