/* The engine over a real store: the school schedule applied to incidents,
 * lenient police fields and scope, children identified by ref or position,
 * amendments (flows.md §1) and review decisions, with the audit records
 * each writes. Events go in through sdat_engine_ingest exactly as the
 * daemon hands them over. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "outbox/outbox.h"
#include "engine/engine.h"
#include "decide/decide.h"
#include "config/config.h"
#include "store/store.h"

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
    "  education_safeguarding = \"la:831:edsg\"; } );\n"
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
    "    connector = \"file\"; directory = \"%s/spool\"; }\n"
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

static void setup(void)
{
    char path[128], err[256], *errors = NULL;
    snprintf(dir, sizeof dir, "/tmp/sdat-test-engine-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sdatd.conf", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, config_text, dir, dir, dir, dir, dir, dir, dir, dir);
    fclose(f);
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s", errors ? errors : "");
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_schemas_new(&schemas, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_audit_new("test", &audit), 0);
    engine = (struct sdat_engine){.cfg = cfg, .st = st, .audit = audit, .schemas = schemas};
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

static void teardown(void)
{
    char cmd[128];
    sdat_audit_free(audit);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(engine, .init = setup, .fini = teardown);

static int64_t ms(const char *datetime)
{
    int64_t v;
    cr_assert_eq(sdat_datetime_parse(datetime, &v), 0, "%s", datetime);
    return v;
}

/* One police child: given, family, dob, NHS number (NULL: absent). */
static json_t *police_child(const char *ref, const char *given, const char *family,
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

static json_t *incident(const char *id, int version, const char *reported_at, json_t *kids)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s, s:s}, s:s, s:o, s:s, s:{s:s, s:s}}",
                     "schema", "police.da-incident/1", "force", "derbyshire", "incident_id", id,
                     "version", version, "occurred_at", reported_at, "reported_at", reported_at,
                     "location", "address", "1 Example Street", "postcode", "DE22 3XY", "risk",
                     "medium", "children", kids, "circumstances", "Synthetic circumstances.",
                     "officer", "id", "PC-1", "name", "PC Test");
}

static int count_dead(const struct sdat_dead_letter *dl, void *opaque)
{
    (void)dl;
    (*(size_t *)opaque)++;
    return 0;
}

/* Hands the incident to the engine as the daemon would; consumes doc. */
static void ingest(json_t *doc, int64_t now_ms)
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

static int collect(const struct sdat_notification *n, void *opaque)
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

static void rows_load(const char *incident_id, struct rows *rs)
{
    char key[128];
    snprintf(key, sizeof key, "derbyshire/%s", incident_id);
    rs->n = 0;
    cr_assert_eq(sdat_store_notifications_for_source(st, key, collect, rs), 0);
}

static void rows_free(struct rows *rs)
{
    for (size_t i = 0; i < rs->n; i++) {
        json_decref(rs->v[i].payload);
    }
    rs->n = 0;
}

/* The one row for recipient and state (NULL: any), failing otherwise. */
static const struct row *only(const struct rows *rs, const char *recipient, const char *state)
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
    cr_assert_not_null(found, "no notification to %s in state %s", recipient, state ? state : "any");
    return found;
}

/* flows.md: no recipient ever holds two live notifications for the same
 * child and incident, except a delivered one followed by its amendment:
 * the live ones of each (child, recipient) form one `amends` chain in which
 * every one but the last was delivered. */
static void assert_one_live_per_child_and_recipient(const struct rows *rs)
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

static void set_state(const char *id, const char *state)
{
    cr_assert_eq(sdat_store_notification_set_state(st, id, state), 0);
}

/* The audit records of one type (interfaces.md): how many, and the last. */
struct audit_find {
    const char *type;
    size_t n;
    json_t *last;
};

static int audit_find_cb(int64_t seq, const char *record, void *opaque)
{
    struct audit_find *f = opaque;
    json_t *doc = json_loads(record, 0, NULL);
    cr_assert_not_null(doc, "audit record %lld is not JSON", (long long)seq);
    if (strcmp(json_string_value(json_object_get(doc, "type")), f->type) == 0) {
        f->n++;
        json_decref(f->last);
        f->last = doc;
    } else {
        json_decref(doc);
    }
    return 0;
}

/* Counts the records of type; the last one in *ret_last (new reference)
 * when ret_last is not NULL. */
static size_t audit_count(const char *type, json_t **ret_last)
{
    struct audit_find f = {.type = type};
    cr_assert_eq(sdat_store_audit_each(st, 0, audit_find_cb, &f), 0);
    if (ret_last) {
        *ret_last = f.last;
    } else {
        json_decref(f.last);
    }
    return f.n;
}

/* ---- the school schedule applied to incidents ---- */

Test(engine, school_notification_reported_in_the_evening_waits_for_release_time)
{
    /* Thursday 19 November 2026, 21:00 GMT → Friday 07:30 GMT. */
    ingest(incident("S-1", 1, "2026-11-19T21:00:00Z",
                    json_pack("[o]", police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                  "9990000018"))),
           ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("S-1", &rs);
    cr_assert_eq(rs.n, 1);
    const struct row *r = only(&rs, "school:1", "scheduled");
    cr_assert_eq(r->scheduled_ms, ms("2026-11-20T07:30:00Z"));
    cr_assert_str_eq(json_string_value(json_object_get(r->payload, "scheduled_for")),
                     "2026-11-20T07:30:00.000Z");
    rows_free(&rs);
}

Test(engine, a_time_already_past_when_the_daemon_decides_is_delivered_at_once)
{
    /* Reported on a Friday evening, decided on Tuesday: Monday's release
     * time has passed. */
    int64_t now = ms("2026-11-24T10:00:00Z");
    ingest(incident("S-2", 1, "2026-11-20T18:00:00Z",
                    json_pack("[o]", police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                  "9990000018"))),
           now);
    struct rows rs;
    rows_load("S-2", &rs);
    cr_assert_eq(only(&rs, "school:1", "scheduled")->scheduled_ms, now);
    rows_free(&rs);
}

Test(engine, an_exhausted_calendar_notifies_education_safeguarding_at_once)
{
    int64_t now = ms("2026-11-19T21:05:00Z");
    ingest(incident("S-3", 1, "2026-11-19T21:00:00Z",
                    json_pack("[o]", police_child("c1", "Corvina", "Exampleton", "2015-02-03",
                                                  "9990000107"))),
           now);
    struct rows rs;
    rows_load("S-3", &rs);
    cr_assert_eq(rs.n, 1);
    const struct row *r = only(&rs, "la:831:edsg", "scheduled");
    cr_assert_eq(r->scheduled_ms, now);
    cr_assert_str_eq(r->reason, "calendar-exhausted");
    cr_assert_str_eq(json_string_value(json_object_get(r->payload, "route_reason")),
                     "calendar-exhausted");
    /* Not a school payload: the register id and what police sent. */
    cr_assert_str_eq(json_string_value(json_object_get(r->payload, "register_child_id")), "T-3");
    rows_free(&rs);
}

/* ---- routing rows through the engine: scope, urgent copy ---- */

Test(engine, every_routing_row_and_the_urgent_copy_once_per_incident)
{
    json_t *kids = json_pack(
        "[o, o, o, o, o, o]",
        police_child("school", "Ashlyn", "Testwood", "2016-04-12", "9990000018"),
        police_child("minimal", "Bramwell", "Testwood", "2018-09-30", "9990000085"),
        police_child("young", "Dashiell", "Sampleby", "2023-05-06", "9990000131"),
        police_child("ehe", "Emberly", "Sampleby", "2013-07-08", "9990000166"),
        police_child("stranger", "Quorra", "Nobodyfield", "2012-12-12", NULL),
        police_child("adult", "Ysolde", "Grownfield", "2006-01-01", NULL));
    json_t *doc = incident("R-1", 1, "2026-11-19T10:00:00Z", kids);
    json_object_set_new(doc, "risk", json_string("high"));
    int64_t now = ms("2026-11-19T10:01:00Z");
    ingest(doc, now);
    struct rows rs;
    rows_load("R-1", &rs);
    /* school (at once: 10:00 on a school day), minimal school, early years,
     * EHE, unmatched to the MASH and one urgent copy to the MASH; nothing
     * for the 20-year-old. */
    cr_assert_eq(rs.n, 6);
    const struct row *s1 = only(&rs, "school:1", NULL);
    cr_assert_eq(s1->scheduled_ms, ms("2026-11-19T10:00:00Z") > now ? ms("2026-11-19T10:00:00Z")
                                                                     : now);
    const struct row *s2 = only(&rs, "school:2", NULL);
    cr_assert_null(json_object_get(json_object_get(s2->payload, "child"), "upn"));
    cr_assert_null(json_object_get(json_object_get(s2->payload, "incident"), "spoken_to"));
    cr_assert_str_eq(only(&rs, "la:831:ey", NULL)->reason, "under-five");
    cr_assert_str_eq(only(&rs, "la:831:ehe", NULL)->reason, "ehe");
    size_t unmatched = 0, urgent = 0;
    for (size_t i = 0; i < rs.n; i++) {
        unmatched += strcmp(rs.v[i].kind, "unmatched-child") == 0;
        urgent += strcmp(rs.v[i].kind, "da-incident-urgent") == 0;
        cr_assert_str_neq(rs.v[i].child, "adult");
        /* A school payload never carries the address, risk or anyone else. */
        if (strncmp(rs.v[i].recipient, "school:", 7) == 0) {
            char *text = json_dumps(rs.v[i].payload, JSON_COMPACT);
            cr_assert_null(strstr(text, "Example Street"), "%s", text);
            cr_assert_null(strstr(text, "DE22"), "%s", text);
            cr_assert_null(strstr(text, "high"), "%s", text);
            cr_assert_null(strstr(text, "Sampleby"), "%s", text);
            cr_assert_null(strstr(text, "Nobodyfield"), "%s", text);
            cr_assert_null(strstr(text, "PC-1"), "%s", text);
            free(text);
        }
    }
    cr_assert_eq(unmatched, 1);
    cr_assert_eq(urgent, 1);
    rows_free(&rs);
}

/* ---- lenient police fields and scope (events.md, flows.md §1) ---- */

Test(engine, a_bad_check_digit_is_ignored_and_every_child_is_still_processed)
{
    /* 9990000017 is ten digits (the right type) with a wrong check digit. */
    json_t *doc = incident("L-1", 1, "2026-11-19T10:00:00Z",
                           json_pack("[o, o]",
                                     police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                  "9990000018"),
                                     police_child("c2", "Quorra", "Nobodyfield", "2012-12-12",
                                                  "9990000017")));
    ingest(doc, ms("2026-11-19T10:01:00Z")); /* fails if dead-lettered */
    struct rows rs;
    rows_load("L-1", &rs);
    cr_assert_eq(rs.n, 2, "both children are processed");
    const struct row *school = only(&rs, "school:1", NULL);
    cr_assert_str_eq(school->child, "c1");
    cr_assert_null(json_object_get(school->payload, "ignored_fields"));
    const struct row *mash = only(&rs, "la:831:mash", NULL);
    cr_assert_str_eq(mash->kind, "unmatched-child");
    cr_assert_str_eq(mash->child, "c2");
    json_t *ignored = json_object_get(mash->payload, "ignored_fields");
    cr_assert_eq(json_array_size(ignored), 1);
    cr_assert_str_eq(json_string_value(json_array_get(ignored, 0)), "/children/1/nhs_number");
    rows_free(&rs);

    json_t *accepted = NULL;
    cr_assert_eq(audit_count("event.accepted", &accepted), 1);
    json_t *fields = json_object_get(json_object_get(accepted, "detail"), "ignored_fields");
    cr_assert_eq(json_array_size(fields), 1);
    cr_assert_str_eq(json_string_value(json_array_get(fields, 0)), "/children/1/nhs_number");
    json_decref(accepted);
    cr_assert_eq(audit_count("match.decided", NULL), 2);
    cr_assert_eq(audit_count("event.rejected", NULL), 0);
}

/* A child known by age only. */
static json_t *police_child_aged(const char *ref, const char *given, int age)
{
    return json_pack("{s:s, s:s, s:s, s:i, s:b, s:b}", "ref", ref, "given_name", given,
                     "family_name", "Grownfield", "age", age, "present", 1, "resident", 1);
}

static int out_of_scope_child(int64_t seq, const char *record, void *opaque)
{
    (void)seq;
    json_t *doc = json_loads(record, 0, NULL);
    cr_assert_not_null(doc);
    if (strcmp(json_string_value(json_object_get(doc, "type")), "child.out-of-scope") == 0) {
        json_array_append(opaque, json_object_get(json_object_get(doc, "subject"), "child"));
    }
    json_decref(doc);
    return 0;
}

Test(engine, eighteen_by_age_or_on_the_local_incident_date_is_out_of_scope)
{
    /* 23:30 UTC on 30 June is 00:30 BST on 1 July in London: a child born
     * on 1 July 2008 is 18 on the local date (17 on the UTC one). */
    json_t *doc = incident("O-1", 1, "2026-06-30T23:30:00Z",
                           json_pack("[o, o, o]", police_child_aged("aged", "Ysolde", 18),
                                     police_child("birthday", "Yarrow", "Grownfield",
                                                  "2008-07-01", NULL),
                                     police_child_aged("minor", "Yvaine", 17)));
    ingest(doc, ms("2026-06-30T23:31:00Z"));
    struct rows rs;
    rows_load("O-1", &rs);
    cr_assert_eq(rs.n, 1, "only the 17-year-old is notified");
    cr_assert_str_eq(rs.v[0].child, "minor");
    cr_assert_str_eq(rs.v[0].kind, "unmatched-child");
    rows_free(&rs);
    json_t *refs = json_array();
    cr_assert_eq(sdat_store_audit_each(st, 0, out_of_scope_child, refs), 0);
    cr_assert_eq(json_array_size(refs), 2, "one child.out-of-scope record each");
    cr_assert_str_eq(json_string_value(json_array_get(refs, 0)), "aged");
    cr_assert_str_eq(json_string_value(json_array_get(refs, 1)), "birthday");
    json_decref(refs);
    cr_assert_eq(audit_count("match.decided", NULL), 1);
}

/* ---- children identified by ref, else by position ---- */

Test(engine, children_reordered_by_a_later_version_keep_their_notifications_by_ref)
{
    json_t *v1 = incident("P-1", 1, "2026-11-19T21:00:00Z",
                          json_pack("[o, o]",
                                    police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                 "9990000018"),
                                    police_child("c2", "Bramwell", "Testwood", "2018-09-30",
                                                 "9990000085")));
    ingest(v1, ms("2026-11-19T21:05:00Z"));
    json_t *v2 = incident("P-1", 2, "2026-11-19T21:00:00Z",
                          json_pack("[o, o]",
                                    police_child("c2", "Bramwell", "Testwood", "2018-09-30",
                                                 "9990000085"),
                                    police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                 "9990000018")));
    ingest(v2, ms("2026-11-19T22:00:00Z"));
    struct rows rs;
    rows_load("P-1", &rs);
    cr_assert_eq(rs.n, 2, "no new notification for the same children");
    for (size_t i = 0; i < rs.n; i++) {
        cr_assert_str_eq(rs.v[i].state, "scheduled", "%s is %s", rs.v[i].id, rs.v[i].state);
        cr_assert_eq(rs.v[i].version, 1);
    }
    cr_assert_str_eq(only(&rs, "school:1", NULL)->child, "c1");
    cr_assert_str_eq(only(&rs, "school:2", NULL)->child, "c2");
    rows_free(&rs);
    cr_assert_eq(audit_count("notification.superseded", NULL), 0);
    cr_assert_eq(audit_count("notification.cancelled", NULL), 0);
}

Test(engine, children_without_ref_are_identified_by_position)
{
    json_t *doc = incident("P-2", 1, "2026-11-19T21:00:00Z",
                           json_pack("[o, o]",
                                     police_child(NULL, "Ashlyn", "Testwood", "2016-04-12",
                                                  "9990000018"),
                                     police_child(NULL, "Bramwell", "Testwood", "2018-09-30",
                                                  "9990000085")));
    ingest(doc, ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("P-2", &rs);
    cr_assert_eq(rs.n, 2);
    cr_assert_str_eq(only(&rs, "school:1", NULL)->child, "0");
    cr_assert_str_eq(only(&rs, "school:2", NULL)->child, "1");
    rows_free(&rs);
}

/* ---- amendments ---- */

static json_t *one_child_incident(const char *id, int version, const char *circumstances)
{
    json_t *doc = incident(id, version, "2026-11-19T21:00:00Z",
                           json_pack("[o]", police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                         "9990000018")));
    json_object_set_new(doc, "circumstances", json_string(circumstances));
    return doc;
}

Test(engine, higher_version_with_changed_content_supersedes_a_pending_one_on_its_schedule)
{
    ingest(one_child_incident("A-1", 1, "First account."), ms("2026-11-19T21:05:00Z"));
    ingest(one_child_incident("A-1", 2, "Corrected account."), ms("2026-11-19T23:00:00Z"));
    struct rows rs;
    rows_load("A-1", &rs);
    cr_assert_eq(rs.n, 2);
    const struct row *old = only(&rs, "school:1", "superseded");
    const struct row *now = only(&rs, "school:1", "scheduled");
    cr_assert_eq(old->version, 1);
    cr_assert_eq(now->version, 2);
    cr_assert_eq(now->scheduled_ms, old->scheduled_ms);
    cr_assert_str_eq(now->amends, "", "a pending one is replaced, not amended");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(now->payload, "incident"),
                                                       "circumstances")),
                     "Corrected account.");
    json_t *superseded = NULL;
    cr_assert_eq(audit_count("notification.superseded", &superseded), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(superseded, "subject"),
                                                       "notification_id")),
                     old->id);
    json_decref(superseded);
    assert_one_live_per_child_and_recipient(&rs);
    rows_free(&rs);
}

Test(engine, higher_version_with_the_same_school_payload_leaves_the_pending_one_alone)
{
    ingest(one_child_incident("A-2", 1, "Same."), ms("2026-11-19T21:05:00Z"));
    /* A change the school never sees (the risk level) is no change to it. */
    json_t *v2 = one_child_incident("A-2", 2, "Same.");
    json_object_set_new(v2, "risk", json_string("standard"));
    ingest(v2, ms("2026-11-19T23:00:00Z"));
    struct rows rs;
    rows_load("A-2", &rs);
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(only(&rs, "school:1", "scheduled")->version, 1);
    rows_free(&rs);
}

Test(engine, delivered_one_is_followed_by_an_amendment_only_when_the_payload_differs)
{
    ingest(one_child_incident("A-3", 1, "First."), ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("A-3", &rs);
    char first[40];
    snprintf(first, sizeof first, "%s", only(&rs, "school:1", NULL)->id);
    rows_free(&rs);
    set_state(first, "delivered");

    ingest(one_child_incident("A-3", 2, "First."), ms("2026-11-20T09:00:00Z"));
    rows_load("A-3", &rs);
    cr_assert_eq(rs.n, 1, "the same payload again: no amendment");
    rows_free(&rs);

    ingest(one_child_incident("A-3", 3, "Second."), ms("2026-11-20T10:00:00Z"));
    rows_load("A-3", &rs);
    cr_assert_eq(rs.n, 2);
    const struct row *amendment = only(&rs, "school:1", "scheduled");
    cr_assert_str_eq(amendment->amends, first);
    cr_assert_str_eq(json_string_value(json_object_get(amendment->payload, "amends")), first);
    cr_assert_eq(amendment->scheduled_ms, ms("2026-11-20T10:00:00Z"), "a school day: at once");
    assert_one_live_per_child_and_recipient(&rs);
    rows_free(&rs);

    /* A fourth version while the amendment is still pending replaces it and
     * keeps pointing at the delivered one. */
    char second[40];
    rows_load("A-3", &rs);
    snprintf(second, sizeof second, "%s", only(&rs, "school:1", "scheduled")->id);
    rows_free(&rs);
    set_state(second, "delivered");
    ingest(one_child_incident("A-3", 4, "Third."), ms("2026-11-20T11:00:00Z"));
    rows_load("A-3", &rs);
    cr_assert_eq(rs.n, 3);
    cr_assert_str_eq(only(&rs, "school:1", "scheduled")->amends, second);
    assert_one_live_per_child_and_recipient(&rs);
    rows_free(&rs);
}

Test(engine, removed_child_cancels_its_pending_notifications)
{
    json_t *v1 = incident("A-4", 1, "2026-11-19T21:00:00Z",
                          json_pack("[o, o]",
                                    police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                 "9990000018"),
                                    police_child("c2", "Bramwell", "Testwood", "2018-09-30",
                                                 "9990000085")));
    ingest(v1, ms("2026-11-19T21:05:00Z"));
    json_t *v2 = incident("A-4", 2, "2026-11-19T21:00:00Z",
                          json_pack("[o]", police_child("c1", "Ashlyn", "Testwood", "2016-04-12",
                                                        "9990000018")));
    ingest(v2, ms("2026-11-19T22:00:00Z"));
    struct rows rs;
    rows_load("A-4", &rs);
    cr_assert_eq(rs.n, 2);
    cr_assert_eq(only(&rs, "school:1", "scheduled")->version, 1, "c1 unchanged: kept");
    cr_assert_str_eq(only(&rs, "school:2", NULL)->state, "cancelled");
    json_t *cancelled = NULL;
    cr_assert_eq(audit_count("notification.cancelled", &cancelled), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(cancelled, "subject"),
                                                       "notification_id")),
                     only(&rs, "school:2", NULL)->id);
    json_decref(cancelled);
    cr_assert_eq(audit_count("notification.superseded", NULL), 0);
    rows_free(&rs);
}

Test(engine, same_version_is_a_duplicate_and_a_lower_one_is_stale)
{
    ingest(one_child_incident("A-5", 2, "Two."), ms("2026-11-19T21:05:00Z"));
    ingest(one_child_incident("A-5", 2, "Two, again."), ms("2026-11-19T21:06:00Z"));
    ingest(one_child_incident("A-5", 1, "One."), ms("2026-11-19T21:07:00Z"));
    struct rows rs;
    rows_load("A-5", &rs);
    cr_assert_eq(rs.n, 1);
    cr_assert_eq(only(&rs, "school:1", "scheduled")->version, 2);
    rows_free(&rs);
    json_t *stale = NULL;
    cr_assert_eq(audit_count("event.duplicate", NULL), 1);
    cr_assert_eq(audit_count("event.stale", &stale), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(stale, "subject"),
                                                       "incident")),
                     "derbyshire/A-5");
    cr_assert_eq(json_integer_value(json_object_get(json_object_get(stale, "detail"), "version")),
                 1);
    json_decref(stale);
}

Test(engine, a_child_moved_to_another_recipient_by_a_later_version_is_superseded_there)
{
    /* v1 names Ashlyn by NHS number; v2 corrects the number to Bramwell's. */
    ingest(one_child_incident("A-6", 1, "x"), ms("2026-11-19T21:05:00Z"));
    json_t *v2 = incident("A-6", 2, "2026-11-19T21:00:00Z",
                          json_pack("[o]", police_child("c1", "Bramwell", "Testwood", "2018-09-30",
                                                        "9990000085")));
    ingest(v2, ms("2026-11-19T22:00:00Z"));
    struct rows rs;
    rows_load("A-6", &rs);
    cr_assert_str_eq(only(&rs, "school:1", NULL)->state, "superseded");
    cr_assert_str_eq(only(&rs, "school:2", NULL)->state, "scheduled");
    assert_one_live_per_child_and_recipient(&rs);
    rows_free(&rs);
}

/* ---- the review queue ---- */

struct review_seen {
    char id[40], state[16], by[32];
    size_t n;
};

static int review_cb(const struct sdat_review_item *item, void *opaque)
{
    struct review_seen *s = opaque;
    snprintf(s->id, sizeof s->id, "%s", item->id);
    snprintf(s->state, sizeof s->state, "%s", item->state);
    snprintf(s->by, sizeof s->by, "%s", item->decided_by ? item->decided_by : "");
    s->n++;
    return 0;
}

/* The twins at one address with a misspelt given name: a review. */
static void ingest_twin(const char *id, int version, const char *reported, int64_t now)
{
    json_t *c = police_child("c1", "Fen", "Twinsworth", "2017-01-01", NULL);
    json_t *doc = incident(id, version, reported, json_pack("[o]", c));
    json_object_set_new(json_object_get(doc, "location"), "postcode", json_string("DE23 6AA"));
    ingest(doc, now);
}

static int decide(const char *review_id, const char *child, json_t **created, int64_t now)
{
    char err[256];
    cr_assert_eq(sdat_store_begin(st), 0);
    int r = sdat_engine_review_decide(&engine, review_id, child, "A. Operator", now, created, err,
                                      sizeof err);
    if (r == 0) {
        cr_assert_eq(sdat_store_commit(st), 0);
    } else {
        sdat_store_rollback(st);
    }
    return r;
}

Test(engine, review_creates_an_item_and_a_review_needed_to_the_mash_and_no_school_notification)
{
    ingest_twin("V-1", 1, "2026-11-19T21:00:00Z", ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("V-1", &rs);
    cr_assert_eq(rs.n, 1);
    const struct row *r = only(&rs, "la:831:mash", "scheduled");
    cr_assert_str_eq(r->kind, "review-needed");
    const char *review_id = json_string_value(json_object_get(r->payload, "review_id"));
    cr_assert_not_null(review_id);
    cr_assert_eq(strncmp(review_id, "r_", 2), 0);
    char url[128];
    snprintf(url, sizeof url, "https://sdat.test.invalid/v1/reviews/%s", review_id);
    cr_assert_str_eq(json_string_value(json_object_get(r->payload, "review_url")), url);
    cr_assert_geq(json_array_size(json_object_get(r->payload, "candidates")), 2);
    struct review_seen seen = {0};
    cr_assert_eq(sdat_store_reviews_each(st, NULL, review_cb, &seen), 0);
    cr_assert_eq(seen.n, 1);
    cr_assert_str_eq(seen.id, review_id);
    cr_assert_str_eq(seen.state, "open");
    json_t *created = NULL;
    cr_assert_eq(audit_count("review.created", &created), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(created, "subject"),
                                                       "review_id")),
                     review_id);
    json_decref(created);
    rows_free(&rs);
}

Test(engine, accepted_review_routes_as_a_match_on_the_schedule_from_reported_at)
{
    ingest_twin("V-2", 1, "2026-11-19T21:00:00Z", ms("2026-11-19T21:05:00Z"));
    struct review_seen seen = {0};
    cr_assert_eq(sdat_store_reviews_each(st, NULL, review_cb, &seen), 0);
    char review_id[40];
    snprintf(review_id, sizeof review_id, "%s", seen.id);

    /* Decided at 23:00 the same evening: the school gets it at 07:30. */
    json_t *created = NULL;
    cr_assert_eq(decide(review_id, "T-7", &created, ms("2026-11-19T23:00:00Z")), 0);
    cr_assert_eq(json_array_size(created), 1);
    struct rows rs;
    rows_load("V-2", &rs);
    const struct row *school = only(&rs, "school:2", "scheduled");
    cr_assert_str_eq(school->id, json_string_value(json_array_get(created, 0)));
    cr_assert_eq(school->scheduled_ms, ms("2026-11-20T07:30:00Z"));
    /* The school knows the child by the register's names. */
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(school->payload, "child"),
                                                       "given_name")),
                     "Fenn");
    json_decref(created);
    rows_free(&rs);

    seen = (struct review_seen){0};
    cr_assert_eq(sdat_store_review_get(st, review_id, review_cb, &seen), 0);
    cr_assert_str_eq(seen.state, "accepted");
    cr_assert_str_eq(seen.by, "A. Operator");
    /* A second decision is refused; nothing changes. */
    cr_assert_eq(decide(review_id, NULL, NULL, ms("2026-11-19T23:10:00Z")), -EALREADY);
    rows_load("V-2", &rs);
    cr_assert_eq(rs.n, 2);
    rows_free(&rs);
}

Test(engine, late_accept_delivers_at_once_and_unknown_child_or_item_is_refused)
{
    ingest_twin("V-3", 1, "2026-11-19T21:00:00Z", ms("2026-11-19T21:05:00Z"));
    struct review_seen seen = {0};
    cr_assert_eq(sdat_store_reviews_each(st, NULL, review_cb, &seen), 0);
    cr_assert_eq(decide(seen.id, "NO-SUCH-CHILD", NULL, ms("2026-11-23T10:00:00Z")), -EINVAL);
    cr_assert_eq(decide("r_00000000000000000000000000000000", "T-6", NULL,
                        ms("2026-11-23T10:00:00Z")),
                 -ENOENT);
    int64_t now = ms("2026-11-23T10:00:00Z");
    cr_assert_eq(decide(seen.id, "T-6", NULL, now), 0);
    struct rows rs;
    rows_load("V-3", &rs);
    cr_assert_eq(only(&rs, "school:1", "scheduled")->scheduled_ms, now);
    rows_free(&rs);
}

Test(engine, rejected_review_routes_as_none)
{
    ingest_twin("V-4", 1, "2026-11-19T21:00:00Z", ms("2026-11-19T21:05:00Z"));
    struct review_seen seen = {0};
    cr_assert_eq(sdat_store_reviews_each(st, NULL, review_cb, &seen), 0);
    struct rows rs;
    rows_load("V-4", &rs);
    set_state(only(&rs, "la:831:mash", NULL)->id, "delivered");
    rows_free(&rs);
    cr_assert_eq(decide(seen.id, NULL, NULL, ms("2026-11-19T22:00:00Z")), 0);
    rows_load("V-4", &rs);
    const struct row *unmatched = only(&rs, "la:831:mash", "scheduled");
    cr_assert_str_eq(unmatched->kind, "unmatched-child");
    cr_assert_str_eq(only(&rs, "la:831:mash", "delivered")->kind, "review-needed");
    cr_assert_str_eq(unmatched->amends, only(&rs, "la:831:mash", "delivered")->id);
    assert_one_live_per_child_and_recipient(&rs);
    rows_free(&rs);
}

Test(engine, higher_version_cancels_open_review_items_and_decides_again)
{
    ingest_twin("V-5", 1, "2026-11-19T21:00:00Z", ms("2026-11-19T21:05:00Z"));
    struct review_seen first = {0};
    cr_assert_eq(sdat_store_reviews_each(st, NULL, review_cb, &first), 0);
    /* v2 corrects the child: another child, named with an NHS number, whom
     * the identifier rule matches without a review. */
    json_t *c = police_child("c1", "Ashlyn", "Testwood", "2016-04-12", "9990000018");
    ingest(incident("V-5", 2, "2026-11-19T21:00:00Z", json_pack("[o]", c)),
           ms("2026-11-19T21:30:00Z"));
    struct review_seen after = {0};
    cr_assert_eq(sdat_store_review_get(st, first.id, review_cb, &after), 0);
    cr_assert_str_eq(after.state, "cancelled");
    cr_assert_eq(decide(first.id, "T-7", NULL, ms("2026-11-19T22:00:00Z")), -EALREADY);
    /* The pending review-needed is superseded; the school is told. */
    struct rows rs;
    rows_load("V-5", &rs);
    cr_assert_str_eq(only(&rs, "la:831:mash", NULL)->state, "superseded");
    cr_assert_str_eq(only(&rs, "school:1", NULL)->state, "scheduled");
    struct review_seen open = {0};
    cr_assert_eq(sdat_store_reviews_each(st, NULL, review_cb, &open), 0);
    cr_assert_eq(open.n, 0, "no review is open");
    rows_free(&rs);
}

/* ---- the re-check just before delivery ---- */

struct recheck_ctx {
    int64_t now;
    int result;
};

static int recheck_cb(const struct sdat_notification *n, void *opaque)
{
    struct recheck_ctx *rc = opaque;
    rc->result = sdat_engine_recheck(&engine, n, rc->now);
    return 0;
}

static int recheck(const char *id, int64_t now)
{
    struct recheck_ctx rc = {.now = now, .result = -1};
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_notification_get(st, id, recheck_cb, &rc), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    return rc.result;
}

static void upsert(const char *json)
{
    json_t *child = json_loads(json, 0, NULL);
    cr_assert_not_null(child);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_geq(sdat_store_child_upsert(st, child, 2), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    json_decref(child);
}

Test(engine, a_child_who_moved_school_before_delivery_goes_to_the_new_school)
{
    ingest(one_child_incident("M-1", 1, "x"), ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("M-1", &rs);
    char held[40];
    snprintf(held, sizeof held, "%s", only(&rs, "school:1", "scheduled")->id);
    rows_free(&rs);
    /* Still at school:1 at 07:30: delivered as decided. */
    cr_assert_eq(recheck(held, ms("2026-11-20T07:30:00Z")), 0);

    /* The register says she left school:1 yesterday and starts at
     * school:2 today. */
    upsert("{\"schema\":\"council.child/1\",\"child_id\":\"T-1\",\"la_code\":\"831\","
           "\"nhs_number\":\"9990000018\",\"given_name\":\"Ashlyn\",\"family_name\":\"Testwood\","
           "\"dob\":\"2016-04-12\",\"education\":[{\"urn\":\"100001\",\"start\":\"2025-09-01\","
           "\"end\":\"2026-11-19\"},{\"urn\":\"100002\",\"start\":\"2026-11-20\"}]}");
    int64_t now = ms("2026-11-20T07:30:00Z");
    cr_assert_eq(recheck(held, now), 1);
    rows_load("M-1", &rs);
    cr_assert_str_eq(only(&rs, "school:1", NULL)->state, "superseded");
    const struct row *moved = only(&rs, "school:2", "scheduled");
    cr_assert_str_eq(moved->reason, "moved-school");
    cr_assert_eq(moved->scheduled_ms, now);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(moved->payload, "child"),
                                                       "given_name")),
                     "Ashlyn");
    assert_one_live_per_child_and_recipient(&rs);
    rows_free(&rs);
}

Test(engine, a_child_no_longer_in_the_register_at_delivery_goes_to_the_area_mash)
{
    ingest(one_child_incident("M-2", 1, "x"), ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("M-2", &rs);
    char held[40];
    snprintf(held, sizeof held, "%s", only(&rs, "school:1", "scheduled")->id);
    rows_free(&rs);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_child_delete(st, "T-1"), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert_eq(recheck(held, ms("2026-11-20T07:30:00Z")), 1);
    rows_load("M-2", &rs);
    cr_assert_str_eq(only(&rs, "school:1", NULL)->state, "superseded");
    const struct row *mash = only(&rs, "la:831:mash", "scheduled");
    cr_assert_str_eq(mash->reason, "no-current-education");
    cr_assert_str_eq(json_string_value(json_object_get(mash->payload, "register_child_id")), "T-1");
    rows_free(&rs);
}

/* ---- replaying a dead letter once the directory is fixed ---- */

static int first_dead(const struct sdat_dead_letter *dl, void *opaque)
{
    int64_t *id = opaque;
    if (*id == 0 && strcmp(dl->stage, "routing") == 0) {
        *id = dl->id;
    }
    return 0;
}

Test(engine, an_unroutable_incident_is_dead_lettered_and_replayed_after_the_directory_is_fixed)
{
    /* A force the directory does not know, at a postcode in no area. */
    json_t *doc = one_child_incident("X-1", 1, "x");
    json_object_set_new(doc, "force", json_string("otherforce"));
    json_object_set_new(json_object_get(doc, "location"), "postcode", json_string("ZZ9 9ZZ"));
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    struct sdat_inbound m = {.topic = "police.da-incidents", .offset = 99, .key = "otherforce/X-1",
                             .key_len = strlen("otherforce/X-1"), .value = text,
                             .value_len = strlen(text)};
    cr_assert_eq(sdat_engine_ingest(&engine, &m, ms("2026-11-19T21:05:00Z")), 0);
    free(text);
    int64_t id = 0;
    cr_assert_eq(sdat_store_dead_letters_since(st, 0, first_dead, &id), 0);
    cr_assert_gt(id, 0, "dead-lettered with stage routing");
    struct rows rs;
    char key[64] = "otherforce/X-1";
    rs.n = 0;
    cr_assert_eq(sdat_store_notifications_for_source(st, key, collect, &rs), 0);
    cr_assert_eq(rs.n, 0, "nothing of the incident stays behind");

    /* Replayed with the directory unchanged: dead-lettered again. */
    json_t *outcome = NULL;
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_engine_dlq_replay(&engine, id, "A. Operator", ms("2026-11-19T22:00:00Z"),
                                        &outcome),
                 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert_str_eq(json_string_value(json_object_get(outcome, "outcome")), "dead-lettered");
    cr_assert_str_eq(json_string_value(json_object_get(outcome, "stage")), "routing");
    json_decref(outcome);

    /* The operator adds the force to the directory (a reload) and
     * replays: processed, the school is told. */
    char path[128], *errors = NULL;
    snprintf(path, sizeof path, "%s/sdatd.conf", dir);
    struct sdat_config *fixed = NULL;
    char cmd[512];
    snprintf(cmd, sizeof cmd,
             "sed -i 's/forces = ( { id = \"derbyshire\"; default_area = \"831\"; } );/forces = ( "
             "{ id = \"derbyshire\"; default_area = \"831\"; }, { id = \"otherforce\"; "
             "default_area = \"831\"; } );/' %s",
             path);
    cr_assert_eq(system(cmd), 0);
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &fixed, &errors), 0, "%s", errors ? errors : "");
    engine.cfg = fixed;
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_engine_dlq_replay(&engine, id, "A. Operator", ms("2026-11-19T22:10:00Z"),
                                        &outcome),
                 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert_str_eq(json_string_value(json_object_get(outcome, "outcome")), "processed");
    json_decref(outcome);
    rs.n = 0;
    cr_assert_eq(sdat_store_notifications_for_source(st, key, collect, &rs), 0);
    cr_assert_eq(rs.n, 1);
    cr_assert_str_eq(rs.v[0].recipient, "school:1");
    rows_free(&rs);
    engine.cfg = cfg;
    sdat_config_free(fixed);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_engine_dlq_replay(&engine, 999999, "A. Operator", 0, &outcome), -ENOENT);
    sdat_store_rollback(st);
    json_t *replayed = NULL;
    cr_assert_eq(audit_count("dlq.replayed", &replayed), 2, "one record per replay");
    cr_assert_str_eq(json_string_value(json_object_get(replayed, "actor")), "A. Operator");
    json_decref(replayed);
}
