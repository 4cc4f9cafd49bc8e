/* The console's children pages (console.md "Pages"): a search of the
 * register by one key, always a POST (no personal data in a URL), and a
 * child's subject access report: the register record, then every share
 * about the child and the audit records behind them, the same content as
 * `sdatctl audit export --subject` (sdat_store_subject_collect), printable.
 * Opening the report is an access: record.viewed (detail.what = subject). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "engine/engine.h"
#include "util/util.h"

#define MATCHES_MAX 50

/* ---- the search ---- */

struct search_form {
    char child_id[128], nhs_number[64], upn[64], family_name[256], dob[32];
};

struct search_errors {
    const char *field[4], *text[4];
    size_t n;
};

static void add_error(struct search_errors *e, const char *field, const char *text)
{
    if (e->n < 4) {
        e->field[e->n] = field;
        e->text[e->n++] = text;
    }
}

static const char *error_for(const struct search_errors *e, const char *field)
{
    for (size_t i = 0; i < e->n; i++) {
        if (strcmp(e->field[i], field) == 0) {
            return e->text[i];
        }
    }
    return NULL;
}

/* Trims spaces at both ends, in place. */
static void trim(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1])) {
        s[--n] = '\0';
    }
    size_t lead = strspn(s, " \t\r\n");
    memmove(s, s + lead, n - lead + 1);
}

/* A field of the body into out ("" when absent): false when it is there
 * but too long or holding a NUL. */
static bool get_field(const char *body, const char *name, char *out, size_t outlen)
{
    if (console_form_field(body, name, out, outlen)) {
        return true;
    }
    out[0] = '\0';
    char key[32];
    snprintf(key, sizeof key, "%s=", name);
    for (const char *p = body ? body : ""; (p = strstr(p, key)) != NULL; p++) {
        if (p == body || p[-1] == '&') {
            return false;
        }
    }
    return true;
}

static void cb_append(struct cbuf *b, const struct cbuf *from)
{
    if (from->p) {
        cb_raw(b, from->p);
    }
    b->failed |= from->failed;
}

static bool no_controls(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            return false;
        }
    }
    return true;
}

/* An NHS number as people write it ("943 476 5919"): its 10 digits. */
static bool nhs_normalise(char *s)
{
    size_t o = 0;
    for (size_t i = 0; s[i]; i++) {
        if (isdigit((unsigned char)s[i])) {
            s[o++] = s[i];
        } else if (s[i] != ' ' && s[i] != '-') {
            return false;
        }
    }
    s[o] = '\0';
    return o == 10;
}

static bool dob_valid(const char *s)
{
    int32_t days;
    return strlen(s) == 10 && sdat_date_parse(s, &days) == 0;
}

static void field(struct cbuf *b, const struct search_errors *e, const char *id,
                  const char *label, const char *hint, const char *value)
{
    const char *error = error_for(e, id);
    cb_printf(b, "<div class=\"field\"><label for=\"%s\">%s</label>\n", id, label);
    if (hint) {
        cb_printf(b, "<p class=\"hint\" id=\"%s-hint\">%s</p>\n", id, hint);
    }
    if (error) {
        cb_printf(b, "<p class=\"error-message\" id=\"%s-error\">", id);
        cb_esc(b, error);
        cb_raw(b, "</p>\n");
    }
    cb_printf(b, "<input type=\"text\" id=\"%s\" name=\"%s\" autocomplete=\"off\"", id, id);
    if (hint || error) {
        cb_raw(b, " aria-describedby=\"");
        if (hint) {
            cb_printf(b, "%s-hint", id);
        }
        if (error) {
            cb_printf(b, "%s%s-error", hint ? " " : "", id);
        }
        cb_raw(b, "\"");
    }
    cb_raw(b, " value=\"");
    cb_esc(b, value);
    cb_raw(b, "\"></div>\n");
}

static void search_page(struct http_answer *ret, unsigned status, const struct console_ctx *ctx,
                        const struct search_form *f, const struct search_errors *e,
                        struct cbuf *results)
{
    struct cbuf b = {0};
    if (e->n) {
        cb_raw(&b, "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-title\">\n"
                   "<h2 id=\"error-title\">There is a problem</h2>\n<ul>\n");
        for (size_t i = 0; i < e->n; i++) {
            cb_printf(&b, "<li><a href=\"#%s\">", e->field[i]);
            cb_esc(&b, e->text[i]);
            cb_raw(&b, "</a></li>\n");
        }
        cb_raw(&b, "</ul>\n</div>\n");
    }
    cb_raw(&b, "<h1>Children</h1>\n<p>Find a child in the register to see everything sdat has "
               "shared about them (a subject access report). Search by one of: the child's "
               "register id, NHS number, UPN, or family name with date of birth.</p>\n"
               "<form method=\"post\" action=\"/console/children\" id=\"search\" novalidate>\n");
    cb_csrf(&b, ctx);
    field(&b, e, "child_id", "Register child id", NULL, f->child_id);
    field(&b, e, "nhs_number", "NHS number", "10 digits, spaces allowed.", f->nhs_number);
    field(&b, e, "upn", "Unique pupil number (UPN)", NULL, f->upn);
    cb_raw(&b, "<fieldset><legend>Or family name with date of birth</legend>\n");
    field(&b, e, "family_name", "Family name", NULL, f->family_name);
    field(&b, e, "dob", "Date of birth", "As YYYY-MM-DD, for example 2017-03-21.", f->dob);
    cb_raw(&b, "</fieldset>\n<button type=\"submit\">Search</button>\n</form>\n");
    if (results) {
        cb_append(&b, results);
    }
    console_page(ret, status, ctx, "Children", &b);
    cb_free(&b);
}

void console_get_children(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR, &ctx)) {
        return;
    }
    ctx.title = "Children";
    struct search_form f = {.child_id = ""};
    struct search_errors e = {.n = 0};
    search_page(ret, 200, &ctx, &f, &e, NULL);
}

struct matches {
    struct cbuf *b;
    size_t n;
};

static const char *str_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int match_row(const char *child_id, const json_t *child, void *opaque)
{
    struct matches *m = opaque;
    if (m->n >= MATCHES_MAX) {
        return 1;
    }
    struct cbuf *b = m->b;
    cb_raw(b, "<tr><td><a href=\"/console/children/");
    cb_esc(b, child_id);
    cb_raw(b, "\">");
    cb_esc(b, child_id);
    cb_raw(b, "</a></td><td>");
    cb_esc(b, str_of(child, "given_name"));
    cb_raw(b, " ");
    cb_esc(b, str_of(child, "family_name"));
    cb_raw(b, "</td><td>");
    cb_esc(b, str_of(child, "dob"));
    cb_raw(b, "</td><td>");
    cb_esc(b, str_of(child, "la_code"));
    cb_raw(b, "</td></tr>\n");
    m->n++;
    return 0;
}

void console_post_children(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR, &ctx)) {
        return;
    }
    ctx.title = "Children";
    struct search_form f = {.child_id = ""};
    struct search_errors e = {.n = 0};
    bool ok = get_field(req->body, "child_id", f.child_id, sizeof f.child_id);
    ok &= get_field(req->body, "nhs_number", f.nhs_number, sizeof f.nhs_number);
    ok &= get_field(req->body, "upn", f.upn, sizeof f.upn);
    ok &= get_field(req->body, "family_name", f.family_name, sizeof f.family_name);
    ok &= get_field(req->body, "dob", f.dob, sizeof f.dob);
    trim(f.child_id);
    trim(f.nhs_number);
    trim(f.upn);
    trim(f.family_name);
    trim(f.dob);
    struct sdat_child_search q = {0};
    if (!ok || !no_controls(f.child_id) || !no_controls(f.upn) || !no_controls(f.family_name)) {
        add_error(&e, "child_id", "Enter a shorter search without control characters");
        memset(&f, 0, sizeof f);
    } else if (f.child_id[0]) {
        q.child_id = f.child_id;
    } else if (f.nhs_number[0]) {
        if (nhs_normalise(f.nhs_number)) {
            q.nhs_number = f.nhs_number;
        } else {
            add_error(&e, "nhs_number", "Enter the NHS number as 10 digits");
        }
    } else if (f.upn[0]) {
        for (char *p = f.upn; *p; p++) {
            *p = (char)toupper((unsigned char)*p);
        }
        q.upn = f.upn;
    } else if (f.family_name[0] || f.dob[0]) {
        if (!f.family_name[0]) {
            add_error(&e, "family_name", "Enter the family name with the date of birth");
        }
        if (!dob_valid(f.dob)) {
            add_error(&e, "dob", "Enter the date of birth as YYYY-MM-DD");
        }
        q.family_name = f.family_name;
        q.dob = f.dob;
    } else {
        add_error(&e, "child_id",
                  "Enter a child id, an NHS number, a UPN, or a family name with a date of birth");
    }
    if (e.n) {
        search_page(ret, 400, &ctx, &f, &e, NULL);
        return;
    }
    struct cbuf rows = {0};
    struct matches m = {.b = &rows};
    sdat_store_t *st = http_store_get(http);
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        r = sdat_store_children_find(st, &q, match_row, &m);
        sdat_store_read_end(st);
    }
    http_store_put(http, st);
    if (r < 0) {
        cb_free(&rows);
        console_message(ret, 503, &ctx, "Try again later", "The register cannot be read now.");
        return;
    }
    struct cbuf res = {0};
    cb_raw(&res, "<h2 id=\"results\">Matches</h2>\n");
    if (m.n == 0) {
        cb_raw(&res, "<p id=\"no-matches\">No child in the register matches.</p>\n");
    } else {
        cb_raw(&res, "<table id=\"children\">\n<caption>Children in the register that "
                     "match</caption>\n<thead><tr><th scope=\"col\">Child id</th>"
                     "<th scope=\"col\">Name</th><th scope=\"col\">Date of birth</th>"
                     "<th scope=\"col\">Local authority</th></tr></thead>\n<tbody>\n");
        cb_append(&res, &rows);
        cb_raw(&res, "</tbody>\n</table>\n");
        if (m.n >= MATCHES_MAX) {
            cb_printf(&res, "<p>The first %d matches are shown.</p>\n", MATCHES_MAX);
        }
    }
    cb_free(&rows);
    search_page(ret, 200, &ctx, &f, &e, &res);
    cb_free(&res);
}

/* ---- the subject access report ---- */

struct share {
    char id[40];
    char *kind, *recipient, *state, *route_reason, *source_key;
    int64_t created_ms, delivered_ms, acknowledged_ms;
};

struct report {
    const char *id;
    json_t *child; /* the register record, or NULL when not (or no longer) in it */
    struct sdat_subject s;
    struct share *shares;
    size_t n_shares;
};

static int copy_share(const struct sdat_notification *n, void *opaque)
{
    struct share *sh = opaque;
    snprintf(sh->id, sizeof sh->id, "%s", n->id);
    sh->kind = strdup(n->kind ? n->kind : "");
    sh->recipient = strdup(n->recipient ? n->recipient : "");
    sh->state = strdup(n->state ? n->state : "");
    sh->route_reason = n->route_reason ? strdup(n->route_reason) : NULL;
    sh->source_key = strdup(n->source_key ? n->source_key : "");
    sh->created_ms = n->created_ms;
    sh->delivered_ms = n->delivered_ms;
    sh->acknowledged_ms = n->acknowledged_ms;
    return sh->kind && sh->recipient && sh->state && sh->source_key ? 0 : -ENOMEM;
}

static void report_free(struct report *rp)
{
    json_decref(rp->child);
    sdat_subject_free(&rp->s);
    for (size_t i = 0; i < rp->n_shares; i++) {
        free(rp->shares[i].kind);
        free(rp->shares[i].recipient);
        free(rp->shares[i].state);
        free(rp->shares[i].route_reason);
        free(rp->shares[i].source_key);
    }
    free(rp->shares);
}

/* One snapshot: the register record, the subject's records and its
 * notifications (as `sdatctl audit export --subject` collects them). */
static int report_read(sdat_store_t *st, struct report *rp)
{
    int r = sdat_store_child_get(st, rp->id, &rp->child);
    if (r == -ENOENT) {
        rp->child = NULL;
        r = 0;
    }
    if (r == 0) {
        r = sdat_store_subject_collect(st, rp->id, &rp->s);
    }
    if (r == 0 && rp->s.n_notifications) {
        rp->shares = calloc(rp->s.n_notifications, sizeof *rp->shares);
        r = rp->shares ? 0 : -ENOMEM;
    }
    for (size_t i = 0; r == 0 && i < rp->s.n_notifications; i++) {
        r = sdat_store_notification_get(st, rp->s.notifications[i], copy_share,
                                        &rp->shares[rp->n_shares]);
        if (r == 0) {
            rp->n_shares++;
        } else if (r == -ENOENT) {
            r = 0; /* named by a record of another instance */
        }
    }
    return r;
}

struct viewed_job {
    const char *id, *actor;
};

static int run_viewed(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct viewed_job *j = arg;
    return sdat_audit_append(e->audit, e->st, now_ms, "record.viewed", j->actor,
                             json_pack("{s:s}", "child_id", j->id),
                             json_pack("{s:s, s:s}", "what", "subject", "via", "console"));
}

/* A value of the register record: a string or number as text, anything
 * else as its compact JSON. */
static void value(struct cbuf *b, const json_t *v)
{
    if (json_is_string(v)) {
        cb_esc(b, json_string_value(v));
    } else if (json_is_integer(v)) {
        cb_printf(b, "%lld", (long long)json_integer_value(v));
    } else {
        char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        cb_esc(b, text ? text : "");
        free(text);
    }
}

static void register_record(struct cbuf *b, const struct report *rp)
{
    cb_raw(b, "<h2 id=\"register\">The register record</h2>\n");
    if (!rp->child) {
        cb_raw(b, "<p id=\"not-in-register\">The child is not in the register now.</p>\n");
        return;
    }
    cb_raw(b, "<dl class=\"facts\" id=\"record\">\n");
    const char *key;
    json_t *v;
    json_object_foreach (rp->child, key, v) {
        if (strcmp(key, "schema") == 0) {
            continue;
        }
        cb_raw(b, "<dt>");
        cb_esc(b, key);
        cb_raw(b, "</dt><dd>");
        value(b, v);
        cb_raw(b, "</dd>\n");
    }
    cb_raw(b, "</dl>\n");
}

/* The lawful basis notification.created recorded for id, from the
 * subject's records (parsed), or NULL. */
static const char *lawful_basis(json_t *records, const char *id)
{
    size_t i;
    json_t *rec;
    json_array_foreach (records, i, rec) {
        if (strcmp(str_of(rec, "type") ? str_of(rec, "type") : "", "notification.created") == 0 &&
            strcmp(str_of(json_object_get(rec, "subject"), "notification_id")
                       ? str_of(json_object_get(rec, "subject"), "notification_id")
                       : "",
                   id) == 0) {
            return str_of(json_object_get(rec, "detail"), "lawful_basis");
        }
    }
    return NULL;
}

static void shares(struct cbuf *b, const struct report *rp, json_t *records)
{
    cb_raw(b, "<h2 id=\"shares-title\">Shares</h2>\n");
    if (rp->n_shares == 0) {
        cb_raw(b, "<p id=\"no-shares\">sdat has shared nothing about this child.</p>\n");
        return;
    }
    cb_raw(b, "<table id=\"shares\">\n<caption>Every share about the child: what, with whom, "
              "when and why</caption>\n<thead><tr><th scope=\"col\">Notification</th>"
              "<th scope=\"col\">What</th><th scope=\"col\">With whom</th>"
              "<th scope=\"col\">When</th><th scope=\"col\">Why</th>"
              "<th scope=\"col\">State</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < rp->n_shares; i++) {
        const struct share *sh = &rp->shares[i];
        cb_raw(b, "<tr><td>");
        cb_esc(b, sh->id);
        cb_raw(b, "</td><td>");
        cb_esc(b, sh->kind);
        cb_raw(b, " (incident ");
        cb_esc(b, sh->source_key);
        cb_raw(b, ")</td><td>");
        cb_esc(b, sh->recipient);
        cb_raw(b, "</td><td>created ");
        cb_time(b, sh->created_ms);
        if (sh->delivered_ms) {
            cb_raw(b, "; delivered ");
            cb_time(b, sh->delivered_ms);
        }
        if (sh->acknowledged_ms) {
            cb_raw(b, "; acknowledged ");
            cb_time(b, sh->acknowledged_ms);
        }
        cb_raw(b, "</td><td>");
        const char *basis = lawful_basis(records, sh->id);
        cb_esc(b, sh->route_reason ? sh->route_reason : "–");
        if (basis) {
            cb_raw(b, "; lawful basis: ");
            cb_esc(b, basis);
        }
        cb_raw(b, "</td><td>");
        cb_esc(b, sh->state);
        cb_raw(b, "</td></tr>\n");
    }
    cb_raw(b, "</tbody>\n</table>\n");
}

static void audit_records(struct cbuf *b, json_t *records)
{
    cb_raw(b, "<h2 id=\"records-title\">Audit records</h2>\n");
    cb_raw(b, "<table id=\"records\">\n<caption>The audit records about the child and its "
              "shares, oldest first</caption>\n<thead><tr><th scope=\"col\">Seq</th>"
              "<th scope=\"col\">Time</th><th scope=\"col\">Type</th><th scope=\"col\">By</th>"
              "<th scope=\"col\">Detail</th></tr></thead>\n<tbody>\n");
    size_t i;
    json_t *rec;
    json_array_foreach (records, i, rec) {
        cb_printf(b, "<tr><td>%lld</td><td>",
                  (long long)json_integer_value(json_object_get(rec, "seq")));
        cb_esc(b, str_of(rec, "ts"));
        cb_raw(b, "</td><td>");
        cb_esc(b, str_of(rec, "type"));
        cb_raw(b, "</td><td>");
        cb_esc(b, str_of(rec, "actor"));
        cb_raw(b, "</td><td><code>");
        value(b, json_object_get(rec, "detail"));
        cb_raw(b, "</code></td></tr>\n");
    }
    cb_raw(b, "</tbody>\n</table>\n");
}

void console_get_child(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR, &ctx)) {
        return;
    }
    ctx.title = "Children";
    struct report rp = {.id = req->id};
    sdat_store_t *st = http_store_get(http);
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        r = report_read(st, &rp);
        sdat_store_read_end(st);
    }
    http_store_put(http, st);
    if (r == 0 && !rp.child && rp.s.n_records == 0 && rp.s.n_notifications == 0) {
        report_free(&rp);
        console_message(ret, 404, &ctx, "Child not found",
                        "No child in the register and no audit record has this id.");
        return;
    }
    /* The access is recorded before anything is shown; when it cannot be,
     * nothing is. */
    struct viewed_job j = {.id = req->id, .actor = ctx.sess.name};
    if (r == 0) {
        r = http_job(http, run_viewed, &j);
    }
    if (r < 0) {
        report_free(&rp);
        console_message(ret, 503, &ctx, "Try again later", "The report cannot be made now.");
        return;
    }
    json_t *records = json_array();
    for (size_t i = 0; records && i < rp.s.n_records; i++) {
        json_t *rec = json_loads(rp.s.records[i].text, 0, NULL);
        if (rec) {
            json_object_set_new(rec, "seq", json_integer(rp.s.records[i].seq));
            json_array_append_new(records, rec);
        }
    }
    struct cbuf b = {0};
    cb_raw(&b, "<h1>Subject access report</h1>\n<dl class=\"facts\" id=\"about\">\n"
               "<dt>Child id</dt><dd id=\"child-id\">");
    cb_esc(&b, req->id);
    cb_raw(&b, "</dd>\n<dt>Produced</dt><dd>");
    cb_time(&b, sdat_time_now_ms());
    cb_raw(&b, " by ");
    cb_esc(&b, ctx.sess.name);
    cb_raw(&b, "</dd>\n<dt>Source</dt><dd>the register and the audit log, as <code>sdatctl "
               "audit export --subject</code> has them</dd>\n</dl>\n");
    register_record(&b, &rp);
    shares(&b, &rp, records);
    audit_records(&b, records);
    json_decref(records);
    report_free(&rp);
    console_page(ret, 200, &ctx, "Subject access report", &b);
    cb_free(&b);
}
