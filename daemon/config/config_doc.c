/* The configuration table written out for people: the Markdown key
 * reference and the key list of sdatd.conf(5) (tools/gen-conf-man), both
 * from config_root_keys so that neither can drift from what the parser
 * accepts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

/* The connectors' keys as one table, for the list whose elements hold them
 * (SDAT_KEY_CONNECTORS): each name once, in the registry's order, its
 * description prefixed by the connectors that have it ("webhook: …; smtp:
 * …", or "webhook and smtp: …" where they say the same); type, default and
 * flags are the first connector's. */
struct merged {
    struct sdat_key *keys; /* ends with a NULL name */
    char **texts;          /* the descriptions, owned */
    size_t n;
};

static void merged_free(struct merged *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->texts[i]);
    }
    free(m->texts);
    free(m->keys);
}

static void text_add(char *text, size_t len, const char *s)
{
    strncat(text, s, len - strlen(text) - 1);
}

/* The description of key name across the connectors. */
static char *merged_text(const struct sdat_key_table *const *connectors, const char *name)
{
    char text[1024] = "";
    const char *done[16];
    size_t n_done = 0;
    for (size_t c = 0; connectors[c]; c++) {
        const struct sdat_key *k = config_key_find(connectors[c]->keys, name);
        bool seen = false;
        for (size_t i = 0; k && i < n_done; i++) {
            seen = seen || strcmp(done[i], k->description) == 0;
        }
        if (!k || seen || n_done == sizeof done / sizeof done[0]) {
            continue;
        }
        done[n_done++] = k->description;
        text_add(text, sizeof text, text[0] ? "; " : "");
        /* every connector with this very description, then it */
        size_t named = 0;
        for (size_t o = c; connectors[o]; o++) {
            const struct sdat_key *ko = config_key_find(connectors[o]->keys, name);
            if (ko && strcmp(ko->description, k->description) == 0) {
                text_add(text, sizeof text, named ? " and " : "");
                text_add(text, sizeof text, connectors[o]->connector);
                named++;
            }
        }
        text_add(text, sizeof text, ": ");
        text_add(text, sizeof text, k->description);
    }
    return strdup(text);
}

static int merge_connector_keys(const struct sdat_key_table *const *connectors, struct merged *m)
{
    size_t cap = 1;
    for (size_t c = 0; connectors && connectors[c]; c++) {
        for (const struct sdat_key *k = connectors[c]->keys; k->name; k++) {
            cap++;
        }
    }
    *m = (struct merged){calloc(cap, sizeof *m->keys), calloc(cap, sizeof *m->texts), 0};
    if (!m->keys || !m->texts) {
        merged_free(m);
        return -1;
    }
    for (size_t c = 0; connectors && connectors[c]; c++) {
        for (const struct sdat_key *k = connectors[c]->keys; k->name; k++) {
            bool seen = false;
            for (size_t i = 0; i < m->n; i++) {
                seen = seen || strcmp(m->keys[i].name, k->name) == 0;
            }
            if (seen) {
                continue;
            }
            m->texts[m->n] = merged_text(connectors, k->name);
            if (!m->texts[m->n]) {
                merged_free(m);
                return -1;
            }
            m->keys[m->n] = *k;
            m->keys[m->n].description = m->texts[m->n];
            m->n++;
        }
    }
    return 0;
}

static void write_keys(FILE *out, const struct sdat_key *keys, const struct merged *connector_keys,
                       const char *path)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        char kpath[256];
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == SDAT_KEY_GROUP || k->type == SDAT_KEY_LIST) {
            fprintf(out, "\n### `%s%s`\n\n%s.\n\n", kpath, k->type == SDAT_KEY_LIST ? ".[N]" : "",
                     k->description);
            char sub[256];
            config_path_join(sub, sizeof sub, kpath, k->type == SDAT_KEY_LIST ? ".[N]" : "", "");
            write_keys(out, k->sub, connector_keys, sub);
            if ((k->flags & SDAT_KEY_CONNECTORS) && connector_keys->n > 0) {
                write_keys(out, connector_keys->keys, connector_keys, sub);
            }
            continue;
        }
        fprintf(out, "- `%s` — %s", kpath, config_type_name(k->type));
        if (k->type == SDAT_KEY_INT || k->type == SDAT_KEY_NUMBER) {
            fprintf(out, ", %g to %g", k->min, k->max);
        }
        if (k->def) {
            fprintf(out, ", default `%s`", k->def);
        }
        fprintf(out, "%s%s. %s.\n", k->flags & SDAT_KEY_REQUIRED ? ", required" : "",
                k->flags & SDAT_KEY_RESTART ? ", restart-only" : ", reloadable", k->description);
    }
}

void sdat_config_write_reference(FILE *out, const struct sdat_key_table *const *connectors)
{
    struct merged connector_keys;
    if (merge_connector_keys(connectors, &connector_keys) < 0) {
        return;
    }
    fprintf(out, "# sdatd.conf keys\n\nGenerated from the configuration table "
                 "(daemon/config/config_table.c) and the connectors' key tables.\n\n");
    write_keys(out, config_root_keys, &connector_keys, "");
    merged_free(&connector_keys);
}

/* Writes s as troff text within a line: backslashes and minus signs
 * escaped, and every non-ASCII character as \[uXXXX], so that the page
 * renders the same whatever input encoding groff assumes. */
static void man_text(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        if (*p == '\\') {
            fputs("\\e", out);
        } else if (*p == '-') {
            fputs("\\-", out);
        } else if (*p < 0x80) {
            fputc(*p, out);
        } else {
            unsigned cp = 0;
            int more = *p >= 0xf0 ? 3 : *p >= 0xe0 ? 2 : *p >= 0xc0 ? 1 : 0;
            cp = *p & (0x3f >> more);
            for (int i = 0; i < more && (p[1] & 0xc0) == 0x80; i++) {
                cp = cp << 6 | (*++p & 0x3f);
            }
            fprintf(out, "\\[u%04X]", cp);
        }
        p++;
    }
}

/* A default as it is written in the file: strings quoted, weekdays as an
 * array. */
static void man_default(FILE *out, const struct sdat_key *k)
{
    switch (k->type) {
    case SDAT_KEY_STRING:
    case SDAT_KEY_ENUM:
    case SDAT_KEY_TIME:
        fputc('"', out);
        man_text(out, k->def);
        fputc('"', out);
        break;
    case SDAT_KEY_WEEKDAYS:
        fputs("[ ", out);
        for (const char *d = k->def; *d;) {
            size_t n = strcspn(d, ",");
            fprintf(out, "%s\"%.*s\"", d == k->def ? "" : ", ", (int)n, d);
            d += n + (d[n] == ',');
        }
        fputs(" ]", out);
        break;
    default:
        man_text(out, k->def);
        break;
    }
}

static void man_number(FILE *out, double v)
{
    char num[64];
    snprintf(num, sizeof num, "%.15g", v);
    man_text(out, num);
}

/* One .SS per group or list, its own keys first and then its nested groups
 * and lists, so that a key never lands under a nested heading. */
static void write_man_keys(FILE *out, const struct sdat_key *keys,
                           const struct merged *connector_keys,
                           const char *path)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        if (k->type == SDAT_KEY_GROUP || k->type == SDAT_KEY_LIST) {
            continue;
        }
        char kpath[256];
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        fputs(".TP\n\\fB", out);
        man_text(out, kpath);
        fputs("\\fR", out);
        if (k->def) {
            fputs(" = ", out);
            man_default(out, k);
        }
        const char *type = config_type_name(k->type);
        fprintf(out, "\n%c%s", type[0] == 'a' ? 'A' : type[0], type + 1);
        if (k->type == SDAT_KEY_INT || k->type == SDAT_KEY_NUMBER) {
            fputs(" from ", out);
            man_number(out, k->min);
            fputs(" to ", out);
            man_number(out, k->max);
        }
        if (k->type == SDAT_KEY_ENUM) {
            fputs(", one of", out);
            for (const char *const *n = k->names; *n; n++) {
                fprintf(out, "%s %s", n == k->names ? "" : ",", *n);
            }
        }
        fprintf(out, "%s; %s: ", k->flags & SDAT_KEY_REQUIRED ? "; required" : "",
                k->flags & SDAT_KEY_RESTART ? "restart\\-only" : "reloadable");
        man_text(out, k->description);
        fputs(".\n", out);
    }
    for (const struct sdat_key *k = keys; k->name; k++) {
        if (k->type != SDAT_KEY_GROUP && k->type != SDAT_KEY_LIST) {
            continue;
        }
        char kpath[256];
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == SDAT_KEY_LIST) {
            strncat(kpath, ".[N]", sizeof kpath - strlen(kpath) - 1);
        }
        fputs(".SS \"", out);
        man_text(out, kpath);
        fputs("\"\n", out);
        if (k->type == SDAT_KEY_LIST) {
            fputs("A list ( { \\[u2026] }, \\[u2026] ) of groups with the keys below (N counts "
                  "from 0); reloadable: ", out);
        } else {
            fprintf(out, "A group { \\[u2026] }%s: ",
                    k->flags & SDAT_KEY_REQUIRED ? "; required" : "");
        }
        man_text(out, k->description);
        fputs(".\n", out);
        write_man_keys(out, k->sub, connector_keys, kpath);
        if ((k->flags & SDAT_KEY_CONNECTORS) && connector_keys->n > 0) {
            write_man_keys(out, connector_keys->keys, connector_keys, kpath);
        }
    }
}

void sdat_config_write_man(FILE *out, const struct sdat_key_table *const *connectors)
{
    struct merged connector_keys;
    if (merge_connector_keys(connectors, &connector_keys) < 0) {
        return;
    }
    fputs(".\\\" Generated from the configuration table (daemon/config/config_table.c)\n"
          ".\\\" and the connectors' key tables by\n"
          ".\\\" sdat_config_write_man; edit the table, not this text.\n"
          ".SS \"Top\\-level keys\"\n",
          out);
    write_man_keys(out, config_root_keys, &connector_keys, "");
    merged_free(&connector_keys);
}
