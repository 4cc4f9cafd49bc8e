/* Creating an incident's notifications: when each is due (school calendars),
 * its payload, and the amendment rules of flows.md §1 against the live
 * notifications of earlier versions. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "util/util.h"
#include "decide/decide.h"
#include "incident_internal.h"

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

void incident_priors_free(struct prior *p, size_t n)
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

void incident_ctx_clear(struct incident_ctx *ic)
{
    json_decref(ic->decisions);
    json_decref(ic->created);
    incident_priors_free(ic->prior, ic->n_prior);
    ic->decisions = ic->created = NULL;
    ic->prior = NULL;
    ic->n_prior = 0;
}

static bool live_state(const char *state)
{
    return strcmp(state, "superseded") != 0 && strcmp(state, "cancelled") != 0;
}

int incident_collect_prior(const struct sdat_notification *n, void *opaque)
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

int incident_audit_state_change(struct incident_ctx *ic, const struct prior *p, const char *type,
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

/* The payload of route's notification (common filled), by its kind. */
static json_t *build_payload(const struct incident_ctx *ic, const struct child_ctx *c,
                             const struct sdat_route *route,
                             const struct sdat_payload_common *common,
                             const json_t *register_child, const json_t *candidates)
{
    if (strcmp(route->kind, "da-incident-urgent") == 0) {
        return sdat_payload_urgent(common, ic->doc, ic->decisions);
    }
    if (route->school) {
        return sdat_payload_school_incident(common, ic->doc, c->police_child, register_child);
    }
    if (strcmp(route->kind, "da-incident") == 0) {
        return sdat_payload_other_incident(
            common, ic->doc, c->police_child,
            json_string_value(json_object_get(register_child, "child_id")), c->ignored);
    }
    if (strcmp(route->kind, "review-needed") == 0) {
        return sdat_payload_review(common, ic->doc, c->police_child, candidates, c->ignored,
                                   c->review_id);
    }
    return sdat_payload_unmatched(common, ic->doc, c->police_child, candidates, c->ignored);
}

/* Amendments (flows.md §1) against p, the live notification of an earlier
 * version for the same child and recipient (or NULL): the same content
 * pending or delivered is left alone (1); changed content supersedes a
 * pending notification, keeping its time when the kind is the same, or
 * follows a delivered one with `amends` (payload and *ret_* updated). 0,
 * 1, or a negative store error. */
static int amend(struct incident_ctx *ic, struct prior *p, const struct sdat_route *route,
                 const char *id, const char *content, json_t *payload, const char **ret_amends,
                 int64_t *ret_scheduled_ms)
{
    int64_t planned_ms = *ret_scheduled_ms;
    if (!p) {
        return 0;
    }
    if (p->content && strcmp(p->content, content) == 0) {
        return 1;
    }
    if (strcmp(p->state, "scheduled") == 0) {
        if (strcmp(p->kind, route->kind) == 0) {
            *ret_scheduled_ms = p->scheduled_ms;
        }
        int r = sdat_store_notification_set_state(ic->e->st, p->id, "superseded");
        if (r == 0) {
            r = incident_audit_state_change(ic, p, "notification.superseded",
                                            "changed by a later version", id);
        }
        if (r < 0) {
            return r;
        }
        free(p->state);
        p->state = strdup("superseded");
    } else {
        *ret_amends = p->id;
        json_object_set_new(payload, "amends", json_string(p->id));
    }
    if (*ret_scheduled_ms != planned_ms) {
        char when[32];
        sdat_time_format_ms(*ret_scheduled_ms, when, sizeof when);
        json_object_set_new(payload, "scheduled_for", json_string(when));
    }
    return 0;
}

/* notification.created for n (stored with sha), and its log line. */
static int audit_created(struct incident_ctx *ic, const struct child_ctx *c,
                         const struct sdat_notification *n, const char *sha,
                         const char *lawful_basis)
{
    char scheduled[32];
    sdat_time_format_ms(n->scheduled_ms, scheduled, sizeof scheduled);
    json_t *detail = json_pack("{s:s, s:s, s:s, s:s, s:I}", "kind", n->kind, "payload_sha256",
                               sha, "scheduled_for", scheduled, "lawful_basis", lawful_basis,
                               "version", (json_int_t)ic->version);
    if (detail && n->child_ref) {
        json_object_set_new(detail, "child", json_string(n->child_ref));
    }
    if (detail && n->route_reason) {
        json_object_set_new(detail, "route_reason", json_string(n->route_reason));
    }
    if (detail && n->amends) {
        json_object_set_new(detail, "amends", json_string(n->amends));
    }
    if (detail && c && c->review_id) {
        json_object_set_new(detail, "review_id", json_string(c->review_id));
    }
    int r = sdat_audit_append(ic->e->audit, ic->e->st, ic->now_ms, "notification.created", "sdatd",
                              json_pack("{s:s, s:s, s:s}", "notification_id", n->id, "recipient",
                                        n->recipient, "incident", ic->key),
                              detail);
    if (r == 0) {
        log_info("engine",
                 "notification created id=%s kind=%s recipient=%s incident=%s scheduled_for=%s%s%s",
                 n->id, n->kind, n->recipient, ic->key, scheduled, n->amends ? " amends=" : "",
                 n->amends ? n->amends : "");
    }
    return r;
}

/* Builds, validates, stores and audits one notification, applying the
 * amendment rules against the live notifications of earlier versions. */
int incident_notify(struct incident_ctx *ic, const struct child_ctx *c, const struct planned *plan,
                    const json_t *register_child, const json_t *candidates)
{
    struct sdat_engine *e = ic->e;
    const struct sdat_route *route = &plan->route;
    const char *ref = c ? c->ref : NULL;
    char id[SDAT_ID_LEN + 1], sha[65];
    struct sdat_payload_common common;
    char *content = NULL;
    struct sdat_ack_key ack_key;
    const char *amends = NULL;
    int64_t scheduled_ms = plan->at_ms;
    int r;

    sdat_id_notification(route->kind, ic->key, ic->version, ref, route->recipient->id, NULL, id);
    sdat_engine_payload_common(e, id, route->kind, route->recipient, ic->now_ms, plan->at_ms,
                               &ack_key, &common);
    common.route_reason = route->route_reason;
    json_t *payload = build_payload(ic, c, route, &common, register_child, candidates);
    if (!payload || !(content = payload_content(payload))) {
        r = -ENOMEM;
        goto out;
    }
    r = amend(ic, prior_for(ic, ref, route->recipient->id), route, id, content, payload, &amends,
              &scheduled_ms);
    if (r != 0) {
        r = r > 0 ? 0 : r; /* 1: the same content is already there */
        goto out;
    }
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
        .amends = amends,
        .route_reason = route->route_reason,
        .register_child_id = json_string_value(json_object_get(register_child, "child_id")),
    };
    memcpy(n.id, id, sizeof id);
    r = sdat_engine_notification_store(e, &n, payload, sha, ic->err, ic->errlen);
    if (r == -EPROTO) {
        /* A bug in a builder: never send it. The event is dead-lettered so
         * that nothing is lost and it can be replayed after a fix. */
        r = -EDOM;
        goto out;
    }
    if (r == 1) {
        r = 0; /* two routes to one recipient (two exhausted calendars) */
        goto out;
    }
    if (r < 0) {
        goto out;
    }
    json_array_append_new(ic->created, json_string(id));
    sdat_metrics_add(SDAT_M_NOTIFICATIONS, 1, route->kind, "scheduled");
    r = audit_created(ic, c, &n, sha, common.lawful_basis);
out:
    sdat_ack_key_clear(&ack_key);
    free(content);
    json_decref(payload);
    return r;
}

/* When each route is delivered: a school on its calendar from the
 * incident's reported_at (at once when that time has passed); an exhausted
 * calendar sends the notification at once to the school's area's education
 * safeguarding recipient (else its MASH) instead; everything else at once. */
int incident_plan_routes(struct incident_ctx *ic, const struct sdat_route *routes, size_t n,
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
int incident_route_and_notify(struct incident_ctx *ic, const struct child_ctx *c,
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
    r = incident_plan_routes(ic, routes, n, plans);
    for (size_t k = 0; k < n && r == 0; k++) {
        r = incident_notify(ic, c, &plans[k], register_child, candidates);
    }
    return r;
}
