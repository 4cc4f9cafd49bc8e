#include "digest.h"
#include <errno.h>
#include <pthread.h>
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

/* SHA-256 fetched from the default provider once: EVP_sha256() makes
 * OpenSSL 3 look the implementation up again at every digest, about half
 * the time of hashing an audit record. Kept for the life of the process. */
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;
static EVP_MD *sha256_fetched;

static void sha256_fetch(void)
{
    sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

static const EVP_MD *sha256_md(void)
{
    pthread_once(&sha256_once, sha256_fetch);
    return sha256_fetched ? sha256_fetched : EVP_sha256();
}

void sdat_sha256_hex(const void *data, size_t len, char hex[SDAT_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    /* EVP_Digest cannot fail for SHA-256 on valid memory short of OOM in
     * the provider; a failure leaves a zero digest that never verifies. */
    if (EVP_Digest(data, len, md, &md_len, sha256_md(), NULL) != 1) {
        memset(md, 0, sizeof md);
    }
    to_hex(md, 32, hex);
}

struct sdat_sha256 {
    EVP_MD_CTX *ctx;
    bool failed; /* then the digest is zeros, as in sdat_sha256_hex */
};

int sdat_sha256_begin(sdat_sha256_t **ret_sha)
{
    sdat_sha256_t *sha = malloc(sizeof *sha);
    if (!sha) {
        return -ENOMEM;
    }
    sha->ctx = EVP_MD_CTX_new();
    if (!sha->ctx) {
        free(sha);
        return -ENOMEM;
    }
    sha->failed = EVP_DigestInit_ex(sha->ctx, sha256_md(), NULL) != 1;
    *ret_sha = sha;
    return 0;
}

void sdat_sha256_update(sdat_sha256_t *sha, const void *data, size_t len)
{
    if (!sha->failed && EVP_DigestUpdate(sha->ctx, data, len) != 1) {
        sha->failed = true;
    }
}

void sdat_sha256_end_hex(sdat_sha256_t *sha, char hex[SDAT_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    if (sha->failed || EVP_DigestFinal_ex(sha->ctx, md, &md_len) != 1) {
        memset(md, 0, sizeof md);
    }
    to_hex(md, 32, hex);
    sdat_sha256_free(sha);
}

void sdat_sha256_free(sdat_sha256_t *sha)
{
    if (!sha) {
        return;
    }
    EVP_MD_CTX_free(sha->ctx);
    free(sha);
}

int sdat_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                         char hex[SDAT_SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int md_len = sizeof md;
    if (!HMAC(sha256_md(), key, (int)key_len, data, len, md, &md_len)) {
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
