/* Audit reads for checkpoints, `sdatctl audit verify` and `audit export`
 * (store.h, "Audit chain: checkpoints, verification and export"). Each
 * works on a read-only store beside the running daemon: one SELECT is one
 * snapshot of the chain. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int sdat_store_audit_last_checkpoint(sdat_store_t *st, int64_t *ret_seq, char **ret_record)
{
    /* Checkpoints are frequent, so the scan from the head back is short;
     * a chain without any is read once, at the first append after start. */
    sqlite3_stmt *stmt = store_stmt(
        st, "SELECT seq, record FROM audit WHERE type = 'checkpoint' ORDER BY seq DESC LIMIT 1");
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt);
    int r = rc == SQLITE_DONE ? -ENOENT : rc == SQLITE_ROW ? 0 : -EIO;
    if (r == 0) {
        const unsigned char *text = sqlite3_column_text(stmt, 1);
        char *copy = text ? strdup((const char *)text) : NULL;
        if (!copy) {
            r = -ENOMEM;
        } else {
            *ret_seq = sqlite3_column_int64(stmt, 0);
            *ret_record = copy;
        }
    }
    sqlite3_reset(stmt);
    return r;
}

struct hashed_fn {
    int (*fn)(int64_t seq, const char *record, const char *hash, void *opaque);
    void *opaque;
};

static int hashed_row(sqlite3_stmt *row, void *opaque)
{
    const struct hashed_fn *hf = opaque;
    const char *record = (const char *)sqlite3_column_text(row, 1);
    const char *hash = (const char *)sqlite3_column_text(row, 2);
    return hf->fn(sqlite3_column_int64(row, 0), record ? record : "", hash ? hash : "",
                  hf->opaque);
}

int sdat_store_audit_rows(sdat_store_t *st,
                          int (*fn)(int64_t seq, const char *record, const char *hash,
                                    void *opaque),
                          void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    /* Not cached: the callback may run other statements. */
    if (sqlite3_prepare_v2(st->db, "SELECT seq, record, hash FROM audit ORDER BY seq", -1, &stmt,
                           NULL) != SQLITE_OK) {
        return -EIO;
    }
    struct hashed_fn hf = {fn, opaque};
    return store_rows(stmt, hashed_row, &hf);
}

int sdat_store_audit_naming(sdat_store_t *st, const char *id,
                            int (*fn)(int64_t seq, const char *record, void *opaque), void *opaque)
{
    /* The id as a JSON string, quotes included, as the canonical record
     * text holds it: a value (or key) equal to the id, not a part of one. */
    json_t *string = json_string(id);
    char *quoted = string ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
    json_decref(string);
    if (!quoted) {
        return -ENOMEM;
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT seq, record FROM audit WHERE instr(record, ?) > 0 ORDER BY seq",
                           -1, &stmt, NULL) != SQLITE_OK) {
        free(quoted);
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, quoted, -1, SQLITE_TRANSIENT);
    free(quoted);
    return store_audit_records(stmt, fn, opaque);
}

struct id_fn {
    int (*fn)(const char *id, void *opaque);
    void *opaque;
};

static int id_row(sqlite3_stmt *row, void *opaque)
{
    const struct id_fn *idf = opaque;
    return idf->fn((const char *)sqlite3_column_text(row, 0), idf->opaque);
}

int sdat_store_notification_ids_for_child(sdat_store_t *st, const char *register_child_id,
                                          int (*fn)(const char *id, void *opaque), void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id FROM notifications WHERE register_child_id = ?"
                           " ORDER BY created_ms, rowid",
                           -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, register_child_id, -1, SQLITE_TRANSIENT);
    struct id_fn idf = {fn, opaque};
    return store_rows(stmt, id_row, &idf);
}
