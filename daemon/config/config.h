/* The configuration (interfaces.md "Configuration"): libconfig 1.5 mapped
 * onto typed structs by one table (config_table.c) that holds every key's
 * type, default, range, reloadability and description. sdatd.conf(5) and
 * the key reference are written from the same table (config_doc.c). */
#ifndef SDAT_CONFIG_H
#define SDAT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/util.h"

enum sdat_recipient_kind {
    SDAT_KIND_SCHOOL = 0,
    SDAT_KIND_MASH,
    SDAT_KIND_EHE,
    SDAT_KIND_EARLY_YEARS,
    SDAT_KIND_CPIS,
    SDAT_KIND_EDUCATION_SAFEGUARDING,
    SDAT_KIND_ESCALATION,
    SDAT_KIND_OTHER
};
enum {
    SDAT_ROLE_LOOKUP = 1,
    SDAT_ROLE_ACK = 2,
    SDAT_ROLE_OPERATOR = 4,
    SDAT_ROLE_METRICS = 8,
    SDAT_ROLE_AUDITOR = 16 /* the console's subject access and audit pages (console.md) */
};

struct sdat_kafka_property {
    char *name;
    char *value;
    bool secret; /* the value came from @file: */
};
struct sdat_token {
    char *name;
    unsigned char sha256[32];
    unsigned roles;
    struct sdat_strv ods_codes, recipients;
};
struct sdat_date_range {
    int32_t first, last; /* days since 1970-01-01, inclusive */
};
struct sdat_calendar {
    char *id;
    char *timezone;
    int release_time, start_time, close_time; /* minutes after local midnight */
    unsigned weekdays;                        /* bit 0 = Monday … bit 6 = Sunday */
    struct sdat_date_range *terms;
    size_t n_terms;
    int32_t *closures;
    size_t n_closures;
};
struct sdat_area {
    char *la_code, *name;
    struct sdat_strv postcode_districts; /* upper case; a sector as "DE22 3" */
    char *mash, *ehe, *cpis, *education_safeguarding, *early_years, *escalation; /* or NULL */
};
struct sdat_force {
    char *id;
    char *default_area; /* la_code or NULL */
};
struct sdat_recipient {
    char *id;
    enum sdat_recipient_kind kind;
    char *la_code;
    char *name;
    char *urn;
    char *calendar;
    bool minimal;
    double ack_within;
    char *connector;
    /* The connector's own keys (delivery.md), as its key table
     * (connector_keys, the registry's) declares and fills them; NULL when
     * the connector is unknown (-t then says so). */
    void *connector_conf;
    const struct sdat_key_table *connector_keys;
    char *file; /* where the recipient's group starts */
    int line;
    size_t index; /* position in recipients, for "recipients.[N]…" */
};
struct sdat_config {
    char *path;
    char *state_dir, *instance_id, *timezone;
    int threads; /* decision workers; 0: one per online CPU */
    enum sdat_log_level log_level;
    enum sdat_log_format log_format;
    struct {
        bool embedded;
        int embedded_brokers;
        char *bootstrap_servers;
        char *group_id;
        int max_message_bytes;
        struct sdat_kafka_property *properties;
        size_t n_properties;
    } kafka;
    struct {
        char *police_incidents, *health_attendances, *council_children, *council_flags,
            *cpis_responses, *dead_letter, *audit;
    } topics;
    struct {
        char *listen, *tls_cert, *tls_key, *client_ca, *public_url;
        bool metrics_public;
        bool console;     /* the web console under /console/ */
        int console_idle; /* seconds without a request that end a console session */
        char *ack_key_file;
        struct sdat_token *tokens;
        size_t n_tokens;
    } http;
    struct {
        double match_threshold, review_threshold, match_margin, unplaced_threshold;
        char *nicknames_file;
    } matching;
    struct {
        int concurrency;
        double retry_initial, retry_max;
        int circuit_failures;
        double escalate_after, give_up_after;
    } delivery;
    struct {
        int checkpoint_every;
        char *checkpoint_key_file;
    } audit;
    struct {
        int payload_days, dead_letter_days, access_days;
    } retention;
    struct {
        char *da_incident, *da_incident_urgent, *unmatched_child, *review_needed, *cpis_access,
            *delivery_failed, *withdrawn;
    } lawful_basis;
    struct { /* optional, NULL when unset: what the reader should do now (delivery.md) */
        char *da_incident, *da_incident_urgent, *unmatched_child, *review_needed, *cpis_access,
            *delivery_failed, *withdrawn;
    } guidance;
    struct sdat_calendar *calendars;
    size_t n_calendars;
    struct sdat_area *areas;
    size_t n_areas;
    struct sdat_force *forces;
    size_t n_forces;
    struct sdat_recipient *recipients;
    size_t n_recipients;
};

/* Loads and checks PATH. connectors: the connectors' key tables
 * (NULL-terminated; the registry's sdat_connector_key_tables()), which give
 * each recipient its connector's keys; NULL knows no connector. 0 and
 * *ret_cfg (free with sdat_config_free), or -EINVAL and *ret_errors:
 * malloc'd lines "FILE:LINE: KEY: MESSAGE\n", every problem found (KEY as
 * recipients.[3].url; a missing key at its parent group's line). Values are
 * quoted; a secret's contents never appear. */
int sdat_config_load(const char *path, const struct sdat_key_table *const *connectors,
                     struct sdat_config **ret_cfg, char **ret_errors);
/* A recipient's connector check (outbox's sdat_connector_check): every
 * problem with its connector keys goes to report(opaque, KEY, ...), KEY
 * relative to the recipient ("url") or NULL for the recipient as a whole;
 * 0 when there was none, else a negative errno. */
typedef int (*sdat_recipient_check_fn)(const struct sdat_recipient *r, sdat_key_report_fn report,
                                       void *opaque);
/* As sdat_config_load, and check for each recipient whose connector is
 * known: each problem it reports is placed at that connector key's line
 * (recipients.[3].url), else the recipient's; a refusal that reported
 * nothing is reported at recipients.[3].connector. Every check runs whatever the
 * others found, so one pass reports every problem. */
int sdat_config_load_checked(const char *path, const struct sdat_key_table *const *connectors,
                             sdat_recipient_check_fn check, struct sdat_config **ret_cfg,
                             char **ret_errors);
/* As sdat_config_load for a reader of the store (sdatctl's notifications,
 * show, reviews, dlq, status, audit, match, schedule, backup): the files the
 * configuration names (secrets, certificates, the nickname list, Kafka's
 * "@file:" properties) are neither checked nor read, so that it loads
 * outside the unit (where "$CREDENTIALS_DIRECTORY/" means nothing) and from
 * an account that may not read them; a command that reads one of them
 * reports it when it does. Kafka's "@file:" values stay unresolved: such a
 * configuration must not reach a Kafka client. */
int sdat_config_load_reader(const char *path, const struct sdat_key_table *const *connectors,
                            struct sdat_config **ret_cfg, char **ret_errors);
void sdat_config_free(struct sdat_config *cfg); /* accepts NULL */
const struct sdat_recipient *sdat_config_recipient(const struct sdat_config *cfg, const char *id);
const struct sdat_recipient *sdat_config_school_by_urn(const struct sdat_config *cfg,
                                                       const char *urn);
const struct sdat_area *sdat_config_area(const struct sdat_config *cfg, const char *la_code);
const struct sdat_force *sdat_config_force(const struct sdat_config *cfg, const char *id);
const struct sdat_calendar *sdat_config_calendar(const struct sdat_config *cfg, const char *id);
const char *sdat_recipient_kind_name(enum sdat_recipient_kind kind);
/* The lawful_basis text for a notification kind (da-incident,
 * da-incident-urgent, unmatched-child, review-needed, cpis-access,
 * delivery-failed, withdrawn), or NULL for any other kind: a notification
 * of an unknown kind gets no lawful basis, and so fails its schema. */
const char *sdat_config_lawful_basis(const struct sdat_config *cfg, const char *kind);
/* guidance.KIND for a notification kind (as sdat_config_lawful_basis), or
 * NULL when it is not set or the kind is unknown. */
const char *sdat_config_guidance(const struct sdat_config *cfg, const char *kind);
/* "KEY: changed; restart-only, ignoring\n" per restart-only key whose value
 * differs; malloc'd, or NULL when none. */
char *sdat_config_restart_only_changes(const struct sdat_config *old_cfg,
                                       const struct sdat_config *new_cfg);
/* The keys that are not restart-only and whose values differ, by name,
 * never by value: "delivery.retry_max, recipients.[3], http.tokens" (a list
 * is named by its path when its count differs, else each element that
 * differs by its index; at most 32 names, then " and N more"); malloc'd,
 * or NULL when none differs. */
char *sdat_config_changed_keys(const struct sdat_config *old_cfg,
                               const struct sdat_config *new_cfg);
/* Gives new_cfg the running values of every restart-only key (swapping them
 * with old_cfg's, which is about to be freed), so that a reload changes only
 * reloadable keys. */
void sdat_config_keep_restart_only(struct sdat_config *new_cfg, struct sdat_config *old_cfg);
/* The configuration reference (every key: type, default, range, reload,
 * description), generated from the table and the connectors' tables
 * (sdat_config_load's connectors), as Markdown. */
void sdat_config_write_reference(FILE *out, const struct sdat_key_table *const *connectors);
/* The same as troff (man macros) for sdatd.conf(5): .SS per group and list,
 * .TP per key with its path (as recipients.[N].url), default, type, range,
 * reloadability and description. */
void sdat_config_write_man(FILE *out, const struct sdat_key_table *const *connectors);
#endif
