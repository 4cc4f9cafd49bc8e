/* The configuration table written out for people: the Markdown key
 * reference and the key list of sdatd.conf(5) (tools/gen-conf-man), both
 * from config_root_keys so that neither can drift from what the parser
 * accepts. */
#include <stdio.h>
#include <string.h>

#include "config_internal.h"

static void write_keys(FILE *out, const struct sdat_key *keys, const char *path)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        char kpath[256];
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == SDAT_KEY_GROUP || k->type == SDAT_KEY_LIST) {
            fprintf(out, "\n### `%s%s`\n\n%s.\n\n", kpath, k->type == SDAT_KEY_LIST ? ".[N]" : "",
                     k->description);
            char sub[256];
            config_path_join(sub, sizeof sub, kpath, k->type == SDAT_KEY_LIST ? ".[N]" : "", "");
            write_keys(out, k->sub, sub);
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

void sdat_config_write_reference(FILE *out)
{
    fprintf(out, "# sdatd.conf keys\n\nGenerated from the configuration table (daemon/config_table.c).\n\n");
    write_keys(out, config_root_keys, "");
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
static void write_man_keys(FILE *out, const struct sdat_key *keys, const char *path)
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
            fprintf(out, "A group { \\[u2026] }%s: ", k->flags & SDAT_KEY_REQUIRED ? "; required" : "");
        }
        man_text(out, k->description);
        fputs(".\n", out);
        write_man_keys(out, k->sub, kpath);
    }
}

void sdat_config_write_man(FILE *out)
{
    fputs(".\\\" Generated from the configuration table (daemon/config_table.c) by\n"
          ".\\\" sdat_config_write_man; edit the table, not this text.\n"
          ".SS \"Top\\-level keys\"\n",
          out);
    write_man_keys(out, config_root_keys, "");
}
