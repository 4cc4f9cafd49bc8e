/* gen-conf-man: writes sdatd.conf(5) from its hand-written head and tail
 * (man/sdatd.conf.5.in) and the key reference that sdat_config_write_man
 * generates from the configuration table, so that the page cannot drift
 * from what `sdatd -t` accepts.
 *
 *   gen-conf-man TEMPLATE   the page on standard output: TEMPLATE with its
 *                           marker line replaced by the key reference
 *   gen-conf-man --keys     one line per key "PATH<TAB>RELOAD<TAB>DEFAULT"
 *                           (RELOAD reloadable or restart-only, DEFAULT as
 *                           the table writes it, empty when none), walking
 *                           the table on its own, for the tests to compare
 *                           with the rendered page
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config_internal.h"
#include "outbox/outbox.h"

#define MARKER ".\\\" @CONFIG_KEYS@"

static void print_key(const struct sdat_key *k, const char *path)
{
    printf("%s%s%s\t%s\t%s\n", path, path[0] ? "." : "", k->name,
           k->flags & SDAT_KEY_RESTART ? "restart-only" : "reloadable", k->def ? k->def : "");
}

/* Each connector key once, whichever connectors share it. */
static void print_connector_keys(const char *path)
{
    const struct sdat_key_table *const *tables = sdat_connector_key_tables();
    for (size_t c = 0; tables[c]; c++) {
        for (const struct sdat_key *k = tables[c]->keys; k->name; k++) {
            bool earlier = false;
            for (size_t b = 0; b < c; b++) {
                earlier = earlier || config_key_find(tables[b]->keys, k->name) != NULL;
            }
            if (!earlier) {
                print_key(k, path);
            }
        }
    }
}

static void print_keys(const struct sdat_key *keys, const char *path)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        char kpath[256];
        snprintf(kpath, sizeof kpath, "%s%s%s%s", path, path[0] ? "." : "", k->name,
                 k->type == SDAT_KEY_LIST ? ".[N]" : "");
        if (k->type == SDAT_KEY_GROUP || k->type == SDAT_KEY_LIST) {
            print_keys(k->sub, kpath);
            if (k->flags & SDAT_KEY_CONNECTORS) {
                print_connector_keys(kpath);
            }
            continue;
        }
        print_key(k, path);
    }
}

static int write_page(const char *template_path)
{
    FILE *in = fopen(template_path, "re");
    if (!in) {
        perror(template_path);
        return 1;
    }
    char *line = NULL;
    size_t cap = 0;
    int markers = 0;
    while (getline(&line, &cap, in) >= 0) {
        if (strcmp(line, MARKER "\n") == 0) {
            sdat_config_write_man(stdout, sdat_connector_key_tables());
            markers++;
        } else {
            fputs(line, stdout);
        }
    }
    free(line);
    int failed = ferror(in);
    fclose(in);
    if (failed || markers != 1) {
        fprintf(stderr, "gen-conf-man: %s: %s\n", template_path,
                failed ? "read error" : "needs exactly one line " MARKER);
        return 1;
    }
    return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--keys") == 0) {
        print_keys(config_root_keys, "");
        return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
    }
    if (argc == 2 && argv[1][0] != '-') {
        return write_page(argv[1]);
    }
    fprintf(stderr, "usage: gen-conf-man TEMPLATE >PAGE\n       gen-conf-man --keys\n");
    return 2;
}
