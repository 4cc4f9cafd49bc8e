/* The register index's answer to a match query: the same candidate rows,
 * in the same order and under the same limit, as SQLite's
 * (sdat_store_register_candidates_sql); see store_index.c. */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"
#include "store_index_internal.h"

/* The list of key, or NULL. */
static const struct list *list_find(const struct store_index *ix, const char *key)
{
    bool found = false;
    size_t at = ix->by_key.cap ? keys_probe(ix, key, hash_of(key), &found) : 0;
    return found ? &ix->lists[ix->by_key.slot[at].list - 1] : NULL;
}

static int64_t count_of(const struct store_index *ix, bool family, const char *name)
{
    const struct map *m = family ? &ix->family_names : &ix->given_names;
    if (!name[0]) {
        return 1;
    }
    long at = map_find(m, name, hash_of(name));
    if (at < 0 || !ix->counts[m->slot[at].value].present) {
        return 1;
    }
    return ix->counts[m->slot[at].value].n;
}

static int by_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int by_number(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* A candidate being sorted by child_id: the prefix compared first, in
 * place, the whole child_id only when the prefixes are equal. */
struct sort_entry {
    uint64_t id_prefix;
    uint32_t slot;
};

static int by_entry_id(const void *a, const void *b, void *opaque)
{
    const struct store_index *ix = opaque;
    const struct sort_entry *x = a, *y = b;
    if (x->id_prefix != y->id_prefix) {
        return x->id_prefix < y->id_prefix ? -1 : 1;
    }
    return strcmp(ix->children[x->slot].block + 2, ix->children[y->slot].block + 2);
}

/* Slot orders (qsort_r; opaque is the index). */
static int by_child_id(const void *a, const void *b, void *opaque)
{
    const struct store_index *ix = opaque;
    return strcmp(ix->children[*(const uint32_t *)a].block + 2,
                  ix->children[*(const uint32_t *)b].block + 2);
}

static int by_rowid(const void *a, const void *b, void *opaque)
{
    const struct store_index *ix = opaque;
    int64_t x = ix->children[*(const uint32_t *)a].rowid;
    int64_t y = ix->children[*(const uint32_t *)b].rowid;
    return (x > y) - (x < y);
}

/* Appends up to max - *n of list's slots to out, in the order SQLite reads
 * them (cmp), or in any order when none are left out. */
static void take(const struct store_index *ix, const struct list *l,
                 int (*cmp)(const void *, const void *, void *), bool ordered, uint32_t *out,
                 size_t *n, size_t max)
{
    if (!l || *n >= max) {
        return;
    }
    const uint32_t *slots = l->cap <= 2 ? l->u.inline_slots : l->u.slots;
    size_t k = l->n < max - *n ? l->n : max - *n;
    if (!ordered) {
        memcpy(out + *n, slots, k * sizeof *out);
        *n += k;
        return;
    }
    uint32_t *sorted = out + *n;
    /* out has room for max entries only: sort in place when they fit. */
    if (l->n <= max - *n) {
        memcpy(sorted, slots, l->n * sizeof *out);
        qsort_r(sorted, l->n, sizeof *out, cmp, (void *)ix);
        *n += l->n;
        return;
    }
    uint32_t *all = malloc(l->n * sizeof *all);
    if (!all) {
        return; /* caught by the caller: fewer than max */
    }
    memcpy(all, slots, l->n * sizeof *all);
    qsort_r(all, l->n, sizeof *all, cmp, (void *)ix);
    memcpy(sorted, all, k * sizeof *out);
    free(all);
    *n += k;
}

int store_index_candidates(const struct store_index *ix, const struct sdat_match_query *q,
                           const struct sdat_blocking_keys *keys,
                           struct sdat_register_row **ret_rows, size_t *ret_n)
{
    /* SQLite reads the IN list's keys in ascending order, each block in
     * child_keys' primary-key order (child_id), then the NHS number's and
     * the UPN's rows in their index's order (rowid), and stops after
     * STORE_CANDIDATES_MAX rows. */
    const char *sorted_keys[SDAT_BLOCKING_MAX_KEYS];
    const struct list *lists[SDAT_BLOCKING_MAX_KEYS + 2];
    size_t n_lists = 0, total = 0;
    for (size_t i = 0; i < keys->n; i++) {
        sorted_keys[i] = keys->key[i];
    }
    qsort(sorted_keys, keys->n, sizeof *sorted_keys, by_key);
    for (size_t i = 0; i < keys->n; i++) {
        lists[n_lists++] = list_find(ix, sorted_keys[i]);
    }
    char id_key[SDAT_BLOCKING_KEY_LEN];
    const struct list *nhs = NULL, *upn = NULL;
    if (q->nhs_number[0]) {
        snprintf(id_key, sizeof id_key, "N:%s", q->nhs_number);
        nhs = list_find(ix, id_key);
    }
    if (q->upn[0]) {
        snprintf(id_key, sizeof id_key, "U:%s", q->upn);
        upn = list_find(ix, id_key);
    }
    for (size_t i = 0; i < n_lists; i++) {
        total += lists[i] ? lists[i]->n : 0;
    }
    total += (nhs ? nhs->n : 0) + (upn ? upn->n : 0);
    size_t max = STORE_CANDIDATES_MAX, expected = total < max ? total : max, n = 0;
    bool ordered = total > max;
    uint32_t *slots = malloc((expected ? expected : 1) * sizeof *slots);
    if (!slots) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < n_lists; i++) {
        take(ix, lists[i], by_child_id, ordered, slots, &n, max);
    }
    take(ix, nhs, by_rowid, ordered, slots, &n, max);
    take(ix, upn, by_rowid, ordered, slots, &n, max);
    if (n != expected) {
        free(slots);
        return -ENOMEM;
    }
    /* A child found under several keys is one row (one slot), and the
     * rows are in child_id order. */
    qsort(slots, n, sizeof *slots, by_number);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (kept == 0 || slots[i] != slots[kept - 1]) {
            slots[kept++] = slots[i];
        }
    }
    struct sort_entry *order = malloc((kept ? kept : 1) * sizeof *order);
    if (!order) {
        free(slots);
        return -ENOMEM;
    }
    for (size_t i = 0; i < kept; i++) {
        order[i] =
            (struct sort_entry){.id_prefix = ix->children[slots[i]].id_prefix, .slot = slots[i]};
    }
    qsort_r(order, kept, sizeof *order, by_entry_id, (void *)ix);
    for (size_t i = 0; i < kept; i++) {
        slots[i] = order[i].slot;
    }
    free(order);
    struct sdat_register_row *rows = calloc(kept ? kept : 1, sizeof *rows);
    int64_t family_count = count_of(ix, true, q->family);
    int64_t given_count = count_of(ix, false, q->given);
    size_t made = 0;
    for (; rows && made < kept; made++) {
        const char *block = ix->children[slots[made]].block;
        size_t size = ix->children[slots[made]].size - 2;
        char *copy = malloc(size);
        if (!copy) {
            break;
        }
        memcpy(copy, block + 2, size);
        /* The copy is the block without its mask: the same columns. */
        unsigned mask = (unsigned char)block[0] | (unsigned)(unsigned char)block[1] << 8;
        const char **field[COLUMNS] = {&rows[made].child_id,     &rows[made].given,
                                       &rows[made].family,       &rows[made].other_given,
                                       &rows[made].other_family, &rows[made].dob,
                                       &rows[made].postcode,     &rows[made].uprn,
                                       &rows[made].nhs_number,   &rows[made].upn};
        const char *at = copy;
        for (int i = 0; i < COLUMNS; i++) {
            *field[i] = NULL;
            if (mask & (1u << i)) {
                *field[i] = at;
                at += strlen(at) + 1;
            }
        }
        rows[made].family_count = family_count;
        rows[made].given_count = given_count;
    }
    free(slots);
    if (!rows || made < kept) {
        sdat_store_rows_free(rows, made);
        return -ENOMEM;
    }
    *ret_rows = rows;
    *ret_n = kept;
    return 0;
}

int sdat_store_register_view_begin(sdat_store_t *st, struct sdat_register_view *ret)
{
    int64_t size = 0;
    if (!st->index || sdat_store_child_count(st, &size) < 0) {
        return -ENOENT;
    }
    st->index_views++;
    *ret = (struct sdat_register_view){.index = st->index, .size = size};
    return 0;
}

void sdat_store_register_view_end(sdat_store_t *st)
{
    if (st->index_views > 0 && --st->index_views == 0 && st->detached) {
        store_index_free(st->detached);
        st->detached = NULL;
    }
}

int sdat_register_view_candidates(const struct sdat_register_view *v,
                                  const struct sdat_match_query *q,
                                  struct sdat_register_row **ret_rows, size_t *ret_n)
{
    struct sdat_blocking_keys keys;
    sdat_blocking_query(q, &keys);
    return store_index_candidates(v->index, q, &keys, ret_rows, ret_n);
}
