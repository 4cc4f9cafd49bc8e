/* Time zones read from the system's IANA database (TZif files, RFC 8536)
 * by the daemon itself, so that local dates and times of any zone can be
 * computed in any thread without touching the process's TZ. A zone is
 * parsed once and kept for the life of the process. */
#ifndef SDAT_TZ_H
#define SDAT_TZ_H

#include <stdint.h>

typedef struct sdat_tz sdat_tz_t;

/* The zone NAME (IANA, e.g. "Europe/London") from $TZDIR or
 * /usr/share/zoneinfo, parsed once and cached for the life of the process
 * (thread-safe: a mutex around the cache; the first load of a name wins,
 * whatever $TZDIR says later). 0 and *ret (borrowed, never freed), -ENOENT
 * when no such zone, -EINVAL when the file is not valid TZif (or holds
 * leap-second records, as the "right/" zones do) or the name is unsafe
 * (absolute, contains "..", empty); another negative errno when the file
 * cannot be read. */
int sdat_tz_get(const char *name, const sdat_tz_t **ret);
/* UTC offset in seconds at the instant unix_s. */
int32_t sdat_tz_offset(const sdat_tz_t *tz, int64_t unix_s);
/* Local civil date (days since 1970-01-01) and seconds after local midnight
 * of an instant. */
void sdat_tz_to_local(const sdat_tz_t *tz, int64_t unix_s, int32_t *ret_days, int32_t *ret_sec);
/* The instant of a local civil time: a time inside a spring-forward gap is
 * taken as the end of the gap (the transition instant); a time that occurs
 * twice (autumn) at its first occurrence. */
int64_t sdat_tz_from_local(const sdat_tz_t *tz, int32_t days, int32_t sec_of_day);

#endif
