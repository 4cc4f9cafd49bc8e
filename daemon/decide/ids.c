#include "ids.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

static void derive(char prefix, const char *kind, const char *source, int64_t version,
                   const char *child, const char *recipient, const char *disc, char *ret_id)
{
    char version_text[24];
    const char *parts[6];
    char buf[1024];
    char big_hex[SDAT_SHA256_HEX_LEN + 1];
    size_t len = 0;

    snprintf(version_text, sizeof version_text, "%" PRId64, version);
    parts[0] = kind;
    parts[1] = source;
    parts[2] = version_text;
    parts[3] = child;
    parts[4] = recipient;
    parts[5] = disc;
    /* Every part is bounded by its schema (keys ≤ 130, ids ≤ 64), so 1 KiB
     * holds them; a longer part is still hashed whole via the slow path. */
    size_t need = 0;
    for (int i = 0; i < 6; i++) {
        need += (parts[i] ? strlen(parts[i]) : 0) + 1;
    }
    char *out = need <= sizeof buf ? buf : malloc(need);
    if (!out) {
        abort();
    }
    for (int i = 0; i < 6; i++) {
        size_t n = parts[i] ? strlen(parts[i]) : 0;
        if (i > 0) {
            out[len++] = '\0';
        }
        memcpy(out + len, parts[i] ? parts[i] : "", n);
        len += n;
    }
    sdat_sha256_hex(out, len, big_hex);
    if (out != buf) {
        free(out);
    }
    ret_id[0] = prefix;
    ret_id[1] = '_';
    memcpy(ret_id + 2, big_hex, 32);
    ret_id[SDAT_ID_LEN] = '\0';
}

void sdat_id_notification(const char *kind, const char *source, int64_t version,
                          const char *child, const char *recipient, const char *disc,
                          char *ret_id)
{
    derive('n', kind, source, version, child, recipient, disc, ret_id);
}

void sdat_id_review(const char *source, int64_t version, const char *child, char *ret_id)
{
    derive('r', "review", source, version, child, NULL, NULL, ret_id);
}

bool sdat_id_register_key_valid(const void *key, size_t len)
{
    static const char allowed[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/_-";
    const char *k = key;
    if (!k || len < 1 || len > 64) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (k[i] == '\0' || !strchr(allowed, k[i])) {
            return false;
        }
    }
    return true;
}
