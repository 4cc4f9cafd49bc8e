/* The engine over a real store when a decision is taken again: review
 * items decided by an operator (accept, reject, cancelled by a later
 * version), the re-check just before delivery (a child who moved school or
 * left the register) and a dead letter replayed once the directory is
 * fixed, with the audit records each writes. The fixture is
 * engine_fixture.h, shared with test_engine.c. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"

TestSuite(engine, .init = engine_setup, .fini = engine_teardown);

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

/* The outbox re-checks before it starts a delivery (flows.md: a school is
 * told only if the child is still there): at release time the held school
 * notification of a child gone from the register is superseded, never
 * handed to the connector, and the area's MASH is told instead. */
Test(engine, the_outbox_re_checks_a_school_notification_before_delivering_it)
{
    ingest(one_child_incident("M-4", 1, "x"), ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("M-4", &rs);
    only(&rs, "school:1", "scheduled");
    rows_free(&rs);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_child_delete(st, "T-1"), 0);
    cr_assert_eq(sdat_store_commit(st), 0);

    sdat_outbox_t *outbox = NULL;
    char err[256];
    int64_t now = ms("2026-11-20T07:30:00Z");
    cr_assert_eq(sdat_outbox_new(cfg, NULL, &outbox, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_outbox_run(outbox, &engine, now), 0);
    cr_assert_eq(sdat_outbox_abandon(outbox, &engine, now), 0);
    sdat_outbox_free(outbox);
    rows_load("M-4", &rs);
    cr_assert_str_eq(only(&rs, "school:1", NULL)->state, "superseded");
    only(&rs, "la:831:mash", NULL);
    rows_free(&rs);
}

Test(engine, an_unroutable_incident_is_dead_lettered_and_replayed_after_the_directory_is_fixed)
{
    /* A force the directory does not know, at a postcode in no area. */
    json_t *doc = one_child_incident("X-1", 1, "x");
    json_object_set_new(doc, "force", json_string("otherforce"));
    json_object_set_new(json_object_get(doc, "location"), "postcode", json_string("ZE9 9ZZ"));
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

/* ---- quality.md S8: register keys are checked like ids ---- */

struct dead_seen {
    size_t n;
    char stage[16], error[512];
};

static int last_dead(const struct sdat_dead_letter *dl, void *opaque)
{
    struct dead_seen *d = opaque;
    d->n++;
    snprintf(d->stage, sizeof d->stage, "%s", dl->stage);
    snprintf(d->error, sizeof d->error, "%s", dl->error);
    return 0;
}

Test(engine, a_register_tombstone_with_a_key_that_is_no_id_is_dead_lettered_at_stage_key)
{
    static const char *const keys[] = {"T-1\n2026-01-01T00:00:00Z info register tombstone",
                                       "T-1 Ada Quillbrook", "T-1\x1b[2J", "T-1.x"};
    size_t rejected_before = audit_count("event.rejected", NULL);
    size_t changed_before = audit_count("register.changed", NULL);
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        struct sdat_inbound m = {.topic = "council.children", .offset = (int64_t)i,
                                 .key = keys[i], .key_len = strlen(keys[i])};
        cr_assert_eq(sdat_engine_ingest(&engine, &m, ms("2026-11-19T21:05:00Z")), 0);
        struct dead_seen d = {0};
        cr_assert_eq(sdat_store_dead_letters_since(st, 0, last_dead, &d), 0);
        cr_assert_eq(d.n, i + 1, "key %zu is dead-lettered", i);
        cr_assert_str_eq(d.stage, "key");
        cr_assert_null(strstr(d.error, "T-1"), "%s", d.error);
    }
    json_t *child = NULL;
    cr_assert_eq(sdat_store_child_get(st, "T-1", &child), 0, "T-1 is still in the register");
    json_decref(child);
    cr_assert_eq(audit_count("event.rejected", NULL), rejected_before + 4);
    cr_assert_eq(audit_count("register.changed", NULL), changed_before);

    /* A well-formed key still removes the child. */
    struct sdat_inbound m = {.topic = "council.children", .offset = 9, .key = "T-1", .key_len = 3};
    cr_assert_eq(sdat_engine_ingest(&engine, &m, ms("2026-11-19T21:06:00Z")), 0);
    cr_assert_eq(audit_count("register.changed", NULL), changed_before + 1);
    child = NULL;
    cr_assert_neq(sdat_store_child_get(st, "T-1", &child), 0);
    json_decref(child);
}

/* flows.md §1: "A matched child's area is the area with the child's
 * la_code, else the incident area", and at delivery a child with no
 * current spell "goes to its area's mash". A child of an authority the
 * directory does not configure (999), at school:1 (area 831), in an
 * incident at S40 (area 832), who left school:1 before the release: the
 * incident area's MASH, not the school's area's. */
Test(engine, a_child_of_an_unconfigured_area_who_left_school_before_delivery_goes_to_the_incident_areas_mash)
{
    upsert("{\"schema\":\"council.child/1\",\"child_id\":\"T-1\",\"la_code\":\"999\","
           "\"nhs_number\":\"9990000018\",\"given_name\":\"Ashlyn\",\"family_name\":\"Testwood\","
           "\"dob\":\"2016-04-12\",\"education\":[{\"urn\":\"100001\",\"start\":\"2025-09-01\"}]}");
    json_t *doc = one_child_incident("M-3", 1, "x");
    json_object_set_new(json_object_get(doc, "location"), "postcode", json_string("S40 2QT"));
    ingest(doc, ms("2026-11-19T21:05:00Z"));
    struct rows rs;
    rows_load("M-3", &rs);
    char held[40];
    snprintf(held, sizeof held, "%s", only(&rs, "school:1", "scheduled")->id);
    rows_free(&rs);
    upsert("{\"schema\":\"council.child/1\",\"child_id\":\"T-1\",\"la_code\":\"999\","
           "\"nhs_number\":\"9990000018\",\"given_name\":\"Ashlyn\",\"family_name\":\"Testwood\","
           "\"dob\":\"2016-04-12\",\"education\":[{\"urn\":\"100001\",\"start\":\"2025-09-01\","
           "\"end\":\"2026-11-19\"}]}");
    cr_assert_eq(recheck(held, ms("2026-11-20T07:30:00Z")), 1);
    rows_load("M-3", &rs);
    cr_assert_str_eq(only(&rs, "school:1", NULL)->state, "superseded");
    const struct row *mash = only(&rs, "la:832:mash", "scheduled");
    cr_assert_str_eq(mash->reason, "no-current-education");
    for (size_t i = 0; i < rs.n; i++) {
        cr_assert_str_neq(rs.v[i].recipient, "la:831:mash", "the school's area was told");
    }
    rows_free(&rs);
}
