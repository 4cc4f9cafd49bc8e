/* The console's review pages (console.md "Pages"): the open items, one item
 * with the police child beside each candidate and the explanation
 * `sdatctl match` gives, and the decision, which goes through the engine's
 * review decision like POST /v1/reviews/ID, audited with by = the person's
 * name and via = console. Opening an item is an access: a record.viewed
 * audit record (detail.what = review). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "decide/decide.h"
#include "engine/engine.h"
#include "util/util.h"

/* ---- the list ---- */

struct list_ctx {
    struct cbuf *b;
    int64_t now_ms;
    size_t n;
};

static int list_row(const struct sdat_review_item *item, void *opaque)
{
    struct list_ctx *l = opaque;
    struct cbuf *b = l->b;
    json_t *candidates = item->candidates ? json_loads(item->candidates, 0, NULL) : NULL;
    cb_raw(b, "<tr><td>");
    cb_time(b, item->created_ms);
    cb_raw(b, "</td><td><a href=\"/console/reviews/");
    cb_esc(b, item->id);
    cb_raw(b, "\">");
    cb_esc(b, item->incident);
    cb_raw(b, "</a></td><td>");
    cb_printf(b, "%d (", item->position + 1);
    cb_esc(b, item->child_ref);
    cb_raw(b, ")</td><td>");
    cb_esc(b, item->mash);
    cb_printf(b, "</td><td>%zu</td><td>", json_array_size(candidates));
    cb_duration(b, (l->now_ms - item->created_ms) / 1000);
    cb_raw(b, "</td></tr>\n");
    json_decref(candidates);
    l->n++;
    return 0;
}

void console_get_reviews(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Reviews";
    struct cbuf rows = {0};
    struct list_ctx l = {.b = &rows, .now_ms = sdat_time_now_ms()};
    sdat_store_t *st = http_store_get(http);
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        r = sdat_store_reviews_each(st, NULL, list_row, &l);
        sdat_store_read_end(st);
    }
    http_store_put(http, st);
    if (r < 0) {
        cb_free(&rows);
        console_message(ret, 503, &ctx, "Try again later", "The store cannot be read now.");
        return;
    }
    struct cbuf b = {0};
    char flash[512];
    console_session_take_flash(http_console_state(http), ctx.cookie, flash, sizeof flash);
    cb_raw(&b, flash);
    cb_raw(&b, "<h1>Reviews</h1>\n<p>Children the police named whom matching could not place "
               "with confidence. Open one to decide who the child is.</p>\n");
    cb_raw(&b, "<table id=\"reviews\">\n<caption>Open review items, oldest first</caption>\n"
               "<thead><tr><th scope=\"col\">Created</th><th scope=\"col\">Incident</th>"
               "<th scope=\"col\">Child (position and ref)</th><th scope=\"col\">Area's "
               "MASH</th><th scope=\"col\">Candidates</th><th scope=\"col\">Waiting "
               "for</th></tr></thead>\n<tbody>\n");
    cb_table_end(&b, &rows, l.n, "no-reviews", "No review item is open.");
    console_page(ret, 200, &ctx, "Reviews", &b);
    cb_free(&b);
}

/* ---- one item ---- */

struct view_job {
    const char *id;
    const char *actor;
    /* out */
    char incident[160], child_ref[40], state[16], mash[80], decided_by[324];
    int position;
    int64_t created_ms;
    json_t *candidates; /* [{child_id, score, sibling?, child: register doc or null}] */
    json_t *police;     /* the police child */
    json_t *explain;    /* sdat_match_explain for the child today, or NULL */
    char risk[16], area[160];
    bool urgent;
};

static int copy_item(const struct sdat_review_item *item, void *opaque)
{
    struct view_job *j = opaque;
    snprintf(j->incident, sizeof j->incident, "%s", item->incident);
    snprintf(j->child_ref, sizeof j->child_ref, "%s", item->child_ref);
    snprintf(j->state, sizeof j->state, "%s", item->state);
    snprintf(j->mash, sizeof j->mash, "%s", item->mash);
    snprintf(j->decided_by, sizeof j->decided_by, "%s", item->decided_by ? item->decided_by : "");
    j->position = item->position;
    j->created_ms = item->created_ms;
    j->candidates = item->candidates ? json_loads(item->candidates, 0, NULL) : NULL;
    return j->candidates ? 0 : -EIO;
}

/* On the writer: reads the item, its incident and candidates, explains the
 * match as it stands today, and records the view. */
static int run_view(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct view_job *j = arg;
    int r = sdat_store_review_get(e->st, j->id, copy_item, j);
    if (r < 0) {
        return r;
    }
    size_t i;
    json_t *c;
    json_array_foreach (j->candidates, i, c) {
        json_t *child = NULL;
        const char *child_id = json_string_value(json_object_get(c, "child_id"));
        if (child_id && sdat_store_child_get(e->st, child_id, &child) < 0) {
            child = NULL;
        }
        json_object_set_new(c, "child", child ? child : json_null());
    }
    int64_t version = 0;
    json_t *doc = NULL;
    if (sdat_store_incident_get(e->st, j->incident, &version, &doc) == 0 && doc) {
        j->police = json_incref(json_array_get(json_object_get(doc, "children"),
                                               (size_t)j->position));
        snprintf(j->risk, sizeof j->risk, "%s",
                 json_string_value(json_object_get(doc, "risk")) ? json_string_value(
                                                                       json_object_get(doc, "risk"))
                                                                 : "");
        j->urgent = json_is_true(json_object_get(doc, "urgent"));
        const struct sdat_area *area = sdat_route_incident_area(e->cfg, doc);
        if (area) {
            snprintf(j->area, sizeof j->area, "%s (%s)", area->name, area->la_code);
        }
        struct sdat_validation v;
        int64_t occurred_ms;
        int32_t days;
        sdat_schemas_validate(e->schemas, doc, "police.da-incident/1", &v);
        struct sdat_incident_matches *m = malloc(sizeof *m);
        if (m && sdat_datetime_parse(json_string_value(json_object_get(doc, "occurred_at")),
                                     &occurred_ms) == 0 &&
            sdat_time_local_date(occurred_ms, e->cfg->timezone, &days) == 0 &&
            sdat_engine_match_incident(e, doc, &v, days, m) == 0 && (size_t)j->position < m->n &&
            m->in_scope[j->position]) {
            j->explain = sdat_match_explain(&m->params, &m->outcomes[j->position]);
        }
        free(m);
    }
    json_decref(doc);
    return sdat_audit_append(e->audit, e->st, now_ms, "record.viewed", j->actor,
                             json_pack("{s:s, s:s, s:s}", "review_id", j->id, "incident",
                                       j->incident, "child", j->child_ref),
                             json_pack("{s:s, s:s}", "what", "review", "via", "console"));
}

static void view_job_clear(struct view_job *j)
{
    json_decref(j->candidates);
    json_decref(j->police);
    json_decref(j->explain);
}

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* One cell: a string field, or the integer one, or "–". */
static void cell(struct cbuf *b, const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    cb_raw(b, "<td>");
    if (json_is_string(v)) {
        cb_esc(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        cb_printf(b, "%lld", (long long)json_integer_value(v));
    } else {
        cb_raw(b, "–");
    }
    cb_raw(b, "</td>");
}

static void candidate_label(struct cbuf *b, const json_t *c)
{
    const json_t *child = json_object_get(c, "child");
    cb_esc(b, str_of(child, "given_name"));
    cb_raw(b, " ");
    cb_esc(b, str_of(child, "family_name"));
    cb_raw(b, ", born ");
    cb_esc(b, str_of(child, "dob") ? str_of(child, "dob") : "unknown");
    cb_raw(b, " (");
    cb_esc(b, str_of(c, "child_id"));
    cb_raw(b, ")");
}

static void comparison(struct cbuf *b, const struct view_job *j)
{
    static const char *const rows[][2] = {
        {"given_name", "Given name"}, {"family_name", "Family name"}, {"dob", "Date of birth"},
        {"sex", "Sex"},               {"nhs_number", "NHS number"},   {"upn", "UPN"},
    };
    cb_raw(b, "<table id=\"comparison\">\n<caption>The police child beside each "
              "candidate</caption>\n<thead><tr><th scope=\"col\">Field</th>"
              "<th scope=\"col\">Police</th>");
    size_t i;
    json_t *c;
    json_array_foreach (j->candidates, i, c) {
        cb_raw(b, "<th scope=\"col\">Candidate ");
        cb_esc(b, str_of(c, "child_id"));
        cb_raw(b, "</th>");
    }
    cb_raw(b, "</tr></thead>\n<tbody>\n");
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++) {
        cb_raw(b, "<tr><th scope=\"row\">");
        cb_raw(b, rows[r][1]);
        cb_raw(b, "</th>");
        cell(b, j->police, rows[r][0]);
        json_array_foreach (j->candidates, i, c) {
            cell(b, json_object_get(c, "child"), rows[r][0]);
        }
        cb_raw(b, "</tr>\n");
    }
    cb_raw(b, "<tr><th scope=\"row\">Postcode</th><td>–</td>");
    json_array_foreach (j->candidates, i, c) {
        cell(b, json_object_get(json_object_get(c, "child"), "address"), "postcode");
    }
    cb_raw(b, "</tr>\n<tr><th scope=\"row\">Score when raised</th><td>–</td>");
    json_array_foreach (j->candidates, i, c) {
        const json_t *score = json_object_get(c, "score");
        cb_raw(b, "<td>");
        if (json_is_number(score)) {
            cb_printf(b, "%.2f", json_number_value(score));
        } else {
            cb_esc(b, json_string_value(score));
        }
        cb_raw(b, json_is_true(json_object_get(c, "sibling")) ? " (sibling guard)</td>" : "</td>");
    }
    cb_raw(b, "</tr>\n</tbody>\n</table>\n");
}

static void explanation(struct cbuf *b, const json_t *x)
{
    cb_raw(b, "<h2>How matching scores the child today</h2>\n");
    if (!x) {
        cb_raw(b, "<p>The incident cannot be matched again now.</p>\n");
        return;
    }
    const json_t *cands = json_object_get(x, "candidates");
    const json_t *th = json_object_get(x, "thresholds");
    cb_raw(b, "<dl class=\"facts\" id=\"explanation\">\n<dt>Decision</dt><dd>");
    cb_esc(b, str_of(x, "decision"));
    cb_raw(b, ": ");
    cb_esc(b, str_of(x, "reason"));
    cb_raw(b, "</dd>\n<dt>Total score</dt><dd>");
    cb_esc(b, str_of(x, "score") ? str_of(x, "score") : "–");
    cb_raw(b, "</dd>\n<dt>Margin</dt><dd>");
    if (json_array_size(cands) >= 2) {
        double best = strtod(str_of(json_array_get(cands, 0), "score"), NULL);
        double second = strtod(str_of(json_array_get(cands, 1), "score"), NULL);
        cb_printf(b, "%.2f", best - second);
    } else {
        cb_raw(b, "– (one candidate)");
    }
    cb_raw(b, "</dd>\n<dt>Thresholds</dt><dd>match ");
    cb_esc(b, str_of(th, "match"));
    cb_raw(b, ", review ");
    cb_esc(b, str_of(th, "review"));
    cb_raw(b, ", margin ");
    cb_esc(b, str_of(th, "margin"));
    cb_raw(b, "</dd>\n</dl>\n");
    size_t i;
    json_t *c;
    json_array_foreach (cands, i, c) {
        cb_raw(b, "<table class=\"explain\">\n<caption>Candidate ");
        cb_esc(b, str_of(c, "child_id"));
        cb_raw(b, ": score ");
        cb_esc(b, str_of(c, "score"));
        cb_raw(b, "</caption>\n<thead><tr><th scope=\"col\">Field</th><th scope=\"col\">Agreement"
                  "</th><th scope=\"col\">Weight</th></tr></thead>\n<tbody>\n");
        const char *field;
        json_t *f;
        json_object_foreach (json_object_get(c, "fields"), field, f) {
            cb_raw(b, "<tr><th scope=\"row\">");
            cb_esc(b, field);
            cb_raw(b, "</th><td>");
            cb_esc(b, str_of(f, "level"));
            cb_raw(b, "</td><td>");
            cb_esc(b, str_of(f, "weight"));
            cb_raw(b, "</td></tr>\n");
        }
        cb_raw(b, "</tbody>\n</table>\n");
    }
}

/* The item's page; error names a field of the form in error ("child_id" or
 * "reason") with its message. */
static void item_page(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                      struct console_ctx *ctx, unsigned status, const char *error_field,
                      const char *error)
{
    struct view_job j = {.id = req->id, .actor = ctx->sess.name};
    int r = http_job(http, run_view, &j);
    if (r == -ENOENT) {
        view_job_clear(&j);
        console_message(ret, 404, ctx, "Review item not found", "There is no such review item.");
        return;
    }
    if (r < 0) {
        view_job_clear(&j);
        console_message(ret, 503, ctx, "Try again later", "The review item cannot be read now.");
        return;
    }
    struct cbuf b = {0};
    if (error) {
        cb_raw(&b, "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-title\">\n"
                   "<h2 id=\"error-title\">There is a problem</h2>\n<ul><li><a href=\"#");
        cb_raw(&b, error_field);
        cb_raw(&b, "\">");
        cb_esc(&b, error);
        cb_raw(&b, "</a></li></ul>\n</div>\n");
    }
    cb_raw(&b, "<h1>Review: who is this child?</h1>\n<dl class=\"facts\" id=\"item\">\n"
               "<dt>Review item</dt><dd>");
    cb_esc(&b, req->id);
    cb_raw(&b, "</dd>\n<dt>Incident</dt><dd id=\"incident\">");
    cb_esc(&b, j.incident);
    cb_raw(&b, "</dd>\n<dt>Area</dt><dd>");
    cb_esc(&b, j.area[0] ? j.area : j.mash);
    cb_raw(&b, "</dd>\n<dt>Risk</dt><dd>");
    cb_esc(&b, j.risk[0] ? j.risk : "–");
    cb_raw(&b, j.urgent ? " (urgent)" : "");
    cb_printf(&b, "</dd>\n<dt>Child</dt><dd>position %d, ref ", j.position + 1);
    cb_esc(&b, j.child_ref);
    cb_raw(&b, "</dd>\n<dt>Raised</dt><dd>");
    cb_time(&b, j.created_ms);
    cb_raw(&b, "</dd>\n<dt>State</dt><dd id=\"state\">");
    cb_esc(&b, j.state);
    if (j.decided_by[0]) {
        cb_raw(&b, " by ");
        cb_esc(&b, j.decided_by);
    }
    cb_raw(&b, "</dd>\n</dl>\n");
    comparison(&b, &j);
    explanation(&b, j.explain);
    if (strcmp(j.state, "open") == 0) {
        cb_raw(&b, "<h2>Decide</h2>\n<form method=\"post\" id=\"decide\" action=\"/console/reviews/");
        cb_esc(&b, req->id);
        cb_raw(&b, "\">\n");
        cb_csrf(&b, ctx);
        cb_raw(&b, "<fieldset id=\"child_id\">\n<legend>Who is this child?</legend>\n");
        if (error && strcmp(error_field, "child_id") == 0) {
            cb_raw(&b, "<p class=\"error-message\">");
            cb_esc(&b, error);
            cb_raw(&b, "</p>\n");
        }
        size_t i;
        json_t *c;
        json_array_foreach (j.candidates, i, c) {
            cb_printf(&b, "<div class=\"radio\"><input type=\"radio\" name=\"child_id\" "
                          "id=\"child-%zu\" value=\"",
                      i);
            cb_esc(&b, str_of(c, "child_id"));
            cb_printf(&b, "\"><label for=\"child-%zu\">", i);
            candidate_label(&b, c);
            cb_raw(&b, "</label></div>\n");
        }
        cb_raw(&b, "<div class=\"radio\"><input type=\"radio\" name=\"child_id\" id=\"child-none\" "
                   "value=\"none\"><label for=\"child-none\">None of them</label></div>\n"
                   "</fieldset>\n<label for=\"reason\">Reason</label>\n"
                   "<p class=\"hint\" id=\"reason-hint\">Why, for the audit log (up to 200 "
                   "characters).</p>\n");
        if (error && strcmp(error_field, "reason") == 0) {
            cb_raw(&b, "<p class=\"error-message\">");
            cb_esc(&b, error);
            cb_raw(&b, "</p>\n");
        }
        cb_raw(&b, "<textarea id=\"reason\" name=\"reason\" maxlength=\"200\" required "
                   "aria-describedby=\"reason-hint\"></textarea>\n"
                   "<button type=\"submit\">Record the decision</button>\n</form>\n");
    }
    view_job_clear(&j);
    console_page(ret, status, ctx, "Review", &b);
    cb_free(&b);
}

void console_get_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        ctx.title = "Reviews";
        item_page(http, req, ret, &ctx, 200, NULL, NULL);
    }
}

/* ---- the decision ---- */

struct decide_job {
    const char *id, *child_id, *by, *reason;
    json_t *created;
    char err[256];
};

static int run_decide(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct decide_job *j = arg;
    return sdat_engine_review_decide_via(e, j->id, j->child_id, j->by, "console", j->reason,
                                         now_ms, &j->created, j->err, sizeof j->err);
}

void console_post_review(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Reviews";
    char child_id[128], reason[CONSOLE_REASON_MAX_CHARS * 4 + 8];
    if (!console_form_field(req->body, "child_id", child_id, sizeof child_id) || !child_id[0]) {
        item_page(http, req, ret, &ctx, 400, "child_id",
                  "Choose the candidate this child is, or none of them");
        return;
    }
    if (!console_form_field(req->body, "reason", reason, sizeof reason) ||
        !console_text_valid(reason, CONSOLE_REASON_MAX_CHARS)) {
        item_page(http, req, ret, &ctx, 400, "reason",
                  "Enter the reason for the decision, up to 200 characters");
        return;
    }
    struct decide_job j = {.id = req->id,
                           .child_id = strcmp(child_id, "none") == 0 ? NULL : child_id,
                           .by = ctx.sess.name,
                           .reason = reason};
    int r = http_job(http, run_decide, &j);
    if (r == 0) {
        struct cbuf f = {0};
        cb_raw(&f, "<div class=\"banner\" role=\"status\" id=\"outcome\"><p>Review item ");
        cb_esc(&f, req->id);
        cb_raw(&f, j.child_id ? " decided: the child is " : " decided: none of the candidates");
        cb_esc(&f, j.child_id);
        cb_raw(&f, ".</p><p>Notifications created:");
        size_t i;
        json_t *id;
        json_array_foreach (j.created, i, id) {
            cb_raw(&f, i ? ", <span class=\"created\">" : " <span class=\"created\">");
            cb_esc(&f, json_string_value(id));
            cb_raw(&f, "</span>");
        }
        cb_raw(&f, json_array_size(j.created) ? ".</p></div>\n" : " none.</p></div>\n");
        if (!f.failed) {
            console_session_flash(http_console_state(http), ctx.cookie, f.p);
        }
        cb_free(&f);
        console_redirect(ret, "/console/reviews");
    } else if (r == -ENOENT) {
        console_message(ret, 404, &ctx, "Review item not found", "There is no such review item.");
    } else if (r == -EINVAL) {
        item_page(http, req, ret, &ctx, 400, "child_id",
                  "That child is not in the register: choose one of the candidates");
    } else if (r == -EALREADY || r == -EDOM || r == -ESTALE) {
        console_message(ret, 409, &ctx, "The review item cannot be decided", j.err);
    } else {
        console_message(ret, 503, &ctx, "Try again later", "The decision was not recorded.");
    }
    json_decref(j.created);
}
