/* Secret files (keys, passwords, tokens) and secrets held in memory. A
 * secret's contents never appear in a message. */
#ifndef SDAT_SECRET_H
#define SDAT_SECRET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Reads a secret file (its bytes less one trailing newline), refusing one
 * readable by group or others; a leading "$CREDENTIALS_DIRECTORY/" is
 * expanded. 0 and malloc'd data, or a negative errno and err naming the file. */
int sdat_secret_read(const char *path, char **ret_data, size_t *ret_len, char *err, size_t errlen);
/* PATH with a leading "$CREDENTIALS_DIRECTORY/" expanded when that
 * variable is set (systemd credentials); malloc'd, NULL when out of memory. */
char *sdat_secret_path(const char *path);
/* Outside the unit (no CREDENTIALS_DIRECTORY): "$CREDENTIALS_DIRECTORY/keys_NAME"
 * is read as DIR/NAME, the file the unit's LoadCredential=keys:DIR loads
 * (sdatd -t --keys DIR, sdatctl --keys DIR); held, not copied. Such a file
 * must be its owner's only (no credential's group exemption). NULL: off. */
void sdat_secret_keys_from(const char *dir);
/* Whether a secret file's mode is private enough: readable by its owner
 * only, or for a systemd credential by its owner and group (see secret.c). */
bool sdat_secret_mode_ok(const char *path, mode_t mode);
/* sdat_secret_dup: a copy of key (key_len > 0, else -EINVAL) that the caller
 * wipes with sdat_secret_wipe; *ret_copy NULL for a NULL key. 0, -EINVAL or
 * -ENOMEM. sdat_secret_wipe: zeroes and frees *key (NULL allowed) and sets
 * *key NULL and *key_len 0. */
int sdat_secret_dup(const char *key, size_t key_len, char **ret_copy);
void sdat_secret_wipe(char **key, size_t *key_len);

#endif
