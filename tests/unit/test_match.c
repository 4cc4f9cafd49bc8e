/* Matching (flows.md §4): field levels, the identifier rule, scored
 * decisions, twins, term frequency, and the explanation. Pure: candidate
 * rows are built by hand, as the store would return them. */
#include <criterion/criterion.h>
#include <string.h>

#include "decide/decide.h"
#include "engine/engine.h"
#include "util/util.h"

static sdat_nicknames_t *nicknames;

static void setup(void)
{
    char err[256];
    cr_assert_eq(sdat_match_nicknames_load(NULL, &nicknames, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    sdat_nicknames_free(nicknames);
}

TestSuite(match, .init = setup, .fini = teardown);

static struct sdat_match_params params(void)
{
    return (struct sdat_match_params){.match_threshold = 20,
                                      .review_threshold = 10,
                                      .match_margin = 5,
                                      .register_size = 100000,
                                      .nicknames = nicknames};
}

static struct sdat_register_row row(const char *id, const char *given, const char *family,
                                    const char *dob, const char *postcode)
{
    return (struct sdat_register_row){.child_id = id,
                                      .given = given,
                                      .family = family,
                                      .other_given = "",
                                      .other_family = "",
                                      .dob = dob,
                                      .postcode = postcode,
                                      .family_count = 100};
}

/* A police child as a query: names are normalised as the builder does. */
static struct sdat_match_query query(const char *given, const char *family, const char *dob,
                                     const char *postcode)
{
    json_t *child = json_pack("{s:s, s:s}", "given_name", given, "family_name", family);
    if (dob) {
        json_object_set_new(child, "dob", json_string(dob));
    }
    json_t *location = json_pack("{s:s}", "address", "1 Synthetic Street");
    if (postcode) {
        json_object_set_new(location, "postcode", json_string(postcode));
    }
    struct sdat_match_query q;
    sdat_match_query_from_police(child, location, true, true, true,
                                 sdat_days_from_civil(2026, 11, 20), &q);
    json_decref(child);
    json_decref(location);
    return q;
}

static const char *level(const struct sdat_candidate *c, enum sdat_field f)
{
    return c->fields[f].level;
}

Test(match, given_name_levels)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "william", "testwood", "2016-04-12", "DE22 3XY");
    r.other_given = "james";
    struct sdat_candidate c;
    struct {
        const char *police, *level;
    } cases[] = {{"William", "exact"},  {"James", "other-name"}, {"Bill", "nickname"},
                 {"Wiliam", "similar"}, {"Willem", "similar-weak"}, {"W", "initial"},
                 {"Oscar", "disagree"}};
    double last = 1e9;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sdat_match_query q = query(cases[i].police, "Testwood", "2016-04-12", "DE22 3XY");
        sdat_match_score(&p, &q, &r, &c);
        cr_assert_str_eq(level(&c, SDAT_FIELD_GIVEN_NAME), cases[i].level, "%s: %s",
                         cases[i].police, level(&c, SDAT_FIELD_GIVEN_NAME));
        if (i != 1) { /* other-name sits apart from the similarity ladder */
            cr_assert_leq(c.fields[SDAT_FIELD_GIVEN_NAME].weight, last, "%s", cases[i].police);
            last = c.fields[SDAT_FIELD_GIVEN_NAME].weight;
        }
    }
    cr_assert_lt(c.fields[SDAT_FIELD_GIVEN_NAME].weight, 0, "disagreement weighs against");
}

Test(match, family_name_levels_with_aliases_and_hyphens)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ada", "smithjones", "2016-04-12", NULL);
    r.other_family = "smith jones brown";
    struct sdat_candidate c;
    struct {
        const char *police, *level;
    } cases[] = {{"Smith-Jones", "exact"}, {"Smith Jones", "exact"}, {"Jones", "alias"},
                 {"Brown", "alias"},      {"Smithjomes", "similar"}, {"Patel", "disagree"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sdat_match_query q = query("Ada", cases[i].police, "2016-04-12", NULL);
        sdat_match_score(&p, &q, &r, &c);
        cr_assert_str_eq(level(&c, SDAT_FIELD_FAMILY_NAME), cases[i].level, "%s: %s",
                         cases[i].police, level(&c, SDAT_FIELD_FAMILY_NAME));
    }
    /* A police hyphenated name whose part is the register's name. */
    struct sdat_register_row plain = row("R2", "ada", "jones", "2016-04-12", NULL);
    struct sdat_match_query q = query("Ada", "Jones-Smith", "2016-04-12", NULL);
    sdat_match_score(&p, &q, &plain, &c);
    cr_assert_str_eq(level(&c, SDAT_FIELD_FAMILY_NAME), "alias");
}

Test(match, dob_levels)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ada", "testwood", "2016-04-12", NULL);
    struct sdat_candidate c;
    struct {
        const char *police, *level;
    } cases[] = {{"2016-04-12", "exact"},
                 {"2016-12-04", "swapped"},
                 {"2016-04-13", "one-off"},
                 {"2015-04-12", "one-off"},
                 {"2017-05-12", "disagree"},
                 {NULL, "missing"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sdat_match_query q = query("Ada", "Testwood", cases[i].police, NULL);
        sdat_match_score(&p, &q, &r, &c);
        cr_assert_str_eq(level(&c, SDAT_FIELD_DOB), cases[i].level, "%s",
                         cases[i].police ? cases[i].police : "none");
    }
    /* Age only: the birth year fits (10 on 2026-11-20) or it does not. */
    struct sdat_match_query q = query("Ada", "Testwood", NULL, NULL);
    q.age = 10;
    sdat_match_score(&p, &q, &r, &c);
    cr_assert_str_eq(level(&c, SDAT_FIELD_DOB), "year");
    q.age = 12;
    sdat_match_score(&p, &q, &r, &c);
    cr_assert_str_eq(level(&c, SDAT_FIELD_DOB), "disagree");
}

Test(match, postcode_and_uprn_levels)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ada", "testwood", "2016-04-12", "DE22 3XY");
    r.uprn = "100030000001";
    struct sdat_candidate c;
    struct {
        const char *police, *level;
    } cases[] = {{"de223xy", "full"},
                 {"DE22 3AB", "sector"},
                 {"DE22 4XY", "district"},
                 {"S40 2QT", "disagree"},
                 {NULL, "missing"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sdat_match_query q = query("Ada", "Testwood", "2016-04-12", cases[i].police);
        sdat_match_score(&p, &q, &r, &c);
        cr_assert_str_eq(level(&c, SDAT_FIELD_POSTCODE), cases[i].level, "%s",
                         cases[i].police ? cases[i].police : "none");
    }
    struct sdat_match_query q = query("Ada", "Testwood", "2016-04-12", NULL);
    strcpy(q.uprn, "100030000001");
    sdat_match_score(&p, &q, &r, &c);
    cr_assert_str_eq(level(&c, SDAT_FIELD_UPRN), "exact");
    cr_assert_gt(c.fields[SDAT_FIELD_UPRN].weight, 10);
}

Test(match, non_resident_child_does_not_compare_the_incident_postcode)
{
    json_t *child = json_pack("{s:s, s:s, s:b}", "given_name", "Ada", "family_name", "Testwood",
                              "resident", 0);
    json_t *location = json_pack("{s:s, s:s}", "address", "x", "postcode", "DE22 3XY");
    struct sdat_match_query q;
    sdat_match_query_from_police(child, location, true, true, true, 0, &q);
    cr_assert_str_eq(q.postcode, "");
    json_decref(child);
    json_decref(location);
}

Test(match, common_family_name_weighs_less_than_a_rare_one)
{
    struct sdat_match_params p = params();
    struct sdat_register_row common = row("R1", "ada", "smith", "2016-04-12", NULL);
    struct sdat_register_row rare = row("R2", "ada", "quillfeather", "2016-04-12", NULL);
    common.family_count = 1300; /* 1.3 % of the register */
    rare.family_count = 2;
    struct sdat_candidate c1, c2;
    struct sdat_match_query q1 = query("Ada", "Smith", "2016-04-12", NULL);
    struct sdat_match_query q2 = query("Ada", "Quillfeather", "2016-04-12", NULL);
    sdat_match_score(&p, &q1, &common, &c1);
    sdat_match_score(&p, &q2, &rare, &c2);
    cr_assert_str_eq(level(&c1, SDAT_FIELD_FAMILY_NAME), "exact");
    cr_assert_str_eq(level(&c2, SDAT_FIELD_FAMILY_NAME), "exact");
    cr_assert_lt(c1.fields[SDAT_FIELD_FAMILY_NAME].weight,
                 c2.fields[SDAT_FIELD_FAMILY_NAME].weight - 3);
}

Test(match, a_clear_best_candidate_is_a_match_by_score)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("R1", "ashlyn", "testwood", "2016-04-12", "DE22 3XY"),
        row("R2", "bramwell", "testwood", "2018-09-30", "DE22 3XY"), /* a sibling */
    };
    struct sdat_match_query q = query("Ashlin", "Testwood", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH);
    cr_assert_str_eq(o.rule, "score");
    cr_assert_str_eq(o.child_id, "R1");
    cr_assert_eq(o.n_candidates, 2);
    cr_assert_str_eq(o.candidates[0].child_id, "R1");
}

Test(match, twins_with_near_identical_names_go_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("T1", "aiden", "testwood", "2016-04-12", "DE22 3XY"),
        row("T2", "aidan", "testwood", "2016-04-12", "DE22 3XY"),
    };
    struct sdat_match_query q = query("Aidan", "Testwood", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "");
    /* A misspelling between the two is no clearer. */
    q = query("Aydan", "Testwood", "2016-04-12", "DE22 3XY");
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH);
}

Test(match, sibling_of_an_unregistered_child_is_never_a_match)
{
    struct sdat_match_params p = params();
    p.review_threshold = -100; /* whatever the thresholds */
    p.match_threshold = -50;
    struct sdat_register_row rows[] = {row("S1", "bramwell", "testwood", "2018-09-30", "DE22 3XY")};
    struct sdat_match_query q = query("Corin", "Testwood", "2021-01-05", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 1, &o);
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH);
}

Test(match, a_child_absent_from_the_register_is_none)
{
    struct sdat_match_params p = params();
    struct sdat_match_query q = query("Ashlyn", "Testwood", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, NULL, 0, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_NONE);
    cr_assert_str_eq(o.rule, "none");
    /* Candidates that share only a blocking key and little else. */
    struct sdat_register_row rows[] = {row("X1", "oscar", "patel", "2016-04-12", "S40 2QT")};
    sdat_match_decide(&p, &q, rows, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_NONE);
    cr_assert_eq(o.considered, 1);
}

Test(match, identifier_with_equal_dob_and_agreeing_name_is_a_match)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ashlyn", "testwood", "2016-04-12", NULL);
    r.nhs_number = "9990000018";
    struct sdat_match_query q = query("ASHLYN", "Other", "2016-04-12", NULL);
    strcpy(q.nhs_number, "9990000018");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH);
    cr_assert_str_eq(o.rule, "identifier");
    cr_assert_str_eq(o.child_id, "R1");
}

Test(match, identifier_with_a_conflicting_dob_goes_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ashlyn", "testwood", "2016-04-12", "DE22 3XY");
    r.nhs_number = "9990000018";
    struct sdat_match_query q = query("Ashlyn", "Testwood", "2016-04-13", "DE22 3XY");
    strcpy(q.nhs_number, "9990000018");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW);
    cr_assert_str_eq(o.rule, "identifier");
    cr_assert_str_eq(o.reason, "identifier agrees, date of birth does not");
}

/* Not a near slip but another date altogether: the identifier is still
 * not enough. */
Test(match, identifier_with_a_wholly_different_dob_goes_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ashlyn", "testwood", "2016-04-12", "DE22 3XY");
    r.nhs_number = "9990000018";
    struct sdat_match_query q = query("Ashlyn", "Testwood", "2011-09-30", "DE22 3XY");
    strcpy(q.nhs_number, "9990000018");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.reason, "identifier agrees, date of birth does not");
}

Test(match, twin_identifier_written_against_the_other_twin_goes_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("T1", "aiden", "testwood", "2016-04-12", "DE22 3XY"),
        row("T2", "aidan", "testwood", "2016-04-12", "DE22 3XY"),
    };
    rows[0].nhs_number = "9990000018";
    rows[1].nhs_number = "9990000085";
    struct sdat_match_query q = query("Aidan", "Testwood", "2016-04-12", "DE22 3XY");
    strcpy(q.nhs_number, "9990000018"); /* T1's number, T2's name */
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW);
    /* Aidan is a near spelling of Aiden, so the name alone does not
     * disagree; the other twin scoring as well is what stops it. */
    cr_assert_str_eq(o.reason, "identifier agrees, but another child matches as well");
    /* Twins with different names: the given name disagrees. */
    rows[1].given = "bramwell";
    q = query("Bramwell", "Testwood", "2016-04-12", "DE22 3XY");
    strcpy(q.nhs_number, "9990000018");
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW);
    cr_assert_str_eq(o.reason, "identifier agrees, given name does not");
}

Test(match, nhs_number_and_upn_of_different_children_go_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {row("R1", "ada", "testwood", "2016-04-12", NULL),
                                       row("R2", "ada", "testwood", "2016-04-12", NULL)};
    rows[0].nhs_number = "9990000018";
    rows[1].upn = "B801200005001";
    struct sdat_match_query q = query("Ada", "Testwood", "2016-04-12", NULL);
    strcpy(q.nhs_number, "9990000018");
    strcpy(q.upn, "B801200005001");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW);
    cr_assert_str_eq(o.reason, "NHS number and UPN point at different children");
}

Test(match, explanation_carries_candidates_levels_weights_and_thresholds)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {row("R1", "ashlyn", "testwood", "2016-04-12", "DE22 3XY")};
    struct sdat_match_query q = query("Ashlyn", "Testwood", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 1, &o);
    json_t *x = sdat_match_explain(&p, &o);
    cr_assert_str_eq(json_string_value(json_object_get(x, "decision")), "match");
    cr_assert_str_eq(json_string_value(json_object_get(x, "child_id")), "R1");
    cr_assert(json_is_string(json_object_get(x, "score")));
    json_t *c0 = json_array_get(json_object_get(x, "candidates"), 0);
    json_t *given = json_object_get(json_object_get(c0, "fields"), "given_name");
    cr_assert_str_eq(json_string_value(json_object_get(given, "level")), "exact");
    cr_assert_str_eq(json_string_value(json_object_get(given, "weight")), "6.32");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(x, "thresholds"), "match")), "20.00");
    /* No personal data: names and dates never appear. */
    char *text = json_dumps(x, JSON_COMPACT);
    cr_assert_null(strstr(text, "ashlyn"));
    cr_assert_null(strstr(text, "2016"));
    free(text);
    json_decref(x);
}

Test(match, blocking_keys_of_query_and_register_meet)
{
    struct sdat_blocking_keys reg, qk;
    sdat_blocking_register("ashlyn", "testwood", "", "", "2016-04-12", "DE22 3XY", NULL, &reg);
    /* Day and month swapped, typo in the family name, no postcode. */
    struct sdat_match_query q = query("Ashlyn", "Testwod", "2016-12-04", NULL);
    sdat_blocking_query(&q, &qk);
    bool met = false;
    for (size_t i = 0; i < qk.n; i++) {
        for (size_t k = 0; k < reg.n; k++) {
            met = met || strcmp(qk.key[i], reg.key[k]) == 0;
        }
    }
    cr_assert(met, "the swapped date of birth or the phonetic key should meet");
}

Test(match, common_given_name_weighs_less_than_a_rare_one)
{
    struct sdat_match_params p = params();
    struct sdat_register_row common = row("R1", "oliver", "testwood", "2016-04-12", NULL);
    struct sdat_register_row rare = row("R2", "elowen", "testwood", "2016-04-12", NULL);
    common.given_count = 3000; /* 3 % of the register */
    rare.given_count = 3;
    struct sdat_candidate c1, c2;
    struct sdat_match_query q1 = query("Oliver", "Testwood", "2016-04-12", NULL);
    struct sdat_match_query q2 = query("Elowen", "Testwood", "2016-04-12", NULL);
    sdat_match_score(&p, &q1, &common, &c1);
    sdat_match_score(&p, &q2, &rare, &c2);
    cr_assert_str_eq(level(&c1, SDAT_FIELD_GIVEN_NAME), "exact");
    cr_assert_lt(c1.fields[SDAT_FIELD_GIVEN_NAME].weight,
                 c2.fields[SDAT_FIELD_GIVEN_NAME].weight - 2);
}

Test(match, given_and_family_names_written_the_wrong_way_round)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "morgan", "ellis", "2016-04-12", "DE22 3XY");
    struct sdat_match_query q = query("Ellis", "Morgan", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_GIVEN_NAME), "swapped");
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_FAMILY_NAME), "swapped");
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH);
}

Test(match, an_equal_uprn_adds_little_to_a_full_postcode)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("R1", "ada", "testwood", "2016-04-12", "DE22 3XY");
    r.uprn = "100030000001";
    struct sdat_match_query q = query("Ada", "Testwood", "2016-04-12", "DE22 3XY");
    strcpy(q.uprn, "100030000001");
    struct sdat_candidate with_postcode, alone;
    sdat_match_score(&p, &q, &r, &with_postcode);
    q.postcode[0] = '\0';
    sdat_match_score(&p, &q, &r, &alone);
    cr_assert_lt(with_postcode.fields[SDAT_FIELD_UPRN].weight, 5);
    cr_assert_gt(alone.fields[SDAT_FIELD_UPRN].weight, 10);
}

Test(match, a_name_and_an_age_alone_are_never_a_match)
{
    struct sdat_match_params p = params();
    p.match_threshold = 5; /* whatever the thresholds */
    struct sdat_register_row r = row("R1", "elowen", "quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_query q = query("Elowen", "Quillbrook", NULL, "S40 2QT");
    q.age = 10;
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_DOB), "year");
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH);
    /* The same with the address agreeing is. */
    q = query("Elowen", "Quillbrook", NULL, "DE22 3XY");
    q.age = 10;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH);
}

/* events.md "Lenient fields": an nhs_number, upn or dob of the right type
 * that fails its format check is reported by the validator as a warning and
 * left out of the query built from the incident; the same fields of another
 * child, valid, are used. */
Test(match, a_query_from_an_incident_leaves_out_the_lenient_fields_that_failed)
{
    char err[256];
    sdat_schemas_t *schemas = NULL;
    cr_assert_eq(sdat_schemas_new(&schemas, err, sizeof err), 0, "%s", err);
    json_t *doc = json_loads(
        "{\"schema\":\"police.da-incident/1\",\"force\":\"derbyshire\",\"incident_id\":\"Q-1\","
        "\"occurred_at\":\"2026-11-19T21:00:00Z\",\"reported_at\":\"2026-11-19T21:00:00Z\","
        "\"location\":{\"address\":\"1 Synthetic Street\",\"postcode\":\"DE22 3XY\"},"
        "\"risk\":\"medium\",\"officer\":{\"id\":\"PC-1\",\"name\":\"PC Test\"},\"children\":["
        "{\"given_name\":\"Ada\",\"family_name\":\"Testwood\",\"dob\":\"2016-02-30\","
        "\"nhs_number\":\"9990000017\",\"upn\":\"B207000016049\",\"present\":true,\"resident\":true},"
        "{\"given_name\":\"Bo\",\"family_name\":\"Testwood\",\"dob\":\"2016-02-28\","
        "\"nhs_number\":\"9990000018\",\"upn\":\"P207000016049\",\"present\":true,\"resident\":true}]}",
        0, NULL);
    cr_assert_not_null(doc);
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 0, "valid with warnings: %s",
                 v.n_errors ? v.errors[0].path : "");
    cr_assert_eq(v.n_warnings, 3);
    int32_t days = sdat_days_from_civil(2026, 11, 19);

    struct sdat_match_query q;
    sdat_match_query_from_incident(doc, 0, &v, days, &q);
    cr_assert_str_eq(q.nhs_number, "", "a bad check digit is not an identifier");
    cr_assert_str_eq(q.upn, "", "a bad check letter is not an identifier");
    cr_assert_not(q.has_dob, "a date that does not exist is no date of birth");
    cr_assert_str_eq(q.given, "ada");
    cr_assert_eq(q.occurred_days, days);

    sdat_match_query_from_incident(doc, 1, &v, days, &q);
    cr_assert_str_eq(q.nhs_number, "9990000018");
    cr_assert_str_eq(q.upn, "P207000016049");
    cr_assert(q.has_dob);
    cr_assert_eq(q.dob_days, sdat_days_from_civil(2016, 2, 28));

    /* Without the validator's warnings the bad values would be used. */
    sdat_match_query_from_incident(doc, 0, NULL, days, &q);
    cr_assert_str_eq(q.nhs_number, "9990000017");
    json_decref(doc);
    sdat_schemas_free(schemas);
}

/* ---- The sibling guard, margin by evidence and age-only children (issue
 * 23): each rule against cases worked out by hand. ---- */

static bool has_sibling_candidate(const struct sdat_match_outcome *o, const char *id)
{
    for (size_t i = 0; i < o->n_candidates; i++) {
        if (strcmp(o->candidates[i].child_id, id) == 0) {
            return o->candidates[i].sibling;
        }
    }
    return false;
}

Test(match, twins_with_look_alike_names_and_a_name_near_both_go_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("T1", "fennimore", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("T2", "fenwicka", "quillbrook", "2016-04-12", "DE22 3XY"),
    };
    /* "Fenn": near Fennimore, not near enough to Fenwicka to disagree with
     * the twin's spelling as a matter of certainty. */
    struct sdat_match_query q = query("Fenn", "Quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.reason, SDAT_MATCH_SIBLING_GUARD);
    cr_assert_str_eq(o.child_id, "");
    json_t *why = sdat_match_explain(&p, &o);
    cr_assert(json_is_true(json_object_get(why, "sibling_guard")));
    json_decref(why);
}

/* A twin is told apart only by a given name that disagrees with it: one
 * that names the child exactly and is still a weak near spelling of the
 * twin's (Aiden, Aidyn), ahead by the margin, is a person's decision
 * (flows.md §4). */
Test(match, a_name_exact_for_one_twin_and_near_the_others_goes_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("T1", "aiden", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("T2", "aidyn", "quillbrook", "2016-04-12", "DE22 3XY"),
    };
    struct sdat_match_query q = query("Aiden", "Quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.reason, SDAT_MATCH_SIBLING_GUARD);
    cr_assert(has_sibling_candidate(&o, "T2"));
}

/* Two namesakes with one date of birth in two households, the police
 * address at neither: both above the match threshold, but alike, so the
 * margin is not met. */
Test(match, namesakes_scoring_alike_are_not_clear_of_each_other)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("N1", "ashlyn", "testwood", "2016-04-12", "DE22 3XY"),
        row("N2", "ashlyn", "testwood", "2016-04-12", "DE23 6AB"),
    };
    struct sdat_match_query q = query("Ashlyn", "Testwood", "2016-04-12", "DE1 1AA");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_float_eq(o.candidates[0].score, o.candidates[1].score, 1e-9);
    cr_assert_geq(o.candidates[0].score, p.match_threshold, "only the margin stops a match");
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "");
}

/* evidence_suffices: a family name that disagrees (a child known by
 * another family's name) is let through when the given name is exactly
 * the register's and the date of birth and the address agree; with only a
 * near given name it is another family's child. */
Test(match, a_disagreeing_family_name_needs_the_exact_given_name)
{
    struct sdat_match_params p = params();
    struct sdat_register_row r = row("F1", "ashlyn", "testwood", "2016-04-12", "DE22 3XY");
    struct sdat_match_query q = query("Ashlyn", "Quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_str_eq(o.candidates[0].fields[SDAT_FIELD_FAMILY_NAME].level, "disagree");
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    q = query("Ashlin", "Quillbrook", "2016-04-12", "DE22 3XY");
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_str_neq(o.candidates[0].fields[SDAT_FIELD_GIVEN_NAME].level, "exact");
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
}

Test(match, a_twin_whose_given_name_agrees_only_with_itself_is_matched)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("T1", "fennimore", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("T2", "fenwicka", "quillbrook", "2016-04-12", "DE22 3XY"),
    };
    struct sdat_match_query q = query("Fennimore", "Quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "T1");
    /* And the other twin, named exactly. */
    q = query("Fenwicka", "Quillbrook", "2016-04-12", "DE22 3XY");
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "T2");
}

Test(match, a_twin_named_by_a_typo_alone_goes_to_review_with_the_twin_among_the_candidates)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("T1", "oliver", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("T2", "jessamy", "quillbrook", "2016-04-12", "DE22 3XY"),
    };
    /* "Olivr" is similar to Oliver and disagrees with Jessamy, but does not
     * name Oliver: with a twin in the house, a person decides. */
    struct sdat_match_query q = query("Olivr", "Quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_GIVEN_NAME), "similar");
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    /* The same spelling with no twin in the register is a match. */
    sdat_match_decide(&p, &q, rows, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
}

Test(match, a_sibling_named_as_well_as_the_best_goes_to_review)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("S1", "noah", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("S2", "noel", "quillbrook", "2019-02-03", "DE22 3XY"),
    };
    /* "Noal" is as near Noah as Noel (Jaro–Winkler 0.883 and 0.867, both
     * similar-weak): only the date of birth would tell them apart. */
    struct sdat_match_query q = query("Noal", "Quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_GIVEN_NAME), "similar-weak");
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    /* "Noah" names S1 and disagrees with Noel: a match. */
    q = query("Noah", "Quillbrook", "2016-04-12", "DE22 3XY");
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "S1");
    /* A sibling whose middle name is Noah is named as well as S1 (another
     * of its names): the guard sends it to a person, the sibling shown. */
    rows[1].other_given = "noah";
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.reason, SDAT_MATCH_SIBLING_GUARD);
    cr_assert(has_sibling_candidate(&o, "S2"));
}

Test(match, a_namesake_cousin_at_one_address_is_shown_to_a_person)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("C1", "amber", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("C2", "amber", "thistlewood", "2016-09-01", "DE22 3XY"),
    };
    rows[0].uprn = "990000000001";
    rows[1].uprn = "990000000001"; /* one property */
    /* The date of birth a day out: only the family name tells them apart. */
    struct sdat_match_query q = query("Amber", "Quillbrook", "2016-04-13", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert(has_sibling_candidate(&o, "C2"));
}

Test(match, a_margin_won_on_the_date_of_birth_alone_is_not_enough)
{
    struct sdat_match_params p = params();
    /* Two children of one family name at different addresses, given names
     * the police spelling is equally near, dates of birth a year apart. */
    struct sdat_register_row rows[] = {
        row("M1", "jessamine", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("M2", "jessamina", "quillbrook", "2017-04-30", "S40 2QT"),
    };
    struct sdat_match_query q = query("Jessamin", "Quillbrook", "2016-04-12", NULL);
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_GIVEN_NAME),
                     level(&o.candidates[1], SDAT_FIELD_GIVEN_NAME));
    cr_assert_gt(o.candidates[0].score - o.candidates[1].score, p.match_margin);
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    /* The given name written exactly tells them apart: a match. */
    q = query("Jessamine", "Quillbrook", "2016-04-12", NULL);
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "M1");
}

Test(match, an_age_only_child_whose_family_moved_goes_to_review_not_none)
{
    struct sdat_match_params p = params();
    /* Thresholds no score here reaches: only the age-only rule can. */
    p.review_threshold = 40;
    p.match_threshold = 50;
    struct sdat_register_row r = row("R1", "elowen", "quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_query q = query("Elowen", "Quillbrook", NULL, "S40 2QT");
    q.age = 10; /* fits 2016-04-12 on 2026-11-20 */
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_lt(o.candidates[0].score, p.review_threshold);
    /* An age that does not fit, or a given name that does not name her:
     * no review on the names alone. */
    q.age = 7;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_NONE, "%s", o.reason);
    q = query("Ellen", "Quillbrook", NULL, "S40 2QT");
    q.age = 10;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_NONE, "%s", o.reason);
}

Test(match, a_match_at_an_address_the_police_did_not_record_needs_a_sibling_of_the_incident_there)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("R1", "elowen", "quillbrook", "2016-04-12", "DE22 3XY"),
        row("R2", "bramwell", "quillbrook", "2018-09-30", "DE22 3XY"),
    };
    /* The family met at another address (S40 2QT): both children match
     * their register records at DE22 3XY by score. */
    struct sdat_match_query q[2] = {
        query("Elowen", "Quillbrook", "2016-04-12", "S40 2QT"),
        query("Bramwell", "Quillbrook", "2018-09-30", "S40 2QT"),
    };
    struct sdat_match_outcome o[2];
    sdat_match_decide(&p, &q[0], rows, 2, &o[0]);
    sdat_match_decide(&p, &q[1], rows, 2, &o[1]);
    cr_assert_eq(o[0].decision, SDAT_DECISION_MATCH, "%s", o[0].reason);
    cr_assert_eq(o[1].decision, SDAT_DECISION_MATCH, "%s", o[1].reason);
    cr_assert_str_eq(level(&o[0].candidates[0], SDAT_FIELD_POSTCODE), "disagree");
    /* Together they confirm the household: both stay matches. */
    sdat_match_corroborate(q, o, 2);
    cr_assert_eq(o[0].decision, SDAT_DECISION_MATCH);
    cr_assert_eq(o[1].decision, SDAT_DECISION_MATCH);
    cr_assert_str_eq(o[0].child_id, "R1");
    /* Alone (a child with a register namesake's names and date of birth
     * elsewhere looks the same): a person decides. */
    sdat_match_decide(&p, &q[0], rows, 2, &o[0]);
    sdat_match_corroborate(q, o, 1);
    cr_assert_eq(o[0].decision, SDAT_DECISION_REVIEW);
    cr_assert_str_eq(o[0].reason, SDAT_MATCH_UNCONFIRMED_ADDRESS);
    cr_assert_str_eq(o[0].child_id, "");
    /* A child the officer did not record at the address is not held back. */
    struct sdat_match_query away = query("Elowen", "Quillbrook", "2016-04-12", NULL);
    sdat_match_decide(&p, &away, rows, 2, &o[0]);
    sdat_match_corroborate(&away, o, 1);
    cr_assert_eq(o[0].decision, SDAT_DECISION_MATCH, "%s", o[0].reason);
}

Test(match, an_age_said_a_year_out_still_goes_to_review_two_years_out_does_not)
{
    struct sdat_match_params p = params();
    p.review_threshold = 40;
    p.match_threshold = 50;
    /* 2016-04-12 is 10 on 2026-11-20: 9 and 11 are a birthday out, worked
     * out by hand; 8 and 12 are not. */
    struct sdat_register_row r = row("R1", "elowen", "quillbrook", "2016-04-12", "DE22 3XY");
    const struct {
        int age;
        enum sdat_decision want;
    } cases[] = {{8, SDAT_DECISION_NONE},   {9, SDAT_DECISION_REVIEW}, {10, SDAT_DECISION_REVIEW},
                 {11, SDAT_DECISION_REVIEW}, {12, SDAT_DECISION_NONE}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sdat_match_query q = query("Elowen", "Quillbrook", NULL, "S40 2QT");
        q.age = cases[i].age;
        struct sdat_match_outcome o;
        sdat_match_decide(&p, &q, &r, 1, &o);
        cr_assert_eq(o.decision, cases[i].want, "age %d: %s", cases[i].age, o.reason);
    }
    /* One slip in the family name (Jaro–Winkler >= 0.92) still names her;
     * another family name does not. */
    struct sdat_match_query q = query("Elowen", "Quilbrook", NULL, "S40 2QT");
    q.age = 10;
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_FAMILY_NAME), "similar");
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    q = query("Elowen", "Thistlewood", NULL, "S40 2QT");
    q.age = 10;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_NONE, "%s", o.reason);
}

Test(match, a_sibling_named_only_by_a_nickname_of_the_exact_name_does_not_hold_the_match)
{
    struct sdat_match_params p = params();
    /* Mia is a nickname of Amelia (config/nicknames.txt): the police "Mia"
     * is Mia's own name and only a nickname of her older sister's. */
    struct sdat_register_row rows[] = {
        row("S1", "mia", "quillbrook", "2024-04-18", "DE22 3XY"),
        row("S2", "amelia", "quillbrook", "2016-10-13", "DE22 3XY"),
    };
    struct sdat_match_query q = query("Mia", "Quillbrook", "2024-04-18", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_str_eq(level(&o.candidates[1], SDAT_FIELD_GIVEN_NAME), "nickname");
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "S1");
    /* Written "Mia" with Amelia's date of birth: the nickname names Amelia
     * no better than Mia's name names Mia, so a person decides. */
    q = query("Mia", "Quillbrook", "2016-10-13", "DE22 3XY");
    rows[0].given = "amelia";
    rows[0].other_given = "mia";
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
}

Test(match, a_cousin_told_apart_by_family_name_and_date_of_birth_does_not_hold_the_match)
{
    struct sdat_match_params p = params();
    struct sdat_register_row rows[] = {
        row("C1", "jack", "harrop", "2018-09-13", "DE22 3XY"),
        row("C2", "jack", "thistlewood", "2015-02-01", "DE22 3XY"),
    };
    rows[0].uprn = "990000000001";
    rows[1].uprn = "990000000001";
    struct sdat_match_query q = query("Jack", "Harrop", "2018-09-13", "DE22 3XY");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "C1");
    /* The date of birth one day out no longer tells them apart twice. */
    q = query("Jack", "Harrop", "2018-09-14", "DE22 3XY");
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.reason, SDAT_MATCH_SIBLING_GUARD);
    /* Nor does the family name written as the cousin's. */
    q = query("Jack", "Thistlewood", "2018-09-13", "DE22 3XY");
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_neq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
}

Test(match, namesakes_in_one_postcode_without_uprns_are_shown_to_a_person)
{
    struct sdat_match_params p = params();
    /* Half-sisters under one roof, no UPRN in the register: the officer
     * wrote the older one's family name with the younger one's birthday,
     * one day out. */
    struct sdat_register_row rows[] = {
        row("H1", "amelia", "walkden", "2014-06-02", "DE15 2DF"),
        row("H2", "amelia", "simpson", "2019-01-28", "DE15 2DF"),
    };
    struct sdat_match_query q = query("Amelia", "Walkden", "2019-01-29", "DE15 2DF");
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert(has_sibling_candidate(&o, "H2"));
    /* In different postcodes they are not one household. */
    rows[1].postcode = "DE15 2DG";
    sdat_match_decide(&p, &q, rows, 2, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    cr_assert_str_eq(o.child_id, "H1");
}

Test(match, without_an_address_to_compare_a_match_needs_the_unplaced_threshold)
{
    struct sdat_match_params p = params();
    p.match_threshold = 18;
    p.unplaced_threshold = 24;
    struct sdat_register_row r = row("U1", "elowen", "quillbrook", "2016-04-12", "DE22 3XY");
    struct sdat_match_query q = query("Elowen", "Quillbrook", "2016-04-12", NULL);
    struct sdat_match_outcome o;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_str_eq(level(&o.candidates[0], SDAT_FIELD_POSTCODE), "missing");
    double s = o.candidates[0].score;
    /* Just below the unplaced threshold: a review with its reason; at it,
     * a match; a recorded postcode that agrees needs only match_threshold. */
    p.unplaced_threshold = s + 0.01;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_REVIEW, "%s", o.reason);
    cr_assert_str_eq(o.reason, SDAT_MATCH_UNPLACED);
    p.unplaced_threshold = s;
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
    p.unplaced_threshold = 100;
    q = query("Elowen", "Quillbrook", "2016-04-12", "DE22 3XY");
    sdat_match_decide(&p, &q, &r, 1, &o);
    cr_assert_eq(o.decision, SDAT_DECISION_MATCH, "%s", o.reason);
}
