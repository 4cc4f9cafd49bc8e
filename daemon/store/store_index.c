/* The register in memory for matching (store.h, "The register index").
 *
 * Each child is one packed block of its ten matching columns (a
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
void store_index_huge_pages(void *p, size_t size)
{
    const uintptr_t huge = 2u << 20;
    uintptr_t from = ((uintptr_t)p + huge - 1) & ~(huge - 1),
              to = ((uintptr_t)p + size) & ~(huge - 1);
    if (size >= 4 * huge && to > from) {
        madvise((void *)from, to - from, MADV_HUGEPAGE);
    }
}

/* Makes room for n entries (at most 70 % full). */
int store_index_map_reserve(struct map *m, size_t n)
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
    store_index_huge_pages(slot, cap * sizeof *slot);
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
int store_index_map_add(struct map *m, const char *key, uint32_t hash, uint32_t value)
{
    if (store_index_map_reserve(m, m->n + 1) < 0) {
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
char *store_index_arena_alloc(struct arena *a, size_t size, size_t chunk)
{
    if (!a->head || a->head->cap - a->head->used < size) {
        size_t cap = size > chunk ? size : chunk;
        struct arena_chunk *c = malloc(sizeof *c + cap);
        if (!c) {
            return NULL;
        }
        store_index_huge_pages(c, sizeof *c + cap);
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
    char *at = store_index_arena_alloc(a, len, 65536);
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
int store_index_keys_reserve(struct keys *k, size_t n)
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
    store_index_huge_pages(slot, cap * sizeof *slot);
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
struct list *store_index_list_of_hashed(struct store_index *ix, const char *key, uint32_t hash,
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
        if (store_index_keys_reserve(k, k->n + 1) < 0) {
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
    return store_index_list_of_hashed(ix, key, hash_of(key), make, ret_r);
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
void store_index_child_keys(const char *const col[COLUMNS], struct sdat_blocking_keys *keys,
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

int store_index_count_add(struct store_index *ix, bool family, const char *name, int64_t delta,
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
        if (!copy || store_index_map_add(m, copy, hash, ix->n_counts) < 0) {
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
int store_index_child_slot_new(struct store_index *ix, uint32_t *ret_slot)
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
    } else if (store_index_child_slot_new(ix, &slot) < 0) {
        block_free(block);
        return -ENOMEM;
    }
    ix->children[slot] = (struct index_child){.block = block,
                                              .rowid = rowid,
                                              .id_prefix = id_prefix(block + 2),
                                              .size = (uint32_t)block_size(block)};
    const char *col[COLUMNS];
    block_columns(block, col);
    if (store_index_map_add(&ix->by_id, col[0], hash_of(col[0]), slot) < 0) {
        ix->children[slot].block = NULL;
        block_free(block);
        return -ENOMEM;
    }
    struct sdat_blocking_keys keys;
    char ids[2][SDAT_BLOCKING_KEY_LEN];
    size_t n_ids;
    store_index_child_keys(col, &keys, ids, &n_ids);
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
    store_index_child_keys(col, &keys, ids, &n_ids);
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
    if (st->index_views > 0 && st->index) {
        /* Workers read it until their views end: SQLite answers the
         * writer from now on, and the last view frees it. */
        store_index_free(st->detached);
        st->detached = st->index;
    } else {
        store_index_free(st->index);
    }
    st->index = NULL;
}

/* The index must not change under a worker's view: a register write while
 * one is open (none is made: the daemon applies register records between
 * batches) drops it, so that the workers' answers stay those of the state
 * they began with and the writer reads SQLite. */
static bool viewed(sdat_store_t *st)
{
    if (st->index && st->index_views > 0) {
        store_index_drop(st); /* sdatd's gauge and log say so */
        return true;
    }
    return false;
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
        r = store_index_count_add(ix, true, col[2], -1, st->in_txn);
    }
    if (r == 0 && col[1] && col[1][0]) {
        r = store_index_count_add(ix, false, col[1], -1, st->in_txn);
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
    if (!st->index || viewed(st) || outside_sqlite_txn(st)) {
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
    if (!st->index || viewed(st) || outside_sqlite_txn(st)) {
        return 0;
    }
    struct store_index *ix = st->index;
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
        r = store_index_count_add(ix, true, col[2], +1, st->in_txn);
    }
    if (r == 0 && col[1] && col[1][0]) {
        r = store_index_count_add(ix, false, col[1], +1, st->in_txn);
    }
    if (r < 0) {
        store_index_drop(st); /* out of memory: SQLite answers from now on */
    }
    return 0;
}
