/* A police domestic abuse incident (flows.md §1): scope, match, route and
 * notify, for each child independently. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "decide/decide.h"
#include "incident_internal.h"
#include "util/util.h"

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
        const struct sdat_candidate *c = &o->candidates[i];
        bool sibling = c->sibling && o->decision == SDAT_DECISION_REVIEW;
        if (c->score <= 0 && !sibling) {
            continue;
        }
        char score[16];
        sdat_match_format_score(c->score, score);
        json_t *one = json_pack("{s:s, s:s}", "child_id", c->child_id, "score", score);
        if (one && sibling) {
            /* the sibling guard's reason to ask a person */
            json_object_set_new(one, "sibling", json_true());
        }
        json_array_append_new(list, one);
    }
    return list;
}

/* The candidates shown to the MASH with an unmatched or review-needed
 * child: ids and scores with the names and date of birth the register
 * holds (a child deleted since is left out). New reference. */
int incident_candidates_for_mash(struct sdat_engine *e, const json_t *ids, json_t **ret_candidates)
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

/* One child's match, its candidates from the register view when given,
 * else from the store. */
static int match_one(const struct sdat_engine *e, const struct sdat_register_view *view,
                     const struct sdat_match_query *q, struct sdat_match_params *ret_params,
                     struct sdat_match_outcome *ret)
{
    struct sdat_register_row *rows = NULL;
    size_t n_rows = 0;
    int64_t size = view ? view->size : 0;
    int r = view ? 0 : sdat_store_child_count(e->st, &size);
    if (r == 0) {
        r = view ? sdat_register_view_candidates(view, q, &rows, &n_rows)
                 : sdat_store_register_candidates(e->st, q, &rows, &n_rows);
    }
    if (r < 0) {
        return r;
    }
    *ret_params = (struct sdat_match_params){
        .match_threshold = e->cfg->matching.match_threshold,
        .review_threshold = e->cfg->matching.review_threshold,
        .match_margin = e->cfg->matching.match_margin,
        .unplaced_threshold = e->cfg->matching.unplaced_threshold,
        .register_size = size,
        .nicknames = e->nicknames,
    };
    sdat_match_decide(ret_params, q, rows, n_rows, ret);
    sdat_store_rows_free(rows, n_rows);
    return 0;
}

int sdat_engine_match(struct sdat_engine *e, const struct sdat_match_query *q,
                      struct sdat_match_params *ret_params, struct sdat_match_outcome *ret)
{
    return match_one(e, NULL, q, ret_params, ret);
}

static int match_incident(const struct sdat_engine *e, const struct sdat_register_view *view,
                          const json_t *doc, const struct sdat_validation *v, int32_t incident_days,
                          struct sdat_incident_matches *ret)
{
    const json_t *children = json_object_get(doc, "children");
    ret->n = json_array_size(children);
    if (ret->n > SDAT_INCIDENT_MAX_CHILDREN) {
        ret->n = SDAT_INCIDENT_MAX_CHILDREN; /* the schema's limit */
    }
    for (size_t i = 0; i < ret->n; i++) {
        bool use_dob = !ignored_field(v, i, "dob");
        int age = child_age(json_array_get(children, i), use_dob, incident_days);
        struct sdat_match_outcome *o = &ret->outcomes[i];
        sdat_match_query_from_incident(doc, i, v, incident_days, &ret->queries[i]);
        ret->in_scope[i] = age < 18;
        *o = (struct sdat_match_outcome){
            .decision = SDAT_DECISION_NONE, .rule = "none", .reason = "18 or over"};
        if (ret->in_scope[i]) {
            int r = match_one(e, view, &ret->queries[i], &ret->params, o);
            if (r < 0) {
                return r;
            }
        }
    }
    sdat_match_corroborate(ret->queries, ret->outcomes, ret->n);
    return 0;
}

int sdat_engine_match_incident(struct sdat_engine *e, const json_t *doc,
                               const struct sdat_validation *v, int32_t incident_days,
                               struct sdat_incident_matches *ret)
{
    return match_incident(e, NULL, doc, v, incident_days, ret);
}

int sdat_engine_match_incident_view(const struct sdat_engine *e,
                                    const struct sdat_register_view *view, const json_t *doc,
                                    const struct sdat_validation *v, int32_t incident_days,
                                    struct sdat_incident_matches *ret)
{
    return match_incident(e, view, doc, v, incident_days, ret);
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

static int process_child(struct incident_ctx *ic, struct child_ctx *c,
                         const struct sdat_incident_matches *m)
{
    struct sdat_engine *e = ic->e;
    json_t *candidates = NULL, *register_child = NULL, *ids = NULL;
    char review_id[SDAT_ID_LEN + 1];
    int r;

    if (!m->in_scope[c->index]) {
        return sdat_audit_append(
            e->audit, e->st, ic->now_ms, "child.out-of-scope", "sdatd",
            json_pack("{s:s, s:s}", "incident", ic->key, "child", c->ref),
            json_pack("{s:I, s:s}", "position", (json_int_t)c->index, "reason", "18 or over"));
    }
    const struct sdat_match_params params = m->params;
    const struct sdat_match_outcome o = m->outcomes[c->index];
    if (o.decision == SDAT_DECISION_MATCH) {
        r = sdat_store_child_get(e->st, o.child_id, &register_child);
    } else if (!(ids = candidate_ids(&o))) {
        r = -ENOMEM;
    } else {
        r = incident_candidates_for_mash(e, ids, &candidates);
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
        r = incident_route_and_notify(ic, c, o.decision, register_child, candidates);
    }
out:
    json_decref(ids);
    json_decref(candidates);
    json_decref(register_child);
    return r;
}

int sdat_engine_incident_days(const struct sdat_engine *e, const json_t *doc, int32_t *ret_days)
{
    int64_t occurred_ms;
    if (sdat_datetime_parse(json_string_value(json_object_get(doc, "occurred_at")),
                            &occurred_ms) < 0 ||
        sdat_time_local_date(occurred_ms, e->cfg->timezone, ret_days) < 0) {
        return -EDOM;
    }
    return 0;
}

/* The incident's local dates (for the age rule and education spells) and
 * its reported_at instant (the school schedule's basis). */
int incident_times(struct incident_ctx *ic)
{
    const char *zone = ic->e->cfg->timezone;
    if (sdat_engine_incident_days(ic->e, ic->doc, &ic->incident_days) < 0 ||
        sdat_datetime_parse(json_string_value(json_object_get(ic->doc, "reported_at")),
                            &ic->reported_ms) < 0 ||
        sdat_time_local_date(ic->reported_ms, zone, &ic->reported_days) < 0) {
        snprintf(ic->err, ic->errlen, "cannot resolve the incident's dates in timezone \"%s\"",
                 zone);
        return -EDOM;
    }
    return 0;
}

void incident_child_init(const struct incident_ctx *ic, size_t i, const json_t *child,
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
const json_t *incident_child_by_ref(const json_t *doc, const char *ref, size_t *ret_index)
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
    return incident_child_by_ref(doc, ref, &index) != NULL;
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
            r = incident_audit_state_change(
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

/* The children are matched together (a match at an address the police did
 * not record needs another child of the incident there), then each is
 * routed and notified. */
static int process_children(struct incident_ctx *ic, const struct sdat_incident_matches *matched)
{
    struct sdat_incident_matches *own = NULL;
    const struct sdat_incident_matches *matches = matched;
    int r = 0;
    if (!matches) {
        own = malloc(sizeof *own);
        r = own ? sdat_engine_match_incident(ic->e, ic->doc, ic->v, ic->incident_days, own)
                : -ENOMEM;
        matches = own;
    }
    for (size_t i = 0; r == 0 && i < matches->n; i++) {
        struct child_ctx c;
        incident_child_init(ic, i, json_array_get(json_object_get(ic->doc, "children"), i), &c);
        r = process_child(ic, &c, matches);
        json_decref(c.ignored);
    }
    free(own);
    return r;
}

int sdat_engine_incident(struct sdat_engine *e, const struct sdat_inbound *m, const json_t *doc,
                         const struct sdat_validation *v, int64_t now_ms, char *err,
                         size_t errlen)
{
    return sdat_engine_incident_matched(e, m, doc, v, NULL, now_ms, err, errlen);
}

int sdat_engine_incident_matched(struct sdat_engine *e, const struct sdat_inbound *m,
                                 const json_t *doc, const struct sdat_validation *v,
                                 const struct sdat_incident_matches *matched, int64_t now_ms,
                                 char *err, size_t errlen)
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
        r = sdat_store_notifications_for_source(e->st, key, incident_collect_prior, &ic);
        if (r == 0) {
            r = sdat_store_reviews_each(e->st, key, cancel_open_review, &ic);
        }
        if (r < 0) {
            goto out;
        }
    }
    r = process_children(&ic, matched);
    if (r < 0) {
        goto out;
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
        r = incident_notify(&ic, NULL, &urgent, NULL, NULL);
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
    incident_ctx_clear(&ic);
    return r;
}

