/* The engine suite's fixture, shared by test_engine.c (incidents as they
 * come in) and test_engine_revisit.c (decisions taken again later): a
 * directory of area 831 with its schools and services, a register of
 * synthetic children, police incidents handed to sdat_engine_ingest as the
 * daemon hands them over, and the notifications and audit records read
 * back. Each test file is its own program, so these statics are its own;
 * the functions are static inline as in fixture.h. */
#ifndef SDAT_TESTS_ENGINE_FIXTURE_H
#define SDAT_TESTS_ENGINE_FIXTURE_H

#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

/* What engine_setup opens; offset is the next one ingest hands over. */
static char dir[64];
static struct sdat_config *cfg;
static sdat_store_t *st;
static sdat_audit_t *audit;
static sdat_schemas_t *schemas;
static struct sdat_engine engine;
static int64_t offset;

/* Area 831 (DE22, DE23) with a MASH, EHE, early years and education
 * safeguarding; school:1 (full) and school:2 (minimal) on a term-time
 * calendar; school:9 on a calendar whose terms ended long ago. */
static const char config_text[] =
    "state_dir = \"%s\";\n"
    "instance_id = \"test\";\n"
    "kafka = { embedded = true; };\n"
    "http = { public_url = \"https://sdat.test.invalid\"; };\n"
    "lawful_basis = { da_incident = \"b1\"; da_incident_urgent = \"b2\"; unmatched_child = \"b3\";\n"
    "  review_needed = \"b4\"; cpis_access = \"b5\"; delivery_failed = \"b6\"; withdrawn = \"b7\"; };\n"
    "calendars = (\n"
    "  { id = \"term\"; terms = ( [ \"2026-09-02\", \"2026-10-23\" ], [ \"2026-11-02\", \"2026-12-18\" ] );\n"
    "    closures = [ \"2026-11-27\" ]; },\n"
    "  { id = \"old\"; terms = ( [ \"2020-09-02\", \"2020-12-18\" ] ); }\n"
    ");\n"
    "areas = ( { la_code = \"831\"; name = \"Test City\"; postcode_districts = [ \"DE22\", \"DE23\" ];\n"
    "  mash = \"la:831:mash\"; ehe = \"la:831:ehe\"; early_years = \"la:831:ey\";\n"
    "  education_safeguarding = \"la:831:edsg\"; },\n"
    "  { la_code = \"832\"; name = \"Next County\"; postcode_districts = [ \"S40\" ];\n"
    "    mash = \"la:832:mash\"; } );\n"
    "forces = ( { id = \"derbyshire\"; default_area = \"831\"; } );\n"
    "recipients = (\n"
    "  { id = \"school:1\"; kind = \"school\"; la_code = \"831\"; name = \"S1\"; urn = \"100001\";\n"
    "    calendar = \"term\"; connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"school:2\"; kind = \"school\"; la_code = \"831\"; name = \"S2\"; urn = \"100002\";\n"
    "    calendar = \"term\"; minimal = true; connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"school:9\"; kind = \"school\"; la_code = \"831\"; name = \"S9\"; urn = \"100009\";\n"
    "    calendar = \"old\"; connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"MASH\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:ehe\"; kind = \"ehe\"; la_code = \"831\"; name = \"EHE\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:ey\"; kind = \"early_years\"; la_code = \"831\"; name = \"EY\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:edsg\"; kind = \"education_safeguarding\"; la_code = \"831\"; name = \"EdSG\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:832:mash\"; kind = \"mash\"; la_code = \"832\"; name = \"MASH 2\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; }\n"
    ");\n";

/* Synthetic register children: an NHS number is what matches them. */
static const char *const children[] = {
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-1\",\"la_code\":\"831\",\"nhs_number\":\"9990000018\","
    "\"given_name\":\"Ashlyn\",\"family_name\":\"Testwood\",\"dob\":\"2016-04-12\","
    "\"address\":{\"line1\":\"1 Example Street\",\"postcode\":\"DE22 3XY\"},"
    "\"education\":[{\"urn\":\"100001\",\"start\":\"2025-09-01\"}]}",
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-2\",\"la_code\":\"831\",\"nhs_number\":\"9990000085\","
    "\"given_name\":\"Bramwell\",\"family_name\":\"Testwood\",\"dob\":\"2018-09-30\","
    "\"education\":[{\"urn\":\"100002\",\"start\":\"2025-09-01\"}]}",
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-3\",\"la_code\":\"831\",\"nhs_number\":\"9990000107\","
    "\"given_name\":\"Corvina\",\"family_name\":\"Exampleton\",\"dob\":\"2015-02-03\","
    "\"education\":[{\"urn\":\"100009\",\"start\":\"2019-09-01\"}]}",
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-4\",\"la_code\":\"831\",\"nhs_number\":\"9990000131\","
    "\"given_name\":\"Dashiell\",\"family_name\":\"Sampleby\",\"dob\":\"2023-05-06\"}",
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-5\",\"la_code\":\"831\",\"nhs_number\":\"9990000166\","
    "\"given_name\":\"Emberly\",\"family_name\":\"Sampleby\",\"dob\":\"2013-07-08\",\"ehe\":true}",
    /* Twins: the same family name, date of birth and address. */
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-6\",\"la_code\":\"831\","
    "\"given_name\":\"Fenna\",\"family_name\":\"Twinsworth\",\"dob\":\"2017-01-01\","
    "\"address\":{\"line1\":\"6 Example Street\",\"postcode\":\"DE23 6AA\"},"
    "\"education\":[{\"urn\":\"100001\",\"start\":\"2025-09-01\"}]}",
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-7\",\"la_code\":\"831\",\"nhs_number\":\"9990000204\","
    "\"given_name\":\"Fenn\",\"family_name\":\"Twinsworth\",\"dob\":\"2017-01-01\","
    "\"address\":{\"line1\":\"6 Example Street\",\"postcode\":\"DE23 6AA\"},"
    "\"education\":[{\"urn\":\"100002\",\"start\":\"2025-09-01\"}]}",
};

static inline void engine_setup(void)
{
    fixture_dir_make(dir, sizeof dir, "engine");
    fixture_write(dir, "sdatd.conf", config_text, dir, dir, dir, dir, dir, dir, dir, dir, dir);
    engine = fixture_engine_open(dir, &cfg, &st, &schemas, &audit);
    cr_assert_eq(sdat_store_begin(st), 0);
    for (size_t i = 0; i < sizeof children / sizeof children[0]; i++) {
        json_t *child = json_loads(children[i], 0, NULL);
        cr_assert_not_null(child);
        cr_assert_geq(sdat_store_child_upsert(st, child, 1), 0);
        json_decref(child);
    }
    cr_assert_eq(sdat_store_commit(st), 0);
    offset = 0;
}

static inline void engine_teardown(void)
{
    fixture_close(cfg, st, schemas, audit);
    fixture_dir_remove(dir);
}

static inline json_t *police_child(const char *ref, const char *given, const char *family,
                                   const char *dob, const char *nhs)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:b, s:b}", "given_name", given, "family_name",
                          family, "dob", dob, "present", 1, "resident", 1);
    if (ref) {
        json_object_set_new(c, "ref", json_string(ref));
    }
    if (nhs) {
        json_object_set_new(c, "nhs_number", json_string(nhs));
    }
    return c;
}

static inline json_t *incident(const char *id, int version, const char *reported_at,
                               json_t *kids)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:s, s:{s:s, s:s}}",
                     "schema", "police.da-incident/1", "force", "derbyshire", "incident_id", id,
                     "version", version, "occurred_at", reported_at, "reported_at", reported_at,
                     "location", "address", "1 Example Street", "postcode", "DE22 3XY", "risk",
                     "medium", "children", kids, "circumstances", "Synthetic circumstances.",
                     "officer", "id", "PC-1", "name", "PC Test");
}

static inline int count_dead(const struct sdat_dead_letter *dl, void *opaque)
{
    (void)dl;
    (*(size_t *)opaque)++;
    return 0;
}

/* Hands the incident to the engine as the daemon would; consumes doc. */
static inline void ingest(json_t *doc, int64_t now_ms)
{
    char key[128];
    snprintf(key, sizeof key, "derbyshire/%s",
             json_string_value(json_object_get(doc, "incident_id")));
    char *text = json_dumps(doc, JSON_COMPACT);
    struct sdat_inbound m = {.topic = "police.da-incidents",
                             .partition = 0,
                             .offset = offset++,
                             .key = key,
                             .key_len = strlen(key),
                             .value = text,
                             .value_len = strlen(text)};
    cr_assert_eq(sdat_engine_ingest(&engine, &m, now_ms), 0);
    size_t dead = 0;
    cr_assert_eq(sdat_store_dead_letters_since(st, 0, count_dead, &dead), 0);
    cr_assert_eq(dead, 0, "the test incident was dead-lettered");
    free(text);
    json_decref(doc);
}

struct row {
    char id[40], kind[32], recipient[64], child[40], state[16], amends[40], reason[40];
    int64_t scheduled_ms, version;
    json_t *payload;
};
struct rows {
    struct row v[32];
    size_t n;
};

static inline int collect(const struct sdat_notification *n, void *opaque)
{
    struct rows *rs = opaque;
    cr_assert_lt(rs->n, 32);
    struct row *r = &rs->v[rs->n++];
    snprintf(r->id, sizeof r->id, "%s", n->id);
    snprintf(r->kind, sizeof r->kind, "%s", n->kind);
    snprintf(r->recipient, sizeof r->recipient, "%s", n->recipient);
    snprintf(r->child, sizeof r->child, "%s", n->child_ref ? n->child_ref : "");
    snprintf(r->state, sizeof r->state, "%s", n->state);
    snprintf(r->amends, sizeof r->amends, "%s", n->amends ? n->amends : "");
    snprintf(r->reason, sizeof r->reason, "%s", n->route_reason ? n->route_reason : "");
    r->scheduled_ms = n->scheduled_ms;
    r->version = n->source_version;
    r->payload = json_loads(n->payload, 0, NULL);
    return 0;
}

static inline void rows_load(const char *incident_id, struct rows *rs)
{
    char key[128];
    snprintf(key, sizeof key, "derbyshire/%s", incident_id);
    rs->n = 0;
    cr_assert_eq(sdat_store_notifications_for_source(st, key, collect, rs), 0);
}

static inline void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        json_decref(rs->v[i].payload);
    }
    rs->n = 0;
}

/* The one row for recipient and state (NULL: any), failing otherwise. */
static inline const struct row *only(const struct rows *rs, const char *recipient,
                                     const char *state)
{
    const struct row *found = NULL;
    for (size_t i = 0; i < rs->n; i++) {
        if (strcmp(rs->v[i].recipient, recipient) == 0 &&
            (!state || strcmp(rs->v[i].state, state) == 0)) {
            cr_assert_null(found, "two notifications to %s in state %s", recipient,
                           state ? state : "any");
            found = &rs->v[i];
        }
    }
    cr_assert_not_null(found, "no notification to %s in state %s", recipient,
                       state ? state : "any");
    return found;
}

/* flows.md: no recipient ever holds two live notifications for the same
 * child and incident, except a delivered one followed by its amendment:
 * the live ones of each (child, recipient) form one `amends` chain in which
 * every one but the last was delivered. */
static inline void assert_one_live_per_child_and_recipient(const struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        const struct row *a = &rs->v[i];
        if (strcmp(a->state, "superseded") == 0 || strcmp(a->state, "cancelled") == 0) {
            continue;
        }
        size_t later = 0;
        for (size_t k = i + 1; k < rs->n; k++) {
            const struct row *b = &rs->v[k];
            if (strcmp(b->state, "superseded") == 0 || strcmp(b->state, "cancelled") == 0 ||
                strcmp(a->child, b->child) != 0 || strcmp(a->recipient, b->recipient) != 0) {
                continue;
            }
            later++;
            cr_assert_str_neq(a->state, "scheduled",
                              "%s is pending beside a later live %s to %s", a->id, b->id,
                              a->recipient);
            if (later == 1) {
                cr_assert_str_eq(b->amends, a->id, "%s follows %s without amends", b->id, a->id);
            }
        }
    }
}

static inline void set_state(const char *id, const char *state)
{
    cr_assert_eq(sdat_store_notification_set_state(st, id, state), 0);
}

/* The audit records of one type (interfaces.md): how many, and the last
 * in *ret_last (new reference) when ret_last is not NULL. */
static inline size_t audit_count(const char *type, json_t **ret_last)
{
    return fixture_audit_count(st, NULL, type, ret_last);
}

/* Ashlyn (T-1, by NHS number) in an incident reported on Thursday 19
 * November 2026 at 21:00 GMT. */
static inline json_t *one_child_incident(const char *id, int version,
                                         const char *circumstances)
{
    json_t *doc = incident(id, version, "2026-11-19T21:00:00Z",
                           json_pack("[o]", police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                         "9990000018")));
    json_object_set_new(doc, "circumstances", json_string(circumstances));
    return doc;
}

#endif
