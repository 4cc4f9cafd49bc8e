/* The console's four operator actions on a notification (console.md
 * "Pages"; delivery.md "Operator actions"): the forms on its page POST here,
 * and each goes through the same engine functions as
 * POST /v1/notifications/ID/{cancel,resend,redirect,withdraw}, audited with
 * by = the person's name, via = console and the reason given. The outcome
 * comes back on the notification's page as a one-time message. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "engine/engine.h"
#include "util/util.h"

/* ---- the actions ---- */

enum action { ACTION_CANCEL, ACTION_RESEND, ACTION_REDIRECT, ACTION_WITHDRAW };

static const char *const action_names[] = {"cancel", "resend", "redirect", "withdraw"};

struct action_job {
    enum action action;
    const char *id, *by, *recipient, *reason;
    struct sdat_operator_result result;
};

static int run_action(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct action_job *j = arg;
    switch (j->action) {
    case ACTION_CANCEL:
        return sdat_engine_notification_cancel_via(e, j->id, j->by, "console", j->reason, now_ms,
                                                   &j->result);
    case ACTION_RESEND:
        return sdat_engine_notification_resend_via(e, j->id, j->by, "console", j->reason, now_ms,
                                                   &j->result);
    case ACTION_REDIRECT:
        /* The reason is for the audit log: the withdrawal a delivered
         * notification's recipient gets keeps the standard text, which
         * does not say where the notification went instead. */
        return sdat_engine_notification_redirect_via(e, j->id, j->recipient, NULL, j->by,
                                                     "console", j->reason, now_ms, &j->result);
    case ACTION_WITHDRAW:
        return sdat_engine_notification_withdraw_via(e, j->id, j->reason, j->by, "console",
                                                     now_ms, &j->result);
    }
    return -EINVAL;
}

/* The one-time message for the item's page: an error summary naming field
 * (an input's id), or a banner. */
static void flash_problem(sdat_http_t *http, const struct console_ctx *ctx, const char *field,
                          const char *text)
{
    struct cbuf f = {0};
    cb_raw(&f, "<div class=\"error-summary\" role=\"alert\" id=\"outcome\" "
               "aria-labelledby=\"error-title\">\n<h2 id=\"error-title\">There is a problem</h2>\n"
               "<ul><li><a href=\"#");
    cb_raw(&f, field);
    cb_raw(&f, "\">");
    cb_esc(&f, text);
    cb_raw(&f, "</a></li></ul>\n</div>\n");
    if (!f.failed && f.len < 512) {
        console_session_flash(http_console_state(http), ctx->cookie, f.p);
    } else {
        console_session_flash(http_console_state(http), ctx->cookie,
                              "<div class=\"error-summary\" role=\"alert\" id=\"outcome\"><h2>"
                              "There is a problem</h2><p>The action was refused.</p></div>\n");
    }
    cb_free(&f);
}

static void cb_link_id(struct cbuf *b, const char *id)
{
    cb_raw(b, "<a href=\"/console/notifications/");
    cb_esc(b, id);
    cb_raw(b, "\">");
    cb_esc(b, id);
    cb_raw(b, "</a>");
}

static void notification_action(sdat_http_t *http, struct http_request *req,
                                 struct http_answer *ret, enum action action)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Notifications";
    char back[HTTP_ID_MAX * 3 + 40], field[32];
    struct cbuf path = {0};
    cb_raw(&path, "/console/notifications/");
    cb_query_value(&path, req->id);
    snprintf(back, sizeof back, "%s", path.p ? path.p : "/console/notifications");
    cb_free(&path);
    char reason[CONSOLE_REASON_MAX_CHARS * 4 + 8], recipient[160] = "";
    struct action_job j = {.action = action, .id = req->id, .by = ctx.sess.name};
    snprintf(field, sizeof field, "%s-reason", action_names[action]);
    if (action == ACTION_REDIRECT &&
        (!console_form_field(req->body, "recipient", recipient, sizeof recipient) ||
         !recipient[0])) {
        flash_problem(http, &ctx, "redirect-recipient", "Choose the new recipient");
        console_redirect(ret, back);
        return;
    }
    if (!console_form_field(req->body, "reason", reason, sizeof reason) ||
        !console_text_valid(reason, CONSOLE_REASON_MAX_CHARS)) {
        flash_problem(http, &ctx, field, "Enter the reason, up to 200 characters");
        console_redirect(ret, back);
        return;
    }
    j.reason = reason;
    j.recipient = recipient;
    int r = http_job(http, run_action, &j);
    if (r == -ENOENT) {
        console_message(ret, 404, &ctx, "Notification not found", "There is no such notification.");
        return;
    }
    if (r == 0) {
        struct cbuf f = {0};
        cb_raw(&f, "<div class=\"banner\" role=\"status\" id=\"outcome\"><p>");
        static const char *const done[] = {"Cancelled", "Resent", "Redirected", "Withdrawn"};
        cb_raw(&f, done[action]);
        cb_raw(&f, ": the notification is now <strong>");
        cb_esc(&f, j.result.state);
        cb_raw(&f, "</strong>.");
        if (j.result.redirected_to[0]) {
            cb_raw(&f, " New notification: ");
            cb_link_id(&f, j.result.redirected_to);
            cb_raw(&f, ".");
        }
        if (j.result.withdrawal[0]) {
            cb_raw(&f, " Withdrawal sent: ");
            cb_link_id(&f, j.result.withdrawal);
            cb_raw(&f, ".");
        }
        cb_raw(&f, "</p></div>\n");
        if (!f.failed && f.len < 512) {
            console_session_flash(http_console_state(http), ctx.cookie, f.p);
        }
        cb_free(&f);
    } else if (r == -EINVAL) {
        /* The API's 400: the recipient the person chose. */
        flash_problem(http, &ctx, action == ACTION_REDIRECT ? "redirect-recipient" : field,
                      j.result.err);
    } else if (r == -EBUSY) {
        /* The API's 409: the state does not allow it. */
        flash_problem(http, &ctx, action_names[action], j.result.err);
    } else {
        flash_problem(http, &ctx, action_names[action], "The action was not recorded: try again");
    }
    console_redirect(ret, back);
}

void console_post_cancel(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_CANCEL);
}

void console_post_resend(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_RESEND);
}

void console_post_redirect(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_REDIRECT);
}

void console_post_withdraw(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    notification_action(http, req, ret, ACTION_WITHDRAW);
}
