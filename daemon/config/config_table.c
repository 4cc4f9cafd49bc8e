/* The configuration table: every key of sdatd.conf with its type, default,
 * range, reloadability and description. The parser (config.c), the
 * cross-key checks (config_check.c) and the reference (sdatd.conf(5)) are
 * all driven by it. */
#include <stddef.h>

#include "config_internal.h"

static const char *const log_levels[] = {"error", "warn", "info", "debug", NULL};
static const char *const log_formats[] = {"text", "json", NULL};
static const char *const kinds[] = {"school", "mash", "ehe", "early_years", "cpis",
                                    "education_safeguarding", "escalation", "other", NULL};

#define C(field) offsetof(struct sdat_config, field)
#define END {NULL, 0, 0, 0, NULL, 0, 0, NULL, NULL, 0, 0, 0, NULL}
#define S(n, off, fl, def, desc) {n, SDAT_KEY_STRING, off, fl, def, 0, 0, NULL, NULL, 0, 0, 0, desc}
#define B(n, off, fl, def, desc) {n, SDAT_KEY_BOOL, off, fl, def, 0, 0, NULL, NULL, 0, 0, 0, desc}
#define I(n, off, fl, def, lo, hi, desc) {n, SDAT_KEY_INT, off, fl, def, lo, hi, NULL, NULL, 0, 0, 0, desc}
#define N(n, off, fl, def, lo, hi, desc) {n, SDAT_KEY_NUMBER, off, fl, def, lo, hi, NULL, NULL, 0, 0, 0, desc}
#define E(n, off, fl, def, names, desc) {n, SDAT_KEY_ENUM, off, fl, def, 0, 0, names, NULL, 0, 0, 0, desc}
#define V(n, off, fl, desc) {n, SDAT_KEY_STRV, off, fl, NULL, 0, 0, NULL, NULL, 0, 0, 0, desc}
#define G(n, sub, desc) {n, SDAT_KEY_GROUP, 0, 0, NULL, 0, 0, NULL, sub, 0, 0, 0, desc}
#define L(n, off, sub, type, cnt, orig, desc) \
    {n, SDAT_KEY_LIST, off, 0, NULL, 0, 0, NULL, sub, sizeof(type), cnt, orig, desc}
#define X(n, t, off, fl, def, cnt, desc) {n, t, off, fl, def, 0, 0, NULL, NULL, 0, cnt, 0, desc}

#define K(field) offsetof(struct sdat_config, kafka.field)
static const struct sdat_key kafka_keys[] = {
    B("embedded", K(embedded), SDAT_KEY_RESTART, "false",
      "start an in-process Kafka-protocol broker (librdkafka's mock cluster) on loopback"),
    I("embedded_brokers", K(embedded_brokers), SDAT_KEY_RESTART, "1", 1, 9,
      "brokers in the embedded cluster"),
    S("bootstrap_servers", K(bootstrap_servers), SDAT_KEY_RESTART, NULL,
      "host:port list of the Kafka cluster (ignored with embedded)"),
    S("group_id", K(group_id), SDAT_KEY_RESTART, "sdatd", "consumer group of the inbound event topics"),
    I("max_message_bytes", K(max_message_bytes), SDAT_KEY_RESTART, "1048576", 1024, 104857600,
      "a larger event is dead-lettered (stage size) as its first 64 KiB"),
    X("properties", SDAT_KEY_PROPS, K(properties), SDAT_KEY_RESTART, NULL, K(n_properties),
      "( ( \"name\", \"value\" ), … ) passed to librdkafka; \"@file:PATH\" reads a secret file"),
    END,
};
#define TP(field) offsetof(struct sdat_config, topics.field)
static const struct sdat_key topic_keys[] = {
    S("police_incidents", TP(police_incidents), SDAT_KEY_RESTART, "police.da-incidents", "police.da-incident/1 in"),
    S("health_attendances", TP(health_attendances), SDAT_KEY_RESTART, "health.attendances", "health.attendance/1 in"),
    S("council_children", TP(council_children), SDAT_KEY_RESTART, "council.children", "council.child/1 in (compacted)"),
    S("council_flags", TP(council_flags), SDAT_KEY_RESTART, "council.cpis-flags", "council.cpis-flag/1 in (compacted)"),
    S("cpis_responses", TP(cpis_responses), SDAT_KEY_RESTART, "health.cpis-responses", "sdat.cpis-response/1 out"),
    S("dead_letter", TP(dead_letter), SDAT_KEY_RESTART, "sdat.dlq", "rejected events out"),
    S("audit", TP(audit), SDAT_KEY_RESTART, "sdat.audit", "audit mirror out"),
    END,
};
#define TK(field) offsetof(struct sdat_token, field)
static const struct sdat_key token_keys[] = {
    S("name", TK(name), SDAT_KEY_REQUIRED, NULL, "names the token in audit records"),
    X("sha256", SDAT_KEY_SHA256, TK(sha256), SDAT_KEY_REQUIRED, NULL, 0, "hex SHA-256 digest of the token"),
    X("roles", SDAT_KEY_ROLES, TK(roles), SDAT_KEY_REQUIRED, NULL, 0,
      "lookup, ack, operator, metrics, auditor"),
    V("ods_codes", TK(ods_codes), 0, "narrows a lookup token to these organisations"),
    V("recipients", TK(recipients), 0, "narrows an ack token to these recipients"),
    END,
};
#define H(field) offsetof(struct sdat_config, http.field)
static const struct sdat_key http_keys[] = {
    S("listen", H(listen), SDAT_KEY_RESTART, "127.0.0.1:8080", "address and port of the HTTP API"),
    /* The listener's TLS is set up once, at start (OPERATING.md "Reloading"). */
    S("tls_cert", H(tls_cert), SDAT_KEY_RESTART, NULL,
      "server certificate (TLS when set with tls_key); read at start"),
    S("tls_key", H(tls_key), SDAT_KEY_RESTART, NULL,
      "server private key (a secret file); read at start"),
    S("client_ca", H(client_ca), SDAT_KEY_RESTART, NULL,
      "require client certificates from this CA; read at start"),
    S("public_url", H(public_url), 0, NULL, "base URL for ack_url and review URLs"),
    B("metrics_public", H(metrics_public), 0, "true", "serve /metrics without a token"),
    B("console", H(console), 0, "true",
      "serve the web console under /console/ (503 on a plain-HTTP listener not on loopback)"),
    I("console_idle", H(console_idle), 0, "900", 60, 28800,
      "a console session ends after this many seconds without a request (s)"),
    S("ack_key_file", H(ack_key_file), 0, NULL, "secret that signs the token in ack_url"),
    L("tokens", H(tokens), token_keys, struct sdat_token, H(n_tokens),
      offsetof(struct config_origins, tokens), "API tokens (digests only)"),
    END,
};
#define M(field) offsetof(struct sdat_config, matching.field)
static const struct sdat_key matching_keys[] = {
    N("match_threshold", M(match_threshold), 0, "18", -100, 100,
      "a best score at or above this (and ahead by match_margin) is a match"),
    N("review_threshold", M(review_threshold), 0, "14", -100, 100,
      "a best score at or above this is sent for review"),
    N("match_margin", M(match_margin), 0, "5", 0, 100,
      "how far the best score must lead the second for a match"),
    N("unplaced_threshold", M(unplaced_threshold), 0, "24", -100, 100,
      "the match threshold when the incident gives no address to compare (if higher)"),
    S("nicknames_file", M(nicknames_file), 0, NULL, "nickname equivalences, one group per line"),
    END,
};
#define D(field) offsetof(struct sdat_config, delivery.field)
static const struct sdat_key delivery_keys[] = {
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
static const struct sdat_key audit_keys[] = {
    I("checkpoint_every", A(checkpoint_every), 0, "1000", 2, 100000000,
      "records between checkpoint records"),
    S("checkpoint_key_file", A(checkpoint_key_file), 0, NULL,
      "secret for checkpoint MACs and lookup HMACs"),
    END,
};
#define R(field) offsetof(struct sdat_config, retention.field)
static const struct sdat_key retention_keys[] = {
    I("payload_days", R(payload_days), 0, "400", 1, 36500, "notification payloads kept (days)"),
    I("dead_letter_days", R(dead_letter_days), 0, "30", 1, 36500, "dead-lettered bytes kept (days)"),
    I("access_days", R(access_days), 0, "400", 1, 36500, "CP-IS access history kept (days)"),
    END,
};
#define LB(field) offsetof(struct sdat_config, lawful_basis.field)
static const struct sdat_key lawful_keys[] = {
    S("da_incident", LB(da_incident), SDAT_KEY_REQUIRED, NULL, "lawful basis text for da-incident"),
    S("da_incident_urgent", LB(da_incident_urgent), SDAT_KEY_REQUIRED, NULL, "… for da-incident-urgent"),
    S("unmatched_child", LB(unmatched_child), SDAT_KEY_REQUIRED, NULL, "… for unmatched-child"),
    S("review_needed", LB(review_needed), SDAT_KEY_REQUIRED, NULL, "… for review-needed"),
    S("cpis_access", LB(cpis_access), SDAT_KEY_REQUIRED, NULL, "… for cpis-access"),
    S("delivery_failed", LB(delivery_failed), SDAT_KEY_REQUIRED, NULL, "… for delivery-failed"),
    S("withdrawn", LB(withdrawn), SDAT_KEY_REQUIRED, NULL, "… for withdrawn"),
    END,
};
#define GU(field) offsetof(struct sdat_config, guidance.field)
static const struct sdat_key guidance_keys[] = {
    S("da_incident", GU(da_incident), 0, NULL, "what the reader of a da-incident should do now"),
    S("da_incident_urgent", GU(da_incident_urgent), 0, NULL, "… of a da-incident-urgent"),
    S("unmatched_child", GU(unmatched_child), 0, NULL, "… of an unmatched-child"),
    S("review_needed", GU(review_needed), 0, NULL, "… of a review-needed"),
    S("cpis_access", GU(cpis_access), 0, NULL, "… of a cpis-access"),
    S("delivery_failed", GU(delivery_failed), 0, NULL, "… of a delivery-failed"),
    S("withdrawn", GU(withdrawn), 0, NULL, "… of a withdrawn (unused: it says only what to delete)"),
    END,
};
#define CA(field) offsetof(struct sdat_calendar, field)
static const struct sdat_key calendar_keys[] = {
    S("id", CA(id), SDAT_KEY_REQUIRED, NULL, "referred to by school recipients"),
    S("timezone", CA(timezone), 0, "Europe/London", "the calendar's time zone"),
    X("release_time", SDAT_KEY_TIME, CA(release_time), 0, "07:30", 0, "when notifications are released"),
    X("start_time", SDAT_KEY_TIME, CA(start_time), 0, "08:45", 0, "when pupils arrive (late escalation)"),
    X("close_time", SDAT_KEY_TIME, CA(close_time), 0, "16:00", 0, "end of the school day"),
    X("weekdays", SDAT_KEY_WEEKDAYS, CA(weekdays), 0, "mon,tue,wed,thu,fri", 0, "school weekdays"),
    X("terms", SDAT_KEY_TERMS, CA(terms), 0, NULL, CA(n_terms), "( [ \"FIRST\", \"LAST\" ], … ) inclusive"),
    X("closures", SDAT_KEY_DATES, CA(closures), 0, NULL, CA(n_closures), "single closure dates"),
    END,
};
#define AR(field) offsetof(struct sdat_area, field)
static const struct sdat_key area_keys[] = {
    S("la_code", AR(la_code), SDAT_KEY_REQUIRED, NULL, "DfE local authority number"),
    S("name", AR(name), SDAT_KEY_REQUIRED, NULL, "the authority's name"),
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
static const struct sdat_key force_keys[] = {
    S("id", FO(id), SDAT_KEY_REQUIRED, NULL, "the force id in police.da-incident/1"),
    S("default_area", FO(default_area), 0, NULL, "la_code of the area for unplaced incidents"),
    END,
};
#define RE(field) offsetof(struct sdat_recipient, field)
static const struct sdat_key recipient_keys[] = {
    S("id", RE(id), SDAT_KEY_REQUIRED, NULL, "[a-z0-9:._-]{1,64}"),
    E("kind", RE(kind), SDAT_KEY_REQUIRED, NULL, kinds, "the area role"),
    S("la_code", RE(la_code), SDAT_KEY_REQUIRED, NULL, "the recipient's area"),
    S("name", RE(name), SDAT_KEY_REQUIRED, NULL, "shown in payloads"),
    S("urn", RE(urn), 0, NULL, "a school's URN (schools)"),
    S("calendar", RE(calendar), 0, NULL, "a school's calendar id (schools)"),
    B("minimal", RE(minimal), 0, "false", "receive the minimal da-incident payload"),
    N("ack_within", RE(ack_within), 0, "0", 0, 31536000, "escalate if not acknowledged (s)"),
    S("connector", RE(connector), SDAT_KEY_REQUIRED, NULL, "webhook, smtp, kafka or file"),
    END,
};
const struct sdat_key config_root_keys[] = {
    S("state_dir", C(state_dir), SDAT_KEY_RESTART, "/var/lib/sdat", "the store (sdat.db) and runtime files"),
    S("instance_id", C(instance_id), SDAT_KEY_RESTART, NULL, "names this daemon in audit records and its consumer group, unique there (default: host name)"),
    S("timezone", C(timezone), SDAT_KEY_RESTART, "Europe/London", "the zone for \"the date of\" an instant"),
    I("threads", C(threads), SDAT_KEY_RESTART, "0", 0, 64, "decision workers that parse, validate and match consumed events (0: one per online CPU)"),
    E("log_level", C(log_level), 0, "info", log_levels, "error, warn, info or debug"),
    E("log_format", C(log_format), 0, "text", log_formats, "text or json"),
    G("kafka", kafka_keys, "the Kafka connection"),
    G("topics", topic_keys, "topic names"),
    G("http", http_keys, "the HTTP API"),
    G("matching", matching_keys, "matching thresholds"),
    G("delivery", delivery_keys, "retries, circuits and escalation"),
    G("audit", audit_keys, "the audit chain"),
    G("retention", retention_keys, "what is removed when"),
    {"lawful_basis", SDAT_KEY_GROUP, 0, SDAT_KEY_REQUIRED, NULL, 0, 0, NULL, lawful_keys, 0, 0, 0,
     "one lawful basis text per notification kind"},
    G("guidance", guidance_keys, "optional: what the reader of each kind should do now, shown in its letter"),
    L("calendars", C(calendars), calendar_keys, struct sdat_calendar, C(n_calendars),
      offsetof(struct config_origins, calendars), "school calendars"),
    L("areas", C(areas), area_keys, struct sdat_area, C(n_areas),
      offsetof(struct config_origins, areas), "local authority areas"),
    L("forces", C(forces), force_keys, struct sdat_force, C(n_forces),
      offsetof(struct config_origins, forces), "police forces"),
    {"recipients", SDAT_KEY_LIST, C(recipients), SDAT_KEY_CONNECTORS, NULL, 0, 0, NULL,
     recipient_keys, sizeof(struct sdat_recipient), C(n_recipients),
     offsetof(struct config_origins, recipients),
     "the directory of recipients; each also has its connector's keys"},
    END,
};

const char *sdat_recipient_kind_name(enum sdat_recipient_kind kind)
{
    return (unsigned)kind < sizeof kinds / sizeof kinds[0] - 1 ? kinds[kind] : "other";
}
