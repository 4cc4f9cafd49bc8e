/* A person's decision on a review item (flows.md §1 "Review decisions"). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "incident_internal.h"
#include "util/util.h"

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
    return sdat_engine_review_decide_via(e, review_id, register_child_id, by, NULL, NULL, now_ms,
                                         ret_created, err, errlen);
}

int sdat_engine_review_decide_via(struct sdat_engine *e, const char *review_id,
                                  const char *register_child_id, const char *by, const char *via,
                                  const char *reason, int64_t now_ms, json_t **ret_created,
                                  char *err, size_t errlen)
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
    if (detail && via) {
        json_object_set_new(detail, "via", json_string(via));
    }
    if (detail && reason) {
        json_object_set_new(detail, "reason", json_string(reason));
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
    r = sdat_store_notifications_for_source(e->st, rc.incident, incident_collect_prior, &ic);
    if (r < 0) {
        goto out;
    }
    struct child_ctx c;
    incident_child_init(&ic, (size_t)rc.item.position, child, &c);
    if (register_child) {
        r = incident_route_and_notify(&ic, &c, SDAT_DECISION_MATCH, register_child, NULL);
    } else {
        r = incident_candidates_for_mash(e, rc.candidates, &candidates);
        if (r == 0) {
            r = incident_route_and_notify(&ic, &c, SDAT_DECISION_NONE, NULL, candidates);
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
    incident_ctx_clear(&ic);
    return r;
}
