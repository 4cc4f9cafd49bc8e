/* The configuration table and the libconfig parser it drives. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"

void diag_add(struct diag *d, const char *file, int line, const char *key, const char *fmt, ...)
{
    char msg[768], full[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    int n = snprintf(full, sizeof full, "%s:%d: %s: %s\n", file ? file : "?", line, key, msg);
    if (n < 0) {
        return;
    }
    size_t add = (size_t)n < sizeof full ? (size_t)n : sizeof full - 1;
    char *grown = realloc(d->text, d->len + add + 1);
    if (!grown) {
        return;
    }
    memcpy(grown + d->len, full, add + 1);
    d->text = grown;
    d->len += add;
    d->count++;
}

struct parse {
    struct diag *d;
    struct config_origins *origins;
    const char *main_file;
    const char *include_dir; /* NULL when the main file has no directory part */
    char *names[64];         /* included files' paths, owned, freed after loading */
    size_t n_names;
    const struct sdat_key_table *const *connectors; /* NULL-terminated; may be NULL */
};

/* Key paths are short (the deepest is "recipients.[N].secret_file_next");
 * an over-long one is cut, never overflowed. */
void config_path_join(char *out, size_t outlen, const char *a, const char *sep, const char *b)
{
    if (snprintf(out, outlen, "%s%s%s", a, sep, b) >= (int)outlen) {
        out[outlen - 1] = '\0';
    }
}

static char *xstrdup(const char *s)
{
    char *c = strdup(s);
    if (!c) {
        abort(); /* configuration is loaded at start and reload only */
    }
    return c;
}

/* The file a setting came from; an @include'd file is named by its path
 * relative to the main file's directory, as an operator would open it. */
static const char *file_of(struct parse *p, const config_setting_t *s)
{
    const char *f = s ? config_setting_source_file(s) : NULL;
    if (!f || strcmp(f, p->main_file) == 0) {
        return p->main_file;
    }
    if (f[0] == '/' || !p->include_dir) {
        return f;
    }
    char joined[4096];
    snprintf(joined, sizeof joined, "%s/%s", p->include_dir, f);
    for (size_t i = 0; i < p->n_names; i++) {
        if (strcmp(p->names[i], joined) == 0) {
            return p->names[i];
        }
    }
    if (p->n_names == sizeof p->names / sizeof p->names[0]) {
        return f;
    }
    p->names[p->n_names] = xstrdup(joined);
    return p->names[p->n_names++];
}

static int line_of(const config_setting_t *s)
{
    int line = s ? config_setting_source_line(s) : 0;
    return line > 0 ? line : 1;
}

const char *config_type_name(enum sdat_key_type t)
{
    static const char *const names[] = {
        "a string", "a boolean", "an integer", "a number", "a string",
        "an array of strings", "a time \"HH:MM\"", "an array of weekday names",
        "a list of [ \"FIRST\", \"LAST\" ] date pairs", "an array of dates",
        "a string of 64 hex digits", "an array of role names",
        "a list of ( \"name\", \"value\" ) pairs", "a group { … }", "a list ( { … }, … )",
    };
    return names[t];
}

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
        *(char **)at = xstrdup(k->def);
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

static void parse_group(struct parse *p, const struct sdat_key *keys, const config_setting_t *group,
                        char *base, const char *path);
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
            diag_add(p->d, file_of(p, e), line_of(e), path, "element %d must be a string", i);
            continue;
        }
        out->v[out->n++] = xstrdup(v);
    }
}

static bool value_string(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                         char *base, const char *path)
{
    (void)p;
    (void)path;
    void *at = base + k->offset;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_STRING) {
        return false;
    }
    free(*(char **)at);
    *(char **)at = xstrdup(config_setting_get_string(s));
    return true;
}

static bool value_bool(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                       char *base, const char *path)
{
    (void)p;
    (void)path;
    void *at = base + k->offset;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_BOOL) {
        return false;
    }
    *(bool *)at = config_setting_get_bool(s);
    return true;
}

static bool value_number(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                         char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    if (!is_number(s)) {
        return false;
    }
    double v = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                      : (double)config_setting_get_int64(s);
    if (k->type == SDAT_KEY_INT && v != (double)(long long)v) {
        diag_add(p->d, file, line, path, "%g is not a whole number", v);
        return true;
    }
    if (v < k->min || v > k->max) {
        diag_add(p->d, file, line, path, "%g is out of range (%g to %g)", v, k->min, k->max);
        return true;
    }
    if (k->type == SDAT_KEY_INT) {
        *(int *)at = (int)v;
    } else {
        *(double *)at = v;
    }
    return true;
}

static bool value_enum(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                       char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_STRING) {
        return false;
    }
    const char *v = config_setting_get_string(s);
    for (int i = 0; k->names[i]; i++) {
        if (strcmp(k->names[i], v) == 0) {
            *(int *)at = i;
            return true;
        }
    }
    char list[256] = "";
    for (int i = 0; k->names[i]; i++) {
        strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
        strncat(list, k->names[i], sizeof list - strlen(list) - 1);
    }
    diag_add(p->d, file, line, path, "\"%s\" is not one of %s", v, list);
    return true;
}

static bool value_strv(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                       char *base, const char *path)
{
    void *at = base + k->offset;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        return false;
    }
    parse_strings(p, s, path, (struct sdat_strv *)at);
    return true;
}

static bool value_time(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                       char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_STRING) {
        return false;
    }
    int v = parse_time(config_setting_get_string(s));
    if (v < 0) {
        diag_add(p->d, file, line, path, "\"%s\" is not a time HH:MM",
                 config_setting_get_string(s));
        return true;
    }
    *(int *)at = v;
    return true;
}

static bool value_weekdays(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                           char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        return false;
    }
    unsigned mask = 0, one;
    for (int i = 0; i < config_setting_length(s); i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
        if (!v || strchr(v, ',') || parse_weekdays_text(v, &one) < 0) {
            diag_add(p->d, file, line, path, "element %d is not one of mon, tue, wed, thu, "
                     "fri, sat, sun", i);
            return true;
        }
        mask |= one;
    }
    *(unsigned *)at = mask;
    return true;
}

static bool value_dates(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        return false;
    }
    int n = config_setting_length(s);
    int32_t *dates = calloc((size_t)n + 1, sizeof *dates);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
        bool ok = v != NULL;
        int32_t day = ok ? config_date(v, &ok) : 0;
        if (!ok) {
            diag_add(p->d, file, line, path, "element %d \"%s\" is not a real date "
                     "YYYY-MM-DD", i, v ? v : "");
            continue;
        }
        dates[count++] = day;
    }
    *(int32_t **)at = dates;
    *(size_t *)(base + k->count_offset) = count;
    return true;
}

static bool value_terms(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    void *at = base + k->offset;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
        return false;
    }
    int n = config_setting_length(s);
    struct sdat_date_range *terms = calloc((size_t)n + 1, sizeof *terms);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *a = config_setting_get_string_elem(e, 0);
        const char *b = config_setting_get_string_elem(e, 1);
        bool ok1 = a != NULL, ok2 = b != NULL;
        if (config_setting_length(e) != 2 || !ok1 || !ok2) {
            diag_add(p->d, file_of(p, e), line_of(e), path,
                     "term %d must be [ \"FIRST\", \"LAST\" ]", i);
            continue;
        }
        int32_t first = config_date(a, &ok1), last = config_date(b, &ok2);
        if (!ok1 || !ok2) {
            diag_add(p->d, file_of(p, e), line_of(e), path,
                     "term %d: \"%s\" is not a real date YYYY-MM-DD", i, ok1 ? b : a);
            continue;
        }
        terms[count].first = first;
        terms[count].last = last;
        count++;
    }
    *(struct sdat_date_range **)at = terms;
    *(size_t *)(base + k->count_offset) = count;
    return true;
}

static bool value_sha256(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                         char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    const char *v = t == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
    unsigned char *out = at;
    if (!v) {
        return false;
    }
    if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64) {
        diag_add(p->d, file, line, path, "must be 64 hex digits (the token's SHA-256)");
        return true;
    }
    for (int i = 0; i < 32; i++) {
        unsigned byte;
        sscanf(v + 2 * i, "%2x", &byte);
        out[i] = (unsigned char)byte;
    }
    return true;
}

static bool value_roles(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);
    static const char *const roles[] = {"lookup", "ack", "operator", "metrics"};
    if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
        return false;
    }
    unsigned mask = 0;
    for (int i = 0; i < config_setting_length(s); i++) {
        const char *v = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
        int found = -1;
        for (int r = 0; v && r < 4; r++) {
            if (strcmp(v, roles[r]) == 0) {
                found = r;
            }
        }
        if (found < 0) {
            diag_add(p->d, file, line, path, "\"%s\" is not one of lookup, ack, operator, "
                     "metrics", v ? v : "");
            continue;
        }
        mask |= 1u << found;
    }
    *(unsigned *)at = mask;
    return true;
}

static bool value_props(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    void *at = base + k->offset;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST) {
        return false;
    }
    int n = config_setting_length(s);
    struct sdat_kafka_property *props = calloc((size_t)n + 1, sizeof *props);
    size_t count = 0;
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        const char *name = config_setting_get_string_elem(e, 0);
        const char *value = config_setting_get_string_elem(e, 1);
        if (config_setting_length(e) != 2 || !name || !value) {
            diag_add(p->d, file_of(p, e), line_of(e), path,
                     "element %d must be ( \"name\", \"value\" )", i);
            continue;
        }
        props[count].name = xstrdup(name);
        props[count].value = xstrdup(value);
        count++;
    }
    *(struct sdat_kafka_property **)at = props;
    *(size_t *)(base + k->count_offset) = count;
    return true;
}

static bool value_group(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_GROUP) {
        return false;
    }
    parse_group(p, k->sub, s, base, path);
    return true;
}

static bool value_list(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                       char *base, const char *path)
{
    void *at = base + k->offset;
    int t = config_setting_type(s);
    if (t != CONFIG_TYPE_LIST) {
        return false;
    }
    int n = config_setting_length(s);
    char *elems = calloc((size_t)n + 1, k->elem_size);
    struct origin *origins = calloc((size_t)n + 1, sizeof *origins);
    for (int i = 0; i < n; i++) {
        const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
        char epath[256];
        char index[16];
        snprintf(index, sizeof index, "%d", i);
        config_path_join(epath, sizeof epath, path, ".[", index);
        strncat(epath, "]", sizeof epath - strlen(epath) - 1);
        origins[i].file = file_of(p, e);
        origins[i].line = line_of(e);
        if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
            diag_add(p->d, file_of(p, e), line_of(e), epath, "must be a group { … }");
            continue;
        }
        if (k->flags & SDAT_KEY_CONNECTORS) {
            parse_recipient(p, k->sub, e, elems + (size_t)i * k->elem_size, epath);
        } else {
            parse_group(p, k->sub, e, elems + (size_t)i * k->elem_size, epath);
        }
    }
    *(char **)at = elems;
    *(size_t *)(base + k->count_offset) = (size_t)n;
    *(struct origin **)((char *)p->origins + k->origins_offset) = origins;
    return true;
}

/* Parses setting s for key k into base; a wrong type or value is reported
 * at s. */
static void parse_value(struct parse *p, const struct sdat_key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    static bool (*const parsers[])(struct parse *, const struct sdat_key *,
                                   const config_setting_t *, char *, const char *) = {
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
    if (!parsers[k->type](p, k, s, base, path)) {
        diag_add(p->d, file_of(p, s), line_of(s), path, "must be %s", config_type_name(k->type));
    }
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
            diag_add(p->d, file_of(p, s), line_of(s), kpath, "unknown key");
        } else if (other_connectors) {
            diag_add(p->d, file_of(p, s), line_of(s), kpath,
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
            diag_add(p->d, file_of(p, group), line_of(group), kpath, "is required");
        } else if (k->type == SDAT_KEY_GROUP) {
            parse_group(p, k->sub, NULL, base, kpath); /* defaults */
        }
    }
}

static void parse_group(struct parse *p, const struct sdat_key *keys, const config_setting_t *group,
                        char *base, const char *path)
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

static void free_strv(struct sdat_strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i]);
    }
    free(v->v);
}

/* Frees what the table put into base, recursively. */
static void free_group(const struct sdat_key *keys, char *base)
{
    for (const struct sdat_key *k = keys; k->name; k++) {
        void *at = base + k->offset;
        switch (k->type) {
        case SDAT_KEY_STRING:
            free(*(char **)at);
            break;
        case SDAT_KEY_STRV:
            free_strv((struct sdat_strv *)at);
            break;
        case SDAT_KEY_TERMS:
        case SDAT_KEY_DATES:
            free(*(void **)at);
            break;
        case SDAT_KEY_PROPS: {
            struct sdat_kafka_property *props = *(struct sdat_kafka_property **)at;
            size_t n = *(size_t *)(base + k->count_offset);
            for (size_t i = 0; props && i < n; i++) {
                free(props[i].name);
                if (props[i].value) {
                    /* a secret read from @file: is wiped before it is freed */
                    explicit_bzero(props[i].value, strlen(props[i].value));
                }
                free(props[i].value);
            }
            free(props);
            break;
        }
        case SDAT_KEY_GROUP:
            free_group(k->sub, base);
            break;
        case SDAT_KEY_LIST: {
            char *elems = *(char **)at;
            size_t n = *(size_t *)(base + k->count_offset);
            for (size_t i = 0; elems && i < n; i++) {
                free_group(k->sub, elems + i * k->elem_size);
            }
            free(elems);
            break;
        }
        default:
            break;
        }
    }
}

void sdat_config_free(struct sdat_config *cfg)
{
    if (!cfg) {
        return;
    }
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        struct sdat_recipient *r = &cfg->recipients[i];
        free(r->file);
        if (r->connector_conf) {
            free_group(r->connector_keys->keys, r->connector_conf);
            free(r->connector_conf);
        }
    }
    free_group(config_root_keys, (char *)cfg);
    free(cfg->path);
    free(cfg);
}

static void free_origins(struct config_origins *o)
{
    free(o->calendars);
    free(o->areas);
    free(o->forces);
    free(o->recipients);
    free(o->tokens);
}

int sdat_config_load(const char *path, const struct sdat_key_table *const *connectors,
                     struct sdat_config **ret_cfg, char **ret_errors)
{
    config_t lc;
    struct diag d = {0};
    struct config_origins origins = {0};
    struct parse p = {0};
    struct sdat_config *cfg = calloc(1, sizeof *cfg);
    int r = -EINVAL;

    *ret_errors = NULL;
    if (!cfg) {
        return -ENOMEM;
    }
    cfg->path = xstrdup(path);
    config_init(&lc);
    config_set_options(&lc, CONFIG_OPTION_AUTOCONVERT);
    /* @include paths are relative to the main file's directory. */
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) {
        *slash = '\0';
        config_set_include_dir(&lc, dir[0] ? dir : "/");
    }
    if (!config_read_file(&lc, path)) {
        if (config_error_type(&lc) == CONFIG_ERR_FILE_IO) {
            diag_add(&d, path, 1, "(file)", "cannot read the file");
        } else {
            diag_add(&d, config_error_file(&lc) ? config_error_file(&lc) : path,
                     config_error_line(&lc), "(syntax)", "%s", config_error_text(&lc));
        }
        goto out;
    }
    p.d = &d;
    p.origins = &origins;
    p.connectors = connectors;
    p.main_file = path;
    p.include_dir = slash ? (dir[0] ? dir : "/") : NULL;
    const config_setting_t *root = config_root_setting(&lc);
    origins.root.file = path;
    origins.root.line = 1;
    const config_setting_t *matching = config_setting_get_member(root, "matching");
    origins.matching.file = matching ? file_of(&p, matching) : path;
    origins.matching.line = matching ? line_of(matching) : 1;
    const config_setting_t *kafka = config_setting_get_member(root, "kafka");
    origins.kafka.file = kafka ? file_of(&p, kafka) : path;
    origins.kafka.line = kafka ? line_of(kafka) : 1;
    parse_group(&p, config_root_keys, root, (char *)cfg, "");
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        cfg->recipients[i].file = xstrdup(origins.recipients[i].file);
        cfg->recipients[i].line = origins.recipients[i].line;
        cfg->recipients[i].index = i;
    }
    if (!cfg->instance_id || !cfg->instance_id[0]) {
        char host[256] = "sdat";
        gethostname(host, sizeof host - 1);
        free(cfg->instance_id);
        cfg->instance_id = xstrdup(host);
    }
    if (d.count == 0) {
        config_check(cfg, &origins, &d);
    }
    r = d.count == 0 ? 0 : -EINVAL;
out:
    free(dir);
    for (size_t i = 0; i < p.n_names; i++) {
        free(p.names[i]);
    }
    config_destroy(&lc);
    free_origins(&origins);
    if (r < 0) {
        sdat_config_free(cfg);
        *ret_errors = d.text;
        return r;
    }
    free(d.text);
    *ret_cfg = cfg;
    return 0;
}

const struct sdat_recipient *sdat_config_recipient(const struct sdat_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_recipients; i++) {
        if (strcmp(cfg->recipients[i].id, id) == 0) {
            return &cfg->recipients[i];
        }
    }
    return NULL;
}

const struct sdat_recipient *sdat_config_school_by_urn(const struct sdat_config *cfg,
                                                       const char *urn)
{
    for (size_t i = 0; urn && i < cfg->n_recipients; i++) {
        const struct sdat_recipient *r = &cfg->recipients[i];
        if (r->kind == SDAT_KIND_SCHOOL && r->urn && strcmp(r->urn, urn) == 0) {
            return r;
        }
    }
    return NULL;
}

const struct sdat_area *sdat_config_area(const struct sdat_config *cfg, const char *la_code)
{
    for (size_t i = 0; la_code && i < cfg->n_areas; i++) {
        if (strcmp(cfg->areas[i].la_code, la_code) == 0) {
            return &cfg->areas[i];
        }
    }
    return NULL;
}

const struct sdat_force *sdat_config_force(const struct sdat_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_forces; i++) {
        if (strcmp(cfg->forces[i].id, id) == 0) {
            return &cfg->forces[i];
        }
    }
    return NULL;
}

const struct sdat_calendar *sdat_config_calendar(const struct sdat_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_calendars; i++) {
        if (strcmp(cfg->calendars[i].id, id) == 0) {
            return &cfg->calendars[i];
        }
    }
    return NULL;
}
