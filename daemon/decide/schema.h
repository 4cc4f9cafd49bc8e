/* A JSON Schema (draft 2020-12) validator over jansson, for the keywords the
 * project's schemas use (and the suite's cases for them; the exclusions are
 * listed in tests/unit/test_schema.c). A schema is compiled once; validating
 * allocates nothing. Messages name the JSON Pointer and the rule broken,
 * never the value, which may be a child's name or NHS number. */
#ifndef SDAT_SCHEMA_H
#define SDAT_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#define SDAT_SCHEMA_MAX_ISSUES 16
#define SDAT_SCHEMA_MAX_DEPTH 64 /* instance nesting; deeper is an error */

struct sdat_issue {
    char path[256]; /* JSON Pointer of the instance location, "" for the root */
    char message[192];
};

struct sdat_validation {
    size_t n_errors, n_warnings;
    struct sdat_issue errors[SDAT_SCHEMA_MAX_ISSUES], warnings[SDAT_SCHEMA_MAX_ISSUES];
    bool truncated; /* more issues than fit */
};

typedef struct sdat_schema sdat_schema_t;

/* Borrows schema_doc; keeps what it needs. 0, or -EINVAL with err set. */
int sdat_schema_compile(json_t *schema_doc, sdat_schema_t **ret_schema, char *err, size_t errlen);
void sdat_schema_free(sdat_schema_t *schema); /* accepts NULL */
/* 0 valid (warnings may be set), 1 invalid. A `format` failure under the
 * annotation "x-sdat-lenient": true is a warning, not an error. */
int sdat_schema_validate(const sdat_schema_t *schema, const json_t *instance,
                         struct sdat_validation *ret);

#endif
