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

/* Key paths are short (the deepest is "recipients.[N].secret_file_next");
 * an over-long one is cut, never overflowed. */
void config_path_join(char *out, size_t outlen, const char *a, const char *sep, const char *b)
{
    if (snprintf(out, outlen, "%s%s%s", a, sep, b) >= (int)outlen) {
        out[outlen - 1] = '\0';
    }
}

char *config_strdup(const char *s)
{
    char *c = strdup(s);
    if (!c) {
        abort(); /* configuration is loaded at start and reload only */
    }
    return c;
}

/* The file a setting came from; an @include'd file is named by its path
 * relative to the main file's directory, as an operator would open it. */
const char *config_file_of(struct parse *p, const config_setting_t *s)
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
    p->names[p->n_names] = config_strdup(joined);
    return p->names[p->n_names++];
}

int config_line_of(const config_setting_t *s)
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

void config_origin_record(struct config_origins *o, const char *path, const char *file, int line,
                          bool ok)
{
    if (o->n_keys == o->cap_keys) {
        size_t cap = o->cap_keys ? 2 * o->cap_keys : 64;
        struct key_origin *grown = realloc(o->keys, cap * sizeof *grown);
        if (!grown) {
            abort(); /* configuration is loaded at start and reload only */
        }
        o->keys = grown;
        o->cap_keys = cap;
    }
    o->keys[o->n_keys++] =
        (struct key_origin){.path = config_strdup(path), .at = {file, line}, .ok = ok};
}

static int key_origin_cmp(const void *a, const void *b)
{
    return strcmp(((const struct key_origin *)a)->path, ((const struct key_origin *)b)->path);
}

void config_origins_index(struct config_origins *o)
{
    if (o->n_keys > 1) {
        qsort(o->keys, o->n_keys, sizeof *o->keys, key_origin_cmp);
    }
}

static const struct key_origin *key_origin_find(const struct config_origins *o, const char *path)
{
    struct key_origin want = {.path = (char *)path};
    return o->n_keys ? bsearch(&want, o->keys, o->n_keys, sizeof *o->keys, key_origin_cmp) : NULL;
}

struct origin config_origin_of(const struct config_origins *o, const char *path)
{
    char p[320];
    snprintf(p, sizeof p, "%s", path);
    for (;;) {
        const struct key_origin *k = key_origin_find(o, p);
        if (k) {
            return k->at;
        }
        char *dot = strrchr(p, '.');
        if (!dot) {
            return o->root;
        }
        *dot = '\0';
    }
}

bool config_key_ok(const struct config_origins *o, const char *path)
{
    const struct key_origin *k = key_origin_find(o, path);
    return k && k->ok;
}

static void free_origins(struct config_origins *o)
{
    for (size_t i = 0; i < o->n_keys; i++) {
        free(o->keys[i].path);
    }
    free(o->keys);
    free(o->calendars);
    free(o->areas);
    free(o->forces);
    free(o->recipients);
    free(o->tokens);
}

static int load(const char *path, const struct sdat_key_table *const *connectors,
                sdat_recipient_check_fn check, bool files,
                struct sdat_config **ret_cfg, char **ret_errors);

int sdat_config_load(const char *path, const struct sdat_key_table *const *connectors,
                     struct sdat_config **ret_cfg, char **ret_errors)
{
    return load(path, connectors, NULL, true, ret_cfg, ret_errors);
}

int sdat_config_load_reader(const char *path, const struct sdat_key_table *const *connectors,
                            struct sdat_config **ret_cfg, char **ret_errors)
{
    return load(path, connectors, NULL, false, ret_cfg, ret_errors);
}

int sdat_config_load_checked(const char *path, const struct sdat_key_table *const *connectors,
                             sdat_recipient_check_fn check, struct sdat_config **ret_cfg,
                             char **ret_errors)
{
    return load(path, connectors, check, true, ret_cfg, ret_errors);
}

static int load(const char *path, const struct sdat_key_table *const *connectors,
                sdat_recipient_check_fn check, bool files,
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
    cfg->path = config_strdup(path);
    config_init(&lc);
    config_set_options(&lc, CONFIG_OPTION_AUTOCONVERT);
    /* @include paths are relative to the main file's directory. */
    char *dir = config_strdup(path);
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
    config_parse_group(&p, config_root_keys, root, (char *)cfg, "");
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        cfg->recipients[i].file = config_strdup(origins.recipients[i].file);
        cfg->recipients[i].line = origins.recipients[i].line;
        cfg->recipients[i].index = i;
    }
    if (!cfg->instance_id || !cfg->instance_id[0]) {
        char host[256] = "sdat";
        gethostname(host, sizeof host - 1);
        free(cfg->instance_id);
        cfg->instance_id = config_strdup(host);
    }
    /* The checks across keys run whatever the parser found, so that one
     * pass of -t reports every problem; they allow for the keys it could
     * not read (NULL, or not recorded as ok). */
    config_origins_index(&origins);
    config_check(cfg, &origins, check, files, &d);
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
        if (cfg->recipients[i].id && strcmp(cfg->recipients[i].id, id) == 0) {
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
        if (cfg->areas[i].la_code && strcmp(cfg->areas[i].la_code, la_code) == 0) {
            return &cfg->areas[i];
        }
    }
    return NULL;
}

const struct sdat_force *sdat_config_force(const struct sdat_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_forces; i++) {
        if (cfg->forces[i].id && strcmp(cfg->forces[i].id, id) == 0) {
            return &cfg->forces[i];
        }
    }
    return NULL;
}

const struct sdat_calendar *sdat_config_calendar(const struct sdat_config *cfg, const char *id)
{
    for (size_t i = 0; id && i < cfg->n_calendars; i++) {
        if (cfg->calendars[i].id && strcmp(cfg->calendars[i].id, id) == 0) {
            return &cfg->calendars[i];
        }
    }
    return NULL;
}

const char *sdat_config_lawful_basis(const struct sdat_config *cfg, const char *kind)
{
    static const struct {
        const char *kind;
        size_t offset;
    } kinds[] = {
        {"da-incident", offsetof(struct sdat_config, lawful_basis.da_incident)},
        {"da-incident-urgent", offsetof(struct sdat_config, lawful_basis.da_incident_urgent)},
        {"unmatched-child", offsetof(struct sdat_config, lawful_basis.unmatched_child)},
        {"review-needed", offsetof(struct sdat_config, lawful_basis.review_needed)},
        {"cpis-access", offsetof(struct sdat_config, lawful_basis.cpis_access)},
        {"delivery-failed", offsetof(struct sdat_config, lawful_basis.delivery_failed)},
        {"withdrawn", offsetof(struct sdat_config, lawful_basis.withdrawn)},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) == 0) {
            return *(char *const *)((const char *)cfg + kinds[i].offset);
        }
    }
    return NULL;
}

const char *sdat_config_guidance(const struct sdat_config *cfg, const char *kind)
{
    static const struct {
        const char *kind;
        size_t offset;
    } kinds[] = {
        {"da-incident", offsetof(struct sdat_config, guidance.da_incident)},
        {"da-incident-urgent", offsetof(struct sdat_config, guidance.da_incident_urgent)},
        {"unmatched-child", offsetof(struct sdat_config, guidance.unmatched_child)},
        {"review-needed", offsetof(struct sdat_config, guidance.review_needed)},
        {"cpis-access", offsetof(struct sdat_config, guidance.cpis_access)},
        {"delivery-failed", offsetof(struct sdat_config, guidance.delivery_failed)},
        {"withdrawn", offsetof(struct sdat_config, guidance.withdrawn)},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        if (strcmp(kinds[i].kind, kind) == 0) {
            return *(char *const *)((const char *)cfg + kinds[i].offset);
        }
    }
    return NULL;
}
