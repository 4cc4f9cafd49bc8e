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
#endif
