/* Secret files and secrets in memory. */
#include "secret.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* sdat_secret_keys_from's folder, or NULL. */
static const char *keys_dir;

void sdat_secret_keys_from(const char *dir)
{
    keys_dir = dir;
}

char *sdat_secret_path(const char *path)
{
    static const char prefix[] = "$CREDENTIALS_DIRECTORY/";
    static const char keys[] = "$CREDENTIALS_DIRECTORY/keys_";
    const char *dir = getenv("CREDENTIALS_DIRECTORY");
    if (!dir && keys_dir && strncmp(path, keys, sizeof keys - 1) == 0) {
        /* The unit's LoadCredential=keys:DIR, read from DIR itself. */
        size_t len = strlen(keys_dir) + strlen(path);
        char *out = malloc(len + 2);
        if (out) {
            snprintf(out, len + 2, "%s/%s", keys_dir, path + sizeof keys - 1);
        }
        return out;
    }
    if (strncmp(path, prefix, sizeof prefix - 1) != 0 || !dir) {
        return strdup(path);
    }
    size_t len = strlen(dir) + strlen(path);
    char *out = malloc(len + 2);
    if (out) {
        snprintf(out, len + 2, "%s/%s", dir, path + sizeof prefix - 1);
    }
    return out;
}

/* A secret must be readable by its owner only. A systemd credential
 * ("$CREDENTIALS_DIRECTORY/…") is exempt from the group bits: systemd 254
 * and later hand it over root-owned, mode 0440 with an ACL for the service's
 * user, in a directory only that service can enter. */
bool sdat_secret_mode_ok(const char *path, mode_t mode)
{
    bool credential = strncmp(path, "$CREDENTIALS_DIRECTORY/", 23) == 0 &&
                      getenv("CREDENTIALS_DIRECTORY");
    return (mode & (credential ? 007 : 077)) == 0;
}

int sdat_secret_read(const char *path, char **ret_data, size_t *ret_len, char *err, size_t errlen)
{
    char *real = sdat_secret_path(path);
    struct stat sb;
    char *data = NULL;
    int fd = -1, r = 0;

    if (!real) {
        return -ENOMEM;
    }
    fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || fstat(fd, &sb) < 0) {
        r = -errno;
        snprintf(err, errlen, "\"%s\" cannot be read: %s", path, strerror(errno));
        goto out;
    }
    if (!sdat_secret_mode_ok(path, sb.st_mode)) {
        r = -EPERM;
        snprintf(err, errlen, "\"%s\" is readable by group or others (chmod 600)", path);
        goto out;
    }
    if (sb.st_size > 65536) {
        r = -EFBIG;
        snprintf(err, errlen, "\"%s\" is larger than 64 KiB", path);
        goto out;
    }
    data = malloc((size_t)sb.st_size + 1);
    if (!data) {
        r = -ENOMEM;
        goto out;
    }
    ssize_t n = read(fd, data, (size_t)sb.st_size);
    if (n < 0) {
        r = -errno;
        snprintf(err, errlen, "\"%s\" cannot be read: %s", path, strerror(errno));
        goto out;
    }
    if (n > 0 && data[n - 1] == '\n') {
        n--; /* one trailing newline is not part of the secret */
    }
    data[n] = '\0';
    *ret_data = data;
    *ret_len = (size_t)n;
    data = NULL;
out:
    free(data);
    if (fd >= 0) {
        close(fd);
    }
    free(real);
    return r;
}

int sdat_secret_dup(const char *key, size_t key_len, char **ret_copy)
{
    *ret_copy = NULL;
    if (!key) {
        return 0;
    }
    if (key_len == 0) {
        return -EINVAL;
    }
    char *copy = malloc(key_len);
    if (!copy) {
        return -ENOMEM;
    }
    memcpy(copy, key, key_len);
    *ret_copy = copy;
    return 0;
}

void sdat_secret_wipe(char **key, size_t *key_len)
{
    if (*key) {
        explicit_bzero(*key, *key_len);
        free(*key);
    }
    *key = NULL;
    *key_len = 0;
}
