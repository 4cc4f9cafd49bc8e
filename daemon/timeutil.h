/* Wall-clock time in milliseconds and its RFC 3339 UTC text form. */
#ifndef SDAT_TIMEUTIL_H
#define SDAT_TIMEUTIL_H

#include <stddef.h>
#include <stdint.h>

int64_t sdat_time_now_ms(void);
/* Monotonic milliseconds, for timeouts. */
int64_t sdat_time_mono_ms(void);
/* "2026-11-23T07:30:00.123Z" */
void sdat_time_format_ms(int64_t unix_ms, char *buf, size_t len);
/* "2026-11-23T07:30:00Z" (whole seconds, truncated) */
void sdat_time_format_s(int64_t unix_ms, char *buf, size_t len);



/* The local date (days since 1970-01-01) of an instant in time zone ZONE
 * (an IANA name), whatever the process's own TZ (tz.h reads the zone).
 * 0, or sdat_tz_get's -ENOENT / -EINVAL. */
int sdat_time_local_date(int64_t unix_ms, const char *zone, int32_t *ret_days);
/* Days since 1970-01-01 from a civil date, and back. */
int32_t sdat_days_from_civil(int y, int m, int d);
void sdat_civil_from_days(int32_t days, int *ret_y, int *ret_m, int *ret_d);
/* Whole years from date of birth to date; a 29 February birthday is reached
 * on 1 March in common years. */
int sdat_age_on(int32_t dob_days, int32_t on_days);
#endif
