#include "timeutil.h"

#include <stdio.h>
#include <time.h>

#include "civil.h"
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
