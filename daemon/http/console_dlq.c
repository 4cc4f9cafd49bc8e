/* The console's dead letters (console.md "Pages"): the list the store
 * holds, and a replay button per row, which goes through the engine's
 * replay like POST /v1/dlq/ID/replay, audited (dlq.replayed) with by = the
 * person's name and via = console. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "engine/engine.h"
#include "util/util.h"

struct list_ctx {
    struct cbuf *b;
    const struct console_ctx *ctx;
    size_t n;
};

static int list_row(const struct sdat_dead_letter *dl, void *opaque)
{
    struct list_ctx *l = opaque;
    struct cbuf *b = l->b;
    cb_printf(b, "<tr id=\"dead-letter-%lld\"><td>%lld</td><td>", (long long)dl->id,
              (long long)dl->id);
    cb_esc(b, dl->topic);
    cb_printf(b, "</td><td>%d</td><td>%lld</td><td>", (int)dl->partition, (long long)dl->offset);
    cb_esc(b, dl->stage);
    cb_raw(b, "</td><td>");
    cb_esc(b, dl->error);
    cb_raw(b, "</td><td>");
    cb_time(b, dl->at_ms);
    cb_printf(b, "</td><td><form method=\"post\" class=\"replay\" "
                 "action=\"/console/dead-letters/%lld/replay\">\n",
              (long long)dl->id);
    cb_csrf(b, l->ctx);
    cb_printf(b, "<button type=\"submit\" class=\"secondary\" aria-label=\"Replay dead letter "
                 "%lld\">Replay</button>\n</form></td></tr>\n",
              (long long)dl->id);
    l->n++;
    return 0;
}

void console_get_dead_letters(sdat_http_t *http, struct http_request *req,
                              struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Dead letters";
    struct cbuf rows = {0};
    struct list_ctx l = {.b = &rows, .ctx = &ctx};
    sdat_store_t *st = http_store_get(http);
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        r = sdat_store_dead_letters_since(st, 0, list_row, &l);
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
    cb_raw(&b, "<h1>Dead letters</h1>\n<p>Events sdat could not process. Fix the cause (the "
               "directory, the configuration or the producer), then replay one: it is processed "
               "again as if it had just arrived.</p>\n"
               "<table id=\"dead-letters\">\n<caption>Dead letters in the store, oldest "
               "first</caption>\n<thead><tr><th scope=\"col\">Id</th><th scope=\"col\">Topic</th>"
               "<th scope=\"col\">Partition</th><th scope=\"col\">Offset</th>"
               "<th scope=\"col\">Stage</th><th scope=\"col\">Reason</th>"
               "<th scope=\"col\">Received</th><th scope=\"col\">Action</th></tr></thead>\n"
               "<tbody>\n");
    cb_table_end(&b, &rows, l.n, "no-dead-letters", "There is no dead letter.");
    console_page(ret, 200, &ctx, "Dead letters", &b);
    cb_free(&b);
}

void console_post_replay(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR, &ctx)) {
        return;
    }
    ctx.title = "Dead letters";
    char *end = NULL;
    errno = 0;
    long long id = strtoll(req->id, &end, 10);
    if (errno || *end || id <= 0 || req->id[0] < '1' || req->id[0] > '9') {
        console_message(ret, 404, &ctx, "Dead letter not found", "There is no such dead letter.");
        return;
    }
    struct http_replay_job j = {.id = id, .by = ctx.sess.name, .via = "console"};
    int r = http_job(http, http_run_replay, &j);
    struct cbuf f = {0};
    if (r == 0) {
        const char *outcome = json_string_value(json_object_get(j.outcome, "outcome"));
        cb_printf(&f, "<div class=\"banner\" role=\"status\" id=\"outcome\"><p>Dead letter %lld "
                      "replayed: ",
                  id);
        if (outcome && strcmp(outcome, "processed") == 0) {
            cb_raw(&f, "<strong>processed</strong>.</p></div>\n");
        } else {
            cb_raw(&f, "<strong>rejected again</strong> at stage ");
            cb_esc(&f, json_string_value(json_object_get(j.outcome, "stage")));
            cb_printf(&f, " (new dead letter %lld): ",
                      (long long)json_integer_value(json_object_get(j.outcome, "dead_letter_id")));
            cb_esc(&f, json_string_value(json_object_get(j.outcome, "error")));
            cb_raw(&f, "</p></div>\n");
        }
    } else if (r == -ENOENT) {
        json_decref(j.outcome);
        console_message(ret, 404, &ctx, "Dead letter not found", "There is no such dead letter.");
        return;
    } else {
        cb_printf(&f, "<div class=\"error-summary\" role=\"alert\" id=\"outcome\" "
                      "aria-labelledby=\"error-title\">\n<h2 id=\"error-title\">There is a "
                      "problem</h2>\n<ul><li><a href=\"#dead-letter-%lld\">",
                  id);
        if (r == -EINVAL) {
            cb_printf(&f, "Dead letter %lld cannot be replayed: only its first 64 KiB were kept, "
                          "or retention removed it; produce the original event again",
                      id);
        } else {
            cb_printf(&f, "Dead letter %lld was not replayed: try again", id);
        }
        cb_raw(&f, "</a></li></ul>\n</div>\n");
    }
    if (!f.failed && f.len < 512) {
        console_session_flash(http_console_state(http), ctx.cookie, f.p);
    } else {
        console_session_flash(http_console_state(http), ctx.cookie,
                              "<div class=\"banner\" role=\"status\" id=\"outcome\"><p>The "
                              "outcome is in the audit log (dlq.replayed).</p></div>\n");
    }
    cb_free(&f);
    json_decref(j.outcome);
    console_redirect(ret, "/console/dead-letters");
}
