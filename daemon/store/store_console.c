/* What the console's "today" page counts (console.md "Pages"). */
#include "store_internal.h"

#include <errno.h>
#include <stdint.h>

static int count_at(sdat_store_t *st, const char *sql, int64_t now_ms, int64_t *ret)
{
    sqlite3_stmt *stmt = store_stmt(st, sql);
    if (stmt) {
        sqlite3_bind_int64(stmt, 1, now_ms);
    }
    return store_count(st, stmt, ret);
}

int sdat_store_console_counts(sdat_store_t *st, int64_t now_ms, struct sdat_console_counts *ret)
{
    *ret = (struct sdat_console_counts){.next_release_ms = 0};
    int r = store_count(st, store_stmt(st, "SELECT count(*) FROM review_items WHERE state = 'open'"),
                        &ret->reviews);
    if (r == 0) {
        r = count_at(st,
                     "SELECT count(*) FROM notifications"
                     " WHERE state IN ('scheduled', 'delivering') AND scheduled_ms > ?",
                     now_ms, &ret->scheduled);
    }
    if (r == 0) {
        r = count_at(st,
                     "SELECT count(*) FROM notifications"
                     " WHERE state IN ('scheduled', 'delivering') AND scheduled_ms <= ?",
                     now_ms, &ret->pending);
    }
    if (r == 0) {
        r = store_count(st,
                        store_stmt(st, "SELECT count(*) FROM notifications WHERE state = 'failed'"),
                        &ret->failed);
    }
    if (r == 0) {
        r = count_at(st,
                     "SELECT count(*) FROM notifications WHERE state = 'delivered'"
                     " AND acknowledged_ms IS NULL AND ack_due_ms IS NOT NULL AND ack_due_ms <= ?",
                     now_ms, &ret->unacknowledged);
    }
    if (r == 0) {
        r = store_count(st, store_stmt(st, "SELECT count(*) FROM dead_letters"),
                        &ret->dead_letters);
    }
    if (r == 0) {
        r = count_at(st,
                     "SELECT coalesce(min(scheduled_ms), 0) FROM notifications"
                     " WHERE state IN ('scheduled', 'delivering') AND scheduled_ms > ?",
                     now_ms, &ret->next_release_ms);
    }
    return r;
}
