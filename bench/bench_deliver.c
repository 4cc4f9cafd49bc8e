/* make bench, P6: webhook deliveries per second through the outbox — the
 * store's due query, the delivering mark, the connector on libcurl's multi
 * interface to a local HTTPS receiver with keep-alive, and the recorded
 * attempt, state and audit records — beside the same connector driven
 * alone (no store) against the same receiver in the same run.
 *
 *   bench_deliver CONFIG RECIPIENT_ID N
 *
 * CONFIG names a state_dir that is empty; bench/deliver.sh sets everything
 * up. Prints both rates and their ratio. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/engine.h"
#include "decide/decide.h"
#include "config/config.h"
#include "util/util.h"
#include "outbox/outbox.h"
#include "store/store.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char payload[] =
    "{\"schema\":\"sdat.notification/1\",\"kind\":\"da-incident\",\"synthetic\":true,"
    "\"child\":{\"given_name\":\"Ashlyn\",\"family_name\":\"Testwood\",\"dob\":\"2016-04-12\"},"
    "\"incident\":{\"force\":\"derbyshire\",\"reference\":\"BENCH\",\"occurred_at\":"
    "\"2026-11-20T22:14:00Z\",\"present\":true,\"resident\":true,\"spoken_to\":true,"
    "\"circumstances\":\"Synthetic benchmark circumstances, about the size of a real one.\"},"
    "\"officer\":{\"name\":\"PC Bench\",\"phone\":\"01000 000000\"}}";

/* The connector alone: start n, poll until all reported. */
static int direct_done;
static void on_done(struct sdat_delivery *d, enum sdat_delivery_result result, void *opaque)
{
    (void)d;
    (void)opaque;
    direct_done += result == SDAT_DELIVERY_DONE;
}

static double direct_rate(const struct sdat_config *cfg, const struct sdat_recipient *r, int n,
                          int concurrency)
{
    const struct sdat_connector_ops *ops = sdat_connector_find(r->connector);
    struct sdat_connector_env *env = NULL;
    struct sdat_connector_recipient cr = sdat_connector_recipient_of(r);
    void *ctx = NULL;
    char err[256];
    if (!ops || sdat_connector_env_new(cfg, NULL, &env) < 0 ||
        ops->init(env, &cr, &ctx, err, sizeof err) < 0) {
        fprintf(stderr, "bench_deliver: connector init failed\n");
        exit(2);
    }
    struct sdat_delivery *d = calloc((size_t)n, sizeof *d);
    char(*ids)[40] = calloc((size_t)n, sizeof *ids);
    direct_done = 0;
    double t0 = now_s();
    int started = 0;
    while (direct_done < n && now_s() - t0 < 120) {
        /* The same window the outbox keeps: concurrency in flight. */
        while (started < n && started - direct_done < concurrency) {
            snprintf(ids[started], sizeof ids[0], "n_%032x", (unsigned)started + 0x10000000u);
            d[started] = (struct sdat_delivery){.notification_id = ids[started],
                                                .kind = "da-incident",
                                                .recipient_id = r->id,
                                                .payload = payload,
                                                .payload_len = strlen(payload),
                                                .attempt = 1};
            ops->start(ctx, &d[started], on_done, NULL);
            started++;
        }
        ops->poll(ctx, 10);
    }
    double dt = now_s() - t0;
    ops->destroy(ctx);
    sdat_connector_env_free(env);
    free(d);
    free(ids);
    if (direct_done < n) {
        fprintf(stderr, "bench_deliver: only %d of %d direct deliveries done\n", direct_done, n);
        exit(1);
    }
    return n / dt;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: bench_deliver CONFIG RECIPIENT_ID N\n");
        return 2;
    }
    struct sdat_config *cfg = NULL;
    char *errors = NULL, err[512];
    sdat_log_setup(SDAT_LOG_WARN, SDAT_LOG_TEXT); /* one line per delivery would be the benchmark */
    if (sdat_config_load(argv[1], sdat_connector_key_tables(), &cfg, &errors) < 0) {
        fputs(errors ? errors : "bench_deliver: bad configuration\n", stderr);
        return 2;
    }
    const struct sdat_recipient *r = sdat_config_recipient(cfg, argv[2]);
    int n = atoi(argv[3]);
    if (!r || n < 1) {
        fprintf(stderr, "bench_deliver: no recipient %s or bad N\n", argv[2]);
        return 2;
    }
    sdat_store_t *st = NULL;
    sdat_schemas_t *schemas = NULL;
    sdat_audit_t *audit = NULL;
    sdat_outbox_t *outbox = NULL;
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_WRITER, &st, err, sizeof err) < 0 ||
        sdat_schemas_new(&schemas, err, sizeof err) < 0 || sdat_audit_new("bench", &audit) < 0 ||
        sdat_outbox_new(cfg, NULL, &outbox, err, sizeof err) < 0) {
        fprintf(stderr, "bench_deliver: %s\n", err);
        return 2;
    }
    struct sdat_engine e = {.cfg = cfg, .st = st, .audit = audit, .schemas = schemas};
    int64_t now = sdat_time_now_ms();
    sdat_store_begin(st);
    for (int i = 0; i < n; i++) {
        struct sdat_notification row = {
            .kind = "unmatched-child", /* not re-checked: the connector path alone */
            .recipient = r->id,
            .source_key = "bench/1",
            .source_version = 1,
            .state = "scheduled",
            .created_ms = now,
            .scheduled_ms = now,
            .next_attempt_ms = now,
            .payload = payload,
            .payload_sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
        };
        snprintf(row.id, sizeof row.id, "n_%032x", (unsigned)i);
        sdat_store_notification_insert(st, &row);
    }
    sdat_store_commit(st);

    double t0 = now_s();
    int64_t delivered = 0;
    while (now_s() - t0 < 120) {
        if (sdat_outbox_run(outbox, &e, sdat_time_now_ms()) < 0) {
            fprintf(stderr, "bench_deliver: store error\n");
            return 1;
        }
        sdat_store_notification_count(st, "delivered", &delivered);
        if (delivered >= n) {
            break;
        }
        sdat_outbox_wait(outbox, 10);
    }
    double dt = now_s() - t0;
    if (delivered < n) {
        fprintf(stderr, "bench_deliver: only %lld of %d delivered\n", (long long)delivered, n);
        return 1;
    }
    double outbox_rate = n / dt;
    double direct = direct_rate(cfg, r, n, cfg->delivery.concurrency);
    printf("webhook deliveries through the outbox: %8.0f/s (%d in %.2f s, concurrency %d)\n",
           outbox_rate, n, dt, cfg->delivery.concurrency);
    printf("the webhook connector alone (no store): %8.0f/s\n", direct);
    printf("ratio outbox / connector alone: %.2f  (P6 target: >= 2,000/s through the outbox)\n",
           outbox_rate / direct);
    sdat_outbox_free(outbox);
    sdat_audit_free(audit);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    free(errors);
    return 0;
}
