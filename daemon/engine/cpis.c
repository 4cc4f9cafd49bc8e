#include "engine.h"
#include "cpis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "decide/decide.h"
#include "util/util.h"

#define ACCESSES_SHOWN 25
#define UCPP_DAYS_AFTER_EDD 28

bool sdat_cpis_flag_active(const json_t *flag, int32_t day)
{
    int32_t start, end, edd;
    if (sdat_date_parse(json_string_value(json_object_get(flag, "start_date")), &start) < 0 ||
        day < start) {
        return false;
    }
    const char *end_text = json_string_value(json_object_get(flag, "end_date"));
    if (end_text && (sdat_date_parse(end_text, &end) < 0 || day > end)) {
        return false;
    }
    const char *type = json_string_value(json_object_get(flag, "type"));
    if (type && strcmp(type, "UCPP") == 0) {
        const char *edd_text = json_string_value(json_object_get(flag, "expected_delivery_date"));
        if (!edd_text || sdat_date_parse(edd_text, &edd) < 0 ||
            day >= edd + UCPP_DAYS_AFTER_EDD) {
            return false;
        }
    }
    return true;
}

/* The key of the NHS-number HMAC in lookup.served: the checkpoint key when
 * one is configured (interfaces.md), else a random key the store keeps
 * (meta lookup_hmac_key), so that every lookup of one person can still be
 * found without the audit log holding the number. */
static int lookup_key(struct sdat_engine *e, char **ret_key, size_t *ret_len)
{
    if (e->cfg->audit.checkpoint_key_file) {
        char err[256];
        int r = sdat_secret_read(e->cfg->audit.checkpoint_key_file, ret_key, ret_len, err,
                                 sizeof err);
        if (r < 0) {
            log_error("cpis", "audit.checkpoint_key_file: %s", err);
        }
        return r;
    }
    char *hex = NULL;
    int r = sdat_store_meta_get(e->st, "lookup_hmac_key", &hex);
    if (r == -ENOENT) {
        unsigned char raw[32];
        if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
            return -EIO;
        }
        hex = malloc(65);
        if (!hex) {
            return -ENOMEM;
        }
        for (size_t i = 0; i < sizeof raw; i++) {
            snprintf(hex + 2 * i, 3, "%02x", raw[i]);
        }
        explicit_bzero(raw, sizeof raw);
        r = sdat_store_meta_set(e->st, "lookup_hmac_key", hex);
    }
    if (r < 0) {
        free(hex);
        return r;
    }
    *ret_key = hex;
    *ret_len = strlen(hex);
    return 0;
}

struct lookup_ctx {
    int32_t day;
    json_t *flags;     /* the answer's view of each active flag */
    json_t *flag_docs; /* the active flags' documents, for routing */
    json_t *flag_ids;
    json_t *accesses;
};

static int lookup_ctx_init(struct lookup_ctx *c, int32_t day)
{
    *c = (struct lookup_ctx){.day = day, .flags = json_array(), .flag_docs = json_array(),
                             .flag_ids = json_array(), .accesses = json_array()};
    return c->flags && c->flag_docs && c->flag_ids && c->accesses ? 0 : -ENOMEM;
}

static void lookup_ctx_done(struct lookup_ctx *c)
{
    json_decref(c->flags);
    json_decref(c->flag_docs);
    json_decref(c->flag_ids);
    json_decref(c->accesses);
}

/* The fields of a flag the answer carries (interfaces.md). */
static int add_flag(const char *doc_text, void *opaque)
{
    static const char *const fields[] = {"flag_id",  "type",     "la_code",
                                         "la_name",  "start_date", "end_date",
                                         "expected_delivery_date", NULL};
    struct lookup_ctx *c = opaque;
    json_t *doc = json_loads(doc_text, 0, NULL);
    if (!doc) {
        return -EIO;
    }
    if (sdat_cpis_flag_active(doc, c->day)) {
        json_t *out = json_object();
        for (const char *const *f = fields; *f; f++) {
            json_t *v = json_object_get(doc, *f);
            if (v) {
                json_object_set(out, *f, v);
            }
        }
        json_t *contact = json_object_get(doc, "contact");
        json_object_set_new(out, "contact",
                            json_pack("{s:O, s:O}", "office_phone",
                                      json_object_get(contact, "office_phone"),
                                      "out_of_hours_phone",
                                      json_object_get(contact, "out_of_hours_phone")));
        json_array_append_new(c->flags, out);
        json_array_append(c->flag_docs, doc);
        json_array_append(c->flag_ids, json_object_get(doc, "flag_id"));
    }
    json_decref(doc);
    return 0;
}

static int add_access(const char *ods_code, const char *setting, int64_t arrived_ms, void *opaque)
{
    struct lookup_ctx *c = opaque;
    char at[40];
    sdat_time_format_ms(arrived_ms, at, sizeof at);
    json_array_append_new(c->accesses, json_pack("{s:s, s:s, s:s}", "ods_code", ods_code,
                                                 "setting", setting, "arrived_at", at));
    return 0;
}

/* The flags active on c->day and the recorded accesses: the latest
 * (attendance NULL), or those recorded before that attendance. st: the
 * writer's (within its transaction) or a read-only handle. */
static int lookup_collect(sdat_store_t *st, const char *nhs_number, const char *attendance,
                          struct lookup_ctx *c)
{
    int r = sdat_store_flags_for(st, nhs_number, add_flag, c);
    if (r < 0) {
        return r;
    }
    return attendance ? sdat_store_accesses_before(st, nhs_number, attendance, ACCESSES_SHOWN,
                                                   add_access, c)
                      : sdat_store_accesses_recent(st, nhs_number, ACCESSES_SHOWN, add_access, c);
}

/* lookup.served (interfaces.md "Audit record"): who asked, the flag ids
 * found, the date they were active on, and an HMAC of the NHS number, never
 * the number. subject and extra (more detail) are taken. */
static int audit_served(struct sdat_engine *e, const char *nhs_number, const struct lookup_ctx *c,
                        const char *asker, bool silent, json_t *subject, json_t *extra,
                        int64_t now_ms)
{
    char *key = NULL, hmac[65], on[16];
    size_t key_len = 0;
    int y, m, d;
    int r = lookup_key(e, &key, &key_len);
    if (r == 0) {
        r = sdat_hmac_sha256_hex(key, key_len, nhs_number, strlen(nhs_number), hmac);
        explicit_bzero(key, key_len);
    }
    free(key);
    if (r < 0) {
        json_decref(subject);
        json_decref(extra);
        return r;
    }
    sdat_civil_from_days(c->day, &y, &m, &d);
    snprintf(on, sizeof on, "%04d-%02d-%02d", y, m, d);
    json_t *detail = json_pack("{s:s, s:O, s:s, s:b}", "nhs_number_hmac", hmac, "flag_ids",
                               c->flag_ids, "on", on, "silent", silent);
    if (detail && extra) {
        json_object_update(detail, extra);
    }
    json_decref(extra);
    return sdat_audit_append(e->audit, e->st, now_ms, "lookup.served", asker, subject, detail);
}

/* sdat.cpis-response/1 (interfaces.md); attendance NULL for a silent
 * lookup. New reference, or NULL. */
static json_t *response_new(const char *nhs_number, const char *attendance,
                            const struct lookup_ctx *c, int64_t now_ms)
{
    char at[40];
    sdat_time_format_ms(now_ms, at, sizeof at);
    /* s*: absent when NULL. */
    return json_pack("{s:s, s:s*, s:s, s:s, s:O, s:O}", "schema", "sdat.cpis-response/1",
                     "attendance", attendance, "nhs_number", nhs_number, "looked_up_at", at,
                     "flags", c->flags, "accesses", c->accesses);
}

struct sdat_cpis_lookup {
    char *nhs_number;
    struct lookup_ctx c;
};

void sdat_cpis_lookup_free(sdat_cpis_lookup_t *lookup)
{
    if (!lookup) {
        return;
    }
    free(lookup->nhs_number);
    lookup_ctx_done(&lookup->c);
    free(lookup);
}

int sdat_cpis_lookup_read(sdat_store_t *st, const char *nhs_number, int32_t day,
                          sdat_cpis_lookup_t **ret_lookup)
{
    sdat_cpis_lookup_t *lookup = calloc(1, sizeof *lookup);
    int r = lookup ? lookup_ctx_init(&lookup->c, day) : -ENOMEM;
    if (r < 0) {
        goto fail;
    }
    lookup->nhs_number = strdup(nhs_number);
    if (!lookup->nhs_number) {
        r = -ENOMEM;
        goto fail;
    }
    /* One snapshot for the flags and the accesses (a no-op within the
     * writer's transaction). */
    r = sdat_store_read_begin(st);
    if (r == 0) {
        r = lookup_collect(st, nhs_number, NULL, &lookup->c);
        sdat_store_read_end(st);
    }
    if (r < 0) {
        goto fail;
    }
    *ret_lookup = lookup;
    return 0;
fail:
    sdat_cpis_lookup_free(lookup);
    return r;
}

int sdat_engine_cpis_lookup_audit(struct sdat_engine *e, const sdat_cpis_lookup_t *lookup,
                                  const char *asker, int64_t now_ms)
{
    return audit_served(e, lookup->nhs_number, &lookup->c, asker, true,
                        json_pack("{s:s}", "asker", asker), NULL, now_ms);
}

json_t *sdat_cpis_lookup_response(const sdat_cpis_lookup_t *lookup, int64_t now_ms)
{
    return response_new(lookup->nhs_number, NULL, &lookup->c, now_ms);
}

size_t sdat_cpis_lookup_flag_count(const sdat_cpis_lookup_t *lookup)
{
    return json_array_size(lookup->c.flags);
}

/* ---- attendances (flows.md §2) ---- */

static int exists(const struct sdat_notification *n, void *opaque)
{
    (void)n;
    (void)opaque;
    return 0;
}

/* Who is told of an access to flag: its contact.recipient (which must
 * belong to the local authority that owns the flag: never misdirect), else
 * the cpis recipient of the area with the flag's la_code. NULL with err set
 * when there is none. */
static const struct sdat_recipient *access_recipient(const struct sdat_config *cfg,
                                                     const json_t *flag, char *err, size_t errlen)
{
    const char *flag_id = json_string_value(json_object_get(flag, "flag_id"));
    const char *la_code = json_string_value(json_object_get(flag, "la_code"));
    const char *wanted =
        json_string_value(json_object_get(json_object_get(flag, "contact"), "recipient"));
    const struct sdat_recipient *to;
    if (wanted) {
        /* The id comes from the council's feed: named by its pointer. */
        to = sdat_config_recipient(cfg, wanted);
        if (!to) {
            snprintf(err, errlen, "flag %s: /contact/recipient is not a recipient in the directory",
                     flag_id);
        } else if (!to->la_code || strcmp(to->la_code, la_code) != 0) {
            snprintf(err, errlen,
                     "flag %s: /contact/recipient belongs to local authority %s, not to the "
                     "flag's %s",
                     flag_id, to->la_code ? to->la_code : "(none)", la_code);
            to = NULL;
        }
        return to;
    }
    const struct sdat_area *area = sdat_config_area(cfg, la_code);
    if (!area) {
        snprintf(err, errlen, "flag %s: no area has la_code %s", flag_id, la_code);
        return NULL;
    }
    to = area->cpis ? sdat_config_recipient(cfg, area->cpis) : NULL;
    if (!to) {
        snprintf(err, errlen, "flag %s: area %s has no cpis recipient", flag_id, la_code);
    }
    return to;
}

/* One cpis-access notification for flag, due now, unless it exists
 * (the same attendance again notifies nobody twice). 0 created or there
 * already, 1 when it cannot be routed or built (err says why), or a
 * negative store error. */
static int notify_flag(struct sdat_engine *e, const json_t *attendance, const char *key,
                       const json_t *flag, const json_t *accesses, int64_t now_ms, char *err,
                       size_t errlen)
{
    const char *flag_id = json_string_value(json_object_get(flag, "flag_id"));
    const struct sdat_recipient *to = access_recipient(e->cfg, flag, err, errlen);
    char id[SDAT_ID_LEN + 1], sha[65], when[40];
    json_t *payload = NULL;
    int r;

    if (!to) {
        return 1;
    }
    sdat_id_notification("cpis-access", key, 1, NULL, to->id, flag_id, id);
    r = sdat_store_notification_get(e->st, id, exists, NULL);
    if (r != -ENOENT) {
        return r; /* 0: notified before */
    }
    struct sdat_payload_common common;
    struct sdat_ack_key ack_key;
    sdat_engine_payload_common(e, id, "cpis-access", to, now_ms, now_ms, &ack_key, &common);
    payload = sdat_payload_cpis_access(&common, attendance, key, flag, accesses);
    sdat_ack_key_clear(&ack_key);
    if (!payload) {
        r = -ENOMEM;
        goto out;
    }
    struct sdat_notification n;
    sdat_engine_notification_due_now(&n, id, "cpis-access", to->id, key, now_ms);
    char why[300];
    r = sdat_engine_notification_store(e, &n, payload, sha, why, sizeof why);
    if (r == -EPROTO) {
        /* A bug in the builder: never send it; the attendance waits as a
         * dead letter for a replay after a fix. */
        snprintf(err, errlen, "flag %s: built %s", flag_id, why);
        r = 1;
        goto out;
    }
    if (r != 0) {
        r = r > 0 ? 0 : r;
        goto out;
    }
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, "cpis-access", "scheduled");
    sdat_time_format_ms(now_ms, when, sizeof when);
    r = sdat_audit_append(e->audit, e->st, now_ms, "notification.created", "sdatd",
                          json_pack("{s:s, s:s, s:s}", "notification_id", id, "recipient", to->id,
                                    "attendance", key),
                          json_pack("{s:s, s:s, s:s, s:s, s:I, s:s}", "kind", "cpis-access",
                                    "payload_sha256", sha, "scheduled_for", when, "lawful_basis",
                                    common.lawful_basis, "version", (json_int_t)1, "flag_id",
                                    flag_id));
    if (r == 0) {
        log_info("cpis", "notification created id=%s kind=cpis-access recipient=%s attendance=%s "
                 "flag=%s scheduled_for=%s",
                 id, to->id, key, flag_id, when);
    }
out:
    json_decref(payload);
    return r;
}

int sdat_engine_attendance(struct sdat_engine *e, const json_t *doc, const char *asker,
                           bool from_topic, int64_t now_ms, json_t **ret_response, char *err,
                           size_t errlen)
{
    const json_t *notify_la = json_object_get(doc, "notify_la");
    bool notify = !json_is_false(notify_la);
    const char *nhs_number =
        json_string_value(json_object_get(json_object_get(doc, "patient"), "nhs_number"));
    const char *ods_code = json_string_value(json_object_get(doc, "ods_code"));
    const char *setting = json_string_value(json_object_get(doc, "setting"));
    const char *arrived_at = json_string_value(json_object_get(doc, "arrived_at"));
    char key[200];
    int64_t arrived_ms;
    int32_t day;
    struct lookup_ctx c;
    json_t *response = NULL;
    char *text = NULL;
    size_t unrouted = 0;
    int r = lookup_ctx_init(&c, -1);

    if (r < 0) {
        goto out;
    }
    err[0] = '\0';
    if (!nhs_number || !ods_code || !setting || !arrived_at ||
        sdat_schemas_derive_key(doc, "health.attendance/1", key, sizeof key) < 0 ||
        sdat_datetime_parse(arrived_at, &arrived_ms) < 0 ||
        sdat_time_local_date(arrived_ms, e->cfg->timezone, &day) < 0) {
        /* The caller validated doc; only a bad time zone gets here. */
        r = -EINVAL;
        goto out;
    }
    c.day = day;
    r = lookup_collect(e->st, nhs_number, key, &c);
    if (r == 0 && notify) {
        r = sdat_store_access_record(e->st, nhs_number, ods_code, setting, arrived_ms, key,
                                     now_ms);
    }
    if (r < 0) {
        goto out;
    }
    r = audit_served(e, nhs_number, &c, asker, !notify,
                     json_pack("{s:s, s:s}", "asker", asker, "attendance", key),
                     json_pack("{s:s, s:s, s:s}", "ods_code", ods_code, "setting", setting,
                               "channel", from_topic ? "topic" : "http"),
                     now_ms);
    if (r < 0) {
        goto out;
    }
    response = response_new(nhs_number, key, &c, now_ms);
    if (!response) {
        r = -ENOMEM;
        goto out;
    }
    if (from_topic) {
        /* Produced to topics.cpis_responses once this transaction commits. */
        text = json_dumps(response, JSON_COMPACT);
        r = text ? sdat_store_cpis_response_insert(e->st, key, text, now_ms) : -ENOMEM;
        if (r < 0) {
            goto out;
        }
    }
    size_t i;
    json_t *flag;
    /* A silent attendance (notify_la false) tells nobody. */
    json_array_foreach(notify ? c.flag_docs : NULL, i, flag)
    {
        char why[400];
        r = notify_flag(e, doc, key, flag, c.accesses, now_ms, why, sizeof why);
        if (r < 0) {
            goto out;
        }
        if (r == 1) {
            /* Every flag that can be routed is notified; the first that
             * cannot names the reason for the dead letter. */
            log_warn("cpis", "attendance=%s: %s", key, why);
            if (unrouted++ == 0) {
                snprintf(err, errlen, "%s", why);
            }
        }
    }
    log_info("cpis", "attendance answered attendance=%s asker=%s flags=%zu notify_la=%s%s", key,
             asker, json_array_size(c.flags), notify ? "true" : "false",
             unrouted ? " (a flag could not be routed)" : "");
    r = unrouted ? 1 : 0;
    if (ret_response) {
        *ret_response = response;
        response = NULL;
    }
out:
    free(text);
    json_decref(response);
    lookup_ctx_done(&c);
    return r;
}
