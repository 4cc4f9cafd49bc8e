/* Shared by config.c (the parser), config_table.c (the table),
 * config_check.c (the checks across keys), config_doc.c (the table written
 * out for people) and config_reload.c (restart-only keys on SIGHUP). */
#ifndef SDAT_CONFIG_INTERNAL_H
#define SDAT_CONFIG_INTERNAL_H

#include <libconfig.h>

#include "config.h"

enum config_type {
    T_STRING,
    T_BOOL,
    T_INT,
    T_NUMBER,
    T_ENUM,     /* a string among names, stored as int */
    T_STRV,     /* array of strings */
    T_TIME,     /* "HH:MM", stored as minutes */
    T_WEEKDAYS, /* array of mon..sun, stored as a bit mask */
    T_TERMS,    /* list of [ "DATE", "DATE" ] */
    T_DATES,    /* array of dates */
    T_SHA256,   /* 64 hex digits */
    T_ROLES,    /* array of role names, stored as a bit mask */
    T_PROPS,    /* list of ( "name", "value" ) pairs */
    T_GROUP,    /* a nested group */
    T_LIST,     /* a list of groups */
};

enum {
    F_REQUIRED = 1,
    F_RESTART = 2, /* restart-only: a changed value is logged and ignored on SIGHUP */
};

struct key {
    const char *name;
    enum config_type type;
    size_t offset;
    unsigned flags;
    const char *def; /* default as text, NULL: none (absent → NULL / 0) */
    double min, max; /* for T_INT and T_NUMBER */
    const char *const *names; /* T_ENUM */
    const struct key *sub;    /* T_GROUP, T_LIST */
    size_t elem_size;         /* T_LIST */
    size_t count_offset;      /* T_LIST, T_TERMS, T_DATES, T_PROPS: where the count goes */
    size_t origins_offset;    /* T_LIST: where the element origins go, or 0 */
    const char *description;
};

/* The root of the table (config_table.c). */
extern const struct key config_root_keys[];

/* out = a, sep, b; a path too long for out is cut, never overflowed. */
void config_path_join(char *out, size_t outlen, const char *a, const char *sep, const char *b);
/* What a value of type t must be, as the diagnostics and the docs say it. */
const char *config_type_name(enum config_type t);

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
char *config_expand_credentials(const char *path);

#endif
