/* The store's review items (flows.md §1 "Review decisions"). */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REVIEW_COLUMNS                                                                    \
    "id, incident, version, position, child_ref, mash, state, created_ms, candidates,"     \
    " decided_by, decided_ms, register_child_id"

int sdat_store_review_insert(sdat_store_t *st, const struct sdat_review_item *item)
{
    sqlite3_stmt *stmt = store_stmt(
        st, "INSERT INTO review_items(id, incident, version, position, child_ref, mash, state,"
            " created_ms, candidates, decided_by, decided_ms, register_child_id)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, item->id);
    store_bind_text(stmt, 2, item->incident);
    sqlite3_bind_int64(stmt, 3, item->version);
    sqlite3_bind_int(stmt, 4, item->position);
    store_bind_text(stmt, 5, item->child_ref);
    store_bind_text(stmt, 6, item->mash);
    store_bind_text(stmt, 7, item->state);
    sqlite3_bind_int64(stmt, 8, item->created_ms);
    store_bind_text(stmt, 9, item->candidates);
    store_bind_text(stmt, 10, item->decided_by);
    if (item->decided_ms) {
        sqlite3_bind_int64(stmt, 11, item->decided_ms);
    } else {
        sqlite3_bind_null(stmt, 11);
    }
    store_bind_text(stmt, 12, item->register_child_id);
    int r = store_step_done(st, stmt);
    if (r < 0) {
        return r;
    }
    return sqlite3_changes(st->db) == 1 ? 0 : 1;
}

struct owned_item {
    struct sdat_review_item item;
    char *strings[7];
};

/* Reads every row first, then calls fn: fn may change the rows. */
static int each_item(sqlite3_stmt *stmt, int (*fn)(const struct sdat_review_item *item, void *opaque),
                     void *opaque, size_t *ret_n)
{
    struct owned_item *rows = NULL;
    size_t n = 0, cap = 0;
    int r = 0, rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 8;
            struct owned_item *grown = realloc(rows, ncap * sizeof *rows);
            if (!grown) {
                r = -ENOMEM;
                break;
            }
            rows = grown;
            cap = ncap;
        }
        struct owned_item *o = &rows[n++];
        static const int text_cols[] = {1, 4, 5, 6, 8, 9, 11};
        for (size_t i = 0; i < 7; i++) {
            o->strings[i] = store_column_strdup(stmt, text_cols[i]);
        }
        o->item = (struct sdat_review_item){
            .incident = o->strings[0],
            .version = sqlite3_column_int64(stmt, 2),
            .position = sqlite3_column_int(stmt, 3),
            .child_ref = o->strings[1],
            .mash = o->strings[2],
            .state = o->strings[3],
            .created_ms = sqlite3_column_int64(stmt, 7),
            .candidates = o->strings[4],
            .decided_by = o->strings[5],
            .decided_ms = sqlite3_column_int64(stmt, 10),
            .register_child_id = o->strings[6],
        };
        snprintf(o->item.id, sizeof o->item.id, "%s", (const char *)sqlite3_column_text(stmt, 0));
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < n && r == 0; i++) {
        r = fn(&rows[i].item, opaque);
    }
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < 7; k++) {
            free(rows[i].strings[k]);
        }
    }
    free(rows);
    if (ret_n) {
        *ret_n = n;
    }
    return r;
}

int sdat_store_review_get(sdat_store_t *st, const char *id,
                          int (*fn)(const struct sdat_review_item *item, void *opaque),
                          void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    size_t n = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT " REVIEW_COLUMNS " FROM review_items WHERE id = ?", -1,
                           &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    int r = each_item(stmt, fn, opaque, &n);
    return r < 0 ? r : n == 0 ? -ENOENT : r;
}

int sdat_store_reviews_each(sdat_store_t *st, const char *incident,
                            int (*fn)(const struct sdat_review_item *item, void *opaque),
                            void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    const char *sql = incident ? "SELECT " REVIEW_COLUMNS " FROM review_items WHERE incident = ?"
                                 " ORDER BY created_ms, rowid"
                               : "SELECT " REVIEW_COLUMNS " FROM review_items WHERE state = 'open'"
                                 " ORDER BY created_ms, rowid";
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    if (incident) {
        sqlite3_bind_text(stmt, 1, incident, -1, SQLITE_TRANSIENT);
    }
    return each_item(stmt, fn, opaque, NULL);
}

int sdat_store_review_decide(sdat_store_t *st, const char *id, const char *state, const char *by,
                             int64_t at_ms, const char *register_child_id)
{
    sqlite3_stmt *stmt = store_stmt(
        st, "UPDATE review_items SET state = ?, decided_by = ?, decided_ms = ?,"
            " register_child_id = ? WHERE id = ? AND state = 'open'");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, state);
    store_bind_text(stmt, 2, by);
    sqlite3_bind_int64(stmt, 3, at_ms);
    store_bind_text(stmt, 4, register_child_id);
    store_bind_text(stmt, 5, id);
    int r = store_step_done(st, stmt);
    if (r < 0 || sqlite3_changes(st->db) == 1) {
        return r;
    }
    /* Nothing changed: no such item, or one already decided. */
    sqlite3_stmt *q = store_stmt(st, "SELECT state FROM review_items WHERE id = ?");
    if (!q) {
        return -EIO;
    }
    store_bind_text(q, 1, id);
    int rc = sqlite3_step(q);
    sqlite3_reset(q);
    return rc == SQLITE_ROW ? -EALREADY : rc == SQLITE_DONE ? -ENOENT : -EIO;
}
