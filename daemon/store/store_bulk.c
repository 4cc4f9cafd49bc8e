/* A bulk load of children into an empty register (sdatctl import): the
 * blocking keys are collected in a temporary table and written into
 * child_keys in key order at the end, and the secondary indexes of
 * children and child_keys are built once over the loaded rows rather than
 * grown row by row. Each child's keys are the same as the upserts' outside
 * a bulk load write (store_register.c derives them either way). */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"

/* The indexes a bulk load drops: every one on the two tables that SQLite
 * can rebuild from their rows (sqlite_master holds their CREATE text; a
 * primary key's own index has none and stays). */
static const char bulk_indexes_sql[] =
    "SELECT name, sql FROM sqlite_master WHERE type = 'index'"
    " AND tbl_name IN ('children', 'child_keys') AND sql IS NOT NULL ORDER BY name";

static int bulk_exec(sdat_store_t *st, const char *sql)
{
    int rc = sqlite3_exec(st->db, sql, NULL, NULL, NULL);
    return rc == SQLITE_OK ? 0 : rc == SQLITE_FULL ? -ENOSPC : -EIO;
}

static int register_is_empty(sdat_store_t *st)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT EXISTS (SELECT 1 FROM children)"
                                        " OR EXISTS (SELECT 1 FROM child_keys)");
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt);
    int r = rc == SQLITE_ROW ? !sqlite3_column_int(stmt, 0) : -EIO;
    sqlite3_reset(stmt);
    return r;
}

/* Drops the indexes of bulk_indexes_sql, keeping their CREATE statements
 * in st->bulk_indexes. */
static int drop_indexes(sdat_store_t *st)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, bulk_indexes_sql, -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    char *creates = NULL, *names = NULL;
    size_t creates_len = 0, names_len = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        const char *sql = (const char *)sqlite3_column_text(stmt, 1);
        size_t nl = strlen(name), sl = strlen(sql);
        char *c = realloc(creates, creates_len + sl + 2);
        /* "DROP INDEX \"" name "\";" */
        char *n = c ? realloc(names, names_len + nl + 16) : NULL;
        if (c) {
            creates = c;
        }
        if (!c || !n) {
            r = -ENOMEM;
            break;
        }
        names = n;
        memcpy(creates + creates_len, sql, sl);
        creates_len += sl;
        memcpy(creates + creates_len, ";", 2);
        creates_len++;
        memcpy(names + names_len, "DROP INDEX \"", 12);
        memcpy(names + names_len + 12, name, nl);
        memcpy(names + names_len + 12 + nl, "\";", 3);
        names_len += 12 + nl + 2;
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_finalize(stmt);
    if (r == 0 && names) {
        r = bulk_exec(st, names);
    }
    free(names);
    if (r < 0) {
        free(creates);
        return r;
    }
    st->bulk_indexes = creates;
    return 0;
}

int sdat_store_bulk_begin(sdat_store_t *st)
{
    if (!st->in_txn || st->bulk) {
        return -EINVAL;
    }
    int r = register_is_empty(st);
    if (r <= 0) {
        return r;
    }
    /* Temporary: private to this connection and gone with it, or with the
     * transaction's rollback. gen numbers a child's writes: a child
     * written again is named in bulk_redone with its last write's gen. */
    r = bulk_exec(st, "CREATE TEMP TABLE bulk_keys(key TEXT NOT NULL, child_id TEXT NOT NULL,"
                      "  gen INTEGER NOT NULL);"
                      "CREATE TEMP TABLE bulk_redone(child_id TEXT PRIMARY KEY,"
                      "  gen INTEGER NOT NULL) WITHOUT ROWID;");
    if (r == 0) {
        r = drop_indexes(st);
    }
    if (r < 0) {
        return r;
    }
    st->bulk = true;
    store_index_drop(st); /* the keys go to a temporary table: SQLite answers */
    return 1;
}

int store_bulk_keys(sdat_store_t *st, const char *child_id, const struct sdat_blocking_keys *keys)
{
    sqlite3_stmt *stmt =
        store_stmt(st, "INSERT INTO temp.bulk_keys(key, child_id, gen) VALUES (?, ?, ?)");
    if (!stmt) {
        return -EIO;
    }
    for (size_t i = 0; i < keys->n; i++) {
        sqlite3_bind_text(stmt, 1, keys->key[i], -1, SQLITE_STATIC);
        store_bind_text(stmt, 2, child_id);
        sqlite3_bind_int64(stmt, 3, st->bulk_gen);
        int r = store_step_done(st, stmt);
        if (r < 0) {
            return r;
        }
    }
    return 0;
}

int store_bulk_redone(sdat_store_t *st, const char *child_id)
{
    int r = store_run(st,
                      "INSERT INTO temp.bulk_redone(child_id, gen) VALUES (?, ?)"
                      " ON CONFLICT(child_id) DO UPDATE SET gen = excluded.gen",
                      "tI", child_id, st->bulk_gen);
    return r < 0 ? r : 0;
}

int store_bulk_rewritten(sdat_store_t *st, const char *child_id)
{
    int r = store_run(st, "UPDATE temp.bulk_redone SET gen = ? WHERE child_id = ?", "It",
                      st->bulk_gen, child_id);
    return r < 0 ? r : 0;
}

int sdat_store_bulk_finish(sdat_store_t *st)
{
    if (!st->bulk) {
        return -EINVAL;
    }
    /* A key row carries its child's matching columns as stored in
     * children (the same values an upsert binds to both). Sorted on the
     * primary key, the rows are appended to child_keys' B-tree in order. */
    int r = bulk_exec(
        st, "INSERT OR IGNORE INTO child_keys(key, child_id, given_norm, family_norm,"
            " other_given, other_family, dob, postcode, uprn, nhs_number, upn)"
            " SELECT b.key, c.child_id, c.given_norm, c.family_norm, c.other_given,"
            " c.other_family, c.dob, c.postcode, c.uprn, c.nhs_number, c.upn"
            " FROM temp.bulk_keys b JOIN children c ON c.child_id = b.child_id"
            " WHERE NOT EXISTS (SELECT 1 FROM temp.bulk_redone r"
            "  WHERE r.child_id = b.child_id AND r.gen <> b.gen)"
            " ORDER BY b.key, b.child_id;"
            "DROP TABLE temp.bulk_keys;"
            "DROP TABLE temp.bulk_redone;");
    if (r == 0 && st->bulk_indexes) {
        r = bulk_exec(st, st->bulk_indexes);
    }
    if (r < 0) {
        return r;
    }
    free(st->bulk_indexes);
    st->bulk_indexes = NULL;
    st->bulk = false;
    return 0;
}
