/* The project's schemas (schemas/ (one .json file per schema), compiled into the binaries),
 * compiled once and chosen by an event's "schema" field. */
#ifndef SDAT_SCHEMAS_H
#define SDAT_SCHEMAS_H

#include "schema.h"

typedef struct sdat_schemas sdat_schemas_t;

int sdat_schemas_new(sdat_schemas_t **ret_schemas, char *err, size_t errlen);
void sdat_schemas_free(sdat_schemas_t *schemas); /* accepts NULL */
/* "police.da-incident/1" → the compiled schema, or NULL. */
const sdat_schema_t *sdat_schemas_get(const sdat_schemas_t *schemas, const char *name);
/* Validates doc by its "schema" field, or by force_name when not NULL (a
 * differing "schema" is then an error at /schema). An unknown or missing
 * schema is invalid with an error at /schema. 0 valid, 1 invalid. */
int sdat_schemas_validate(const sdat_schemas_t *schemas, const json_t *doc,
                          const char *force_name, struct sdat_validation *ret);

/* The Kafka key events.md derives from a document of schema NAME (NULL: its
 * "schema" field): FORCE/INCIDENT_ID, ODS_CODE/ATTENDANCE_ID, child_id or
 * flag_id. 0, or -EINVAL when it cannot be derived (key is then ""). */
int sdat_schemas_derive_key(const json_t *doc, const char *name, char *key, size_t keylen);

#endif
