/* SIGHUP's view of the configuration table: which keys a new file changed
 * (named, never their values), which of them are restart-only (logged and
 * ignored), and carrying the running values of those over into the new
 * configuration. One comparator over the key table serves both. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* At most this many names in the "changed:" list; the rest are counted. */
#define MAX_NAMED 32

enum diff_mode {
    DIFF_RELOADABLE,   /* every key that is not restart-only */
    DIFF_RESTART_ONLY, /* only the restart-only keys */
};

struct names {
    char *text;
    size_t len;
    size_t named, more, max;
    const char *sep; /* between names */
    const char *suffix; /* after each name */
};

static void names_add(struct names *n, const char *path)
{
    if (n->named == n->max) {
        n->more++;
        return;
    }
    char item[320];
    int len = snprintf(item, sizeof item, "%s%s%s", n->len ? n->sep : "", path, n->suffix);
    if (len < 0) {
        return;
    }
    size_t add = (size_t)len < sizeof item ? (size_t)len : sizeof item - 1;
    char *grown = realloc(n->text, n->len + add + 1);
    if (!grown) {
        return;
    }
    memcpy(grown + n->len, item, add + 1);
    n->text = grown;
    n->len += add;
    n->named++;
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

static bool strv_differs(const struct sdat_strv *a, const struct sdat_strv *b)
{
    if (a->n != b->n) {
        return true;
    }
    for (size_t i = 0; i < a->n; i++) {
        if (str_differs(a->v[i], b->v[i])) {
            return true;
        }
    }
    return false;
}

static bool group_differs(const struct sdat_key *keys, const char *a, const char *b);

/* A list element: its keys, and for a recipient its connector's keys. */
static bool element_differs(const struct sdat_key *k, const char *a, const char *b)
{
    if (group_differs(k->sub, a, b)) {
        return true;
    }
    if (!(k->flags & SDAT_KEY_CONNECTORS)) {
        return false;
    }
    const struct sdat_recipient *ra = (const struct sdat_recipient *)a;
    const struct sdat_recipient *rb = (const struct sdat_recipient *)b;
    if (ra->connector_keys != rb->connector_keys) {
        return true;
    }
    return ra->connector_keys &&
           group_differs(ra->connector_keys->keys, ra->connector_conf, rb->connector_conf);
}

/* Whether the value of key k (not a group or list) differs between the
 * structs a and b. */
static bool value_differs(const struct sdat_key *k, const char *a, const char *b)
{
    const void *va = a + k->offset, *vb = b + k->offset;
    size_t na = k->count_offset ? *(const size_t *)(a + k->count_offset) : 0;
    size_t nb = k->count_offset ? *(const size_t *)(b + k->count_offset) : 0;
    switch (k->type) {
    case SDAT_KEY_STRING:
        return str_differs(*(char *const *)va, *(char *const *)vb);
    case SDAT_KEY_BOOL:
        return *(const bool *)va != *(const bool *)vb;
    case SDAT_KEY_INT:
    case SDAT_KEY_ENUM:
    case SDAT_KEY_TIME:
        return *(const int *)va != *(const int *)vb;
    case SDAT_KEY_WEEKDAYS:
    case SDAT_KEY_ROLES:
        return *(const unsigned *)va != *(const unsigned *)vb;
    case SDAT_KEY_NUMBER:
        return *(const double *)va != *(const double *)vb;
    case SDAT_KEY_STRV:
        return strv_differs(va, vb);
    case SDAT_KEY_SHA256:
        return memcmp(va, vb, 32) != 0;
    case SDAT_KEY_TERMS: {
        const struct sdat_date_range *ta = *(struct sdat_date_range *const *)va;
        const struct sdat_date_range *tb = *(struct sdat_date_range *const *)vb;
        for (size_t i = 0; na == nb && i < na; i++) {
            if (ta[i].first != tb[i].first || ta[i].last != tb[i].last) {
                return true;
            }
        }
        return na != nb;
    }
    case SDAT_KEY_DATES: {
        const int32_t *da = *(int32_t *const *)va, *db = *(int32_t *const *)vb;
        return na != nb || (na > 0 && memcmp(da, db, na * sizeof *da) != 0);
    }
    case SDAT_KEY_PROPS: {
        const struct sdat_kafka_property *pa = *(struct sdat_kafka_property *const *)va;
        const struct sdat_kafka_property *pb = *(struct sdat_kafka_property *const *)vb;
        for (size_t i = 0; na == nb && i < na; i++) {
            /* A secret read from @file: is compared, never shown. */
            if (str_differs(pa[i].name, pb[i].name) || str_differs(pa[i].value, pb[i].value)) {
                return true;
            }
        }
        return na != nb;
    }
    case SDAT_KEY_GROUP:
        return group_differs(k->sub, a, b);
    case SDAT_KEY_LIST: {
        const char *ea = *(char *const *)va, *eb = *(char *const *)vb;
        for (size_t i = 0; na == nb && i < na; i++) {
            if (element_differs(k, ea + i * k->elem_size, eb + i * k->elem_size)) {
                return true;
            }
        }
        return na != nb;
    }
    }
    return false;
}

static bool group_differs(const struct sdat_key *keys, const char *a, const char *b)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        if (value_differs(k, a, b)) {
            return true;
        }
    }
    return false;
}

/* Names the keys of the table that differ between a and b, as mode says:
 * a group by its keys, a list by its path when its count differs, else
 * each element that differs by its index. */
static void diff_group(const struct sdat_key *keys, const char *a, const char *b, const char *path,
                       enum diff_mode mode, struct names *out)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        char kpath[256];
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == SDAT_KEY_GROUP) {
            diff_group(k->sub, a, b, kpath, mode, out);
            continue;
        }
        if (((k->flags & SDAT_KEY_RESTART) != 0) != (mode == DIFF_RESTART_ONLY)) {
            continue;
        }
        if (k->type == SDAT_KEY_LIST && *(const size_t *)(a + k->count_offset) ==
                                            *(const size_t *)(b + k->count_offset)) {
            size_t n = *(const size_t *)(a + k->count_offset);
            const char *ea = *(char *const *)(a + k->offset), *eb = *(char *const *)(b + k->offset);
            for (size_t i = 0; i < n; i++) {
                if (element_differs(k, ea + i * k->elem_size, eb + i * k->elem_size)) {
                    char epath[288];
                    snprintf(epath, sizeof epath, "%s.[%zu]", kpath, i);
                    names_add(out, epath);
                }
            }
        } else if (value_differs(k, a, b)) {
            names_add(out, kpath);
        }
    }
}

/* Swaps the values of restart-only scalar keys between two parsed groups. */
static void swap_group(const struct sdat_key *keys, char *a, char *b)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        size_t size = 0;
        if (k->type == SDAT_KEY_GROUP) {
            swap_group(k->sub, a, b);
            continue;
        }
        if (!(k->flags & SDAT_KEY_RESTART)) {
            continue;
        }
        switch (k->type) {
        case SDAT_KEY_STRING:
        case SDAT_KEY_PROPS:
            size = sizeof(char *);
            break;
        case SDAT_KEY_BOOL:
            size = sizeof(bool);
            break;
        case SDAT_KEY_INT:
        case SDAT_KEY_ENUM:
            size = sizeof(int);
            break;
        default:
            continue; /* lists are reloadable */
        }
        char tmp[sizeof(char *)];
        memcpy(tmp, a + k->offset, size);
        memcpy(a + k->offset, b + k->offset, size);
        memcpy(b + k->offset, tmp, size);
        if (k->type == SDAT_KEY_PROPS) {
            size_t n = *(size_t *)(a + k->count_offset);
            *(size_t *)(a + k->count_offset) = *(size_t *)(b + k->count_offset);
            *(size_t *)(b + k->count_offset) = n;
        }
    }
}

void sdat_config_keep_restart_only(struct sdat_config *new_cfg, struct sdat_config *old_cfg)
{
    swap_group(config_root_keys, (char *)new_cfg, (char *)old_cfg);
}

char *sdat_config_restart_only_changes(const struct sdat_config *old_cfg,
                                       const struct sdat_config *new_cfg)
{
    struct names n = {.max = SIZE_MAX, .sep = "", .suffix = ": changed; restart-only, ignoring\n"};
    diff_group(config_root_keys, (const char *)old_cfg, (const char *)new_cfg, "",
               DIFF_RESTART_ONLY, &n);
    return n.text;
}

char *sdat_config_changed_keys(const struct sdat_config *old_cfg,
                               const struct sdat_config *new_cfg)
{
    struct names n = {.max = MAX_NAMED, .sep = ", ", .suffix = ""};
    diff_group(config_root_keys, (const char *)old_cfg, (const char *)new_cfg, "",
               DIFF_RELOADABLE, &n);
    if (n.more > 0) {
        char tail[64];
        snprintf(tail, sizeof tail, " and %zu more", n.more);
        char *grown = realloc(n.text, n.len + strlen(tail) + 1);
        if (grown) {
            memcpy(grown + n.len, tail, strlen(tail) + 1);
            n.text = grown;
        }
    }
    return n.text;
}
