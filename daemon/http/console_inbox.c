/* The console's inbox (console.md "Access"; delivery.md "What a person
 * reads", link mode): for a token narrowed to recipients (a school's DSL,
 * an LA's CP-IS desk), the notifications of those recipients only, each
 * with an "Acknowledge" button that acknowledges through the engine's
 * acknowledgement, as POST /v1/notifications/ID/ack does, with by = the
 * person's name and via = console.
 *
 * The recipients are the token's as the configuration has them now (a
 * reload that narrows a token narrows its sessions at once). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "engine/engine.h"
#include "util/util.h"

#define INBOX_MAX 100 /* per recipient, newest first */

const struct sdat_strv *console_recipients_of(const struct http_request *req,
                                              const struct console_ctx *ctx)
{
    for (size_t i = 0; i < req->conf->n_tokens; i++) {
        const struct http_token *t = &req->conf->tokens[i];
        if (strcmp(t->name, ctx->sess.token_name) == 0) {
            return t->recipients.n ? &t->recipients : NULL;
        }
    }
    return NULL;
}

struct inbox {
    sdat_store_t *st;
    const struct console_ctx *ctx;
    struct cbuf *b;
    size_t n;
};

static int inbox_row(const struct sdat_notification *n, void *opaque)
{
    struct inbox *in = opaque;
    struct cbuf *b = in->b;
    /* Each row opens the notification (its letter), as the email's link. */
    cb_raw(b, "<tr><td><a href=\"/console/notifications/");
    cb_esc(b, n->id);
    cb_raw(b, "\">");
    cb_esc(b, n->id);
    cb_raw(b, "</a></td><td>");
    cb_esc(b, n->kind);
    cb_raw(b, "</td><td>");
    cb_esc(b, n->recipient);
    cb_raw(b, "</td><td>");
    cb_time(b, n->created_ms);
    cb_raw(b, "</td><td>");
    cb_time(b, n->delivered_ms);
    cb_raw(b, "</td><td>");
    if (n->acknowledged_ms) {
        cb_time(b, n->acknowledged_ms);
    } else if (strcmp(n->state, "delivered") == 0) {
        console_ack_form(b, in->ctx, n->id);
    } else {
        cb_raw(b, "– (not delivered)");
    }
    cb_raw(b, "</td></tr>\n");
    in->n++;
    return 0;
}

void console_ack_form(struct cbuf *b, const struct console_ctx *ctx, const char *id)
{
    cb_raw(b, "<form method=\"post\" class=\"ack\" action=\"/console/inbox/");
    cb_esc(b, id);
    cb_raw(b, "\">\n");
    cb_csrf(b, ctx);
    cb_raw(b, "<button type=\"submit\" aria-label=\"Acknowledge ");
    cb_esc(b, id);
    cb_raw(b, "\">Acknowledge</button>\n</form>");
}

static int inbox_id(const char *id, void *opaque)
{
    struct inbox *in = opaque;
    int r = sdat_store_notification_get(in->st, id, inbox_row, in);
    return r == -ENOENT ? 0 : r;
}

void console_get_inbox(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_ACK | SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Inbox";
    const struct sdat_strv *rs = console_recipients_of(req, &ctx);
    struct cbuf b = {0};
    char flash[512];
    console_session_take_flash(http_console_state(http), ctx.cookie, flash, sizeof flash);
    cb_raw(&b, flash);
    cb_raw(&b, "<h1>Inbox</h1>\n");
    if (!rs) {
        cb_raw(&b, "<p id=\"not-narrowed\">Your token is not narrowed to recipients, so it has "
                   "no inbox.</p>\n");
        console_page(ret, 200, &ctx, "Inbox", &b);
        cb_free(&b);
        return;
    }
    cb_raw(&b, "<p>The notifications sent to ");
    for (size_t i = 0; i < rs->n; i++) {
        cb_raw(&b, i == 0 ? "" : i + 1 == rs->n ? " and " : ", ");
        cb_esc(&b, rs->v[i]);
    }
    cb_raw(&b, ". Acknowledge each one once you have read it and acted on it.</p>\n");
    struct cbuf rows = {0};
    struct inbox in = {.ctx = &ctx, .b = &rows};
    sdat_store_t *st = http_store_get(http);
    in.st = st;
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        for (size_t i = 0; r == 0 && i < rs->n; i++) {
            r = sdat_store_notification_ids_for_recipient(st, rs->v[i], INBOX_MAX, inbox_id, &in);
        }
        sdat_store_read_end(st);
    }
    http_store_put(http, st);
    if (r < 0) {
        cb_free(&rows);
        cb_free(&b);
        console_message(ret, 503, &ctx, "Try again later", "The notifications cannot be read now.");
        return;
    }
    cb_raw(&b, "<table id=\"inbox\">\n<caption>Your notifications, newest first</caption>\n"
               "<thead><tr><th scope=\"col\">Notification</th><th scope=\"col\">Kind</th>"
               "<th scope=\"col\">Recipient</th><th scope=\"col\">Created</th>"
               "<th scope=\"col\">Delivered</th><th scope=\"col\">Acknowledged</th></tr></thead>\n"
               "<tbody>\n");
    cb_table_end(&b, &rows, in.n, "no-notifications", "No notification yet.");
    console_page(ret, 200, &ctx, "Inbox", &b);
    cb_free(&b);
}

struct ack_job {
    const char *id;
    char by[HTTP_BY_MAX_BYTES];
};

static int run_ack(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct ack_job *j = arg;
    return sdat_engine_acknowledge_via(e, j->id, j->by, "console", now_ms);
}

void console_post_inbox(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_ACK | SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Inbox";
    /* As the API's ack for a narrowed token: a notification not of these
     * recipients, or none at all, is the same 403. */
    const struct sdat_strv *rs = console_recipients_of(req, &ctx);
    bool covered = false;
    if (http_notification_covered(http, req->id, rs, &covered) < 0) {
        console_message(ret, 503, &ctx, "Try again later", "The notification cannot be read now.");
        return;
    }
    if (!covered) {
        console_message(ret, 403, &ctx, "You cannot acknowledge this notification",
                        "It is not a notification of your recipients.");
        return;
    }
    struct ack_job j = {.id = req->id};
    if (!http_ack_by(ctx.sess.name, j.by, sizeof j.by)) {
        console_message(ret, 400, &ctx, "Your name cannot be recorded",
                        "Log out and log in again with your name.");
        return;
    }
    int r = http_job(http, run_ack, &j);
    if (r >= 0) {
        struct cbuf f = {0};
        cb_raw(&f, "<div class=\"banner\" role=\"status\" id=\"outcome\"><p>Notification ");
        cb_esc(&f, req->id);
        cb_raw(&f, r == 1 ? " was acknowledged already.</p></div>\n" : " acknowledged.</p></div>\n");
        if (!f.failed) {
            console_session_flash(http_console_state(http), ctx.cookie, f.p);
        }
        cb_free(&f);
        console_redirect(ret, "/console/inbox");
    } else if (r == -EBUSY) {
        console_message(ret, 409, &ctx, "The notification cannot be acknowledged yet",
                        "It has not been delivered.");
    } else if (r == -ENOENT) {
        console_message(ret, 404, &ctx, "Notification not found", "There is no such notification.");
    } else {
        console_message(ret, 503, &ctx, "Try again later", "The acknowledgement was not recorded.");
    }
}
