/* The school schedule (flows.md §3). Times of day are wall-clock times in
 * the calendar's zone, converted to instants with that zone's rules for the
 * date (tz.h): a release time inside a spring-forward gap is the end of the
 * gap, one that occurs twice is its first occurrence. */
#include <errno.h>

#include "schedule.h"
#include "util/util.h"

#define SECONDS_PER_MINUTE 60

/* 0 = Monday … 6 = Sunday, as the calendar's weekday bits; 1970-01-01 was
 * a Thursday. */
static unsigned weekday(int32_t days)
{
    return (unsigned)(((int64_t)days % 7 + 7 + 3) % 7);
}

bool sdat_calendar_school_day(const struct sdat_calendar *cal, int32_t days)
{
    bool in_term = false;
    if (!(cal->weekdays & (1u << weekday(days)))) {
        return false;
    }
    for (size_t i = 0; i < cal->n_terms && !in_term; i++) {
        in_term = cal->terms[i].first <= days && days <= cal->terms[i].last;
    }
    if (!in_term) {
        return false;
    }
    for (size_t i = 0; i < cal->n_closures; i++) {
        if (cal->closures[i] == days) {
            return false;
        }
    }
    return true;
}

/* Exhaustion is decided only when the next school day is needed: a basis
 * on a school day before close_time is answered that day, however few
 * school days follow it.
 *
 * "Before release_time" and "before close_time" compare instants: the basis
 * against the instants those times denote on the basis's local date (tz.h's
 * rules: the end of a gap, the first of two occurrences). Comparing the
 * wall-clock readings instead would reopen the school day in an autumn
 * repeated hour after close_time's first occurrence had passed, which
 * flows.md §3 rules out ("taken at its first occurrence"); the schedule
 * oracle (tests/integration/test_schedule_oracle.sh) found that. */
int sdat_schedule_school(const struct sdat_calendar *cal, int64_t basis_ms, int64_t *ret_at_ms,
                         bool *ret_exhausted)
{
    const sdat_tz_t *tz;
    int32_t days, sec;
    int32_t release = cal->release_time * SECONDS_PER_MINUTE;
    int32_t close = cal->close_time * SECONDS_PER_MINUTE;
    int64_t basis_s = basis_ms / 1000 - (basis_ms % 1000 < 0);

    if (sdat_tz_get(cal->timezone, &tz) < 0) {
        return -ENOENT;
    }
    sdat_tz_to_local(tz, basis_s, &days, &sec);
    if (sdat_calendar_school_day(cal, days)) {
        int64_t release_ms = sdat_tz_from_local(tz, days, release) * 1000;
        int64_t close_ms = sdat_tz_from_local(tz, days, close) * 1000;
        if (basis_ms < release_ms || basis_ms < close_ms) {
            *ret_at_ms = basis_ms < release_ms ? release_ms : basis_ms;
            *ret_exhausted = false;
            return 0;
        }
    }
    for (int32_t d = days + 1; d <= days + SDAT_SCHEDULE_HORIZON_DAYS; d++) {
        if (sdat_calendar_school_day(cal, d)) {
            *ret_at_ms = sdat_tz_from_local(tz, d, release) * 1000;
            *ret_exhausted = false;
            return 0;
        }
    }
    *ret_at_ms = basis_ms;
    *ret_exhausted = true;
    return 0;
}
