/* Retention's removals (delivery.md "Retention"; store.h, "Retention").
 * Each runs inside the caller's transaction with SQLite's secure_delete on,
 * so that the freed bytes are overwritten with zeros in the database file
 * rather than left in free space. */
#include "store_internal.h"

#include <errno.h>

/* Runs one prepared removal with ?1 = before_ms; the changed rows in
 * *ret_count. */
static int prune(sdat_store_t *st, const char *sql, int64_t before_ms, int64_t *ret_count)
{
    if (!st->in_txn) {
        return -EINVAL;
    }
    sqlite3_stmt *stmt = store_stmt(st, sql);
    if (!stmt) {
        return -EIO;
    }
    if (sqlite3_exec(st->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, before_ms);
    int r = store_step_done(st, stmt);
    int64_t changed = sqlite3_changes64(st->db);
    /* Off again: the daemon's ordinary writes need not pay for it. */
    if (sqlite3_exec(st->db, "PRAGMA secure_delete = OFF", NULL, NULL, NULL) != SQLITE_OK &&
        r == 0) {
        r = -EIO;
    }
    if (r == 0) {
        *ret_count = changed;
    }
    return r;
}

int sdat_store_retention_payloads(sdat_store_t *st, int64_t before_ms, int64_t *ret_count)
{
    /* Settled notifications only (a scheduled or delivering one still needs
     * its payload), by their last activity: created, due, delivered or
     * acknowledged. payload_sha256 stays: the audit records name it. */
    return prune(st,
                 "UPDATE notifications SET payload = NULL"
                 " WHERE payload IS NOT NULL AND state NOT IN ('scheduled', 'delivering')"
                 " AND max(created_ms, scheduled_ms, coalesce(delivered_ms, 0),"
                 " coalesce(acknowledged_ms, 0)) < ?1",
                 before_ms, ret_count);
}

int sdat_store_retention_dead_letters(sdat_store_t *st, int64_t before_ms, int64_t *ret_count)
{
    /* The bytes (key and value); the stage, reason and source position
     * stay for `sdatctl dlq` and the audit's event.rejected records. A dead
     * letter the DLQ topic has not yet acknowledged keeps its bytes until
     * it has: retention must not turn an outage into a loss. */
    return prune(st,
                 "UPDATE dead_letters SET key = NULL, value = NULL"
                 " WHERE at_ms < ?1 AND sent = 1 AND (key IS NOT NULL OR value IS NOT NULL)",
                 before_ms, ret_count);
}

int sdat_store_retention_accesses(sdat_store_t *st, int64_t before_ms, int64_t *ret_count)
{
    return prune(st, "DELETE FROM accesses WHERE arrived_ms < ?1", before_ms, ret_count);
}
