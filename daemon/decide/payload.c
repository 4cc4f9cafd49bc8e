#include "payload.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* Copies the named members that exist from src to dst. */
static int copy_fields(json_t *dst, const json_t *src, const char *const *names)
{
    for (; *names; names++) {
        json_t *v = json_object_get(src, *names);
        if (v && json_object_set(dst, *names, v) < 0) {
            return -1;
        }
    }
    return 0;
}

static json_t *common_fields(const struct sdat_payload_common *c)
{
    char created[32], scheduled[32];
    sdat_time_format_ms(c->created_ms, created, sizeof created);
    sdat_time_format_ms(c->scheduled_ms, scheduled, sizeof scheduled);
    json_t *p = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s}", "schema",
                          "sdat.notification/1", "notification_id", c->notification_id, "kind",
                          c->kind, "recipient", "id", c->recipient->id, "name",
                          c->recipient->name, "created_at", created, "scheduled_for", scheduled,
                          "lawful_basis", c->lawful_basis);
    if (!p) {
        return NULL;
    }
    if (c->public_url && c->public_url[0]) {
        char url[1024];
        size_t len = strlen(c->public_url);
        /* A trailing slash in the configured base would double up. */
        if (!c->ack_key || !c->ack_key->bytes ||
            sdat_ack_url(c->public_url, c->ack_key, c->notification_id, url, sizeof url) < 0) {
            snprintf(url, sizeof url, "%.*s/v1/notifications/%s/ack",
                     (int)(len && c->public_url[len - 1] == '/' ? len - 1 : len), c->public_url,
                     c->notification_id);
        }
        json_object_set_new(p, "ack_url", json_string(url));
    }
    if (c->route_reason) {
        json_object_set_new(p, "route_reason", json_string(c->route_reason));
    }
    if (c->amends) {
        json_object_set_new(p, "amends", json_string(c->amends));
    }
    return p;
}

json_t *sdat_payload_withdrawn(const struct sdat_payload_common *common, const char *withdraws,
                               const char *reason)
{
    json_t *p = common_fields(common);
    json_t *extra = json_pack("{s:s, s:s, s:s}", "withdraws", withdraws, "reason", reason,
                              "request",
                              "This notification was sent to you in error. Please delete it and "
                              "any copies you hold, do not act on it, and do not pass it on.");
    if (!p || !extra || json_object_update(p, extra) < 0) {
        json_decref(p);
        p = NULL;
    }
    json_decref(extra);
    return p;
}

json_t *sdat_payload_readdressed(const struct sdat_payload_common *common, const json_t *old)
{
    static const char *const own[] = {"schema",        "notification_id", "kind",
                                      "recipient",     "created_at",      "scheduled_for",
                                      "lawful_basis",  "ack_url",         "route_reason",
                                      "amends",        NULL};
    json_t *p = common_fields(common);
    const char *name;
    json_t *v;
    if (!p) {
        return NULL;
    }
    json_object_foreach ((json_t *)old, name, v) {
        bool common_member = false;
        for (const char *const *o = own; *o && !common_member; o++) {
            common_member = strcmp(*o, name) == 0;
        }
        if (!common_member && json_object_set(p, name, v) < 0) {
            json_decref(p);
            return NULL;
        }
    }
    return p;
}

static json_t *officer_for(const json_t *incident, bool with_id)
{
    static const char *const school_fields[] = {"name", "phone", "email", NULL};
    static const char *const all_fields[] = {"id", "name", "phone", "email", NULL};
    json_t *officer = json_object();
    if (officer && copy_fields(officer, json_object_get(incident, "officer"),
                               with_id ? all_fields : school_fields) < 0) {
        json_decref(officer);
        return NULL;
    }
    return officer;
}

json_t *sdat_payload_school_incident(const struct sdat_payload_common *common,
                                     const json_t *incident, const json_t *police_child,
                                     const json_t *register_child)
{
    static const char *const child_full[] = {"given_name", "family_name", "dob", "upn", NULL};
    static const char *const child_minimal[] = {"given_name", "family_name", "dob", NULL};
    static const char *const police_full[] = {"present", "resident", "spoken_to", "voice", NULL};
    static const char *const police_minimal[] = {"present", NULL};
    bool minimal = common->recipient->minimal;
    json_t *p = common_fields(common);
    json_t *child = json_object();
    json_t *inc = json_object();
    json_t *officer = officer_for(incident, false);

    if (!p || !child || !inc || !officer) {
        goto fail;
    }
    /* The names the school knows the child by: the register's, not the
     * officer's spelling (flows.md §5). */
    if (copy_fields(child, register_child, minimal ? child_minimal : child_full) < 0) {
        goto fail;
    }
    if (json_object_set(inc, "force", json_object_get(incident, "force")) < 0 ||
        json_object_set(inc, "reference", json_object_get(incident, "incident_id")) < 0 ||
        json_object_set(inc, "occurred_at", json_object_get(incident, "occurred_at")) < 0 ||
        copy_fields(inc, police_child, minimal ? police_minimal : police_full) < 0) {
        goto fail;
    }
    if (!minimal && json_object_get(incident, "circumstances") &&
        json_object_set(inc, "circumstances", json_object_get(incident, "circumstances")) < 0) {
        goto fail;
    }
    if (json_object_set_new(p, "child", child) < 0 || json_object_set_new(p, "incident", inc) < 0 ||
        json_object_set_new(p, "officer", officer) < 0) {
        child = inc = officer = NULL;
        goto fail;
    }
    return p;
fail:
    json_decref(p);
    json_decref(child);
    json_decref(inc);
    json_decref(officer);
    return NULL;
}

/* The incident as police sent it, less the children (each notification
 * carries one child) and the officer (a member of its own). */
static json_t *incident_as_sent(const json_t *incident)
{
    static const char *const fields[] = {"force",    "version", "occurred_at", "reported_at",
                                         "location", "risk",    "urgent",      "circumstances",
                                         NULL};
    json_t *inc = json_object();
    if (!inc || copy_fields(inc, incident, fields) < 0 ||
        json_object_set(inc, "reference", json_object_get(incident, "incident_id")) < 0) {
        json_decref(inc);
        return NULL;
    }
    return inc;
}

/* Shared by the MASH kinds: the police child, the incident, the officer and
 * the lenient fields that were ignored for matching. */
static json_t *mash_base(const struct sdat_payload_common *common, const json_t *incident,
                         const json_t *police_child, const json_t *ignored_fields)
{
    json_t *p = common_fields(common);
    if (!p) {
        return NULL;
    }
    if (json_object_set(p, "child", (json_t *)police_child) < 0 ||
        json_object_set_new(p, "incident", incident_as_sent(incident)) < 0 ||
        json_object_set_new(p, "officer", officer_for(incident, true)) < 0) {
        json_decref(p);
        return NULL;
    }
    if (json_array_size(ignored_fields) > 0 &&
        json_object_set(p, "ignored_fields", (json_t *)ignored_fields) < 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

json_t *sdat_payload_other_incident(const struct sdat_payload_common *common,
                                    const json_t *incident, const json_t *police_child,
                                    const char *register_child_id, const json_t *ignored_fields)
{
    json_t *p = mash_base(common, incident, police_child, ignored_fields);
    if (p && json_object_set_new(p, "register_child_id", json_string(register_child_id)) < 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

json_t *sdat_payload_unmatched(const struct sdat_payload_common *common, const json_t *incident,
                               const json_t *police_child, const json_t *candidates,
                               const json_t *ignored_fields)
{
    static const char *const candidate_fields[] = {"child_id", "given_name", "family_name", "dob",
                                                   "score",    NULL};
    json_t *p = mash_base(common, incident, police_child, ignored_fields);
    json_t *list = json_array();
    size_t i;
    json_t *c;

    if (!p || !list) {
        goto fail;
    }
    json_array_foreach(candidates, i, c)
    {
        if (i >= 5) {
            break;
        }
        json_t *one = json_object();
        if (!one || copy_fields(one, c, candidate_fields) < 0 || json_array_append_new(list, one) < 0) {
            json_decref(one);
            goto fail;
        }
    }
    if (json_object_set_new(p, "candidates", list) < 0) {
        list = NULL;
        goto fail;
    }
    return p;
fail:
    json_decref(p);
    json_decref(list);
    return NULL;
}

json_t *sdat_payload_review(const struct sdat_payload_common *common, const json_t *incident,
                            const json_t *police_child, const json_t *candidates,
                            const json_t *ignored_fields, const char *review_id)
{
    json_t *p = sdat_payload_unmatched(common, incident, police_child, candidates, ignored_fields);
    if (!p || json_object_set_new(p, "review_id", json_string(review_id)) < 0) {
        json_decref(p);
        return NULL;
    }
    if (common->public_url && common->public_url[0]) {
        char url[1024];
        size_t len = strlen(common->public_url);
        snprintf(url, sizeof url, "%.*s/v1/reviews/%s",
                 (int)(len && common->public_url[len - 1] == '/' ? len - 1 : len),
                 common->public_url, review_id);
        if (json_object_set_new(p, "review_url", json_string(url)) < 0) {
            json_decref(p);
            return NULL;
        }
    }
    return p;
}

json_t *sdat_payload_urgent(const struct sdat_payload_common *common, const json_t *incident,
                            const json_t *decisions)
{
    json_t *p = common_fields(common);
    json_t *children = json_array();
    size_t i;
    json_t *child;

    if (!p || !children) {
        goto fail;
    }
    json_array_foreach(json_object_get(incident, "children"), i, child)
    {
        json_t *entry = json_pack("{s:O, s:s}", "child", child, "decision", "out-of-scope");
        if (!entry || json_array_append_new(children, entry) < 0) {
            goto fail;
        }
        size_t k;
        json_t *d;
        json_array_foreach(decisions, k, d)
        {
            if ((size_t)json_integer_value(json_object_get(d, "position")) != i) {
                continue;
            }
            json_object_set(entry, "decision", json_object_get(d, "decision"));
            if (json_object_get(d, "register_child_id")) {
                json_object_set(entry, "register_child_id", json_object_get(d, "register_child_id"));
            }
        }
    }
    if (json_object_set_new(p, "incident", incident_as_sent(incident)) < 0 ||
        json_object_set_new(p, "officer", officer_for(incident, true)) < 0 ||
        json_object_set_new(p, "children", children) < 0) {
        children = NULL;
        goto fail;
    }
    return p;
fail:
    json_decref(p);
    json_decref(children);
    return NULL;
}

json_t *sdat_payload_delivery_failed(const struct sdat_payload_common *common, const char *reason,
                                     const char *failed_id, const char *failed_kind,
                                     const struct sdat_recipient *failed_recipient, int attempts,
                                     const char *last_error, const json_t *failed_payload)
{
    json_t *p = common_fields(common);
    if (!p) {
        return NULL;
    }
    json_t *extra = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}, s:i, s:o}", "reason", reason,
                              "failed_notification_id", failed_id, "failed_kind", failed_kind,
                              "failed_recipient", "id", failed_recipient->id, "name",
                              failed_recipient->name, "attempts", attempts, "notification",
                              failed_payload ? json_incref((json_t *)failed_payload)
                                             : json_object());
    if (!extra || json_object_update(p, extra) < 0) {
        json_decref(extra);
        json_decref(p);
        return NULL;
    }
    json_decref(extra);
    if (last_error && *last_error) {
        char cut[501];
        snprintf(cut, sizeof cut, "%s", last_error);
        json_object_set_new(p, "last_error", json_string(cut));
    }
    return p;
}

json_t *sdat_payload_cpis_access(const struct sdat_payload_common *common,
                                 const json_t *attendance, const char *attendance_key,
                                 const json_t *flag, const json_t *accesses)
{
    static const char *const patient_fields[] = {"nhs_number", "given_name", "family_name", "dob",
                                                 NULL};
    static const char *const attendance_fields[] = {"ods_code", "setting", "arrived_at", NULL};
    static const char *const flag_fields[] = {"flag_id", "type", "start_date", "end_date",
                                              "expected_delivery_date", NULL};
    static const char *const access_fields[] = {"ods_code", "setting", "arrived_at", NULL};
    json_t *p = common_fields(common);
    json_t *patient = json_object();
    json_t *att = json_pack("{s:s}", "key", attendance_key);
    json_t *one = json_object();
    json_t *flags = json_array();
    json_t *list = json_array();
    json_t *ret = NULL;
    size_t i;
    json_t *a;

    if (!p || !patient || !att || !one || !flags || !list ||
        copy_fields(patient, json_object_get(attendance, "patient"), patient_fields) < 0 ||
        copy_fields(att, attendance, attendance_fields) < 0 ||
        copy_fields(one, flag, flag_fields) < 0 || json_array_append(flags, one) < 0) {
        goto out;
    }
    json_array_foreach(accesses, i, a)
    {
        if (i >= 25) {
            break;
        }
        json_t *entry = json_object();
        if (!entry || copy_fields(entry, a, access_fields) < 0) {
            json_decref(entry);
            goto out;
        }
        if (json_array_append_new(list, entry) < 0) { /* it took entry */
            goto out;
        }
    }
    if (json_object_set(p, "patient", patient) == 0 && json_object_set(p, "attendance", att) == 0 &&
        json_object_set(p, "flags", flags) == 0 && json_object_set(p, "accesses", list) == 0) {
        ret = p;
        p = NULL;
    }
out:
    json_decref(p);
    json_decref(patient);
    json_decref(att);
    json_decref(one);
    json_decref(flags);
    json_decref(list);
    return ret;
}
