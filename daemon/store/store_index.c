/* The register in memory for matching (store.h, "The register index").
 *
 * Each child is one packed allocation of its ten matching columns (a
 * presence mask, then the present columns NUL-terminated, child_id first),
 * numbered by a slot. Hash tables map child_id → slot, each blocking key
 * (and "N:" NHS number, "U:" UPN) → an unordered list of slots, and each
 * family and given name → its count. The blocking keys of a child are not
 * stored: sdat_blocking_register gives them again from its columns, as it
 * gave them to child_keys.
 *
 * Every change made inside a transaction is journalled; a rollback (of the
 * transaction or to a savepoint) undoes the journal backwards to its mark,
 * and a commit forgets it. The index never holds what SQLite does not: a
 * register write that failed leaves it unchanged, and if the transaction
 * commits anyway the index is dropped (candidates then come from SQLite). */
#include "store_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "decide/decide.h"
#include "store_index_internal.h"

/* Asks for huge pages under a large table (before its pages are first
 * touched): a lookup is a random access, and with 4 KiB pages each costs a
 * TLB miss and, at load, a page fault. Advice only. */
static void huge_pages(void *p, size_t size)
{
    const uintptr_t huge = 2u << 20;
    uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1),
              to = ((uintptr_t)p + size) & ~(huge - 1);
    if (size >= 4 * huge && to > from) {
        madvise((void *)from, to - from, MADV_HUGEPAGE);
    }
}

/* Makes room for n entries (at most 70 % full). */
static int map_reserve(struct map *m, size_t n)
{
    size_t cap = m->cap ? m->cap : 1024;
    while (n * 10 > cap * 7) {
        cap *= 2;
    }
    if (cap == m->cap) {
        return 0;
    }
    struct map_slot *slot = calloc(cap, sizeof *slot);
    if (!slot) {
        return -ENOMEM;
    }
    huge_pages(slot, cap * sizeof *slot);
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slot[i].key) {
            size_t j = m->slot[i].hash & (cap - 1);
            while (slot[j].key) {
                j = (j + 1) & (cap - 1);
            }
            slot[j] = m->slot[i];
        }
    }
    free(m->slot);
    m->slot = slot;
    m->cap = cap;
    return 0;
}

/* Adds key (absent) with value; key must outlive its entry. */
static int map_add(struct map *m, const char *key, uint32_t hash, uint32_t value)
{
    if (map_reserve(m, m->n + 1) < 0) {
        return -ENOMEM;
    }
    bool found;
    size_t i = map_probe(m, key, hash, &found);
    m->slot[i] = (struct map_slot){.key = key, .hash = hash, .value = value};
    m->n++;
    return 0;
}

/* Removes the entry at i, shifting later entries of its run back. */
static void map_remove_at(struct map *m, size_t i)
{
    size_t mask = m->cap - 1;
    for (size_t j = (i + 1) & mask; m->slot[j].key; j = (j + 1) & mask) {
        size_t home = m->slot[j].hash & mask;
        /* j stays unless its home lies cyclically outside (i, j]. */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!stays) {
            m->slot[i] = m->slot[j];
            i = j;
        }
    }
    m->slot[i].key = NULL;
    m->n--;
}

/* size bytes from a, in chunks of at least chunk bytes. */
static char *arena_alloc(struct arena *a, size_t size, size_t chunk)
{
    if (!a->head || a->head->cap - a->head->used < size) {
        size_t cap = size > chunk ? size : chunk;
        struct arena_chunk *c = malloc(sizeof *c + cap);
        if (!c) {
            return NULL;
        }
        huge_pages(c, sizeof *c + cap);
        *c = (struct arena_chunk){.next = a->head, .cap = cap};
        a->head = c;
    }
    char *at = a->head->text + a->head->used;
    a->head->used += size;
    return at;
}

static void arena_free(struct arena *a)
{
    while (a->head) {
        struct arena_chunk *next = a->head->next;
        free(a->head);
        a->head = next;
    }
}

static const char *arena_copy(struct arena *a, const char *s)
{
    size_t len = strlen(s) + 1;
    char *at = arena_alloc(a, len, 65536);
    if (at) {
        memcpy(at, s, len);
    }
    return at;
}

/* Frees a block unless it lies in the load's arena. */
static void block_free(char *block)
{
    if (block && !((unsigned char)block[1] & BLOCK_LOADED)) {
        free(block);
    }
}

static uint32_t *list_slots(struct list *l)
{
    return l->cap <= 2 ? l->u.inline_slots : l->u.slots;
}

/* Whether a list's slots lie in the load's pool (freed with the index). */
static bool in_pool(const struct store_index *ix, const uint32_t *slots)
{
    return ix->pool && slots >= ix->pool && slots < ix->pool + ix->n_pool;
}

static int list_add(struct store_index *ix, struct list *l, uint32_t slot)
{
    if (l->cap == 0) {
        l->cap = 2;
    }
    if (l->n == l->cap) {
        uint32_t cap = l->cap * 2;
        uint32_t *slots = malloc(cap * sizeof *slots);
        if (!slots) {
            return -ENOMEM;
        }
        memcpy(slots, list_slots(l), l->n * sizeof *slots);
        if (l->cap > 2 && !in_pool(ix, l->u.slots)) {
            free(l->u.slots);
        }
        l->u.slots = slots;
        l->cap = cap;
    }
    list_slots(l)[l->n++] = slot;
    return 0;
}

static void list_remove(struct list *l, uint32_t slot)
{
    uint32_t *slots = list_slots(l);
    for (uint32_t i = 0; i < l->n; i++) {
        if (slots[i] == slot) {
            slots[i] = slots[--l->n];
            return;
        }
    }
}

/* Makes room for n keys (at most 70 % full). */
static int keys_reserve(struct keys *k, size_t n)
{
    size_t cap = k->cap ? k->cap : 1024;
    while (n * 10 > cap * 7) {
        cap *= 2;
    }
    if (cap == k->cap) {
        return 0;
    }
    struct key_slot *slot = calloc(cap, sizeof *slot);
    if (!slot) {
        return -ENOMEM;
    }
    huge_pages(slot, cap * sizeof *slot);
    for (size_t i = 0; i < k->cap; i++) {
        if (k->slot[i].list) {
            size_t j = k->slot[i].hash & (cap - 1);
            while (slot[j].list) {
                j = (j + 1) & (cap - 1);
            }
            slot[j] = k->slot[i];
        }
    }
    free(k->slot);
    k->slot = slot;
    k->cap = cap;
    return 0;
}

/* The list of key (whose hash_of is hash), made when absent and make is
 * set; NULL otherwise (or out of memory: *ret_r). */
static struct list *list_of_hashed(struct store_index *ix, const char *key, uint32_t hash,
                                   bool make, int *ret_r)
{
    struct keys *k = &ix->by_key;
    bool found = false;
    size_t at = k->cap ? keys_probe(ix, key, hash, &found) : 0;
    if (found) {
        return &ix->lists[k->slot[at].list - 1];
    }
    if (!make) {
        return NULL;
    }
    if (ix->n_lists == ix->cap_lists) {
        uint32_t cap = ix->cap_lists ? ix->cap_lists * 2 : 4096;
        struct list *lists = realloc(ix->lists, cap * sizeof *lists);
        if (!lists) {
            *ret_r = -ENOMEM;
            return NULL;
        }
        ix->lists = lists;
        ix->cap_lists = cap;
    }
    if ((k->n + 1) * 10 > k->cap * 7) {
        if (keys_reserve(k, k->n + 1) < 0) {
            *ret_r = -ENOMEM;
            return NULL;
        }
        at = keys_probe(ix, key, hash, &found);
    }
    struct list *l = &ix->lists[ix->n_lists];
    *l = (struct list){0};
    size_t len = strlen(key);
    if (len > 0 && len < sizeof l->key.text) {
        memcpy(l->key.text, key, len + 1);
    } else if (!(l->key.ref.far = arena_copy(&ix->arena, key))) {
        *ret_r = -ENOMEM;
        return NULL;
    }
    k->slot[at] = (struct key_slot){.hash = hash, .list = ++ix->n_lists};
    k->n++;
    return l;
}

static struct list *list_of(struct store_index *ix, const char *key, bool make, int *ret_r)
{
    return list_of_hashed(ix, key, hash_of(key), make, ret_r);
}

static int journal(struct store_index *ix, struct undo u)
{
    if (ix->n_journal == ix->cap_journal) {
        size_t cap = ix->cap_journal ? ix->cap_journal * 2 : 256;
        struct undo *bigger = realloc(ix->journal, cap * sizeof *bigger);
        if (!bigger) {
            return -ENOMEM;
        }
        ix->journal = bigger;
        ix->cap_journal = cap;
    }
    ix->journal[ix->n_journal++] = u;
    ix->failed += u.op == UNDO_FAILED;
    return 0;
}

/* A child's columns from its block, in row order (NULL when absent). */
static void block_columns(const char *block, const char *ret[COLUMNS])
{
    unsigned mask = (unsigned char)block[0] | (unsigned)(unsigned char)block[1] << 8;
    const char *at = block + 2;
    for (int i = 0; i < COLUMNS; i++) {
        ret[i] = NULL;
        if (mask & (1u << i)) {
            ret[i] = at;
            at += strlen(at) + 1;
        }
    }
}

static size_t block_size(const char *block)
{
    const char *col[COLUMNS];
    block_columns(block, col);
    size_t size = 2;
    for (int i = 0; i < COLUMNS; i++) {
        size += col[i] ? strlen(col[i]) + 1 : 0;
    }
    return size;
}

static uint64_t id_prefix(const char *id)
{
    uint64_t prefix = 0;
    size_t i = 0;
    for (; i < 8 && id[i]; i++) {
        prefix = prefix << 8 | (unsigned char)id[i];
    }
    return prefix << 8 * (8 - i);
}

/* The size of the block of col (its columns' lengths with their NULs in
 * ret_len). */
static size_t block_layout(const char *const col[COLUMNS], size_t ret_len[COLUMNS])
{
    size_t size = 2;
    for (int i = 0; i < COLUMNS; i++) {
        ret_len[i] = col[i] ? strlen(col[i]) + 1 : 0;
        size += ret_len[i];
    }
    return size;
}

static void block_fill(char *block, const char *const col[COLUMNS], const size_t len[COLUMNS],
                       unsigned flags)
{
    unsigned mask = flags;
    for (int i = 0; i < COLUMNS; i++) {
        mask |= col[i] ? 1u << i : 0;
    }
    block[0] = (char)(mask & 0xff);
    block[1] = (char)(mask >> 8);
    char *at = block + 2;
    for (int i = 0; i < COLUMNS; i++) {
        if (col[i]) {
            memcpy(at, col[i], len[i]);
            at += len[i];
        }
    }
}

static char *block_make(const char *const col[COLUMNS])
{
    size_t len[COLUMNS], size = block_layout(col, len);
    char *block = col[0] ? malloc(size) : NULL;
    if (block) {
        block_fill(block, col, len, 0);
    }
    return block;
}

/* "N:" or "U:" and value, as snprintf(out, SDAT_BLOCKING_KEY_LEN, "N:%s")
 * wrote it. */
static void id_key(char out[SDAT_BLOCKING_KEY_LEN], char kind, const char *value)
{
    size_t len = strnlen(value, SDAT_BLOCKING_KEY_LEN - 3);
    out[0] = kind;
    out[1] = ':';
    memcpy(out + 2, value, len);
    out[2 + len] = '\0';
}

/* The keys a child is listed under: its blocking keys, then "N:" and "U:". */
static void child_keys(const char *const col[COLUMNS], struct sdat_blocking_keys *keys,
                       char ids[2][SDAT_BLOCKING_KEY_LEN], size_t *ret_n_ids)
{
    sdat_blocking_register(col[1], col[2], col[3], col[4], col[5], col[6], col[7], keys);
    size_t n = 0;
    if (col[8]) {
        id_key(ids[n++], 'N', col[8]);
    }
    if (col[9]) {
        id_key(ids[n++], 'U', col[9]);
    }
    *ret_n_ids = n;
}

static int count_add(struct store_index *ix, bool family, const char *name, int64_t delta,
                     bool journalled)
{
    struct map *m = family ? &ix->family_names : &ix->given_names;
    uint32_t hash = hash_of(name);
    long at = map_find(m, name, hash);
    uint32_t c;
    if (at >= 0) {
        c = m->slot[at].value;
    } else {
        if (ix->n_counts == ix->cap_counts) {
            uint32_t cap = ix->cap_counts ? ix->cap_counts * 2 : 1024;
            struct count *counts = realloc(ix->counts, cap * sizeof *counts);
            if (!counts) {
                return -ENOMEM;
            }
            ix->counts = counts;
            ix->cap_counts = cap;
        }
        const char *copy = arena_copy(&ix->arena, name);
        if (!copy || map_add(m, copy, hash, ix->n_counts) < 0) {
            return -ENOMEM;
        }
        c = ix->n_counts++;
        ix->counts[c] = (struct count){0};
    }
    if (!ix->counts[c].present) {
        if (journalled &&
            journal(ix, (struct undo){.op = UNDO_COUNT_CREATED, .index = c, .family = family}) <
                0) {
            return -ENOMEM;
        }
        ix->counts[c] = (struct count){.present = true};
    }
    if (journalled &&
        journal(ix,
                (struct undo){
                    .op = UNDO_COUNT_ADDED, .index = c, .value = delta, .family = family}) < 0) {
        return -ENOMEM;
    }
    ix->counts[c].n += delta;
    return 0;
}

/* A new slot at the end of children. */
static int child_slot_new(struct store_index *ix, uint32_t *ret_slot)
{
    if (ix->n_children == ix->cap_children) {
        uint32_t cap = ix->cap_children ? ix->cap_children * 2 : 4096;
        struct index_child *children = realloc(ix->children, cap * sizeof *children);
        if (!children) {
            return -ENOMEM;
        }
        ix->children = children;
        ix->cap_children = cap;
    }
    *ret_slot = ix->n_children++;
    return 0;
}

/* Lists block (taken) under a free slot and its keys. */
static int child_link(struct store_index *ix, char *block, int64_t rowid, uint32_t *ret_slot)
{
    uint32_t slot;
    if (ix->n_free > 0) {
        slot = ix->free_slots[--ix->n_free];
    } else if (child_slot_new(ix, &slot) < 0) {
        block_free(block);
        return -ENOMEM;
    }
    ix->children[slot] = (struct index_child){.block = block,
                                              .rowid = rowid,
                                              .id_prefix = id_prefix(block + 2),
                                              .size = (uint32_t)block_size(block)};
    const char *col[COLUMNS];
    block_columns(block, col);
    if (map_add(&ix->by_id, col[0], hash_of(col[0]), slot) < 0) {
        ix->children[slot].block = NULL;
        block_free(block);
        return -ENOMEM;
    }
    struct sdat_blocking_keys keys;
    char ids[2][SDAT_BLOCKING_KEY_LEN];
    size_t n_ids;
    child_keys(col, &keys, ids, &n_ids);
    ix->n_keys += keys.n;
    int r = 0;
    for (size_t i = 0; r == 0 && i < keys.n + n_ids; i++) {
        struct list *l = list_of(ix, i < keys.n ? keys.key[i] : ids[i - keys.n], true, &r);
        if (l) {
            r = list_add(ix, l, slot);
        }
    }
    /* On failure the index is half-built: the caller drops it. */
    *ret_slot = slot;
    return r;
}

/* Unlists the child at slot and frees the slot; its block is returned. */
static char *child_unlink(struct store_index *ix, uint32_t slot)
{
    char *block = ix->children[slot].block;
    const char *col[COLUMNS];
    block_columns(block, col);
    struct sdat_blocking_keys keys;
    char ids[2][SDAT_BLOCKING_KEY_LEN];
    size_t n_ids;
    child_keys(col, &keys, ids, &n_ids);
    int unused = 0;
    ix->n_keys -= keys.n;
    for (size_t i = 0; i < keys.n + n_ids; i++) {
        struct list *l = list_of(ix, i < keys.n ? keys.key[i] : ids[i - keys.n], false, &unused);
        if (l) {
            list_remove(l, slot);
        }
    }
    long at = map_find(&ix->by_id, col[0], hash_of(col[0]));
    if (at >= 0) {
        map_remove_at(&ix->by_id, (size_t)at);
    }
    ix->children[slot].block = NULL;
    /* The free list never needs more room than there are slots. */
    if (ix->n_free == ix->cap_free) {
        uint32_t cap = ix->cap_children;
        uint32_t *slots = realloc(ix->free_slots, cap * sizeof *slots);
        if (slots) {
            ix->free_slots = slots;
            ix->cap_free = cap;
        }
    }
    if (ix->n_free < ix->cap_free) {
        ix->free_slots[ix->n_free++] = slot;
    }
    return block;
}

static void undo_one(struct store_index *ix, const struct undo *u)
{
    uint32_t slot;
    switch (u->op) {
    case UNDO_ADDED:
        block_free(child_unlink(ix, u->index));
        break;
    case UNDO_REMOVED:
        /* Room for it was there before: only the lists may need memory,
         * and a failure there is caught by the caller's check. */
        if (child_link(ix, u->block, u->value, &slot) < 0) {
            ix->broken = true;
        }
        break;
    case UNDO_COUNT_CREATED:
        ix->counts[u->index] = (struct count){0};
        break;
    case UNDO_COUNT_ADDED:
        ix->counts[u->index].n -= u->value;
        break;
    case UNDO_FAILED:
        ix->failed--;
        break;
    }
}

void store_index_free(struct store_index *ix)
{
    if (!ix) {
        return;
    }
    for (uint32_t i = 0; i < ix->n_children; i++) {
        block_free(ix->children[i].block);
    }
    for (size_t i = 0; i < ix->n_journal; i++) {
        if (ix->journal[i].op == UNDO_REMOVED) {
            block_free(ix->journal[i].block);
        }
    }
    for (uint32_t i = 0; i < ix->n_lists; i++) {
        if (ix->lists[i].cap > 2 && !in_pool(ix, ix->lists[i].u.slots)) {
            free(ix->lists[i].u.slots);
        }
    }
    arena_free(&ix->arena);
    arena_free(&ix->blocks);
    free(ix->pool);
    free(ix->children);
    free(ix->free_slots);
    free(ix->by_id.slot);
    free(ix->by_key.slot);
    free(ix->family_names.slot);
    free(ix->given_names.slot);
    free(ix->lists);
    free(ix->counts);
    free(ix->journal);
    free(ix);
}

void store_index_drop(sdat_store_t *st)
{
    store_index_free(st->index);
    st->index = NULL;
}

size_t store_index_mark(sdat_store_t *st)
{
    return st->index ? st->index->n_journal : 0;
}

void store_index_rollback_to(sdat_store_t *st, size_t mark)
{
    struct store_index *ix = st->index;
    if (!ix) {
        return;
    }
    while (ix->n_journal > mark) {
        undo_one(ix, &ix->journal[--ix->n_journal]);
    }
    if (ix->broken) {
        store_index_drop(st);
    }
}

void store_index_commit(sdat_store_t *st)
{
    struct store_index *ix = st->index;
    if (!ix) {
        return;
    }
    for (size_t i = 0; i < ix->n_journal; i++) {
        if (ix->journal[i].op == UNDO_REMOVED) {
            block_free(ix->journal[i].block);
        }
    }
    ix->n_journal = 0;
    if (ix->failed > 0) {
        /* A register write failed and was committed all the same: what
         * SQLite holds is no longer what the index holds. */
        store_index_drop(st);
    }
}

void store_index_write_failed(sdat_store_t *st)
{
    if (!st->index) {
        return;
    }
    if (!st->in_txn || journal(st->index, (struct undo){.op = UNDO_FAILED}) < 0) {
        store_index_drop(st);
    }
}

/* Removes child_id if listed, journalled. 0 or -ENOMEM. */
static int remove_child(sdat_store_t *st, const char *child_id)
{
    struct store_index *ix = st->index;
    long at = map_find(&ix->by_id, child_id, hash_of(child_id));
    if (at < 0) {
        return 0;
    }
    uint32_t slot = ix->by_id.slot[at].value;
    int64_t rowid = ix->children[slot].rowid;
    const char *col[COLUMNS];
    block_columns(ix->children[slot].block, col);
    /* forget(): the name counts of the row as stored. */
    int r = 0;
    if (col[2] && col[2][0]) {
        r = count_add(ix, true, col[2], -1, st->in_txn);
    }
    if (r == 0 && col[1] && col[1][0]) {
        r = count_add(ix, false, col[1], -1, st->in_txn);
    }
    if (r == 0 && st->in_txn) {
        r = journal(ix, (struct undo){.op = UNDO_REMOVED, .value = rowid});
    }
    if (r < 0) {
        return r;
    }
    char *block = child_unlink(ix, slot);
    if (st->in_txn) {
        ix->journal[ix->n_journal - 1].block = block;
    } else {
        block_free(block);
    }
    return 0;
}

/* After some errors (SQLITE_FULL, SQLITE_IOERR) SQLite rolls the whole
 * transaction back by itself, and later statements of "the transaction"
 * run and commit one by one: a change made then cannot be undone with the
 * transaction, so the index is dropped instead. */
static bool outside_sqlite_txn(sdat_store_t *st)
{
    if (st->in_txn && sqlite3_get_autocommit(st->db)) {
        store_index_drop(st);
        return true;
    }
    return false;
}

int store_index_child_delete(sdat_store_t *st, const char *child_id)
{
    if (!st->index || outside_sqlite_txn(st)) {
        return 0;
    }
    int r = remove_child(st, child_id);
    if (r < 0) {
        store_index_drop(st);
    }
    return 0;
}

int store_index_child_put(sdat_store_t *st, const char *const col[COLUMNS], int64_t rowid)
{
    struct store_index *ix = st->index;
    if (!ix || outside_sqlite_txn(st)) {
        return 0;
    }
    int r = remove_child(st, col[0]);
    char *block = r == 0 ? block_make(col) : NULL;
    uint32_t slot = NO_SLOT;
    if (block && st->in_txn) {
        r = journal(ix, (struct undo){.op = UNDO_ADDED});
        if (r < 0) {
            free(block);
            block = NULL;
        }
    }
    if (r == 0 && block) {
        r = child_link(ix, block, rowid, &slot);
        if (st->in_txn) {
            ix->journal[ix->n_journal - 1].index = slot;
        }
    } else if (r == 0) {
        r = -ENOMEM;
    }
    /* remember(): the counts of the new row. */
    if (r == 0 && col[2] && col[2][0]) {
        r = count_add(ix, true, col[2], +1, st->in_txn);
    }
    if (r == 0 && col[1] && col[1][0]) {
        r = count_add(ix, false, col[1], +1, st->in_txn);
    }
    if (r < 0) {
        store_index_drop(st); /* out of memory: SQLite answers from now on */
    }
    return 0;
}

static int load_counts(struct store_index *ix, sqlite3 *db, const char *sql, bool family)
{
    sqlite3_stmt *stmt;
    if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    int rc, r = 0;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(stmt, 0);
        r = name ? count_add(ix, family, name, sqlite3_column_int64(stmt, 1), false) : -EIO;
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
        child_keys(col, &keys[c], ids[c], &n_ids);
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
        if (map_add(&ix->by_id, child_id[c], id_hash[c], first + c) < 0) {
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
        struct list *l = list_of_hashed(ix, key[i], hash[i], true, &r);
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
        huge_pages(ix->pool, total * sizeof *ix->pool);
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
        huge_pages(ld.lists, ld.cap * sizeof *ld.lists);
    }
    uint32_t first = 0;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *col[COLUMNS];
        for (int i = 0; i < COLUMNS; i++) {
            col[i] = (const char *)sqlite3_column_text(stmt, i);
        }
        size_t len[COLUMNS], size = block_layout(col, len);
        uint32_t slot, cap = ix->cap_children;
        char *block = col[0] ? arena_alloc(&ix->blocks, size, 16u << 20) : NULL;
        if (!block || child_slot_new(ix, &slot) < 0) {
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
        if (!ix->children || !ix->lists || map_reserve(&ix->by_id, want) < 0 ||
            keys_reserve(&ix->by_key, keys) < 0) {
            r = -ENOMEM;
            goto out;
        }
        huge_pages(ix->children, want * sizeof *ix->children);
        huge_pages(ix->lists, keys * sizeof *ix->lists);
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
