/* The HTTP API's read queries (store_api.h). */
#include "store.h"

#include <errno.h>

#include "store_internal.h"

int sdat_store_attempts_each(sdat_store_t *st, const char *notification_id,
                             int (*fn)(const struct sdat_attempt *a, void *opaque), void *opaque)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT n, at_ms, outcome, detail FROM attempts"
                                        " WHERE notification_id = ? ORDER BY n");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, notification_id);
    int r = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct sdat_attempt a = {
            .n = sqlite3_column_int(stmt, 0),
            .at_ms = sqlite3_column_int64(stmt, 1),
            .outcome = (const char *)sqlite3_column_text(stmt, 2),
            .detail = (const char *)sqlite3_column_text(stmt, 3),
        };
        if (!a.outcome) {
            a.outcome = "";
        }
        r = fn(&a, opaque);
        if (r < 0) {
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_read_begin(sdat_store_t *st)
{
    if (st->in_txn) {
        return 0; /* the writer's own transaction already gives one snapshot */
    }
    sqlite3_stmt *stmt = store_stmt(st, "BEGIN DEFERRED");
    return stmt ? store_step_done(st, stmt) : -EIO;
}

void sdat_store_read_end(sdat_store_t *st)
{
    if (st->in_txn || sqlite3_get_autocommit(st->db)) {
        return;
    }
    sqlite3_stmt *stmt = store_stmt(st, "COMMIT");
    if (stmt) {
        store_step_done(st, stmt);
    }
}
