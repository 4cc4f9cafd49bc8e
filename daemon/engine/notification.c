/* A new notification: the fields its payload shares with every other,
 * and its validation, hashing and storing. Every builder (incidents,
 * CP-IS accesses, escalations, operator actions) goes through here. */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/util.h"

void sdat_engine_payload_common(struct sdat_engine *e, const char *id, const char *kind,
                                const struct sdat_recipient *to, int64_t now_ms,
                                int64_t scheduled_ms, struct sdat_ack_key *ack_key,
                                struct sdat_payload_common *ret)
{
    *ret = (struct sdat_payload_common){
        .notification_id = id,
        .kind = kind,
        .recipient = to,
        .created_ms = now_ms,
        .scheduled_ms = scheduled_ms,
        .lawful_basis = sdat_config_lawful_basis(e->cfg, kind),
        .public_url = e->cfg->http.public_url,
        .ack_key = ack_key,
    };
    sdat_ack_key_for_links(ret->public_url, e->cfg->http.ack_key_file, ack_key);
}

void sdat_engine_notification_due_now(struct sdat_notification *n, const char *id,
                                      const char *kind, const char *recipient,
                                      const char *source_key, int64_t now_ms)
{
    *n = (struct sdat_notification){
        .kind = kind,
        .recipient = recipient,
        .source_key = source_key,
        .source_version = 1,
        .state = "scheduled",
        .created_ms = now_ms,
        .scheduled_ms = now_ms,
        .next_attempt_ms = now_ms,
    };
    snprintf(n->id, sizeof n->id, "%s", id);
}

int sdat_engine_notification_store(struct sdat_engine *e, struct sdat_notification *n,
                                   const json_t *payload, char ret_sha[65], char *err,
                                   size_t errlen)
{
    struct sdat_validation v;
    if (sdat_schemas_validate(e->schemas, payload, "sdat.notification/1", &v) != 0) {
        const char *path = v.n_errors ? v.errors[0].path : "";
        const char *message = v.n_errors ? v.errors[0].message : "";
        log_error("engine", "refusing notification id=%s kind=%s: payload fails "
                  "sdat.notification/1 at %s: %s", n->id, n->kind, path, message);
        if (err && errlen > 0) {
            snprintf(err, errlen, "payload fails sdat.notification/1 at %.100s: %.160s", path,
                     message);
        }
        return -EPROTO;
    }
    char *text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        return -ENOMEM;
    }
    sdat_sha256_hex(text, strlen(text), ret_sha);
    n->payload = text;
    n->payload_sha256 = ret_sha;
    int r = sdat_store_notification_insert(e->st, n);
    n->payload = NULL;
    n->payload_sha256 = NULL;
    free(text);
    return r;
}
