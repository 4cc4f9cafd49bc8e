/* A police domestic abuse incident (flows.md §1): scope, match, route and
 * notify, for each child independently. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "engine.h"
#include "formats.h"
#include "ids.h"
#include "log.h"
#include "match.h"
#include "payload.h"
#include "route.h"
#include "timeutil.h"

struct child_ctx {
    const json_t *incident;
    const char *key;
    int64_t version;
    size_t index;
    const json_t *police_child;
    char ref[40];
    json_t *ignored;   /* JSON Pointers of lenient fields ignored for this child */
    json_t *decisions; /* per incident: [{position, decision, register_child_id?}] */
};

/* Whether a lenient field of child i was reported as failing its format. */
static bool ignored_field(const struct sdat_validation *v, size_t i, const char *field)
{
    char path[96];
    snprintf(path, sizeof path, "/children/%zu/%s", i, field);
    for (size_t k = 0; k < v->n_warnings; k++) {
        if (strcmp(v->warnings[k].path, path) == 0) {
            return true;
        }
    }
    return false;
}

static const char *lawful_basis_for(const struct sdat_config *cfg, const char *kind)
{
    if (strcmp(kind, "da-incident") == 0) {
        return cfg->lawful_basis.da_incident;
    }
    if (strcmp(kind, "review-needed") == 0) {
        return cfg->lawful_basis.review_needed;
    }
    if (strcmp(kind, "unmatched-child") == 0) {
        return cfg->lawful_basis.unmatched_child;
    }
    return cfg->lawful_basis.da_incident_urgent;
}

/* Builds, validates, stores and audits one notification. */
static int notify(struct sdat_engine *e, const struct child_ctx *c, const struct sdat_route *route,
                  const json_t *register_child, const json_t *candidates, int64_t now_ms,
                  char *err, size_t errlen)
{
    char id[SDAT_ID_LEN + 1], sha[65];
    struct sdat_payload_common common = {
        .notification_id = id,
        .kind = route->kind,
        .recipient = route->recipient,
        .created_ms = now_ms,
        /* Delivered at once; the school calendar is the routing issue's. */
        .scheduled_ms = now_ms,
        .lawful_basis = lawful_basis_for(e->cfg, route->kind),
        .public_url = e->cfg->http.public_url,
        .route_reason = route->route_reason,
    };
    json_t *payload = NULL;
    char *text = NULL;
    int r;

    sdat_id_notification(route->kind, c->key, c->version, c->ref[0] ? c->ref : NULL,
                         route->recipient->id, NULL, id);
    if (strcmp(route->kind, "da-incident-urgent") == 0) {
        payload = sdat_payload_urgent(&common, c->incident, c->decisions);
    } else if (route->school) {
        payload = sdat_payload_school_incident(&common, c->incident, c->police_child,
                                               register_child);
    } else if (strcmp(route->kind, "da-incident") == 0) {
        payload = sdat_payload_other_incident(
            &common, c->incident, c->police_child,
            json_string_value(json_object_get(register_child, "child_id")), c->ignored);
    } else {
        payload = sdat_payload_unmatched(&common, c->incident, c->police_child, candidates,
                                         c->ignored);
    }
    if (!payload) {
        return -ENOMEM;
    }
    struct sdat_validation v;
    if (sdat_schemas_validate(e->schemas, payload, "sdat.notification/1", &v) != 0) {
        /* A bug in a builder: never send it. The event is dead-lettered so
         * that nothing is lost and it can be replayed after a fix. */
        log_error("engine", "refusing notification id=%s kind=%s: payload fails "
                  "sdat.notification/1 at %s: %s",
                  id, route->kind, v.n_errors ? v.errors[0].path : "",
                  v.n_errors ? v.errors[0].message : "");
        snprintf(err, errlen, "built payload fails sdat.notification/1 at %s: %s",
                 v.n_errors ? v.errors[0].path : "", v.n_errors ? v.errors[0].message : "");
        r = -EDOM;
        goto out;
    }
    text = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
    if (!text) {
        r = -ENOMEM;
        goto out;
    }
    sdat_sha256_hex(text, strlen(text), sha);
    struct sdat_notification n = {
        .kind = route->kind,
        .recipient = route->recipient->id,
        .source_key = c->key,
        .source_version = c->version,
        .child_ref = c->ref,
        .state = "scheduled",
        .created_ms = now_ms,
        .scheduled_ms = common.scheduled_ms,
        .next_attempt_ms = common.scheduled_ms,
        .payload = text,
        .payload_sha256 = sha,
        .route_reason = route->route_reason,
    };
    memcpy(n.id, id, sizeof id);
    r = sdat_store_notification_insert(e->st, &n);
    if (r == 1) {
        r = 0; /* the same event again: the notification exists already */
        goto out;
    }
    if (r < 0) {
        goto out;
    }
    char scheduled[32];
    sdat_time_format_ms(common.scheduled_ms, scheduled, sizeof scheduled);
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s}", "kind", route->kind, "payload_sha256", sha,
                               "scheduled_for", scheduled, "lawful_basis", common.lawful_basis);
    if (detail && c->ref[0]) {
        json_object_set_new(detail, "child", json_string(c->ref));
    }
    if (detail && route->route_reason) {
        json_object_set_new(detail, "route_reason", json_string(route->route_reason));
    }
    r = sdat_audit_append(e->audit, e->st, now_ms, "notification.created", "sdatd",
                          json_pack("{s:s, s:s, s:s}", "notification_id", id, "recipient",
                                    route->recipient->id, "incident", c->key),
                          detail);
    if (r == 0) {
        log_info("engine", "notification created id=%s kind=%s recipient=%s incident=%s", id,
                 route->kind, route->recipient->id, c->key);
    }
out:
    free(text);
    json_decref(payload);
    return r;
}

/* The child's age on the incident date from a usable dob, else age; -1 when
 * neither is known. */
static int child_age(const json_t *child, bool use_dob, int32_t incident_days)
{
    int32_t dob;
    if (use_dob && sdat_date_parse(json_string_value(json_object_get(child, "dob")), &dob) == 0) {
        return sdat_age_on(dob, incident_days);
    }
    const json_t *age = json_object_get(child, "age");
    return json_is_integer(age) ? (int)json_integer_value(age) : -1;
}

/* The candidates shown to the MASH with an unmatched or review-needed
 * child: those with positive evidence (score above zero), with the names
 * and date of birth the register holds. New reference. */
static int candidates_for_mash(struct sdat_engine *e, const struct sdat_match_outcome *o,
                               json_t **ret_candidates)
{
    json_t *list = json_array();
    if (!list) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < o->n_candidates; i++) {
        if (o->candidates[i].score <= 0) {
            continue;
        }
        json_t *doc = NULL;
        int r = sdat_store_child_get(e->st, o->candidates[i].child_id, &doc);
        if (r < 0) {
            json_decref(list);
            return r;
        }
        char score[16];
        sdat_match_format_score(o->candidates[i].score, score);
        json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:O, s:s}", "child_id",
                                              json_object_get(doc, "child_id"), "given_name",
                                              json_object_get(doc, "given_name"), "family_name",
                                              json_object_get(doc, "family_name"), "dob",
                                              json_object_get(doc, "dob"), "score", score));
        json_decref(doc);
    }
    *ret_candidates = list;
    return 0;
}

int sdat_engine_match(struct sdat_engine *e, const struct sdat_match_query *q,
                      struct sdat_match_params *ret_params, struct sdat_match_outcome *ret)
{
    struct sdat_register_row *rows = NULL;
    size_t n_rows = 0;
    int64_t size = 0;
    int r = sdat_store_child_count(e->st, &size);
    if (r == 0) {
        r = sdat_store_register_candidates(e->st, q, &rows, &n_rows);
    }
    if (r < 0) {
        return r;
    }
    *ret_params = (struct sdat_match_params){
        .match_threshold = e->cfg->matching.match_threshold,
        .review_threshold = e->cfg->matching.review_threshold,
        .match_margin = e->cfg->matching.match_margin,
        .register_size = size,
        .nicknames = e->nicknames,
    };
    sdat_match_decide(ret_params, q, rows, n_rows, ret);
    sdat_store_rows_free(rows, n_rows);
    return 0;
}

static int process_child(struct sdat_engine *e, struct child_ctx *c,
                         const struct sdat_validation *v, const struct sdat_area *incident_area,
                         int32_t incident_days, int32_t reported_days, int64_t now_ms, char *err,
                         size_t errlen)
{
    bool use_dob = !ignored_field(v, c->index, "dob");
    json_t *candidates = NULL, *register_child = NULL;
    int r;

    int age = child_age(c->police_child, use_dob, incident_days);
    if (age >= 18) {
        return sdat_audit_append(
            e->audit, e->st, now_ms, "child.out-of-scope", "sdatd",
            json_pack("{s:s, s:s}", "incident", c->key, "child", c->ref),
            json_pack("{s:I, s:s}", "position", (json_int_t)c->index, "reason", "18 or over"));
    }
    struct sdat_match_query q;
    sdat_match_query_from_incident(c->incident, c->index, v, incident_days, &q);
    struct sdat_match_params params;
    struct sdat_match_outcome o;
    r = sdat_engine_match(e, &q, &params, &o);
    if (r < 0) {
        return r;
    }
    if (o.decision == SDAT_DECISION_MATCH) {
        r = sdat_store_child_get(e->st, o.child_id, &register_child);
    } else {
        r = candidates_for_mash(e, &o, &candidates);
    }
    if (r < 0) {
        goto out;
    }
    /* The explanation: ids, levels, weights and thresholds, never names. */
    json_t *detail = sdat_match_explain(&params, &o);
    json_object_set_new(detail, "position", json_integer((json_int_t)c->index));
    json_t *decided = json_pack("{s:I, s:s}", "position", (json_int_t)c->index, "decision",
                                sdat_decision_name(o.decision));
    if (decided && register_child) {
        json_object_set_new(decided, "register_child_id", json_string(o.child_id));
    }
    json_array_append_new(c->decisions, decided);
    r = sdat_audit_append(e->audit, e->st, now_ms, "match.decided", "sdatd",
                          json_pack("{s:s, s:s}", "incident", c->key, "child", c->ref), detail);
    if (r < 0) {
        goto out;
    }
    log_debug("engine", "match incident=%s child=%s decision=%s rule=%s considered=%zu", c->key,
              c->ref, sdat_decision_name(o.decision), o.rule, o.considered);

    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n_routes = 0;
    r = sdat_route_child(e->cfg, o.decision, register_child, incident_area, reported_days,
                         incident_days, routes, &n_routes, err, errlen);
    if (r < 0) {
        r = -EDOM;
        goto out;
    }
    for (size_t k = 0; k < n_routes && r == 0; k++) {
        r = notify(e, c, &routes[k], register_child, candidates, now_ms, err, errlen);
    }
out:
    json_decref(candidates);
    json_decref(register_child);
    return r;
}

int sdat_engine_incident(struct sdat_engine *e, const struct sdat_inbound *m, const json_t *doc,
                         const struct sdat_validation *v, int64_t now_ms, char *err,
                         size_t errlen)
{
    char key[160];
    int64_t version = 1, prior = 0;
    int64_t occurred_ms, reported_ms;
    int32_t incident_days, reported_days;
    int r;

    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(doc, "force")),
             json_string_value(json_object_get(doc, "incident_id")));
    if (json_is_integer(json_object_get(doc, "version"))) {
        version = json_integer_value(json_object_get(doc, "version"));
    }
    json_t *subject = json_pack("{s:s}", "incident", key);
    json_t *where = json_pack("{s:s, s:i, s:I, s:I}", "topic", m->topic, "partition",
                              (int)m->partition, "offset", (json_int_t)m->offset, "version",
                              (json_int_t)version);
    r = sdat_store_incident_version(e->st, key, &prior);
    if (r == 0 && version <= prior) {
        /* The same version again is a no-op; a lower one is stale. */
        const char *type = version == prior ? "event.duplicate" : "event.stale";
        log_info("engine", "%s incident=%s version=%" PRId64, type, key, version);
        return sdat_audit_append(e->audit, e->st, now_ms, type, "sdatd", subject, where);
    }
    if (r < 0 && r != -ENOENT) {
        goto fail;
    }
    if (sdat_datetime_parse(json_string_value(json_object_get(doc, "occurred_at")), &occurred_ms) < 0 ||
        sdat_datetime_parse(json_string_value(json_object_get(doc, "reported_at")), &reported_ms) < 0 ||
        sdat_time_local_date(occurred_ms, e->cfg->timezone, &incident_days) < 0 ||
        sdat_time_local_date(reported_ms, e->cfg->timezone, &reported_days) < 0) {
        snprintf(err, errlen, "cannot resolve the incident's dates in timezone \"%s\"",
                 e->cfg->timezone);
        r = -EDOM;
        goto fail;
    }
    const struct sdat_area *area = sdat_route_incident_area(e->cfg, doc);
    if (!area) {
        snprintf(err, errlen, "force is not configured and the postcode is in no area");
        r = -EDOM;
        goto fail;
    }

    json_t *ignored = json_array();
    for (size_t k = 0; k < v->n_warnings; k++) {
        json_array_append_new(ignored, json_string(v->warnings[k].path));
    }
    json_object_set(where, "ignored_fields", ignored);
    json_object_set_new(where, "children", json_integer((json_int_t)json_array_size(json_object_get(doc, "children"))));
    json_object_set_new(where, "area", json_string(area->la_code));
    r = sdat_audit_append(e->audit, e->st, now_ms, "event.accepted", "sdatd", subject, where);
    subject = where = NULL;
    if (r < 0) {
        json_decref(ignored);
        return r;
    }
    json_t *decisions = json_array();
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(doc, "children"), i, child)
    {
        struct child_ctx c = {.incident = doc,
                              .key = key,
                              .version = version,
                              .index = i,
                              .police_child = child,
                              .decisions = decisions};
        const char *ref = json_string_value(json_object_get(child, "ref"));
        if (ref) {
            snprintf(c.ref, sizeof c.ref, "%s", ref);
        } else {
            snprintf(c.ref, sizeof c.ref, "%zu", i);
        }
        c.ignored = json_array();
        for (size_t k = 0; k < v->n_warnings; k++) {
            char prefix[48];
            int plen = snprintf(prefix, sizeof prefix, "/children/%zu/", i);
            if (strncmp(v->warnings[k].path, prefix, (size_t)plen) == 0) {
                json_array_append_new(c.ignored, json_string(v->warnings[k].path));
            }
        }
        r = process_child(e, &c, v, area, incident_days, reported_days, now_ms, err, errlen);
        json_decref(c.ignored);
        if (r < 0) {
            json_decref(ignored);
            json_decref(decisions);
            return r;
        }
    }
    json_decref(ignored);
    /* Once per incident: high risk or an officer's request for same-day
     * attention also tells the incident area's MASH at once. */
    const char *risk = json_string_value(json_object_get(doc, "risk"));
    if ((risk && strcmp(risk, "high") == 0) || json_is_true(json_object_get(doc, "urgent"))) {
        struct child_ctx whole = {
            .incident = doc, .key = key, .version = version, .decisions = decisions};
        const struct sdat_recipient *mash =
            area->mash ? sdat_config_recipient(e->cfg, area->mash) : NULL;
        if (!mash) {
            snprintf(err, errlen, "the incident area has no MASH recipient");
            json_decref(decisions);
            return -EDOM;
        }
        struct sdat_route urgent = {.recipient = mash, .kind = "da-incident-urgent"};
        r = notify(e, &whole, &urgent, NULL, NULL, now_ms, err, errlen);
    }
    json_decref(decisions);
    if (r < 0) {
        return r;
    }
    return sdat_store_incident_put(e->st, key, version, now_ms);
fail:
    json_decref(subject);
    json_decref(where);
    return r;
}
