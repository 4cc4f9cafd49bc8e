/* The register index's load at start (store.h, "The register index"; the
 * index itself is kept by store_index.c). */
#include "store_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"
#include "store_index_internal.h"

static int load_counts(struct store_index *ix, sqlite3 *db, const char *sql, bool family)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        r = name ? store_index_count_add(ix, family, name, sqlite3_column_int64(stmt, 1), false)
                 : -EIO;
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_finalize(stmt);
    return r;
}

/* The load lists children differently from child_link, for speed; the
 * index it builds is the same. Rows are read BATCH at a time; their keys
 * are looked up together, the table slots and lists they fall on fetched
 * ahead, so that a batch's cache misses overlap instead of following one
 * another. A key's list is only counted then; once every child is read,
 * the lists of more than two children get their exact room in one pool
 * and are filled in child order, as child_link would have filled them,
 * without a malloc per list or its growth. */
#define BATCH 16

struct load {
    uint32_t *lists; /* each (child, key) pair's list number, in child order */
    size_t n, cap;
    uint8_t *n_keys; /* per slot: how many pairs are its */
};

/* Reads the keys of the children first .. first + n - 1 into the table of
 * keys and child_id into by_id, counting each list. */
static int load_batch(struct store_index *ix, struct load *ld, uint32_t first, uint32_t n)
{
    struct sdat_blocking_keys keys[BATCH];
    char ids[BATCH][2][SDAT_BLOCKING_KEY_LEN];
    const char *key[BATCH * (SDAT_BLOCKING_MAX_KEYS + 2)], *child_id[BATCH];
    uint32_t hash[BATCH * (SDAT_BLOCKING_MAX_KEYS + 2)], id_hash[BATCH];
    size_t n_all = 0;
    for (uint32_t c = 0; c < n; c++) {
        const char *col[COLUMNS];
        block_columns(ix->children[first + c].block, col);
        size_t n_ids;
        store_index_child_keys(col, &keys[c], ids[c], &n_ids);
        ix->n_keys += keys[c].n;
        ld->n_keys[first + c] = (uint8_t)(keys[c].n + n_ids);
        for (size_t i = 0; i < keys[c].n + n_ids; i++) {
            key[n_all++] = i < keys[c].n ? keys[c].key[i] : ids[c][i - keys[c].n];
        }
        child_id[c] = col[0];
        id_hash[c] = hash_of(col[0]);
        if (ix->by_id.cap) {
            __builtin_prefetch(&ix->by_id.slot[id_hash[c] & (ix->by_id.cap - 1)], 1);
        }
    }
    const struct keys *k = &ix->by_key;
    for (size_t i = 0; i < n_all; i++) {
        hash[i] = hash_of(key[i]);
        if (k->cap) {
            __builtin_prefetch(&k->slot[hash[i] & (k->cap - 1)]);
        }
    }
    for (uint32_t c = 0; c < n; c++) {
        if (store_index_map_add(&ix->by_id, child_id[c], id_hash[c], first + c) < 0) {
            return -ENOMEM;
        }
    }
    /* The list a key's home slot names is most often its own. */
    for (size_t i = 0; k->cap && i < n_all; i++) {
        uint32_t list = k->slot[hash[i] & (k->cap - 1)].list;
        if (list) {
            /* A list straddles two cache lines one time in two. */
            __builtin_prefetch(&ix->lists[list - 1], 1);
            __builtin_prefetch((const char *)&ix->lists[list] - 1, 1);
        }
    }
    if (ld->n + n_all > ld->cap) {
        size_t cap = ld->cap * 2 > ld->n + n_all ? ld->cap * 2 : ld->n + n_all;
        uint32_t *lists = realloc(ld->lists, cap * sizeof *lists);
        if (!lists) {
            return -ENOMEM;
        }
        ld->lists = lists;
        ld->cap = cap;
    }
    int r = 0;
    for (size_t i = 0; i < n_all; i++) {
        struct list *l = store_index_list_of_hashed(ix, key[i], hash[i], true, &r);
        if (!l) {
            return r < 0 ? r : -ENOMEM;
        }
        l->n++;
        ld->lists[ld->n++] = (uint32_t)(l - ix->lists);
    }
    return 0;
}

/* Gives the counted lists their room and fills them. */
static int load_lists(struct store_index *ix, const struct load *ld)
{
    size_t total = 0;
    for (uint32_t i = 0; i < ix->n_lists; i++) {
        total += ix->lists[i].n > 2 ? ix->lists[i].n : 0;
    }
    if (total > 0) {
        if (!(ix->pool = malloc(total * sizeof *ix->pool))) {
            return -ENOMEM;
        }
        store_index_huge_pages(ix->pool, total * sizeof *ix->pool);
        ix->n_pool = total;
    }
    size_t at = 0;
    for (uint32_t i = 0; i < ix->n_lists; i++) {
        struct list *l = &ix->lists[i];
        l->cap = l->n > 2 ? l->n : 2;
        if (l->n > 2) {
            l->u.slots = ix->pool + at;
            at += l->n;
        }
        l->n = 0;
    }
    size_t pair = 0;
    for (uint32_t slot = 0; slot < ix->n_children; slot++) {
        for (uint8_t i = 0; i < ld->n_keys[slot]; i++) {
            struct list *l = &ix->lists[ld->lists[pair++]];
            list_slots(l)[l->n++] = slot;
        }
    }
    return 0;
}

/* Reads the children's rows (stmt) into ix, which holds no child yet. */
static int load_children(struct store_index *ix, sqlite3_stmt *stmt, size_t expected)
{
    struct load ld = {.cap = expected * 10 + 1024};
    ld.lists = malloc(ld.cap * sizeof *ld.lists);
    ld.n_keys = malloc(ix->cap_children ? ix->cap_children : 1);
    int rc, r = ld.lists && ld.n_keys ? 0 : -ENOMEM;
    if (r == 0) {
        store_index_huge_pages(ld.lists, ld.cap * sizeof *ld.lists);
    }
    uint32_t first = 0;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *col[COLUMNS];
        for (int i = 0; i < COLUMNS; i++) {
            col[i] = (const char *)sqlite3_column_text(stmt, i);
        }
        size_t len[COLUMNS], size = block_layout(col, len);
        uint32_t slot, cap = ix->cap_children;
        char *block = col[0] ? store_index_arena_alloc(&ix->blocks, size, 16u << 20) : NULL;
        if (!block || store_index_child_slot_new(ix, &slot) < 0) {
            r = -ENOMEM;
            break;
        }
        if (ix->cap_children != cap) {
            uint8_t *n_keys = realloc(ld.n_keys, ix->cap_children);
            if (!n_keys) {
                r = -ENOMEM;
                break;
            }
            ld.n_keys = n_keys;
        }
        block_fill(block, col, len, BLOCK_LOADED << 8);
        ix->children[slot] = (struct index_child){.block = block,
                                                  .rowid = sqlite3_column_int64(stmt, COLUMNS),
                                                  .id_prefix = id_prefix(block + 2),
                                                  .size = (uint32_t)size};
        if (slot + 1 - first == BATCH) {
            r = load_batch(ix, &ld, first, BATCH);
            first = slot + 1;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    if (r == 0 && ix->n_children > first) {
        r = load_batch(ix, &ld, first, ix->n_children - first);
    }
    if (r == 0) {
        r = load_lists(ix, &ld);
    }
    free(ld.lists);
    free(ld.n_keys);
    return r;
}

int sdat_store_register_index_load(sdat_store_t *st)
{
    if (st->in_txn || st->bulk) {
        return -EINVAL;
    }
    store_index_drop(st);
    struct store_index *ix = calloc(1, sizeof *ix);
    sqlite3_stmt *stmt = NULL;
    int r = 0;
    if (!ix) {
        return -ENOMEM;
    }
    /* Read through SQLite's page cache, not its memory map of the store:
     * mapped, every page of children read once stays resident in this
     * process (a gigabyte for a million children). */
    int64_t mmap_size = 0;
    if (store_count(st, store_stmt(st, "PRAGMA mmap_size"), &mmap_size) < 0 ||
        sqlite3_exec(st->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL) != SQLITE_OK) {
        mmap_size = -1;
    }
    /* Nor does a scan need the page cache: filled with pages read once, it
     * cost the load a fifth of its time (malloc and zeroed pages). The
     * cache fills again as the store is used. */
    int64_t cache_size = 0;
    if (store_count(st, store_stmt(st, "PRAGMA cache_size"), &cache_size) < 0 ||
        sqlite3_exec(st->db, "PRAGMA cache_size = -1024", NULL, NULL, NULL) != SQLITE_OK) {
        cache_size = 0;
    }
    /* One read transaction: the children and the name counts of one
     * moment. */
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) {
        r = -EIO;
        goto out;
    }
    /* Sized once: growing tables of millions of entries costs more than
     * the load itself. */
    int64_t n = 0;
    r = store_count(st, store_stmt(st, "SELECT count(*) FROM children"), &n);
    if (r == 0 && n > 0) {
        /* About two keys (a date of birth, postcode, UPRN, NHS number,
         * UPN or name key new to the register) per child. */
        size_t want = (size_t)n + 1024, keys = want * 5 / 2;
        ix->children = malloc(want * sizeof *ix->children);
        ix->lists = malloc(keys * sizeof *ix->lists);
        if (!ix->children || !ix->lists || store_index_map_reserve(&ix->by_id, want) < 0 ||
            store_index_keys_reserve(&ix->by_key, keys) < 0) {
            r = -ENOMEM;
            goto out;
        }
        store_index_huge_pages(ix->children, want * sizeof *ix->children);
        store_index_huge_pages(ix->lists, keys * sizeof *ix->lists);
        ix->cap_children = (uint32_t)want;
        ix->cap_lists = (uint32_t)keys;
    }
    if (r < 0 ||
        sqlite3_prepare_v2(st->db,
                           "SELECT child_id, given_norm, family_norm, other_given, other_family,"
                           " dob, postcode, uprn, nhs_number, upn, rowid FROM children",
                           -1, &stmt, NULL) != SQLITE_OK) {
        r = -EIO;
        goto out;
    }
    r = load_children(ix, stmt, (size_t)n);
    /* The keys this build computes are those child_keys holds (written by
     * the same sdat_blocking_register); a store whose keys were written
     * otherwise is answered from SQLite, as it always was. */
    int64_t n_rows = -1;
    if (r == 0) {
        r = store_count(st, store_stmt(st, "SELECT count(*) FROM child_keys"), &n_rows);
    }
    if (r == 0 && n_rows != ix->n_keys) {
        r = -EPROTO;
    }
    if (r == 0) {
        r = load_counts(ix, st->db, "SELECT name, n FROM family_names", true);
    }
    if (r == 0) {
        r = load_counts(ix, st->db, "SELECT name, n FROM given_names", false);
    }
out:
    sqlite3_finalize(stmt);
    if (!sqlite3_get_autocommit(st->db)) {
        sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    }
    char pragma[64];
    if (mmap_size > 0) {
        snprintf(pragma, sizeof pragma, "PRAGMA mmap_size = %lld", (long long)mmap_size);
        if (sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK && r == 0) {
            r = -EIO;
        }
    }
    if (cache_size != 0) {
        snprintf(pragma, sizeof pragma, "PRAGMA cache_size = %lld", (long long)cache_size);
        if (sqlite3_exec(st->db, pragma, NULL, NULL, NULL) != SQLITE_OK && r == 0) {
            r = -EIO;
        }
    }
    if (r < 0) {
        store_index_free(ix);
        return r;
    }
    st->index = ix;
    return 0;
}

bool sdat_store_register_index_loaded(sdat_store_t *st)
{
    return st->index != NULL;
}

void sdat_store_register_index_size(sdat_store_t *st, int64_t *ret_children, int64_t *ret_keys)
{
    const struct store_index *ix = st->index;
    *ret_children = ix ? (int64_t)ix->by_id.n : 0;
    *ret_keys = ix ? (int64_t)ix->by_key.n : 0;
}
