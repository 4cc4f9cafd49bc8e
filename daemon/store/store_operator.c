/* The store's part of the operator's actions (operator.c): guarded state
 * changes, so that a notification moves only from the state the action
 * allows. */
#include "store_internal.h"

#include <errno.h>

/* -ENOENT or -EBUSY for an UPDATE that changed nothing. */
static int unchanged(sdat_store_t *st, const char *id)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT 1 FROM notifications WHERE id = ?");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, id);
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? -EBUSY : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int sdat_store_notification_move(sdat_store_t *st, const char *id, const char *from, const char *to)
{
    int r = store_run(st,
                      "UPDATE notifications SET state = ? WHERE id = ? AND state = ?",
                      "ttt", to, id, from);
    if (r >= 0) {
        r = r == 0 ? unchanged(st, id) : 0;
    }
    return r;
}

int sdat_store_notification_resend(sdat_store_t *st, const char *id, int64_t now_ms)
{
    int r = store_run(st,
                      "UPDATE notifications SET state = 'scheduled', scheduled_ms = ?1,"
                      " next_attempt_ms = ?1, acknowledged_ms = NULL, ack_due_ms = NULL"
                      " WHERE id = ?2 AND state IN ('delivered', 'acknowledged', 'failed')",
                      "It", now_ms, id);
    if (r >= 0) {
        r = r == 0 ? unchanged(st, id) : 0;
    }
    return r;
}
