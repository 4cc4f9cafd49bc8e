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
    cr_assert_str_eq(first_error(&v), "/children/0: has a property that is not allowed");
    for (size_t i = 0; i < v.n_errors; i++) {
        cr_assert_null(strstr(v.errors[i].message, "Secret"));
        cr_assert_null(strstr(v.errors[i].message, "nickname"));
    }
    json_decref(doc);
}

/* quality.md S8: a property name is input too. One named after a child,
 * with a newline that would forge a log line, never reaches an issue. */
static void assert_nothing_echoed(const struct sdat_validation *v, const char *const *needles)
{
    for (size_t i = 0; i < v->n_errors + v->n_warnings; i++) {
        const struct sdat_issue *is = i < v->n_errors ? &v->errors[i] : &v->warnings[i - v->n_errors];
        for (const char *const *n = needles; *n; n++) {
            cr_assert_null(strstr(is->path, *n), "%s in path %s", *n, is->path);
            cr_assert_null(strstr(is->message, *n), "%s in message %s", *n, is->message);
        }
        cr_assert_null(strpbrk(is->path, "\n\r"), "%s", is->path);
        cr_assert_null(strpbrk(is->message, "\n\r"), "%s", is->message);
    }
}

Test(schemas, a_property_name_is_never_echoed)
{
    static const char *const needles[] = {"Quillbrook", "2015-03-04", "9434765919", "delivered",
                                          NULL};
    static const char name[] =
        "Ada Quillbrook 2015-03-04 9434765919\n2026-01-01T00:00:00Z info delivered";
    json_t *doc = incident();
    json_t *child = json_array_get(json_object_get(doc, "children"), 0);
    json_object_set_new(child, name, json_string("Ada Quillbrook"));
    json_object_set_new(doc, name, json_object());
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_eq(v.n_errors, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_str_eq(v.errors[i].message, "has a property that is not allowed");
    }
    cr_assert(strcmp(v.errors[0].path, "/children/0") == 0 ||
              strcmp(v.errors[1].path, "/children/0") == 0);
    cr_assert(v.errors[0].path[0] == '\0' || v.errors[1].path[0] == '\0');
    assert_nothing_echoed(&v, needles);
    json_decref(doc);

    /* Values are not echoed either: a pattern, a format, an enum, a type. */
    doc = incident();
    child = json_array_get(json_object_get(doc, "children"), 0);
    json_object_set_new(child, "dob", json_string("Quillbrook\n2015-03-04"));
    json_object_set_new(child, "nhs_number", json_string("9434765919 Quillbrook"));
    json_object_set_new(doc, "risk", json_string("Quillbrook delivered"));
    json_object_set_new(doc, "incident_id", json_string("9434765919\ndelivered"));
    json_object_set_new(json_object_get(doc, "location"), "postcode", json_string("Quillbrook"));
    json_object_set_new(doc, "version", json_string("2015-03-04"));
    cr_assert_eq(sdat_schemas_validate(schemas, doc, NULL, &v), 1);
    cr_assert_geq(v.n_errors, 4, "%s", first_error(&v));
    assert_nothing_echoed(&v, needles);
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
