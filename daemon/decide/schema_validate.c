/* Validating an instance against a compiled schema. Errors go into the
 * caller's fixed buffer; subschemas tried by anyOf, oneOf, not and if run
 * silently.
 *
 * No byte of the instance reaches an issue (quality.md S8): a path names
 * only property names the schema itself lists under `properties` and array
 * indices; below a property the schema does not name (one allowed by
 * patternProperties or additionalProperties) the path stops at its parent
 * and the message says so; messages name rules and the schema's own
 * values, never the instance's. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"
#include "schema_internal.h"

struct vctx {
    struct sdat_validation *out;
    char path[256];
    size_t path_len;
    int silent; /* > 0: probing a branch; record nothing */
    int depth;
    int unnamed; /* > 0: below a property the schema does not name */
};

static void issue(struct vctx *v, bool warning, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void issue(struct vctx *v, bool warning, const char *fmt, ...)
{
    if (v->silent) {
        return;
    }
    size_t *n = warning ? &v->out->n_warnings : &v->out->n_errors;
    struct sdat_issue *list = warning ? v->out->warnings : v->out->errors;
    if (*n >= SDAT_SCHEMA_MAX_ISSUES) {
        v->out->truncated = true;
        return;
    }
    struct sdat_issue *is = &list[(*n)++];
    memcpy(is->path, v->path, v->path_len + 1);
    static const char unnamed[] = "in a property the schema does not name: ";
    size_t at = v->unnamed ? sizeof unnamed - 1 : 0;
    memcpy(is->message, unnamed, at);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->message + at, sizeof is->message - at, fmt, ap);
    va_end(ap);
}

/* Appends one JSON Pointer token (escaping ~ and /); returns the old length.
 * token is a schema's property name or an index; below an unnamed property
 * nothing is appended. */
static size_t push(struct vctx *v, const char *token)
{
    size_t old = v->path_len;
    if (v->unnamed) {
        return old;
    }
    if (v->path_len + 1 < sizeof v->path) {
        v->path[v->path_len++] = '/';
    }
    for (const char *p = token; *p && v->path_len + 2 < sizeof v->path; p++) {
        if (*p == '~' || *p == '/') {
            v->path[v->path_len++] = '~';
            v->path[v->path_len++] = *p == '~' ? '0' : '1';
        } else {
            v->path[v->path_len++] = *p;
        }
    }
    v->path[v->path_len] = '\0';
    return old;
}

/* push of a token of len bytes with nothing to escape: one copy when it
 * fits whole (push would then write the same). */
static size_t push_plain(struct vctx *v, const char *token, size_t len)
{
    size_t old = v->path_len;
    if (v->unnamed || old + len + 3 >= sizeof v->path) {
        return push(v, token);
    }
    v->path[old] = '/';
    memcpy(v->path + old + 1, token, len);
    v->path_len = old + 1 + len;
    v->path[v->path_len] = '\0';
    return old;
}

static size_t push_name(struct vctx *v, const struct named_node *name)
{
    return name->plain ? push_plain(v, name->name, name->len) : push(v, name->name);
}

static size_t push_index(struct vctx *v, size_t i)
{
    char token[24];
    char *p = token + sizeof token - 1;
    *p = '\0';
    do {
        *--p = (char)('0' + i % 10);
        i /= 10;
    } while (i);
    return push_plain(v, p, (size_t)(token + sizeof token - 1 - p));
}

static void pop(struct vctx *v, size_t old)
{
    v->path_len = old;
    v->path[old] = '\0';
}

static bool is_integer(const json_t *x)
{
    return json_is_integer(x) || (json_is_real(x) && json_real_value(x) == floor(json_real_value(x)));
}

static unsigned type_bits(const json_t *x)
{
    switch (json_typeof(x)) {
    case JSON_NULL:
        return 1u << 0;
    case JSON_TRUE:
    case JSON_FALSE:
        return 1u << 1;
    case JSON_OBJECT:
        return 1u << 2;
    case JSON_ARRAY:
        return 1u << 3;
    case JSON_INTEGER:
    case JSON_REAL:
        return (1u << 4) | (is_integer(x) ? 1u << 6 : 0);
    case JSON_STRING:
        return 1u << 5;
    }
    return 0;
}

static const char *type_word(unsigned types)
{
    static const char *const words[] = {"null", "a boolean", "an object", "an array",
                                        "a number", "a string", "an integer"};
    for (unsigned i = 0; i < 7; i++) {
        if (types == 1u << i) {
            return words[i];
        }
    }
    return "of another type";
}

/* JSON equality with 1 == 1.0, as the suite expects. */
static bool equal(const json_t *a, const json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        return json_number_value(a) == json_number_value(b);
    }
    if (json_typeof(a) != json_typeof(b)) {
        return false;
    }
    if (json_is_array(a)) {
        if (json_array_size(a) != json_array_size(b)) {
            return false;
        }
        for (size_t i = 0; i < json_array_size(a); i++) {
            if (!equal(json_array_get(a, i), json_array_get(b, i))) {
                return false;
            }
        }
        return true;
    }
    if (json_is_object(a)) {
        if (json_object_size(a) != json_object_size(b)) {
            return false;
        }
        const char *key;
        json_t *va;
        json_object_foreach((json_t *)a, key, va)
        {
            json_t *vb = json_object_get(b, key);
            if (!vb || !equal(va, vb)) {
                return false;
            }
        }
        return true;
    }
    return json_equal(a, b);
}

/* Characters: the bytes that are not UTF-8 continuation bytes (10xxxxxx),
 * counted eight at a time (a byte's bit 7 set and bit 6 clear). */
static size_t utf8_length(const char *s, size_t bytes)
{
    size_t continuation = 0, i = 0;
    for (; i + 8 <= bytes; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        continuation += (size_t)__builtin_popcountll(w & ~(w << 1) & 0x8080808080808080ull);
    }
    for (; i < bytes; i++) {
        continuation += ((unsigned char)s[i] & 0xC0) == 0x80;
    }
    return bytes - continuation;
}

static bool validate(struct vctx *v, const struct node *n, const json_t *x);

/* Runs a subschema silently: whether x is valid against it. */
static bool probe(struct vctx *v, const struct node *n, const json_t *x)
{
    v->silent++;
    bool ok = validate(v, n, x);
    v->silent--;
    return ok;
}

/* memcmp(a, b, len) == 0 for the short names of schemas, without a call. */
static inline bool same_bytes(const char *a, const char *b, size_t len)
{
    for (; len >= 8; a += 8, b += 8, len -= 8) {
        uint64_t x, y;
        memcpy(&x, a, 8);
        memcpy(&y, b, 8);
        if (x != y) {
            return false;
        }
    }
    for (; len; a++, b++, len--) {
        if (*a != *b) {
            return false;
        }
    }
    return true;
}

/* The schema's own entry for the member named key, or NULL. */
static const struct named_node *find_prop(const struct node *n, const char *key)
{
    size_t len = strlen(key);
    uint32_t hash = sdat_schema_name_hash(key, len);
    for (uint32_t i = hash & n->prop_mask;; i = (i + 1) & n->prop_mask) {
        uint32_t slot = n->prop_slots[i];
        if (!slot) {
            return NULL;
        }
        const struct named_node *p = &n->props[slot - 1];
        if (p->hash == hash && p->len == len && same_bytes(p->name, key, len)) {
            return p;
        }
    }
}

/* One member against properties, patternProperties and
 * additionalProperties; the path is the caller's. */
static bool validate_member(struct vctx *v, const struct node *n, const char *key,
                            const json_t *val, const struct named_node *known)
{
    bool ok = true, matched = false;
    if (known) {
        if (n->prop_slots) {
            matched = true;
            ok = validate(v, known->node, val);
        } else {
            for (size_t k = 0; k < n->n_props; k++) {
                if (strcmp(n->props[k].name, key) == 0) {
                    matched = true;
                    ok = validate(v, n->props[k].node, val) && ok;
                }
            }
        }
        if (!ok && v->silent) {
            return false;
        }
    }
    for (size_t k = 0; k < n->n_pattern_props; k++) {
        if (sdat_schema_pattern_match(&n->pattern_props[k].re, key)) {
            matched = true;
            ok = validate(v, n->pattern_props[k].node, val) && ok;
        }
    }
    if (!matched && n->additional) {
        ok = validate(v, n->additional, val) && ok;
    }
    return ok;
}

/* The members of x: each against its subschemas, and its name against
 * propertyNames. Issue order and paths are those of the instance's
 * member order. */
static bool validate_members(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)x, key, val)
    {
        /* The schema's own spelling of the name goes into the path. */
        const struct named_node *known = NULL;
        if (n->prop_slots) {
            known = find_prop(n, key);
        } else {
            for (size_t k = 0; k < n->n_props && !known; k++) {
                if (strcmp(n->props[k].name, key) == 0) {
                    known = &n->props[k];
                }
            }
        }
        /* additionalProperties: false refuses a member nothing else names. */
        bool forbidden =
            !known && n->additional && n->additional->is_bool && !n->additional->bool_value;
        for (size_t k = 0; k < n->n_pattern_props && forbidden; k++) {
            forbidden = !sdat_schema_pattern_match(&n->pattern_props[k].re, key);
        }
        if (!forbidden) {
            size_t old = known && !v->silent ? push_name(v, known) : v->path_len;
            v->unnamed += !known;
            bool member_ok = validate_member(v, n, key, val, known);
            v->unnamed -= !known;
            pop(v, old);
            ok = member_ok && ok;
        } else {
            issue(v, false, "has a property that is not allowed");
            ok = false;
        }
        if (!ok && v->silent) {
            return false;
        }
        if (!forbidden && n->property_names) {
            json_t *name = json_string(key);
            if (!probe(v, n->property_names, name)) {
                issue(v, false, "has a property whose name is not allowed");
                ok = false;
            }
            json_decref(name);
        }
    }
    return ok;
}

static bool validate_object(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    size_t i;
    json_t *req;
    json_array_foreach(n->required, i, req)
    {
        if (json_is_string(req) && !json_object_get(x, json_string_value(req))) {
            issue(v, false, "required property \"%s\" is missing", json_string_value(req));
            ok = false;
        }
    }
    long size = (long)json_object_size(x);
    if (n->min_props >= 0 && size < n->min_props) {
        issue(v, false, "must have at least %ld properties", n->min_props);
        ok = false;
    }
    if (n->max_props >= 0 && size > n->max_props) {
        issue(v, false, "must have at most %ld properties", n->max_props);
        ok = false;
    }
    if (!ok && v->silent) {
        return false;
    }
    if (n->visits_members) {
        ok = validate_members(v, n, x) && ok;
    }
    if (n->dependent_required) {
        const char *key;
        json_t *deps;
        json_object_foreach(n->dependent_required, key, deps)
        {
            if (!json_object_get(x, key)) {
                continue;
            }
            json_array_foreach(deps, i, req)
            {
                if (json_is_string(req) && !json_object_get(x, json_string_value(req))) {
                    issue(v, false, "property \"%s\" is required when \"%s\" is present",
                          json_string_value(req), key);
                    ok = false;
                }
            }
        }
    }
    for (size_t k = 0; k < n->n_dep_schemas; k++) {
        if (json_object_get(x, n->dep_schemas[k].name)) {
            ok = validate(v, n->dep_schemas[k].node, x) && ok;
        }
    }
    return ok;
}

static bool validate_array(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    size_t size = json_array_size(x);
    if (n->min_items >= 0 && (long)size < n->min_items) {
        issue(v, false, "must have at least %ld items", n->min_items);
        ok = false;
    }
    if (n->max_items >= 0 && (long)size > n->max_items) {
        issue(v, false, "must have at most %ld items", n->max_items);
        ok = false;
    }
    for (size_t i = 0; i < size; i++) {
        const struct node *item = i < n->n_prefix_items ? n->prefix_items[i] : n->items;
        if (item) {
            size_t old = v->silent ? v->path_len : push_index(v, i);
            ok = validate(v, item, json_array_get(x, i)) && ok;
            pop(v, old);
            if (!ok && v->silent) {
                return false;
            }
        }
    }
    if (n->unique_items) {
        for (size_t i = 0; i < size && ok; i++) {
            for (size_t j = i + 1; j < size; j++) {
                if (equal(json_array_get(x, i), json_array_get(x, j))) {
                    issue(v, false, "items %zu and %zu are equal; items must be unique", i, j);
                    ok = false;
                    break;
                }
            }
        }
    }
    if (n->contains) {
        long count = 0;
        for (size_t i = 0; i < size; i++) {
            count += probe(v, n->contains, json_array_get(x, i));
        }
        if (count < n->min_contains) {
            issue(v, false, "must contain at least %ld matching items", n->min_contains);
            ok = false;
        }
        if (n->max_contains >= 0 && count > n->max_contains) {
            issue(v, false, "must contain at most %ld matching items", n->max_contains);
            ok = false;
        }
    }
    return ok;
}

static bool validate_string(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    const char *s = json_string_value(x);
    if (n->min_length >= 0 || n->max_length >= 0) {
        size_t len = utf8_length(s, json_string_length(x));
        if (n->min_length >= 0 && (long)len < n->min_length) {
            issue(v, false, "must be at least %ld characters", n->min_length);
            ok = false;
        }
        if (n->max_length >= 0 && (long)len > n->max_length) {
            issue(v, false, "must be at most %ld characters", n->max_length);
            ok = false;
        }
    }
    if (n->has_pattern && !sdat_schema_pattern_match(&n->pattern, s)) {
        issue(v, false, "does not match the pattern");
        ok = false;
    }
    if (n->format) {
        /* A NUL inside the string would hide the rest from the C checkers. */
        if (strlen(s) != json_string_length(x)) {
            issue(v, n->lenient, "%s", "contains a NUL character");
            ok = ok && n->lenient;
        } else if (n->format_check && !n->format_check(s)) {
            issue(v, n->lenient, "%s", n->format_message);
            ok = ok && n->lenient;
        }
    }
    return ok;
}

static bool validate_number(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    double d = json_number_value(x);
    if (n->has_minimum && d < n->minimum) {
        issue(v, false, "must be at least %g", n->minimum);
        ok = false;
    }
    if (n->has_maximum && d > n->maximum) {
        issue(v, false, "must be at most %g", n->maximum);
        ok = false;
    }
    if (n->has_exclusive_minimum && d <= n->exclusive_minimum) {
        issue(v, false, "must be greater than %g", n->exclusive_minimum);
        ok = false;
    }
    if (n->has_exclusive_maximum && d >= n->exclusive_maximum) {
        issue(v, false, "must be less than %g", n->exclusive_maximum);
        ok = false;
    }
    if (n->has_multiple_of && n->multiple_of > 0) {
        double q = d / n->multiple_of;
        if (!isfinite(q) || fabs(q - nearbyint(q)) > 1e-9 * fmax(1.0, fabs(q))) {
            issue(v, false, "must be a multiple of %g", n->multiple_of);
            ok = false;
        }
    }
    return ok;
}

/* The keywords that apply whatever the instance's type: const, enum. */
static bool validate_values(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    if (n->has_const && !equal(x, n->const_value)) {
        issue(v, false, "must be the constant value the schema gives");
        ok = false;
    }
    if (n->enum_values) {
        bool found = false;
        size_t i;
        json_t *e;
        json_array_foreach(n->enum_values, i, e)
        {
            if (equal(x, e)) {
                found = true;
                break;
            }
        }
        if (!found && v->silent) {
            return false; /* a probe: no message to build */
        }
        if (!found) {
            /* The message is built only for an instance that fails. */
            char list[160] = "";
            json_array_foreach(n->enum_values, i, e)
            {
                if (json_is_string(e) && strlen(list) + strlen(json_string_value(e)) + 3 < sizeof list) {
                    strcat(list, i ? ", " : "");
                    strcat(list, json_string_value(e));
                }
            }
            issue(v, false, "must be one of: %s", list[0] ? list : "the listed values");
            ok = false;
        }
    }
    return ok;
}

/* allOf, anyOf, oneOf, not and if/then/else. */
static bool validate_combinators(struct vctx *v, const struct node *n, const json_t *x)
{
    bool ok = true;
    for (size_t i = 0; i < n->n_all_of; i++) {
        ok = validate(v, n->all_of[i], x) && ok;
        if (!ok && v->silent) {
            return false;
        }
    }
    if (n->n_any_of) {
        bool any = false;
        for (size_t i = 0; i < n->n_any_of && !any; i++) {
            any = probe(v, n->any_of[i], x);
        }
        if (!any) {
            issue(v, false, "must match at least one of the allowed shapes");
            ok = false;
        }
    }
    if (n->n_one_of) {
        size_t matches = 0;
        for (size_t i = 0; i < n->n_one_of; i++) {
            matches += probe(v, n->one_of[i], x);
        }
        if (matches != 1) {
            if (matches == 0) {
                issue(v, false, "must match exactly one of the allowed shapes; matches none");
            } else {
                issue(v, false, "must match exactly one of the allowed shapes; matches %zu",
                      matches);
            }
            ok = false;
        }
    }
    if (n->not_ && probe(v, n->not_, x)) {
        issue(v, false, "must not match the excluded shape");
        ok = false;
    }
    if (n->if_) {
        if (probe(v, n->if_, x)) {
            ok = (!n->then_ || validate(v, n->then_, x)) && ok;
        } else {
            ok = (!n->else_ || validate(v, n->else_, x)) && ok;
        }
    }
    return ok;
}

/* Silently (v->silent > 0) only the answer counts, so the first failing
 * keyword ends the check; otherwise every keyword runs, in the same order,
 * so that every issue is reported. */
static bool validate(struct vctx *v, const struct node *n, const json_t *x)
{
    if (n->is_bool) {
        if (!n->bool_value) {
            issue(v, false, "no value is allowed here");
        }
        return n->bool_value;
    }
    if (v->depth >= SDAT_SCHEMA_MAX_DEPTH) {
        issue(v, false, "nested deeper than %d levels", SDAT_SCHEMA_MAX_DEPTH);
        return false;
    }
    v->depth++;
    bool ok = true;
    if (n->ref) {
        ok = validate(v, n->ref, x);
    }
    if (n->has_types && !(type_bits(x) & n->types)) {
        issue(v, false, "must be %s", type_word(n->types));
        v->depth--;
        return false; /* the other keywords would only repeat this */
    }
    if (n->has_const || n->enum_values) {
        ok = validate_values(v, n, x) && ok;
    }
    if (!ok && v->silent) {
        goto out;
    }
    switch (json_typeof(x)) {
    case JSON_OBJECT:
        ok = validate_object(v, n, x) && ok;
        break;
    case JSON_ARRAY:
        ok = validate_array(v, n, x) && ok;
        break;
    case JSON_STRING:
        ok = validate_string(v, n, x) && ok;
        break;
    case JSON_INTEGER:
    case JSON_REAL:
        ok = validate_number(v, n, x) && ok;
        break;
    default:
        break;
    }
    if (!ok && v->silent) {
        goto out;
    }
    ok = validate_combinators(v, n, x) && ok;
out:
    v->depth--;
    return ok;
}

int sdat_schema_validate(const sdat_schema_t *schema, const json_t *instance,
                         struct sdat_validation *ret)
{
    struct vctx v = {.out = ret};
    ret->n_errors = ret->n_warnings = 0;
    ret->truncated = false;
    bool ok = validate(&v, schema->root, instance);
    return ok && ret->n_errors == 0 ? 0 : 1;
}
