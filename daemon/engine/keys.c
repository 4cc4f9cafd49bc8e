/* What the engine reads from files for the pure decisions: the
 * acknowledgement key and the nickname list. */
#include "keys.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

int sdat_ack_key_read(const char *path, struct sdat_ack_key *ret, char *err, size_t errlen)
{
    *ret = (struct sdat_ack_key){NULL, 0};
    if (!path || !*path) {
        return 0;
    }
    char *bytes = NULL;
    size_t len = 0;
    int r = sdat_secret_read(path, &bytes, &len, err, errlen);
    if (r < 0) {
        return r;
    }
    if (len == 0) {
        free(bytes);
        snprintf(err, errlen, "\"%s\" is empty", path);
        return -EINVAL;
    }
    ret->bytes = bytes;
    ret->len = len;
    return 0;
}

void sdat_ack_key_for_links(const char *public_url, const char *path, struct sdat_ack_key *ret)
{
    char err[512];
    *ret = (struct sdat_ack_key){NULL, 0};
    if (!public_url || !*public_url || !path || !*path) {
        return;
    }
    if (sdat_ack_key_read(path, ret, err, sizeof err) < 0) {
        log_warn("ack", "http.ack_key_file: %s; ack_url names the API instead of a link, ignoring",
                 err);
    }
}

int sdat_nicknames_load(const char *path, sdat_nicknames_t **ret_nicknames, char *err,
                        size_t errlen)
{
    char *buf = NULL, line_err[320];
    size_t len = 0, capacity = 0;
    FILE *f;
    int r;

    f = fopen(path, "rb");
    if (!f) {
        r = -errno;
        goto fail_errno;
    }
    for (;;) {
        if (len == capacity) {
            size_t grown = capacity ? capacity * 2 : 64 * 1024;
            char *more = realloc(buf, grown);
            if (!more) {
                r = -ENOMEM;
                goto fail_errno;
            }
            buf = more;
            capacity = grown;
        }
        size_t got = fread(buf + len, 1, capacity - len, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                r = -EIO;
                goto fail_errno;
            }
            break;
        }
    }
    r = sdat_nicknames_parse(buf, len, ret_nicknames, line_err, sizeof line_err);
    if (r < 0 && err && errlen > 0) {
        snprintf(err, errlen, "%s:%s", path, line_err);
    }
    goto out;

fail_errno:
    if (err && errlen > 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(-r));
    }
out:
    if (f) {
        fclose(f);
    }
    free(buf);
    return r;
}

int sdat_match_nicknames_load(const char *path, sdat_nicknames_t **ret_nicknames, char *err,
                              size_t errlen)
{
    if (path) {
        return sdat_nicknames_load(path, ret_nicknames, err, errlen);
    }
    return sdat_nicknames_builtin(ret_nicknames, err, errlen);
}
