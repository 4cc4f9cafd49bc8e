/* A police domestic abuse incident (flows.md §1): scope, match, route and
 * notify, for each child independently. */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "digest.h"
#include "engine.h"
#include "formats.h"
#include "ids.h"
#include "log.h"
#include "match.h"
#include "metrics.h"
#include "payload.h"
#include "route.h"
#include "schedule.h"
#include "timeutil.h"

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

/* The candidates of a decision worth showing a person: those with positive
 * evidence (score above zero), as [{child_id, score}]. New reference. */
static json_t *candidate_ids(const struct sdat_match_outcome *o)
{
    json_t *list = json_array();
    for (size_t i = 0; list && i < o->n_candidates; i++) {
        if (o->candidates[i].score <= 0) {
            continue;
        }
        char score[16];
        sdat_match_format_score(o->candidates[i].score, score);
        json_array_append_new(list, json_pack("{s:s, s:s}", "child_id", o->candidates[i].child_id,
                                              "score", score));
    }
    return list;
}

/* The candidates shown to the MASH with an unmatched or review-needed
 * child: ids and scores with the names and date of birth the register
 * holds (a child deleted since is left out). New reference. */
static int candidates_for_mash(struct sdat_engine *e, const json_t *ids, json_t **ret_candidates)
{
    json_t *list = json_array();
    size_t i;
    json_t *c;
    if (!list) {
        return -ENOMEM;
    }
    json_array_foreach(ids, i, c)
    {
        json_t *doc = NULL;
        int r = sdat_store_child_get(e->st, json_string_value(json_object_get(c, "child_id")), &doc);
        if (r == -ENOENT) {
            continue;
        }
        if (r < 0) {
            json_decref(list);
            return r;
        }
        json_array_append_new(list, json_pack("{s:O, s:O, s:O, s:O, s:O}", "child_id",
                                              json_object_get(doc, "child_id"), "given_name",
                                              json_object_get(doc, "given_name"), "family_name",
                                              json_object_get(doc, "family_name"), "dob",
                                              json_object_get(doc, "dob"), "score",
                                              json_object_get(c, "score")));
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


/* A notification of an earlier version of the incident that is still live
 * (not superseded or cancelled), for the amendment rules. */
struct prior {
    char id[40];
    char *kind, *recipient, *child_ref, *state, *content;
    int64_t scheduled_ms;
    bool seen; /* the new version routes the same child to the same recipient */
};

/* One incident being processed (or one review being decided). */
struct incident_ctx {
    struct sdat_engine *e;
    const json_t *doc;
    const char *key;
    int64_t version;
    int64_t reported_ms;
    int32_t incident_days, reported_days;
    const struct sdat_area *area;
    const struct sdat_validation *v;
    struct prior *prior;
    size_t n_prior;
    json_t *decisions; /* [{position, decision, register_child_id?}] for the urgent copy */
    json_t *created;   /* ids of the notifications created, in order */
    int64_t now_ms;
    char *err;
    size_t errlen;
};

struct child_ctx {
    size_t index;
    const json_t *police_child;
    char ref[40];
    json_t *ignored; /* JSON Pointers of lenient fields ignored for this child */
    const char *review_id;
};

/* A route with its delivery time. */
struct planned {
    struct sdat_route route;
    int64_t at_ms;
};

/* The part of a payload that says something to its recipient: everything
 * but the fields that differ between any two notifications (id, times, the
 * link that carries the id, amends) and the incident's version number. Two
 * payloads with the same content tell the recipient nothing new. */
static char *payload_content(const json_t *payload)
{
    static const char *const volatile_fields[] = {"notification_id", "created_at", "scheduled_for",
                                                  "amends", "ack_url", NULL};
    json_t *copy = json_deep_copy(payload);
    if (!copy) {
        return NULL;
    }
    for (const char *const *f = volatile_fields; *f; f++) {
        json_object_del(copy, *f);
    }
    json_t *incident = json_object_get(copy, "incident");
    if (json_is_object(incident)) {
        json_object_del(incident, "version");
    }
    char *text = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(copy);
    return text;
}

static void priors_free(struct prior *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(p[i].kind);
        free(p[i].recipient);
        free(p[i].child_ref);
        free(p[i].state);
        free(p[i].content);
    }
    free(p);
}

static bool live_state(const char *state)
{
    return strcmp(state, "superseded") != 0 && strcmp(state, "cancelled") != 0;
}

static int collect_prior(const struct sdat_notification *n, void *opaque)
{
    struct incident_ctx *ic = opaque;
    if (!live_state(n->state) || strcmp(n->kind, "withdrawn") == 0) {
        return 0;
    }
    struct prior *grown = realloc(ic->prior, (ic->n_prior + 1) * sizeof *grown);
    if (!grown) {
        return -ENOMEM;
    }
    ic->prior = grown;
    struct prior *p = &ic->prior[ic->n_prior];
    json_t *payload = n->payload ? json_loads(n->payload, 0, NULL) : NULL;
    *p = (struct prior){
        .kind = strdup(n->kind),
        .recipient = strdup(n->recipient),
        .child_ref = n->child_ref ? strdup(n->child_ref) : NULL,
        .state = strdup(n->state),
        /* A payload removed by retention compares as changed. */
        .content = payload ? payload_content(payload) : NULL,
        .scheduled_ms = n->scheduled_ms,
    };
    json_decref(payload);
    memcpy(p->id, n->id, sizeof p->id);
    ic->n_prior++;
    return p->kind && p->recipient && p->state ? 0 : -ENOMEM;
}

static bool same_ref(const char *a, const char *b)
{
    return (!a || !*a) ? (!b || !*b) : (b && strcmp(a, b) == 0);
}

/* The latest live notification of an earlier version for this child (NULL:
 * the per-incident kinds) and recipient, or NULL. */
static struct prior *prior_for(struct incident_ctx *ic, const char *child_ref,
                               const char *recipient)
{
    struct prior *found = NULL;
    for (size_t i = 0; i < ic->n_prior; i++) {
        struct prior *p = &ic->prior[i];
        if (same_ref(p->child_ref, child_ref) && strcmp(p->recipient, recipient) == 0) {
            p->seen = true;
            found = p;
        }
    }
    return found;
}

static int audit_state_change(struct incident_ctx *ic, const struct prior *p, const char *type,
                              const char *reason, const char *by_id)
{
    json_t *detail = json_pack("{s:s, s:s, s:I}", "kind", p->kind, "reason", reason, "version",
                               (json_int_t)ic->version);
    if (detail && by_id) {
        json_object_set_new(detail, "superseded_by", json_string(by_id));
    }
    log_info("engine", "%s id=%s recipient=%s incident=%s: %s", type, p->id, p->recipient,
             ic->key, reason);
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, p->kind,
                     strcmp(type, "notification.cancelled") == 0 ? "cancelled" : "superseded");
    return sdat_audit_append(ic->e->audit, ic->e->st, ic->now_ms, type, "sdatd",
                             json_pack("{s:s, s:s, s:s}", "notification_id", p->id, "recipient",
                                       p->recipient, "incident", ic->key),
                             detail);
}

/* Builds, validates, stores and audits one notification, applying the
 * amendment rules against the live notifications of earlier versions. */
static int notify(struct incident_ctx *ic, const struct child_ctx *c, const struct planned *plan,
                  const json_t *register_child, const json_t *candidates)
{
    struct sdat_engine *e = ic->e;
    const struct sdat_route *route = &plan->route;
    const char *ref = c ? c->ref : NULL;
    char id[SDAT_ID_LEN + 1], sha[65];
    struct sdat_payload_common common = {
        .notification_id = id,
        .kind = route->kind,
        .recipient = route->recipient,
        .created_ms = ic->now_ms,
        .scheduled_ms = plan->at_ms,
        .lawful_basis = lawful_basis_for(e->cfg, route->kind),
        .public_url = e->cfg->http.public_url,
        .route_reason = route->route_reason,
    };
    json_t *payload = NULL;
    char *text = NULL, *content = NULL;
    int r;

    sdat_id_notification(route->kind, ic->key, ic->version, ref, route->recipient->id, NULL, id);
    if (strcmp(route->kind, "da-incident-urgent") == 0) {
        payload = sdat_payload_urgent(&common, ic->doc, ic->decisions);
    } else if (route->school) {
        payload = sdat_payload_school_incident(&common, ic->doc, c->police_child, register_child);
    } else if (strcmp(route->kind, "da-incident") == 0) {
        payload = sdat_payload_other_incident(
            &common, ic->doc, c->police_child,
            json_string_value(json_object_get(register_child, "child_id")), c->ignored);
    } else if (strcmp(route->kind, "review-needed") == 0) {
        payload = sdat_payload_review(&common, ic->doc, c->police_child, candidates, c->ignored,
                                      c->review_id);
    } else {
        payload = sdat_payload_unmatched(&common, ic->doc, c->police_child, candidates,
                                         c->ignored);
    }
    if (!payload || !(content = payload_content(payload))) {
        r = -ENOMEM;
        goto out;
    }

    /* Amendments (flows.md §1): the same content pending or delivered is
     * left alone; changed content supersedes a pending notification (on its
     * schedule) or follows a delivered one with `amends`. */
    struct prior *p = prior_for(ic, ref, route->recipient->id);
    const char *amends = NULL;
    int64_t scheduled_ms = plan->at_ms;
    if (p && p->content && strcmp(p->content, content) == 0) {
        r = 0;
        goto out;
    }
    if (p && strcmp(p->state, "scheduled") == 0) {
        if (strcmp(p->kind, route->kind) == 0) {
            scheduled_ms = p->scheduled_ms;
        }
        r = sdat_store_notification_set_state(e->st, p->id, "superseded");
        if (r == 0) {
            r = audit_state_change(ic, p, "notification.superseded", "changed by a later version",
                                   id);
        }
        if (r < 0) {
            goto out;
        }
        free(p->state);
        p->state = strdup("superseded");
    } else if (p) {
        amends = p->id;
    }
    if (scheduled_ms != plan->at_ms) {
        char when[32];
        sdat_time_format_ms(scheduled_ms, when, sizeof when);
        json_object_set_new(payload, "scheduled_for", json_string(when));
    }
    if (amends) {
        json_object_set_new(payload, "amends", json_string(amends));
    }

    struct sdat_validation v;
    if (sdat_schemas_validate(e->schemas, payload, "sdat.notification/1", &v) != 0) {
        /* A bug in a builder: never send it. The event is dead-lettered so
         * that nothing is lost and it can be replayed after a fix. */
        log_error("engine", "refusing notification id=%s kind=%s: payload fails "
                  "sdat.notification/1 at %s: %s",
                  id, route->kind, v.n_errors ? v.errors[0].path : "",
                  v.n_errors ? v.errors[0].message : "");
        snprintf(ic->err, ic->errlen, "built payload fails sdat.notification/1 at %s: %s",
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
        .source_key = ic->key,
        .source_version = ic->version,
        .child_ref = ref,
        .state = "scheduled",
        .created_ms = ic->now_ms,
        .scheduled_ms = scheduled_ms,
        .next_attempt_ms = scheduled_ms,
        .payload = text,
        .payload_sha256 = sha,
        .amends = amends,
        .route_reason = route->route_reason,
        .register_child_id = json_string_value(json_object_get(register_child, "child_id")),
    };
    memcpy(n.id, id, sizeof id);
    r = sdat_store_notification_insert(e->st, &n);
    if (r == 1) {
        r = 0; /* two routes to one recipient (two exhausted calendars) */
        goto out;
    }
    if (r < 0) {
        goto out;
    }
    json_array_append_new(ic->created, json_string(id));
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, route->kind, "scheduled");
    char scheduled[32];
    sdat_time_format_ms(scheduled_ms, scheduled, sizeof scheduled);
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", route->kind, "payload_sha256",
                               sha, "scheduled_for", scheduled, "lawful_basis",
                               common.lawful_basis, "version", (json_int_t)ic->version);
    if (detail && ref) {
        json_object_set_new(detail, "child", json_string(ref));
    }
    if (detail && route->route_reason) {
        json_object_set_new(detail, "route_reason", json_string(route->route_reason));
    }
    if (detail && amends) {
        json_object_set_new(detail, "amends", json_string(amends));
    }
    if (detail && c && c->review_id) {
        json_object_set_new(detail, "review_id", json_string(c->review_id));
    }
    r = sdat_audit_append(e->audit, e->st, ic->now_ms, "notification.created", "sdatd",
                          json_pack("{s:s, s:s, s:s}", "notification_id", id, "recipient",
                                    route->recipient->id, "incident", ic->key),
                          detail);
    if (r == 0) {
        log_info("engine",
                 "notification created id=%s kind=%s recipient=%s incident=%s scheduled_for=%s%s%s",
                 id, route->kind, route->recipient->id, ic->key, scheduled,
                 amends ? " amends=" : "", amends ? amends : "");
    }
out:
    free(text);
    free(content);
    json_decref(payload);
    return r;
}

/* When each route is delivered: a school on its calendar from the
 * incident's reported_at (at once when that time has passed); an exhausted
 * calendar sends the notification at once to the school's area's education
 * safeguarding recipient (else its MASH) instead; everything else at once. */
static int plan_routes(struct incident_ctx *ic, const struct sdat_route *routes, size_t n,
                       struct planned *ret_plans)
{
    const struct sdat_config *cfg = ic->e->cfg;
    for (size_t i = 0; i < n; i++) {
        ret_plans[i] = (struct planned){.route = routes[i], .at_ms = ic->now_ms};
        if (!routes[i].school) {
            continue;
        }
        const struct sdat_recipient *school = routes[i].recipient;
        const struct sdat_calendar *cal = sdat_config_calendar(cfg, school->calendar);
        int64_t at_ms;
        bool exhausted;
        if (!cal || sdat_schedule_school(cal, ic->reported_ms, &at_ms, &exhausted) < 0) {
            snprintf(ic->err, ic->errlen, "school %s: calendar \"%s\" cannot be used", school->id,
                     school->calendar ? school->calendar : "");
            return -EDOM;
        }
        if (!exhausted) {
            ret_plans[i].at_ms = at_ms > ic->now_ms ? at_ms : ic->now_ms;
            continue;
        }
        const struct sdat_area *area = sdat_config_area(cfg, school->la_code);
        if (!area) {
            area = ic->area;
        }
        const struct sdat_recipient *r =
            area->education_safeguarding ? sdat_config_recipient(cfg, area->education_safeguarding)
                                         : NULL;
        if (!r && area->mash) {
            r = sdat_config_recipient(cfg, area->mash);
        }
        if (!r) {
            snprintf(ic->err, ic->errlen, "area %s has no education safeguarding or MASH recipient",
                     area->la_code);
            return -EDOM;
        }
        log_warn("schedule", "calendar \"%s\" has no school day in the 60 days after incident "
                 "%s was reported; notifying %s at once instead of %s",
                 cal->id, ic->key, r->id, school->id);
        ret_plans[i].route = (struct sdat_route){
            .recipient = r, .kind = "da-incident", .route_reason = "calendar-exhausted"};
    }
    return 0;
}

/* Routes a decided child and creates its notifications. */
static int route_and_notify(struct incident_ctx *ic, const struct child_ctx *c,
                            enum sdat_decision decision, const json_t *register_child,
                            const json_t *candidates)
{
    struct sdat_route routes[SDAT_ROUTE_MAX];
    struct planned plans[SDAT_ROUTE_MAX];
    size_t n = 0;
    int r = sdat_route_child(ic->e->cfg, decision, register_child, ic->area, ic->reported_days,
                             ic->incident_days, routes, &n, ic->err, ic->errlen);
    if (r < 0) {
        return -EDOM;
    }
    r = plan_routes(ic, routes, n, plans);
    for (size_t k = 0; k < n && r == 0; k++) {
        r = notify(ic, c, &plans[k], register_child, candidates);
    }
    return r;
}

/* A review decision: a review item holding the child's routing, audited. */
static int raise_review(struct incident_ctx *ic, struct child_ctx *c, const json_t *ids,
                        char ret_id[SDAT_ID_LEN + 1])
{
    struct sdat_engine *e = ic->e;
    char *candidates = json_dumps(ids, JSON_COMPACT | JSON_SORT_KEYS);
    if (!candidates) {
        return -ENOMEM;
    }
    sdat_id_review(ic->key, ic->version, c->ref, ret_id);
    struct sdat_review_item item = {
        .incident = ic->key,
        .version = ic->version,
        .position = (int)c->index,
        .child_ref = c->ref,
        .mash = ic->area->mash,
        .state = "open",
        .created_ms = ic->now_ms,
        .candidates = candidates,
    };
    memcpy(item.id, ret_id, SDAT_ID_LEN + 1);
    int r = sdat_store_review_insert(e->st, &item);
    free(candidates);
    if (r != 0) {
        return r < 0 ? r : 0;
    }
    log_info("engine", "review created id=%s incident=%s child=%s", ret_id, ic->key, c->ref);
    return sdat_audit_append(e->audit, e->st, ic->now_ms, "review.created", "sdatd",
                             json_pack("{s:s, s:s, s:s}", "review_id", ret_id, "incident", ic->key,
                                       "child", c->ref),
                             json_pack("{s:I, s:O, s:s}", "version", (json_int_t)ic->version,
                                       "candidates", ids, "mash", ic->area->mash));
}

static int process_child(struct incident_ctx *ic, struct child_ctx *c)
{
    struct sdat_engine *e = ic->e;
    bool use_dob = !ignored_field(ic->v, c->index, "dob");
    json_t *candidates = NULL, *register_child = NULL, *ids = NULL;
    char review_id[SDAT_ID_LEN + 1];
    int r;

    int age = child_age(c->police_child, use_dob, ic->incident_days);
    if (age >= 18) {
        return sdat_audit_append(
            e->audit, e->st, ic->now_ms, "child.out-of-scope", "sdatd",
            json_pack("{s:s, s:s}", "incident", ic->key, "child", c->ref),
            json_pack("{s:I, s:s}", "position", (json_int_t)c->index, "reason", "18 or over"));
    }
    struct sdat_match_query q;
    sdat_match_query_from_incident(ic->doc, c->index, ic->v, ic->incident_days, &q);
    struct sdat_match_params params;
    struct sdat_match_outcome o;
    r = sdat_engine_match(e, &q, &params, &o);
    if (r < 0) {
        return r;
    }
    if (o.decision == SDAT_DECISION_MATCH) {
        r = sdat_store_child_get(e->st, o.child_id, &register_child);
    } else if (!(ids = candidate_ids(&o))) {
        r = -ENOMEM;
    } else {
        r = candidates_for_mash(e, ids, &candidates);
    }
    if (r < 0) {
        goto out;
    }
    /* The explanation: ids, levels, weights and thresholds, never names. */
    json_t *detail = sdat_match_explain(&params, &o);
    json_object_set_new(detail, "position", json_integer((json_int_t)c->index));
    json_object_set_new(detail, "version", json_integer((json_int_t)ic->version));
    json_t *decided = json_pack("{s:I, s:s}", "position", (json_int_t)c->index, "decision",
                                sdat_decision_name(o.decision));
    if (decided && register_child) {
        json_object_set_new(decided, "register_child_id", json_string(o.child_id));
    }
    json_array_append_new(ic->decisions, decided);
    r = sdat_audit_append(e->audit, e->st, ic->now_ms, "match.decided", "sdatd",
                          json_pack("{s:s, s:s}", "incident", ic->key, "child", c->ref), detail);
    if (r < 0) {
        goto out;
    }
    sdat_metrics_add(SDAT_M_MATCH_DECISIONS, 1, sdat_decision_name(o.decision));
    log_debug("engine", "match incident=%s child=%s decision=%s rule=%s considered=%zu", ic->key,
              c->ref, sdat_decision_name(o.decision), o.rule, o.considered);
    if (o.decision == SDAT_DECISION_REVIEW) {
        r = raise_review(ic, c, ids, review_id);
        c->review_id = review_id;
    }
    if (r == 0) {
        r = route_and_notify(ic, c, o.decision, register_child, candidates);
    }
out:
    json_decref(ids);
    json_decref(candidates);
    json_decref(register_child);
    return r;
}

/* The incident's local dates (for the age rule and education spells) and
 * its reported_at instant (the school schedule's basis). */
static int incident_times(struct incident_ctx *ic)
{
    int64_t occurred_ms;
    const char *zone = ic->e->cfg->timezone;
    if (sdat_datetime_parse(json_string_value(json_object_get(ic->doc, "occurred_at")),
                            &occurred_ms) < 0 ||
        sdat_datetime_parse(json_string_value(json_object_get(ic->doc, "reported_at")),
                            &ic->reported_ms) < 0 ||
        sdat_time_local_date(occurred_ms, zone, &ic->incident_days) < 0 ||
        sdat_time_local_date(ic->reported_ms, zone, &ic->reported_days) < 0) {
        snprintf(ic->err, ic->errlen, "cannot resolve the incident's dates in timezone \"%s\"",
                 zone);
        return -EDOM;
    }
    return 0;
}

static void child_init(const struct incident_ctx *ic, size_t i, const json_t *child,
                       struct child_ctx *c)
{
    *c = (struct child_ctx){.index = i, .police_child = child};
    const char *ref = json_string_value(json_object_get(child, "ref"));
    if (ref) {
        snprintf(c->ref, sizeof c->ref, "%s", ref);
    } else {
        snprintf(c->ref, sizeof c->ref, "%zu", i);
    }
    c->ignored = json_array();
    char prefix[48];
    int plen = snprintf(prefix, sizeof prefix, "/children/%zu/", i);
    for (size_t k = 0; k < ic->v->n_warnings; k++) {
        if (strncmp(ic->v->warnings[k].path, prefix, (size_t)plen) == 0) {
            json_array_append_new(c->ignored, json_string(ic->v->warnings[k].path));
        }
    }
}

/* The police child of the incident with this ref (or position), or NULL. */
static const json_t *child_by_ref(const json_t *doc, const char *ref, size_t *ret_index)
{
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(doc, "children"), i, child)
    {
        const char *r = json_string_value(json_object_get(child, "ref"));
        char pos[24];
        if (!r) {
            snprintf(pos, sizeof pos, "%zu", i);
            r = pos;
        }
        if (strcmp(r, ref) == 0) {
            *ret_index = i;
            return child;
        }
    }
    return NULL;
}

/* Whether the incident still has a child with this ref. */
static bool has_child(const json_t *doc, const char *ref)
{
    size_t index;
    return child_by_ref(doc, ref, &index) != NULL;
}

/* Cancels the open review items of earlier versions: the new version
 * decides again. */
static int cancel_open_review(const struct sdat_review_item *item, void *opaque)
{
    struct incident_ctx *ic = opaque;
    if (strcmp(item->state, "open") != 0 || item->version >= ic->version) {
        return 0;
    }
    int r = sdat_store_review_decide(ic->e->st, item->id, "cancelled", "sdatd", ic->now_ms, NULL);
    if (r < 0) {
        return r;
    }
    log_info("engine", "review cancelled id=%s incident=%s: version %" PRId64 " decides again",
             item->id, ic->key, ic->version);
    return sdat_audit_append(
        ic->e->audit, ic->e->st, ic->now_ms, "review.decided", "sdatd",
        json_pack("{s:s, s:s, s:s}", "review_id", item->id, "incident", ic->key, "child",
                  item->child_ref),
        json_pack("{s:s, s:s, s:s, s:I}", "decision", "cancelled", "by", "sdatd", "reason",
                  "superseded by a later version", "version", (json_int_t)ic->version));
}

/* After a higher version: pending notifications it no longer routes are
 * cancelled (their child was removed) or superseded (routed elsewhere). */
static int settle_unseen(struct incident_ctx *ic)
{
    for (size_t i = 0; i < ic->n_prior; i++) {
        struct prior *p = &ic->prior[i];
        if (p->seen || strcmp(p->state, "scheduled") != 0) {
            continue;
        }
        bool removed = p->child_ref && *p->child_ref && !has_child(ic->doc, p->child_ref);
        const char *state = removed ? "cancelled" : "superseded";
        int r = sdat_store_notification_set_state(ic->e->st, p->id, state);
        if (r == 0) {
            r = audit_state_change(
                ic, p, removed ? "notification.cancelled" : "notification.superseded",
                removed ? "child removed by a later version"
                        : "a later version no longer routes it here",
                NULL);
        }
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

int sdat_engine_incident(struct sdat_engine *e, const struct sdat_inbound *m, const json_t *doc,
                         const struct sdat_validation *v, int64_t now_ms, char *err,
                         size_t errlen)
{
    char key[160];
    int64_t version = 1, prior = 0;
    struct incident_ctx ic = {
        .e = e, .doc = doc, .key = key, .v = v, .now_ms = now_ms, .err = err, .errlen = errlen};
    char *text = NULL;
    int r;

    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(doc, "force")),
             json_string_value(json_object_get(doc, "incident_id")));
    if (json_is_integer(json_object_get(doc, "version"))) {
        version = json_integer_value(json_object_get(doc, "version"));
    }
    ic.version = version;
    json_t *subject = json_pack("{s:s}", "incident", key);
    json_t *where = json_pack("{s:s, s:i, s:I, s:I}", "topic", m->topic, "partition",
                              (int)m->partition, "offset", (json_int_t)m->offset, "version",
                              (json_int_t)version);
    r = sdat_store_incident_version(e->st, key, &prior);
    if (r == 0 && version <= prior) {
        /* The same version again is a no-op; a lower one is stale. */
        const char *type = version == prior ? "event.duplicate" : "event.stale";
        log_info("engine", "%s incident=%s version=%" PRId64, type, key, version);
        if (version < prior) {
            json_object_set_new(where, "current_version", json_integer((json_int_t)prior));
        }
        return sdat_audit_append(e->audit, e->st, now_ms, type, "sdatd", subject, where);
    }
    if (r < 0 && r != -ENOENT) {
        goto out;
    }
    bool amendment = r == 0;
    r = incident_times(&ic);
    if (r < 0) {
        goto out;
    }
    ic.area = sdat_route_incident_area(e->cfg, doc);
    if (!ic.area) {
        snprintf(err, errlen, "force is not configured and the postcode is in no area");
        r = -EDOM;
        goto out;
    }

    json_t *ignored = json_array();
    for (size_t k = 0; k < v->n_warnings; k++) {
        json_array_append_new(ignored, json_string(v->warnings[k].path));
    }
    json_object_set_new(where, "ignored_fields", ignored);
    json_object_set_new(where, "children",
                        json_integer((json_int_t)json_array_size(json_object_get(doc, "children"))));
    json_object_set_new(where, "area", json_string(ic.area->la_code));
    if (amendment) {
        json_object_set_new(where, "supersedes_version", json_integer((json_int_t)prior));
    }
    r = sdat_audit_append(e->audit, e->st, now_ms, "event.accepted", "sdatd", subject, where);
    subject = where = NULL;
    if (r < 0) {
        goto out;
    }
    ic.decisions = json_array();
    ic.created = json_array();
    if (!ic.decisions || !ic.created) {
        r = -ENOMEM;
        goto out;
    }
    if (amendment) {
        r = sdat_store_notifications_for_source(e->st, key, collect_prior, &ic);
        if (r == 0) {
            r = sdat_store_reviews_each(e->st, key, cancel_open_review, &ic);
        }
        if (r < 0) {
            goto out;
        }
    }
    size_t i;
    json_t *child;
    json_array_foreach(json_object_get(doc, "children"), i, child)
    {
        struct child_ctx c;
        child_init(&ic, i, child, &c);
        r = process_child(&ic, &c);
        json_decref(c.ignored);
        if (r < 0) {
            goto out;
        }
    }
    /* Once per incident: high risk or an officer's request for same-day
     * attention also tells the incident area's MASH at once. */
    const char *risk = json_string_value(json_object_get(doc, "risk"));
    if ((risk && strcmp(risk, "high") == 0) || json_is_true(json_object_get(doc, "urgent"))) {
        const struct sdat_recipient *mash =
            ic.area->mash ? sdat_config_recipient(e->cfg, ic.area->mash) : NULL;
        if (!mash) {
            snprintf(err, errlen, "the incident area has no MASH recipient");
            r = -EDOM;
            goto out;
        }
        struct planned urgent = {
            .route = {.recipient = mash, .kind = "da-incident-urgent"}, .at_ms = now_ms};
        r = notify(&ic, NULL, &urgent, NULL, NULL);
        if (r < 0) {
            goto out;
        }
    }
    r = settle_unseen(&ic);
    if (r < 0) {
        goto out;
    }
    text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
    r = text ? sdat_store_incident_put(e->st, key, version, text, now_ms) : -ENOMEM;
out:
    free(text);
    json_decref(subject);
    json_decref(where);
    json_decref(ic.decisions);
    json_decref(ic.created);
    priors_free(ic.prior, ic.n_prior);
    return r;
}

struct review_ctx {
    struct sdat_review_item item;
    char incident[160], child_ref[40], mash[80], state[16];
    json_t *candidates;
};

static int copy_review(const struct sdat_review_item *item, void *opaque)
{
    struct review_ctx *rc = opaque;
    rc->item = *item;
    snprintf(rc->incident, sizeof rc->incident, "%s", item->incident);
    snprintf(rc->child_ref, sizeof rc->child_ref, "%s", item->child_ref);
    snprintf(rc->mash, sizeof rc->mash, "%s", item->mash);
    snprintf(rc->state, sizeof rc->state, "%s", item->state);
    rc->item.incident = rc->incident;
    rc->item.child_ref = rc->child_ref;
    rc->item.mash = rc->mash;
    rc->item.state = rc->state;
    rc->item.candidates = rc->item.decided_by = rc->item.register_child_id = NULL;
    rc->candidates = json_loads(item->candidates, 0, NULL);
    return rc->candidates ? 0 : -EIO;
}

int sdat_engine_review_decide(struct sdat_engine *e, const char *review_id,
                              const char *register_child_id, const char *by, int64_t now_ms,
                              json_t **ret_created, char *err, size_t errlen)
{
    struct review_ctx rc = {0};
    json_t *doc = NULL, *register_child = NULL, *candidates = NULL;
    struct incident_ctx ic = {.e = e, .now_ms = now_ms, .err = err, .errlen = errlen};
    struct sdat_validation v;
    int64_t version = 0;
    int r;

    r = sdat_store_review_get(e->st, review_id, copy_review, &rc);
    if (r < 0) {
        snprintf(err, errlen, r == -ENOENT ? "no review item %s" : "cannot read review item %s",
                 review_id);
        goto out;
    }
    if (strcmp(rc.state, "open") != 0) {
        snprintf(err, errlen, "review item %s is already %s", review_id, rc.state);
        r = -EALREADY;
        goto out;
    }
    r = sdat_store_incident_get(e->st, rc.incident, &version, &doc);
    if (r < 0 || version != rc.item.version) {
        /* An open item always belongs to the incident's latest version. */
        snprintf(err, errlen, "review item %s: incident %s version %" PRId64 " is not stored",
                 review_id, rc.incident, rc.item.version);
        r = r < 0 ? r : -ESTALE;
        goto out;
    }
    if (register_child_id) {
        r = sdat_store_child_get(e->st, register_child_id, &register_child);
        if (r == -ENOENT) {
            snprintf(err, errlen, "no register child %s", register_child_id);
            r = -EINVAL;
        }
        if (r < 0) {
            goto out;
        }
    }
    r = sdat_store_review_decide(e->st, review_id, register_child_id ? "accepted" : "rejected", by,
                                 now_ms, register_child_id);
    if (r < 0) {
        goto out;
    }
    json_t *detail = json_pack("{s:s, s:s, s:I}", "decision",
                               register_child_id ? "accept" : "reject", "by", by, "version",
                               (json_int_t)rc.item.version);
    if (detail && register_child_id) {
        json_object_set_new(detail, "register_child_id", json_string(register_child_id));
    }
    r = sdat_audit_append(e->audit, e->st, now_ms, "review.decided", by,
                          json_pack("{s:s, s:s, s:s}", "review_id", review_id, "incident",
                                    rc.incident, "child", rc.child_ref),
                          detail);
    if (r < 0) {
        goto out;
    }
    log_info("engine", "review decided id=%s decision=%s", review_id,
             register_child_id ? "accept" : "reject");

    /* Route as the decision says, from the incident as stored: the school
     * schedule is still computed from its reported_at. */
    sdat_schemas_validate(e->schemas, doc, "police.da-incident/1", &v);
    ic.doc = doc;
    ic.key = rc.incident;
    ic.version = version;
    ic.v = &v;
    ic.decisions = json_array();
    ic.created = json_array();
    if (!ic.decisions || !ic.created) {
        r = -ENOMEM;
        goto out;
    }
    r = incident_times(&ic);
    if (r < 0) {
        goto out;
    }
    ic.area = sdat_route_incident_area(e->cfg, doc);
    const json_t *child = json_array_get(json_object_get(doc, "children"), (size_t)rc.item.position);
    if (!ic.area || !child) {
        snprintf(err, errlen, "incident %s can no longer be routed", rc.incident);
        r = -EDOM;
        goto out;
    }
    r = sdat_store_notifications_for_source(e->st, rc.incident, collect_prior, &ic);
    if (r < 0) {
        goto out;
    }
    struct child_ctx c;
    child_init(&ic, (size_t)rc.item.position, child, &c);
    if (register_child) {
        r = route_and_notify(&ic, &c, SDAT_DECISION_MATCH, register_child, NULL);
    } else {
        r = candidates_for_mash(e, rc.candidates, &candidates);
        if (r == 0) {
            r = route_and_notify(&ic, &c, SDAT_DECISION_NONE, NULL, candidates);
        }
    }
    json_decref(c.ignored);
    if (r == 0 && ret_created) {
        *ret_created = json_incref(ic.created);
    }
out:
    json_decref(rc.candidates);
    json_decref(candidates);
    json_decref(doc);
    json_decref(register_child);
    json_decref(ic.decisions);
    json_decref(ic.created);
    priors_free(ic.prior, ic.n_prior);
    return r;
}


int sdat_engine_recheck(struct sdat_engine *e, const struct sdat_notification *n, int64_t now_ms)
{
    const struct sdat_config *cfg = e->cfg;
    const struct sdat_recipient *school = sdat_config_recipient(cfg, n->recipient);
    json_t *doc = NULL, *register_child = NULL;
    struct sdat_validation v;
    char err[256] = "";
    struct incident_ctx ic = {.e = e, .now_ms = now_ms, .err = err, .errlen = sizeof err};
    int64_t version = 0;
    int32_t today;
    int r;

    if (strcmp(n->kind, "da-incident") != 0 || !school || school->kind != SDAT_KIND_SCHOOL ||
        !n->register_child_id || !n->child_ref) {
        return 0;
    }
    r = sdat_store_incident_get(e->st, n->source_key, &version, &doc);
    if (r == -ENOENT || (r == 0 && version != n->source_version)) {
        r = 0; /* nothing to re-check against: deliver as decided */
        goto out;
    }
    if (r < 0) {
        goto out;
    }
    r = sdat_store_child_get(e->st, n->register_child_id, &register_child);
    if (r < 0 && r != -ENOENT) {
        goto out;
    }
    bool gone = r == -ENOENT;
    if (sdat_time_local_date(now_ms, cfg->timezone, &today) < 0) {
        r = 0;
        goto out;
    }
    sdat_schemas_validate(e->schemas, doc, "police.da-incident/1", &v);
    ic.doc = doc;
    ic.key = n->source_key;
    ic.version = version;
    ic.v = &v;
    r = incident_times(&ic);
    if (r < 0) {
        r = 0;
        goto out;
    }
    ic.area = sdat_config_area(cfg, school->la_code);
    if (!ic.area) {
        ic.area = sdat_route_incident_area(cfg, doc);
    }
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n_routes = 0;
    if (gone) {
        const struct sdat_recipient *mash =
            ic.area && ic.area->mash ? sdat_config_recipient(cfg, ic.area->mash) : NULL;
        if (!mash) {
            r = 0;
            goto out;
        }
        routes[0] = (struct sdat_route){
            .recipient = mash, .kind = "da-incident", .route_reason = "no-current-education"};
        n_routes = 1;
    } else if (sdat_route_child(cfg, SDAT_DECISION_MATCH, register_child, ic.area, today,
                                ic.incident_days, routes, &n_routes, err, sizeof err) < 0) {
        r = 0; /* the directory cannot route it now: deliver as decided */
        goto out;
    }
    for (size_t k = 0; k < n_routes; k++) {
        if (routes[k].recipient == school) {
            r = 0; /* still at this school */
            goto out;
        }
    }
    /* Moved (or no longer registered): supersede, and tell where the child
     * is now, on the new school's schedule from reported_at. */
    size_t index = 0;
    const json_t *police_child = child_by_ref(doc, n->child_ref, &index);
    if (!police_child) {
        r = 0;
        goto out;
    }
    r = sdat_store_notification_set_state(e->st, n->id, "superseded");
    if (r < 0) {
        goto out;
    }
    const char *reason = gone ? "the child is no longer in the register"
                              : "the child's education changed before delivery";
    log_info("engine", "re-check id=%s recipient=%s incident=%s: %s", n->id, n->recipient,
             n->source_key, reason);
    r = sdat_audit_append(e->audit, e->st, now_ms, "notification.superseded", "sdatd",
                          json_pack("{s:s, s:s, s:s}", "notification_id", n->id, "recipient",
                                    n->recipient, "incident", n->source_key),
                          json_pack("{s:s, s:s, s:s}", "kind", n->kind, "reason", reason,
                                    "stage", "re-check at delivery"));
    if (r < 0) {
        goto out;
    }
    for (size_t k = 0; k < n_routes; k++) {
        if (routes[k].school) {
            routes[k].route_reason = "moved-school";
        }
    }
    ic.decisions = json_array();
    ic.created = json_array();
    r = sdat_store_notifications_for_source(e->st, n->source_key, collect_prior, &ic);
    struct planned plans[SDAT_ROUTE_MAX];
    if (r == 0) {
        r = plan_routes(&ic, routes, n_routes, plans);
    }
    if (r == 0) {
        for (size_t k = 0; k < n_routes; k++) {
            /* plan_routes may turn an exhausted school into education
             * safeguarding; a moved school keeps its reason otherwise. */
            if (plans[k].route.school) {
                plans[k].route.route_reason = "moved-school";
            }
        }
        struct child_ctx c;
        child_init(&ic, index, police_child, &c);
        /* A child no longer in the register is still named by its id. */
        json_t *known = gone ? json_pack("{s:s}", "child_id", n->register_child_id)
                             : json_incref(register_child);
        for (size_t k = 0; k < n_routes && r == 0; k++) {
            r = known ? notify(&ic, &c, &plans[k], known, NULL) : -ENOMEM;
        }
        json_decref(known);
        json_decref(c.ignored);
    }
    if (r == -EDOM) {
        log_error("engine", "re-check of %s: %s", n->id, err);
    }
    r = r < 0 ? r : 1;
out:
    json_decref(doc);
    json_decref(register_child);
    json_decref(ic.decisions);
    json_decref(ic.created);
    priors_free(ic.prior, ic.n_prior);
    return r;
}

struct ack_ctx {
    char state[16], recipient[80], source_key[200];
};

static int ack_read(const struct sdat_notification *n, void *opaque)
{
    struct ack_ctx *a = opaque;
    snprintf(a->state, sizeof a->state, "%s", n->state);
    snprintf(a->recipient, sizeof a->recipient, "%s", n->recipient);
    snprintf(a->source_key, sizeof a->source_key, "%s", n->source_key);
    return 0;
}

int sdat_engine_acknowledge(struct sdat_engine *e, const char *id, const char *by, int64_t now_ms)
{
    struct ack_ctx a = {0};
    int r = sdat_store_notification_get(e->st, id, ack_read, &a);
    if (r < 0) {
        return r;
    }
    if (strcmp(a.state, "acknowledged") == 0) {
        return 1;
    }
    if (strcmp(a.state, "delivered") != 0) {
        return -EBUSY;
    }
    r = sdat_store_notification_acknowledge(e->st, id, now_ms);
    if (r == 0) {
        r = sdat_audit_append(e->audit, e->st, now_ms, "notification.acknowledged", by,
                              json_pack("{s:s, s:s, s:s}", "notification_id", id, "recipient",
                                        a.recipient, "incident", a.source_key),
                              json_pack("{s:s}", "by", by));
    }
    if (r == 0) {
        log_info("engine", "acknowledged id=%s recipient=%s", id, a.recipient);
    }
    return r;
}
