#include "cpis.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "digest.h"
#include "formats.h"
#include "log.h"
#include "metrics.h"
#include "timeutil.h"

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
    json_t *flags, *flag_ids;
    json_t *accesses;
    int r;
};

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

int sdat_engine_cpis_lookup(struct sdat_engine *e, const char *nhs_number, int32_t day,
                            const char *asker, int64_t now_ms, json_t **ret_response)
{
    struct lookup_ctx c = {.day = day, .flags = json_array(), .flag_ids = json_array(),
                           .accesses = json_array()};
    char *key = NULL, hmac[65], at[40];
    size_t key_len = 0;
    json_t *response = NULL;
    int r;

    if (!c.flags || !c.flag_ids || !c.accesses) {
        r = -ENOMEM;
        goto out;
    }
    if (day < 0 && sdat_time_local_date(now_ms, e->cfg->timezone, &c.day) < 0) {
        r = -EINVAL;
        goto out;
    }
    r = sdat_store_flags_for(e->st, nhs_number, add_flag, &c);
    if (r == 0) {
        r = sdat_store_accesses_recent(e->st, nhs_number, ACCESSES_SHOWN, add_access, &c);
    }
    if (r == 0) {
        r = lookup_key(e, &key, &key_len);
    }
    if (r < 0) {
        goto out;
    }
    r = sdat_hmac_sha256_hex(key, key_len, nhs_number, strlen(nhs_number), hmac);
    explicit_bzero(key, key_len);
    if (r < 0) {
        goto out;
    }
    int y, m, d;
    char on[16];
    sdat_civil_from_days(c.day, &y, &m, &d);
    snprintf(on, sizeof on, "%04d-%02d-%02d", y, m, d);
    r = sdat_audit_append(e->audit, e->st, now_ms, "lookup.served", asker,
                          json_pack("{s:s}", "asker", asker),
                          json_pack("{s:s, s:O, s:s, s:b}", "nhs_number_hmac", hmac, "flag_ids",
                                    c.flag_ids, "on", on, "silent", 1));
    if (r < 0) {
        goto out;
    }
    sdat_time_format_ms(now_ms, at, sizeof at);
    response = json_pack("{s:s, s:s, s:s, s:O, s:O}", "schema", "sdat.cpis-response/1",
                         "nhs_number", nhs_number, "looked_up_at", at, "flags", c.flags,
                         "accesses", c.accesses);
    if (!response) {
        r = -ENOMEM;
        goto out;
    }
    log_info("cpis", "lookup served asker=%s flags=%zu", asker, json_array_size(c.flags));
    *ret_response = response;
out:
    free(key);
    json_decref(c.flags);
    json_decref(c.flag_ids);
    json_decref(c.accesses);
    return r;
}
