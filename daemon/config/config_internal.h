/* Shared by config.c (the parser), config_table.c (the table),
 * config_check.c (the checks across keys), config_doc.c (the table written
 * out for people) and config_reload.c (restart-only keys on SIGHUP). */
#ifndef SDAT_CONFIG_INTERNAL_H
#define SDAT_CONFIG_INTERNAL_H

#include <libconfig.h>

#include "config.h"

/* The root of the table (config_table.c). */
extern const struct sdat_key config_root_keys[];

/* The key of the table named name, or NULL. */
const struct sdat_key *config_key_find(const struct sdat_key *keys, const char *name);
/* out = a, sep, b; a path too long for out is cut, never overflowed. */
void config_path_join(char *out, size_t outlen, const char *a, const char *sep, const char *b);
/* What a value of type t must be, as the diagnostics and the docs say it. */
const char *config_type_name(enum sdat_key_type t);

struct diag {
    char *text;
    size_t len;
    int count;
    bool files; /* config_check: check and read the files named (false for a reader) */
};

void diag_add(struct diag *d, const char *file, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Where each list element and key was defined, for the cross-key checks. */
struct origin {
    const char *file;
    int line;
};

/* Where one key given in the file was, by its path ("http.ack_key_file",
 * "recipients.[3]", "recipients.[3].url"), and whether its value was read
 * without a problem. */
struct key_origin {
    char *path;
    struct origin at;
    bool ok;
};

struct config_origins {
    struct origin root;
    struct origin *calendars, *areas, *forces, *recipients, *tokens;
    struct key_origin *keys;   /* every key and list element given, sorted by path */
    size_t n_keys, cap_keys;
};

/* Records where the key at path was given (config_parse_group does). */
void config_origin_record(struct config_origins *o, const char *path, const char *file, int line,
                          bool ok);
/* Sorts the recorded keys for the lookups below; once, after parsing. */
void config_origins_index(struct config_origins *o);
/* Where the key at path was given: its own line, else its nearest enclosing
 * group or list element that was given ("recipients.[3]" for a missing
 * "recipients.[3].urn"), else the root (line 1). */
struct origin config_origin_of(const struct config_origins *o, const char *path);
/* Whether the key at path was given and read without a problem. */
bool config_key_ok(const struct config_origins *o, const char *path);



/* One loading of a file (config.c), as the parser (config_parse.c) needs it. */
struct parse {
    struct diag *d;
    struct config_origins *origins;
    const char *main_file;
    const char *include_dir; /* NULL when the main file has no directory part */
    char *names[64];         /* included files' paths, owned, freed after loading */
    size_t n_names;
    const struct sdat_key_table *const *connectors; /* NULL-terminated; may be NULL */
};

/* strdup that aborts when out of memory: configuration is loaded at start
 * and reload only. */
char *config_strdup(const char *s);
/* The file a setting came from (an @include'd one by its path relative to
 * the main file's directory) and its line (1 when unknown). */
const char *config_file_of(struct parse *p, const config_setting_t *s);
int config_line_of(const config_setting_t *s);
/* Parses group (NULL: defaults only) with the table keys into base; every
 * problem goes to p->d. */
void config_parse_group(struct parse *p, const struct sdat_key *keys,
                        const config_setting_t *group, char *base, const char *path);

int32_t config_date(const char *s, bool *ok);
/* Every check across keys, on a configuration as parsed, problems or not:
 * each reported at the line of the key it concerns. */
void config_check(const struct sdat_config *cfg, const struct config_origins *o,
                  sdat_recipient_check_fn recipient_check, bool files, struct diag *d);

#endif
