#include "schemas.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"

struct entry {
    char *name; /* the schema's $id, e.g. "police.da-incident/1" */
    sdat_schema_t *schema;
};

struct sdat_schemas {
    struct entry *entries;
    size_t n;
};

void sdat_schemas_free(sdat_schemas_t *schemas)
{
    if (!schemas) {
        return;
    }
    for (size_t i = 0; i < schemas->n; i++) {
        free(schemas->entries[i].name);
        sdat_schema_free(schemas->entries[i].schema);
    }
    free(schemas->entries);
    free(schemas);
}

int sdat_schemas_new(sdat_schemas_t **ret_schemas, char *err, size_t errlen)
{
    sdat_schemas_t *schemas = calloc(1, sizeof *schemas);
    if (!schemas ||
        !(schemas->entries = calloc(sdat_embedded_schemas_count + 1, sizeof *schemas->entries))) {
        free(schemas);
        return -ENOMEM;
    }
    for (size_t i = 0; i < sdat_embedded_schemas_count; i++) {
        const struct sdat_embedded_file *f = &sdat_embedded_schemas[i];
        json_error_t jerr;
        char cerr[256];
        json_t *doc = json_loadb((const char *)f->data, f->size, JSON_REJECT_DUPLICATES, &jerr);
        const char *id = json_string_value(json_object_get(doc, "$id"));
        if (!doc || !id) {
            snprintf(err, errlen, "schemas/%s: %s", f->name, doc ? "no $id" : jerr.text);
            json_decref(doc);
            sdat_schemas_free(schemas);
            return -EINVAL;
        }
        struct entry *e = &schemas->entries[schemas->n];
        e->name = strdup(id);
        int r = sdat_schema_compile(doc, &e->schema, cerr, sizeof cerr);
        json_decref(doc);
        if (r < 0 || !e->name) {
            snprintf(err, errlen, "schemas/%s: %s", f->name, r < 0 ? cerr : "out of memory");
            free(e->name);
            sdat_schemas_free(schemas);
            return r < 0 ? r : -ENOMEM;
        }
        schemas->n++;
    }
    *ret_schemas = schemas;
    return 0;
}

const sdat_schema_t *sdat_schemas_get(const sdat_schemas_t *schemas, const char *name)
{
    for (size_t i = 0; name && i < schemas->n; i++) {
        if (strcmp(schemas->entries[i].name, name) == 0) {
            return schemas->entries[i].schema;
        }
    }
    return NULL;
}

static int schema_error(struct sdat_validation *ret, const char *message)
{
    ret->n_errors = 1;
    ret->n_warnings = 0;
    ret->truncated = false;
    snprintf(ret->errors[0].path, sizeof ret->errors[0].path, "/schema");
    snprintf(ret->errors[0].message, sizeof ret->errors[0].message, "%s", message);
    return 1;
}

int sdat_schemas_validate(const sdat_schemas_t *schemas, const json_t *doc,
                          const char *force_name, struct sdat_validation *ret)
{
    if (!json_is_object(doc)) {
        ret->n_errors = 1;
        ret->n_warnings = 0;
        ret->truncated = false;
        ret->errors[0].path[0] = '\0';
        snprintf(ret->errors[0].message, sizeof ret->errors[0].message, "must be an object");
        return 1;
    }
    const char *named = json_string_value(json_object_get(doc, "schema"));
    if (force_name && named && strcmp(named, force_name) != 0) {
        return schema_error(ret, "names a schema that this topic or command does not carry");
    }
    const char *name = force_name ? force_name : named;
    if (!name) {
        return schema_error(ret, "required property \"schema\" is missing");
    }
    const sdat_schema_t *schema = sdat_schemas_get(schemas, name);
    if (!schema) {
        return schema_error(ret, "names an unknown schema");
    }
    return sdat_schema_validate(schema, doc, ret);
}

int sdat_schemas_derive_key(const json_t *doc, const char *name, char *key, size_t keylen)
{
    static const struct {
        const char *schema, *first, *second;
    } keys[] = {
        {"police.da-incident/1", "force", "incident_id"},
        {"health.attendance/1", "ods_code", "attendance_id"},
        {"council.child/1", "child_id", NULL},
        {"council.cpis-flag/1", "flag_id", NULL},
    };
    const char *schema = name ? name : json_string_value(json_object_get(doc, "schema"));
    key[0] = '\0';
    for (size_t i = 0; schema && i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(keys[i].schema, schema) != 0) {
            continue;
        }
        const char *a = json_string_value(json_object_get(doc, keys[i].first));
        const char *b = keys[i].second ? json_string_value(json_object_get(doc, keys[i].second))
                                       : NULL;
        if (!a || (keys[i].second && !b)) {
            return -EINVAL;
        }
        int n = b ? snprintf(key, keylen, "%s/%s", a, b) : snprintf(key, keylen, "%s", a);
        if (n < 0 || (size_t)n >= keylen) {
            key[0] = '\0';
            return -EINVAL;
        }
        return 0;
    }
    return -EINVAL;
}
