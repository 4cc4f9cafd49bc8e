#include "ack.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "util/util.h"

void sdat_ack_key_clear(struct sdat_ack_key *key)
{
    if (key->bytes) {
        OPENSSL_cleanse(key->bytes, key->len);
        free(key->bytes);
    }
    *key = (struct sdat_ack_key){NULL, 0};
}

int sdat_ack_token(const struct sdat_ack_key *key, const char *id,
                   char ret_token[SDAT_ACK_TOKEN_LEN + 1])
{
    if (!key->bytes || key->len == 0) {
        return -EINVAL;
    }
    return sdat_hmac_sha256_hex(key->bytes, key->len, id, strlen(id), ret_token);
}

bool sdat_ack_token_valid(const struct sdat_ack_key *key, const char *id, const char *token)
{
    char want[SDAT_ACK_TOKEN_LEN + 1];
    if (!token || strlen(token) != SDAT_ACK_TOKEN_LEN || sdat_ack_token(key, id, want) < 0) {
        return false;
    }
    bool valid = sdat_digest_equal(want, token, SDAT_ACK_TOKEN_LEN);
    OPENSSL_cleanse(want, sizeof want);
    return valid;
}

int sdat_ack_url(const char *base, const struct sdat_ack_key *key, const char *id, char *ret_url,
                 size_t len)
{
    char token[SDAT_ACK_TOKEN_LEN + 1];
    int r = sdat_ack_token(key, id, token);
    if (r < 0) {
        return r;
    }
    size_t blen = strlen(base);
    if (blen > 0 && base[blen - 1] == '/') {
        blen--;
    }
    int n = snprintf(ret_url, len, "%.*s/ack/%s?t=%s", (int)blen, base, id, token);
    return n < 0 || (size_t)n >= len ? -ENOSPC : 0;
}
