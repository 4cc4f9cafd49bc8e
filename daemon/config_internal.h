/* Shared by config.c (the table and the parser) and config_check.c (the
 * checks across keys). */
#ifndef SDAT_CONFIG_INTERNAL_H
#define SDAT_CONFIG_INTERNAL_H

#include <libconfig.h>

#include "config.h"

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

void config_check(const struct sdat_config *cfg, const struct config_origins *o,
                  struct diag *d);
char *config_expand_credentials(const char *path);

#endif
