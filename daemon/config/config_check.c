/* Checks across keys: references resolve, files exist and secrets are
 * private, thresholds and calendars make sense. */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_internal.h"
#include "util/util.h"


int32_t config_date(const char *s, bool *ok)
{
    int32_t days = 0;
    *ok = sdat_date_parse(s, &days) == 0;
    return days;
}

/* An existing file; a secret one must not be readable by group or others. */
static void check_file(struct diag *d, const struct origin *o, const char *key, const char *path,
                       bool secret)
{
    struct stat sb;
    if (!path || !path[0]) {
        return;
    }
    char *real = sdat_secret_path(path);
    if (!real || stat(real, &sb) < 0) {
        diag_add(d, o->file, o->line, key, "\"%s\" does not exist or cannot be read", path);
    } else if (secret && !sdat_secret_mode_ok(path, sb.st_mode)) {
        diag_add(d, o->file, o->line, key, "\"%s\" is readable by group or others (chmod 600)",
                 path);
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

static void check_role(const struct sdat_config *cfg, struct diag *d, const struct origin *o,
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
        diag_add(d, o->file, o->line, key, "recipient \"%s\" does not exist", id);
    } else if (r->kind != kind && !(kind == SDAT_KIND_ESCALATION && r->kind == SDAT_KIND_MASH)) {
        diag_add(d, o->file, o->line, key, "recipient \"%s\" is of kind %s, not %s", id,
                 sdat_recipient_kind_name(r->kind), sdat_recipient_kind_name(kind));
    }
}

static void check_kafka(struct sdat_config *cfg, const struct config_origins *o, struct diag *d)
{
    if (!cfg->kafka.embedded && (!cfg->kafka.bootstrap_servers || !cfg->kafka.bootstrap_servers[0])) {
        diag_add(d, o->kafka.file, o->kafka.line, "kafka.bootstrap_servers",
                 "is required unless kafka.embedded is true");
    }
    for (size_t i = 0; i < cfg->kafka.n_properties; i++) {
        struct sdat_kafka_property *p = &cfg->kafka.properties[i];
        char key[64];
        snprintf(key, sizeof key, "kafka.properties.[%zu]", i);
        bool security = strcmp(p->name, "security.protocol") == 0 ||
                        strncmp(p->name, "ssl.", 4) == 0 || strncmp(p->name, "sasl.", 5) == 0;
        if (cfg->kafka.embedded && security) {
            diag_add(d, o->kafka.file, o->kafka.line, key,
                     "\"%s\" is a security property; the embedded broker has none", p->name);
        }
        bool secret_name = strstr(p->name, "password") || strstr(p->name, "secret") ||
                           strstr(p->name, "key");
        bool from_file = strncmp(p->value, "@file:", 6) == 0;
        if (secret_name && !from_file) {
            diag_add(d, o->kafka.file, o->kafka.line, key,
                     "\"%s\" must be given as \"@file:PATH\" (a secret file)", p->name);
            continue;
        }
        if (from_file) {
            char err[512], *data = NULL;
            size_t len = 0;
            if (sdat_secret_read(p->value + 6, &data, &len, err, sizeof err) < 0) {
                diag_add(d, o->kafka.file, o->kafka.line, key, "%s", err);
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
        const struct origin *at = &o->calendars[i];
        char key[64];
        snprintf(key, sizeof key, "calendars.[%zu].id", i);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->calendars[j].id, c->id) == 0) {
                diag_add(d, at->file, at->line, key, "\"%s\" is defined twice", c->id);
            }
        }
        snprintf(key, sizeof key, "calendars.[%zu].timezone", i);
        if (!zone_exists(c->timezone)) {
            diag_add(d, at->file, at->line, key, "\"%s\" is not a time zone in the system's "
                     "database", c->timezone);
        }
        snprintf(key, sizeof key, "calendars.[%zu].terms", i);
        for (size_t t = 0; t < c->n_terms; t++) {
            if (c->terms[t].first > c->terms[t].last) {
                diag_add(d, at->file, at->line, key, "term %zu ends before it starts", t);
            } else if (t > 0 && c->terms[t].first <= c->terms[t - 1].last) {
                diag_add(d, at->file, at->line, key,
                         "term %zu overlaps or precedes term %zu (terms must be in order)", t,
                         t - 1);
            }
        }
        if (c->release_time > c->close_time) {
            snprintf(key, sizeof key, "calendars.[%zu].release_time", i);
            diag_add(d, at->file, at->line, key, "is after close_time");
        }
    }
}

static void check_areas(struct sdat_config *cfg, const struct config_origins *o, struct diag *d)
{
    char key[96];
    for (size_t i = 0; i < cfg->n_areas; i++) {
        struct sdat_area *a = &cfg->areas[i];
        const struct origin *at = &o->areas[i];
        snprintf(key, sizeof key, "areas.[%zu].la_code", i);
        if (!sdat_format_la_code(a->la_code)) {
            diag_add(d, at->file, at->line, key, "\"%s\" is not a 3-digit LA code", a->la_code);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->areas[j].la_code, a->la_code) == 0) {
                diag_add(d, at->file, at->line, key, "\"%s\" is defined twice", a->la_code);
            }
        }
        check_role(cfg, d, at, i, "mash", a->mash, SDAT_KIND_MASH);
        check_role(cfg, d, at, i, "ehe", a->ehe, SDAT_KIND_EHE);
        check_role(cfg, d, at, i, "cpis", a->cpis, SDAT_KIND_CPIS);
        check_role(cfg, d, at, i, "education_safeguarding", a->education_safeguarding,
                   SDAT_KIND_EDUCATION_SAFEGUARDING);
        check_role(cfg, d, at, i, "early_years", a->early_years, SDAT_KIND_EARLY_YEARS);
        check_role(cfg, d, at, i, "escalation", a->escalation, SDAT_KIND_ESCALATION);
        snprintf(key, sizeof key, "areas.[%zu].postcode_districts", i);
        for (size_t k = 0; k < a->postcode_districts.n; k++) {
            char *e = a->postcode_districts.v[k];
            char original[16];
            snprintf(original, sizeof original, "%s", e);
            if (strlen(e) > 8 || !normalise_district(e)) {
                diag_add(d, at->file, at->line, key,
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
                        diag_add(d, o->areas[i].file, o->areas[i].line, key,
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
            diag_add(d, o->forces[i].file, o->forces[i].line, key, "area \"%s\" does not exist",
                     area);
        }
    }
}

static void check_recipients(const struct sdat_config *cfg, const struct config_origins *o,
                             struct diag *d)
{
    char key[96];
    for (size_t i = 0; i < cfg->n_recipients; i++) {
        const struct sdat_recipient *r = &cfg->recipients[i];
        const struct origin *at = &o->recipients[i];
        snprintf(key, sizeof key, "recipients.[%zu].id", i);
        if (!valid_recipient_id(r->id)) {
            diag_add(d, at->file, at->line, key, "\"%s\" does not match [a-z0-9:._-]{1,64}", r->id);
        } else if (r->id[0] == '.') {
            /* The file connector names a folder after it: never ".", ".."
             * or a hidden one (its temporaries are hidden files). */
            diag_add(d, at->file, at->line, key, "\"%s\" must not start with \".\"", r->id);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(cfg->recipients[j].id, r->id) == 0) {
                diag_add(d, at->file, at->line, key, "\"%s\" is defined twice", r->id);
            }
        }
        snprintf(key, sizeof key, "recipients.[%zu].la_code", i);
        if (!sdat_config_area(cfg, r->la_code)) {
            diag_add(d, at->file, at->line, key, "area \"%s\" does not exist", r->la_code);
        }
        if (r->kind == SDAT_KIND_SCHOOL) {
            snprintf(key, sizeof key, "recipients.[%zu].urn", i);
            if (!r->urn) {
                diag_add(d, at->file, at->line, key, "is required for a school");
            } else if (!sdat_format_urn(r->urn)) {
                diag_add(d, at->file, at->line, key, "\"%s\" is not a 6-digit URN", r->urn);
            } else {
                for (size_t j = 0; j < i; j++) {
                    const struct sdat_recipient *q = &cfg->recipients[j];
                    if (q->kind == SDAT_KIND_SCHOOL && q->urn && strcmp(q->urn, r->urn) == 0) {
                        diag_add(d, at->file, at->line, key, "URN \"%s\" is also recipient \"%s\"",
                                 r->urn, q->id);
                    }
                }
            }
            snprintf(key, sizeof key, "recipients.[%zu].calendar", i);
            if (!r->calendar) {
                diag_add(d, at->file, at->line, key, "is required for a school");
            } else if (!sdat_config_calendar(cfg, r->calendar)) {
                diag_add(d, at->file, at->line, key, "calendar \"%s\" does not exist", r->calendar);
            }
        }
        snprintf(key, sizeof key, "recipients.[%zu].connector", i);
        if (!r->connector_keys) {
            diag_add(d, at->file, at->line, key, "\"%s\" is not a known connector",
                     r->connector ? r->connector : "");
            continue;
        }
        /* The connector's files: as its table marks them. */
        for (const struct sdat_key *k = r->connector_keys->keys; k->name; k++) {
            if (k->type == SDAT_KEY_STRING && (k->flags & SDAT_KEY_FILE)) {
                snprintf(key, sizeof key, "recipients.[%zu].%s", i, k->name);
                check_file(d, at, key,
                           *(char *const *)((const char *)r->connector_conf + k->offset),
                           (k->flags & SDAT_KEY_SECRET) != 0);
            }
        }
    }
    for (size_t i = 0; i < cfg->http.n_tokens; i++) {
        const struct sdat_token *t = &cfg->http.tokens[i];
        snprintf(key, sizeof key, "http.tokens.[%zu].recipients", i);
        for (size_t k = 0; k < t->recipients.n; k++) {
            if (!sdat_config_recipient(cfg, t->recipients.v[k])) {
                diag_add(d, o->tokens[i].file, o->tokens[i].line, key,
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
        diag_add(d, o->http_listen.file, o->http_listen.line, "http.listen", "%s", err);
    }
}

void config_check(const struct sdat_config *const_cfg, const struct config_origins *o,
                  struct diag *d)
{
    /* Normalising postcode entries and resolving @file: values write into
     * the configuration being built; it is not yet shared. */
    struct sdat_config *cfg = (struct sdat_config *)const_cfg;

    if (!zone_exists(cfg->timezone)) {
        diag_add(d, o->root.file, o->root.line, "timezone",
                 "\"%s\" is not a time zone in the system's database", cfg->timezone);
    }
    if (cfg->matching.review_threshold > cfg->matching.match_threshold) {
        diag_add(d, o->matching.file, o->matching.line, "matching.review_threshold",
                 "%g is above match_threshold (%g)", cfg->matching.review_threshold,
                 cfg->matching.match_threshold);
    }
    check_kafka(cfg, o, d);
    check_calendars(cfg, o, d);
    check_areas(cfg, o, d);
    check_recipients(cfg, o, d);
    check_listen(cfg, o, d);
    check_file(d, &o->root, "http.tls_cert", cfg->http.tls_cert, false);
    check_file(d, &o->root, "http.tls_key", cfg->http.tls_key, true);
    check_file(d, &o->root, "http.client_ca", cfg->http.client_ca, false);
    check_file(d, &o->root, "http.ack_key_file", cfg->http.ack_key_file, true);
    check_file(d, &o->root, "audit.checkpoint_key_file", cfg->audit.checkpoint_key_file, true);
    check_file(d, &o->matching, "matching.nicknames_file", cfg->matching.nicknames_file, false);
}
