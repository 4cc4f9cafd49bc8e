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
};

void diag_add(struct diag *d, const char *file, int line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Where each list element and group was defined, for the cross-key checks. */
struct origin {
    const char *file;
    int line;
};

struct config_origins {
    struct origin root;
    struct origin *calendars, *areas, *forces, *recipients, *tokens;
    struct origin matching, kafka;
};

int32_t config_date(const char *s, bool *ok);
void config_check(const struct sdat_config *cfg, const struct config_origins *o,
                  struct diag *d);

#endif
