/* Rows that wait for the broker: CP-IS responses and the audit records'
 * mirror copies. Written inside the transaction that caused them; removed
 * when the broker acknowledged them, so a crash or an outage repeats a
 * message, never loses one. */
#include "store_internal.h"

#include <errno.h>
#include <string.h>

int sdat_store_cpis_response_insert(sdat_store_t *st, const char *key, const char *value,
                                    int64_t now_ms)
{
    int r = store_run(st,
                      "INSERT INTO cpis_responses(key, value, created_ms) VALUES (?, ?, ?)",
                      "ttI", key, value, now_ms);
    return r < 0 ? r : 0;
}

static int outbound_rows(sdat_store_t *st, sqlite3_stmt *stmt,
                         int (*fn)(const struct sdat_outbound *o, void *opaque), void *opaque)
{
    (void)st;
    int r = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        struct sdat_outbound o = {
            .id = sqlite3_column_int64(stmt, 0),
            .key = (const char *)sqlite3_column_text(stmt, 1),
            .key_len = (size_t)sqlite3_column_bytes(stmt, 1),
            .value = (const char *)sqlite3_column_text(stmt, 2),
            .value_len = (size_t)sqlite3_column_bytes(stmt, 2),
        };
        if (!o.key || !o.value) {
            r = -EIO;
            break;
        }
        r = fn(&o, opaque);
        if (r != 0) {
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r < 0 ? r : 0;
}

int sdat_store_cpis_responses_unsent(sdat_store_t *st, int64_t after, int limit,
                                     int (*fn)(const struct sdat_outbound *o, void *opaque),
                                     void *opaque)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT id, key, value FROM cpis_responses WHERE id > ?"
                                        " ORDER BY id LIMIT ?");
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, after);
    sqlite3_bind_int(stmt, 2, limit);
    return outbound_rows(st, stmt, fn, opaque);
}

int sdat_store_cpis_response_sent(sdat_store_t *st, int64_t id)
{
    int r = store_run(st,
                      "DELETE FROM cpis_responses WHERE id = ?",
                      "I", id);
    return r < 0 ? r : 0;
}

int sdat_store_audit_unmirrored(sdat_store_t *st, int64_t after, int limit,
                                int (*fn)(const struct sdat_outbound *o, void *opaque),
                                void *opaque)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT u.seq, '', a.record FROM audit_unmirrored u"
                                        " JOIN audit a ON a.seq = u.seq WHERE u.seq > ?"
                                        " ORDER BY u.seq LIMIT ?");
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, after);
    sqlite3_bind_int(stmt, 2, limit);
    return outbound_rows(st, stmt, fn, opaque);
}

int sdat_store_audit_mirrored(sdat_store_t *st, int64_t seq)
{
    int r = store_run(st,
                      "DELETE FROM audit_unmirrored WHERE seq = ?",
                      "I", seq);
    return r < 0 ? r : 0;
}

int sdat_store_audit_unmirrored_count(sdat_store_t *st, int64_t *ret_count)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT count(*) FROM audit_unmirrored");
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt);
    int r = rc == SQLITE_ROW ? 0 : -EIO;
    if (r == 0) {
        *ret_count = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_reset(stmt);
    return r;
}
