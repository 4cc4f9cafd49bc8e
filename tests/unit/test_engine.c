/* The engine over a real store, as incidents come in: the school schedule
 * applied to them, lenient police fields and scope, children identified by
 * ref or position and amendments (flows.md §1), with the audit records
 * each writes. Events go in through sdat_engine_ingest exactly as the
 * daemon hands them over. Review decisions, the re-check before delivery
 * and dead-letter replay are in test_engine_revisit.c; the fixture both
 * use is engine_fixture.h. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine_fixture.h"

TestSuite(engine, .init = engine_setup, .fini = engine_teardown);

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

/* flows.md: high risk *or* the officer's request for same-day action
 * (urgent: true) raises the urgent copy; medium risk without it does not. */
Test(engine, an_officers_urgent_request_raises_the_urgent_copy_without_high_risk)
{
    static const char *const ids[] = {"U-1", "U-2"};
    for (size_t k = 0; k < 2; k++) {
        json_t *doc = incident(ids[k], 1, "2026-11-19T10:00:00Z",
                               json_pack("[o]", police_child("school", "Ashlyn", "Testwood",
                                                             "2016-04-12", "9990000018")));
        if (k == 0) {
            json_object_set_new(doc, "urgent", json_true());
        }
        ingest(doc, ms("2026-11-19T10:01:00Z"));
        struct rows rs;
        rows_load(ids[k], &rs);
        size_t urgent = 0;
        for (size_t i = 0; i < rs.n; i++) {
            urgent += strcmp(rs.v[i].kind, "da-incident-urgent") == 0;
        }
        cr_assert_eq(urgent, k == 0 ? 1 : 0, "%s: %zu urgent copies", ids[k], urgent);
        rows_free(&rs);
    }
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
