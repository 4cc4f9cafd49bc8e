#include <criterion/criterion.h>
#include <stdlib.h>
#include <time.h>

#include "util/util.h"

Test(timeutil, civil_days_round_trip)
{
    for (int32_t d = -800000; d < 800000; d += 37) {
        int y, m, dd;
        sdat_civil_from_days(d, &y, &m, &dd);
        cr_assert_eq(sdat_days_from_civil(y, m, dd), d);
    }
    cr_assert_eq(sdat_days_from_civil(1970, 1, 1), 0);
    cr_assert_eq(sdat_days_from_civil(2026, 11, 24), 20781);
}

Test(timeutil, leap_day_birthday_is_reached_on_first_of_march_in_common_years)
{
    int32_t dob = sdat_days_from_civil(2008, 2, 29);
    cr_assert_eq(sdat_age_on(dob, sdat_days_from_civil(2026, 2, 28)), 17);
    cr_assert_eq(sdat_age_on(dob, sdat_days_from_civil(2026, 3, 1)), 18);
    cr_assert_eq(sdat_age_on(dob, sdat_days_from_civil(2028, 2, 29)), 20);
}

Test(timeutil, local_date_uses_the_zone_not_the_process_tz)
{
    int32_t days;
    setenv("TZ", "America/New_York", 1);
    /* 2026-06-30T23:30:00Z is already 1 July in London (BST). */
    int64_t ms = (int64_t)sdat_days_from_civil(2026, 6, 30) * 86400000 + (23 * 60 + 30) * 60000LL;
    cr_assert_eq(sdat_time_local_date(ms, "Europe/London", &days), 0);
    cr_assert_eq(days, sdat_days_from_civil(2026, 7, 1));
    cr_assert_str_eq(getenv("TZ"), "America/New_York");
    /* In winter London is on UTC. */
    ms = (int64_t)sdat_days_from_civil(2026, 12, 30) * 86400000 + (23 * 60 + 30) * 60000LL;
    cr_assert_eq(sdat_time_local_date(ms, "Europe/London", &days), 0);
    cr_assert_eq(days, sdat_days_from_civil(2026, 12, 30));
    /* The same answer when the process already runs in the zone (sdatd
     * sets TZ and calls tzset at start). */
    setenv("TZ", "Europe/London", 1);
    tzset();
    ms = (int64_t)sdat_days_from_civil(2026, 6, 30) * 86400000 + (23 * 60 + 30) * 60000LL;
    cr_assert_eq(sdat_time_local_date(ms, "Europe/London", &days), 0);
    cr_assert_eq(days, sdat_days_from_civil(2026, 7, 1));
}

Test(timeutil, formats_utc_with_milliseconds)
{
    char buf[32];
    sdat_time_format_ms(1795419000123LL, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-23T07:30:00.123Z");
    sdat_time_format_s(1795419000123LL, buf, sizeof buf);
    cr_assert_str_eq(buf, "2026-11-23T07:30:00Z");
}
