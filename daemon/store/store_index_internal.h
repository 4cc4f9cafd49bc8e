/* The register index's tables (store_index_load.c builds them at start,
 * store_index.c keeps them, store_index_query.c answers from them): private
 * to the store. */
#ifndef SDAT_STORE_INDEX_INTERNAL_H
#define SDAT_STORE_INDEX_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "decide/decide.h"

#define COLUMNS 10
#define NO_SLOT UINT32_MAX
/* Set in a block's second mask byte (above the ten columns' bits) when the
 * block lies in the load's arena: freed with the index, not alone. */
#define BLOCK_LOADED 0x80

/* An open-addressing (linear probing) table of strings it does not own. */
struct map {
    struct map_slot {
        const char *key; /* NULL: empty */
        uint32_t hash, value;
    } * slot;
    size_t cap, n; /* cap a power of two */
};

/* A key's children, with the key itself: the table of keys holds only
 * hashes and list numbers, so that finding a key touches its list and
 * nothing else. */
struct list {
    uint32_t n, cap;
    union {
        uint32_t inline_slots[2]; /* cap <= 2 */
        uint32_t *slots;
    } u;
    union {
        char text[24]; /* a key shorter than 24 bytes (every key sdat makes) */
        struct {
            char none; /* '\0': the key is far */
            const char *far;
        } ref;
    } key;
};

/* The table of keys: open addressing over struct key_slot. */
struct keys {
    struct key_slot {
        uint32_t hash;
        uint32_t list; /* its number + 1; 0: empty */
    } * slot;
    size_t cap, n;
};

struct count {
    int64_t n;
    bool present; /* a row of family_names / given_names */
};

enum undo_op { UNDO_ADDED, UNDO_REMOVED, UNDO_COUNT_CREATED, UNDO_COUNT_ADDED, UNDO_FAILED };

struct undo {
    enum undo_op op;
    uint32_t index; /* ADDED: the slot; COUNT_*: the count */
    int64_t value;  /* REMOVED: the rowid; COUNT_ADDED: the delta */
    char *block;    /* REMOVED: the child, owned until commit or rollback */
    bool family;    /* COUNT_*: which table */
};

/* Memory handed out in pieces and freed all at once. */
struct arena {
    struct arena_chunk {
        struct arena_chunk *next;
        size_t used, cap;
        char text[];
    } * head;
};

struct store_index {
    struct index_child {
        char *block; /* NULL: a free slot */
        int64_t rowid;
        uint64_t id_prefix; /* child_id's first 8 bytes, big-endian: sorts as strcmp */
        uint32_t size;      /* the block's */
    } * children;
    uint32_t n_children, cap_children;
    uint32_t *free_slots;
    uint32_t n_free, cap_free;
    struct map by_id, family_names, given_names;
    struct keys by_key;
    struct list *lists;
    uint32_t n_lists, cap_lists;
    struct count *counts;
    uint32_t n_counts, cap_counts;
    struct arena arena;  /* key and name strings: never freed one by one */
    struct arena blocks; /* the loaded children's blocks (BLOCK_LOADED) */
    uint32_t *pool;      /* the loaded lists' slots (above two), in one piece */
    size_t n_pool;
    struct undo *journal;
    size_t n_journal, cap_journal;
    size_t failed;  /* UNDO_FAILED entries in the journal */
    bool broken;    /* an undo ran out of memory */
    int64_t n_keys; /* (key, child) pairs listed: the rows of child_keys */
};

static inline uint32_t hash_of(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++) {
        h = (h ^ (unsigned char)*s) * 16777619u;
    }
    return h ^ (h >> 15);
}

/* The slot of key, or the empty slot where it would go (*ret_found false);
 * cap must be non-zero. */
static inline size_t map_probe(const struct map *m, const char *key, uint32_t hash, bool *ret_found)
{
    size_t mask = m->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        if (!m->slot[i].key) {
            *ret_found = false;
            return i;
        }
        if (m->slot[i].hash == hash && strcmp(m->slot[i].key, key) == 0) {
            *ret_found = true;
            return i;
        }
    }
}

static inline long map_find(const struct map *m, const char *key, uint32_t hash)
{
    bool found = false;
    size_t i = m->cap ? map_probe(m, key, hash, &found) : 0;
    return found ? (long)i : -1;
}

static inline const char *list_key(const struct list *l)
{
    return l->key.text[0] ? l->key.text : l->key.ref.far;
}

/* The slot of key in the table of keys, or the empty one where it would go
 * (*ret_found false); cap must be non-zero. */
static inline size_t keys_probe(const struct store_index *ix, const char *key, uint32_t hash,
                                bool *ret_found)
{
    const struct keys *k = &ix->by_key;
    size_t mask = k->cap - 1;
    for (size_t i = hash & mask;; i = (i + 1) & mask) {
        if (k->slot[i].list == 0) {
            *ret_found = false;
            return i;
        }
        if (k->slot[i].hash == hash &&
            strcmp(list_key(&ix->lists[k->slot[i].list - 1]), key) == 0) {
            *ret_found = true;
            return i;
        }
    }
}

static inline uint32_t *list_slots(struct list *l)
{
    return l->cap <= 2 ? l->u.inline_slots : l->u.slots;
}

/* The blocks: a presence mask of the ten columns (two bytes), then the
 * present columns, NUL-terminated, child_id first. */

/* A child's columns from its block, in row order (NULL when absent). */
static inline void block_columns(const char *block, const char *ret[COLUMNS])
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

static inline uint64_t id_prefix(const char *id)
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
static inline size_t block_layout(const char *const col[COLUMNS], size_t ret_len[COLUMNS])
{
    size_t size = 2;
    for (int i = 0; i < COLUMNS; i++) {
        ret_len[i] = col[i] ? strlen(col[i]) + 1 : 0;
        size += ret_len[i];
    }
    return size;
}

static inline void block_fill(char *block, const char *const col[COLUMNS],
                              const size_t len[COLUMNS], unsigned flags)
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

/* Shared by store_index.c, which keeps the index, and store_index_load.c,
 * which builds it at start. */
void store_index_huge_pages(void *p, size_t size);
int store_index_map_reserve(struct map *m, size_t n);
int store_index_keys_reserve(struct keys *k, size_t n);
int store_index_map_add(struct map *m, const char *key, uint32_t hash, uint32_t value);
char *store_index_arena_alloc(struct arena *a, size_t size, size_t chunk);
void store_index_child_keys(const char *const col[COLUMNS], struct sdat_blocking_keys *keys,
                            char ids[2][SDAT_BLOCKING_KEY_LEN], size_t *ret_n_ids);
int store_index_child_slot_new(struct store_index *ix, uint32_t *ret_slot);
struct list *store_index_list_of_hashed(struct store_index *ix, const char *key, uint32_t hash,
                                        bool make, int *ret_r);
int store_index_count_add(struct store_index *ix, bool family, const char *name, int64_t delta,
                          bool journalled);

#endif
