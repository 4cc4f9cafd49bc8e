#include "timeutil.h"

#include <stdio.h>
#include <time.h>

#include "tz.h"

int64_t sdat_time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t sdat_time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void split(int64_t unix_ms, struct tm *tm, int *ms)
{
    time_t s = (time_t)(unix_ms / 1000);
    int rem = (int)(unix_ms % 1000);
    if (rem < 0) {
        rem += 1000;
        s -= 1;
    }
    gmtime_r(&s, tm);
    *ms = rem;
}

void sdat_time_format_ms(int64_t unix_ms, char *buf, size_t len)
{
    struct tm tm;
    int ms;
    split(unix_ms, &tm, &ms);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

void sdat_time_format_s(int64_t unix_ms, char *buf, size_t len)
{
    struct tm tm;
    int ms;
    split(unix_ms, &tm, &ms);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Howard Hinnant's days_from_civil / civil_from_days. */
int32_t sdat_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void sdat_civil_from_days(int32_t days, int *ret_y, int *ret_m, int *ret_d)
{
    int z = days + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = (int)yoe + era * 400 + (m <= 2);
    *ret_m = (int)m;
    *ret_d = (int)d;
}

int sdat_age_on(int32_t dob_days, int32_t on_days)
{
    int by, bm, bd, y, m, d;
    sdat_civil_from_days(dob_days, &by, &bm, &bd);
    sdat_civil_from_days(on_days, &y, &m, &d);
    int age = y - by;
    /* Comparing (month, day) pairs makes 29 February count as reached only
     * once 1 March comes in a common year. */
    if (m < bm || (m == bm && d < bd)) {
        age--;
    }
    return age;
}

int sdat_time_local_date(int64_t unix_ms, const char *zone, int32_t *ret_days)
{
    const sdat_tz_t *tz;
    int32_t days, sec;
    int r = sdat_tz_get(zone, &tz);
    if (r < 0) {
        return r;
    }
    /* Floor division: an instant before 1970 belongs to its earlier second. */
    int64_t s = unix_ms / 1000 - (unix_ms % 1000 < 0);
    sdat_tz_to_local(tz, s, &days, &sec);
    *ret_days = days;
    return 0;
}
