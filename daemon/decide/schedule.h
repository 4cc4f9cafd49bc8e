/* The school schedule (flows.md §3): when a school notification is
 * released, from the school's calendar and the incident's reported_at.
 * Pure: no clock, no I/O beyond the time zone database (tz.h). */
#ifndef SDAT_SCHEDULE_H
#define SDAT_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include "config/config.h"

/* How many local dates after the basis's date are searched for the next
 * school day before the calendar counts as exhausted. */
#define SDAT_SCHEDULE_HORIZON_DAYS 60

/* A school day: inside a term, on a listed weekday, not a closure. */
bool sdat_calendar_school_day(const struct sdat_calendar *cal, int32_t days);
/* flows.md §3 for basis instant basis_ms (the incident's reported_at),
 * without regard to the current time: 0 and *ret_at_ms; *ret_exhausted true
 * (and *ret_at_ms = basis_ms) when the next school day is needed and none of
 * the 60 local dates after basis's local date is one. -ENOENT when the
 * calendar's zone cannot be loaded. */
int sdat_schedule_school(const struct sdat_calendar *cal, int64_t basis_ms, int64_t *ret_at_ms,
                         bool *ret_exhausted);

#endif
