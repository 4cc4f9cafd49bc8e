/* Shared between the store's source files only. */
#ifndef SDAT_STORE_INTERNAL_H
#define SDAT_STORE_INTERNAL_H

#include <sqlite3.h>

#include "store.h"

#define STORE_MAX_STMTS 128
#define STORE_MAX_SAVEPOINTS 4

struct sdat_store {
    sqlite3 *db;
    int lock_fd;
    bool in_txn;
    struct {
        const char *sql; /* identity of a string literal */
        sqlite3_stmt *stmt;
    } cache[STORE_MAX_STMTS];
    size_t n_cache;
    /* The audit chain's head, and its value when the transaction began, so
     * that a rollback also rolls the head back. */
    int64_t audit_seq, saved_audit_seq;
    char audit_hash[65], saved_audit_hash[65];
    /* The same at each open savepoint (sdat_store_savepoint), innermost last. */
    int64_t sp_audit_seq[STORE_MAX_SAVEPOINTS];
    char sp_audit_hash[STORE_MAX_SAVEPOINTS][65];
    int sp_depth;
    int64_t n_children; /* register size, -1 until counted */
    /* A bulk load into an empty register is under way (store_register.c):
     * keys are kept in bulk_keys (store_bulk.c) until the load finishes,
     * each child write numbered bulk_gen. */
    bool bulk;
    int64_t bulk_gen;
    int64_t bulk_n_redone; /* rows in temp.bulk_redone, or more */
    struct store_bulk_keys *bulk_keys;
    char *bulk_indexes; /* the dropped indexes' CREATE statements, ";"-separated */
    /* The register in memory (store_index.c), NULL until loaded: candidate
     * reads come from it, every register write updates it, and its
     * journal's length at each open savepoint is kept here. */
    struct store_index *index;
    size_t sp_index_mark[STORE_MAX_SAVEPOINTS];
    /* Read-only views of the index open on worker threads
     * (sdat_store_register_view_begin): while any is open the index must
     * not change, and a drop only detaches it (into detached), freed when
     * the last view ends. */
    int index_views;
    struct store_index *detached;
    size_t sp_bulk_mark[STORE_MAX_SAVEPOINTS]; /* bulk_keys' length */
    /* Why the last transaction was rolled back (sqlite3_errmsg before the
     * ROLLBACK, which would replace it), for sdat_store_errmsg. */
    char failure[256];
    /* The earliest next_attempt_ms of a scheduled notification
     * (sdat_store_next_due), known on a writable store from a query made
     * outside any transaction (the committed state) until the update hook
     * sees any row of notifications written (store_data.c). */
    bool due_hooked, due_known;
    int64_t due_ms;
};

/* sqlite3_update_hook of a writable store (store_data.c). */
void store_on_change(void *opaque, int op, const char *db, const char *table, sqlite3_int64 rowid);

/* A cached, reset statement for SQL (a string literal: cached by address). */
sqlite3_stmt *store_stmt(sdat_store_t *st, const char *sql);
int store_step_done(sdat_store_t *st, sqlite3_stmt *stmt);
void store_bind_text(sqlite3_stmt *stmt, int i, const char *text);
/* Runs SQL (a string literal) once, its parameters ?1, ?2, … bound from
 * the arguments as types says: 't' text (const char *; NULL binds NULL),
 * 'i' int, 'I' int64_t. The number of rows it changed, or
 * store_step_done's error. */
int store_run(sdat_store_t *st, const char *sql, const char *types, ...);

/* A copy of a text column (NULL for NULL or out of memory); caller frees. */
char *store_column_strdup(sqlite3_stmt *stmt, int col);
/* Runs SQL (a string literal) with text bound to ?1 and steps to its
 * first row: 0 with *ret_stmt on that row (read its columns, then
 * sqlite3_reset it), -ENOENT when there is none, or -EIO. */
int store_row_by_text(sdat_store_t *st, const char *sql, const char *text,
                      sqlite3_stmt **ret_stmt);
/* Steps stmt (taken: finalized here) row by row, calling fn with it on
 * each row until fn returns non-zero: 0, fn's value, or -EIO. */
int store_rows(sqlite3_stmt *stmt, int (*fn)(sqlite3_stmt *row, void *opaque), void *opaque);
/* store_rows over (seq, record) rows of the audit table; a NULL record is
 * given as "". */
int store_audit_records(sqlite3_stmt *stmt, int (*fn)(int64_t seq, const char *record, void *opaque),
                        void *opaque);
/* One integer from a cached statement (count(*) and the like). */
int store_count(sdat_store_t *st, sqlite3_stmt *stmt, int64_t *ret_count);
/* A bulk load (store_bulk.c): the blocking keys of the child written as
 * st->bulk_gen, with its ten matching columns in struct
 * sdat_register_row's order (child_id first, as written to children), and
 * a child written again (its earlier keys are dropped by
 * sdat_store_bulk_finish). */
struct sdat_blocking_keys;
int store_bulk_keys(sdat_store_t *st, const char *const col[10],
                    const struct sdat_blocking_keys *keys);
int store_bulk_redone(sdat_store_t *st, const char *child_id);
/* A child not in the register written in a bulk load: if it was deleted
 * earlier in the load, its keys of this write are the ones kept. 0 (the
 * child is new to the register either way) or -EIO. */
int store_bulk_rewritten(sdat_store_t *st, const char *child_id);
/* The keys kept so far: their count (a savepoint's mark), dropping those
 * after a mark, and freeing them all (the load rolled back or done). */
size_t store_bulk_mark(const sdat_store_t *st);
void store_bulk_rollback_to(sdat_store_t *st, size_t mark);
void store_bulk_free(sdat_store_t *st);
/* A bulk load's name counts (given_names, family_names) are summed in
 * memory and written by the flush: before a savepoint, so that rolling
 * back to it (which clears the sums since) is SQLite's own, and when the
 * load finishes. */
int store_bulk_name_count(sdat_store_t *st, bool family, const char *name, int delta);
int store_bulk_names_flush(sdat_store_t *st);
void store_bulk_names_clear(sdat_store_t *st);
/* At most this many candidate rows are read before duplicates are
 * dropped (the candidate query's LIMIT). */
#define STORE_CANDIDATES_MAX 2000
/* The register index (store_index.c). A child's ten matching columns in
 * struct sdat_register_row's order (child_id first), as written to
 * children, and its rowid there: listed in place of any earlier version.
 * Both are called after the SQL write succeeded; they never fail (out of
 * memory, the index is dropped and SQLite answers). */
struct store_index;
int store_index_child_put(sdat_store_t *st, const char *const col[10], int64_t rowid);
int store_index_child_delete(sdat_store_t *st, const char *child_id);
/* A register write failed: if the transaction commits all the same, the
 * index is dropped; a rollback past this point forgets it. */
void store_index_write_failed(sdat_store_t *st);
/* The transaction's journal: its length (for a savepoint), undo back to
 * a length, and forget it (at commit). */
size_t store_index_mark(sdat_store_t *st);
void store_index_rollback_to(sdat_store_t *st, size_t mark);
void store_index_commit(sdat_store_t *st);
void store_index_drop(sdat_store_t *st);
void store_index_free(struct store_index *ix);
struct sdat_match_query;
struct sdat_register_row;
int store_index_candidates(const struct store_index *ix, const struct sdat_match_query *q,
                           const struct sdat_blocking_keys *keys,
                           struct sdat_register_row **ret_rows, size_t *ret_n);
/* Migration 2: derives the matching columns and keys of every child. */
int store_register_backfill(sdat_store_t *st);

#endif
