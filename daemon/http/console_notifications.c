/* The console's notification pages (console.md "Pages"): a search (GET
 * fields of ids, states and dates only: never personal data in a URL), one
 * notification with its timeline, audit records and payload and the forms
 * of the four operator actions (console_actions.c). A token narrowed to
 * recipients (delivery.md "What a person reads", link mode) opens its
 * recipients' notifications only: the letter and an Acknowledge button.
 * Opening one is an access: a record.viewed audit record (actor the
 * person's name, detail.what = notification, detail.token the token's
 * name: delivery.md, link mode). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "engine/engine.h"
#include "util/util.h"

#define PAGE_ROWS 50
#define FILTER_MAX 160

/* The states the search offers: the stored ones and the sets today's
 * counts name (store.h, sdat_store_console_notifications). */
static const char *const states[] = {"scheduled", "pending",   "delivering",     "delivered",
                                     "acknowledged", "failed", "unacknowledged", "cancelled",
                                     "superseded"};

/* 1–max characters, each a letter, digit or one of extra. */
static bool id_like(const char *s, size_t max, const char *extra)
{
    size_t n = strlen(s);
    if (n < 1 || n > max) {
        return false;
    }
    for (const char *p = s; *p; p++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9');
        if (!alnum && !strchr(extra, *p)) {
            return false;
        }
    }
    return true;
}

/* An error summary naming each field in error (fields[i] is the id of its
 * input, messages[i] says what is wrong). */
static void error_summary(struct cbuf *b, size_t n, const char *const *fields,
                          const char *const *messages)
{
    if (n == 0) {
        return;
    }
    cb_raw(b, "<div class=\"error-summary\" role=\"alert\" aria-labelledby=\"error-title\">\n"
              "<h2 id=\"error-title\">There is a problem</h2>\n<ul>\n");
    for (size_t i = 0; i < n; i++) {
        cb_raw(b, "<li><a href=\"#");
        cb_raw(b, fields[i]);
        cb_raw(b, "\">");
        cb_esc(b, messages[i]);
        cb_raw(b, "</a></li>\n");
    }
    cb_raw(b, "</ul>\n</div>\n");
}

/* ---- the search ---- */

struct search {
    const char *state, *kind, *recipient, *incident, *from, *to, *after;
    const char *fields[8], *messages[8];
    size_t n_errors;
    struct sdat_console_search q;
    char after_id[48];
};

static const char *query_or_null(struct http_request *req, const char *name)
{
    const char *v = http_query(req, name);
    return v && v[0] ? v : NULL;
}

static void search_error(struct search *s, const char *field, const char *message)
{
    if (s->n_errors < sizeof s->fields / sizeof s->fields[0]) {
        s->fields[s->n_errors] = field;
        s->messages[s->n_errors++] = message;
    }
}

static int64_t date_ms(const char *s, bool *ok)
{
    int32_t days = 0;
    *ok = strlen(s) == 10 && sdat_date_parse(s, &days) == 0;
    return (int64_t)days * 86400000;
}

/* Reads and checks the search's fields into s->q. */
static void search_parse(struct http_request *req, struct search *s)
{
    s->state = query_or_null(req, "state");
    s->kind = query_or_null(req, "kind");
    s->recipient = query_or_null(req, "recipient");
    s->incident = query_or_null(req, "incident");
    s->from = query_or_null(req, "from");
    s->to = query_or_null(req, "to");
    s->after = query_or_null(req, "after");
    if (s->state) {
        bool known = false;
        for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
            known |= strcmp(s->state, states[i]) == 0;
        }
        if (!known) {
            search_error(s, "state", "State: choose one of the states in the list");
        } else {
            s->q.state = s->state;
        }
    }
    if (s->kind) {
        if (!id_like(s->kind, 40, "-")) {
            search_error(s, "kind", "Kind: a notification kind such as da-incident");
        } else {
            s->q.kind = s->kind;
        }
    }
    if (s->recipient) {
        if (!id_like(s->recipient, 128, ":._-")) {
            search_error(s, "recipient", "Recipient: a recipient id such as school:100001");
        } else {
            s->q.recipient = s->recipient;
        }
    }
    if (s->incident) {
        if (!id_like(s->incident, FILTER_MAX, "/_-.:")) {
            search_error(s, "incident", "Incident: an incident key such as force/INCIDENT-ID");
        } else {
            s->q.incident = s->incident;
        }
    }
    bool ok = true;
    if (s->from) {
        s->q.from_ms = date_ms(s->from, &ok);
        if (!ok) {
            search_error(s, "from", "Created from: a date as YYYY-MM-DD");
            s->q.from_ms = 0;
        }
    }
    if (s->to) {
        s->q.to_ms = date_ms(s->to, &ok) + 86400000;
        if (!ok) {
            search_error(s, "to", "Created to: a date as YYYY-MM-DD");
            s->q.to_ms = 0;
        } else if (s->q.from_ms > 0 && s->q.to_ms <= s->q.from_ms) {
            search_error(s, "to", "Created to: on or after the date it is from");
        }
    }
    if (s->after) {
        /* The cursor: created_ms "." id of the last row shown. */
        char *end = NULL;
        errno = 0;
        long long ms = strtoll(s->after, &end, 10);
        if (errno || end == s->after || *end != '.' || ms < 0 ||
            !id_like(end + 1, sizeof s->after_id - 1, "_-")) {
            search_error(s, "search", "The page link is not valid: search again");
        } else {
            s->q.after_ms = ms;
            snprintf(s->after_id, sizeof s->after_id, "%s", end + 1);
            s->q.after_id = s->after_id;
        }
    }
}

struct list_ctx {
    struct cbuf *b;
    size_t n;
    int64_t last_ms;
    char last_id[48];
};

static int list_row(const struct sdat_notification *n, void *opaque)
{
    struct list_ctx *l = opaque;
    if (++l->n > PAGE_ROWS) {
        return 0; /* the first of the next page: only says there is one */
    }
    struct cbuf *b = l->b;
    cb_raw(b, "<tr><td><a href=\"/console/notifications/");
    cb_esc(b, n->id);
    cb_raw(b, "\">");
    cb_esc(b, n->id);
    cb_raw(b, "</a></td><td>");
    cb_esc(b, n->kind);
    cb_raw(b, "</td><td>");
    cb_esc(b, n->recipient);
    cb_raw(b, "</td><td>");
    cb_esc(b, n->state);
    cb_raw(b, "</td><td>");
    cb_time(b, n->scheduled_ms);
    cb_printf(b, "</td><td>%d</td><td>", n->attempts);
    if (n->acknowledged_ms > 0) {
        cb_time(b, n->acknowledged_ms);
    } else {
        cb_raw(b, "No");
    }
    cb_raw(b, "</td></tr>\n");
    l->last_ms = n->created_ms;
    snprintf(l->last_id, sizeof l->last_id, "%s", n->id);
    return 0;
}

static void text_input(struct cbuf *b, const char *id, const char *label, const char *hint,
                       const char *value)
{
    cb_raw(b, "<div class=\"field\"><label for=\"");
    cb_raw(b, id);
    cb_raw(b, "\">");
    cb_raw(b, label);
    cb_raw(b, "</label>\n");
    if (hint) {
        cb_raw(b, "<p class=\"hint\" id=\"");
        cb_raw(b, id);
        cb_raw(b, "-hint\">");
        cb_raw(b, hint);
        cb_raw(b, "</p>\n");
    }
    cb_raw(b, "<input type=\"text\" id=\"");
    cb_raw(b, id);
    cb_raw(b, "\" name=\"");
    cb_raw(b, id);
    cb_raw(b, "\"");
    if (hint) {
        cb_raw(b, " aria-describedby=\"");
        cb_raw(b, id);
        cb_raw(b, "-hint\"");
    }
    cb_raw(b, " value=\"");
    cb_esc(b, value);
    cb_raw(b, "\"></div>\n");
}

static void search_form(struct cbuf *b, const struct search *s)
{
    cb_raw(b, "<form method=\"get\" action=\"/console/notifications\" id=\"search\">\n"
              "<div class=\"field\"><label for=\"state\">State</label>\n"
              "<select id=\"state\" name=\"state\"><option value=\"\">Any</option>\n");
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        cb_raw(b, "<option value=\"");
        cb_raw(b, states[i]);
        cb_raw(b, s->state && strcmp(s->state, states[i]) == 0 ? "\" selected>" : "\">");
        cb_raw(b, states[i]);
        cb_raw(b, "</option>\n");
    }
    cb_raw(b, "</select></div>\n");
    text_input(b, "kind", "Kind", "For example da-incident or withdrawn.", s->kind);
    text_input(b, "recipient", "Recipient", "A recipient id, for example school:100001.",
               s->recipient);
    text_input(b, "incident", "Incident", "The incident key, for example force/INCIDENT-ID.",
               s->incident);
    text_input(b, "from", "Created from", "A date, YYYY-MM-DD (UTC).", s->from);
    text_input(b, "to", "Created to", "A date, YYYY-MM-DD (UTC), included.", s->to);
    cb_raw(b, "<button type=\"submit\">Search</button>\n</form>\n");
}

/* The query string of the search without the cursor (values checked). */
static void search_query(struct cbuf *b, const struct search *s)
{
    const struct {
        const char *name, *v;
    } f[] = {{"state", s->q.state},       {"kind", s->q.kind}, {"recipient", s->q.recipient},
             {"incident", s->q.incident}, {"from", s->from},   {"to", s->to}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        if (f[i].v) {
            cb_raw(b, f[i].name);
            cb_raw(b, "=");
            cb_query_value(b, f[i].v);
            cb_raw(b, "&amp;");
        }
    }
}

void console_get_notifications(sdat_http_t *http, struct http_request *req,
                               struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Notifications";
    struct search s = {.state = NULL};
    search_parse(req, &s);
    struct cbuf rows = {0};
    struct list_ctx l = {.b = &rows};
    int r = 0;
    if (s.n_errors == 0) {
        s.q.now_ms = sdat_time_now_ms();
        s.q.limit = PAGE_ROWS + 1;
        sdat_store_t *st = http_store_get(http);
        r = st ? sdat_store_read_begin(st) : -EIO;
        if (r == 0) {
            r = sdat_store_console_notifications(st, &s.q, list_row, &l);
            sdat_store_read_end(st);
        }
        http_store_put(http, st);
    }
    if (r < 0) {
        cb_free(&rows);
        console_message(ret, 503, &ctx, "Try again later", "The store cannot be read now.");
        return;
    }
    struct cbuf b = {0};
    error_summary(&b, s.n_errors, s.fields, s.messages);
    cb_raw(&b, "<h1>Notifications</h1>\n");
    search_form(&b, &s);
    if (s.n_errors == 0) {
        cb_raw(&b, "<table id=\"notifications\">\n<caption>Notifications");
        cb_raw(&b, s.n_errors || (!s.q.state && !s.q.kind && !s.q.recipient && !s.q.incident &&
                                  !s.from && !s.to)
                       ? ""
                       : " matching the search");
        cb_raw(&b, ", newest first");
        cb_raw(&b, s.after ? " (a later page)" : "");
        cb_raw(&b, "</caption>\n<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Kind</th>"
                   "<th scope=\"col\">Recipient</th><th scope=\"col\">State</th>"
                   "<th scope=\"col\">Scheduled for</th><th scope=\"col\">Attempts</th>"
                   "<th scope=\"col\">Acknowledged</th></tr></thead>\n<tbody>\n");
        cb_table_end(&b, &rows, l.n, "no-notifications", "No notification matches.");
        if (l.n > PAGE_ROWS) {
            cb_raw(&b, "<p><a id=\"next\" rel=\"next\" href=\"/console/notifications?");
            search_query(&b, &s);
            cb_printf(&b, "after=%lld.", (long long)l.last_ms);
            cb_query_value(&b, l.last_id);
            cb_raw(&b, "\">Next page</a></p>\n");
        }
    }
    console_page(ret, s.n_errors ? 400 : 200, &ctx, "Notifications", &b);
    cb_free(&b);
    cb_free(&rows);
}

/* ---- one notification ---- */

struct view_job {
    const char *id, *actor, *token; /* the person's name, the session's token's */
    /* out */
    char kind[40], recipient[128], state[16], source_key[200], route_reason[40], child_ref[40];
    char sha[72];
    int attempts;
    int64_t created_ms, scheduled_ms, next_attempt_ms, delivered_ms, acknowledged_ms;
    char *payload;
    char *letter; /* the letter as the recipient reads it (decide/letter.h), or NULL */
    char *last_error;
    char lawful_basis[200];
    json_t *timeline; /* [{at, outcome, detail}] */
    json_t *audit;    /* [record] */
    json_t *recipients; /* [[id, name]] from the configuration, for the redirect form */
};

static int copy_notification(const struct sdat_notification *n, void *opaque)
{
    struct view_job *j = opaque;
    snprintf(j->kind, sizeof j->kind, "%s", n->kind);
    snprintf(j->recipient, sizeof j->recipient, "%s", n->recipient);
    snprintf(j->state, sizeof j->state, "%s", n->state);
    snprintf(j->source_key, sizeof j->source_key, "%s", n->source_key);
    snprintf(j->route_reason, sizeof j->route_reason, "%s", n->route_reason ? n->route_reason : "");
    snprintf(j->child_ref, sizeof j->child_ref, "%s", n->child_ref ? n->child_ref : "");
    snprintf(j->sha, sizeof j->sha, "%s", n->payload_sha256 ? n->payload_sha256 : "");
    j->attempts = n->attempts;
    j->created_ms = n->created_ms;
    j->scheduled_ms = n->scheduled_ms;
    j->next_attempt_ms = n->next_attempt_ms;
    j->delivered_ms = n->delivered_ms;
    j->acknowledged_ms = n->acknowledged_ms;
    j->payload = n->payload ? strdup(n->payload) : NULL;
    j->last_error = n->last_error ? strdup(n->last_error) : NULL;
    return 0;
}

static int add_attempt(const struct sdat_attempt *a, void *opaque)
{
    json_t *list = opaque;
    return json_array_append_new(list, json_pack("{s:I, s:s, s:s?}", "at", (json_int_t)a->at_ms,
                                                 "outcome", a->outcome, "detail", a->detail)) == 0
               ? 0
               : -ENOMEM;
}

static int add_record(int64_t seq, const char *record, void *opaque)
{
    (void)seq;
    json_t *doc = json_loads(record, 0, NULL);
    return doc && json_array_append_new(opaque, doc) == 0 ? 0 : -ENOMEM;
}

/* On the writer: reads the notification, its attempts and audit records,
 * and records the view. */
static int run_view(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct view_job *j = arg;
    int r = sdat_store_notification_get(e->st, j->id, copy_notification, j);
    if (r < 0) {
        return r;
    }
    j->timeline = json_array();
    j->audit = json_array();
    j->recipients = json_array();
    if (!j->timeline || !j->audit || !j->recipients) {
        return -ENOMEM;
    }
    r = sdat_store_attempts_each(e->st, j->id, add_attempt, j->timeline);
    if (r == 0) {
        r = sdat_store_audit_about(e->st, j->id, add_record, j->audit);
    }
    if (r < 0) {
        return r;
    }
    json_t *payload = j->payload ? json_loads(j->payload, 0, NULL) : NULL;
    const char *basis = json_string_value(json_object_get(payload, "lawful_basis"));
    if (!basis) {
        basis = sdat_config_lawful_basis(e->cfg, j->kind);
    }
    snprintf(j->lawful_basis, sizeof j->lawful_basis, "%s", basis ? basis : "");
    /* The same letter as the email's (delivery.md "What a person reads"). */
    const struct sdat_recipient *addressee = sdat_config_recipient(e->cfg, j->recipient);
    const sdat_tz_t *tz = NULL;
    if (sdat_tz_get(e->cfg->timezone ? e->cfg->timezone : "Europe/London", &tz) < 0) {
        tz = NULL;
    }
    const char *addressee_kind = addressee ? sdat_recipient_kind_name(addressee->kind) : NULL;
    struct sdat_letter_in in = {.payload = payload,
                                .recipient_name = addressee ? addressee->name : NULL,
                                .recipient_kind = addressee_kind,
                                .tz = tz,
                                .guidance = sdat_config_guidance(e->cfg, j->kind),
                                .public_url = e->cfg->http.public_url};
    const char *withdraws = json_string_value(json_object_get(payload, "withdraws"));
    if (withdraws &&
        sdat_store_notification_sent_ms(e->st, withdraws, &in.withdraws_sent_ms) < 0) {
        in.withdraws_sent_ms = 0; /* gone (retention) or unreadable: the id alone */
    }
    struct sdat_letter letter;
    if (payload && sdat_letter_render(&in, &letter) == 0) {
        j->letter = letter.body;
        letter.body = NULL;
        sdat_letter_free(&letter);
    }
    json_decref(payload);
    for (size_t i = 0; i < e->cfg->n_recipients; i++) {
        const struct sdat_recipient *to = &e->cfg->recipients[i];
        json_array_append_new(j->recipients, json_pack("[s, s?]", to->id, to->name));
    }
    return sdat_audit_append(e->audit, e->st, now_ms, "record.viewed", j->actor,
                             json_pack("{s:s, s:s, s:s}", "notification_id", j->id, "recipient",
                                       j->recipient, "incident", j->source_key),
                             json_pack("{s:s, s:s, s:s}", "what", "notification", "via", "console",
                                       "token", j->token));
}

static void view_job_clear(struct view_job *j)
{
    free(j->payload);
    free(j->letter);
    free(j->last_error);
    json_decref(j->timeline);
    json_decref(j->audit);
    json_decref(j->recipients);
}

static void fact(struct cbuf *b, const char *id, const char *label, const char *value)
{
    cb_raw(b, "<dt>");
    cb_raw(b, label);
    cb_raw(b, "</dt><dd");
    if (id) {
        cb_raw(b, " id=\"");
        cb_raw(b, id);
        cb_raw(b, "\"");
    }
    cb_raw(b, ">");
    cb_esc(b, value && value[0] ? value : "–");
    cb_raw(b, "</dd>\n");
}

static void fact_time(struct cbuf *b, const char *label, int64_t ms)
{
    cb_raw(b, "<dt>");
    cb_raw(b, label);
    cb_raw(b, "</dt><dd>");
    cb_time(b, ms);
    cb_raw(b, "</dd>\n");
}

static void timeline(struct cbuf *b, const struct view_job *j)
{
    cb_raw(b, "<h2 id=\"attempts-title\">Delivery attempts</h2>\n");
    if (json_array_size(j->timeline) == 0) {
        cb_raw(b, "<p id=\"no-attempts\">No attempt yet.</p>\n");
        return;
    }
    cb_raw(b, "<ol id=\"attempts\" aria-labelledby=\"attempts-title\">\n");
    size_t i;
    json_t *a;
    json_array_foreach (j->timeline, i, a) {
        cb_raw(b, "<li>");
        cb_time(b, (int64_t)json_integer_value(json_object_get(a, "at")));
        cb_raw(b, ": <strong>");
        cb_esc(b, json_string_value(json_object_get(a, "outcome")));
        cb_raw(b, "</strong>");
        const char *detail = json_string_value(json_object_get(a, "detail"));
        if (detail) {
            cb_raw(b, " (");
            cb_esc(b, detail);
            cb_raw(b, ")");
        }
        cb_raw(b, "</li>\n");
    }
    cb_raw(b, "</ol>\n");
}

static void audit_table(struct cbuf *b, const struct view_job *j)
{
    cb_raw(b, "<table id=\"audit\">\n<caption>Audit records about this notification, oldest "
              "first</caption>\n<thead><tr><th scope=\"col\">Seq</th><th scope=\"col\">At</th>"
              "<th scope=\"col\">Type</th><th scope=\"col\">By</th><th scope=\"col\">Detail</th>"
              "</tr></thead>\n<tbody>\n");
    size_t i;
    json_t *rec;
    json_array_foreach (j->audit, i, rec) {
        cb_printf(b, "<tr><td>%lld</td><td>",
                  (long long)json_integer_value(json_object_get(rec, "seq")));
        cb_esc(b, json_string_value(json_object_get(rec, "at")));
        cb_raw(b, "</td><td>");
        cb_esc(b, json_string_value(json_object_get(rec, "type")));
        cb_raw(b, "</td><td>");
        cb_esc(b, json_string_value(json_object_get(rec, "actor")));
        cb_raw(b, "</td><td><code>");
        char *detail = json_dumps(json_object_get(rec, "detail"), JSON_COMPACT | JSON_SORT_KEYS);
        cb_esc(b, detail);
        free(detail);
        cb_raw(b, "</code></td></tr>\n");
    }
    cb_raw(b, "</tbody>\n</table>\n");
}

static void reason_field(struct cbuf *b, const char *action, const char *label, const char *hint)
{
    cb_printf(b, "<label for=\"%s-reason\">", action);
    cb_raw(b, label);
    cb_printf(b, "</label>\n<p class=\"hint\" id=\"%s-reason-hint\">", action);
    cb_raw(b, hint);
    cb_printf(b, "</p>\n<textarea id=\"%s-reason\" name=\"reason\" maxlength=\"200\" required "
                 "aria-describedby=\"%s-reason-hint\"></textarea>\n",
              action, action);
}

static void action_form(struct cbuf *b, const struct console_ctx *ctx, const struct view_job *j,
                        const char *action, const char *title, const char *when,
                        const char *button)
{
    cb_printf(b, "<section aria-labelledby=\"%s-title\">\n<h3 id=\"%s-title\">", action, action);
    cb_raw(b, title);
    cb_raw(b, "</h3>\n<p>");
    cb_raw(b, when);
    cb_printf(b, "</p>\n<form method=\"post\" id=\"%s\" action=\"/console/notifications/", action);
    cb_esc(b, j->id);
    cb_printf(b, "/%s\">\n", action);
    cb_csrf(b, ctx);
    if (strcmp(action, "redirect") == 0) {
        cb_raw(b, "<label for=\"redirect-recipient\">New recipient</label>\n"
                  "<select id=\"redirect-recipient\" name=\"recipient\" required>\n");
        size_t i;
        json_t *r;
        json_array_foreach (j->recipients, i, r) {
            const char *id = json_string_value(json_array_get(r, 0));
            const char *name = json_string_value(json_array_get(r, 1));
            if (strcmp(id, j->recipient) == 0) {
                continue;
            }
            cb_raw(b, "<option value=\"");
            cb_esc(b, id);
            cb_raw(b, "\">");
            cb_esc(b, id);
            if (name) {
                cb_raw(b, " (");
                cb_esc(b, name);
                cb_raw(b, ")");
            }
            cb_raw(b, "</option>\n");
        }
        cb_raw(b, "</select>\n");
    }
    if (strcmp(action, "withdraw") == 0) {
        reason_field(b, action, "Reason",
                     "Sent to the recipient in the withdrawal, and kept in the audit log (up to "
                     "200 characters).");
    } else {
        reason_field(b, action, "Reason",
                     "Why, for the audit log (up to 200 characters). The recipient does not "
                     "see it.");
    }
    cb_raw(b, "<button type=\"submit\" class=\"secondary\">");
    cb_raw(b, button);
    cb_raw(b, "</button>\n</form>\n</section>\n");
}

static void item_page(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                      struct console_ctx *ctx)
{
    struct view_job j = {.id = req->id, .actor = ctx->sess.name, .token = ctx->sess.token_name};
    int r = http_job(http, run_view, &j);
    if (r < 0) {
        view_job_clear(&j);
        if (r == -ENOENT) {
            console_message(ret, 404, ctx, "Notification not found",
                            "There is no such notification.");
        } else {
            console_message(ret, 503, ctx, "Try again later",
                            "The notification cannot be read now.");
        }
        return;
    }
    struct cbuf b = {0};
    char flash[512];
    console_session_take_flash(http_console_state(http), ctx->cookie, flash, sizeof flash);
    cb_raw(&b, flash);
    cb_raw(&b, "<h1>Notification ");
    cb_esc(&b, j.id);
    cb_raw(&b, "</h1>\n<dl class=\"facts\" id=\"notification\">\n");
    fact(&b, "state", "State", j.state);
    fact(&b, "recipient", "Recipient", j.recipient);
    fact(&b, "kind", "Kind", j.kind);
    fact(&b, "incident", "Incident", j.source_key);
    fact(&b, NULL, "Child (ref)", j.child_ref);
    fact(&b, "route-reason", "Route reason", j.route_reason);
    fact(&b, "lawful-basis", "Lawful basis", j.lawful_basis);
    fact_time(&b, "Created", j.created_ms);
    fact_time(&b, "Scheduled for", j.scheduled_ms);
    if (strcmp(j.state, "scheduled") == 0) {
        fact_time(&b, "Next attempt", j.next_attempt_ms);
    }
    cb_printf(&b, "<dt>Attempts</dt><dd>%d</dd>\n", j.attempts);
    fact(&b, NULL, "Last error", j.last_error);
    fact_time(&b, "Delivered", j.delivered_ms);
    cb_raw(&b, "<dt>Acknowledgement</dt><dd id=\"acknowledged\">");
    if (j.acknowledged_ms > 0) {
        cb_raw(&b, "Acknowledged ");
        cb_time(&b, j.acknowledged_ms);
    } else {
        cb_raw(&b, "Not acknowledged");
    }
    cb_raw(&b, "</dd>\n</dl>\n");
    timeline(&b, &j);
    if (j.letter) {
        /* Built by decide/letter.c, every value escaped there. */
        cb_raw(&b, "<h2>What the recipient reads</h2>\n<section id=\"letter\" class=\"letter\">\n");
        cb_raw(&b, j.letter);
        cb_raw(&b, "</section>\n");
    }
    cb_raw(&b, "<h2>Payload as the recipient received it</h2>\n");
    json_t *payload = j.payload ? json_loads(j.payload, 0, NULL) : NULL;
    if (payload) {
        char *pretty = json_dumps(payload, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        cb_raw(&b, "<pre id=\"payload\" tabindex=\"0\">");
        cb_esc(&b, pretty);
        cb_raw(&b, "</pre>\n");
        free(pretty);
        json_decref(payload);
    } else {
        cb_raw(&b, "<p id=\"payload-removed\">The payload was removed under retention; its "
                   "SHA-256 was ");
        cb_esc(&b, j.sha);
        cb_raw(&b, ".</p>\n");
    }
    cb_raw(&b, "<h2>Audit records</h2>\n");
    audit_table(&b, &j);
    cb_raw(&b, "<h2>Actions</h2>\n");
    action_form(&b, ctx, &j, "cancel", "Cancel", "A scheduled notification is not sent.",
                "Cancel the notification");
    action_form(&b, ctx, &j, "resend", "Resend",
                "A delivered, acknowledged or failed notification is delivered again, now.",
                "Resend the notification");
    action_form(&b, ctx, &j, "redirect", "Redirect",
                "A new notification goes to another recipient; a scheduled or failed one is "
                "superseded, a delivered one is withdrawn from its recipient.",
                "Redirect the notification");
    action_form(&b, ctx, &j, "withdraw", "Withdraw",
                "The recipient of a delivered notification is told it was sent in error.",
                "Withdraw the notification");
    view_job_clear(&j);
    console_page(ret, 200, ctx, "Notification", &b);
    cb_free(&b);
}

/* What the recipient's reader sees (the link of a link-mode email): the
 * letter, when it was delivered and the Acknowledge button; nothing of
 * the operator's (route, attempts, audit records, actions). */
static void recipient_page(sdat_http_t *http, struct http_request *req, struct http_answer *ret,
                           struct console_ctx *ctx)
{
    struct view_job j = {.id = req->id, .actor = ctx->sess.name, .token = ctx->sess.token_name};
    int r = http_job(http, run_view, &j);
    if (r < 0) {
        view_job_clear(&j);
        console_message(ret, 503, ctx, "Try again later", "The notification cannot be read now.");
        return;
    }
    struct cbuf b = {0};
    cb_raw(&b, "<h1>Notification ");
    cb_esc(&b, j.id);
    cb_raw(&b, "</h1>\n<dl class=\"facts\" id=\"notification\">\n");
    fact(&b, "recipient", "Recipient", j.recipient);
    fact(&b, "kind", "Kind", j.kind);
    fact_time(&b, "Delivered", j.delivered_ms);
    cb_raw(&b, "<dt>Acknowledgement</dt><dd id=\"acknowledged\">");
    if (j.acknowledged_ms > 0) {
        cb_raw(&b, "Acknowledged ");
        cb_time(&b, j.acknowledged_ms);
    } else if (strcmp(j.state, "delivered") == 0) {
        console_ack_form(&b, ctx, j.id);
    } else {
        cb_raw(&b, "Not acknowledged");
    }
    cb_raw(&b, "</dd>\n</dl>\n");
    if (j.letter) {
        /* Built by decide/letter.c, every value escaped there. */
        cb_raw(&b, "<section id=\"letter\" class=\"letter\">\n");
        cb_raw(&b, j.letter);
        cb_raw(&b, "</section>\n");
    } else {
        cb_raw(&b, "<p id=\"payload-removed\">The notification's contents were removed under "
                   "retention.</p>\n");
    }
    view_job_clear(&j);
    console_page(ret, 200, ctx, "Notification", &b);
    cb_free(&b);
}

void console_get_notification(sdat_http_t *http, struct http_request *req,
                              struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_ACK, &ctx)) {
        return;
    }
    if (ctx.sess.roles & SDAT_ROLE_OPERATOR) {
        ctx.title = "Notifications";
        item_page(http, req, ret, &ctx);
        return;
    }
    /* As the inbox's Acknowledge: a notification not of the token's
     * recipients, or none at all, is the same 403 (no probing for ids). */
    ctx.title = "Inbox";
    bool covered = false;
    if (http_notification_covered(http, req->id, console_recipients_of(req, &ctx), &covered) < 0) {
        console_message(ret, 503, &ctx, "Try again later", "The notification cannot be read now.");
        return;
    }
    if (!covered) {
        console_message(ret, 403, &ctx, "You cannot open this notification",
                        "It is not a notification of your recipients.");
        return;
    }
    recipient_page(http, req, ret, &ctx);
}
