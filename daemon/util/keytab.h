/* A configuration key table: how a group of libconfig settings maps onto a
 * struct (name, type, where it goes, default, range, reloadability and a
 * one-line description). The configuration's own table (config/) and each
 * connector's keys (outbox/connector.h) are written in it; the parser, the
 * -t checks and sdatd.conf(5) are driven by it. Types only: the parser is
 * config's. (Model: fluent-bit's config_map.) */
#ifndef SDAT_KEYTAB_H
#define SDAT_KEYTAB_H

#include <stddef.h>

enum sdat_key_type {
    SDAT_KEY_STRING,
    SDAT_KEY_BOOL,
    SDAT_KEY_INT,
    SDAT_KEY_NUMBER,
    SDAT_KEY_ENUM,     /* a string among names, stored as int */
    SDAT_KEY_STRV,     /* array of strings, stored as struct sdat_strv */
    SDAT_KEY_TIME,     /* "HH:MM", stored as minutes */
    SDAT_KEY_WEEKDAYS, /* array of mon..sun, stored as a bit mask */
    SDAT_KEY_TERMS,    /* list of [ "DATE", "DATE" ] */
    SDAT_KEY_DATES,    /* array of dates */
    SDAT_KEY_SHA256,   /* 64 hex digits */
    SDAT_KEY_ROLES,    /* array of role names, stored as a bit mask */
    SDAT_KEY_PROPS,    /* list of ( "name", "value" ) pairs */
    SDAT_KEY_GROUP,    /* a nested group */
    SDAT_KEY_LIST,     /* a list of groups */
};

enum {
    SDAT_KEY_REQUIRED = 1,
    SDAT_KEY_RESTART = 2,    /* restart-only: a changed value is logged and ignored on SIGHUP */
    SDAT_KEY_FILE = 4,       /* names a file that must exist (sdatd -t) */
    SDAT_KEY_SECRET = 8,     /* with SDAT_KEY_FILE: a secret, private to its owner */
    SDAT_KEY_CONNECTORS = 16 /* SDAT_KEY_LIST of recipients: each element also holds the keys
                                of its connector (struct sdat_key_table) */
};

/* An array of strings (SDAT_KEY_STRV). */
struct sdat_strv {
    char **v;
    size_t n;
};

struct sdat_key {
    const char *name; /* NULL ends a table */
    enum sdat_key_type type;
    size_t offset; /* where the value goes in the table's struct */
    unsigned flags;
    const char *def;              /* default as text, NULL: none (absent → NULL / 0) */
    double min, max;              /* SDAT_KEY_INT and SDAT_KEY_NUMBER */
    const char *const *names;     /* SDAT_KEY_ENUM */
    const struct sdat_key *sub;   /* SDAT_KEY_GROUP, SDAT_KEY_LIST */
    size_t elem_size;             /* SDAT_KEY_LIST */
    size_t count_offset;          /* LIST, TERMS, DATES, PROPS: where the count goes */
    size_t origins_offset;        /* LIST: where the element origins go (config's), or 0 */
    const char *description;
};

/* A connector's own keys: the struct they fill (size bytes, zeroed, then
 * the defaults and the values given) and the table. The configuration
 * keeps the filled struct with the recipient (sdat_recipient.connector_conf)
 * and frees what the table put into it. */
struct sdat_key_table {
    const char *connector; /* the connector's name, as recipients.[N].connector says it */
    const struct sdat_key *keys;
    size_t size;
};

/* Reports one problem with the key KEY of a table's group (a connector
 * recipient's "url"; NULL for the group as a whole): FORMAT and its
 * arguments say what is wrong ("must be an https:// URL"), a configuration
 * value quoted, a secret's contents never. The receiver places the problem
 * at that key's line (sdatd -t), so a checker reports every problem it
 * finds rather than stopping at the first. */
typedef void (*sdat_key_report_fn)(void *opaque, const char *key, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* A report (sdat_key_report_fn) that keeps the first problem reported as
 * "KEY: MESSAGE" (or "MESSAGE" for a NULL key) in err, and counts them all:
 * for a caller that wants one message, such as a connector's init. */
struct sdat_key_first {
    char *err;
    size_t errlen;
    int count;
};
void sdat_key_report_first(void *opaque, const char *key, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

/* Entries of a connector's table (scalar keys only), for struct TYPE. */
#define SDAT_KEY_S(NAME, TYPE, FIELD, FLAGS, DESC)                                              \
    {.name = (NAME), .type = SDAT_KEY_STRING, .offset = offsetof(TYPE, FIELD), .flags = (FLAGS), \
     .description = (DESC)}
#define SDAT_KEY_V(NAME, TYPE, FIELD, FLAGS, DESC)                                              \
    {.name = (NAME), .type = SDAT_KEY_STRV, .offset = offsetof(TYPE, FIELD), .flags = (FLAGS),   \
     .description = (DESC)}
#define SDAT_KEY_N(NAME, TYPE, FIELD, FLAGS, DEF, MIN, MAX, DESC)                               \
    {.name = (NAME), .type = SDAT_KEY_NUMBER, .offset = offsetof(TYPE, FIELD), .flags = (FLAGS), \
     .def = (DEF), .min = (MIN), .max = (MAX), .description = (DESC)}
#define SDAT_KEY_END {.name = NULL}
/* A connector's table: its name, struct TYPE and its keys. */
#define SDAT_KEY_TABLE(NAME, TYPE, KEYS) {.connector = (NAME), .keys = (KEYS), .size = sizeof(TYPE)}

#endif
