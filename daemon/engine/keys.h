/* What the engine reads from files for the pure decisions (decide/ does
 * no I/O): the acknowledgement key and the nickname list. */
#ifndef SDAT_KEYS_H
#define SDAT_KEYS_H

#include <stddef.h>

#include "decide/decide.h"

/* Reads the key from path (a secret file: sdat_secret_read). NULL or ""
 * gives an empty key and 0. A negative errno with err naming the file
 * otherwise; *ret is then empty. Release with sdat_ack_key_clear. */
int sdat_ack_key_read(const char *path, struct sdat_ack_key *ret, char *err, size_t errlen);
/* For payload builders: the key when public_url is set and ack_key_file
 * can be read, else an empty key (ack_url then names the API endpoint); a
 * key that cannot be read is logged as a warning. Clear it after use. */
void sdat_ack_key_for_links(const char *public_url, const char *path, struct sdat_ack_key *ret);
/* Reads PATH and parses it (sdat_nicknames_parse); err then starts with
 * the path: "PATH:LINE: message", or "PATH: strerror" with the negative
 * errno when the file cannot be read. */
int sdat_nicknames_load(const char *path, sdat_nicknames_t **ret_nicknames, char *err,
                        size_t errlen);
/* matching.nicknames_file when set (sdat_nicknames_load), else the
 * built-in list. */
int sdat_match_nicknames_load(const char *path, sdat_nicknames_t **ret_nicknames, char *err,
                              size_t errlen);

#endif
