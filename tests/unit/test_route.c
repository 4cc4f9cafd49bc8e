/* Routing (flows.md §1) over a small hand-built directory. */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "decide/decide.h"
#include "util/util.h"


/* A directory: area 831 (DE22, and sector DE23 6), force derbyshire → 831,
 * school:1 at URN 100001, mash and ehe. */
static struct sdat_recipient recipients[] = {
    {.id = "school:1", .kind = SDAT_KIND_SCHOOL, .la_code = "831", .name = "S1", .urn = "100001"},
    {.id = "la:831:mash", .kind = SDAT_KIND_MASH, .la_code = "831", .name = "MASH"},
    {.id = "la:831:ehe", .kind = SDAT_KIND_EHE, .la_code = "831", .name = "EHE"},
    {.id = "la:832:mash", .kind = SDAT_KIND_MASH, .la_code = "832", .name = "MASH 2"},
    {.id = "school:2", .kind = SDAT_KIND_SCHOOL, .la_code = "832", .name = "S2", .urn = "100002"},
    {.id = "la:832:ey", .kind = SDAT_KIND_EARLY_YEARS, .la_code = "832", .name = "EY 2"},
};
static char *districts_831[] = {"DE22", "DE23 6"};
static char *districts_832[] = {"DE23"};
static struct sdat_area areas[] = {
    {.la_code = "831", .name = "A", .postcode_districts = {districts_831, 2},
     .mash = "la:831:mash", .ehe = "la:831:ehe"},
    {.la_code = "832", .name = "B", .postcode_districts = {districts_832, 1}, .mash = "la:832:mash",
     .early_years = "la:832:ey"},
};
static struct sdat_force forces[] = {{.id = "derbyshire", .default_area = "831"}};

static struct sdat_config directory(void)
{
    struct sdat_config cfg = {0};
    cfg.recipients = recipients;
    cfg.n_recipients = 6;
    cfg.areas = areas;
    cfg.n_areas = 2;
    cfg.forces = forces;
    cfg.n_forces = 1;
    return cfg;
}

Test(route, longest_postcode_entry_wins_then_force_default)
{
    struct sdat_config cfg = directory();
    json_t *inc = json_pack("{s:s, s:{s:s}}", "force", "derbyshire", "location", "postcode",
                            "de23 6ab");
    cr_assert_str_eq(sdat_route_incident_area(&cfg, inc)->la_code, "831");
    json_object_set_new(json_object_get(inc, "location"), "postcode", json_string("DE237XY"));
    cr_assert_str_eq(sdat_route_incident_area(&cfg, inc)->la_code, "832");
    json_object_set_new(json_object_get(inc, "location"), "postcode", json_string("DE2 1AA"));
    cr_assert_str_eq(sdat_route_incident_area(&cfg, inc)->la_code, "831"); /* force default */
    json_object_set_new(inc, "force", json_string("elsewhere"));
    cr_assert_null(sdat_route_incident_area(&cfg, inc));
    json_decref(inc);
}

/* A district entry names a whole outward code: DE2 is not a prefix of
 * DE22 (a postcode there belongs to the force's default area). */
Test(route, a_district_entry_matches_the_whole_outward_code_not_a_prefix)
{
    static char *districts_de2[] = {"DE2"};
    struct sdat_area local_areas[] = {
        {.la_code = "901", .name = "C", .postcode_districts = {districts_de2, 1}},
        {.la_code = "902", .name = "D"},
    };
    struct sdat_force local_forces[] = {{.id = "derbyshire", .default_area = "902"}};
    struct sdat_config cfg = {.areas = local_areas, .n_areas = 2, .forces = local_forces,
                              .n_forces = 1};
    json_t *inc = json_pack("{s:s, s:{s:s}}", "force", "derbyshire", "location", "postcode",
                            "DE2 1AA");
    cr_assert_str_eq(sdat_route_incident_area(&cfg, inc)->la_code, "901");
    json_object_set_new(json_object_get(inc, "location"), "postcode", json_string("DE22 1AA"));
    cr_assert_str_eq(sdat_route_incident_area(&cfg, inc)->la_code, "902");
    json_decref(inc);
}

Test(route, current_spell_at_a_directory_school_goes_to_that_school)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s, s:s}]}", "child_id", "R1",
                              "la_code", "831", "dob", "2016-04-12", "education", "urn", "100001",
                              "start", "2025-09-01", "urn", "100001", "start", "2020-09-01", "end",
                              "2021-07-20");
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128];
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], on, on, routes, &n,
                                  err, sizeof err),
                 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(routes[0].recipient->id, "school:1");
    cr_assert(routes[0].school);
    cr_assert_null(routes[0].route_reason);
    json_decref(child);
}

Test(route, non_school_rows_carry_their_route_reason)
{
    struct sdat_config cfg = directory();
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128];
    int32_t on = sdat_days_from_civil(2026, 11, 20);

    json_t *ehe = json_pack("{s:s, s:s, s:s, s:b}", "child_id", "R2", "la_code", "831", "dob",
                            "2014-01-01", "ehe", 1);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, ehe, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].recipient->id, "la:831:ehe");
    cr_assert_str_eq(routes[0].route_reason, "ehe");

    json_t *away = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "child_id", "R3", "la_code", "832",
                             "dob", "2014-01-01", "education", "urn", "999999", "start",
                             "2025-09-01");
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, away, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].recipient->id, "la:832:mash"); /* the child's area */
    cr_assert_str_eq(routes[0].route_reason, "school-not-in-directory");

    json_t *young = json_pack("{s:s, s:s, s:s}", "child_id", "R4", "la_code", "831", "dob",
                              "2023-01-01");
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, young, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].recipient->id, "la:831:mash"); /* no early_years: mash */
    cr_assert_str_eq(routes[0].route_reason, "under-five");

    json_t *none = json_pack("{s:s, s:s, s:s}", "child_id", "R5", "la_code", "831", "dob",
                             "2012-01-01");
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, none, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].route_reason, "no-current-education");

    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_NONE, NULL, &areas[1], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].kind, "unmatched-child");
    cr_assert_str_eq(routes[0].recipient->id, "la:832:mash"); /* the incident area */
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_REVIEW, NULL, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].kind, "review-needed");
    json_decref(ehe);
    json_decref(away);
    json_decref(young);
    json_decref(none);
}

Test(route, dual_registration_gets_one_notification_per_school_and_the_school_row_wins)
{
    struct sdat_config cfg = directory();
    /* Two current spells at two directory schools, a third spell at one of
     * them again, and ehe set: the first row applies (ehe is not reached). */
    json_t *child = json_pack("{s:s, s:s, s:s, s:b, s:[{s:s, s:s}, {s:s, s:s}, {s:s, s:s}]}",
                              "child_id", "R6", "la_code", "831", "dob", "2015-01-01", "ehe", 1,
                              "education", "urn", "100001", "start", "2025-09-01", "urn", "100002",
                              "start", "2025-09-01", "urn", "100001", "start", "2024-09-01");
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128];
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_eq(n, 2);
    cr_assert_str_eq(routes[0].recipient->id, "school:1");
    cr_assert_str_eq(routes[1].recipient->id, "school:2");
    cr_assert(routes[0].school && routes[1].school);
    json_decref(child);
}

Test(route, spells_are_current_on_the_date_from_start_to_end_inclusive)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s}]}", "child_id", "R7",
                              "la_code", "832", "dob", "2015-01-01", "education", "urn", "100001",
                              "start", "2025-09-01", "end", "2026-11-20", "urn", "100002", "start",
                              "2026-11-23");
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128];
    /* On the last day of the first spell: that school. */
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(routes[0].recipient->id, "school:1");
    /* Between the spells: no current education; the child's area (832). */
    on = sdat_days_from_civil(2026, 11, 21);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].recipient->id, "la:832:mash");
    cr_assert_str_eq(routes[0].route_reason, "no-current-education");
    /* From the start of the second. */
    on = sdat_days_from_civil(2026, 11, 23);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].recipient->id, "school:2");
    json_decref(child);
}

Test(route, under_five_goes_to_the_areas_early_years_and_age_is_taken_on_the_incident_date)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s}", "child_id", "R8", "la_code", "832", "dob",
                              "2021-11-20");
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128];
    int32_t reported = sdat_days_from_civil(2026, 11, 20);
    /* Four on the incident date (19 November), five on the report date. */
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], reported,
                                  sdat_days_from_civil(2026, 11, 19), routes, &n, err, sizeof err),
                 0);
    cr_assert_str_eq(routes[0].recipient->id, "la:832:ey");
    cr_assert_str_eq(routes[0].route_reason, "under-five");
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[0], reported, reported,
                                  routes, &n, err, sizeof err), 0);
    cr_assert_str_eq(routes[0].route_reason, "no-current-education");
    json_decref(child);
}

Test(route, a_child_whose_area_is_not_configured_uses_the_incident_area)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s}", "child_id", "R9", "la_code", "999", "dob",
                              "2012-01-01");
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128];
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    cr_assert_eq(sdat_route_child(&cfg, SDAT_DECISION_MATCH, child, &areas[1], on, on, routes, &n,
                                  err, sizeof err), 0);
    cr_assert_str_eq(routes[0].recipient->id, "la:832:mash");
    json_decref(child);
}

/* ---- The re-check at delivery (flows.md §1 "Re-check at delivery"): a
 * school da-incident is pending for school:1, decided when the child was
 * there; on the delivery date the child's education is resolved again. The
 * routing table applies again ("resolved for the local date of reported_at
 * and again just before delivery"): the pending notification stands only
 * when the child's routes still name school:1; any other route replaces it,
 * a school or not (issue 26's surviving mutant kept the school when the new
 * route was the EHE team or another non-school recipient). ---- */

TestSuite(route_recheck);

struct recheck {
    int rc;
    size_t n;
    struct sdat_route routes[SDAT_ROUTE_MAX];
};

/* The re-check for school:1 (area 831) on 20 November 2026, of an
 * incident in area 831 on the same date; child is borrowed (NULL: no
 * longer in the register). */
static struct recheck recheck_for_school_1(const struct sdat_config *cfg, json_t *child)
{
    struct recheck r = {.n = 0};
    char err[128] = "";
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    r.rc = sdat_route_recheck(cfg, sdat_config_recipient(cfg, "school:1"), child, &areas[0], on, on,
                              r.routes, &r.n, err, sizeof err);
    return r;
}

/* Asserts the re-check replaced the school by one route. */
static void assert_replaced_by(const struct recheck *r, const char *recipient, const char *reason,
                               bool school)
{
    cr_assert_eq(r->rc, 1, "the school was kept (%d), want %s", r->rc, recipient);
    cr_assert_eq(r->n, 1);
    cr_assert_str_eq(r->routes[0].recipient->id, recipient);
    cr_assert_str_eq(r->routes[0].kind, "da-incident");
    cr_assert_str_eq(r->routes[0].route_reason, reason);
    cr_assert_eq(r->routes[0].school, school);
}

Test(route_recheck, a_child_still_at_the_school_keeps_the_pending_notification)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}]}", "child_id", "R1", "la_code",
                              "831", "dob", "2016-04-12", "education", "urn", "100001", "start",
                              "2025-09-01");
    cr_assert_eq(recheck_for_school_1(&cfg, child).rc, 0);
    json_decref(child);
}

Test(route_recheck, a_child_now_dual_registered_there_and_elsewhere_keeps_the_pending_notification)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s}, {s:s, s:s}]}", "child_id", "R1",
                              "la_code", "831", "dob", "2016-04-12", "education", "urn", "100002",
                              "start", "2026-11-01", "urn", "100001", "start", "2025-09-01");
    cr_assert_eq(recheck_for_school_1(&cfg, child).rc, 0);
    json_decref(child);
}

Test(route_recheck, a_child_moved_to_another_directory_school_goes_there_as_moved_school)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s}]}", "child_id", "R1",
                              "la_code", "831", "dob", "2016-04-12", "education", "urn", "100001",
                              "start", "2025-09-01", "end", "2026-11-13", "urn", "100002", "start",
                              "2026-11-16");
    struct recheck r = recheck_for_school_1(&cfg, child);
    assert_replaced_by(&r, "school:2", "moved-school", true);
    json_decref(child);
}

Test(route_recheck, a_child_now_electively_home_educated_goes_to_the_ehe_team_not_the_school)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:b, s:[{s:s, s:s, s:s}]}", "child_id", "R1",
                              "la_code", "831", "dob", "2016-04-12", "ehe", 1, "education", "urn",
                              "100001", "start", "2025-09-01", "end", "2026-11-13");
    struct recheck r = recheck_for_school_1(&cfg, child);
    assert_replaced_by(&r, "la:831:ehe", "ehe", false);
    json_decref(child);
}

Test(route_recheck, a_child_now_at_a_school_outside_the_directory_goes_to_the_mash_not_the_school)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}, {s:s, s:s}]}", "child_id", "R1",
                              "la_code", "831", "dob", "2016-04-12", "education", "urn", "100001",
                              "start", "2025-09-01", "end", "2026-11-13", "urn", "999999", "start",
                              "2026-11-16");
    struct recheck r = recheck_for_school_1(&cfg, child);
    assert_replaced_by(&r, "la:831:mash", "school-not-in-directory", false);
    json_decref(child);
}

Test(route_recheck, a_child_whose_spell_ended_goes_to_the_mash_not_the_school)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "child_id", "R1", "la_code",
                              "831", "dob", "2016-04-12", "education", "urn", "100001", "start",
                              "2025-09-01", "end", "2026-11-19");
    struct recheck r = recheck_for_school_1(&cfg, child);
    assert_replaced_by(&r, "la:831:mash", "no-current-education", false);
    json_decref(child);
}

/* An under-five whose nursery place at the school ended: the child's area
 * (832) early years team. */
Test(route_recheck, an_under_five_no_longer_at_the_school_goes_to_early_years_not_the_school)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "child_id", "R1", "la_code",
                              "832", "dob", "2022-03-01", "education", "urn", "100001", "start",
                              "2025-09-01", "end", "2026-11-13");
    struct recheck r = recheck_for_school_1(&cfg, child);
    assert_replaced_by(&r, "la:832:ey", "under-five", false);
    json_decref(child);
}

Test(route_recheck, a_child_gone_from_the_register_goes_to_the_incident_areas_mash)
{
    struct sdat_config cfg = directory();
    struct recheck r = recheck_for_school_1(&cfg, NULL);
    assert_replaced_by(&r, "la:831:mash", "no-current-education", false);
}

Test(route_recheck, without_a_mash_to_send_to_the_child_is_not_routable_now)
{
    struct sdat_config cfg = directory();
    struct sdat_area no_mash = areas[0];
    no_mash.mash = NULL;
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;
    char err[128] = "";
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    cr_assert_eq(sdat_route_recheck(&cfg, sdat_config_recipient(&cfg, "school:1"), NULL, &no_mash,
                                    on, on, routes, &n, err, sizeof err),
                 -ENOENT);
    cr_assert_neq(err[0], '\0');
}

/* A child of an authority the directory does not configure takes the
 * incident's area (flows.md §1), here 832, not school:1's. */
Test(route_recheck, a_child_of_an_unconfigured_area_who_left_school_goes_to_the_incident_areas_mash)
{
    struct sdat_config cfg = directory();
    json_t *child = json_pack("{s:s, s:s, s:s, s:[{s:s, s:s, s:s}]}", "child_id", "R1", "la_code",
                              "999", "dob", "2016-04-12", "education", "urn", "100001", "start",
                              "2025-09-01", "end", "2026-11-19");
    struct recheck r = {.n = 0};
    char err[128] = "";
    int32_t on = sdat_days_from_civil(2026, 11, 20);
    r.rc = sdat_route_recheck(&cfg, sdat_config_recipient(&cfg, "school:1"), child, &areas[1], on,
                              on, r.routes, &r.n, err, sizeof err);
    assert_replaced_by(&r, "la:832:mash", "no-current-education", false);
    json_decref(child);
}
