/* What the engine decides at delivery time: the re-check of a school
 * notification's child just before it is sent, and acknowledgements. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "incident_internal.h"
#include "util/util.h"

/* n is superseded by the re-check, audited with why. */
static int supersede(struct sdat_engine *e, const struct sdat_notification *n, bool gone,
                     int64_t now_ms)
{
    int r = sdat_store_notification_set_state(e->st, n->id, "superseded");
    if (r < 0) {
        return r;
    }
    const char *reason = gone ? "the child is no longer in the register"
                              : "the child's education changed before delivery";
    log_info("engine", "re-check id=%s recipient=%s incident=%s: %s", n->id, n->recipient,
             n->source_key, reason);
    return sdat_audit_append(e->audit, e->st, now_ms, "notification.superseded", "sdatd",
                             json_pack("{s:s, s:s, s:s}", "notification_id", n->id, "recipient",
                                       n->recipient, "incident", n->source_key),
                             json_pack("{s:s, s:s, s:s}", "kind", n->kind, "reason", reason,
                                       "stage", "re-check at delivery"));
}

/* Tells routes where the child (police_child at index, known as
 * register_child, or by its id when gone) is now: a moved school on its
 * schedule from reported_at with route_reason moved-school. */
static int notify_where_now(struct incident_ctx *ic, const struct sdat_notification *n,
                            struct sdat_route *routes, size_t n_routes,
                            const json_t *police_child, size_t index,
                            const json_t *register_child, bool gone)
{
    ic->decisions = json_array();
    ic->created = json_array();
    int r = sdat_store_notifications_for_source(ic->e->st, n->source_key,
                                                incident_collect_prior, ic);
    struct planned plans[SDAT_ROUTE_MAX];
    if (r == 0) {
        r = incident_plan_routes(ic, routes, n_routes, plans);
    }
    if (r < 0) {
        return r;
    }
    for (size_t k = 0; k < n_routes; k++) {
        /* incident_plan_routes may turn an exhausted school into education
         * safeguarding; a moved school keeps its reason otherwise. */
        if (plans[k].route.school) {
            plans[k].route.route_reason = "moved-school";
        }
    }
    struct child_ctx c;
    incident_child_init(ic, index, police_child, &c);
    /* A child no longer in the register is still named by its id. */
    json_t *known = gone ? json_pack("{s:s}", "child_id", n->register_child_id)
                         : json_incref((json_t *)register_child);
    for (size_t k = 0; k < n_routes && r == 0; k++) {
        r = known ? incident_notify(ic, &c, &plans[k], known, NULL) : -ENOMEM;
    }
    json_decref(known);
    json_decref(c.ignored);
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
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n_routes = 0, index = 0;
    int64_t version = 0;
    int32_t today;
    int r;

    /* An operator's redirect (operator.c) names its recipient on purpose:
     * the register, which may be what was wrong, does not overrule it. */
    if (strcmp(n->kind, "da-incident") != 0 || !school || school->kind != SDAT_KIND_SCHOOL ||
        !n->register_child_id || !n->child_ref ||
        (n->route_reason && strcmp(n->route_reason, SDAT_ROUTE_REASON_REDIRECTED) == 0)) {
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
    r = 0;
    if (sdat_time_local_date(now_ms, cfg->timezone, &today) < 0) {
        goto out;
    }
    sdat_schemas_validate(e->schemas, doc, "police.da-incident/1", &v);
    ic.doc = doc;
    ic.key = n->source_key;
    ic.version = version;
    ic.v = &v;
    if (incident_times(&ic) < 0) {
        goto out;
    }
    /* flows.md §1: a matched child's area is its la_code's, else the
     * incident area; a child gone from the register has only the latter.
     * The school's area stands in only if the directory no longer places
     * the incident. */
    ic.area = sdat_route_incident_area(cfg, doc);
    if (!ic.area) {
        ic.area = sdat_config_area(cfg, school->la_code);
    }
    /* The decision is sdat_route_recheck's (decide/route.c); here only
     * what follows from it. */
    if (sdat_route_recheck(cfg, school, gone ? NULL : register_child, ic.area, today,
                           ic.incident_days, routes, &n_routes, err, sizeof err) != 1) {
        goto out; /* still at this school, or not routable now: deliver as decided */
    }
    /* Moved (or no longer registered): supersede, and tell where the child
     * is now, on the new school's schedule from reported_at. */
    const json_t *police_child = incident_child_by_ref(doc, n->child_ref, &index);
    if (!police_child) {
        goto out;
    }
    r = supersede(e, n, gone, now_ms);
    if (r == 0) {
        r = notify_where_now(&ic, n, routes, n_routes, police_child, index, register_child, gone);
    }
    if (r == -EDOM) {
        log_error("engine", "re-check of %s: %s", n->id, err);
    }
    r = r < 0 ? r : 1;
out:
    json_decref(doc);
    json_decref(register_child);
    incident_ctx_clear(&ic);
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
    return sdat_engine_acknowledge_via(e, id, by, NULL, now_ms);
}

int sdat_engine_acknowledge_via(struct sdat_engine *e, const char *id, const char *by,
                                const char *via, int64_t now_ms)
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
                              via ? json_pack("{s:s, s:s}", "by", by, "via", via)
                                  : json_pack("{s:s}", "by", by));
    }
    if (r == 0) {
        log_info("engine", "acknowledged id=%s recipient=%s", id, a.recipient);
    }
    return r;
}
