/* The operator's actions on a notification (delivery.md "Operator
 * actions") over a real store: cancel, resend, redirect and withdraw, the
 * states each allows (the others are -EBUSY, answered 409), their audit
 * records and the notifications they create; and the acknowledgement link
 * (ack_url with an HMAC token of the id). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"

static char dir[64];
static struct sdat_config *cfg;
static sdat_store_t *st;
static sdat_audit_t *audit;
static sdat_schemas_t *schemas;
static struct sdat_engine engine;
static int64_t offset;

static const char ack_key[] = "a synthetic ack key for tests";

/* Area 831 with a MASH, EHE and education safeguarding; school:1 (full)
 * and school:2 (minimal) on a term-time calendar. */
static const char config_text[] =
    "state_dir = \"%s\";\n"
    "instance_id = \"test\";\n"
    "kafka = { embedded = true; };\n"
    "http = { public_url = \"https://sdat.test.invalid/\"; ack_key_file = \"%s/ack.key\"; };\n"
    "lawful_basis = { da_incident = \"b1\"; da_incident_urgent = \"b2\"; unmatched_child = \"b3\";\n"
    "  review_needed = \"b4\"; cpis_access = \"b5\"; delivery_failed = \"b6\"; withdrawn = \"b7\"; };\n"
    "calendars = ( { id = \"term\"; terms = ( [ \"2026-09-02\", \"2026-10-23\" ],\n"
    "  [ \"2026-11-02\", \"2026-12-18\" ] ); } );\n"
    "areas = ( { la_code = \"831\"; name = \"Test City\"; postcode_districts = [ \"DE22\", \"DE23\" ];\n"
    "  mash = \"la:831:mash\"; ehe = \"la:831:ehe\"; education_safeguarding = \"la:831:edsg\"; } );\n"
    "forces = ( { id = \"derbyshire\"; default_area = \"831\"; } );\n"
    "recipients = (\n"
    "  { id = \"school:1\"; kind = \"school\"; la_code = \"831\"; name = \"S1\"; urn = \"100001\";\n"
    "    calendar = \"term\"; connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"school:2\"; kind = \"school\"; la_code = \"831\"; name = \"S2\"; urn = \"100002\";\n"
    "    calendar = \"term\"; minimal = true; connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"MASH\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:ehe\"; kind = \"ehe\"; la_code = \"831\"; name = \"EHE\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:edsg\"; kind = \"education_safeguarding\"; la_code = \"831\"; name = \"EdSG\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; }\n"
    ");\n";

/* A synthetic register child at school:1 (URN 100001). */
static const char child_t1[] =
    "{\"schema\":\"council.child/1\",\"child_id\":\"T-1\",\"la_code\":\"831\",\"nhs_number\":\"9990000018\","
    "\"given_name\":\"Ashlyn\",\"family_name\":\"Testwood\",\"dob\":\"2016-04-12\",\"upn\":\"A123456789012\","
    "\"address\":{\"line1\":\"1 Example Street\",\"postcode\":\"DE22 3XY\"},"
    "\"education\":[{\"urn\":\"100001\",\"start\":\"2025-09-01\"}]}";

static void setup(void)
{
    char path[128];
    fixture_dir_make(dir, sizeof dir, "operator");
    fixture_write(dir, "ack.key", "%s\n", ack_key); /* one trailing newline: not part of the key */
    snprintf(path, sizeof path, "%s/ack.key", dir);
    cr_assert_eq(chmod(path, 0600), 0);
    fixture_write(dir, "sdatd.conf", config_text, dir, dir, dir, dir, dir, dir, dir);
    engine = fixture_engine_open(dir, &cfg, &st, &schemas, &audit);
    json_t *child = json_loads(child_t1, 0, NULL);
    cr_assert_not_null(child);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_geq(sdat_store_child_upsert(st, child, 1), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    json_decref(child);
    offset = 0;
}

static void teardown(void)
{
    fixture_close(cfg, st, schemas, audit);
    fixture_dir_remove(dir);
}

TestSuite(operator, .init = setup, .fini = teardown);

/* An incident reported on Thursday 19 November 2026 at 21:00 GMT with one
 * child: T-1 by NHS number (a match: school:1, due Friday 07:30), or a
 * child nobody knows (unmatched-child to the MASH). */
static void ingest(const char *incident_id, bool known)
{
    json_t *child = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "ref", "c1", "given_name",
                              known ? "Ashlyn" : "Quillon", "family_name",
                              known ? "Testwood" : "Nobodyson", "dob",
                              known ? "2016-04-12" : "2012-02-02", "present", 1, "resident", 1,
                              "spoken_to", 0);
    if (known) {
        json_object_set_new(child, "nhs_number", json_string("9990000018"));
    }
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s, s:s}, s:s, s:[o], s:s, s:{s:s, s:s, s:s}}",
        "schema", "police.da-incident/1", "force", "derbyshire", "incident_id", incident_id,
        "version", 1, "occurred_at", "2026-11-19T20:30:00Z", "reported_at",
        "2026-11-19T21:00:00Z", "location", "address", "1 Example Street", "postcode",
        "DE22 3XY", "risk", "medium", "children", child, "circumstances",
        "Synthetic circumstances.", "officer", "id", "PC-1", "name", "PC Test", "phone",
        "01000 000000");
    char key[128];
    snprintf(key, sizeof key, "derbyshire/%s", incident_id);
    char *text = json_dumps(doc, JSON_COMPACT);
    struct sdat_inbound m = {.topic = "police.da-incidents",
                             .offset = offset++,
                             .key = key,
                             .key_len = strlen(key),
                             .value = text,
                             .value_len = strlen(text)};
    cr_assert_eq(sdat_engine_ingest(&engine, &m, ms("2026-11-19T21:05:00Z")), 0);
    free(text);
    json_decref(doc);
}

struct row {
    char id[40], kind[32], recipient[64], state[16], route_reason[32], register_child[16];
    int64_t scheduled_ms, next_ms, acknowledged_ms;
    int attempts;
    char *payload_text;
    json_t *payload;
};
struct rows {
    struct row v[16];
    size_t n;
};

static int collect(const struct sdat_notification *n, void *opaque)
{
    struct rows *rs = opaque;
    cr_assert_lt(rs->n, 16);
    struct row *r = &rs->v[rs->n++];
    snprintf(r->id, sizeof r->id, "%s", n->id);
    snprintf(r->kind, sizeof r->kind, "%s", n->kind);
    snprintf(r->recipient, sizeof r->recipient, "%s", n->recipient);
    snprintf(r->state, sizeof r->state, "%s", n->state);
    snprintf(r->route_reason, sizeof r->route_reason, "%s", n->route_reason ? n->route_reason : "");
    snprintf(r->register_child, sizeof r->register_child, "%s",
             n->register_child_id ? n->register_child_id : "");
    r->scheduled_ms = n->scheduled_ms;
    r->next_ms = n->next_attempt_ms;
    r->acknowledged_ms = n->acknowledged_ms;
    r->attempts = n->attempts;
    r->payload_text = n->payload ? strdup(n->payload) : NULL;
    r->payload = n->payload ? json_loads(n->payload, 0, NULL) : NULL;
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
        free(rs->v[i].payload_text);
    }
    rs->n = 0;
}

static const struct row *by_id(const struct rows *rs, const char *id)
{
    for (size_t i = 0; i < rs->n; i++) {
        if (strcmp(rs->v[i].id, id) == 0) {
            return &rs->v[i];
        }
    }
    cr_assert_fail("no notification %s", id);
    return NULL;
}

/* The id of the one notification to recipient. */
static void first_id(const char *incident_id, const char *recipient, char id[40])
{
    struct rows rs;
    rows_load(incident_id, &rs);
    id[0] = '\0';
    for (size_t i = 0; i < rs.n; i++) {
        if (strcmp(rs.v[i].recipient, recipient) == 0) {
            cr_assert_eq(id[0], '\0', "two notifications to %s", recipient);
            snprintf(id, 40, "%s", rs.v[i].id);
        }
    }
    cr_assert_neq(id[0], '\0', "no notification to %s", recipient);
    rows_free(&rs);
}

/* As the outbox leaves a delivered notification: one attempt, done. */
static void deliver(const char *id, int64_t at)
{
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_attempt_insert(st, id, 1, at, "done", NULL), 0);
    cr_assert_eq(sdat_store_notification_update(st, id, "delivered", 1, at, NULL), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
}

static void set_state(const char *id, const char *state)
{
    cr_assert_eq(sdat_store_notification_set_state(st, id, state), 0);
}

enum action { CANCEL, RESEND, REDIRECT, WITHDRAW };

/* Runs one action in its own transaction, as the job would. */
static int act(enum action a, const char *id, const char *arg, int64_t now,
               struct sdat_operator_result *res)
{
    cr_assert_eq(sdat_store_begin(st), 0);
    int r = -1;
    switch (a) {
    case CANCEL:
        r = sdat_engine_notification_cancel(&engine, id, "A. Operator", now, res);
        break;
    case RESEND:
        r = sdat_engine_notification_resend(&engine, id, "A. Operator", now, res);
        break;
    case REDIRECT:
        r = sdat_engine_notification_redirect(&engine, id, arg, NULL, "A. Operator", now, res);
        break;
    case WITHDRAW:
        r = sdat_engine_notification_withdraw(&engine, id, arg, "A. Operator", now, res);
        break;
    }
    if (r >= 0) {
        cr_assert_eq(sdat_store_commit(st), 0);
    } else {
        sdat_store_rollback(st);
    }
    return r;
}

/* How many records of type name id; the last one in *ret_last (new
 * reference) when ret_last is not NULL. */
static size_t audited(const char *id, const char *type, json_t **ret_last)
{
    return fixture_audit_count(st, id, type, ret_last);
}

static void assert_valid_notification(const json_t *payload)
{
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, payload, "sdat.notification/1", &v), 0,
                 "invalid at %s: %s", v.n_errors ? v.errors[0].path : "",
                 v.n_errors ? v.errors[0].message : "");
}

/* ---- cancel ---- */

Test(operator, cancel_turns_a_scheduled_notification_cancelled_and_audits_who_did_it)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("C-1", true);
    first_id("C-1", "school:1", id);
    cr_assert_eq(act(CANCEL, id, NULL, ms("2026-11-19T22:00:00Z"), &res), 0);
    cr_assert_str_eq(res.state, "cancelled");
    struct rows rs;
    rows_load("C-1", &rs);
    cr_assert_str_eq(by_id(&rs, id)->state, "cancelled");
    rows_free(&rs);
    json_t *record = NULL;
    cr_assert_eq(audited(id, "notification.cancelled", &record), 1);
    cr_assert_str_eq(json_string_value(json_object_get(record, "actor")), "A. Operator");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(record, "detail"), "by")),
        "A. Operator");
    json_decref(record);
    int64_t due = 0;
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, INT64_MAX, "a cancelled notification is never due");
}

Test(operator, cancel_is_refused_in_every_other_state_and_for_an_unknown_id)
{
    static const char *const states[] = {"delivering", "delivered", "acknowledged", "failed",
                                         "superseded", "cancelled"};
    char id[40];
    struct sdat_operator_result res;
    ingest("C-2", true);
    first_id("C-2", "school:1", id);
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        set_state(id, states[i]);
        cr_assert_eq(act(CANCEL, id, NULL, ms("2026-11-19T22:00:00Z"), &res), -EBUSY, "%s",
                     states[i]);
        cr_assert(strstr(res.err, states[i]), "the reason names the state: %s", res.err);
    }
    cr_assert_eq(audited(id, "notification.cancelled", NULL), 0);
    cr_assert_eq(act(CANCEL, "n_00000000000000000000000000000000", NULL, 0, &res), -ENOENT);
}

/* ---- resend ---- */

Test(operator, resend_schedules_a_delivered_one_again_under_its_id_with_its_payload_and_history)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("R-1", true);
    first_id("R-1", "school:1", id);
    deliver(id, ms("2026-11-20T07:30:01Z"));
    struct rows before;
    rows_load("R-1", &before);
    int64_t now = ms("2026-11-24T10:00:00Z");
    cr_assert_eq(act(RESEND, id, NULL, now, &res), 0);
    cr_assert_str_eq(res.state, "scheduled");
    struct rows after;
    rows_load("R-1", &after);
    cr_assert_eq(after.n, 1, "no new notification: the same id again");
    const struct row *r = by_id(&after, id);
    cr_assert_str_eq(r->state, "scheduled");
    cr_assert_eq(r->next_ms, now, "due now");
    cr_assert_eq(r->scheduled_ms, now, "the escalation clock restarts at the resend");
    cr_assert_eq(r->attempts, 1, "the attempts so far are kept (the next is attempt 2)");
    cr_assert_str_eq(r->payload_text, by_id(&before, id)->payload_text,
                     "the receiver gets the byte-identical payload again");
    rows_free(&before);
    rows_free(&after);
    int64_t due = 0;
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, now);
    json_t *record = NULL;
    cr_assert_eq(audited(id, "notification.resent", &record), 1);
    json_t *detail = json_object_get(record, "detail");
    cr_assert_str_eq(json_string_value(json_object_get(detail, "previous_state")), "delivered");
    cr_assert_str_eq(json_string_value(json_object_get(record, "actor")), "A. Operator");
    json_decref(record);
}

Test(operator, resend_of_an_acknowledged_or_failed_one_and_refusal_otherwise)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("R-2", true);
    first_id("R-2", "school:1", id);
    deliver(id, ms("2026-11-20T07:30:01Z"));
    cr_assert_eq(sdat_store_notification_acknowledge(st, id, ms("2026-11-20T08:00:00Z")), 0);
    cr_assert_eq(act(RESEND, id, NULL, ms("2026-11-20T09:00:00Z"), &res), 0);
    struct rows rs;
    rows_load("R-2", &rs);
    cr_assert_str_eq(by_id(&rs, id)->state, "scheduled");
    cr_assert_eq(by_id(&rs, id)->acknowledged_ms, 0, "to be acknowledged again once delivered");
    rows_free(&rs);
    cr_assert_eq(act(RESEND, id, NULL, ms("2026-11-20T09:00:01Z"), &res), -EBUSY,
                 "a scheduled one is not resent: it is on its way");
    set_state(id, "failed");
    cr_assert_eq(act(RESEND, id, NULL, ms("2026-11-20T09:00:02Z"), &res), 0);
    static const char *const states[] = {"delivering", "superseded", "cancelled"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        set_state(id, states[i]);
        cr_assert_eq(act(RESEND, id, NULL, ms("2026-11-20T09:00:03Z"), &res), -EBUSY, "%s",
                     states[i]);
    }
    cr_assert_eq(audited(id, "notification.resent", NULL), 2);
    cr_assert_eq(act(RESEND, "n_00000000000000000000000000000000", NULL, 0, &res), -ENOENT);
}

/* ---- redirect ---- */

Test(operator, redirect_of_a_pending_one_supersedes_it_and_rebuilds_the_payload_for_the_new_school)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("D-1", true);
    first_id("D-1", "school:1", id);
    cr_assert_eq(act(REDIRECT, id, "school:2", ms("2026-11-19T22:00:00Z"), &res), 0);
    cr_assert_str_eq(res.state, "superseded");
    cr_assert_str_eq(res.withdrawal, "", "nothing was delivered: nothing to withdraw");
    char want[SDAT_ID_LEN + 1];
    sdat_id_notification("da-incident", id, 1, "c1", "school:2", "1", want);
    cr_assert_str_eq(res.redirected_to, want, "delivery.md's derivation, DISC the ordinal");

    struct rows rs;
    rows_load("D-1", &rs);
    cr_assert_eq(rs.n, 2);
    cr_assert_str_eq(by_id(&rs, id)->state, "superseded");
    const struct row *r = by_id(&rs, want);
    cr_assert_str_eq(r->recipient, "school:2");
    cr_assert_str_eq(r->kind, "da-incident");
    cr_assert_str_eq(r->state, "scheduled");
    cr_assert_str_eq(r->route_reason, "redirected");
    cr_assert_eq(r->scheduled_ms, ms("2026-11-20T07:30:00Z"),
                 "the school's schedule from reported_at");
    assert_valid_notification(r->payload);
    /* school:2 is minimal: the register's names and date of birth, the
     * incident's force, reference, time and presence, nothing else. */
    json_t *child = json_object_get(r->payload, "child");
    cr_assert_str_eq(json_string_value(json_object_get(child, "given_name")), "Ashlyn");
    cr_assert_null(json_object_get(child, "upn"), "minimal: no UPN");
    json_t *inc = json_object_get(r->payload, "incident");
    cr_assert_null(json_object_get(inc, "resident"));
    cr_assert_null(json_object_get(inc, "circumstances"));
    cr_assert_null(json_object_get(r->payload, "route_reason"));
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(r->payload, "recipient"), "id")),
                     "school:2");
    rows_free(&rs);

    json_t *record = NULL;
    cr_assert_eq(audited(id, "notification.redirected", &record), 1);
    json_t *detail = json_object_get(record, "detail");
    cr_assert_str_eq(json_string_value(json_object_get(detail, "redirected_to")), want);
    cr_assert_str_eq(json_string_value(json_object_get(detail, "to")), "school:2");
    cr_assert_str_eq(json_string_value(json_object_get(record, "actor")), "A. Operator");
    json_decref(record);
    cr_assert_eq(audited(id, "notification.superseded", NULL), 1);
    json_t *created = NULL;
    cr_assert_eq(audited(want, "notification.created", &created), 1);
    cr_assert_eq(strlen(json_string_value(
                     json_object_get(json_object_get(created, "detail"), "payload_sha256"))),
                 64, "what was shared is recorded by its SHA-256");
    json_decref(created);

    cr_assert_eq(act(REDIRECT, id, "la:831:mash", ms("2026-11-19T22:01:00Z"), &res), -EBUSY,
                 "a superseded one is not redirected again");
}

Test(operator, redirect_of_a_delivered_one_sends_the_new_payload_and_withdrawn_to_the_old_school)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("D-2", true);
    first_id("D-2", "school:1", id);
    deliver(id, ms("2026-11-20T07:30:01Z"));
    int64_t now = ms("2026-11-20T10:00:00Z");
    cr_assert_eq(act(REDIRECT, id, "la:831:mash", now, &res), 0);
    cr_assert_str_eq(res.state, "delivered", "what was delivered stays delivered");
    cr_assert_neq(res.withdrawal[0], '\0');

    struct rows rs;
    rows_load("D-2", &rs);
    cr_assert_eq(rs.n, 3);
    cr_assert_str_eq(by_id(&rs, id)->state, "delivered");
    const struct row *r = by_id(&rs, res.redirected_to);
    cr_assert_str_eq(r->recipient, "la:831:mash");
    cr_assert_eq(r->scheduled_ms, now, "not a school: at once");
    assert_valid_notification(r->payload);
    /* Rebuilt for the MASH: what the police sent, and the register id. */
    cr_assert_str_eq(json_string_value(json_object_get(r->payload, "register_child_id")), "T-1");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(r->payload, "incident"), "circumstances")),
        "Synthetic circumstances.");
    cr_assert_not_null(json_object_get(json_object_get(r->payload, "incident"), "location"));

    const struct row *w = by_id(&rs, res.withdrawal);
    cr_assert_str_eq(w->kind, "withdrawn");
    cr_assert_str_eq(w->recipient, "school:1");
    cr_assert_str_eq(w->state, "scheduled");
    cr_assert_eq(w->scheduled_ms, now);
    assert_valid_notification(w->payload);
    cr_assert_str_eq(json_string_value(json_object_get(w->payload, "withdraws")), id);
    cr_assert_not_null(json_object_get(w->payload, "request"));
    cr_assert_null(strstr(w->payload_text, "Ashlyn"), "no personal data in withdrawn");
    cr_assert_null(strstr(w->payload_text, "la:831:mash"),
                   "the wrong school is not told where it went");
    char want[SDAT_ID_LEN + 1];
    sdat_id_notification("withdrawn", id, 1, NULL, "school:1", "1", want);
    cr_assert_str_eq(w->id, want);
    rows_free(&rs);
    cr_assert_eq(audited(id, "notification.redirected", NULL), 1);
    cr_assert_eq(audited(id, "notification.superseded", NULL), 0);

    /* A second redirect to the same recipient is a second notification. */
    struct sdat_operator_result again;
    cr_assert_eq(act(REDIRECT, id, "la:831:mash", now + 1000, &again), 0);
    cr_assert_str_neq(again.redirected_to, res.redirected_to);
    cr_assert_str_neq(again.withdrawal, res.withdrawal);
    sdat_id_notification("withdrawn", id, 1, NULL, "school:1", "2", want);
    cr_assert_str_eq(again.withdrawal, want);
}

Test(operator, redirect_of_a_mash_notification_readdresses_it_but_never_to_a_school)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("D-3", false);
    first_id("D-3", "la:831:mash", id);
    cr_assert_eq(act(REDIRECT, id, "school:1", ms("2026-11-19T22:00:00Z"), &res), -EINVAL,
                 "unmatched-child holds what no school may receive");
    cr_assert(strstr(res.err, "/recipient"), "%s", res.err);
    cr_assert_eq(act(REDIRECT, id, "la:831:ehe", ms("2026-11-19T22:00:00Z"), &res), 0);
    struct rows rs;
    rows_load("D-3", &rs);
    const struct row *old = by_id(&rs, id);
    const struct row *r = by_id(&rs, res.redirected_to);
    cr_assert_str_eq(r->kind, "unmatched-child");
    cr_assert_str_eq(r->recipient, "la:831:ehe");
    assert_valid_notification(r->payload);
    cr_assert(json_equal(json_object_get(r->payload, "child"), json_object_get(old->payload, "child")));
    cr_assert(json_equal(json_object_get(r->payload, "candidates"),
                         json_object_get(old->payload, "candidates")));
    cr_assert_str_eq(json_string_value(json_object_get(r->payload, "lawful_basis")), "b3");
    rows_free(&rs);
}

Test(operator, redirect_refuses_bad_input_with_einval_and_states_with_ebusy)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("D-4", true);
    first_id("D-4", "school:1", id);
    cr_assert_eq(act(REDIRECT, id, "school:404", 0, &res), -EINVAL, "unknown recipient");
    cr_assert_eq(act(REDIRECT, id, "school:1", 0, &res), -EINVAL, "its own recipient");
    cr_assert_eq(act(REDIRECT, "n_00000000000000000000000000000000", "school:2", 0, &res),
                 -ENOENT);
    static const char *const states[] = {"delivering", "superseded", "cancelled"};
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++) {
        set_state(id, states[i]);
        cr_assert_eq(act(REDIRECT, id, "school:2", ms("2026-11-19T22:00:00Z"), &res), -EBUSY,
                     "%s", states[i]);
    }
    /* failed was never delivered: superseded, nothing withdrawn. */
    set_state(id, "failed");
    cr_assert_eq(act(REDIRECT, id, "school:2", ms("2026-11-19T22:00:00Z"), &res), 0);
    cr_assert_str_eq(res.state, "superseded");
    cr_assert_str_eq(res.withdrawal, "");
}

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

Test(operator, a_redirected_school_notification_is_not_moved_back_by_the_recheck_at_delivery)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("D-5", true);
    first_id("D-5", "school:1", id);
    /* The register says school:1; the MASH knows the child is at school:2. */
    cr_assert_eq(act(REDIRECT, id, "school:2", ms("2026-11-19T22:00:00Z"), &res), 0);
    struct recheck_ctx rc = {.now = ms("2026-11-20T07:30:00Z"), .result = -1};
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_notification_get(st, res.redirected_to, recheck_cb, &rc), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert_eq(rc.result, 0, "delivered where the operator sent it");
    struct rows rs;
    rows_load("D-5", &rs);
    cr_assert_eq(rs.n, 2, "no new notification back to the register's school");
    cr_assert_str_eq(by_id(&rs, res.redirected_to)->state, "scheduled");
    cr_assert_str_eq(by_id(&rs, res.redirected_to)->register_child, "T-1");
    rows_free(&rs);
}

/* ---- withdraw ---- */

Test(operator, withdraw_sends_withdrawn_with_the_reason_and_leaves_the_original_delivered)
{
    char id[40];
    struct sdat_operator_result res;
    ingest("W-1", true);
    first_id("W-1", "school:1", id);
    cr_assert_eq(act(WITHDRAW, id, "Sent in error.", ms("2026-11-19T22:00:00Z"), &res), -EBUSY,
                 "a scheduled one is cancelled, not withdrawn");
    cr_assert(strstr(res.err, "cancel"), "%s", res.err);
    deliver(id, ms("2026-11-20T07:30:01Z"));
    int64_t now = ms("2026-11-20T11:00:00Z");
    cr_assert_eq(act(WITHDRAW, id, "Sent in error: wrong child.", now, &res), 0);
    cr_assert_str_eq(res.state, "delivered");
    cr_assert_str_eq(res.redirected_to, "");
    struct rows rs;
    rows_load("W-1", &rs);
    cr_assert_eq(rs.n, 2);
    const struct row *w = by_id(&rs, res.withdrawal);
    cr_assert_str_eq(w->kind, "withdrawn");
    cr_assert_str_eq(w->recipient, "school:1");
    cr_assert_eq(w->next_ms, now, "at once");
    assert_valid_notification(w->payload);
    cr_assert_str_eq(json_string_value(json_object_get(w->payload, "reason")),
                     "Sent in error: wrong child.");
    cr_assert_str_eq(json_string_value(json_object_get(w->payload, "lawful_basis")), "b7");
    cr_assert_null(json_object_get(w->payload, "child"));
    rows_free(&rs);
    json_t *record = NULL;
    cr_assert_eq(audited(id, "notification.withdrawn", &record), 1);
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(record, "detail"), "withdrawal")),
        res.withdrawal);
    char *text = json_dumps(record, 0);
    cr_assert_null(strstr(text, "wrong child"),
                   "the operator's free text stays out of the audit chain");
    free(text);
    json_decref(record);

    struct sdat_operator_result second;
    cr_assert_eq(act(WITHDRAW, id, "Again.", now + 1, &second), 0);
    cr_assert_str_neq(second.withdrawal, res.withdrawal, "a second withdrawal is a new one");
    cr_assert_eq(act(WITHDRAW, res.withdrawal, "No.", now + 2, &second), -EBUSY,
                 "not yet delivered");
    set_state(res.withdrawal, "delivered");
    cr_assert_eq(act(WITHDRAW, res.withdrawal, "No.", now + 3, &second), -EBUSY,
                 "a withdrawn notification is not itself withdrawn");
    cr_assert_eq(act(WITHDRAW, "n_00000000000000000000000000000000", "x", now, &second), -ENOENT);
}

/* ---- the acknowledgement link ---- */

Test(operator, ack_url_carries_the_hmac_of_the_id_keyed_with_the_key_file_less_its_newline)
{
    char id[40], want[SDAT_SHA256_HEX_LEN + 1], url[256];
    ingest("K-1", true);
    first_id("K-1", "school:1", id);
    cr_assert_eq(sdat_hmac_sha256_hex(ack_key, strlen(ack_key), id, strlen(id), want), 0);
    snprintf(url, sizeof url, "https://sdat.test.invalid/ack/%s?t=%s", id, want);
    struct rows rs;
    rows_load("K-1", &rs);
    cr_assert_str_eq(json_string_value(json_object_get(by_id(&rs, id)->payload, "ack_url")), url);
    rows_free(&rs);

    struct sdat_ack_key key;
    char err[256];
    cr_assert_eq(sdat_ack_key_read(cfg->http.ack_key_file, &key, err, sizeof err), 0, "%s", err);
    cr_assert(sdat_ack_token_valid(&key, id, want));
    char tampered[SDAT_SHA256_HEX_LEN + 1];
    snprintf(tampered, sizeof tampered, "%s", want);
    tampered[10] = tampered[10] == '0' ? '1' : '0';
    cr_assert_not(sdat_ack_token_valid(&key, id, tampered));
    snprintf(tampered, sizeof tampered, "%s", want);
    tampered[SDAT_SHA256_HEX_LEN - 1] = tampered[SDAT_SHA256_HEX_LEN - 1] == '0' ? '1' : '0';
    cr_assert_not(sdat_ack_token_valid(&key, id, tampered), "every character of the token counts");
    cr_assert_not(sdat_ack_token_valid(&key, id, NULL));
    cr_assert_not(sdat_ack_token_valid(&key, id, ""));
    cr_assert_not(sdat_ack_token_valid(&key, "n_00000000000000000000000000000000", want),
                  "a token is for its own id only");
    sdat_ack_key_clear(&key);
    struct sdat_ack_key none = {NULL, 0};
    cr_assert_not(sdat_ack_token_valid(&none, id, want), "no key: no link is valid");
}
