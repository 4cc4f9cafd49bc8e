/* The unit tests' store fixture: a temporary state directory, files written
 * into it, the configuration loaded from it and the engine's parts (a
 * writer store, the schemas, an audit appender) opened over it as sdatd
 * opens them. Every helper fails the test at once, saying what went wrong.
 *
 * Header-only, and every function static inline: each tests/unit/test_*.c
 * is a program of its own (the Makefile builds them one by one), so there
 * is no shared object to link, and a program that does not use a helper is
 * not warned about it. */
#ifndef SDAT_TESTS_FIXTURE_H
#define SDAT_TESTS_FIXTURE_H

#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "decide/decide.h"
#include "engine/engine.h"
#include "outbox/outbox.h"
#include "store/store.h"
#include "util/util.h"

/* Makes a new directory /tmp/sdat-test-NAME-XXXXXX; its path in dir. */
static inline void fixture_dir_make(char *dir, size_t size, const char *name)
{
    snprintf(dir, size, "/tmp/sdat-test-%s-XXXXXX", name);
    cr_assert_not_null(mkdtemp(dir));
}

/* Removes dir and everything in it. */
static inline void fixture_dir_remove(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

/* Writes dir/name from a printf format, so that a configuration can name
 * the directory it lives in (each %s of the format is usually dir). */
static inline void fixture_write(const char *dir, const char *name, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static inline void fixture_write(const char *dir, const char *name, const char *format, ...)
{
    char path[128];
    va_list ap;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "%s", path);
    va_start(ap, format);
    vfprintf(f, format, ap);
    va_end(ap);
    fclose(f);
}

/* Loads dir/sdatd.conf with every connector's keys, as sdatd -c does. The
 * caller frees the configuration (sdat_config_free). */
static inline struct sdat_config *fixture_config_load(const char *dir)
{
    char path[128], *errors = NULL;
    struct sdat_config *cfg = NULL;
    snprintf(path, sizeof path, "%s/sdatd.conf", dir);
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s",
                 errors ? errors : "");
    return cfg;
}

/* The writer store in dir (sdat_store_close). */
static inline sdat_store_t *fixture_store_open(const char *dir)
{
    char err[256];
    sdat_store_t *st = NULL;
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    return st;
}

/* Opens the engine's parts over dir as sdatd does: the configuration in
 * dir/sdatd.conf, the writer store, the schemas and an audit appender of
 * instance "test". Returns the engine that borrows them; the caller owns
 * the parts and closes them with fixture_close. */
static inline struct sdat_engine fixture_engine_open(const char *dir, struct sdat_config **ret_cfg,
                                                     sdat_store_t **ret_st,
                                                     sdat_schemas_t **ret_schemas,
                                                     sdat_audit_t **ret_audit)
{
    char err[256];
    struct sdat_config *cfg = fixture_config_load(dir);
    sdat_store_t *st = fixture_store_open(dir);
    sdat_schemas_t *schemas = NULL;
    sdat_audit_t *audit = NULL;
    cr_assert_eq(sdat_store_register_index_load(st), 0, "the register index");
    cr_assert_eq(sdat_schemas_new(&schemas, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_audit_new("test", &audit), 0);
    *ret_cfg = cfg;
    *ret_st = st;
    *ret_schemas = schemas;
    *ret_audit = audit;
    return (struct sdat_engine){.cfg = cfg, .st = st, .audit = audit, .schemas = schemas};
}

/* Closes what fixture_engine_open opened, the last-opened first; any part
 * may be NULL (a test that opened only a store and an appender). */
static inline void fixture_close(struct sdat_config *cfg, sdat_store_t *st, sdat_schemas_t *schemas,
                                 sdat_audit_t *audit)
{
    sdat_audit_free(audit);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
}

/* The Unix milliseconds of an RFC 3339 date-time: the tests' clock. */
static inline int64_t ms(const char *datetime)
{
    int64_t v;
    cr_assert_eq(sdat_datetime_parse(datetime, &v), 0, "%s", datetime);
    return v;
}

/* ---- the audit records a test looks for (interfaces.md) ---- */

struct fixture_audit_find {
    const char *type;
    size_t n;
    json_t *last;
};

static inline int fixture_audit_find_cb(int64_t seq, const char *record, void *opaque)
{
    struct fixture_audit_find *f = opaque;
    json_t *doc = json_loads(record, 0, NULL);
    cr_assert_not_null(doc, "audit record %lld is not JSON", (long long)seq);
    if (strcmp(json_string_value(json_object_get(doc, "type")), f->type) == 0) {
        f->n++;
        json_decref(f->last);
        f->last = doc;
    } else {
        json_decref(doc);
    }
    return 0;
}

/* Counts the audit records of type: all of them when about is NULL, else
 * those about notification about (sdat_store_audit_about). The
 * last one goes in *ret_last (a new reference) when ret_last is not NULL. */
static inline size_t fixture_audit_count(sdat_store_t *st, const char *about, const char *type,
                                         json_t **ret_last)
{
    struct fixture_audit_find f = {.type = type};
    if (about) {
        cr_assert_eq(sdat_store_audit_about(st, about, fixture_audit_find_cb, &f), 0);
    } else {
        cr_assert_eq(sdat_store_audit_each(st, 0, fixture_audit_find_cb, &f), 0);
    }
    if (ret_last) {
        *ret_last = f.last;
    } else {
        json_decref(f.last);
    }
    return f.n;
}

#endif
