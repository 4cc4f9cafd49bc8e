/* sdatd's consumption of events in batches (kafka/consumer.c does the
 * work; a batch whose effects the store cannot take is held here and
 * tried again before anything else is consumed) and the gauges it reads
 * once a second. */
#include <stdlib.h>

#include "kafka/kafka.h"
#include "sdatd.h"
#include "util/util.h"

int sdatd_handle_batch(struct daemon *d, const struct sdat_kafka_batch *b)
{
    return sdat_kafka_batch_process(d->consumer, &d->engine, b, sdat_time_now_ms());
}

void sdatd_update_gauges(struct daemon *d, int64_t now)
{
    int64_t pending = 0, oldest = INT64_MAX, children = 0, flags = 0;
    if (sdat_store_pending(d->st, &pending, &oldest) == 0) {
        sdat_metrics_set(SDAT_M_PENDING, (double)pending);
        sdat_metrics_set(SDAT_M_OLDEST_PENDING,
                         oldest == INT64_MAX || oldest > now ? 0.0 : (double)(now - oldest) / 1000.0);
    }
    if (sdat_store_child_count(d->st, &children) == 0) {
        sdat_metrics_set(SDAT_M_REGISTER_CHILDREN, (double)children);
    }
    if (sdat_store_flag_count(d->st, &flags) == 0) {
        sdat_metrics_set(SDAT_M_FLAGS_ACTIVE, (double)flags);
    }
    /* The store drops the index when its own state is in doubt (a failed
     * rollback, a write SQLite undid by itself): the answers stay the same,
     * read from the store, until a restart loads it again. */
    bool loaded = sdat_store_register_index_loaded(d->st);
    if (d->index_loaded && !loaded) {
        log_warn("store", "register index dropped after a store error: matching reads the store "
                          "(same answers, slower) until sdatd restarts");
    }
    d->index_loaded = loaded;
    sdat_metrics_set(SDAT_M_REGISTER_INDEX, loaded ? 1.0 : 0.0);
    int64_t unmirrored = 0;
    if (sdat_store_audit_unmirrored_count(d->st, &unmirrored) == 0) {
        sdat_metrics_set(SDAT_M_AUDIT_UNMIRRORED, (double)unmirrored);
    }
    (void)sdat_kafka_lag_gauges(d->consumer);
}

void sdatd_watch_assignment(struct daemon *d, int64_t mono)
{
    int n = sdat_kafka_assigned_count(d->consumer);
    if (n > 0 && !d->consumer_assigned) {
        log_info("kafka", "assigned %d partition%s, %.1f s after waiting began", n,
                 n == 1 ? "" : "s", (double)(mono - d->unassigned_since_mono_ms) / 1000.0);
    } else if (n == 0 && d->consumer_assigned) {
        d->unassigned_since_mono_ms = mono;
        log_info("kafka", "no partition assigned (a rebalance); waiting for partition assignment");
    }
    d->consumer_assigned = n > 0;
}

void sdatd_consume_batch(struct daemon *d, int timeout, size_t max)
{
    struct sdat_kafka_batch b;
    if (sdat_kafka_batch_poll(d->consumer, timeout, max, &b) < 0) {
        return;
    }
    if (b.n > 0 && sdatd_handle_batch(d, &b) < 0) {
        log_error("store", "cannot commit the effects of %zu events (%s); holding them and not "
                  "consuming until the store accepts them",
                  b.n, sdat_store_errmsg(d->st));
        d->held = b;
        return;
    }
    d->consumed_full_batch = b.n == max;
    sdat_kafka_batch_free(&b);
}
