/* CP-IS: which flags are active on a date (events.md). */
#include <criterion/criterion.h>

#include "cpis.h"
#include "formats.h"

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
