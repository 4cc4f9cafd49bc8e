/* The audit chain's appender: records and the checkpoints due around
 * them, written in the store's open transaction. What a record is and how
 * it is hashed: decide/audit_chain.c. */
#include "engine.h"
#include "audit.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"
#include "util/util.h"

struct sdat_audit {
    char *instance;
    int checkpoint_every; /* 0: no checkpoints */
    char *key;            /* NULL: checkpoints without mac */
    size_t key_len;
    /* The chain's last checkpoint declares checkpoint_every and the key as
     * configured: known once checked, as of the checkpoint at
     * declared_seq. A head below it means that checkpoint was rolled back
     * with its transaction, and the store must be asked again. */
    bool declared;
    int64_t declared_seq;
};

int sdat_audit_new(const char *instance, sdat_audit_t **ret_audit)
{
    sdat_audit_t *audit = calloc(1, sizeof *audit);
    if (!audit || !(audit->instance = strdup(instance))) {
        free(audit);
        return -ENOMEM;
    }
    *ret_audit = audit;
    return 0;
}

void sdat_audit_free(sdat_audit_t *audit)
{
    if (!audit) {
        return;
    }
    sdat_secret_wipe(&audit->key, &audit->key_len);
    free(audit->instance);
    free(audit);
}

int sdat_audit_configure(sdat_audit_t *audit, int checkpoint_every, const char *key, size_t key_len)
{
    char *copy = NULL;
    if (checkpoint_every < 2) {
        return -EINVAL;
    }
    int r = sdat_secret_dup(key, key_len, &copy);
    if (r < 0) {
        return r;
    }
    sdat_secret_wipe(&audit->key, &audit->key_len);
    audit->key = copy;
    audit->key_len = copy ? key_len : 0;
    audit->checkpoint_every = checkpoint_every;
    audit->declared = false; /* asked again at the next append */
    return 0;
}

int sdat_audit_configure_from(sdat_audit_t *audit, const struct sdat_config *cfg, char *err,
                              size_t errlen)
{
    char *key = NULL;
    size_t key_len = 0;
    char why[256];
    if (cfg->audit.checkpoint_key_file) {
        int r = sdat_secret_read(cfg->audit.checkpoint_key_file, &key, &key_len, why, sizeof why);
        if (r < 0) {
            snprintf(err, errlen, "audit.checkpoint_key_file: %s", why);
            return r;
        }
    }
    int r = sdat_audit_configure(audit, cfg->audit.checkpoint_every, key, key_len);
    if (r == -EINVAL && key && key_len == 0) {
        snprintf(err, errlen, "audit.checkpoint_key_file: \"%s\" is empty",
                 cfg->audit.checkpoint_key_file);
    } else if (r == -EINVAL) {
        snprintf(err, errlen, "audit.checkpoint_every: %d is below 2", cfg->audit.checkpoint_every);
    } else if (r < 0) {
        snprintf(err, errlen, "audit: %s", strerror(-r));
    }
    sdat_secret_wipe(&key, &key_len);
    return r;
}

/* Writes one record at the chain's head + 1; a checkpoint gets its mac when
 * the key is set. Takes ownership of subject and detail. */
static int write_record(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms, const char *type,
                        const char *actor, json_t *subject, json_t *detail, bool checkpoint)
{
    struct sdat_audit_link link = {.ts_ms = now_ms, .instance = audit->instance};
    char hash[65];
    char *text = NULL;

    sdat_store_audit_head(st, &link.seq, link.prev);
    link.seq++;
    int r = sdat_audit_record_build(&link, type, actor, subject, detail,
                                    checkpoint ? audit->key : NULL, audit->key_len, &text, hash);
    if (r < 0) {
        return r;
    }
    r = sdat_store_audit_insert(st, link.seq, type, text, hash);
    if (r == 0) {
        sdat_metrics_add(SDAT_M_AUDIT_RECORDS, 1);
    }
    free(text);
    return r;
}

static int write_checkpoint(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms)
{
    return write_record(audit, st, now_ms, SDAT_AUDIT_CHECKPOINT_TYPE, SDAT_AUDIT_CHECKPOINT_ACTOR, NULL,
                        json_pack("{s:i}", "every", audit->checkpoint_every), true);
}

/* Whether a stored checkpoint declares the configured interval and key. */
static bool declares_configuration(const sdat_audit_t *audit, const char *text)
{
    json_t *record = json_loads(text, 0, NULL);
    json_t *every = json_object_get(json_object_get(record, "detail"), "every");
    bool same = json_is_integer(every) && json_integer_value(every) == audit->checkpoint_every &&
                (json_object_get(record, "mac") != NULL) == (audit->key != NULL);
    json_decref(record);
    return same;
}

/* Before a record: a declaring checkpoint when the chain's last one does
 * not declare the configuration, then the regular checkpoint if due. */
static int checkpoints_before(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms)
{
    int64_t head;
    char head_hash[65];
    sdat_store_audit_head(st, &head, head_hash);
    if (!audit->declared || head < audit->declared_seq) {
        int64_t seq = 0;
        char *text = NULL;
        int r = sdat_store_audit_last_checkpoint(st, &seq, &text);
        if (r < 0 && r != -ENOENT) {
            return r;
        }
        bool same = r == 0 && declares_configuration(audit, text);
        free(text);
        if (!same) {
            r = write_checkpoint(audit, st, now_ms);
            if (r < 0) {
                return r;
            }
            seq = head + 1;
            head++;
        }
        audit->declared = true;
        audit->declared_seq = seq;
    }
    if ((head + 1) % audit->checkpoint_every == 0) {
        return write_checkpoint(audit, st, now_ms);
    }
    return 0;
}

int sdat_audit_append(sdat_audit_t *audit, sdat_store_t *st, int64_t now_ms, const char *type,
                      const char *actor, json_t *subject, json_t *detail)
{
    int r = 0;
    if (audit->checkpoint_every > 0) {
        r = checkpoints_before(audit, st, now_ms);
    }
    if (r < 0) {
        json_decref(subject);
        json_decref(detail);
        return r;
    }
    r = write_record(audit, st, now_ms, type, actor, subject, detail, false);
    if (r == 0 && audit->checkpoint_every > 0) {
        int64_t head;
        char head_hash[65];
        sdat_store_audit_head(st, &head, head_hash);
        if ((head + 1) % audit->checkpoint_every == 0) {
            r = write_checkpoint(audit, st, now_ms);
        }
    }
    return r;
}
