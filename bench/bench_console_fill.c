/* make bench, P7: fills a store (a copy of the benchmark register) with
 * about N notifications as a daemon would have left them after DAYS days:
 * police incidents from bench/synth/gen.py go through the engine
 * (sdat_engine_process, 256 to a transaction as the consumer does) on a
 * simulated clock spread evenly over the DAYS days before now; between
 * batches, the due notifications are "delivered" at their due time plus a
 * few seconds, recorded through the same store and audit calls as the
 * outbox's (attempt, state, audit records, ack_due), about 1 % failing for good after five attempts (escalated as
 * the outbox does); about 92 % of the deliveries are acknowledged through
 * sdat_engine_acknowledge 10 minutes to 20 hours later; and the engine's
 * escalation scan runs as the daemon's does. No row is written by hand.
 * The benchmark configuration has no school recipients, so the outbox's
 * school re-check (sdat_engine_recheck) would return 0 for every one of
 * them: it is not called.
 *
 *   bench_console_fill CONFIG POLICE_JSONL N DAYS
 *
 * CONFIG names the store's state_dir. Prints the counts by state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "decide/decide.h"
#include "engine/engine.h"
#include "outbox/outbox.h"
#include "store/store.h"
#include "util/util.h"

#define BATCH 256
#define DAY_MS 86400000LL

/* A small deterministic generator (xorshift64*): the same fill each run. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static double rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return (double)((rng_state * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

struct due {
    char id[40];
    char kind[32];
    char recipient[64];
    char source_key[128];
    char sha[65];
    int attempts;
    int64_t scheduled_ms;
};

struct ack {
    char id[40];
    char by[80];
    int64_t at_ms;
};

struct fill {
    struct sdat_engine *e;
    struct due *due;
    size_t n_due, cap_due;
    struct ack *acks;
    size_t n_acks, cap_acks;
    int64_t delivered, failed, acknowledged;
};

static int collect_due(const struct sdat_notification *n, void *opaque)
{
    struct fill *f = opaque;
    if (f->n_due == f->cap_due) {
        f->cap_due = f->cap_due ? 2 * f->cap_due : 1024;
        f->due = realloc(f->due, f->cap_due * sizeof *f->due);
        if (!f->due) {
            return -ENOMEM;
        }
    }
    struct due *d = &f->due[f->n_due++];
    snprintf(d->id, sizeof d->id, "%s", n->id);
    snprintf(d->kind, sizeof d->kind, "%s", n->kind);
    snprintf(d->recipient, sizeof d->recipient, "%s", n->recipient);
    snprintf(d->source_key, sizeof d->source_key, "%s", n->source_key);
    snprintf(d->sha, sizeof d->sha, "%s", n->payload_sha256 ? n->payload_sha256 : "");
    d->attempts = n->attempts;
    d->scheduled_ms = n->scheduled_ms;
    return 0;
}

/* One delivery as the outbox records it. */
static int deliver(struct fill *f, const struct due *d, int64_t now_ms)
{
    struct sdat_engine *e = f->e;
    int r = 0;
    int64_t at = d->scheduled_ms + 1000 + (int64_t)(rnd() * 30000.0);
    if (at > now_ms) {
        at = now_ms;
    }
    bool fails = rnd() < 0.01;
    int attempts = fails ? 5 : 1;
    const struct sdat_recipient *rcp = sdat_config_recipient(e->cfg, d->recipient);
    for (int a = 1; r == 0 && a <= attempts; a++) {
        bool last = a == attempts;
        const char *outcome = !fails ? "delivered" : last ? "failed" : "retry";
        const char *detail = !fails ? "synthetic: accepted" : "synthetic: connection refused";
        /* The retries a minute apart, never after the pass's clock. */
        int64_t when = at + (int64_t)(a - 1) * 60000LL;
        if (when > now_ms) {
            when = now_ms;
        }
        r = sdat_store_attempt_insert(e->st, d->id, d->attempts + a, when, outcome, detail);
        if (r == 0) {
            r = sdat_store_notification_update(e->st, d->id,
                                               !last ? "scheduled"
                                               : fails ? "failed"
                                                       : "delivered",
                                               d->attempts + a, when, fails ? detail : NULL);
        }
        if (r == 0) {
            r = sdat_audit_append(
                e->audit, e->st, when, "delivery.attempted", "sdatd",
                json_pack("{s:s, s:s}", "notification_id", d->id, "recipient", d->recipient),
                json_pack("{s:i, s:s, s:s}", "attempt", d->attempts + a, "outcome", outcome,
                          "detail", detail));
        }
        if (r == 0 && last) {
            r = sdat_audit_append(
                e->audit, e->st, when, fails ? "notification.failed" : "notification.delivered",
                "sdatd",
                json_pack("{s:s, s:s, s:s}", "notification_id", d->id, "recipient",
                          d->recipient, "incident", d->source_key),
                json_pack("{s:s, s:s, s:i}", "kind", d->kind, "payload_sha256", d->sha,
                          "attempts", d->attempts + a));
        }
        if (r == 0 && last && fails && strcmp(d->kind, "delivery-failed") != 0) {
            struct sdat_escalation what = {.id = d->id,
                                           .kind = d->kind,
                                           .recipient = d->recipient,
                                           .attempts = d->attempts + a,
                                           .last_error = detail,
                                           .payload = NULL,
                                           .source_key = d->source_key};
            r = sdat_engine_escalate(e, "failed", &what, when);
        }
        if (r == 0 && last && !fails && rcp && rcp->ack_within > 0) {
            r = sdat_store_notification_ack_due(e->st, d->id,
                                                when + (int64_t)(rcp->ack_within * 1000.0));
            if (r == 0 && rnd() < 0.92) {
                if (f->n_acks == f->cap_acks) {
                    f->cap_acks = f->cap_acks ? 2 * f->cap_acks : 1024;
                    f->acks = realloc(f->acks, f->cap_acks * sizeof *f->acks);
                    if (!f->acks) {
                        return -ENOMEM;
                    }
                }
                struct ack *k = &f->acks[f->n_acks++];
                snprintf(k->id, sizeof k->id, "%s", d->id);
                snprintf(k->by, sizeof k->by, "ack:%s", d->recipient);
                k->at_ms = when + 600000 + (int64_t)(rnd() * 20.0 * 3600000.0);
            }
        }
    }
    if (r == 0) {
        fails ? f->failed++ : f->delivered++;
    }
    return r;
}

/* Everything due by now_ms: delivered (or failed), then the
 * acknowledgements whose time has come; one transaction. */
static int outbox_pass(struct fill *f, int64_t now_ms)
{
    struct sdat_engine *e = f->e;
    int r = sdat_store_begin(e->st);
    for (;;) {
        f->n_due = 0;
        if (r == 0) {
            r = sdat_store_notifications_due(e->st, now_ms, 512, collect_due, f);
        }
        if (r < 0 || f->n_due == 0) {
            break;
        }
        for (size_t i = 0; r == 0 && i < f->n_due; i++) {
            r = deliver(f, &f->due[i], now_ms);
        }
    }
    size_t kept = 0;
    for (size_t i = 0; r == 0 && i < f->n_acks; i++) {
        if (f->acks[i].at_ms > now_ms) {
            f->acks[kept++] = f->acks[i];
            continue;
        }
        int a = sdat_engine_acknowledge_via(e, f->acks[i].id, f->acks[i].by, NULL,
                                            f->acks[i].at_ms);
        if (a < 0 && a != -EBUSY && a != -ENOENT) {
            r = a;
        }
        f->acknowledged += a == 0;
    }
    if (r == 0) {
        f->n_acks = kept;
        return sdat_store_commit(e->st);
    }
    sdat_store_rollback(e->st);
    return r;
}

int main(int argc, char **argv)
{
    if (argc != 5) {
        fprintf(stderr, "usage: bench_console_fill CONFIG POLICE_JSONL N DAYS\n");
        return 2;
    }
    struct sdat_config *cfg = NULL;
    char *errors = NULL, err[512] = "";
    sdat_log_setup(SDAT_LOG_ERROR, SDAT_LOG_TEXT); /* not one line per escalation */
    if (sdat_config_load(argv[1], sdat_connector_key_tables(), &cfg, &errors) < 0) {
        fputs(errors ? errors : "bench_console_fill: bad configuration\n", stderr);
        return 2;
    }
    FILE *in = fopen(argv[2], "r");
    int64_t want = atoll(argv[3]);
    int days = atoi(argv[4]);
    if (!in || want < 1 || days < 1) {
        fprintf(stderr, "bench_console_fill: cannot read %s, or bad N or DAYS\n", argv[2]);
        return 2;
    }
    sdat_store_t *st = NULL;
    sdat_schemas_t *schemas = NULL;
    sdat_audit_t *audit = NULL;
    sdat_nicknames_t *nicknames = NULL;
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_WRITER, &st, err, sizeof err) < 0 ||
        sdat_schemas_new(&schemas, err, sizeof err) < 0 ||
        sdat_audit_new(cfg->instance_id, &audit) < 0 ||
        sdat_audit_configure_from(audit, cfg, err, sizeof err) < 0 ||
        sdat_match_nicknames_load(cfg->matching.nicknames_file, &nicknames, err, sizeof err) <
            0) {
        fprintf(stderr, "bench_console_fill: %s\n", err);
        return 2;
    }
    struct sdat_engine e = {
        .cfg = cfg, .st = st, .audit = audit, .schemas = schemas, .nicknames = nicknames};
    struct fill f = {.e = &e};
    int64_t end = sdat_time_now_ms(), start = end - days * DAY_MS, t = start;
    int64_t notes = 0, base = 0, incidents = 0, offset = 0;
    sdat_store_notification_count(st, NULL, &base);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len = 0;
    int r = 0;
    while (r == 0 && notes < want) {
        /* The clock's step: the time left over the incidents still
         * needed at the notifications per incident seen so far. */
        double per = incidents > 0 && notes > 0 ? (double)notes / (double)incidents : 2.0;
        double left = (double)(want - notes) / per;
        int64_t step = left >= 1.0 ? (int64_t)((double)(end - t) / left) : 0;
        r = sdat_store_begin(st);
        int in_batch = 0;
        while (r == 0 && in_batch < BATCH && (len = getline(&line, &cap, in)) > 0) {
            json_t *doc = json_loadb(line, (size_t)len, 0, NULL);
            char key[256] = "";
            if (doc) {
                sdat_schemas_derive_key(doc, NULL, key, sizeof key);
                json_decref(doc);
            }
            while (len > 0 && line[len - 1] == '\n') {
                len--;
            }
            struct sdat_inbound m = {.topic = "police.da-incidents",
                                     .partition = 0,
                                     .offset = offset++,
                                     .key = key[0] ? key : NULL,
                                     .key_len = strlen(key),
                                     .value = line,
                                     .value_len = (size_t)len};
            r = sdat_engine_process(&e, &m, t);
            t += step;
            in_batch++;
            incidents++;
        }
        if (r == 0) {
            r = sdat_store_commit(st);
        } else {
            sdat_store_rollback(st);
        }
        if (r == 0) {
            r = outbox_pass(&f, t);
        }
        if (r == 0) {
            r = sdat_engine_escalation_scan(&e, t, 1000);
        }
        if (r == 0) {
            r = sdat_store_notification_count(st, NULL, &notes);
            notes -= base;
        }
        if (r == 0 && in_batch == 0) {
            fprintf(stderr, "bench_console_fill: %s ran out after %lld incidents, %lld "
                            "notifications\n", argv[2], (long long)incidents, (long long)notes);
            r = -ENODATA;
        }
    }
    free(line);
    fclose(in);
    if (r < 0) {
        fprintf(stderr, "bench_console_fill: failed (%d): %s\n", r, sdat_store_errmsg(st));
        return 1;
    }
    printf("bench_console_fill: %lld incidents over %d days -> %lld notifications; "
           "%lld delivered, %lld failed for good, %lld acknowledged\n",
           (long long)incidents, days, (long long)notes, (long long)f.delivered,
           (long long)f.failed, (long long)f.acknowledged);
    free(f.due);
    free(f.acks);
    sdat_nicknames_free(nicknames);
    sdat_audit_free(audit);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    free(errors);
    return 0;
}
