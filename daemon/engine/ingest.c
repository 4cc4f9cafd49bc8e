/* One inbound Kafka message: size, parse, schema, key, then the flow for its
 * topic. Bad input is never fatal: it is kept as a dead letter (mirrored to
 * the DLQ topic by the daemon) and audited as rejected, in one transaction. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cpis.h"
#include "engine.h"
#include "util/util.h"
#include "register.h"

#define DEAD_LETTER_KEEP (64 * 1024)

static int dead_letter(struct sdat_engine *e, const struct sdat_inbound *m, const char *stage,
                       const char *error, int64_t now_ms)
{
    bool cut = m->value_len > DEAD_LETTER_KEEP;
    struct sdat_dead_letter dl = {
        .at_ms = now_ms,
        .stage = stage,
        .error = error,
        .topic = m->topic,
        .partition = m->partition,
        .offset = m->offset,
        .key = m->key,
        .key_len = m->key_len,
        .value = m->value,
        .value_len = cut ? DEAD_LETTER_KEEP : m->value_len,
        .original_size = cut ? (int64_t)m->value_len : -1,
    };
    int64_t id = 0;
    int r = sdat_store_dead_letter_insert(e->st, &dl, &id);
    if (r < 0) {
        return r;
    }
    sdat_metrics_add(SDAT_M_EVENTS, 1, m->topic, "rejected");
    e->rejected.id = id;
    snprintf(e->rejected.stage, sizeof e->rejected.stage, "%s", stage);
    snprintf(e->rejected.error, sizeof e->rejected.error, "%s", error);
    r = sdat_audit_append(e->audit, e->st, now_ms, "event.rejected", "sdatd",
                          json_pack("{s:s, s:i, s:I}", "topic", m->topic, "partition",
                                    (int)m->partition, "offset", (json_int_t)m->offset),
                          json_pack("{s:s, s:s, s:I}", "stage", stage, "error", error,
                                    "dead_letter_id", (json_int_t)id));
    if (r == 0) {
        /* error names a JSON Pointer and a rule, never a value. */
        log_warn("ingest", "rejected topic=%s partition=%d offset=%lld stage=%s: %s", m->topic,
                 (int)m->partition, (long long)m->offset, stage, error);
    }
    return r;
}

/* The schema a topic carries, or NULL for a topic this daemon does not read. */
static const char *topic_schema(const struct sdat_config *cfg, const char *topic)
{
    if (strcmp(topic, cfg->topics.police_incidents) == 0) {
        return "police.da-incident/1";
    }
    if (strcmp(topic, cfg->topics.health_attendances) == 0) {
        return "health.attendance/1";
    }
    if (strcmp(topic, cfg->topics.council_children) == 0) {
        return "council.child/1";
    }
    if (strcmp(topic, cfg->topics.council_flags) == 0) {
        return "council.cpis-flag/1";
    }
    return NULL;
}

/* A compacted register topic's message: an upsert, or a tombstone that
 * removes the record named by the key. */
static int register_record(struct sdat_engine *e, const struct sdat_inbound *m, const char *schema,
                           const json_t *doc, int64_t now_ms)
{
    char key[200];
    enum sdat_register_kind kind =
        strcmp(schema, "council.child/1") == 0 ? SDAT_REGISTER_CHILD : SDAT_REGISTER_FLAG;
    /* Checked like the ids themselves (quality.md S8): a tombstone's key is
     * otherwise unchecked input, and it is logged and audited. */
    if (!m->key || m->key_len == 0 || m->key_len >= sizeof key ||
        !sdat_id_register_key_valid(m->key, m->key_len)) {
        return dead_letter(e, m, "key",
                           "a register record needs its id as the message key "
                           "(1-64 letters, digits, '/', '_' or '-')",
                           now_ms);
    }
    memcpy(key, m->key, m->key_len);
    key[m->key_len] = '\0';
    int r = sdat_register_apply(e->st, e->audit, kind, key, doc, "sdatd", "topic", now_ms);
    if (r == 0) {
        /* Register ids are the council's own, not personal data. */
        log_info("register", "%s %s=%s", doc ? "upsert" : "tombstone",
                 kind == SDAT_REGISTER_CHILD ? "child_id" : "flag_id", key);
    }
    return r;
}

static bool is_register_schema(const char *schema)
{
    return strcmp(schema, "council.child/1") == 0 || strcmp(schema, "council.cpis-flag/1") == 0;
}

void sdat_engine_prepare(const struct sdat_engine *e, const struct sdat_register_view *view,
                         const struct sdat_inbound *m, struct sdat_prepared *p)
{
    json_error_t jerr;
    char key[200];
    p->schema = topic_schema(e->cfg, m->topic);
    p->stage = NULL;
    p->doc = NULL;
    p->matched = false;
    if (!p->schema) {
        p->stage = "schema";
        snprintf(p->error, sizeof p->error, "this daemon reads no schema from this topic");
        return;
    }
    if (m->value_len > (size_t)e->cfg->kafka.max_message_bytes) {
        p->stage = "size";
        snprintf(p->error, sizeof p->error,
                 "message of %zu bytes exceeds kafka.max_message_bytes (%d)", m->value_len,
                 e->cfg->kafka.max_message_bytes);
        return;
    }
    if (!m->value) {
        /* Tombstones belong to the compacted register topics. */
        if (!is_register_schema(p->schema)) {
            p->stage = "parse";
            snprintf(p->error, sizeof p->error, "null value (tombstone) on an event topic");
        }
        return;
    }
    p->doc = json_loadb(m->value, m->value_len, JSON_REJECT_DUPLICATES, &jerr);
    if (!p->doc) {
        /* jansson's text may quote the input ("… near 'Smith'"): keep the
         * rule and the position only, never the value. */
        char *near = strstr(jerr.text, " near ");
        if (near) {
            *near = '\0';
        }
        p->stage = "parse";
        snprintf(p->error, sizeof p->error, "not valid JSON at line %d column %d: %s", jerr.line,
                 jerr.column, jerr.text);
        return;
    }
    int r = sdat_schemas_validate(e->schemas, p->doc, p->schema, &p->v);
    if (r != 0) {
        p->stage = "schema";
        if (r < 0) {
            snprintf(p->error, sizeof p->error, "validation failed internally");
        } else {
            snprintf(p->error, sizeof p->error, "%s: %s", p->v.n_errors ? p->v.errors[0].path : "",
                     p->v.n_errors ? p->v.errors[0].message : "invalid");
        }
        return;
    }
    if (sdat_schemas_derive_key(p->doc, p->schema, key, sizeof key) < 0 || !m->key ||
        m->key_len != strlen(key) || memcmp(m->key, key, m->key_len) != 0) {
        p->stage = "key";
        snprintf(p->error, sizeof p->error,
                 "message key differs from the key derived from its value");
        return;
    }
    if (view && p->matches && strcmp(p->schema, "police.da-incident/1") == 0) {
        /* The register cannot change under the view: the writer's own match
         * would read the same candidates. An incident whose dates do not
         * resolve is matched by nobody (the writer dead-letters it). */
        int32_t days;
        p->matched = sdat_engine_incident_days(e, p->doc, &days) == 0 &&
                     sdat_engine_match_incident_view(e, view, p->doc, &p->v, days, p->matches) == 0;
    }
}

void sdat_engine_prepared_clear(struct sdat_prepared *p)
{
    json_decref(p->doc);
    p->doc = NULL;
}

int sdat_engine_apply(struct sdat_engine *e, const struct sdat_inbound *m,
                      const struct sdat_prepared *p, int64_t now_ms)
{
    char error[512];
    int r;
    const char *schema = p->schema;
    const json_t *doc = p->doc;

    if (p->stage) {
        return dead_letter(e, m, p->stage, p->error, now_ms);
    }
    if (!doc) {
        return register_record(e, m, schema, NULL, now_ms);
    }
    if (strcmp(schema, "police.da-incident/1") == 0) {
        sdat_metrics_add(SDAT_M_EVENTS, 1, m->topic, "accepted");
        /* A savepoint, so that an incident that cannot be routed leaves
         * nothing behind but its dead letter, inside whatever transaction
         * the caller holds (a consumed message, a replay among other
         * jobs). */
        r = sdat_store_savepoint(e->st);
        if (r == 0) {
            r = sdat_engine_incident_matched(e, m, doc, &p->v, p->matched ? p->matches : NULL,
                                             now_ms, error, sizeof error);
            if (r == -EDOM) {
                int rr = sdat_store_savepoint_rollback(e->st);
                if (rr < 0) {
                    r = rr;
                }
            } else if (r == 0) {
                r = sdat_store_savepoint_release(e->st);
            } else {
                sdat_store_savepoint_rollback(e->st);
            }
        }
    } else if (is_register_schema(schema)) {
        r = register_record(e, m, schema, doc, now_ms);
    } else {
        /* health.attendance/1 (flows.md §2), asked by its care setting.
         * No savepoint: a store error rolls back the caller's transaction,
         * and a flag that cannot be routed keeps everything else (the
         * answer must go at once) and the event waits as a dead letter for
         * a replay, which answers again and notifies nobody twice. */
        sdat_metrics_add(SDAT_M_EVENTS, 1, m->topic, "accepted");
        r = sdat_engine_attendance(e, doc, json_string_value(json_object_get(doc, "ods_code")),
                                   true, now_ms, NULL, error, sizeof error);
        if (r == 1) {
            r = dead_letter(e, m, "routing", error, now_ms);
        }
    }
    if (r == -EDOM) {
        /* Cannot be routed: its partial effects are rolled back; it is
         * kept as a dead letter (error holds the reason) for a replay once
         * the directory is fixed. */
        r = dead_letter(e, m, "routing", error, now_ms);
    }
    return r;
}

int sdat_engine_process(struct sdat_engine *e, const struct sdat_inbound *m, int64_t now_ms)
{
    struct sdat_prepared p = {.matches = NULL};
    sdat_engine_prepare(e, NULL, m, &p);
    int r = sdat_engine_apply(e, m, &p, now_ms);
    sdat_engine_prepared_clear(&p);
    return r;
}

int sdat_engine_dead_letter(struct sdat_engine *e, const struct sdat_inbound *m, const char *stage,
                            const char *error, int64_t now_ms)
{
    return dead_letter(e, m, stage, error, now_ms);
}

int sdat_engine_ingest(struct sdat_engine *e, const struct sdat_inbound *m, int64_t now_ms)
{
    int r = sdat_store_begin(e->st);
    if (r < 0) {
        return r;
    }
    r = sdat_engine_process(e, m, now_ms);
    if (r < 0) {
        sdat_store_rollback(e->st);
        return r;
    }
    return sdat_store_commit(e->st);
}

struct replay_copy {
    struct sdat_inbound m;
    char topic[256];
    void *key, *value;
    int64_t original_size;
    bool found;
};

static int copy_dead_letter(const struct sdat_dead_letter *dl, void *opaque)
{
    struct replay_copy *c = opaque;
    c->found = true;
    snprintf(c->topic, sizeof c->topic, "%s", dl->topic);
    c->original_size = dl->original_size;
    c->key = dl->key_len ? malloc(dl->key_len) : NULL;
    c->value = dl->value ? malloc(dl->value_len ? dl->value_len : 1) : NULL;
    if ((dl->key_len && !c->key) || (dl->value && !c->value)) {
        return -ENOMEM;
    }
    if (c->key) {
        memcpy(c->key, dl->key, dl->key_len);
    }
    if (c->value && dl->value_len) {
        memcpy(c->value, dl->value, dl->value_len);
    }
    c->m = (struct sdat_inbound){.topic = c->topic,
                                 .partition = dl->partition,
                                 .offset = dl->offset,
                                 .key = c->key,
                                 .key_len = dl->key_len,
                                 .value = c->value,
                                 .value_len = dl->value_len};
    return 0;
}

int sdat_engine_dlq_replay(struct sdat_engine *e, int64_t id, const char *by, int64_t now_ms,
                           json_t **ret_outcome)
{
    return sdat_engine_dlq_replay_via(e, id, by, NULL, now_ms, ret_outcome);
}

int sdat_engine_dlq_replay_via(struct sdat_engine *e, int64_t id, const char *by, const char *via,
                               int64_t now_ms, json_t **ret_outcome)
{
    struct replay_copy c = {0};
    int r = sdat_store_dead_letter_get(e->st, id, copy_dead_letter, &c);
    if (r < 0) {
        goto out;
    }
    if (c.original_size >= 0 || !c.value) {
        /* Only the first 64 KiB were kept (or retention removed the
         * bytes): the original must be produced again instead. */
        r = -EINVAL;
        goto out;
    }
    int64_t before = e->rejected.id;
    r = sdat_engine_process(e, &c.m, now_ms);
    if (r < 0) {
        goto out;
    }
    bool again = e->rejected.id != before;
    json_t *outcome = again ? json_pack("{s:s, s:s, s:s, s:I}", "outcome", "dead-lettered", "stage",
                                        e->rejected.stage, "error", e->rejected.error,
                                        "dead_letter_id", (json_int_t)e->rejected.id)
                            : json_pack("{s:s}", "outcome", "processed");
    if (!outcome) {
        r = -ENOMEM;
        goto out;
    }
    json_t *detail = json_deep_copy(outcome);
    json_object_set_new(detail, "by", json_string(by ? by : "operator"));
    if (via) {
        json_object_set_new(detail, "via", json_string(via));
    }
    r = sdat_audit_append(e->audit, e->st, now_ms, "dlq.replayed", by ? by : "operator",
                          json_pack("{s:I, s:s, s:i, s:I}", "dead_letter_id", (json_int_t)id,
                                    "topic", c.topic, "partition", (int)c.m.partition, "offset",
                                    (json_int_t)c.m.offset),
                          detail);
    if (r == 0) {
        r = sdat_store_dead_letter_mark_replayed(e->st, id, now_ms,
                                                 again ? e->rejected.id : 0);
    }
    if (r < 0) {
        json_decref(outcome);
        goto out;
    }
    log_info("ingest", "replayed dead letter id=%lld: %s", (long long)id,
             again ? "dead-lettered again" : "processed");
    *ret_outcome = outcome;
out:
    free(c.key);
    free(c.value);
    return r;
}
