/* Compiling a JSON Schema document into a tree of nodes. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schema_internal.h"

static struct node *compile_node(struct compiler *c, json_t *s);

static struct node **compile_array(struct compiler *c, json_t *a, size_t *ret_n)
{
    size_t n = json_array_size(a);
    struct node **nodes = calloc(n + 1, sizeof *nodes);
    if (!nodes) {
        c->failed = true;
        return NULL;
    }
    for (size_t i = 0; i < n; i++) {
        nodes[i] = compile_node(c, json_array_get(a, i));
    }
    *ret_n = n;
    return nodes;
}

static unsigned type_bit(const char *name)
{
    static const char *const names[] = {"null", "boolean", "object", "array",
                                        "number", "string", "integer"};
    for (unsigned i = 0; i < 7; i++) {
        if (strcmp(names[i], name) == 0) {
            return 1u << i;
        }
    }
    return 0;
}

static bool get_count(json_t *s, const char *key, long *out)
{
    json_t *v = json_object_get(s, key);
    if (json_is_integer(v)) {
        *out = (long)json_integer_value(v);
        return true;
    }
    if (json_is_real(v) && json_real_value(v) == floor(json_real_value(v))) {
        *out = (long)json_real_value(v);
        return true;
    }
    return false;
}

static bool get_number(json_t *s, const char *key, double *out)
{
    json_t *v = json_object_get(s, key);
    if (json_is_number(v)) {
        *out = json_number_value(v);
        return true;
    }
    return false;
}

/* The node already compiled for the schema object s, or NULL. */
static struct node *find_seen(const struct compiler *c, const json_t *s)
{
    for (size_t i = 0; i < c->n_seen; i++) {
        if (c->seen[i].json == s) {
            return c->seen[i].node;
        }
    }
    return NULL;
}

/* Records n as the node of s; false when out of memory. */
static bool remember(struct compiler *c, json_t *s, struct node *n)
{
    if (c->n_seen == c->cap_seen) {
        size_t cap = c->cap_seen ? c->cap_seen * 2 : 64;
        void *grown = realloc(c->seen, cap * sizeof *c->seen);
        if (!grown) {
            return false;
        }
        c->seen = grown;
        c->cap_seen = cap;
    }
    c->seen[c->n_seen].json = s;
    c->seen[c->n_seen].node = n;
    c->n_seen++;
    return true;
}

/* A node with every limit unset, owned by the compiler's list of all nodes
 * from the moment it exists; NULL when out of memory. */
static struct node *new_node(struct compiler *c)
{
    struct node *n = calloc(1, sizeof *n);
    if (!n) {
        return NULL;
    }
    n->next_all = c->all;
    c->all = n;
    n->min_length = n->max_length = -1;
    n->min_items = n->max_items = n->min_props = n->max_props = -1;
    n->min_contains = 1;
    n->max_contains = -1;
    return n;
}

/* type, enum and const: the keywords that apply to an instance of any type. */
static void compile_type_keywords(struct node *n, json_t *s)
{
    json_t *v = json_object_get(s, "type");
    if (v) {
        if (json_is_string(v)) {
            n->types = type_bit(json_string_value(v));
        } else {
            size_t i;
            json_t *t;
            json_array_foreach(v, i, t)
            {
                n->types |= type_bit(json_string_value(t) ? json_string_value(t) : "");
            }
        }
        n->has_types = true;
    }
    n->enum_values = json_object_get(s, "enum");
    n->const_value = json_object_get(s, "const");
    n->has_const = n->const_value != NULL;
}

/* properties and dependentSchemas: a schema per member name. */
static void compile_named(struct compiler *c, json_t *v, struct named_node **ret,
                          size_t *ret_n)
{
    *ret_n = json_object_size(v);
    *ret = calloc(*ret_n + 1, sizeof **ret);
    if (!*ret) {
        *ret_n = 0; /* nothing for sdat_schema_free to walk */
        c->failed = true;
        return;
    }
    size_t i = 0;
    const char *key;
    json_t *sub;
    json_object_foreach(v, key, sub)
    {
        (*ret)[i].name = key; /* borrowed from the kept document */
        (*ret)[i].len = strlen(key);
        (*ret)[i].hash = sdat_schema_name_hash(key, (*ret)[i].len);
        (*ret)[i].plain = !strpbrk(key, "~/");
        (*ret)[i].node = compile_node(c, sub);
        i++;
    }
}

/* Stops at the first pattern that does not compile, keeping only the
 * compiled ones for sdat_schema_free to release. */
static void compile_pattern_properties(struct compiler *c, struct node *n, json_t *v)
{
    n->n_pattern_props = json_object_size(v);
    n->pattern_props = calloc(n->n_pattern_props + 1, sizeof *n->pattern_props);
    if (!n->pattern_props) {
        n->n_pattern_props = 0; /* nothing for sdat_schema_free to walk */
        c->failed = true;
        return;
    }
    size_t i = 0;
    const char *key;
    json_t *sub;
    json_object_foreach(v, key, sub)
    {
        if (sdat_schema_pattern_compile(&n->pattern_props[i].re, key) != 0) {
            snprintf(c->err, c->errlen, "patternProperties: cannot compile a pattern");
            c->failed = true;
            n->n_pattern_props = i;
            break;
        }
        n->pattern_props[i].node = compile_node(c, sub);
        i++;
    }
}

/* The table that finds n->props by name; left NULL (the validator then
 * compares every name) when two names are equal up to a NUL. */
static void index_props(struct compiler *c, struct node *n)
{
    uint32_t size = 4;
    while (size < 2 * n->n_props) {
        size *= 2;
    }
    uint32_t *slots = calloc(size, sizeof *slots);
    if (!slots) {
        c->failed = true;
        return;
    }
    for (size_t k = 0; k < n->n_props; k++) {
        uint32_t i = n->props[k].hash & (size - 1);
        for (; slots[i]; i = (i + 1) & (size - 1)) {
            if (strcmp(n->props[slots[i] - 1].name, n->props[k].name) == 0) {
                free(slots);
                return;
            }
        }
        slots[i] = (uint32_t)k + 1;
    }
    n->prop_slots = slots;
    n->prop_mask = size - 1;
}

static void compile_object_keywords(struct compiler *c, struct node *n, json_t *s)
{
    json_t *v;
    if ((v = json_object_get(s, "properties"))) {
        compile_named(c, v, &n->props, &n->n_props);
        if (n->n_props) {
            index_props(c, n);
        }
    }
    if ((v = json_object_get(s, "patternProperties"))) {
        compile_pattern_properties(c, n, v);
    }
    if ((v = json_object_get(s, "additionalProperties"))) {
        n->additional = compile_node(c, v);
    }
    if ((v = json_object_get(s, "propertyNames"))) {
        n->property_names = compile_node(c, v);
    }
    n->required = json_object_get(s, "required");
    n->dependent_required = json_object_get(s, "dependentRequired");
    if ((v = json_object_get(s, "dependentSchemas"))) {
        compile_named(c, v, &n->dep_schemas, &n->n_dep_schemas);
    }
    get_count(s, "minProperties", &n->min_props);
    get_count(s, "maxProperties", &n->max_props);
    n->visits_members = n->n_props || n->n_pattern_props || n->additional || n->property_names;
}

static void compile_array_keywords(struct compiler *c, struct node *n, json_t *s)
{
    json_t *v;
    if ((v = json_object_get(s, "prefixItems"))) {
        n->prefix_items = compile_array(c, v, &n->n_prefix_items);
    }
    if ((v = json_object_get(s, "items"))) {
        n->items = compile_node(c, v);
    }
    if ((v = json_object_get(s, "contains"))) {
        /* minContains and maxContains mean nothing without contains. */
        n->contains = compile_node(c, v);
        get_count(s, "minContains", &n->min_contains);
        get_count(s, "maxContains", &n->max_contains);
    }
    get_count(s, "minItems", &n->min_items);
    get_count(s, "maxItems", &n->max_items);
    n->unique_items = json_is_true(json_object_get(s, "uniqueItems"));
}

static void compile_string_keywords(struct compiler *c, struct node *n, json_t *s)
{
    json_t *v = json_object_get(s, "pattern");
    if (json_is_string(v)) {
        if (sdat_schema_pattern_compile(&n->pattern, json_string_value(v)) != 0) {
            snprintf(c->err, c->errlen, "pattern: cannot compile as a POSIX extended regex");
            c->failed = true;
        } else {
            n->has_pattern = true;
        }
    }
    get_count(s, "minLength", &n->min_length);
    get_count(s, "maxLength", &n->max_length);
    n->format = json_string_value(json_object_get(s, "format"));
    if (n->format) {
        sdat_format_find(n->format, &n->format_check, &n->format_message);
    }
    n->lenient = json_is_true(json_object_get(s, "x-sdat-lenient"));
}

static void compile_number_keywords(struct node *n, json_t *s)
{
    n->has_minimum = get_number(s, "minimum", &n->minimum);
    n->has_maximum = get_number(s, "maximum", &n->maximum);
    n->has_exclusive_minimum = get_number(s, "exclusiveMinimum", &n->exclusive_minimum);
    n->has_exclusive_maximum = get_number(s, "exclusiveMaximum", &n->exclusive_maximum);
    n->has_multiple_of = get_number(s, "multipleOf", &n->multiple_of);
}

/* allOf, anyOf, oneOf, not and if/then/else. */
static void compile_combinators(struct compiler *c, struct node *n, json_t *s)
{
    json_t *v;
    if ((v = json_object_get(s, "allOf"))) {
        n->all_of = compile_array(c, v, &n->n_all_of);
    }
    if ((v = json_object_get(s, "anyOf"))) {
        n->any_of = compile_array(c, v, &n->n_any_of);
    }
    if ((v = json_object_get(s, "oneOf"))) {
        n->one_of = compile_array(c, v, &n->n_one_of);
    }
    if ((v = json_object_get(s, "not"))) {
        n->not_ = compile_node(c, v);
    }
    if ((v = json_object_get(s, "if"))) {
        /* then and else are ignored without if, as the draft says. */
        n->if_ = compile_node(c, v);
        if ((v = json_object_get(s, "then"))) {
            n->then_ = compile_node(c, v);
        }
        if ((v = json_object_get(s, "else"))) {
            n->else_ = compile_node(c, v);
        }
    }
}

/* $defs are compiled so that a schema error in one is reported even when
 * nothing refers to it; a $ref is only noted here and resolved by
 * sdat_schema_compile once the whole document has nodes. */
static void compile_references(struct compiler *c, struct node *n, json_t *s)
{
    json_t *v = json_object_get(s, "$defs");
    if (v) {
        const char *key;
        json_t *sub;
        json_object_foreach(v, key, sub)
        {
            compile_node(c, sub);
        }
    }
    v = json_object_get(s, "$ref");
    if (json_is_string(v)) {
        n->ref_text = json_string_value(v);
    }
}

static struct node *compile_node(struct compiler *c, json_t *s)
{
    /* One node per schema object: a $ref to an object already compiled
     * shares its node, which also ends reference cycles. */
    struct node *n = find_seen(c, s);
    if (n) {
        return n;
    }
    n = new_node(c);
    if (!n) {
        c->failed = true;
        return NULL;
    }
    if (!remember(c, s, n)) {
        c->failed = true;
        return n;
    }
    if (json_is_boolean(s)) {
        n->is_bool = true;
        n->bool_value = json_is_true(s);
        return n;
    }
    if (!json_is_object(s)) {
        snprintf(c->err, c->errlen, "a schema must be an object or a boolean");
        c->failed = true;
        return n;
    }
    /* Sub-schemas are compiled, and errors reported, in this order: when
     * several fail, the last message is the one the caller sees, and the
     * order of the nodes decides which unresolved $ref is named. */
    compile_type_keywords(n, s);
    compile_object_keywords(c, n, s);
    compile_array_keywords(c, n, s);
    compile_string_keywords(c, n, s);
    compile_number_keywords(n, s);
    compile_combinators(c, n, s);
    compile_references(c, n, s);
    return n;
}

/* Resolves a local reference "#" or "#/a/b~1c" in the document. */
static json_t *resolve_pointer(json_t *root, const char *ref)
{
    if (ref[0] != '#') {
        return NULL;
    }
    const char *p = ref + 1;
    json_t *cur = root;
    while (*p == '/') {
        p++;
        char token[256];
        size_t len = 0;
        while (*p && *p != '/' && len < sizeof token - 1) {
            if (p[0] == '~' && p[1] == '0') {
                token[len++] = '~';
                p += 2;
            } else if (p[0] == '~' && p[1] == '1') {
                token[len++] = '/';
                p += 2;
            } else if (p[0] == '%' && p[1] && p[2]) {
                char hex[3] = {p[1], p[2], 0};
                token[len++] = (char)strtol(hex, NULL, 16);
                p += 3;
            } else {
                token[len++] = *p++;
            }
        }
        token[len] = '\0';
        if (json_is_object(cur)) {
            cur = json_object_get(cur, token);
        } else if (json_is_array(cur)) {
            char *end;
            long i = strtol(token, &end, 10);
            cur = *end ? NULL : json_array_get(cur, (size_t)i);
        } else {
            cur = NULL;
        }
        if (!cur) {
            return NULL;
        }
    }
    return *p ? NULL : cur;
}

int sdat_schema_compile(json_t *schema_doc, sdat_schema_t **ret_schema, char *err, size_t errlen)
{
    struct compiler c = {.err = err, .errlen = errlen};
    sdat_schema_t *schema = calloc(1, sizeof *schema);
    if (!schema) {
        return -ENOMEM;
    }
    err[0] = '\0';
    schema->doc = json_incref(schema_doc);
    schema->root = compile_node(&c, schema_doc);
    /* $refs point at nodes; compiling a target may add nodes with refs. */
    bool progress = true;
    while (progress && !c.failed) {
        progress = false;
        /* New nodes are prepended, so a later pass sees them. */
        for (struct node *n = c.all; n && !c.failed; n = n->next_all) {
            if (!n->ref_text || n->ref) {
                continue;
            }
            json_t *target = resolve_pointer(schema_doc, n->ref_text);
            if (!target) {
                snprintf(err, errlen, "$ref \"%s\" does not resolve in this document",
                         n->ref_text);
                c.failed = true;
                break;
            }
            n->ref = compile_node(&c, target);
            progress = true;
        }
    }
    schema->all = c.all;
    free(c.seen);
    if (c.failed) {
        if (!err[0]) {
            snprintf(err, errlen, "out of memory");
        }
        sdat_schema_free(schema);
        return -EINVAL;
    }
    *ret_schema = schema;
    return 0;
}

void sdat_schema_free(sdat_schema_t *schema)
{
    if (!schema) {
        return;
    }
    struct node *n = schema->all;
    while (n) {
        struct node *next = n->next_all;
        if (n->has_pattern) {
            sdat_schema_pattern_free(&n->pattern);
        }
        for (size_t i = 0; i < n->n_pattern_props; i++) {
            sdat_schema_pattern_free(&n->pattern_props[i].re);
        }
        free(n->props);
        free(n->prop_slots);
        free(n->pattern_props);
        free(n->dep_schemas);
        free(n->prefix_items);
        free(n->all_of);
        free(n->any_of);
        free(n->one_of);
        free(n);
        n = next;
    }
    json_decref(schema->doc);
    free(schema);
}
