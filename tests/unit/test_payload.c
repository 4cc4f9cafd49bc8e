/* Payload builders (delivery.md): minimisation by construction. */
#include <criterion/criterion.h>
#include <string.h>

#include "outbox/outbox.h"
#include "decide/decide.h"

static json_t *incident(void)
{
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}, s:s, s:b, s:s, s:{s:s, s:s, s:s}, s:[{s:s, s:s, "
        "s:s, s:s, s:b, s:b, s:b, s:s, s:s}]}",
        "schema", "police.da-incident/1", "force", "derbyshire", "incident_id", "DC-1",
        "occurred_at", "2026-11-20T22:14:00Z", "reported_at", "2026-11-20T23:00:00Z", "location",
        "address", "1 Synthetic Road", "postcode", "DE22 3XY", "risk", "high", "urgent", 1,
        "circumstances", "Synthetic circumstances", "officer", "id", "PC1", "name", "PC Test",
        "phone", "01000 000000", "children", "ref", "c1", "given_name", "Ashlee", "family_name",
        "Testwood", "dob", "2016-04-12", "present", 1, "resident", 1, "spoken_to", 0, "voice",
        "Synthetic voice", "school_hint", "Somewhere");
}

static const struct sdat_recipient school = {
    .id = "school:1", .kind = SDAT_KIND_SCHOOL, .name = "School One", .urn = "100001"};
static const struct sdat_recipient minimal_school = {
    .id = "school:2", .kind = SDAT_KIND_SCHOOL, .name = "School Two", .minimal = true};

static struct sdat_payload_common common_for(const struct sdat_recipient *r)
{
    return (struct sdat_payload_common){.notification_id = "n_0123456789abcdef0123456789abcdef",
                                        .kind = "da-incident",
                                        .recipient = r,
                                        .created_ms = 1795419000123LL,
                                        .scheduled_ms = 1795419000123LL,
                                        .lawful_basis = "Test basis",
                                        .public_url = "https://sdat.example.org/"};
}

Test(payload, school_gets_register_names_and_no_address_risk_or_hint)
{
    json_t *inc = incident();
    json_t *reg = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "child_id", "R1", "given_name",
                            "Ashlyn", "family_name", "Testwood", "dob", "2016-04-12", "upn",
                            "P207000016049", "nhs_number", "9434765919");
    struct sdat_payload_common c = common_for(&school);
    json_t *p = sdat_payload_school_incident(&c, inc, json_array_get(json_object_get(inc, "children"), 0), reg);
    cr_assert_not_null(p);
    json_t *child = json_object_get(p, "child");
    cr_assert_str_eq(json_string_value(json_object_get(child, "given_name")), "Ashlyn");
    cr_assert_null(json_object_get(child, "nhs_number"));
    cr_assert_eq(json_object_size(child), 4);
    cr_assert_null(json_object_get(p, "location"));
    cr_assert_null(json_object_get(json_object_get(p, "incident"), "risk"));
    cr_assert_null(json_object_get(json_object_get(p, "incident"), "school_hint"));
    cr_assert_null(json_object_get(json_object_get(p, "officer"), "id"));
    cr_assert_str_eq(json_string_value(json_object_get(p, "ack_url")),
                     "https://sdat.example.org/v1/notifications/n_0123456789abcdef0123456789abcdef/ack");
    cr_assert_str_eq(json_string_value(json_object_get(p, "created_at")), "2026-11-23T07:30:00.123Z");
    json_decref(p);
    json_decref(reg);
    json_decref(inc);
}

Test(payload, minimal_school_gets_only_names_dob_date_presence_reference_and_officer)
{
    json_t *inc = incident();
    json_t *reg = json_pack("{s:s, s:s, s:s, s:s, s:s}", "child_id", "R1", "given_name", "Ashlyn",
                            "family_name", "Testwood", "dob", "2016-04-12", "upn", "P207000016049");
    struct sdat_payload_common c = common_for(&minimal_school);
    c.public_url = NULL;
    json_t *p = sdat_payload_school_incident(&c, inc, json_array_get(json_object_get(inc, "children"), 0), reg);
    cr_assert_eq(json_object_size(json_object_get(p, "child")), 3);
    json_t *i = json_object_get(p, "incident");
    cr_assert_eq(json_object_size(i), 4);
    cr_assert_not_null(json_object_get(i, "present"));
    cr_assert_null(json_object_get(i, "voice"));
    cr_assert_null(json_object_get(p, "ack_url"));
    json_decref(p);
    json_decref(reg);
    json_decref(inc);
}

Test(payload, mash_copy_carries_the_police_child_and_ignored_fields)
{
    json_t *inc = incident();
    struct sdat_recipient mash = {.id = "la:831:mash", .kind = SDAT_KIND_MASH, .name = "MASH"};
    struct sdat_payload_common c = common_for(&mash);
    c.kind = "unmatched-child";
    json_t *ignored = json_pack("[s]", "/children/0/nhs_number");
    json_t *p = sdat_payload_unmatched(&c, inc, json_array_get(json_object_get(inc, "children"), 0),
                                       NULL, ignored);
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "child"), "school_hint")),
                     "Somewhere");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "incident"), "risk")), "high");
    cr_assert_eq(json_array_size(json_object_get(p, "ignored_fields")), 1);
    cr_assert_eq(json_array_size(json_object_get(p, "candidates")), 0);
    json_decref(p);
    json_decref(ignored);
    json_decref(inc);
}

Test(outbox, retry_delay_is_between_half_and_all_of_the_capped_exponential)
{
    cr_assert_eq(sdat_outbox_backoff_ms(5, 900, 1, 0.0), 2500);
    cr_assert_eq(sdat_outbox_backoff_ms(5, 900, 1, 0.999999), 4999);
    cr_assert_eq(sdat_outbox_backoff_ms(5, 900, 3, 0.0), 10000);
    cr_assert_eq(sdat_outbox_backoff_ms(5, 900, 20, 0.0), 450000); /* capped at retry_max */
}
