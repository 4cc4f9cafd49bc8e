/* The acknowledgement link (interfaces.md "HTTP API", `GET /ack/ID?t=TOKEN`):
 * TOKEN is the lowercase hex HMAC-SHA256 of the notification id keyed with
 * the bytes of http.ack_key_file less one trailing newline. The link is a
 * capability: whoever holds a notification's link may acknowledge that one
 * notification, and nothing else. */
#ifndef SDAT_ACK_H
#define SDAT_ACK_H

#include <stdbool.h>
#include <stddef.h>

#define SDAT_ACK_TOKEN_LEN 64

struct sdat_ack_key {
    char *bytes; /* NULL when no key is configured */
    size_t len;
};

/* Wipes and frees the key; accepts an empty one. */
void sdat_ack_key_clear(struct sdat_ack_key *key);

/* The token for notification id: 0, or -EINVAL for an empty key, -EIO. */
int sdat_ack_token(const struct sdat_ack_key *key, const char *id,
                   char ret_token[SDAT_ACK_TOKEN_LEN + 1]);
/* Whether token is id's token, compared in constant time (its length is
 * not secret). False for an empty key or a NULL token. */
bool sdat_ack_token_valid(const struct sdat_ack_key *key, const char *id, const char *token);

/* The link a person opens: BASE/ack/ID?t=TOKEN (a trailing slash of base
 * is dropped). 0, or -ENOSPC when it does not fit in len, or the token's
 * error. */
int sdat_ack_url(const char *base, const struct sdat_ack_key *key, const char *id, char *ret_url,
                 size_t len);

#endif
