/* The console's audit page (console.md "Pages"): the chain's head, its
 * last checkpoint, and the last verification; "verify now" runs the
 * verification `sdatctl audit verify` runs (sdat_audit_verify_store) as a
 * job on the writer and shows its result.
 *
 * The last verification is kept in memory (this process's console: a
 * restart forgets it), with who asked for it; `sdatctl audit verify`,
 * another process, is not seen here. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console_internal.h"
#include "engine/engine.h"
#include "util/util.h"

struct verification {
    bool ran, ok;
    int64_t at_ms, count, broken_seq;
    char head[65];
    char reason[256];
    char by[CONSOLE_NAME_MAX_CHARS * 4 + 1];
};

static pthread_mutex_t last_lock = PTHREAD_MUTEX_INITIALIZER;
static struct verification last;

/* ---- the page ---- */

void console_get_audit(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR, &ctx)) {
        return;
    }
    ctx.title = "Audit";
    int64_t head_seq = 0, cp_seq = 0, cp_ms = 0;
    char head[65];
    char *cp_record = NULL;
    sdat_store_t *st = http_store_get(http);
    int r = st ? sdat_store_read_begin(st) : -EIO;
    if (r == 0) {
        r = sdat_store_audit_last(st, &head_seq, head);
        if (r == 0) {
            r = sdat_store_audit_last_checkpoint(st, &cp_seq, &cp_record);
            r = r == -ENOENT ? 0 : r;
        }
        sdat_store_read_end(st);
    }
    http_store_put(http, st);
    if (r < 0) {
        free(cp_record);
        console_message(ret, 503, &ctx, "Try again later", "The audit log cannot be read now.");
        return;
    }
    json_t *cp = cp_record ? json_loads(cp_record, 0, NULL) : NULL;
    free(cp_record);
    if (cp && sdat_datetime_parse(json_string_value(json_object_get(cp, "ts")), &cp_ms) < 0) {
        cp_ms = 0;
    }
    struct verification v;
    pthread_mutex_lock(&last_lock);
    v = last;
    pthread_mutex_unlock(&last_lock);

    struct cbuf b = {0};
    cb_raw(&b, "<h1>Audit log</h1>\n<p>Every decision and share sdat makes is a record in a "
               "hash chain: each record holds the hash of the one before, and checkpoints "
               "carry a key's mac, so that a record changed or removed afterwards is "
               "found.</p>\n<dl class=\"facts\" id=\"chain\">\n<dt>Head</dt><dd id=\"head\">");
    if (head_seq > 0) {
        cb_printf(&b, "record %lld, hash <code>", (long long)head_seq);
        cb_esc(&b, head);
        cb_raw(&b, "</code>");
    } else {
        cb_raw(&b, "no record yet");
    }
    cb_raw(&b, "</dd>\n<dt>Last checkpoint</dt><dd id=\"checkpoint\">");
    if (cp) {
        cb_printf(&b, "record %lld, ", (long long)cp_seq);
        cb_time(&b, cp_ms);
        cb_raw(&b, json_object_get(cp, "mac") ? ", with a mac" : ", without a mac");
    } else {
        cb_raw(&b, "none yet");
    }
    json_decref(cp);
    cb_raw(&b, "</dd>\n<dt>Last verification</dt><dd id=\"verification\">");
    if (!v.ran) {
        cb_raw(&b, "not run from the console since the daemon started");
    } else {
        if (v.ok) {
            cb_printf(&b, "<strong data-result=\"pass\">Passed</strong>: %lld records, head "
                          "<code>",
                      (long long)v.count);
            cb_esc(&b, v.head);
            cb_raw(&b, "</code>");
        } else {
            cb_printf(&b, "<strong data-result=\"fail\">Broken</strong> at record %lld: ",
                      (long long)v.broken_seq);
            cb_esc(&b, v.reason);
        }
        cb_raw(&b, "; ran ");
        cb_time(&b, v.at_ms);
        cb_raw(&b, " for ");
        cb_esc(&b, v.by);
    }
    cb_raw(&b, "</dd>\n</dl>\n<form method=\"post\" action=\"/console/audit\" id=\"verify\">\n");
    cb_csrf(&b, &ctx);
    cb_raw(&b, "<button type=\"submit\">Verify now</button>\n</form>\n");
    console_page(ret, 200, &ctx, "Audit", &b);
    cb_free(&b);
}

/* ---- verify now ---- */

struct verify_job {
    struct verification v;
    char err[600];
};

static int run_verify(struct sdat_engine *e, void *arg, int64_t now_ms)
{
    struct verify_job *j = arg;
    sdat_audit_verifier_t *v = NULL;
    int r = sdat_audit_verifier_for(e->cfg, &v, j->err, sizeof j->err);
    if (r == 0) {
        r = sdat_audit_verify_store(e->st, v, NULL);
    }
    if (r >= 0) {
        j->v.ran = true;
        j->v.ok = r == 0;
        j->v.at_ms = now_ms;
        j->v.count = sdat_audit_verifier_count(v);
        snprintf(j->v.head, sizeof j->v.head, "%s", sdat_audit_verifier_head(v));
        if (r == 1) {
            j->v.broken_seq = sdat_audit_verifier_broken_seq(v);
            snprintf(j->v.reason, sizeof j->v.reason, "%s", sdat_audit_verifier_reason(v));
        }
        r = 0;
    }
    sdat_audit_verifier_free(v);
    return r;
}

void console_post_audit(sdat_http_t *http, struct http_request *req, struct http_answer *ret)
{
    struct console_ctx ctx;
    if (!console_begin(http, req, ret, SDAT_ROLE_OPERATOR | SDAT_ROLE_AUDITOR, &ctx)) {
        return;
    }
    ctx.title = "Audit";
    struct verify_job *j = calloc(1, sizeof *j);
    if (!j) {
        console_message(ret, 503, &ctx, "Try again later", "The verification did not run.");
        return;
    }
    int r = http_job(http, run_verify, j);
    if (r < 0) {
        log_warn("http", "console audit verification did not run: %s", strerror(-r));
        console_message(ret, 503, &ctx, "Try again later", "The verification did not run.");
        free(j);
        return;
    }
    snprintf(j->v.by, sizeof j->v.by, "%s", ctx.sess.name);
    log_info("http", "console audit verification %s records=%lld", j->v.ok ? "passed" : "broken",
             (long long)j->v.count);
    pthread_mutex_lock(&last_lock);
    last = j->v;
    pthread_mutex_unlock(&last_lock);
    free(j);
    console_redirect(ret, "/console/audit");
}
