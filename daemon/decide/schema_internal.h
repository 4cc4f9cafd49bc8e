/* Shared by schema.c (compiling) and schema_validate.c. */
#ifndef SDAT_SCHEMA_INTERNAL_H
#define SDAT_SCHEMA_INTERNAL_H

#include <regex.h>

#include "schema.h"

struct node {
    struct node *next_all; /* every node of a schema, for freeing */
    bool is_bool, bool_value;
    bool has_types;
    unsigned types; /* bits: null, boolean, object, array, number, string, integer */
    struct named_node {
        const char *name;
        struct node *node;
    } *props, *dep_schemas;
    size_t n_props, n_dep_schemas;
    struct {
        regex_t re;
        struct node *node;
    } *pattern_props;
    size_t n_pattern_props;
    struct node *additional, *property_names, *items, *contains, *not_, *if_, *then_, *else_, *ref;
    struct node **prefix_items, **all_of, **any_of, **one_of;
    size_t n_prefix_items, n_all_of, n_any_of, n_one_of;
    json_t *required, *dependent_required, *enum_values, *const_value; /* borrowed from doc */
    bool has_const, has_pattern, unique_items;
    regex_t pattern;
    long min_length, max_length, min_items, max_items, min_props, max_props;
    long min_contains, max_contains;
    bool has_minimum, has_maximum, has_exclusive_minimum, has_exclusive_maximum, has_multiple_of;
    double minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
    const char *format; /* borrowed */
    bool lenient;
    const char *ref_text;
};

struct sdat_schema {
    json_t *doc; /* kept: nodes borrow strings and values from it */
    struct node *root;
    struct node *all;
};

struct compiler {
    char *err;
    size_t errlen;
    bool failed;
    struct node *all;
    struct {
        json_t *json;
        struct node *node;
    } *seen;
    size_t n_seen, cap_seen;
};

#endif
