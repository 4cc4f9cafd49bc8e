/* The configuration table and the libconfig parser it drives. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_internal.h"

enum type {
    T_STRING,
    T_BOOL,
    T_INT,
    T_NUMBER,
    T_ENUM,     /* a string among names, stored as int */
    T_STRV,     /* array of strings */
    T_TIME,     /* "HH:MM", stored as minutes */
    T_WEEKDAYS, /* array of mon..sun, stored as a bit mask */
    T_TERMS,    /* list of [ "DATE", "DATE" ] */
    T_DATES,    /* array of dates */
    T_SHA256,   /* 64 hex digits */
    T_ROLES,    /* array of role names, stored as a bit mask */
    T_PROPS,    /* list of ( "name", "value" ) pairs */
    T_GROUP,    /* a nested group */
    T_LIST,     /* a list of groups */
};

enum {
    F_REQUIRED = 1,
    F_RESTART = 2, /* restart-only: a changed value is logged and ignored on SIGHUP */
};

struct key {
    const char *name;
    enum type type;
    size_t offset;
    unsigned flags;
    const char *def; /* default as text, NULL: none (absent → NULL / 0) */
    double min, max; /* for T_INT and T_NUMBER */
    const char *const *names; /* T_ENUM */
    const struct key *sub;    /* T_GROUP, T_LIST */
    size_t elem_size;         /* T_LIST */
    size_t count_offset;      /* T_LIST, T_TERMS, T_DATES, T_PROPS: where the count goes */
    size_t origins_offset;    /* T_LIST: where the element origins go, or 0 */
    const char *description;
};

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const kinds[] = {"school", "mash", "ehe", "early_years", "cpis",
                                    "education_safeguarding", "escalation", "other", NULL};

#define C(field) offsetof(struct sdat_config, field)
#define END {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL, 0, 0, 0, NULL}
#define S(n, off, fl, def, desc) {n, T_STRING, off, fl, def, 0, 0, NULL, NULL, 0, 0, 0, desc}
#define B(n, off, fl, def, desc) {n, T_BOOL, off, fl, def, 0, 0, NULL, NULL, 0, 0, 0, desc}
#define I(n, off, fl, def, lo, hi, desc) {n, T_INT, off, fl, def, lo, hi, NULL, NULL, 0, 0, 0, desc}
#define N(n, off, fl, def, lo, hi, desc) {n, T_NUMBER, off, fl, def, lo, hi, NULL, NULL, 0, 0, 0, desc}
#define E(n, off, fl, def, names, desc) {n, T_ENUM, off, fl, def, 0, 0, names, NULL, 0, 0, 0, desc}
#define V(n, off, fl, desc) {n, T_STRV, off, fl, NULL, 0, 0, NULL, NULL, 0, 0, 0, desc}
#define G(n, sub, desc) {n, T_GROUP, 0, 0, NULL, 0, 0, NULL, sub, 0, 0, 0, desc}
#define L(n, off, sub, type, cnt, orig, desc) \
    {n, T_LIST, off, 0, NULL, 0, 0, NULL, sub, sizeof(type), cnt, orig, desc}
#define X(n, t, off, fl, def, cnt, desc) {n, t, off, fl, def, 0, 0, NULL, NULL, 0, cnt, 0, desc}

#define K(field) offsetof(struct sdat_config, kafka.field)
static const struct key kafka_keys[] = {
    B("embedded", K(embedded), F_RESTART, "false",
      "start an in-process Kafka-protocol broker (librdkafka's mock cluster) on loopback"),
    I("embedded_brokers", K(embedded_brokers), F_RESTART, "1", 1, 9,
      "brokers in the embedded cluster"),
    S("bootstrap_servers", K(bootstrap_servers), F_RESTART, NULL,
      "host:port list of the Kafka cluster (ignored with embedded)"),
    S("group_id", K(group_id), F_RESTART, "sdatd", "consumer group of the inbound event topics"),
    I("max_message_bytes", K(max_message_bytes), F_RESTART, "1048576", 1024, 104857600,
      "a larger event is dead-lettered (stage size) as its first 64 KiB"),
    X("properties", T_PROPS, K(properties), F_RESTART, NULL, K(n_properties),
      "( ( \"name\", \"value\" ), … ) passed to librdkafka; \"@file:PATH\" reads a secret file"),
    END,
};
#define TP(field) offsetof(struct sdat_config, topics.field)
static const struct key topic_keys[] = {
    S("police_incidents", TP(police_incidents), F_RESTART, "police.da-incidents", "police.da-incident/1 in"),
    S("health_attendances", TP(health_attendances), F_RESTART, "health.attendances", "health.attendance/1 in"),
    S("council_children", TP(council_children), F_RESTART, "council.children", "council.child/1 in (compacted)"),
    S("council_flags", TP(council_flags), F_RESTART, "council.cpis-flags", "council.cpis-flag/1 in (compacted)"),
    S("cpis_responses", TP(cpis_responses), F_RESTART, "health.cpis-responses", "sdat.cpis-response/1 out"),
    S("dead_letter", TP(dead_letter), F_RESTART, "sdat.dlq", "rejected events out"),
    S("audit", TP(audit), F_RESTART, "sdat.audit", "audit mirror out"),
    END,
};
#define TK(field) offsetof(struct sdat_token, field)
static const struct key token_keys[] = {
    S("name", TK(name), F_REQUIRED, NULL, "names the token in audit records"),
    X("sha256", T_SHA256, TK(sha256), F_REQUIRED, NULL, 0, "hex SHA-256 digest of the token"),
    X("roles", T_ROLES, TK(roles), F_REQUIRED, NULL, 0, "lookup, ack, operator, metrics"),
    V("ods_codes", TK(ods_codes), 0, "narrows a lookup token to these organisations"),
    V("recipients", TK(recipients), 0, "narrows an ack token to these recipients"),
    END,
};
#define H(field) offsetof(struct sdat_config, http.field)
static const struct key http_keys[] = {
    S("listen", H(listen), F_RESTART, "127.0.0.1:8080", "address and port of the HTTP API"),
    S("tls_cert", H(tls_cert), 0, NULL, "server certificate (TLS when set with tls_key)"),
    S("tls_key", H(tls_key), 0, NULL, "server private key (a secret file)"),
    S("client_ca", H(client_ca), 0, NULL, "require client certificates from this CA"),
    S("public_url", H(public_url), 0, NULL, "base URL for ack_url and review URLs"),
    B("metrics_public", H(metrics_public), 0, "true", "serve /metrics without a token"),
    S("ack_key_file", H(ack_key_file), 0, NULL, "secret that signs the token in ack_url"),
    L("tokens", H(tokens), token_keys, struct sdat_token, H(n_tokens),
      offsetof(struct config_origins, tokens), "API tokens (digests only)"),
    END,
};
#define M(field) offsetof(struct sdat_config, matching.field)
static const struct key matching_keys[] = {
    N("match_threshold", M(match_threshold), 0, "12", -100, 100,
      "a best score at or above this (and ahead by match_margin) is a match"),
    N("review_threshold", M(review_threshold), 0, "6", -100, 100,
      "a best score at or above this is sent for review"),
    N("match_margin", M(match_margin), 0, "4", 0, 100,
      "how far the best score must lead the second for a match"),
    S("nicknames_file", M(nicknames_file), 0, NULL, "nickname equivalences, one group per line"),
    END,
};
#define D(field) offsetof(struct sdat_config, delivery.field)
static const struct key delivery_keys[] = {
    I("concurrency", D(concurrency), 0, "16", 1, 1024, "deliveries in flight at once"),
    N("retry_initial", D(retry_initial), 0, "5", 0.1, 86400, "first retry delay (s)"),
    N("retry_max", D(retry_max), 0, "900", 1, 86400, "longest retry delay (s)"),
    I("circuit_failures", D(circuit_failures), 0, "5", 1, 1000,
      "consecutive failures that open a recipient's circuit"),
    N("escalate_after", D(escalate_after), 0, "7200", 1, 31536000,
      "undelivered this long after due: escalate as late (s)"),
    N("give_up_after", D(give_up_after), 0, "259200", 1, 31536000,
      "undelivered this long after due: stop retrying, escalate as failed (s)"),
    END,
};
#define A(field) offsetof(struct sdat_config, audit.field)
static const struct key audit_keys[] = {
    I("checkpoint_every", A(checkpoint_every), 0, "1000", 1, 100000000,
      "records between checkpoint records"),
    S("checkpoint_key_file", A(checkpoint_key_file), 0, NULL,
      "secret for checkpoint MACs and lookup HMACs"),
    END,
};
#define R(field) offsetof(struct sdat_config, retention.field)
static const struct key retention_keys[] = {
    I("payload_days", R(payload_days), 0, "400", 1, 36500, "notification payloads kept (days)"),
    I("dead_letter_days", R(dead_letter_days), 0, "30", 1, 36500, "dead-lettered bytes kept (days)"),
    I("access_days", R(access_days), 0, "400", 1, 36500, "CP-IS access history kept (days)"),
    END,
};
#define LB(field) offsetof(struct sdat_config, lawful_basis.field)
static const struct key lawful_keys[] = {
    S("da_incident", LB(da_incident), F_REQUIRED, NULL, "lawful basis text for da-incident"),
    S("da_incident_urgent", LB(da_incident_urgent), F_REQUIRED, NULL, "… for da-incident-urgent"),
    S("unmatched_child", LB(unmatched_child), F_REQUIRED, NULL, "… for unmatched-child"),
    S("review_needed", LB(review_needed), F_REQUIRED, NULL, "… for review-needed"),
    S("cpis_access", LB(cpis_access), F_REQUIRED, NULL, "… for cpis-access"),
    S("delivery_failed", LB(delivery_failed), F_REQUIRED, NULL, "… for delivery-failed"),
    S("withdrawn", LB(withdrawn), F_REQUIRED, NULL, "… for withdrawn"),
    END,
};
#define CA(field) offsetof(struct sdat_calendar, field)
static const struct key calendar_keys[] = {
    S("id", CA(id), F_REQUIRED, NULL, "referred to by school recipients"),
    S("timezone", CA(timezone), 0, "Europe/London", "the calendar's time zone"),
    X("release_time", T_TIME, CA(release_time), 0, "07:30", 0, "when notifications are released"),
    X("start_time", T_TIME, CA(start_time), 0, "08:45", 0, "when pupils arrive (late escalation)"),
    X("close_time", T_TIME, CA(close_time), 0, "16:00", 0, "end of the school day"),
    X("weekdays", T_WEEKDAYS, CA(weekdays), 0, "mon,tue,wed,thu,fri", 0, "school weekdays"),
    X("terms", T_TERMS, CA(terms), 0, NULL, CA(n_terms), "( [ \"FIRST\", \"LAST\" ], … ) inclusive"),
    X("closures", T_DATES, CA(closures), 0, NULL, CA(n_closures), "single closure dates"),
    END,
};
#define AR(field) offsetof(struct sdat_area, field)
static const struct key area_keys[] = {
    S("la_code", AR(la_code), F_REQUIRED, NULL, "DfE local authority number"),
    S("name", AR(name), F_REQUIRED, NULL, "the authority's name"),
    V("postcode_districts", AR(postcode_districts), 0, "districts (DE22) or sectors (DE22 3)"),
    S("mash", AR(mash), 0, NULL, "MASH recipient id"),
    S("ehe", AR(ehe), 0, NULL, "elective home education recipient id (default: mash)"),
    S("cpis", AR(cpis), 0, NULL, "CP-IS recipient id"),
    S("education_safeguarding", AR(education_safeguarding), 0, NULL,
      "education safeguarding recipient id (default: mash)"),
    S("early_years", AR(early_years), 0, NULL, "early years recipient id (default: mash)"),
    S("escalation", AR(escalation), 0, NULL, "escalation recipient id (default: mash)"),
    END,
};
#define FO(field) offsetof(struct sdat_force, field)
static const struct key force_keys[] = {
    S("id", FO(id), F_REQUIRED, NULL, "the force id in police.da-incident/1"),
    S("default_area", FO(default_area), 0, NULL, "la_code of the area for unplaced incidents"),
    END,
};
#define RE(field) offsetof(struct sdat_recipient, field)
static const struct key recipient_keys[] = {
    S("id", RE(id), F_REQUIRED, NULL, "[a-z0-9:._-]{1,64}"),
    E("kind", RE(kind), F_REQUIRED, NULL, kinds, "the area role"),
    S("la_code", RE(la_code), F_REQUIRED, NULL, "the recipient's area"),
    S("name", RE(name), F_REQUIRED, NULL, "shown in payloads"),
    S("urn", RE(urn), 0, NULL, "a school's URN (schools)"),
    S("calendar", RE(calendar), 0, NULL, "a school's calendar id (schools)"),
    B("minimal", RE(minimal), 0, "false", "receive the minimal da-incident payload"),
    N("ack_within", RE(ack_within), 0, "0", 0, 31536000, "escalate if not acknowledged (s)"),
    S("connector", RE(connector), F_REQUIRED, NULL, "webhook, smtp, kafka or file"),
    S("url", RE(url), 0, NULL, "webhook: https URL; smtp: smtp:// or smtps:// URL"),
    S("secret_file", RE(secret_file), 0, NULL, "webhook signing secret"),
    S("secret_file_next", RE(secret_file_next), 0, NULL, "webhook: the next secret (rotation)"),
    S("ca_file", RE(ca_file), 0, NULL, "an extra trust anchor"),
    S("client_cert", RE(client_cert), 0, NULL, "webhook: client certificate (mTLS)"),
    S("client_key", RE(client_key), 0, NULL, "webhook: client key (a secret file)"),
    N("timeout", RE(timeout), 0, "15", 1, 600, "webhook: request timeout (s)"),
    S("from", RE(from), 0, NULL, "smtp: sender address"),
    V("to", RE(to), 0, "smtp: recipient addresses"),
    S("username", RE(username), 0, NULL, "smtp: user name"),
    S("password_file", RE(password_file), 0, NULL, "smtp: password (a secret file)"),
    S("topic", RE(topic), 0, NULL, "kafka: topic"),
    S("directory", RE(directory), 0, NULL, "file: spool directory"),
    END,
};
static const struct key root_keys[] = {
    S("state_dir", C(state_dir), F_RESTART, "/var/lib/sdat", "the store (sdat.db) and runtime files"),
    S("instance_id", C(instance_id), F_RESTART, NULL, "names this daemon in audit records (default: host name)"),
    S("timezone", C(timezone), F_RESTART, "Europe/London", "the zone for \"the date of\" an instant"),
    E("log_level", C(log_level), 0, "info", log_levels, "error, warn, info or debug"),
    E("log_format", C(log_format), 0, "text", log_formats, "text or json"),
    G("kafka", kafka_keys, "the Kafka connection"),
    G("topics", topic_keys, "topic names"),
    G("http", http_keys, "the HTTP API"),
    G("matching", matching_keys, "matching thresholds"),
    G("delivery", delivery_keys, "retries, circuits and escalation"),
    G("audit", audit_keys, "the audit chain"),
    G("retention", retention_keys, "what is removed when"),
    {"lawful_basis", T_GROUP, 0, F_REQUIRED, NULL, 0, 0, NULL, lawful_keys, 0, 0, 0,
     "one lawful basis text per notification kind"},
    L("calendars", C(calendars), calendar_keys, struct sdat_calendar, C(n_calendars),
      offsetof(struct config_origins, calendars), "school calendars"),
    L("areas", C(areas), area_keys, struct sdat_area, C(n_areas),
      offsetof(struct config_origins, areas), "local authority areas"),
    L("forces", C(forces), force_keys, struct sdat_force, C(n_forces),
      offsetof(struct config_origins, forces), "police forces"),
    L("recipients", C(recipients), recipient_keys, struct sdat_recipient, C(n_recipients),
      offsetof(struct config_origins, recipients), "the directory of recipients"),
    END,
};

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
};

/* Key paths are short (the deepest is "recipients.[N].secret_file_next");
 * an over-long one is cut, never overflowed. */
static void path_join(char *out, size_t outlen, const char *a, const char *sep, const char *b)
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

static const char *type_name(enum type t)
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

int32_t config_date(const char *s, bool *ok);

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
static void set_default(const struct key *k, char *base)
{
    void *at = base + k->offset;
    if (!k->def) {
        return;
    }
    switch (k->type) {
    case T_STRING:
        *(char **)at = xstrdup(k->def);
        break;
    case T_BOOL:
        *(bool *)at = strcmp(k->def, "true") == 0;
        break;
    case T_INT:
        *(int *)at = atoi(k->def);
        break;
    case T_NUMBER:
        *(double *)at = strtod(k->def, NULL);
        break;
    case T_ENUM:
        for (int i = 0; k->names[i]; i++) {
            if (strcmp(k->names[i], k->def) == 0) {
                *(int *)at = i;
            }
        }
        break;
    case T_TIME:
        *(int *)at = parse_time(k->def);
        break;
    case T_WEEKDAYS:
        parse_weekdays_text(k->def, (unsigned *)at);
        break;
    default:
        break;
    }
}

static void parse_group(struct parse *p, const struct key *keys, const config_setting_t *group,
                        char *base, const char *path);

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

static void parse_value(struct parse *p, const struct key *k, const config_setting_t *s,
                        char *base, const char *path)
{
    void *at = base + k->offset;
    const char *file = file_of(p, s);
    int line = line_of(s);
    int t = config_setting_type(s);

    switch (k->type) {
    case T_STRING:
        if (t != CONFIG_TYPE_STRING) {
            goto wrong_type;
        }
        free(*(char **)at);
        *(char **)at = xstrdup(config_setting_get_string(s));
        return;
    case T_BOOL:
        if (t != CONFIG_TYPE_BOOL) {
            goto wrong_type;
        }
        *(bool *)at = config_setting_get_bool(s);
        return;
    case T_INT:
    case T_NUMBER: {
        if (!is_number(s)) {
            goto wrong_type;
        }
        double v = t == CONFIG_TYPE_FLOAT ? config_setting_get_float(s)
                                          : (double)config_setting_get_int64(s);
        if (k->type == T_INT && v != (double)(long long)v) {
            diag_add(p->d, file, line, path, "%g is not a whole number", v);
            return;
        }
        if (v < k->min || v > k->max) {
            diag_add(p->d, file, line, path, "%g is out of range (%g to %g)", v, k->min, k->max);
            return;
        }
        if (k->type == T_INT) {
            *(int *)at = (int)v;
        } else {
            *(double *)at = v;
        }
        return;
    }
    case T_ENUM: {
        if (t != CONFIG_TYPE_STRING) {
            goto wrong_type;
        }
        const char *v = config_setting_get_string(s);
        for (int i = 0; k->names[i]; i++) {
            if (strcmp(k->names[i], v) == 0) {
                *(int *)at = i;
                return;
            }
        }
        char list[256] = "";
        for (int i = 0; k->names[i]; i++) {
            strncat(list, i ? ", " : "", sizeof list - strlen(list) - 1);
            strncat(list, k->names[i], sizeof list - strlen(list) - 1);
        }
        diag_add(p->d, file, line, path, "\"%s\" is not one of %s", v, list);
        return;
    }
    case T_STRV:
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
            goto wrong_type;
        }
        parse_strings(p, s, path, (struct sdat_strv *)at);
        return;
    case T_TIME: {
        if (t != CONFIG_TYPE_STRING) {
            goto wrong_type;
        }
        int v = parse_time(config_setting_get_string(s));
        if (v < 0) {
            diag_add(p->d, file, line, path, "\"%s\" is not a time HH:MM",
                     config_setting_get_string(s));
            return;
        }
        *(int *)at = v;
        return;
    }
    case T_WEEKDAYS: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
            goto wrong_type;
        }
        unsigned mask = 0, one;
        for (int i = 0; i < config_setting_length(s); i++) {
            const char *v = config_setting_get_string(config_setting_get_elem(s, (unsigned)i));
            if (!v || strchr(v, ',') || parse_weekdays_text(v, &one) < 0) {
                diag_add(p->d, file, line, path, "element %d is not one of mon, tue, wed, thu, "
                         "fri, sat, sun", i);
                return;
            }
            mask |= one;
        }
        *(unsigned *)at = mask;
        return;
    }
    case T_DATES: {
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
            goto wrong_type;
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
        return;
    }
    case T_TERMS: {
        if (t != CONFIG_TYPE_LIST && t != CONFIG_TYPE_ARRAY) {
            goto wrong_type;
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
        return;
    }
    case T_SHA256: {
        const char *v = t == CONFIG_TYPE_STRING ? config_setting_get_string(s) : NULL;
        unsigned char *out = at;
        if (!v) {
            goto wrong_type;
        }
        if (strlen(v) != 64 || strspn(v, "0123456789abcdefABCDEF") != 64) {
            diag_add(p->d, file, line, path, "must be 64 hex digits (the token's SHA-256)");
            return;
        }
        for (int i = 0; i < 32; i++) {
            unsigned byte;
            sscanf(v + 2 * i, "%2x", &byte);
            out[i] = (unsigned char)byte;
        }
        return;
    }
    case T_ROLES: {
        static const char *const roles[] = {"lookup", "ack", "operator", "metrics"};
        if (t != CONFIG_TYPE_ARRAY && t != CONFIG_TYPE_LIST) {
            goto wrong_type;
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
        return;
    }
    case T_PROPS: {
        if (t != CONFIG_TYPE_LIST) {
            goto wrong_type;
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
        return;
    }
    case T_GROUP:
        if (t != CONFIG_TYPE_GROUP) {
            goto wrong_type;
        }
        parse_group(p, k->sub, s, base, path);
        return;
    case T_LIST: {
        if (t != CONFIG_TYPE_LIST) {
            goto wrong_type;
        }
        int n = config_setting_length(s);
        char *elems = calloc((size_t)n + 1, k->elem_size);
        struct origin *origins = calloc((size_t)n + 1, sizeof *origins);
        for (int i = 0; i < n; i++) {
            const config_setting_t *e = config_setting_get_elem(s, (unsigned)i);
            char epath[256];
            char index[16];
            snprintf(index, sizeof index, "%d", i);
            path_join(epath, sizeof epath, path, ".[", index);
            strncat(epath, "]", sizeof epath - strlen(epath) - 1);
            origins[i].file = file_of(p, e);
            origins[i].line = line_of(e);
            if (config_setting_type(e) != CONFIG_TYPE_GROUP) {
                diag_add(p->d, file_of(p, e), line_of(e), epath, "must be a group { … }");
                continue;
            }
            parse_group(p, k->sub, e, elems + (size_t)i * k->elem_size, epath);
        }
        *(char **)at = elems;
        *(size_t *)(base + k->count_offset) = (size_t)n;
        *(struct origin **)((char *)p->origins + k->origins_offset) = origins;
        return;
    }
    }
wrong_type:
    diag_add(p->d, file, line, path, "must be %s", type_name(k->type));
}

static void parse_group(struct parse *p, const struct key *keys, const config_setting_t *group,
                        char *base, const char *path)
{
    char kpath[320];
    /* Unknown keys first, in file order. */
    for (int i = 0; group && i < config_setting_length(group); i++) {
        const config_setting_t *s = config_setting_get_elem(group, (unsigned)i);
        const char *name = config_setting_name(s);
        const struct key *k = keys;
        while (k->name && (!name || strcmp(k->name, name) != 0)) {
            k++;
        }
        path_join(kpath, sizeof kpath, path, path[0] ? "." : "", name ? name : "?");
        if (!k->name) {
            diag_add(p->d, file_of(p, s), line_of(s), kpath, "unknown key");
        }
    }
    for (const struct key *k = keys; k->name; k++) {
        path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        const config_setting_t *s = group ? config_setting_get_member(group, k->name) : NULL;
        if (k->type != T_GROUP && k->type != T_LIST) {
            set_default(k, base);
        }
        if (s) {
            parse_value(p, k, s, base, kpath);
        } else if (k->flags & F_REQUIRED) {
            diag_add(p->d, file_of(p, group), line_of(group), kpath, "is required");
        } else if (k->type == T_GROUP) {
            parse_group(p, k->sub, NULL, base, kpath); /* defaults */
        }
    }
}

static void free_strv(struct sdat_strv *v)
{
    for (size_t i = 0; i < v->n; i++) {
        free(v->v[i]);
    }
    free(v->v);
}

/* Frees what the table put into base, recursively. */
static void free_group(const struct key *keys, char *base)
{
    for (const struct key *k = keys; k->name; k++) {
        void *at = base + k->offset;
        switch (k->type) {
        case T_STRING:
            free(*(char **)at);
            break;
        case T_STRV:
            free_strv((struct sdat_strv *)at);
            break;
        case T_TERMS:
        case T_DATES:
            free(*(void **)at);
            break;
        case T_PROPS: {
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
        case T_GROUP:
            free_group(k->sub, base);
            break;
        case T_LIST: {
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
        free(cfg->recipients[i].file);
    }
    free_group(root_keys, (char *)cfg);
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

int sdat_config_load(const char *path, struct sdat_config **ret_cfg, char **ret_errors)
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
    parse_group(&p, root_keys, root, (char *)cfg, "");
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

const char *sdat_recipient_kind_name(enum sdat_recipient_kind kind)
{
    return (unsigned)kind < sizeof kinds / sizeof kinds[0] - 1 ? kinds[kind] : "other";
}

static bool str_differs(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* Compares the restart-only scalar keys of two parsed groups. */
static void diff_group(const struct key *keys, const char *a, const char *b, const char *path,
                       struct diag *d)
{
    for (const struct key *k = keys; k->name; k++) {
        char kpath[256];
        path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == T_GROUP) {
            diff_group(k->sub, a, b, kpath, d);
            continue;
        }
        if (!(k->flags & F_RESTART)) {
            continue;
        }
        bool differs = false;
        switch (k->type) {
        case T_STRING:
            differs = str_differs(*(char *const *)(a + k->offset), *(char *const *)(b + k->offset));
            break;
        case T_BOOL:
            differs = *(const bool *)(a + k->offset) != *(const bool *)(b + k->offset);
            break;
        case T_INT:
        case T_ENUM:
            differs = *(const int *)(a + k->offset) != *(const int *)(b + k->offset);
            break;
        case T_PROPS: {
            size_t na = *(const size_t *)(a + k->count_offset);
            size_t nb = *(const size_t *)(b + k->count_offset);
            const struct sdat_kafka_property *pa = *(struct sdat_kafka_property *const *)(a + k->offset);
            const struct sdat_kafka_property *pb = *(struct sdat_kafka_property *const *)(b + k->offset);
            differs = na != nb;
            for (size_t i = 0; !differs && i < na; i++) {
                differs = strcmp(pa[i].name, pb[i].name) != 0 || strcmp(pa[i].value, pb[i].value) != 0;
            }
            break;
        }
        default:
            break;
        }
        if (differs) {
            char line[320];
            snprintf(line, sizeof line, "%s: changed; restart-only, ignoring\n", kpath);
            char *grown = realloc(d->text, d->len + strlen(line) + 1);
            if (grown) {
                memcpy(grown + d->len, line, strlen(line) + 1);
                d->text = grown;
                d->len += strlen(line);
            }
        }
    }
}

char *sdat_config_restart_only_changes(const struct sdat_config *old_cfg,
                                       const struct sdat_config *new_cfg)
{
    struct diag d = {0};
    diff_group(root_keys, (const char *)old_cfg, (const char *)new_cfg, "", &d);
    return d.text;
}

static void write_keys(FILE *out, const struct key *keys, const char *path)
{
    for (const struct key *k = keys; k->name; k++) {
        char kpath[256];
        path_join(kpath, sizeof kpath, path, path[0] ? "." : "", k->name);
        if (k->type == T_GROUP || k->type == T_LIST) {
            fprintf(out, "\n### `%s%s`\n\n%s.\n\n", kpath, k->type == T_LIST ? ".[N]" : "",
                     k->description);
            char sub[256];
            path_join(sub, sizeof sub, kpath, k->type == T_LIST ? ".[N]" : "", "");
            write_keys(out, k->sub, sub);
            continue;
        }
        fprintf(out, "- `%s` — %s", kpath, type_name(k->type));
        if (k->type == T_INT || k->type == T_NUMBER) {
            fprintf(out, ", %g to %g", k->min, k->max);
        }
        if (k->def) {
            fprintf(out, ", default `%s`", k->def);
        }
        fprintf(out, "%s%s. %s.\n", k->flags & F_REQUIRED ? ", required" : "",
                k->flags & F_RESTART ? ", restart-only" : ", reloadable", k->description);
    }
}

void sdat_config_write_reference(FILE *out)
{
    fprintf(out, "# sdatd.conf keys\n\nGenerated from the configuration table (daemon/config.c).\n\n");
    write_keys(out, root_keys, "");
}
