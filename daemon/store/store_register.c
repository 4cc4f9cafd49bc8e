/* The register in the store: children with their matching columns and
 * blocking keys, family-name counts for term-frequency adjustment, CP-IS
 * flags, and the register topics' positions. */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"

#define ROW_COLUMNS 10 /* struct sdat_register_row's text columns */

static const char *text_of(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* Appends the normalised form of name to a space-separated list. */
static void append_word(char *list, size_t cap, const char *name)
{
    char norm[SDAT_MATCH_NAME_MAX];
    sdat_name_normalise(name, norm, sizeof norm);
    size_t len = strlen(list);
    if (norm[0] && len + strlen(norm) + 2 <= cap) {
        snprintf(list + len, cap - len, "%s%s", len ? " " : "", norm);
    }
}

/* Appends each hyphen- or space-separated part of name (when it has two or
 * more) to list. */
static void append_parts(char *list, size_t cap, const char *name)
{
    if (!name || !strpbrk(name, " -")) {
        return;
    }
    for (const char *p = name; *p;) {
        size_t n = strcspn(p, " -");
        if (n > 0 && n < SDAT_MATCH_NAME_MAX) {
            char part[SDAT_MATCH_NAME_MAX];
            memcpy(part, p, n);
            part[n] = '\0';
            append_word(list, cap, part);
        }
        p += n;
        p += strspn(p, " -");
    }
}

struct derived {
    char given[SDAT_MATCH_NAME_MAX], family[SDAT_MATCH_NAME_MAX];
    char other_given[1024], other_family[1024];
    char postcode[9];
    const char *uprn;
};

static void derive(const json_t *child, struct derived *d)
{
    memset(d, 0, sizeof *d);
    const json_t *address = json_object_get(child, "address");
    sdat_name_normalise(text_of(child, "given_name") ? text_of(child, "given_name") : "",
                        d->given, sizeof d->given);
    sdat_name_normalise(text_of(child, "family_name") ? text_of(child, "family_name") : "",
                        d->family, sizeof d->family);
    const char *middle = text_of(child, "middle_names");
    for (const char *p = middle ? middle : ""; *p;) {
        size_t n = strcspn(p, " ");
        if (n > 0 && n < SDAT_MATCH_NAME_MAX) {
            char word[SDAT_MATCH_NAME_MAX];
            memcpy(word, p, n);
            word[n] = '\0';
            append_word(d->other_given, sizeof d->other_given, word);
        }
        p += n;
        p += strspn(p, " ");
    }
    size_t i;
    json_t *alias;
    json_array_foreach(json_object_get(child, "aliases"), i, alias)
    {
        append_word(d->other_given, sizeof d->other_given, text_of(alias, "given_name"));
        append_word(d->other_family, sizeof d->other_family, text_of(alias, "family_name"));
        append_parts(d->other_family, sizeof d->other_family, text_of(alias, "family_name"));
    }
    append_parts(d->other_family, sizeof d->other_family, text_of(child, "family_name"));
    if (!text_of(address, "postcode") ||
        sdat_postcode_normalise(text_of(address, "postcode"), d->postcode, sizeof d->postcode) < 0) {
        d->postcode[0] = '\0';
    }
    d->uprn = text_of(address, "uprn");
}

/* The register's count of each given and family name (term frequency). */
static int name_counts_add(sdat_store_t *st, const char *given, const char *family, int delta)
{
    sqlite3_stmt *stmt;
    int r = 0;
    if (st->bulk) {
        /* Summed in memory, written at the end (store_bulk.c). */
        if (family && family[0]) {
            r = store_bulk_name_count(st, true, family, delta);
        }
        if (r == 0 && given && given[0]) {
            r = store_bulk_name_count(st, false, given, delta);
        }
        return r;
    }
    if (family && family[0]) {
        stmt = store_stmt(st, "INSERT INTO family_names(name, n) VALUES (?, ?)"
                              " ON CONFLICT(name) DO UPDATE SET n = n + excluded.n");
        if (!stmt) {
            return -EIO;
        }
        store_bind_text(stmt, 1, family);
        sqlite3_bind_int(stmt, 2, delta);
        r = store_step_done(st, stmt);
    }
    if (r == 0 && given && given[0]) {
        stmt = store_stmt(st, "INSERT INTO given_names(name, n) VALUES (?, ?)"
                              " ON CONFLICT(name) DO UPDATE SET n = n + excluded.n");
        if (!stmt) {
            return -EIO;
        }
        store_bind_text(stmt, 1, given);
        sqlite3_bind_int(stmt, 2, delta);
        r = store_step_done(st, stmt);
    }
    return r;
}

/* Removes a child's keys and its name counts; 1 when it existed. */
static int forget(sdat_store_t *st, const char *child_id)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT family_norm, given_norm FROM children WHERE child_id = ?");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, child_id);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) {
        sqlite3_reset(stmt);
        return 0;
    }
    if (rc != SQLITE_ROW) {
        sqlite3_reset(stmt);
        return -EIO;
    }
    char family[SDAT_MATCH_NAME_MAX], given[SDAT_MATCH_NAME_MAX];
    snprintf(family, sizeof family, "%s", (const char *)sqlite3_column_text(stmt, 0));
    snprintf(given, sizeof given, "%s", (const char *)sqlite3_column_text(stmt, 1));
    sqlite3_reset(stmt);
    int r = name_counts_add(st, given, family, -1);
    if (r < 0) {
        return r;
    }
    if (st->bulk) {
        /* A child written twice in one bulk load: only the keys of its
         * last write (this one's bulk_gen) are kept (store_bulk.c). */
        r = store_bulk_redone(st, child_id);
        return r < 0 ? r : 1;
    }
    stmt = store_stmt(st, "DELETE FROM child_keys WHERE child_id = ?");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, child_id);
    r = store_step_done(st, stmt);
    return r < 0 ? r : 1;
}

static int remember(sdat_store_t *st, const json_t *child, const struct derived *d)
{
    const char *child_id = text_of(child, "child_id"), *dob = text_of(child, "dob");
    struct sdat_blocking_keys keys;
    sdat_blocking_register(d->given, d->family, d->other_given, d->other_family, dob,
                           d->postcode, d->uprn, &keys);
    if (st->bulk) {
        const char *col[ROW_COLUMNS] = {child_id,
                                        d->given,
                                        d->family,
                                        d->other_given,
                                        d->other_family,
                                        dob,
                                        d->postcode[0] ? d->postcode : NULL,
                                        d->uprn,
                                        text_of(child, "nhs_number"),
                                        text_of(child, "upn")};
        int r = store_bulk_keys(st, col, &keys);
        return r < 0 ? r : name_counts_add(st, d->given, d->family, +1);
    }
    for (size_t i = 0; i < keys.n; i++) {
        sqlite3_stmt *stmt = store_stmt(
            st, "INSERT OR IGNORE INTO child_keys(key, child_id, given_norm, family_norm,"
                " other_given, other_family, dob, postcode, uprn, nhs_number, upn)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
        if (!stmt) {
            return -EIO;
        }
        store_bind_text(stmt, 1, keys.key[i]);
        store_bind_text(stmt, 2, child_id);
        store_bind_text(stmt, 3, d->given);
        store_bind_text(stmt, 4, d->family);
        store_bind_text(stmt, 5, d->other_given);
        store_bind_text(stmt, 6, d->other_family);
        store_bind_text(stmt, 7, dob);
        store_bind_text(stmt, 8, d->postcode[0] ? d->postcode : NULL);
        store_bind_text(stmt, 9, d->uprn);
        store_bind_text(stmt, 10, text_of(child, "nhs_number"));
        store_bind_text(stmt, 11, text_of(child, "upn"));
        int r = store_step_done(st, stmt);
        if (r < 0) {
            return r;
        }
    }
    return name_counts_add(st, d->given, d->family, +1);
}

/* The register index's copy of the row child_write wrote (the columns it
 * bound to children). */
static int index_put(sdat_store_t *st, const json_t *child, const struct derived *d)
{
    sqlite3_stmt *stmt = NULL;
    int r = store_row_by_text(st, "SELECT rowid FROM children WHERE child_id = ?",
                              text_of(child, "child_id"), &stmt);
    if (r < 0) {
        return r == -ENOENT ? -EIO : r;
    }
    int64_t rowid = sqlite3_column_int64(stmt, 0);
    sqlite3_reset(stmt);
    const char *col[ROW_COLUMNS] = {text_of(child, "child_id"),
                                    d->given,
                                    d->family,
                                    d->other_given,
                                    d->other_family,
                                    text_of(child, "dob"),
                                    d->postcode[0] ? d->postcode : NULL,
                                    d->uprn,
                                    text_of(child, "nhs_number"),
                                    text_of(child, "upn")};
    return store_index_child_put(st, col, rowid);
}

static int child_write(sdat_store_t *st, const json_t *child, const char *doc, int64_t now_ms)
{
    const char *child_id = text_of(child, "child_id");
    struct derived d;
    derive(child, &d);
    st->bulk_gen++;
    int existed = forget(st, child_id);
    if (existed == 0 && st->bulk) {
        /* Deleted earlier in the load: this write's keys are the ones. */
        existed = store_bulk_rewritten(st, child_id);
    }
    if (existed < 0) {
        return existed;
    }
    sqlite3_stmt *stmt = store_stmt(
        st, "INSERT INTO children(child_id, la_code, nhs_number, upn, dob, postcode, doc,"
            " updated_ms, given_norm, family_norm, other_given, other_family, uprn)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT(child_id) DO UPDATE SET la_code = excluded.la_code,"
            " nhs_number = excluded.nhs_number, upn = excluded.upn, dob = excluded.dob,"
            " postcode = excluded.postcode, doc = excluded.doc, updated_ms = excluded.updated_ms,"
            " given_norm = excluded.given_norm, family_norm = excluded.family_norm,"
            " other_given = excluded.other_given, other_family = excluded.other_family,"
            " uprn = excluded.uprn");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, child_id);
    store_bind_text(stmt, 2, text_of(child, "la_code"));
    store_bind_text(stmt, 3, text_of(child, "nhs_number"));
    store_bind_text(stmt, 4, text_of(child, "upn"));
    store_bind_text(stmt, 5, text_of(child, "dob"));
    store_bind_text(stmt, 6, d.postcode[0] ? d.postcode : NULL);
    store_bind_text(stmt, 7, doc);
    sqlite3_bind_int64(stmt, 8, now_ms);
    store_bind_text(stmt, 9, d.given);
    store_bind_text(stmt, 10, d.family);
    store_bind_text(stmt, 11, d.other_given);
    store_bind_text(stmt, 12, d.other_family);
    store_bind_text(stmt, 13, d.uprn);
    int r = store_step_done(st, stmt);
    if (r == 0) {
        r = remember(st, child, &d);
    }
    if (r == 0 && !existed && st->n_children >= 0) {
        st->n_children++;
    }
    if (r == 0 && st->index) {
        r = index_put(st, child, &d);
    }
    return r < 0 ? r : existed;
}

int sdat_store_child_upsert(sdat_store_t *st, const json_t *child, int64_t now_ms)
{
    /* children.doc: json_dumps(child, JSON_COMPACT | JSON_SORT_KEYS), which
     * the canonical writer makes byte for byte in one pass (canonical.h). */
    struct sdat_canonical_buf doc = {0};
    int r = sdat_canonical_value(&doc, child);
    if (r == 0) {
        r = child_write(st, child, doc.data, now_ms);
    }
    free(doc.data);
    if (r < 0) {
        store_index_write_failed(st);
    }
    return r;
}

static int child_delete(sdat_store_t *st, const char *child_id)
{
    st->bulk_gen++;
    int existed = forget(st, child_id);
    if (existed <= 0) {
        return existed < 0 ? existed : -ENOENT;
    }
    sqlite3_stmt *stmt = store_stmt(st, "DELETE FROM children WHERE child_id = ?");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, child_id);
    int r = store_step_done(st, stmt);
    if (r == 0 && st->n_children > 0) {
        st->n_children--;
    }
    if (r == 0) {
        r = store_index_child_delete(st, child_id);
    }
    return r;
}

int sdat_store_child_delete(sdat_store_t *st, const char *child_id)
{
    int r = child_delete(st, child_id);
    if (r < 0 && r != -ENOENT) {
        store_index_write_failed(st);
    }
    return r;
}

int sdat_store_child_count(sdat_store_t *st, int64_t *ret_count)
{
    if (st->n_children < 0) {
        int r = store_count(st, store_stmt(st, "SELECT count(*) FROM children"), &st->n_children);
        if (r < 0) {
            st->n_children = -1;
            return r;
        }
    }
    *ret_count = st->n_children;
    return 0;
}

int sdat_store_child_get(sdat_store_t *st, const char *child_id, json_t **ret_child)
{
    sqlite3_stmt *stmt = NULL;
    int r = store_row_by_text(st, "SELECT doc FROM children WHERE child_id = ?", child_id, &stmt);
    if (r == 0) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(stmt, 0), 0, NULL);
        if (doc) {
            *ret_child = doc;
        } else {
            r = -EIO;
        }
    }
    sqlite3_reset(stmt);
    return r;
}

int store_register_backfill(sdat_store_t *st)
{
    sqlite3_stmt *stmt = NULL;
    int r = 0;
    if (sqlite3_prepare_v2(st->db, "SELECT doc, updated_ms FROM children", -1, &stmt, NULL) !=
        SQLITE_OK) {
        return -EIO;
    }
    /* Rewriting rows while reading the same table: collect first. */
    json_t *docs = json_array();
    int rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        json_t *doc = json_loads((const char *)sqlite3_column_text(stmt, 0), 0, NULL);
        if (!doc) {
            r = -EIO;
            break;
        }
        json_object_set_new(doc, "\x01updated", json_integer(sqlite3_column_int64(stmt, 1)));
        json_array_append_new(docs, doc);
    }
    sqlite3_finalize(stmt);
    size_t i;
    json_t *doc;
    json_array_foreach(docs, i, doc)
    {
        if (r < 0) {
            break;
        }
        int64_t updated = json_integer_value(json_object_get(doc, "\x01updated"));
        json_object_del(doc, "\x01updated");
        r = sdat_store_child_upsert(st, doc, updated);
    }
    json_decref(docs);
    return r < 0 ? r : 0;
}

/* The candidate query: the children sharing any of up to 40 blocking keys
 * (each block one range of child_keys, which carries the matching columns),
 * or the NHS number or UPN. */
#define MATCH_COLUMNS                                                                              \
    "child_id, given_norm, family_norm, other_given, other_family, dob, postcode, uprn,"         \
    " nhs_number, upn"
#define K4 "?,?,?,?,"
#define K40 K4 K4 K4 K4 K4 K4 K4 K4 K4 "?"
static const char candidate_sql[] =
    "SELECT c.* FROM (SELECT " MATCH_COLUMNS " FROM child_keys WHERE key IN ("
    K40 ") UNION ALL SELECT " MATCH_COLUMNS " FROM children WHERE nhs_number = ?41"
    " UNION ALL SELECT " MATCH_COLUMNS " FROM children WHERE upn = ?42 LIMIT 2000) c";

/* The register's count of one name (1 when absent: the name is rare). */
static int64_t name_count(sdat_store_t *st, const char *sql, const char *name)
{
    sqlite3_stmt *stmt = store_stmt(st, sql);
    int64_t n = 1;
    if (stmt && name[0]) {
        store_bind_text(stmt, 1, name);
        if (sqlite3_step(stmt) == SQLITE_ROW) {
            n = sqlite3_column_int64(stmt, 0);
        }
        sqlite3_reset(stmt);
    }
    return n;
}

/* A candidate's ten text columns in one allocation, which starts with its
 * child_id: a few hundred rows per query, so one malloc and one free per
 * row rather than ten. Returns false when out of memory or the row has no
 * child_id. */
static bool row_pack(sqlite3_stmt *stmt, struct sdat_register_row *row)
{
    const char *text[ROW_COLUMNS];
    size_t len[ROW_COLUMNS], total = 0;
    for (int i = 0; i < ROW_COLUMNS; i++) {
        text[i] = (const char *)sqlite3_column_text(stmt, i);
        len[i] = text[i] ? (size_t)sqlite3_column_bytes(stmt, i) + 1 : 0;
        total += len[i];
    }
    char *block = text[0] ? malloc(total) : NULL;
    const char **field[ROW_COLUMNS] = {
        &row->child_id, &row->given,    &row->family, &row->other_given, &row->other_family,
        &row->dob,      &row->postcode, &row->uprn,   &row->nhs_number,  &row->upn};
    char *at = block;
    for (int i = 0; i < ROW_COLUMNS; i++) {
        *field[i] = NULL;
        if (block && text[i]) {
            memcpy(at, text[i], len[i]);
            *field[i] = at;
            at += len[i];
        }
    }
    return block != NULL;
}

static void row_free(struct sdat_register_row *row)
{
    free((char *)row->child_id); /* the whole row (row_pack) */
}

void sdat_store_rows_free(struct sdat_register_row *rows, size_t n)
{
    for (size_t i = 0; rows && i < n; i++) {
        row_free(&rows[i]);
    }
    free(rows);
}

static int by_child_id(const void *a, const void *b)
{
    const struct sdat_register_row *x = a, *y = b;
    return strcmp(x->child_id, y->child_id);
}

int sdat_store_register_candidates(sdat_store_t *st, const struct sdat_match_query *q,
                                   struct sdat_register_row **ret_rows, size_t *ret_n)
{
    if (!st->index) {
        return sdat_store_register_candidates_sql(st, q, ret_rows, ret_n);
    }
    struct sdat_blocking_keys keys;
    sdat_blocking_query(q, &keys);
    return store_index_candidates(st->index, q, &keys, ret_rows, ret_n);
}

int sdat_store_register_candidates_sql(sdat_store_t *st, const struct sdat_match_query *q,
                                       struct sdat_register_row **ret_rows, size_t *ret_n)
{
    _Static_assert(SDAT_BLOCKING_MAX_KEYS == 40, "candidate_sql binds 40 keys");
    _Static_assert(STORE_CANDIDATES_MAX == 2000, "candidate_sql reads 2000 rows");
    struct sdat_blocking_keys keys;
    sdat_blocking_query(q, &keys);
    int64_t family_count =
        name_count(st, "SELECT n FROM family_names WHERE name = ?", q->family);
    int64_t given_count = name_count(st, "SELECT n FROM given_names WHERE name = ?", q->given);
    sqlite3_stmt *stmt = store_stmt(st, candidate_sql);
    if (!stmt) {
        return -EIO;
    }
    for (size_t i = 0; i < keys.n; i++) {
        sqlite3_bind_text(stmt, (int)i + 1, keys.key[i], -1, SQLITE_STATIC);
    }
    store_bind_text(stmt, 41, q->nhs_number[0] ? q->nhs_number : NULL);
    store_bind_text(stmt, 42, q->upn[0] ? q->upn : NULL);
    struct sdat_register_row *rows = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            struct sdat_register_row *bigger = realloc(rows, cap * sizeof *rows);
            if (!bigger) {
                r = -ENOMEM;
                break;
            }
            rows = bigger;
        }
        struct sdat_register_row *row = &rows[n++];
        bool packed = row_pack(stmt, row);
        /* A name's count matters only where it equals the query's (the
         * exact level): two lookups per query rather than two per row. */
        row->family_count = family_count;
        row->given_count = given_count;
        if (!packed) {
            r = -ENOMEM;
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    if (r < 0) {
        sdat_store_rows_free(rows, n);
        return r;
    }
    /* UNION ALL keeps SQLite from building a temporary index over every
     * column; a child found under several keys is dropped here. */
    if (n > 1) {
        qsort(rows, n, sizeof *rows, by_child_id);
        size_t kept = 1;
        for (size_t i = 1; i < n; i++) {
            if (strcmp(rows[i].child_id, rows[kept - 1].child_id) == 0) {
                row_free(&rows[i]);
            } else {
                rows[kept++] = rows[i];
            }
        }
        n = kept;
    }
    *ret_rows = rows;
    *ret_n = n;
    return 0;
}

int sdat_store_flag_upsert(sdat_store_t *st, const json_t *flag, int64_t now_ms)
{
    char *doc = json_dumps(flag, JSON_COMPACT | JSON_SORT_KEYS);
    sqlite3_stmt *stmt = store_stmt(
        st, "INSERT INTO cpis_flags(flag_id, la_code, nhs_number, type, start_date, end_date,"
            " doc, updated_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(flag_id) DO UPDATE SET"
            " la_code = excluded.la_code, nhs_number = excluded.nhs_number, type = excluded.type,"
            " start_date = excluded.start_date, end_date = excluded.end_date, doc = excluded.doc,"
            " updated_ms = excluded.updated_ms");
    int r;
    if (!doc || !stmt) {
        r = doc ? -EIO : -ENOMEM;
        goto out;
    }
    store_bind_text(stmt, 1, text_of(flag, "flag_id"));
    store_bind_text(stmt, 2, text_of(flag, "la_code"));
    store_bind_text(stmt, 3, text_of(flag, "nhs_number"));
    store_bind_text(stmt, 4, text_of(flag, "type"));
    store_bind_text(stmt, 5, text_of(flag, "start_date"));
    store_bind_text(stmt, 6, text_of(flag, "end_date"));
    store_bind_text(stmt, 7, doc);
    sqlite3_bind_int64(stmt, 8, now_ms);
    r = store_step_done(st, stmt);
out:
    free(doc);
    return r;
}

int sdat_store_flag_delete(sdat_store_t *st, const char *flag_id)
{
    int r = store_run(st,
                      "DELETE FROM cpis_flags WHERE flag_id = ?",
                      "t", flag_id);
    if (r >= 0) {
        r = r == 0 ? -ENOENT : 0;
    }
    return r;
}

int sdat_store_flag_count(sdat_store_t *st, int64_t *ret_count)
{
    return store_count(st, store_stmt(st, "SELECT count(*) FROM cpis_flags"), ret_count);
}

int sdat_store_register_offset(sdat_store_t *st, const char *cluster, const char *topic,
                               int32_t partition, int64_t *ret_next_offset)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT next_offset FROM register_positions"
                                        " WHERE cluster = ? AND topic = ? AND partition = ?");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, cluster);
    store_bind_text(stmt, 2, topic);
    sqlite3_bind_int(stmt, 3, partition);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *ret_next_offset = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int sdat_store_register_offset_set(sdat_store_t *st, const char *cluster, const char *topic,
                                   int32_t partition, int64_t next_offset)
{
    int r = store_run(st,
                      "INSERT INTO register_positions(cluster, topic, partition, next_offset)"
                      " VALUES (?, ?, ?, ?) ON CONFLICT(cluster, topic, partition)"
                      " DO UPDATE SET next_offset = excluded.next_offset",
                      "ttiI", cluster, topic, (int)partition, next_offset);
    return r < 0 ? r : 0;
}

int sdat_store_flags_for(sdat_store_t *st, const char *nhs_number,
                         int (*fn)(const char *doc, void *opaque), void *opaque)
{
    /* The store's prepared statement (every CP-IS lookup runs it): fn must
     * not run this query itself. */
    sqlite3_stmt *stmt =
        store_stmt(st, "SELECT doc FROM cpis_flags WHERE nhs_number = ? ORDER BY flag_id");
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, nhs_number, -1, SQLITE_TRANSIENT);
    int r = 0, rc = SQLITE_DONE;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = fn((const char *)sqlite3_column_text(stmt, 0), opaque);
    }
    /* A read-only handle can fail where the writer's would not (a busy
     * store): an error, never a short list. */
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_accesses_recent(sdat_store_t *st, const char *nhs_number, int limit,
                               int (*fn)(const char *ods_code, const char *setting,
                                         int64_t arrived_ms, void *opaque),
                               void *opaque)
{
    /* Prepared once, as above: fn must not run this query itself. */
    sqlite3_stmt *stmt =
        store_stmt(st, "SELECT ods_code, setting, arrived_ms FROM accesses WHERE nhs_number = ?"
                       " ORDER BY arrived_ms DESC, id DESC LIMIT ?");
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, nhs_number, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(stmt, 2, limit);
    int r = 0, rc = SQLITE_DONE;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = fn((const char *)sqlite3_column_text(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
               sqlite3_column_int64(stmt, 2), opaque);
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_accesses_before(sdat_store_t *st, const char *nhs_number, const char *attendance,
                               int limit,
                               int (*fn)(const char *ods_code, const char *setting,
                                         int64_t arrived_ms, void *opaque),
                               void *opaque)
{
    /* Rows recorded after the attendance's own row are left out, so that
     * the same attendance is answered with the same accesses again. */
    sqlite3_stmt *stmt = store_stmt(
        st, "SELECT ods_code, setting, arrived_ms FROM accesses WHERE nhs_number = ?1"
            " AND attendance <> ?2 AND id < ifnull((SELECT min(id) FROM accesses"
            " WHERE attendance = ?2), 9223372036854775807)"
            " ORDER BY arrived_ms DESC, id DESC LIMIT ?3");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, nhs_number);
    store_bind_text(stmt, 2, attendance);
    sqlite3_bind_int(stmt, 3, limit);
    int r = 0, rc = SQLITE_DONE;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = fn((const char *)sqlite3_column_text(stmt, 0), (const char *)sqlite3_column_text(stmt, 1),
               sqlite3_column_int64(stmt, 2), opaque);
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_access_record(sdat_store_t *st, const char *nhs_number, const char *ods_code,
                             const char *setting, int64_t arrived_ms, const char *attendance,
                             int64_t now_ms)
{
    int r = store_run(st,
                      "INSERT INTO accesses(nhs_number, ods_code, setting, arrived_ms, attendance,"
                      " recorded_ms) SELECT ?1, ?2, ?3, ?4, ?5, ?6"
                      " WHERE NOT EXISTS (SELECT 1 FROM accesses WHERE attendance = ?5)",
                      "tttItI", nhs_number, ods_code, setting, arrived_ms, attendance,
                      now_ms);
    if (r >= 0) {
        r = r == 0 ? 1 : 0;
    }
    return r;
}

int sdat_store_meta_get(sdat_store_t *st, const char *key, char **ret_value)
{
    sqlite3_stmt *stmt = NULL;
    int r = store_row_by_text(st, "SELECT value FROM meta WHERE key = ?", key, &stmt);
    if (r == 0) {
        *ret_value = strdup((const char *)sqlite3_column_text(stmt, 0));
        r = *ret_value ? 0 : -ENOMEM;
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_meta_set(sdat_store_t *st, const char *key, const char *value)
{
    int r = store_run(st,
                      "INSERT INTO meta(key, value) VALUES (?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                      "tt", key, value);
    return r < 0 ? r : 0;
}
