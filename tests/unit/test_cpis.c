/* CP-IS: which flags are active on a date (events.md), and attendances
 * over a real store (flows.md §2): the answer, the recorded access, the
 * cpis-access notifications and their idempotency. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

static int32_t day(const char *date)
{
    int32_t d;
    cr_assert_eq(sdat_date_parse(date, &d), 0, "%s", date);
    return d;
}

static json_t *flag(const char *type, const char *start, const char *end, const char *edd)
{
    json_t *f = json_pack("{s:s, s:s, s:s}", "flag_id", "F", "type", type, "start_date", start);
    if (end) {
        json_object_set_new(f, "end_date", json_string(end));
    }
    if (edd) {
        json_object_set_new(f, "expected_delivery_date", json_string(edd));
    }
    return f;
}

Test(cpis, a_plan_is_active_from_its_start_to_its_end_inclusive)
{
    json_t *open = flag("CPP", "2026-03-01", NULL, NULL);
    json_t *ended = flag("CPP", "2025-01-01", "2026-02-28", NULL);
    cr_assert(!sdat_cpis_flag_active(open, day("2026-02-28")), "not before its start");
    cr_assert(sdat_cpis_flag_active(open, day("2026-03-01")));
    cr_assert(sdat_cpis_flag_active(open, day("2040-01-01")), "open-ended");
    cr_assert(sdat_cpis_flag_active(ended, day("2026-02-28")), "its last day");
    cr_assert(!sdat_cpis_flag_active(ended, day("2026-03-01")), "ended");
    json_decref(open);
    json_decref(ended);
}

Test(cpis, a_looked_after_child_flag_follows_the_same_dates)
{
    json_t *lac = flag("LAC", "2026-06-01", "2026-12-31", NULL);
    cr_assert(!sdat_cpis_flag_active(lac, day("2026-05-31")));
    cr_assert(sdat_cpis_flag_active(lac, day("2026-06-01")));
    cr_assert(sdat_cpis_flag_active(lac, day("2026-12-31")));
    cr_assert(!sdat_cpis_flag_active(lac, day("2027-01-01")));
    json_decref(lac);
}

Test(cpis, an_unborn_child_plan_stops_28_days_after_the_expected_date_of_delivery)
{
    json_t *ucpp = flag("UCPP", "2026-05-01", NULL, "2026-10-10");
    cr_assert(sdat_cpis_flag_active(ucpp, day("2026-07-01")), "during the pregnancy");
    cr_assert(sdat_cpis_flag_active(ucpp, day("2026-10-10")), "on the expected date");
    cr_assert(sdat_cpis_flag_active(ucpp, day("2026-11-06")), "EDD + 27");
    cr_assert(!sdat_cpis_flag_active(ucpp, day("2026-11-07")), "EDD + 28: no longer");
    /* An end date before that ends it earlier. */
    json_t *ended = flag("UCPP", "2026-05-01", "2026-09-01", "2026-10-10");
    cr_assert(!sdat_cpis_flag_active(ended, day("2026-09-02")));
    json_decref(ucpp);
    json_decref(ended);
}

/* ---- attendances over a real store (flows.md §2) ---- */

static char dir[64];
static struct sdat_config *cfg;
static sdat_store_t *st;
static sdat_audit_t *audit;
static sdat_schemas_t *schemas;
static struct sdat_engine engine;
static int64_t offset;

/* Areas 831 and 832 with their CP-IS recipients; 833 has none; a hub
 * recipient of 831 for contact.recipient; 832's hub for the wrong-LA case. */
static const char config_text[] =
    "state_dir = \"%s\";\n"
    "instance_id = \"test\";\n"
    "kafka = { embedded = true; };\n"
    "http = { public_url = \"https://sdat.test.invalid\"; };\n"
    "lawful_basis = { da_incident = \"b1\"; da_incident_urgent = \"b2\"; unmatched_child = \"b3\";\n"
    "  review_needed = \"b4\"; cpis_access = \"CP-IS access basis\"; delivery_failed = \"b6\";\n"
    "  withdrawn = \"b7\"; };\n"
    "areas = (\n"
    "  { la_code = \"831\"; name = \"Test City\"; postcode_districts = [ \"DE22\" ];\n"
    "    mash = \"la:831:mash\"; cpis = \"la:831:cpis\"; },\n"
    "  { la_code = \"832\"; name = \"Other Shire\"; postcode_districts = [ \"DE45\" ];\n"
    "    mash = \"la:832:mash\"; cpis = \"la:832:cpis\"; },\n"
    "  { la_code = \"833\"; name = \"No CP-IS\"; postcode_districts = [ \"DE99\" ];\n"
    "    mash = \"la:833:mash\"; }\n"
    ");\n"
    "recipients = (\n"
    "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"MASH 831\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:cpis\"; kind = \"cpis\"; la_code = \"831\"; name = \"CP-IS 831\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:hub\"; kind = \"other\"; la_code = \"831\"; name = \"Hub 831\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:832:mash\"; kind = \"mash\"; la_code = \"832\"; name = \"MASH 832\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:832:cpis\"; kind = \"cpis\"; la_code = \"832\"; name = \"CP-IS 832\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:833:mash\"; kind = \"mash\"; la_code = \"833\"; name = \"MASH 833\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; }\n"
    ");\n";

static void attendance_setup(void)
{
    fixture_dir_make(dir, sizeof dir, "cpis");
    fixture_write(dir, "sdatd.conf", config_text, dir, dir, dir, dir, dir, dir, dir);
    engine = fixture_engine_open(dir, &cfg, &st, &schemas, &audit);
    offset = 0;
}

static void attendance_teardown(void)
{
    fixture_close(cfg, st, schemas, audit);
    fixture_dir_remove(dir);
}

TestSuite(attendance, .init = attendance_setup, .fini = attendance_teardown);

/* A council.cpis-flag/1 into the register. recipient: contact.recipient or
 * NULL; edd for UCPP. */
static void put_flag(const char *flag_id, const char *la_code, const char *nhs, const char *type,
                     const char *start, const char *edd, const char *recipient)
{
    json_t *fl = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "schema",
                           "council.cpis-flag/1", "flag_id", flag_id, "la_code", la_code,
                           "nhs_number", nhs, "type", type, "start_date", start, "la_name",
                           "Synthetic LA", "contact", "office_phone", "01000 000010",
                           "out_of_hours_phone", "01000 000011");
    if (edd) {
        json_object_set_new(fl, "expected_delivery_date", json_string(edd));
    }
    if (recipient) {
        json_object_set_new(json_object_get(fl, "contact"), "recipient", json_string(recipient));
    }
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, fl, NULL, &v), 0, "test flag %s invalid at %s",
                 flag_id, v.n_errors ? v.errors[0].path : "");
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_geq(sdat_store_flag_upsert(st, fl, 1), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    json_decref(fl);
}

/* health.attendance/1 at RTG; notify: 1 true, 0 false, -1 absent. */
static json_t *attendance(const char *id, const char *nhs, const char *arrived_at, int notify)
{
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s}}", "schema",
                          "health.attendance/1", "attendance_id", id, "ods_code", "RTG", "setting",
                          "emergency-department", "arrived_at", arrived_at, "patient",
                          "nhs_number", nhs, "given_name", "Ashlyn", "family_name", "Testwood",
                          "dob", "2016-04-12", "postcode", "DE22 3XY");
    if (notify >= 0) {
        json_object_set_new(a, "notify_la", json_boolean(notify));
    }
    return a;
}

static int count_dead(const struct sdat_dead_letter *dl, void *opaque)
{
    json_t *list = opaque;
    json_array_append_new(list, json_pack("{s:s, s:s}", "stage", dl->stage, "error", dl->error));
    return 0;
}

static json_t *dead_letters(void)
{
    json_t *list = json_array();
    cr_assert_eq(sdat_store_dead_letters_since(st, 0, count_dead, list), 0);
    return list;
}

/* Hands doc to the engine as a message on health.attendances; consumes
 * doc. */
static void ingest(json_t *doc, int64_t now_ms)
{
    char key[160];
    snprintf(key, sizeof key, "%s/%s", json_string_value(json_object_get(doc, "ods_code")),
             json_string_value(json_object_get(doc, "attendance_id")));
    char *text = json_dumps(doc, JSON_COMPACT);
    struct sdat_inbound m = {.topic = "health.attendances",
                             .partition = 0,
                             .offset = offset++,
                             .key = key,
                             .key_len = strlen(key),
                             .value = text,
                             .value_len = strlen(text)};
    cr_assert_eq(sdat_engine_ingest(&engine, &m, now_ms), 0);
    free(text);
    json_decref(doc);
}

/* The responses queued for health.cpis-responses: [{key, value}]. */
static int collect_response(const struct sdat_outbound *o, void *opaque)
{
    json_t *value = json_loadb(o->value, o->value_len, 0, NULL);
    cr_assert_not_null(value);
    json_array_append_new(opaque, json_pack("{s:s%, s:o}", "key", o->key, o->key_len, "value",
                                            value));
    return 0;
}

static json_t *responses(void)
{
    json_t *list = json_array();
    cr_assert_eq(sdat_store_cpis_responses_unsent(st, 0, 1000, collect_response, list), 0);
    return list;
}

static int collect_notification(const struct sdat_notification *n, void *opaque)
{
    json_t *payload = json_loads(n->payload, 0, NULL);
    cr_assert_not_null(payload);
    json_array_append_new(opaque,
                          json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:o}", "id", n->id,
                                    "kind", n->kind, "recipient", n->recipient, "state", n->state,
                                    "source", n->source_key, "version",
                                    (json_int_t)n->source_version, "scheduled_ms",
                                    (json_int_t)n->scheduled_ms, "payload", payload));
    return 0;
}

static json_t *notifications(void)
{
    json_t *list = json_array();
    cr_assert_eq(sdat_store_notifications_list(st, NULL, 1000, collect_notification, list), 0);
    return list;
}

static json_t *notification_to(json_t *list, const char *recipient)
{
    size_t i;
    json_t *n, *found = NULL;
    json_array_foreach(list, i, n)
    {
        if (strcmp(json_string_value(json_object_get(n, "recipient")), recipient) == 0) {
            cr_assert_null(found, "two notifications to %s", recipient);
            found = n;
        }
    }
    cr_assert_not_null(found, "no notification to %s", recipient);
    return found;
}

static int count_access(const char *ods_code, const char *setting, int64_t arrived_ms,
                        void *opaque)
{
    (void)ods_code;
    (void)setting;
    (void)arrived_ms;
    (*(int *)opaque)++;
    return 0;
}

static int accesses_recorded(const char *nhs)
{
    int n = 0;
    cr_assert_eq(sdat_store_accesses_recent(st, nhs, 1000, count_access, &n), 0);
    return n;
}

/* The audit records of type (NULL: all), oldest first. */
struct audit_pick {
    const char *type;
    json_t *list;
};

static int collect_audit(int64_t seq, const char *record, void *opaque)
{
    (void)seq;
    struct audit_pick *p = opaque;
    json_t *rec = json_loads(record, 0, NULL);
    cr_assert_not_null(rec);
    if (!p->type || strcmp(json_string_value(json_object_get(rec, "type")), p->type) == 0) {
        json_array_append_new(p->list, rec);
    } else {
        json_decref(rec);
    }
    return 0;
}

static json_t *audit_records(const char *type)
{
    struct audit_pick p = {type, json_array()};
    cr_assert_eq(sdat_store_audit_each(st, 0, collect_audit, &p), 0);
    return p.list;
}

static size_t audit_count(const char *type)
{
    json_t *list = audit_records(type);
    size_t n = json_array_size(list);
    json_decref(list);
    return n;
}

static const char *flag_ids_of(const json_t *response, char *buf, size_t len)
{
    size_t i;
    json_t *f;
    buf[0] = '\0';
    json_array_foreach(json_object_get(response, "flags"), i, f)
    {
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? "," : "",
                 json_string_value(json_object_get(f, "flag_id")));
    }
    return buf;
}

Test(attendance, a_plan_answers_records_the_access_and_tells_the_la_cpis_recipient_at_once)
{
    char ids[128];
    put_flag("F-1", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    int64_t now = ms("2026-11-20T22:15:00Z");
    ingest(attendance("A-1", "9990000018", "2026-11-20T22:14:00Z", -1), now);

    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 1);
    json_t *row = json_array_get(rs, 0);
    json_t *resp = json_object_get(row, "value");
    cr_assert_str_eq(json_string_value(json_object_get(row, "key")), "RTG/A-1");
    struct sdat_validation v;
    cr_assert_eq(sdat_schemas_validate(schemas, resp, "sdat.cpis-response/1", &v), 0,
                 "the response fails sdat.cpis-response/1 at %s",
                 v.n_errors ? v.errors[0].path : "");
    cr_assert_str_eq(json_string_value(json_object_get(resp, "attendance")), "RTG/A-1");
    cr_assert_str_eq(json_string_value(json_object_get(resp, "nhs_number")), "9990000018");
    cr_assert_str_eq(flag_ids_of(resp, ids, sizeof ids), "F-1");
    cr_assert_eq(json_array_size(json_object_get(resp, "accesses")), 0, "not this one");
    cr_assert_eq(accesses_recorded("9990000018"), 1);

    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 1);
    json_t *n = notification_to(ns, "la:831:cpis");
    char want[SDAT_ID_LEN + 1];
    sdat_id_notification("cpis-access", "RTG/A-1", 1, NULL, "la:831:cpis", "F-1", want);
    cr_assert_str_eq(json_string_value(json_object_get(n, "id")), want);
    cr_assert_str_eq(json_string_value(json_object_get(n, "kind")), "cpis-access");
    cr_assert_str_eq(json_string_value(json_object_get(n, "state")), "scheduled");
    cr_assert_str_eq(json_string_value(json_object_get(n, "source")), "RTG/A-1");
    cr_assert_eq(json_integer_value(json_object_get(n, "version")), 1);
    cr_assert_eq(json_integer_value(json_object_get(n, "scheduled_ms")), now, "due at once");
    json_t *p = json_object_get(n, "payload");
    cr_assert_eq(sdat_schemas_validate(schemas, p, "sdat.notification/1", &v), 0);
    json_t *expected_patient = json_pack("{s:s, s:s, s:s, s:s}", "nhs_number", "9990000018",
                                         "given_name", "Ashlyn", "family_name", "Testwood", "dob",
                                         "2016-04-12");
    cr_assert(json_equal(json_object_get(p, "patient"), expected_patient),
              "the patient as known, never the postcode");
    json_decref(expected_patient);
    json_t *expected_attendance =
        json_pack("{s:s, s:s, s:s, s:s}", "key", "RTG/A-1", "ods_code", "RTG", "setting",
                  "emergency-department", "arrived_at", "2026-11-20T22:14:00Z");
    cr_assert(json_equal(json_object_get(p, "attendance"), expected_attendance));
    json_decref(expected_attendance);
    json_t *expected_flags =
        json_pack("[{s:s, s:s, s:s}]", "flag_id", "F-1", "type", "CPP", "start_date", "2025-01-01");
    cr_assert(json_equal(json_object_get(p, "flags"), expected_flags),
              "the flag's own fields only (no contact, no LA name)");
    json_decref(expected_flags);
    cr_assert_str_eq(json_string_value(json_object_get(p, "lawful_basis")), "CP-IS access basis");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(p, "recipient"), "name")),
                     "CP-IS 831");
    cr_assert_not_null(json_object_get(p, "ack_url"));

    json_t *served = audit_records("lookup.served");
    cr_assert_eq(json_array_size(served), 1);
    json_t *rec = json_array_get(served, 0);
    cr_assert_str_eq(json_string_value(json_object_get(rec, "actor")), "RTG", "the organisation");
    cr_assert_str_eq(
        json_string_value(json_object_get(json_object_get(rec, "subject"), "attendance")),
        "RTG/A-1");
    json_t *detail = json_object_get(rec, "detail");
    cr_assert_eq(strlen(json_string_value(json_object_get(detail, "nhs_number_hmac"))), 64);
    cr_assert(json_is_false(json_object_get(detail, "silent")));
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(detail, "flag_ids"), 0)),
                     "F-1");
    json_t *all = audit_records(NULL);
    char *text = json_dumps(all, JSON_COMPACT);
    cr_assert_null(strstr(text, "9990000018"), "the audit never holds the NHS number");
    free(text);
    cr_assert_eq(audit_count("notification.created"), 1);
    json_decref(all);
    json_decref(served);
    json_decref(ns);
    json_decref(rs);
    json_t *dead = dead_letters();
    cr_assert_eq(json_array_size(dead), 0);
    json_decref(dead);
}

Test(attendance, contact_recipient_overrides_the_area_cpis_recipient)
{
    put_flag("F-HUB", "831", "9990000018", "LAC", "2025-01-01", NULL, "la:831:hub");
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", 1), ms("2026-11-20T10:00:01Z"));
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 1);
    json_t *n = notification_to(ns, "la:831:hub");
    char want[SDAT_ID_LEN + 1];
    sdat_id_notification("cpis-access", "RTG/A-1", 1, NULL, "la:831:hub", "F-HUB", want);
    cr_assert_str_eq(json_string_value(json_object_get(n, "id")), want);
    json_decref(ns);
}

Test(attendance, flags_of_two_local_authorities_tell_each_its_own_recipient)
{
    put_flag("F-A", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    put_flag("F-B", "832", "9990000018", "LAC", "2025-06-01", NULL, NULL);
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T10:00:01Z"));
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 2);
    json_t *a = notification_to(ns, "la:831:cpis");
    json_t *b = notification_to(ns, "la:832:cpis");
    json_t *fa = json_array_get(json_object_get(json_object_get(a, "payload"), "flags"), 0);
    json_t *fb = json_array_get(json_object_get(json_object_get(b, "payload"), "flags"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(fa, "flag_id")), "F-A");
    cr_assert_str_eq(json_string_value(json_object_get(fb, "flag_id")), "F-B");
    cr_assert_eq(json_array_size(json_object_get(json_object_get(a, "payload"), "flags")), 1,
                 "one LA is not told of another's flag");
    json_t *rs = responses();
    char ids[128];
    cr_assert_str_eq(flag_ids_of(json_object_get(json_array_get(rs, 0), "value"), ids, sizeof ids),
                     "F-A,F-B", "the answer carries both");
    json_decref(rs);
    json_decref(ns);
}

Test(attendance, a_silent_attendance_is_answered_and_audited_but_not_recorded_nor_notified)
{
    put_flag("F-1", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", 0), ms("2026-11-20T10:00:01Z"));
    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 1);
    char ids[128];
    cr_assert_str_eq(flag_ids_of(json_object_get(json_array_get(rs, 0), "value"), ids, sizeof ids),
                     "F-1");
    json_t *served = audit_records("lookup.served");
    cr_assert_eq(json_array_size(served), 1);
    cr_assert(json_is_true(
        json_object_get(json_object_get(json_array_get(served, 0), "detail"), "silent")));
    cr_assert_eq(accesses_recorded("9990000018"), 0);
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 0);
    cr_assert_eq(audit_count("notification.created"), 0);
    json_decref(ns);
    json_decref(served);
    json_decref(rs);
}

Test(attendance, the_same_attendance_again_is_answered_alike_and_notifies_nobody_twice)
{
    put_flag("F-1", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    ingest(attendance("A-0", "9990000018", "2026-11-19T10:00:00Z", -1), ms("2026-11-19T10:00:01Z"));
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T10:00:01Z"));
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T10:05:00Z"));
    /* A later attendance, then the first one once more. */
    ingest(attendance("A-2", "9990000018", "2026-11-21T10:00:00Z", -1), ms("2026-11-21T10:00:01Z"));
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", -1), ms("2026-11-21T11:00:00Z"));

    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 5, "answered every time");
    json_t *first = json_object_get(json_object_get(json_array_get(rs, 1), "value"), "accesses");
    cr_assert_eq(json_array_size(first), 1, "A-0 only, not A-1 itself");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(first, 0), "arrived_at")),
                     "2026-11-19T10:00:00.000Z");
    for (size_t i = 2; i < 5; i++) {
        json_t *row = json_array_get(rs, i);
        if (strcmp(json_string_value(json_object_get(row, "key")), "RTG/A-1") != 0) {
            continue;
        }
        cr_assert(json_equal(json_object_get(json_object_get(row, "value"), "accesses"), first),
                  "answer %zu differs from the first answer to RTG/A-1", i);
    }
    json_t *later = json_object_get(json_object_get(json_array_get(rs, 3), "value"), "accesses");
    cr_assert_eq(json_array_size(later), 2, "A-2 sees A-1 and A-0");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(later, 0), "arrived_at")),
                     "2026-11-20T10:00:00.000Z", "newest first");
    cr_assert_eq(accesses_recorded("9990000018"), 3, "one access per attendance");
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 3, "one notification per attendance and flag");
    cr_assert_eq(audit_count("notification.created"), 3);
    json_t *served = audit_records("lookup.served");
    cr_assert_eq(json_array_size(served), 5, "every answer is audited");
    json_decref(served);
    json_decref(ns);
    json_decref(rs);
}

Test(attendance, the_answer_shows_the_25_latest_earlier_accesses_newest_first)
{
    char id[16], at[40];
    for (int i = 0; i < 30; i++) {
        snprintf(id, sizeof id, "E-%02d", i);
        /* Distinct instants, increasing with i: day 1 + i, hour i. */
        snprintf(at, sizeof at, "2026-10-%02dT%02d:00:00Z", 1 + i, i % 24);
        ingest(attendance(id, "9990000018", at, 1), ms(at) + 1000);
    }
    ingest(attendance("NOW", "9990000018", "2026-11-20T10:00:00Z", 1), ms("2026-11-20T10:00:01Z"));
    json_t *rs = responses();
    json_t *last = json_object_get(json_array_get(rs, json_array_size(rs) - 1), "value");
    cr_assert_str_eq(json_string_value(json_object_get(last, "attendance")), "RTG/NOW");
    json_t *acc = json_object_get(last, "accesses");
    cr_assert_eq(json_array_size(acc), 25);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(acc, 0), "arrived_at")),
                     "2026-10-30T05:00:00.000Z", "the newest (E-29) first");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(acc, 24), "arrived_at")),
                     "2026-10-06T05:00:00.000Z", "E-05 last; E-00 to E-04 fall outside");
    int64_t prev = INT64_MAX;
    size_t i;
    json_t *a;
    json_array_foreach(acc, i, a)
    {
        int64_t t = ms(json_string_value(json_object_get(a, "arrived_at")));
        cr_assert_lt(t, prev, "newest first at %zu", i);
        prev = t;
        cr_assert_str_eq(json_string_value(json_object_get(a, "ods_code")), "RTG");
        cr_assert_str_eq(json_string_value(json_object_get(a, "setting")), "emergency-department");
    }
    cr_assert_eq(accesses_recorded("9990000018"), 31);
    json_decref(rs);
}

Test(attendance, an_unborn_child_plan_on_the_mothers_number_ends_28_days_after_the_due_date)
{
    /* EDD 1 September 2026: active through 28 September (EDD + 27). */
    put_flag("F-U", "831", "9990000026", "UCPP", "2026-03-01", "2026-09-01", NULL);
    char ids[128];
    ingest(attendance("M-1", "9990000026", "2026-09-28T22:30:00Z", 1),
           ms("2026-09-28T22:31:00Z"));
    /* 23:30 UTC on the 28th is 00:30 on the 29th in London (BST). */
    ingest(attendance("M-2", "9990000026", "2026-09-28T23:30:00Z", 1),
           ms("2026-09-28T23:31:00Z"));
    ingest(attendance("M-3", "9990000026", "2026-08-15T12:00:00+01:00", 1),
           ms("2026-09-28T23:32:00Z"));
    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 3);
    cr_assert_str_eq(flag_ids_of(json_object_get(json_array_get(rs, 0), "value"), ids, sizeof ids),
                     "F-U", "EDD + 27 (local date)");
    cr_assert_str_eq(flag_ids_of(json_object_get(json_array_get(rs, 1), "value"), ids, sizeof ids),
                     "", "EDD + 28 on the local date of arrived_at");
    cr_assert_str_eq(flag_ids_of(json_object_get(json_array_get(rs, 2), "value"), ids, sizeof ids),
                     "F-U", "before the due date, by arrival (not processing) date");
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 2, "only the attendances with the plan active notify");
    json_t *n = json_array_get(ns, 0);
    json_t *fl = json_array_get(json_object_get(json_object_get(n, "payload"), "flags"), 0);
    cr_assert_str_eq(json_string_value(json_object_get(fl, "expected_delivery_date")),
                     "2026-09-01");
    json_decref(ns);
    json_decref(rs);
}

Test(attendance, no_flags_still_answers_with_an_empty_list_on_the_topic)
{
    ingest(attendance("A-1", "9990000034", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T10:00:01Z"));
    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 1);
    json_t *resp = json_object_get(json_array_get(rs, 0), "value");
    cr_assert(json_is_array(json_object_get(resp, "flags")));
    cr_assert_eq(json_array_size(json_object_get(resp, "flags")), 0);
    cr_assert_str_eq(json_string_value(json_object_get(resp, "attendance")), "RTG/A-1");
    cr_assert_eq(accesses_recorded("9990000034"), 1, "the access is still recorded");
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 0);
    json_decref(ns);
    json_decref(rs);
}

Test(attendance, an_invalid_nhs_number_on_the_topic_is_dead_lettered_and_not_answered)
{
    ingest(attendance("A-1", "9990000017", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T10:00:01Z"));
    json_t *dead = dead_letters();
    cr_assert_eq(json_array_size(dead), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(dead, 0), "stage")), "schema");
    const char *error = json_string_value(json_object_get(json_array_get(dead, 0), "error"));
    cr_assert_not_null(strstr(error, "/patient/nhs_number"), "%s", error);
    cr_assert_null(strstr(error, "9990000017"), "never the value");
    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 0);
    json_decref(rs);
    json_decref(dead);
}

Test(attendance, a_flag_that_cannot_be_routed_is_dead_lettered_while_the_rest_goes_out)
{
    put_flag("F-OK", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    put_flag("F-NOAREA", "834", "9990000018", "LAC", "2025-01-01", NULL, NULL);
    put_flag("F-NOCPIS", "833", "9990000018", "LAC", "2025-01-01", NULL, NULL);
    put_flag("F-WRONG", "831", "9990000018", "LAC", "2025-01-01", NULL, "la:832:cpis");
    put_flag("F-UNKNOWN", "832", "9990000018", "LAC", "2025-01-01", NULL, "la:832:nobody");
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T10:00:01Z"));
    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 1, "the answer goes at once");
    cr_assert_eq(json_array_size(json_object_get(json_object_get(json_array_get(rs, 0), "value"),
                                                 "flags")),
                 5);
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 1, "never misdirect: only F-OK is notified");
    notification_to(ns, "la:831:cpis");
    cr_assert_eq(accesses_recorded("9990000018"), 1);
    json_t *dead = dead_letters();
    cr_assert_eq(json_array_size(dead), 1);
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(dead, 0), "stage")),
                     "routing");
    cr_assert_not_null(strstr(json_string_value(json_object_get(json_array_get(dead, 0), "error")),
                              "F-NOAREA"));
    json_decref(dead);
    json_decref(ns);

    /* The same attendance again (a replay once the directory is fixed):
     * answered again, nothing repeated. */
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", -1), ms("2026-11-20T11:00:00Z"));
    ns = notifications();
    cr_assert_eq(json_array_size(ns), 1);
    cr_assert_eq(accesses_recorded("9990000018"), 1);
    json_decref(ns);
    json_decref(rs);
}

Test(attendance, over_http_the_answer_is_returned_and_not_queued_for_the_topic)
{
    put_flag("F-1", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    json_t *doc = attendance("H-1", "9990000018", "2026-11-20T10:00:00Z", -1);
    json_t *resp = NULL;
    char err[256];
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_engine_attendance(&engine, doc, "t-lookup", false, ms("2026-11-20T10:00:01Z"),
                                        &resp, err, sizeof err),
                 0, "%s", err);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert_not_null(resp);
    cr_assert_str_eq(json_string_value(json_object_get(resp, "attendance")), "RTG/H-1");
    char ids[128];
    cr_assert_str_eq(flag_ids_of(resp, ids, sizeof ids), "F-1");
    json_t *rs = responses();
    cr_assert_eq(json_array_size(rs), 0);
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), 1, "the LA is told as for the topic");
    json_t *served = audit_records("lookup.served");
    cr_assert_str_eq(json_string_value(json_object_get(json_array_get(served, 0), "actor")),
                     "t-lookup", "the asking token");
    /* The same key from the topic afterwards: answered, nobody told twice. */
    ingest(doc, ms("2026-11-20T10:00:02Z"));
    json_decref(ns);
    ns = notifications();
    cr_assert_eq(json_array_size(ns), 1);
    cr_assert_eq(accesses_recorded("9990000018"), 1);
    json_decref(rs);
    rs = responses();
    cr_assert_eq(json_array_size(rs), 1);
    json_decref(rs);
    json_decref(ns);
    json_decref(served);
    json_decref(resp);
}

/* ---- silent lookups: read anywhere, audited on the writer ---- */

Test(attendance, a_silent_lookup_reads_the_committed_store_and_is_audited_once_without_the_number)
{
    char err[256], ids[128], key_mac[65], at[40];
    put_flag("F-A", "831", "9990000018", "CPP", "2025-01-01", NULL, NULL);
    ingest(attendance("A-1", "9990000018", "2026-11-20T10:00:00Z", 1), ms("2026-11-20T10:00:01Z"));
    json_t *before = notifications();
    size_t notified = json_array_size(before);
    json_decref(before);
    sdat_store_t *ro = NULL;
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_READONLY, &ro, err, sizeof err), 0, "%s", err);

    /* A second flag written by the writer but not committed: the
     * read-only store does not see it, the writer's own transaction does. */
    json_t *fl = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "schema",
                           "council.cpis-flag/1", "flag_id", "F-B", "la_code", "831", "nhs_number",
                           "9990000018", "type", "LAC", "start_date", "2025-01-01", "la_name",
                           "Synthetic LA", "contact", "office_phone", "01000 000010",
                           "out_of_hours_phone", "01000 000011");
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_geq(sdat_store_flag_upsert(st, fl, 1), 0);
    json_decref(fl);
    sdat_cpis_lookup_t *mine = NULL, *l = NULL;
    cr_assert_eq(sdat_cpis_lookup_read(st, "9990000018", day("2026-11-21"), &mine), 0);
    cr_assert_eq(sdat_cpis_lookup_flag_count(mine), 2, "the writer sees its own transaction");
    sdat_cpis_lookup_free(mine);
    cr_assert_eq(sdat_cpis_lookup_read(ro, "9990000018", day("2026-11-21"), &l), 0);
    sdat_store_rollback(st);
    cr_assert_eq(sdat_cpis_lookup_flag_count(l), 1, "only what was committed");

    int64_t now = ms("2026-11-21T09:30:00Z");
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_engine_cpis_lookup_audit(&engine, l, "ed-rtg", now), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    json_t *response = sdat_cpis_lookup_response(l, now);
    cr_assert_not_null(response);
    cr_assert_str_eq(json_string_value(json_object_get(response, "schema")),
                     "sdat.cpis-response/1");
    cr_assert_null(json_object_get(response, "attendance"), "a silent lookup has none");
    cr_assert_str_eq(json_string_value(json_object_get(response, "nhs_number")), "9990000018");
    cr_assert_str_eq(flag_ids_of(response, ids, sizeof ids), "F-A");
    cr_assert_eq(json_array_size(json_object_get(response, "accesses")), 1, "the attendance's");
    sdat_time_format_ms(now, at, sizeof at);
    cr_assert_str_eq(json_string_value(json_object_get(response, "looked_up_at")), at);

    /* One lookup.served besides the attendance's, as interfaces.md says. */
    json_t *served = audit_records("lookup.served");
    cr_assert_eq(json_array_size(served), 2);
    json_t *rec = json_array_get(served, 1);
    char *text = json_dumps(rec, JSON_COMPACT);
    cr_assert_null(strstr(text, "9990000018"), "never the number: %s", text);
    free(text);
    json_t *detail = json_object_get(rec, "detail");
    cr_assert_str_eq(json_string_value(json_object_get(rec, "actor")), "ed-rtg");
    cr_assert_str_eq(json_string_value(json_object_get(json_object_get(rec, "subject"), "asker")),
                     "ed-rtg");
    cr_assert_eq(json_object_size(json_object_get(rec, "subject")), 1);
    cr_assert_eq(json_object_size(detail), 4, "nhs_number_hmac, flag_ids, on, silent");
    cr_assert_str_eq(json_string_value(json_object_get(detail, "on")), "2026-11-21");
    cr_assert(json_is_true(json_object_get(detail, "silent")));
    cr_assert_eq(json_array_size(json_object_get(detail, "flag_ids")), 1);
    cr_assert_str_eq(json_string_value(json_array_get(json_object_get(detail, "flag_ids"), 0)),
                     "F-A");
    char *key = NULL;
    cr_assert_eq(sdat_store_meta_get(st, "lookup_hmac_key", &key), 0);
    cr_assert_eq(sdat_hmac_sha256_hex(key, strlen(key), "9990000018", 10, key_mac), 0);
    free(key);
    cr_assert_str_eq(json_string_value(json_object_get(detail, "nhs_number_hmac")), key_mac,
                     "the same key as the attendance's record");
    cr_assert_str_eq(json_string_value(json_object_get(
                         json_object_get(json_array_get(served, 0), "detail"), "nhs_number_hmac")),
                     key_mac);
    cr_assert_eq(accesses_recorded("9990000018"), 1, "a lookup records no access");
    json_t *ns = notifications();
    cr_assert_eq(json_array_size(ns), notified, "and notifies nobody");
    json_decref(ns);
    json_decref(served);
    json_decref(response);
    sdat_cpis_lookup_free(l);
    sdat_store_close(ro);
}
