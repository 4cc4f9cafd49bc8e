/* Checks across keys: references resolve, files exist and secrets are
 * private, thresholds and calendars make sense. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "util/util.h"


/* A problem with the key at path, reported at that key's own line (else its
 * nearest enclosing group's or list element's). */
#define check_add(d, o, path, ...)                                                                \
    do {                                                                                          \
        struct origin at_ = config_origin_of((o), (path));                                       \
        diag_add((d), at_.file, at_.line, (path), __VA_ARGS__);                                   \
    } while (0)

int32_t config_date(const char *s, bool *ok)
{
    int32_t days = 0;
    *ok = sdat_date_parse(s, &days) == 0;
    return days;
}

/* An existing file; a secret one must not be readable by group or others. */
static void check_file(struct diag *d, const struct config_origins *o, const char *key,
                       const char *path, bool secret)
{
    struct stat sb;
    if (!path || !path[0] || !d->files) {
        return;
    }
    char *real = sdat_secret_path(path);
    if (!real || stat(real, &sb) < 0) {
        check_add(d, o, key, "\"%s\" does not exist or cannot be read", path);
    } else if (secret && !sdat_secret_mode_ok(path, sb.st_mode)) {
        check_add(d, o, key, "\"%s\" is readable by group or others (chmod 600)", path);
    }
    free(real);
}

/* A zone the daemon itself can read (tz.h): the same check of the name and
 * of the file as at run time, in $TZDIR if set. */
static bool zone_exists(const char *zone)
{
    const sdat_tz_t *tz;
    return zone && sdat_tz_get(zone, &tz) == 0;
}

static bool valid_recipient_id(const char *id)
{
    size_t n = strlen(id);
    return n >= 1 && n <= 64 && strspn(id, "abcdefghijklmnopqrstuvwxyz0123456789:._-") == n;
}

/* Normalises a postcode_districts entry in place: upper case, one space
 * before a sector digit. False when it is not a district or a sector. */
static bool normalise_district(char *e)
{
    char c[12];
    size_t n = 0;
    for (char *p = e; *p && n < sizeof c - 1; p++) {
        if (*p != ' ') {
            c[n++] = (char)toupper((unsigned char)*p);
        }
    }
    c[n] = '\0';
    bool sector = strchr(e, ' ') != NULL;
    size_t outward = sector ? n - 1 : n;
    if (outward < 2 || outward > 4 || !isalpha((unsigned char)c[0]) ||
        (sector && !isdigit((unsigned char)c[n - 1]))) {
        return false;
    }
    for (size_t i = 0; i < outward; i++) {
        if (!isalnum((unsigned char)c[i])) {
            return false;
        }
    }
    if (sector) {
        sprintf(e, "%.*s %c", (int)outward, c, c[n - 1]);
    } else {
        strcpy(e, c);
    }
    return true;
}

/* Whether r's kind was read (a kind that was not is reported already, and
 * its value, 0, would pass for a school). */
static bool kind_known(const struct config_origins *o, const struct sdat_recipient *r)
{
    char key[64];
    snprintf(key, sizeof key, "recipients.[%zu].kind", r->index);
    return config_key_ok(o, key);
}

static void check_role(const struct sdat_config *cfg, struct diag *d,
                       const struct config_origins *o,
                       size_t i, const char *role, const char *id,
                       enum sdat_recipient_kind kind)
{
    char key[96];
    if (!id) {
        return;
    }
    snprintf(key, sizeof key, "areas.[%zu].%s", i, role);
    const struct sdat_recipient *r = sdat_config_recipient(cfg, id);
    if (!r) {
        check_add(d, o, key, "recipient \"%s\" does not exist", id);
    } else if (kind_known(o, r) && r->kind != kind &&
               !(kind == SDAT_KIND_ESCALATION && r->kind == SDAT_KIND_MASH)) {
        check_add(d, o, key, "recipient \"%s\" is of kind %s, not %s", id,
                 sdat_recipient_kind_name(r->kind), sdat_recipient_kind_name(kind));
    }
}

static void check_kafka(struct sdat_config *cfg, const struct config_origins *o, struct diag *d)
{
    if (!cfg->kafka.embedded && (!cfg->kafka.bootstrap_servers || !cfg->kafka.bootstrap_servers[0])) {
        check_add(d, o, "kafka.bootstrap_servers",
                 "is required unless kafka.embedded is true");
    }
    for (size_t i = 0; i < cfg->kafka.n_properties; i++) {
        struct sdat_kafka_property *p = &cfg->kafka.properties[i];
        char key[64];
        snprintf(key, sizeof key, "kafka.properties.[%zu]", i);
        bool security = strcmp(p->name, "security.protocol") == 0 ||
                        strncmp(p->name, "ssl.", 4) == 0 || strncmp(p->name, "sasl.", 5) == 0;
        if (cfg->kafka.embedded && security) {
            check_add(d, o, key,
                     "\"%s\" is a security property; the embedded broker has none", p->name);
        }
        bool secret_name = strstr(p->name, "password") || strstr(p->name, "secret") ||
                           strstr(p->name, "key");
        bool from_file = strncmp(p->value, "@file:", 6) == 0;
        if (secret_name && !from_file) {
            check_add(d, o, key,
                     "\"%s\" must be given as \"@file:PATH\" (a secret file)", p->name);
            continue;
        }
        if (from_file && d->files) {
            char err[512], *data = NULL;
            size_t len = 0;
            if (sdat_secret_read(p->value + 6, &data, &len, err, sizeof err) < 0) {
                check_add(d, o, key, "%s", err);
                continue;
            }
            explicit_bzero(p->value, strlen(p->value));
            free(p->value);
            p->value = data;
            p->secret = true;
        }
    }
}

static void check_calendars(const struct sdat_config *cfg, const struct config_origins *o,
                            struct diag *d)
{
    for (size_t i = 0; i < cfg->n_calendars; i++) {
        const struct sdat_calendar *c = &cfg->calendars[i];
        char key[64];
        snprintf(key, sizeof key, "calendars.[%zu].id", i);
        for (size_t j = 0; c->id && j < i; j++) {
            if (cfg->calendars[j].id && strcmp(cfg->calendars[j].id, c->id) == 0) {
                check_add(d, o, key, "\"%s\" is defined twice", c->id);
            }
        }
        snprintf(key, sizeof key, "calendars.[%zu].timezone", i);
        /* NULL only in an element that was not a group (reported). */
        if (c->timezone && !zone_exists(c->timezone)) {
            check_add(d, o, key, "\"%s\" is not a time zone in the system's "
                     "database", c->timezone);
        }
        snprintf(key, sizeof key, "calendars.[%zu].terms", i);
        for (size_t t = 0; t < c->n_terms; t++) {
            if (c->terms[t].first > c->terms[t].last) {
                check_add(d, o, key, "term %zu ends before it starts", t);
            } else if (t > 0 && c->terms[t].first <= c->terms[t - 1].last) {
                check_add(d, o, key,
                         "term %zu overlaps or precedes term %zu (terms must be in order)", t,
                         t - 1);
            }
        }
        if (c->release_time > c->close_time) {
            snprintf(key, sizeof key, "calendars.[%zu].release_time", i);
            check_add(d, o, key, "is after close_time");
        }
    }
}

static void check_areas(struct sdat_config *cfg, const struct config_origins *o, struct diag *d)
{
    char key[96];
    for (size_t i = 0; i < cfg->n_areas; i++) {
        struct sdat_area *a = &cfg->areas[i];
        snprintf(key, sizeof key, "areas.[%zu].la_code", i);
        if (a->la_code && !sdat_format_la_code(a->la_code)) {
            check_add(d, o, key, "\"%s\" is not a 3-digit LA code", a->la_code);
        }
        for (size_t j = 0; a->la_code && j < i; j++) {
            if (cfg->areas[j].la_code && strcmp(cfg->areas[j].la_code, a->la_code) == 0) {
                check_add(d, o, key, "\"%s\" is defined twice", a->la_code);
            }
        }
        check_role(cfg, d, o, i, "mash", a->mash, SDAT_KIND_MASH);
        check_role(cfg, d, o, i, "ehe", a->ehe, SDAT_KIND_EHE);
        check_role(cfg, d, o, i, "cpis", a->cpis, SDAT_KIND_CPIS);
        check_role(cfg, d, o, i, "education_safeguarding", a->education_safeguarding,
                   SDAT_KIND_EDUCATION_SAFEGUARDING);
        check_role(cfg, d, o, i, "early_years", a->early_years, SDAT_KIND_EARLY_YEARS);
        check_role(cfg, d, o, i, "escalation", a->escalation, SDAT_KIND_ESCALATION);
        snprintf(key, sizeof key, "areas.[%zu].postcode_districts", i);
        for (size_t k = 0; k < a->postcode_districts.n; k++) {
            char *e = a->postcode_districts.v[k];
            char original[16];
            snprintf(original, sizeof original, "%s", e);
            if (strlen(e) > 8 || !normalise_district(e)) {
                check_add(d, o, key,
                         "\"%s\" is not a postcode district (DE22) or sector (DE22 3)", original);
            }
        }
    }
    /* The same entry in two areas would make the incident area ambiguous. */
    for (size_t i = 0; i < cfg->n_areas; i++) {
        for (size_t k = 0; k < cfg->areas[i].postcode_districts.n; k++) {
            const char *e = cfg->areas[i].postcode_districts.v[k];
            for (size_t j = 0; j < i; j++) {
                for (size_t m = 0; m < cfg->areas[j].postcode_districts.n; m++) {
                    if (strcmp(e, cfg->areas[j].postcode_districts.v[m]) == 0) {
                        snprintf(key, sizeof key, "areas.[%zu].postcode_districts", i);
                        check_add(d, o, key,
                                 "\"%s\" is also listed in areas.[%zu]", e, j);
                    }
                }
            }
        }
    }
    for (size_t i = 0; i < cfg->n_forces; i++) {
        const char *area = cfg->forces[i].default_area;
        snprintf(key, sizeof key, "forces.[%zu].default_area", i);
        if (area && !sdat_config_area(cfg, area)) {
            check_add(d, o, key, "area \"%s\" does not exist",
                     area);
        }
    }
}

/* Where a connector's reports about recipients.[index] go. */
struct connector_report {
    struct diag *d;
    const struct config_origins *o;
    size_t index;
    int count;
};

/* A connector's report (sdat_key_report_fn): KEY one of its keys, placed
 * at recipients.[index].KEY's line; NULL, or anything that is not a key's
 * name, at the recipient's with the key's name kept in the message. */
__attribute__((format(printf, 3, 4))) static void connector_report(void *opaque, const char *key,
                                                                   const char *format, ...)
{
    struct connector_report *rep = opaque;
    char message[512], path[96];
    rep->count++;
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    size_t n = key ? strlen(key) : 0;
    if (n > 0 && n < 64 && strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") == n) {
        snprintf(path, sizeof path, "recipients.[%zu].%s", rep->index, key);
        check_add(rep->d, rep->o, path, "%s", message);
    } else {
        snprintf(path, sizeof path, "recipients.[%zu]", rep->index);
        if (key) {
            check_add(rep->d, rep->o, path, "%s: %s", key, message);
        } else {
            check_add(rep->d, rep->o, path, "%s", message);
        }
    }
}

static void check_recipients(const struct sdat_config *cfg, const struct config_origins *o,
                             sdat_recipient_check_fn recipient_check, struct diag *d)
{
    char key[96];
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        const struct sdat_recipient *r = &cfg->recipients[i];
        snprintf(key, sizeof key, "recipients.[%zu].id", i);
        if (!r->id) {
            /* missing: reported by the parser */
        } else if (!valid_recipient_id(r->id)) {
            check_add(d, o, key, "\"%s\" does not match [a-z0-9:._-]{1,64}", r->id);
        } else if (r->id[0] == '.') {
            /* The file connector names a folder after it: never ".", ".."
             * or a hidden one (its temporaries are hidden files). */
            check_add(d, o, key, "\"%s\" must not start with \".\"", r->id);
        }
        for (size_t j = 0; r->id && j < i; j++) {
            if (cfg->recipients[j].id && strcmp(cfg->recipients[j].id, r->id) == 0) {
                check_add(d, o, key, "\"%s\" is defined twice", r->id);
            }
        }
        snprintf(key, sizeof key, "recipients.[%zu].la_code", i);
        if (r->la_code && !sdat_config_area(cfg, r->la_code)) {
            check_add(d, o, key, "area \"%s\" does not exist", r->la_code);
        }
        if (r->kind == SDAT_KIND_SCHOOL && kind_known(o, r)) {
            snprintf(key, sizeof key, "recipients.[%zu].urn", i);
            if (!r->urn) {
                check_add(d, o, key, "is required for a school");
            } else if (!sdat_format_urn(r->urn)) {
                check_add(d, o, key, "\"%s\" is not a 6-digit URN", r->urn);
            } else {
                for (size_t j = 0; j < i; j++) {
                    const struct sdat_recipient *q = &cfg->recipients[j];
                    if (q->kind == SDAT_KIND_SCHOOL && q->urn && strcmp(q->urn, r->urn) == 0) {
                        check_add(d, o, key, "URN \"%s\" is also recipient \"%s\"",
                                 r->urn, q->id);
                    }
                }
            }
            snprintf(key, sizeof key, "recipients.[%zu].calendar", i);
            if (!r->calendar) {
                check_add(d, o, key, "is required for a school");
            } else if (!sdat_config_calendar(cfg, r->calendar)) {
                check_add(d, o, key, "calendar \"%s\" does not exist", r->calendar);
            }
        }
        snprintf(key, sizeof key, "recipients.[%zu].connector", i);
        if (!r->connector_keys) {
            if (r->connector) {
                check_add(d, o, key, "\"%s\" is not a known connector", r->connector);
            }
            continue;
        }
        /* The connector's files: as its table marks them. */
        for (const struct sdat_key *k = r->connector_keys->keys; k->name; k++) {
            if (k->type == SDAT_KEY_STRING && (k->flags & SDAT_KEY_FILE)) {
                snprintf(key, sizeof key, "recipients.[%zu].%s", i, k->name);
                check_file(d, o, key,
                           *(char *const *)((const char *)r->connector_conf + k->offset),
                           (k->flags & SDAT_KEY_SECRET) != 0);
            }
        }
        /* The connector's own checks (its table is the core's only view):
         * every problem it reports, each at its key's line. */
        if (recipient_check) {
            struct connector_report rep = {.d = d, .o = o, .index = i};
            int problem = recipient_check(r, connector_report, &rep);
            if (problem < 0 && rep.count == 0) {
                /* A refusal must never pass for a valid configuration. */
                snprintf(key, sizeof key, "recipients.[%zu].connector", i);
                check_add(d, o, key, "connector \"%s\" refused the recipient without saying why",
                          r->connector);
            }
        }
    }
    for (size_t i = 0; i < cfg->http.n_tokens; i++) {
        const struct sdat_token *t = &cfg->http.tokens[i];
        snprintf(key, sizeof key, "http.tokens.[%zu].recipients", i);
        for (size_t k = 0; k < t->recipients.n; k++) {
            if (!sdat_config_recipient(cfg, t->recipients.v[k])) {
                check_add(d, o, key,
                         "recipient \"%s\" does not exist", t->recipients.v[k]);
            }
        }
    }
}

/* http.listen: parsed and tried as the server will at start (listen.h). */
static void check_listen(const struct sdat_config *cfg, const struct config_origins *o,
                         struct diag *d)
{
    char err[320];
    const char *listen = cfg->http.listen ? cfg->http.listen : "127.0.0.1:8080";
    if (sdat_listen_check(listen, err, sizeof err) < 0) {
        check_add(d, o, "http.listen", "%s", err);
    }
}

void config_check(const struct sdat_config *const_cfg, const struct config_origins *o,
                  sdat_recipient_check_fn recipient_check, bool files, struct diag *d)
{
    d->files = files;
    /* Normalising postcode entries and resolving @file: values write into
     * the configuration being built; it is not yet shared. */
    struct sdat_config *cfg = (struct sdat_config *)const_cfg;

    if (!zone_exists(cfg->timezone)) {
        check_add(d, o, "timezone",
                 "\"%s\" is not a time zone in the system's database", cfg->timezone);
    }
    if (cfg->matching.review_threshold > cfg->matching.match_threshold) {
        check_add(d, o, "matching.review_threshold",
                 "%g is above match_threshold (%g)", cfg->matching.review_threshold,
                 cfg->matching.match_threshold);
    }
    check_kafka(cfg, o, d);
    check_calendars(cfg, o, d);
    check_areas(cfg, o, d);
    check_recipients(cfg, o, recipient_check, d);
    if (files) {
        check_listen(cfg, o, d);
    }
    check_file(d, o, "http.tls_cert", cfg->http.tls_cert, false);
    check_file(d, o, "http.tls_key", cfg->http.tls_key, true);
    check_file(d, o, "http.client_ca", cfg->http.client_ca, false);
    check_file(d, o, "http.ack_key_file", cfg->http.ack_key_file, true);
    check_file(d, o, "audit.checkpoint_key_file", cfg->audit.checkpoint_key_file, true);
    check_file(d, o, "matching.nicknames_file", cfg->matching.nicknames_file, false);
}
