/* libFuzzer target: an inbound event's bytes through what the daemon does to
 * them before any flow sees them (ingest.c): parse with duplicate keys
 * rejected, validate against one schema (SDAT_FUZZ_SCHEMA, chosen at build
 * time so that each schema has its own target and corpus), derive the key.
 * Any crash, leak or sanitizer report is a defect. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "decide/decide.h"

#ifndef SDAT_FUZZ_SCHEMA
#error "build with -DSDAT_FUZZ_SCHEMA='\"police.da-incident/1\"'"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sdat_schemas_t *schemas;

static void free_schemas(void)
{
    sdat_schemas_free(schemas);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!schemas) {
        char err[256];
        if (sdat_schemas_new(&schemas, err, sizeof err) < 0 ||
            !sdat_schemas_get(schemas, SDAT_FUZZ_SCHEMA)) {
            fprintf(stderr, "fuzz: cannot load schema %s: %s\n", SDAT_FUZZ_SCHEMA, err);
            abort();
        }
        atexit(free_schemas);
    }
    json_error_t jerr;
    json_t *doc = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &jerr);
    if (!doc) {
        return 0;
    }
    struct sdat_validation v;
    int r = sdat_schemas_validate(schemas, doc, SDAT_FUZZ_SCHEMA, &v);
    if (r < 0 || v.n_errors > SDAT_SCHEMA_MAX_ISSUES || v.n_warnings > SDAT_SCHEMA_MAX_ISSUES ||
        (r == 0 && v.n_errors != 0) || (r == 1 && v.n_errors == 0)) {
        abort(); /* a verdict that contradicts its own issue list */
    }
    char key[200];
    if (r == 0 && SDAT_FUZZ_SCHEMA[0] != 's' &&
        sdat_schemas_derive_key(doc, SDAT_FUZZ_SCHEMA, key, sizeof key) < 0) {
        abort(); /* every valid inbound event has a key */
    }
    json_decref(doc);
    return 0;
}
