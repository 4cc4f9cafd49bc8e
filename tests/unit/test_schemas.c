/* The project's schemas (schemas/), on synthetic events. */
#include <criterion/criterion.h>
#include <string.h>

#include "decide/decide.h"

static sdat_schemas_t *schemas;

static void setup(void)
{
    char err[256];
    cr_assert_eq(sdat_schemas_new(&schemas, err, sizeof err), 0, "%s", err);
}

static void teardown(void)
{
    sdat_schemas_free(schemas);
}

TestSuite(schemas, .init = setup, .fini = teardown);

static json_t *incident(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:s, s:{s:s, s:s}, s:s, s:[{s:s, s:s, s:s, s:s, s:b, s:b}],"
        " s:{s:s, s:s}}",
        "schema", "police.da-incident/1", "force", "derbyshire", "incident_id", "DC-1", "version",
        1, "occurred_at", "2026-11-20T22:14:00Z", "reported_at", "2026-11-20T23:00:00+00:00",
        "location", "address", "1 Synthetic Road", "postcode", "de22 3xy", "risk", "medium",
        "children", "given_name", "Alex", "family_name", "Testchild", "dob", "2016-04-12",
        "nhs_number", "9434765919", "present", 1, "resident", 1, "officer", "id", "PC1", "name",
        "PC Test");
}

static const char *first_error(const struct sdat_validation *v)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "%s: %s", v->n_errors ? v->errors[0].path : "",
             v->n_errors ? v->errors[0].message : "");
    return buf;
}

Test(schemas, realistic_incident_is_valid)
{
    json_t *doc = incident();
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 0, "%s", first_error(&v));
    cr_assert_eq(v.n_warnings, 0);
    json_decref(doc);
}

Test(schemas, missing_required_field_is_named_at_its_object)
{
    json_t *doc = incident();
    json_object_del(doc, "risk");
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_str_eq(first_error(&v), ": required property \"risk\" is missing");
    json_decref(doc);
}

Test(schemas, extra_property_is_rejected_without_its_value)
{
    json_t *doc = incident();
    json_object_set_new(json_array_get(json_object_get(doc, "children"), 0), "nickname",
                        json_string("Secret Name"));
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_str_eq(first_error(&v), "/children/0: property \"nickname\" is not allowed");
    for (size_t i = 0; i < v.n_errors; i++) {
        cr_assert_null(strstr(v.errors[i].message, "Secret"));
    }
    json_decref(doc);
}

Test(schemas, bad_enum_and_too_many_children_are_rejected)
{
    json_t *doc = incident();
    json_object_set_new(doc, "risk", json_string("extreme"));
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_str_eq(first_error(&v), "/risk: must be one of: standard, medium, high");
    json_object_set_new(doc, "risk", json_string("high"));
    json_t *children = json_object_get(doc, "children");
    for (int i = 0; i < 20; i++) {
        json_array_append(children, json_array_get(children, 0));
    }
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_str_eq(first_error(&v), "/children: must have at most 20 items");
    json_decref(doc);
}

Test(schemas, lenient_police_identifiers_are_warnings)
{
    json_t *doc = incident();
    json_t *child = json_array_get(json_object_get(doc, "children"), 0);
    json_object_set_new(child, "nhs_number", json_string("9434765918"));
    json_object_set_new(child, "dob", json_string("2016-02-30"));
    json_object_set_new(child, "upn", json_string("B207000016049"));
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 0, "%s", first_error(&v));
    cr_assert_eq(v.n_warnings, 3);
    cr_assert_str_eq(v.warnings[0].path, "/children/0/dob");
    /* A wrong JSON type is still an error. */
    json_object_set_new(child, "nhs_number", json_integer(9434765919));
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    json_decref(doc);
}

Test(schemas, council_identifiers_are_strict)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1",
                            "child_id", "C1", "la_code", "831", "given_name", "Alex",
                            "family_name", "Testchild", "dob", "2016-04-12", "nhs_number",
                            "9434765918");
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert(strstr(first_error(&v), "/nhs_number: is not a valid NHS number") != NULL, "%s",
              first_error(&v));
    json_decref(doc);
}

Test(schemas, ucpp_flag_needs_an_expected_delivery_date)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "schema",
                            "council.cpis-flag/1", "flag_id", "F1", "la_code", "831",
                            "nhs_number", "9434765919", "type", "UCPP", "start_date",
                            "2026-01-01", "la_name", "Demo", "contact", "office_phone", "1",
                            "out_of_hours_phone", "2");
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    json_object_set_new(doc, "expected_delivery_date", json_string("2026-06-01"));
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 0, "%s", first_error(&v));
    json_object_set_new(doc, "type", json_string("CPP"));
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    json_decref(doc);
}

Test(schemas, a_topic_carries_one_schema)
{
    json_t *doc = incident();
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, "health.attendance/1", &v), 1);
    cr_assert_str_eq(v.errors[0].path, "/schema");
    json_object_set_new(doc, "schema", json_string("police.da-incident/9"));
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_str_eq(first_error(&v), "/schema: names an unknown schema");
    json_t *array = json_array();
    cr_assert_eq(sdat_schemas_validate(schemas, array, NULL, &v), 1);
    cr_assert_str_eq(first_error(&v), ": must be an object");
    json_decref(array);
    json_decref(doc);
}

static json_t *school_notification(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:s, s:s, s:{s:s, s:s, s:s}, s:{s:s, s:s, s:s, s:b, "
        "s:b}, s:{s:s}}",
        "schema", "sdat.notification/1", "notification_id", "n_0123456789abcdef0123456789abcdef",
        "kind", "da-incident", "recipient", "id", "school:100001", "name", "School",
        "created_at", "2026-11-23T07:30:00.123Z", "scheduled_for", "2026-11-23T07:30:00Z",
        "lawful_basis", "Test basis", "child", "given_name", "Alex", "family_name", "Testchild",
        "dob", "2016-04-12", "incident", "force", "derbyshire", "reference", "DC-1",
        "occurred_at", "2026-11-20T22:14:00Z", "present", 1, "resident", 1, "officer", "name",
        "PC Test");
}

Test(schemas, school_notification_is_valid_and_an_extra_field_is_not)
{
    json_t *doc = school_notification();
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 0, "%s", first_error(&v));
    /* The risk level never goes to a school. */
    json_object_set_new(json_object_get(doc, "incident"), "risk", json_string("high"));
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    json_decref(doc);
}

Test(schemas, deep_nesting_is_an_error_not_a_crash)
{
    json_t *doc = incident();
    json_t *deep = json_object();
    json_t *cur = deep;
    for (int i = 0; i < 200; i++) {
        json_t *next = json_object();
        json_object_set_new(cur, "x", next);
        cur = next;
    }
    json_object_set_new(doc, "location", deep);
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    json_decref(doc);
}
