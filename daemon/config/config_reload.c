/* SIGHUP's view of the configuration table: which restart-only keys a new
 * file changed (logged and ignored), and carrying their running values over
 * into the new configuration. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Compares the restart-only scalar keys of two parsed groups. */
static void diff_group(const struct sdat_key *keys, const char *a, const char *b, const char *path,
                       struct diag *d)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        char kpath[256];
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == SDAT_KEY_GROUP) {
            diff_group(k->sub, a, b, kpath, d);
            continue;
        }
        if (!(k->flags & SDAT_KEY_RESTART)) {
            continue;
        }
        bool differs = false;
        switch (k->type) {
        case SDAT_KEY_STRING:
            differs = str_differs(*(char *const *)(a + k->offset), *(char *const *)(b + k->offset));
            break;
        case SDAT_KEY_BOOL:
            differs = *(const bool *)(a + k->offset) != *(const bool *)(b + k->offset);
            break;
        case SDAT_KEY_INT:
        case SDAT_KEY_ENUM:
            differs = *(const int *)(a + k->offset) != *(const int *)(b + k->offset);
            break;
        case SDAT_KEY_PROPS: {
            size_t na = *(const size_t *)(a + k->count_offset);
            size_t nb = *(const size_t *)(b + k->count_offset);
            const struct sdat_kafka_property *pa =
                *(struct sdat_kafka_property *const *)(a + k->offset);
            const struct sdat_kafka_property *pb =
                *(struct sdat_kafka_property *const *)(b + k->offset);
            differs = na != nb;
            for (size_t i = 0; !differs && i < na; i++) {
                differs = strcmp(pa[i].name, pb[i].name) != 0 ||
                          strcmp(pa[i].value, pb[i].value) != 0;
            }
            break;
        }
        default:
            break;
        }
        if (differs) {
            char line[320];
            snprintf(line, sizeof line, "%s: changed; restart-only, ignoring\n", kpath);
            char *grown = realloc(d->text, d->len + strlen(line) + 1);
            if (grown) {
                memcpy(grown + d->len, line, strlen(line) + 1);
                d->text = grown;
                d->len += strlen(line);
            }
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
    struct diag d = {0};
    diff_group(config_root_keys, (const char *)old_cfg, (const char *)new_cfg, "", &d);
    return d.text;
}
