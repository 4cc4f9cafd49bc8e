#include "digest.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

static void to_hex(const unsigned char *md, size_t n, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        hex[2 * i] = digits[md[i] >> 4];
        hex[2 * i + 1] = digits[md[i] & 15];
    }
    hex[2 * n] = '\0';
}

void sdat_sha256_hex(const void *data, size_t len, char hex[SDAT_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    /* EVP_Digest cannot fail for SHA-256 on valid memory short of OOM in
     * the provider; a failure leaves a zero digest that never verifies. */
    if (EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) != 1) {
        memset(md, 0, sizeof md);
    }
    to_hex(md, 32, hex);
}

int sdat_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                         char hex[SDAT_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, md, &md_len)) {
        hex[0] = '\0';
        return -EIO;
    }
    to_hex(md, 32, hex);
    return 0;
}

bool sdat_digest_equal(const void *a, const void *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}
