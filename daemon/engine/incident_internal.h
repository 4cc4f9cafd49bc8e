/* Shared by the engine's source files that create notifications for an
 * incident (incident.c, incident_notify.c, review.c, incident_delivery.c). */
#ifndef SDAT_INCIDENT_INTERNAL_H
#define SDAT_INCIDENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "engine.h"
#include "decide/decide.h"

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

/* incident.c */
/* The candidates shown to the MASH: ids and scores ([{child_id, score}])
 * with the names and date of birth the register holds. New reference. */
int incident_candidates_for_mash(struct sdat_engine *e, const json_t *ids, json_t **ret_candidates);
/* The incident's local dates and its reported_at instant; -EDOM with err. */
int incident_times(struct incident_ctx *ic);
void incident_child_init(const struct incident_ctx *ic, size_t i, const json_t *child,
                         struct child_ctx *c);
/* The police child with this ref (or position), or NULL. */
const json_t *incident_child_by_ref(const json_t *doc, const char *ref, size_t *ret_index);

/* incident_notify.c */
void incident_priors_free(struct prior *p, size_t n);
/* Frees what processing put into ic (decisions, created, the priors). */
void incident_ctx_clear(struct incident_ctx *ic);
/* sdat_store_notifications_for_source callback: collects live priors. */
int incident_collect_prior(const struct sdat_notification *n, void *opaque);
int incident_audit_state_change(struct incident_ctx *ic, const struct prior *p, const char *type,
                                const char *reason, const char *by_id);
/* Builds, validates, stores and audits one notification (amendment rules). */
int incident_notify(struct incident_ctx *ic, const struct child_ctx *c, const struct planned *plan,
                    const json_t *register_child, const json_t *candidates);
/* When each route is delivered (school calendars, exhausted calendars). */
int incident_plan_routes(struct incident_ctx *ic, const struct sdat_route *routes, size_t n,
                         struct planned *ret_plans);
/* Routes a decided child and creates its notifications. */
int incident_route_and_notify(struct incident_ctx *ic, const struct child_ctx *c,
                              enum sdat_decision decision, const json_t *register_child,
                              const json_t *candidates);

#endif
