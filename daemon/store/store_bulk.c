/* A bulk load of children into an empty register (sdatctl import): the
 * blocking keys are collected in memory with their child's matching
 * columns and written into child_keys in key order at the end, and the
 * secondary indexes of children and child_keys are built once over the
 * loaded rows rather than grown row by row. Each child's keys are the same
 * as the upserts' outside a bulk load write (store_register.c derives them
 * either way). */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"

#define BULK_COLUMNS 10          /* a key row's columns after the key */
#define BULK_BLOCK (1024 * 1024) /* the text arena's block */

/* One write of a child: its matching columns (child_id first) as stored
 * in children, the text in the arena. */
struct bulk_child {
    int64_t gen;
    const char *col[BULK_COLUMNS];
};

struct bulk_key {
    const char *key;
    const struct bulk_child *child;
};

struct bulk_block {
    struct bulk_block *next;
    size_t used;
    char data[BULK_BLOCK];
};

/* A name's change in count since the last flush (store_bulk_names_flush). */
struct bulk_name {
    const char *name; /* in the arena; NULL: a free slot */
    int64_t delta;
};

struct bulk_names {
    struct bulk_name *slot;
    size_t n, cap; /* cap a power of two, or 0 */
};

/* The keys of a load so far, in the order they were written, and the name
 * counts' changes not yet written (given_names, family_names). */
struct store_bulk_keys {
    struct bulk_key *key;
    size_t n, cap;
    struct bulk_names names[2]; /* [0] given, [1] family */
    struct bulk_block *blocks;  /* newest first */
};

/* Room for len bytes in the arena, NULL when out of memory. A text longer
 * than a block gets a block of its own. */
static void *arena_alloc(struct store_bulk_keys *bk, size_t len, size_t align)
{
    struct bulk_block *b = bk->blocks;
    size_t at = b ? (b->used + align - 1) & ~(align - 1) : 0;
    if (!b || at + len > BULK_BLOCK) {
        size_t size = sizeof *b + (len > BULK_BLOCK ? len - BULK_BLOCK : 0);
        b = malloc(size);
        if (!b) {
            return NULL;
        }
        b->next = bk->blocks;
        b->used = 0;
        bk->blocks = b;
        at = 0;
    }
    b->used = at + len;
    return b->data + at;
}

static const char *arena_text(struct store_bulk_keys *bk, const char *text)
{
    if (!text) {
        return NULL;
    }
    size_t len = strlen(text) + 1;
    char *copy = arena_alloc(bk, len, 1);
    return copy ? memcpy(copy, text, len) : NULL;
}

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
     * written again is named in bulk_redone with its last write's gen.
     * The keys are kept in memory (store_bulk_keys). */
    r = bulk_exec(st, "CREATE TEMP TABLE bulk_redone(child_id TEXT PRIMARY KEY,"
                      "  gen INTEGER NOT NULL) WITHOUT ROWID;");
    if (r == 0) {
        r = drop_indexes(st);
    }
    if (r < 0) {
        return r;
    }
    st->bulk = true;
    st->bulk_n_redone = 0;
    store_bulk_free(st);
    store_index_drop(st); /* the keys go to a temporary table: SQLite answers */
    return 1;
}

static struct store_bulk_keys *bulk_state(sdat_store_t *st)
{
    if (!st->bulk_keys) {
        st->bulk_keys = calloc(1, sizeof *st->bulk_keys);
    }
    return st->bulk_keys;
}

int store_bulk_keys(sdat_store_t *st, const char *const col[BULK_COLUMNS],
                    const struct sdat_blocking_keys *keys)
{
    struct store_bulk_keys *bk = bulk_state(st);
    if (!bk) {
        return -ENOMEM;
    }
    if (bk->n + keys->n > bk->cap) {
        size_t cap = bk->cap ? bk->cap : 4096;
        while (cap < bk->n + keys->n) {
            cap *= 2;
        }
        struct bulk_key *k = realloc(bk->key, cap * sizeof *k);
        if (!k) {
            return -ENOMEM;
        }
        bk->key = k;
        bk->cap = cap;
    }
    struct bulk_child *child = arena_alloc(bk, sizeof *child, _Alignof(struct bulk_child));
    if (!child) {
        return -ENOMEM;
    }
    child->gen = st->bulk_gen;
    for (size_t i = 0; i < BULK_COLUMNS; i++) {
        child->col[i] = arena_text(bk, col[i]);
        if (col[i] && !child->col[i]) {
            return -ENOMEM;
        }
    }
    for (size_t i = 0; i < keys->n; i++) {
        const char *key = arena_text(bk, keys->key[i]);
        if (!key) {
            return -ENOMEM;
        }
        bk->key[bk->n++] = (struct bulk_key){key, child};
    }
    return 0;
}

size_t store_bulk_mark(const sdat_store_t *st)
{
    return st->bulk_keys ? st->bulk_keys->n : 0;
}

void store_bulk_rollback_to(sdat_store_t *st, size_t mark)
{
    /* The arena keeps the dropped keys' text until the load ends. */
    if (st->bulk_keys && mark < st->bulk_keys->n) {
        st->bulk_keys->n = mark;
    }
}

void store_bulk_free(sdat_store_t *st)
{
    struct store_bulk_keys *bk = st->bulk_keys;
    if (!bk) {
        return;
    }
    for (struct bulk_block *b = bk->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(bk->key);
    free(bk->names[0].slot);
    free(bk->names[1].slot);
    free(bk);
    st->bulk_keys = NULL;
}

static size_t name_hash(const char *s)
{
    size_t h = 1469598103934665603u; /* FNV-1a */
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    }
    return h;
}

static struct bulk_name *name_slot(struct bulk_names *t, const char *name)
{
    size_t i = name_hash(name) & (t->cap - 1);
    while (t->slot[i].name && strcmp(t->slot[i].name, name) != 0) {
        i = (i + 1) & (t->cap - 1);
    }
    return &t->slot[i];
}

static int names_grow(struct bulk_names *t)
{
    struct bulk_names grown = {calloc(t->cap ? t->cap * 2 : 1024, sizeof *grown.slot), t->n,
                               t->cap ? t->cap * 2 : 1024};
    if (!grown.slot) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < t->cap; i++) {
        if (t->slot[i].name) {
            *name_slot(&grown, t->slot[i].name) = t->slot[i];
        }
    }
    free(t->slot);
    *t = grown;
    return 0;
}

int store_bulk_name_count(sdat_store_t *st, bool family, const char *name, int delta)
{
    struct store_bulk_keys *bk = bulk_state(st);
    if (!bk) {
        return -ENOMEM;
    }
    struct bulk_names *t = &bk->names[family];
    if (2 * (t->n + 1) > t->cap && names_grow(t) < 0) {
        return -ENOMEM;
    }
    struct bulk_name *slot = name_slot(t, name);
    if (!slot->name) {
        slot->name = arena_text(bk, name);
        if (!slot->name) {
            return -ENOMEM;
        }
        slot->delta = 0;
        t->n++;
    }
    slot->delta += delta;
    return 0;
}

/* The names' text stays in the arena until the load ends. */
static void names_clear(struct bulk_names *t)
{
    if (t->n) {
        memset(t->slot, 0, t->cap * sizeof *t->slot);
        t->n = 0;
    }
}

int store_bulk_names_flush(sdat_store_t *st)
{
    /* The same upserts as name_counts_add's (store_register.c): a name
     * whose changes sum to 0 still gets its row, as there. */
    static const char *const sql[2] = {
        "INSERT INTO given_names(name, n) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET n = n + excluded.n",
        "INSERT INTO family_names(name, n) VALUES (?, ?)"
        " ON CONFLICT(name) DO UPDATE SET n = n + excluded.n"};
    struct store_bulk_keys *bk = st->bulk_keys;
    for (int f = 0; bk && f < 2; f++) {
        struct bulk_names *t = &bk->names[f];
        sqlite3_stmt *stmt = t->n ? store_stmt(st, sql[f]) : NULL;
        if (t->n && !stmt) {
            return -EIO;
        }
        for (size_t i = 0; i < t->cap && t->n; i++) {
            if (!t->slot[i].name) {
                continue;
            }
            store_bind_text(stmt, 1, t->slot[i].name);
            sqlite3_bind_int64(stmt, 2, t->slot[i].delta);
            int r = store_step_done(st, stmt);
            if (r < 0) {
                return r;
            }
        }
        names_clear(t);
    }
    return 0;
}

void store_bulk_names_clear(sdat_store_t *st)
{
    if (st->bulk_keys) {
        names_clear(&st->bulk_keys->names[0]);
        names_clear(&st->bulk_keys->names[1]);
    }
}

int store_bulk_redone(sdat_store_t *st, const char *child_id)
{
    int r = store_run(st,
                      "INSERT INTO temp.bulk_redone(child_id, gen) VALUES (?, ?)"
                      " ON CONFLICT(child_id) DO UPDATE SET gen = excluded.gen",
                      "tI", child_id, st->bulk_gen);
    if (r < 0) {
        return r;
    }
    st->bulk_n_redone++; /* at least as many as there are rows */
    return 0;
}

int store_bulk_rewritten(sdat_store_t *st, const char *child_id)
{
    if (st->bulk_n_redone == 0) {
        return 0; /* no child written again or deleted yet: nothing to update */
    }
    int r = store_run(st, "UPDATE temp.bulk_redone SET gen = ? WHERE child_id = ?", "It",
                      st->bulk_gen, child_id);
    return r < 0 ? r : 0;
}

/* A child's last write in the load, from temp.bulk_redone. */
struct bulk_redone {
    char *child_id;
    int64_t gen;
};

static int redone_cmp(const void *a, const void *b)
{
    return strcmp(((const struct bulk_redone *)a)->child_id,
                  ((const struct bulk_redone *)b)->child_id);
}

static void redone_free(struct bulk_redone *redone, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(redone[i].child_id);
    }
    free(redone);
}

/* temp.bulk_redone sorted on child_id. */
static int redone_load(sdat_store_t *st, struct bulk_redone **ret, size_t *ret_n)
{
    *ret = NULL;
    *ret_n = 0;
    if (st->bulk_n_redone == 0) {
        return 0;
    }
    sqlite3_stmt *stmt = store_stmt(st, "SELECT child_id, gen FROM temp.bulk_redone");
    if (!stmt) {
        return -EIO;
    }
    struct bulk_redone *redone = NULL;
    size_t n = 0, cap = 0;
    int rc, r = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n == cap) {
            cap = cap ? cap * 2 : 64;
            struct bulk_redone *more = realloc(redone, cap * sizeof *more);
            if (!more) {
                r = -ENOMEM;
                break;
            }
            redone = more;
        }
        redone[n].child_id = strdup((const char *)sqlite3_column_text(stmt, 0));
        redone[n].gen = sqlite3_column_int64(stmt, 1);
        if (!redone[n].child_id) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    if (r < 0) {
        redone_free(redone, n);
        return r;
    }
    qsort(redone, n, sizeof *redone, redone_cmp);
    *ret = redone;
    *ret_n = n;
    return 0;
}

/* A key row of an earlier write of a child written again (or deleted)
 * later in the load. */
static bool superseded(const struct bulk_key *k, const struct bulk_redone *redone, size_t n)
{
    if (n == 0) {
        return false;
    }
    struct bulk_redone probe = {(char *)k->child->col[0], 0};
    const struct bulk_redone *r = bsearch(&probe, redone, n, sizeof *redone, redone_cmp);
    return r && r->gen != k->child->gen;
}

/* child_keys' primary-key order: key, then child_id (SQLite's BINARY
 * collation is strcmp's order for text without NULs); the write after. */
static int key_cmp(const void *a, const void *b)
{
    const struct bulk_key *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c == 0) {
        c = strcmp(x->child->col[0], y->child->col[0]);
    }
    if (c == 0) {
        c = (x->child->gen > y->child->gen) - (x->child->gen < y->child->gen);
    }
    return c;
}

/* The load's key rows into child_keys in primary-key order, so that its
 * B-tree grows at its end. */
static int write_keys(sdat_store_t *st)
{
    struct store_bulk_keys *bk = st->bulk_keys;
    if (!bk || bk->n == 0) {
        return 0;
    }
    struct bulk_redone *redone;
    size_t n_redone;
    int r = redone_load(st, &redone, &n_redone);
    if (r < 0) {
        return r;
    }
    qsort(bk->key, bk->n, sizeof *bk->key, key_cmp);
    sqlite3_stmt *stmt = store_stmt(
        st, "INSERT OR IGNORE INTO child_keys(key, child_id, given_norm, family_norm,"
            " other_given, other_family, dob, postcode, uprn, nhs_number, upn)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt) {
        r = -EIO;
    }
    for (size_t i = 0; r == 0 && i < bk->n; i++) {
        const struct bulk_key *k = &bk->key[i];
        if (superseded(k, redone, n_redone)) {
            continue;
        }
        store_bind_text(stmt, 1, k->key);
        for (int c = 0; c < BULK_COLUMNS; c++) {
            store_bind_text(stmt, c + 2, k->child->col[c]);
        }
        r = store_step_done(st, stmt);
    }
    redone_free(redone, n_redone);
    return r;
}

int sdat_store_bulk_finish(sdat_store_t *st)
{
    if (!st->bulk) {
        return -EINVAL;
    }
    /* A key row carries its child's matching columns as stored in
     * children (the same values an upsert binds to both). */
    int r = store_bulk_names_flush(st);
    if (r == 0) {
        r = write_keys(st);
    }
    if (r == 0) {
        r = bulk_exec(st, "DROP TABLE temp.bulk_redone;");
    }
    if (r == 0 && st->bulk_indexes) {
        r = bulk_exec(st, st->bulk_indexes);
    }
    if (r < 0) {
        return r;
    }
    store_bulk_free(st);
    free(st->bulk_indexes);
    st->bulk_indexes = NULL;
    st->bulk = false;
    return 0;
}
