/* Shared by schema.c (compiling) and schema_validate.c. */
#ifndef SDAT_SCHEMA_INTERNAL_H
#define SDAT_SCHEMA_INTERNAL_H

#include <regex.h>
#include <stdint.h>

#include "schema.h"
#include "util/util.h"

/* A compiled `pattern` (schema_pattern.c). */
struct sdat_schema_pattern {
    regex_t re;
    struct pattern_atom *atoms; /* NULL: regexec decides every string */
    size_t n_atoms;
};

/* 0, or -1 when regcomp refuses source (nothing to free then). */
int sdat_schema_pattern_compile(struct sdat_schema_pattern *p, const char *source);
bool sdat_schema_pattern_match(const struct sdat_schema_pattern *p, const char *s);
void sdat_schema_pattern_free(struct sdat_schema_pattern *p);

/* The hash that property names are found by, of a name of len bytes (its
 * strlen: names compare as strcmp compares them): its length and three of
 * its bytes, which tell apart nearly all the names of one schema object
 * at the cost of a strlen. */
static inline uint32_t sdat_schema_name_hash(const char *s, size_t len)
{
    if (len == 0) {
        return 0;
    }
    uint32_t h = (uint32_t)len * 2654435761u;
    h ^= (uint32_t)(unsigned char)s[0] * 16777619u;
    h ^= (uint32_t)(unsigned char)s[len - 1] * 40503u;
    h ^= (uint32_t)(unsigned char)s[len / 2] << 7;
    return h ^ (h >> 15);
}

struct node {
    struct node *next_all; /* every node of a schema, for freeing */
    bool is_bool, bool_value;
    bool has_types;
    unsigned types; /* bits: null, boolean, object, array, number, string, integer */
    struct named_node {
        const char *name;
        struct node *node;
        size_t len; /* strlen(name) */
        uint32_t hash;
        bool plain; /* no '~' or '/': a JSON Pointer token as it is */
    } *props, *dep_schemas;
    size_t n_props, n_dep_schemas;
    /* props by name: open addressing, slot = index + 1, 0 empty. NULL when
     * two names compare equal as C strings (a NUL inside one), which makes
     * the validator fall back to comparing every name. */
    uint32_t *prop_slots;
    uint32_t prop_mask;
    /* Whether an object instance's members need visiting at all. */
    bool visits_members;
    struct {
        struct sdat_schema_pattern re;
        struct node *node;
    } *pattern_props;
    size_t n_pattern_props;
    struct node *additional, *property_names, *items, *contains, *not_, *if_, *then_, *else_, *ref;
    struct node **prefix_items, **all_of, **any_of, **one_of;
    size_t n_prefix_items, n_all_of, n_any_of, n_one_of;
    json_t *required, *dependent_required, *enum_values, *const_value; /* borrowed from doc */
    bool has_const, has_pattern, unique_items;
    struct sdat_schema_pattern pattern;
    long min_length, max_length, min_items, max_items, min_props, max_props;
    long min_contains, max_contains;
    bool has_minimum, has_maximum, has_exclusive_minimum, has_exclusive_maximum, has_multiple_of;
    double minimum, maximum, exclusive_minimum, exclusive_maximum, multiple_of;
    const char *format; /* borrowed */
    sdat_format_fn format_check; /* NULL: a format sdat does not check */
    const char *format_message;
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
