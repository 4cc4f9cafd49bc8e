/* The libconfig parser the key tables drive: one function per key type,
 * unknown keys, defaults, required keys, and each recipient's connector
 * keys (SDAT_KEY_CONNECTORS). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_internal.h"

static bool is_number(const config_setting_t *s)
{
    int t = config_setting_type(s);
    return t == CONFIG_TYPE_INT || t == CONFIG_TYPE_INT64 || t == CONFIG_TYPE_FLOAT;
}


static int parse_time(const char *s)
{
    if (strlen(s) != 5 || s[2] != ':' || s[0] < '0' || s[0] > '2' || s[1] < '0' || s[1] > '9' ||
        s[3] < '0' || s[3] > '5' || s[4] < '0' || s[4] > '9') {
        return -1;
    }
    int h = (s[0] - '0') * 10 + s[1] - '0', m = (s[3] - '0') * 10 + s[4] - '0';
    return h > 23 ? -1 : h * 60 + m;
}


static int parse_weekdays_text(const char *list, unsigned *mask)
{
    static const char *const days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    *mask = 0;
    const char *p = list;
    while (*p) {
        size_t len = strcspn(p, ",");
        int found = -1;
        for (int i = 0; i < 7; i++) {
            if (len == 3 && strncmp(p, days[i], 3) == 0) {
                found = i;
            }
        }
        if (found < 0) {
            return -1;
        }
        *mask |= 1u << found;
        p += len;
        p += *p == ',';
    }
    return 0;
}

/* Stores the default of key k into base (only scalar types have one). */
static void set_default(const struct sdat_key *k, char *base)
{
    void *at = base + k->offset;
    if (!k->def) {
        return;
    }
    switch (k->type) {
    case SDAT_KEY_STRING:
        *(char **)at = config_strdup(k->def);
        break;
    case SDAT_KEY_BOOL:
        *(bool *)at = strcmp(k->def, "true") == 0;
        break;
    case SDAT_KEY_INT:
        *(int *)at = atoi(k->def);
        break;
    case SDAT_KEY_NUMBER:
        *(double *)at = strtod(k->def, NULL);
        break;
    case SDAT_KEY_ENUM:
        for (int i = 0; k->names[i]; i++) {
            if (strcmp(k->names[i], k->def) == 0) {
                *(int *)at = i;
            }
        }
        break;
    case SDAT_KEY_TIME:
        *(int *)at = parse_time(k->def);
        break;
    case SDAT_KEY_WEEKDAYS:
        parse_weekdays_text(k->def, (unsigned *)at);
        break;
    default:
        break;
    }
}

static void parse_recipient(struct parse *p, const struct sdat_key *keys,
                            const config_setting_t *group, char *base, const char *path);

static void parse_strings(struct parse *p, const config_setting_t *s, const char *path,
                          struct sdat_strv *out)
{
    int n = config_setting_length(s);
    out->v = calloc((size_t)n + 1, sizeof *out->v);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *v = config_setting_get_string(e);
        if (!v) {
            diag_add(p->d, config_file_of(p, e), config_line_of(e), path,
                     "element %d must be a string", i);
            continue;
        }
        out->v[out->n++] = config_strdup(v);
    }
}

/* One setting being parsed for one key. */
struct value {
    struct parse *p;
    const struct sdat_key *k;
    const config_setting_t *s;
    char *base;     /* the struct the table fills */
    void *at;       /* base + k->offset */
    const char *path;
    const char *file; /* where s is */
    int line;
    int type; /* s's libconfig type */
};

static bool value_string(const struct value *in)
{
    if (in->type != CONFIG_TYPE_STRING) {
        return false;
    }
    free(*(char **)in->at);
    *(char **)in->at = config_strdup(config_setting_get_string(in->s));
    return true;
}

static bool value_bool(const struct value *in)
{
    if (in->type != CONFIG_TYPE_BOOL) {
        return false;
    }
    *(bool *)in->at = config_setting_get_bool(in->s);
    return true;
}

static bool value_number(const struct value *in)
{
    if (!is_number(in->s)) {
        return false;
    }
    double v = in->type == CONFIG_TYPE_FLOAT ? config_setting_get_float(in->s)
                                      : (double)config_setting_get_int64(in->s);
    if (in->k->type == SDAT_KEY_INT && v != (double)(long long)v) {
        diag_add(in->p->d, in->file, in->line, in->path, "%g is not a whole number", v);
        return true;
    }
    if (v < in->k->min || v > in->k->max) {
        diag_add(in->p->d, in->file, in->line, in->path, "%g is out of range (%g to %g)", v,
                 in->k->min, in->k->max);
        return true;
    }
    if (in->k->type == SDAT_KEY_INT) {
        *(int *)in->at = (int)v;
    } else {
        *(double *)in->at = v;
    }
    return true;
}

static bool value_enum(const struct value *in)
{
    if (in->type != CONFIG_TYPE_STRING) {
        return false;
    }
    const char *v = config_setting_get_string(in->s);
    for (int i = 0; in->k->names[i]; i++) {
        if (strcmp(in->k->names[i], v) == 0) {
            *(int *)in->at = i;
            return true;
        }
    }
    char list[256] = "";
    for (int i = 0; in->k->names[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, in->k->names[i], sizeof list - strlen(list) - 1);
    }
    diag_add(in->p->d, in->file, in->line, in->path, "\"%s\" is not one of %s", v, list);
    return true;
}

static bool value_strv(const struct value *in)
{
    if (in->type != CONFIG_TYPE_ARRAY && in->type != CONFIG_TYPE_LIST) {
        return false;
    }
    parse_strings(in->p, in->s, in->path, (struct sdat_strv *)in->at);
    return true;
}

static bool value_time(const struct value *in)
{
    if (in->type != CONFIG_TYPE_STRING) {
        return false;
    }
    int v = parse_time(config_setting_get_string(in->s));
    if (v < 0) {
        diag_add(in->p->d, in->file, in->line, in->path, "\"%s\" is not a time HH:MM",
                 config_setting_get_string(in->s));
        return true;
    }
    *(int *)in->at = v;
    return true;
}

static bool value_weekdays(const struct value *in)
{
    if (in->type != CONFIG_TYPE_ARRAY && in->type != CONFIG_TYPE_LIST) {
        return false;
    }
    unsigned mask = 0, one;
    for (int i = 0; i < config_setting_length(in->s); i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(in->s, (unsigned)i));
        if (!v || strchr(v, ',') || parse_weekdays_text(v, &one) < 0) {
            diag_add(in->p->d, in->file, in->line, in->path,
                     "element %d is not one of mon, tue, wed, thu, "
                     "fri, sat, sun", i);
            return true;
        }
        mask |= one;
    }
    *(unsigned *)in->at = mask;
    return true;
}

static bool value_dates(const struct value *in)
{
    if (in->type != CONFIG_TYPE_ARRAY && in->type != CONFIG_TYPE_LIST) {
        return false;
    }
    int n = config_setting_length(in->s);
    int32_t *dates = calloc((size_t)n + 1, sizeof *dates);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(in->s, (unsigned)i));
        bool ok = v != NULL;
        int32_t day = ok ? config_date(v, &ok) : 0;
        if (!ok) {
            diag_add(in->p->d, in->file, in->line, in->path, "element %d \"%s\" is not a real date "
                     "YYYY-MM-DD", i, v ? v : "");
            continue;
        }
        dates[count++] = day;
    }
    *(int32_t **)in->at = dates;
    *(size_t *)(in->base + in->k->count_offset) = count;
    return true;
}

static bool value_terms(const struct value *in)
{
    if (in->type != CONFIG_TYPE_LIST && in->type != CONFIG_TYPE_ARRAY) {
        return false;
    }
    int n = config_setting_length(in->s);
    struct sdat_date_range *terms = calloc((size_t)n + 1, sizeof *terms);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(in->s, (unsigned)i);
        const char *a = config_setting_get_string_elem(e, 0);
        const char *b = config_setting_get_string_elem(e, 1);
        bool ok1 = a != NULL, ok2 = b != NULL;
        if (config_setting_length(e) != 2 || !ok1 || !ok2) {
            diag_add(in->p->d, config_file_of(in->p, e), config_line_of(e), in->path,
                     "term %d must be [ \"FIRST\", \"LAST\" ]", i);
            continue;
        }
        int32_t first = config_date(a, &ok1), last = config_date(b, &ok2);
        if (!ok1 || !ok2) {
            diag_add(in->p->d, config_file_of(in->p, e), config_line_of(e), in->path,
                     "term %d: \"%s\" is not a real date YYYY-MM-DD", i, ok1 ? b : a);
            continue;
        }
        terms[count].first = first;
        terms[count].last = last;
        count++;
    }
    *(struct sdat_date_range **)in->at = terms;
    *(size_t *)(in->base + in->k->count_offset) = count;
    return true;
}

static bool value_sha256(const struct value *in)
{
    const char *v = in->type == CONFIG_TYPE_STRING ? config_setting_get_string(in->s) : NULL;
    unsigned char *out = in->at;
    if (!v) {
        return false;
    }
    if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64) {
        diag_add(in->p->d, in->file, in->line, in->path,
                 "must be 64 hex digits (the token's SHA-256)");
        return true;
    }
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        sscanf(v + 2 * i, "%2x", &byte);
        out[i] = (unsigned char)byte;
    }
    return true;
}

static bool value_roles(const struct value *in)
{
    static const char *const roles[] = {"lookup", "ack", "operator", "metrics", "auditor"};
    if (in->type != CONFIG_TYPE_ARRAY && in->type != CONFIG_TYPE_LIST) {
        return false;
    }
    unsigned mask = 0;
    for (int i = 0; i < config_setting_length(in->s); i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(in->s, (unsigned)i));
        int found = -1;
        for (int r = 0; v && r < 5; r++) {
            if (strcmp(v, roles[r]) == 0) {
                found = r;
            }
        }
        if (found < 0) {
            diag_add(in->p->d, in->file, in->line, in->path,
                     "\"%s\" is not one of lookup, ack, operator, "
                     "metrics, auditor", v ? v : "");
            continue;
        }
        mask |= 1u << found;
    }
    *(unsigned *)in->at = mask;
    return true;
}

static bool value_props(const struct value *in)
{
    if (in->type != CONFIG_TYPE_LIST) {
        return false;
    }
    int n = config_setting_length(in->s);
    struct sdat_kafka_property *props = calloc((size_t)n + 1, sizeof *props);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(in->s, (unsigned)i);
        const char *name = config_setting_get_string_elem(e, 0);
        const char *value = config_setting_get_string_elem(e, 1);
        if (config_setting_length(e) != 2 || !name || !value) {
            diag_add(in->p->d, config_file_of(in->p, e), config_line_of(e), in->path,
                     "element %d must be ( \"name\", \"value\" )", i);
            continue;
        }
        props[count].name = config_strdup(name);
        props[count].value = config_strdup(value);
        count++;
    }
    *(struct sdat_kafka_property **)in->at = props;
    *(size_t *)(in->base + in->k->count_offset) = count;
    return true;
}

static bool value_group(const struct value *in)
{
    if (in->type != CONFIG_TYPE_GROUP) {
        return false;
    }
    config_parse_group(in->p, in->k->sub, in->s, in->base, in->path);
    return true;
}

static bool value_list(const struct value *in)
{
    if (in->type != CONFIG_TYPE_LIST) {
        return false;
    }
    int n = config_setting_length(in->s);
    char *elems = calloc((size_t)n + 1, in->k->elem_size);
    struct origin *origins = calloc((size_t)n + 1, sizeof *origins);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(in->s, (unsigned)i);
        char epath[256];
        char index[16];
        snprintf(index, sizeof index, "%d", i);
        config_path_join(epath, sizeof epath, in->path, ".[", index);
        strncat(epath, "]", sizeof epath - strlen(epath) - 1);
        origins[i].file = config_file_of(in->p, e);
        origins[i].line = config_line_of(e);
        config_origin_record(in->p->origins, epath, origins[i].file, origins[i].line,
                             config_setting_type(e) == CONFIG_TYPE_GROUP);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            diag_add(in->p->d, config_file_of(in->p, e), config_line_of(e), epath,
                     "must be a group { … }");
            continue;
        }
        if (in->k->flags & SDAT_KEY_CONNECTORS) {
            parse_recipient(in->p, in->k->sub, e, elems + (size_t)i * in->k->elem_size, epath);
        } else {
            config_parse_group(in->p, in->k->sub, e, elems + (size_t)i * in->k->elem_size, epath);
        }
    }
    *(char **)in->at = elems;
    *(size_t *)(in->base + in->k->count_offset) = (size_t)n;
    *(struct origin **)((char *)in->p->origins + in->k->origins_offset) = origins;
    return true;
}

/* Parses setting s for key k into base; a wrong type or value is reported
 * at s. */
static void parse_value(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    static bool (*const parsers[])(const struct value *) = {
        [SDAT_KEY_STRING] = value_string,
        [SDAT_KEY_BOOL] = value_bool,
        [SDAT_KEY_INT] = value_number,
        [SDAT_KEY_NUMBER] = value_number,
        [SDAT_KEY_ENUM] = value_enum,
        [SDAT_KEY_STRV] = value_strv,
        [SDAT_KEY_TIME] = value_time,
        [SDAT_KEY_WEEKDAYS] = value_weekdays,
        [SDAT_KEY_DATES] = value_dates,
        [SDAT_KEY_TERMS] = value_terms,
        [SDAT_KEY_SHA256] = value_sha256,
        [SDAT_KEY_ROLES] = value_roles,
        [SDAT_KEY_PROPS] = value_props,
        [SDAT_KEY_GROUP] = value_group,
        [SDAT_KEY_LIST] = value_list,
    };
    const struct value in = {.p = p,
                             .k = k,
                             .s = s,
                             .base = base,
                             .at = base + k->offset,
                             .path = path,
                             .file = config_file_of(p, s),
                             .line = config_line_of(s),
                             .type = config_setting_type(s)};
    int problems = p->d->count;
    /* Recorded first: the checks across keys find a list element's or a
     * group's line under the key's. */
    size_t at = p->origins->n_keys;
    config_origin_record(p->origins, path, in.file, in.line, true);
    if (!parsers[k->type](&in)) {
        diag_add(p->d, in.file, in.line, path, "must be %s", config_type_name(k->type));
    }
    p->origins->keys[at].ok = p->d->count == problems;
}

const struct sdat_key *config_key_find(const struct sdat_key *keys, const char *name)
{
    for (const struct sdat_key *k = keys; k && k->name; k++) {
        if (name && strcmp(k->name, name) == 0) {
            return k;
        }
    }
    return NULL;
}

/* The keys of group, in file order, that are in neither keys nor extra:
 * "unknown key", or, where another connector has such a key, that it is not
 * one of this connector's. With other_connectors false (the recipient's
 * connector is unknown: -t says so) another connector's key is let be. */
static void report_unknown(struct parse *p, const struct sdat_key *keys,
                           const struct sdat_key_table *extra, bool other_connectors,
                           const config_setting_t *group, const char *path)
{
    char kpath[320];
    for (int i = 0; group && i < config_setting_length(group); i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        if (config_key_find(keys, name) || (extra && config_key_find(extra->keys, name))) {
            continue;
        }
        const struct sdat_key_table *owner = NULL;
        for (size_t c = 0; p->connectors && p->connectors[c] && !owner; c++) {
            if (config_key_find(p->connectors[c]->keys, name)) {
                owner = p->connectors[c];
            }
        }
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", name ? name : "?");
        if (!owner) {
            diag_add(p->d, config_file_of(p, s), config_line_of(s), kpath, "unknown key");
        } else if (other_connectors) {
            diag_add(p->d, config_file_of(p, s), config_line_of(s), kpath,
                     "is a key of the %s connector, not of %s", owner->connector,
                     extra ? extra->connector : "this one");
        }
    }
}

/* The keys of the table from group into base: defaults first, then the
 * values given; a missing required key is reported at the group. */
static void parse_keys(struct parse *p, const struct sdat_key *keys, const config_setting_t *group,
                       char *base, const char *path)
{
    char kpath[320];
    for (const struct sdat_key *k = keys; k->name; k++) {
        config_path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        const config_setting_t *s = group ? config_setting_get_member(group, k->name) : NULL;
        if (k->type != SDAT_KEY_GROUP && k->type != SDAT_KEY_LIST) {
            set_default(k, base);
        }
        if (s) {
            parse_value(p, k, s, base, kpath);
        } else if (k->flags & SDAT_KEY_REQUIRED) {
            diag_add(p->d, config_file_of(p, group), config_line_of(group), kpath, "is required");
        } else if (k->type == SDAT_KEY_GROUP) {
            config_parse_group(p, k->sub, NULL, base, kpath); /* defaults */
        }
    }
}

void config_parse_group(struct parse *p, const struct sdat_key *keys,
                        const config_setting_t *group, char *base, const char *path)
{
    report_unknown(p, keys, NULL, false, group, path);
    parse_keys(p, keys, group, base, path);
}

static const struct sdat_key_table *connector_table(const struct parse *p, const char *name)
{
    for (size_t c = 0; name && p->connectors && p->connectors[c]; c++) {
        if (strcmp(p->connectors[c]->connector, name) == 0) {
            return p->connectors[c];
        }
    }
    return NULL;
}

/* A recipient: its own keys into base (a struct sdat_recipient), and its
 * connector's keys into a struct of the connector's (connector_conf). */
static void parse_recipient(struct parse *p, const struct sdat_key *keys,
                            const config_setting_t *group, char *base, const char *path)
{
    struct sdat_recipient *r = (struct sdat_recipient *)base;
    const char *name = NULL;
    config_setting_lookup_string(group, "connector", &name);
    const struct sdat_key_table *t = connector_table(p, name);
    report_unknown(p, keys, t, t != NULL, group, path);
    parse_keys(p, keys, group, base, path);
    if (!t) {
        return;
    }
    r->connector_conf = calloc(1, t->size ? t->size : 1);
    if (!r->connector_conf) {
        abort(); /* configuration is loaded at start and reload only */
    }
    r->connector_keys = t;
    parse_keys(p, t->keys, group, r->connector_conf, path);
}
