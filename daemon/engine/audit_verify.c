/* Verifying the stored audit chain: what `sdatctl audit verify` and the
 * console's "verify now" run (decide/audit_chain.h has the rules). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util/util.h"

int sdat_audit_verifier_for(const struct sdat_config *cfg, sdat_audit_verifier_t **ret_verifier,
                            char *err, size_t errlen)
{
    char *key = NULL;
    size_t key_len = 0;
    *ret_verifier = NULL;
    if (cfg && cfg->audit.checkpoint_key_file) {
        char why[512];
        int r = sdat_secret_read(cfg->audit.checkpoint_key_file, &key, &key_len, why, sizeof why);
        if (r < 0) {
            snprintf(err, errlen, "audit.checkpoint_key_file: %s", why);
            return -EACCES;
        }
    }
    int r = sdat_audit_verifier_new(cfg ? cfg->audit.checkpoint_every : 0, key, key_len,
                                    ret_verifier);
    if (r == -EINVAL) {
        snprintf(err, errlen, "audit.checkpoint_key_file is empty");
    } else if (r < 0) {
        snprintf(err, errlen, "%s", strerror(-r));
    }
    if (key) {
        explicit_bzero(key, key_len);
        free(key);
    }
    return r;
}

static int feed_row(int64_t seq, const char *record, const char *hash, void *opaque)
{
    int r = sdat_audit_verifier_feed(opaque, record, seq, hash);
    return r == -EBADMSG ? 1 : r; /* 1: stop, the chain is broken */
}

int sdat_audit_verify_store(sdat_store_t *st, sdat_audit_verifier_t *v, const char *head)
{
    int r = sdat_store_audit_rows(st, feed_row, v);
    if (r < 0) {
        return r;
    }
    return r == 0 && sdat_audit_verifier_finish(v, head) == 0 ? 0 : 1;
}
