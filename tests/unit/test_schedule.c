/* The school schedule (flows.md §3), table-driven: each row a calendar, a
 * basis (reported_at) and the expected release, as RFC 3339 text. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>

#include "decide/decide.h"
#include "util/util.h"

#define MON 1u
#define TUE 2u
#define WED 4u
#define THU 8u
#define FRI 16u
#define SAT 32u
#define SUN 64u
#define EVERY_DAY (MON | TUE | WED | THU | FRI | SAT | SUN)
#define HHMM(h, m) ((h)*60 + (m))

static int32_t day(const char *s)
{
    int32_t days;
    cr_assert_eq(sdat_date_parse(s, &days), 0, "%s", s);
    return days;
}

static int64_t ms(const char *s)
{
    int64_t v;
    cr_assert_eq(sdat_datetime_parse(s, &v), 0, "%s", s);
    return v;
}

static struct sdat_date_range demo_terms[5];
static int32_t demo_closures[1];
static struct sdat_date_range sunday_terms[1];
static struct sdat_date_range day60_terms[1], day61_terms[1];
static int32_t closed_days[3];

/* Like config/demo.conf's calendar, with a term over March 2026 and
 * without the terms after Easter 2027. */
static struct sdat_calendar demo = {
    .id = "demo",
    .timezone = "Europe/London",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = MON | TUE | WED | THU | FRI,
    .terms = demo_terms,
    .n_terms = 5,
    .closures = demo_closures,
    .n_closures = 1,
};
/* Release at 01:30, open every day: meets both clock changes. */
static struct sdat_calendar night = {
    .id = "night",
    .timezone = "Europe/London",
    .release_time = HHMM(1, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = EVERY_DAY,
    .terms = sunday_terms,
    .n_terms = 1,
};
/* Open 01:30 to 01:59 every day: both times repeat in the autumn. */
static struct sdat_calendar night_close = {
    .id = "night-close",
    .timezone = "Europe/London",
    .release_time = HHMM(1, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(1, 59),
    .weekdays = EVERY_DAY,
    .terms = sunday_terms,
    .n_terms = 1,
};
static struct sdat_calendar tue_thu = {
    .id = "tue-thu",
    .timezone = "Europe/London",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = TUE | THU,
    .terms = demo_terms,
    .n_terms = 5,
};
/* One school day, 60 or 61 days after 2027-03-26. */
static struct sdat_calendar day60 = {
    .id = "day60",
    .timezone = "Europe/London",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = EVERY_DAY,
    .terms = day60_terms,
    .n_terms = 1,
};
static struct sdat_calendar day61 = {
    .id = "day61",
    .timezone = "Europe/London",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = EVERY_DAY,
    .terms = day61_terms,
    .n_terms = 1,
};
static struct sdat_calendar tokyo = {
    .id = "tokyo",
    .timezone = "Asia/Tokyo",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = MON | TUE | WED | THU | FRI,
    .terms = demo_terms,
    .n_terms = 5,
};

/* One unbroken term from September to July: no half term. */
static struct sdat_calendar unbroken = {
    .id = "unbroken",
    .timezone = "Europe/London",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = MON | TUE | WED | THU | FRI,
    .terms = sunday_terms,
    .n_terms = 1,
};

/* demo's terms with closures on a Wednesday in summer time (16 September
 * 2026) and on a Monday and Tuesday in winter (23 and 24 November 2026). */
static struct sdat_calendar closed = {
    .id = "closed",
    .timezone = "Europe/London",
    .release_time = HHMM(7, 30),
    .start_time = HHMM(8, 45),
    .close_time = HHMM(16, 0),
    .weekdays = MON | TUE | WED | THU | FRI,
    .terms = demo_terms,
    .n_terms = 5,
    .closures = closed_days,
    .n_closures = 3,
};

static void setup(void)
{
    static const char *const terms[][2] = {
        {"2026-02-23", "2026-04-02"}, {"2026-09-02", "2026-10-23"}, {"2026-11-02", "2026-12-18"},
        {"2027-01-05", "2027-02-12"}, {"2027-02-22", "2027-03-26"},
    };
    for (size_t i = 0; i < 5; i++) {
        demo_terms[i] = (struct sdat_date_range){day(terms[i][0]), day(terms[i][1])};
    }
    demo_closures[0] = day("2026-11-27");
    closed_days[0] = day("2026-09-16");
    closed_days[1] = day("2026-11-23");
    closed_days[2] = day("2026-11-24");
    sunday_terms[0] = (struct sdat_date_range){day("2026-09-01"), day("2027-07-22")};
    day60_terms[0] = (struct sdat_date_range){day("2027-05-25"), day("2027-05-25")};
    day61_terms[0] = (struct sdat_date_range){day("2027-05-26"), day("2027-05-26")};
}

TestSuite(schedule, .init = setup);

struct row {
    const char *what;
    const struct sdat_calendar *cal;
    const char *basis;
    const char *want; /* NULL: exhausted (the answer is the basis) */
};

static const struct row rows[] = {
    {"02:00 on a school day: that day's release", &demo, "2026-11-24T02:00:00Z",
     "2026-11-24T07:30:00Z"},
    {"just before the release", &demo, "2026-11-24T07:29:59.999Z", "2026-11-24T07:30:00Z"},
    {"the release time exactly: at once", &demo, "2026-11-24T07:30:00Z", "2026-11-24T07:30:00Z"},
    {"10:00 on a school day: at once", &demo, "2026-11-24T10:00:00Z", "2026-11-24T10:00:00Z"},
    {"just before close: at once", &demo, "2026-11-24T15:59:59Z", "2026-11-24T15:59:59Z"},
    {"close time exactly: the next school day", &demo, "2026-11-24T16:00:00Z",
     "2026-11-25T07:30:00Z"},
    {"Friday 17:00: Monday", &demo, "2026-12-04T17:00:00Z", "2026-12-07T07:30:00Z"},
    {"Saturday 10:00: Monday", &demo, "2026-12-05T10:00:00Z", "2026-12-07T07:30:00Z"},
    {"before half term, across the October clock change: the next term's first day", &demo,
     "2026-10-23T18:00:00+01:00", "2026-11-02T07:30:00Z"},
    {"Friday 23 October 2026 evening, across the 25 October change: Monday 07:30 GMT",
     &unbroken, "2026-10-23T18:00:00+01:00", "2026-10-26T07:30:00Z"},
    {"Saturday 28 March 2026: Monday 07:30 BST", &demo, "2026-03-28T19:00:00Z",
     "2026-03-30T06:30:00Z"},
    {"a closure is skipped", &demo, "2026-11-26T17:00:00Z", "2026-11-30T07:30:00Z"},
    /* The report time on the closure day itself (Friday 27 November 2026),
     * at each boundary: never that day (issue 26's surviving mutant). */
    {"on a closure day at 02:00: the next school day", &demo, "2026-11-27T02:00:00Z",
     "2026-11-30T07:30:00Z"},
    {"on a closure day just before release", &demo, "2026-11-27T07:29:59.999Z",
     "2026-11-30T07:30:00Z"},
    {"on a closure day at release", &demo, "2026-11-27T07:30:00Z", "2026-11-30T07:30:00Z"},
    {"on a closure day within school hours", &demo, "2026-11-27T07:30:01Z",
     "2026-11-30T07:30:00Z"},
    {"on a closure day just before close", &demo, "2026-11-27T15:59:59Z", "2026-11-30T07:30:00Z"},
    {"on a closure day at close", &demo, "2026-11-27T16:00:00Z", "2026-11-30T07:30:00Z"},
    {"before the release in summer time", &demo, "2026-09-02T05:00:00Z", "2026-09-02T06:30:00Z"},
    {"15:59:59 BST: at once", &demo, "2026-10-23T14:59:59Z", "2026-10-23T14:59:59Z"},
    {"16:30 BST is after close although 15:30 UTC", &demo, "2026-10-23T15:30:00Z",
     "2026-11-02T07:30:00Z"},
    {"a basis with a negative offset, within the school day", &demo, "2026-11-24T09:00:00-05:00",
     "2026-11-24T14:00:00Z"},
    {"a basis with a positive offset on the previous local evening", &demo,
     "2026-11-24T01:00:00+05:00", "2026-11-24T07:30:00Z"},
    {"the last school day before 60 empty days, 02:00: answered that day", &demo,
     "2027-03-26T02:00:00Z", "2027-03-26T07:30:00Z"},
    {"the last school day, 10:00: at once", &demo, "2027-03-26T10:00:00Z", "2027-03-26T10:00:00Z"},
    {"after the last school day: exhausted", &demo, "2027-03-26T17:00:00Z", NULL},
    {"long after the last term: exhausted", &demo, "2027-09-01T10:00:00+01:00", NULL},
    {"a school day 60 dates later is found", &day60, "2027-03-26T17:00:00Z",
     "2027-05-25T06:30:00Z"},
    {"61 dates later is too far", &day61, "2027-03-26T17:00:00Z", NULL},
    {"a release time in the spring gap: the end of the gap", &night, "2027-03-27T20:00:00Z",
     "2027-03-28T01:00:00Z"},
    {"on the gap's day before the release: the end of the gap", &night, "2027-03-28T00:30:00Z",
     "2027-03-28T01:00:00Z"},
    {"a release time that occurs twice: the first occurrence", &night, "2026-10-24T20:00:00Z",
     "2026-10-25T00:30:00Z"},
    {"a basis in the repeated hour after the first release: at once", &night,
     "2026-10-25T01:10:00Z", "2026-10-25T01:10:00Z"},
    /* close_time in the repeated hour: its first occurrence (00:59 UTC on
     * 25 October 2026) ends the school day; the second 01:00-01:59 (GMT)
     * is after close although the wall clock reads earlier (found by the
     * schedule oracle). */
    {"a close time that occurs twice: before its first occurrence, at once", &night_close,
     "2026-10-25T00:58:00Z", "2026-10-25T00:58:00Z"},
    {"a close time that occurs twice: at its first occurrence, the next day", &night_close,
     "2026-10-25T00:59:00Z", "2026-10-26T01:30:00Z"},
    {"the repeated hour, wall clock before release and close: after close", &night_close,
     "2026-10-25T01:29:00Z", "2026-10-26T01:30:00Z"},
    {"the repeated hour, wall clock between release and close: after close", &night_close,
     "2026-10-25T01:58:00Z", "2026-10-26T01:30:00Z"},
    {"weekday mask: Tuesday evening to Thursday", &tue_thu, "2026-11-24T17:00:00Z",
     "2026-11-26T07:30:00Z"},
    {"weekday mask: Thursday evening to the next Tuesday", &tue_thu, "2026-11-26T17:00:00Z",
     "2026-12-01T07:30:00Z"},
    {"weekday mask: a Monday is no school day", &tue_thu, "2026-11-23T10:00:00Z",
     "2026-11-24T07:30:00Z"},
    {"another zone: Tokyo's local date and release", &tokyo, "2026-11-23T20:00:00Z",
     "2026-11-23T22:30:00Z"},
};

Test(schedule, every_row_of_the_table)
{
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        const struct row *r = &rows[i];
        int64_t basis = ms(r->basis), got = -1;
        bool exhausted = !r->want;
        int rc = sdat_schedule_school(r->cal, basis, &got, &exhausted);
        char text[32];
        sdat_time_format_ms(got, text, sizeof text);
        cr_assert_eq(rc, 0, "%s: %d", r->what, rc);
        if (r->want) {
            cr_assert(!exhausted, "%s: exhausted", r->what);
            cr_assert_eq(got, ms(r->want), "%s: %s, want %s", r->what, text, r->want);
        } else {
            cr_assert(exhausted, "%s: %s, not exhausted", r->what, text);
            cr_assert_eq(got, basis, "%s: %s, want the basis", r->what, text);
        }
    }
}

Test(schedule, school_days_are_term_weekdays_less_closures)
{
    cr_assert(sdat_calendar_school_day(&demo, day("2026-02-23"))); /* a term's first day */
    cr_assert(sdat_calendar_school_day(&demo, day("2026-04-02"))); /* and last */
    cr_assert_not(sdat_calendar_school_day(&demo, day("2026-04-03")));
    cr_assert_not(sdat_calendar_school_day(&demo, day("2026-09-01")));
    cr_assert_not(sdat_calendar_school_day(&demo, day("2026-11-27"))); /* closure */
    cr_assert_not(sdat_calendar_school_day(&demo, day("2026-11-28"))); /* Saturday */
    cr_assert_not(sdat_calendar_school_day(&demo, day("2026-11-29"))); /* Sunday */
    cr_assert(sdat_calendar_school_day(&demo, day("2026-11-30")));
    cr_assert(sdat_calendar_school_day(&night, day("2026-11-29")));
    cr_assert_not(sdat_calendar_school_day(&tue_thu, day("2026-11-25"))); /* Wednesday */
    cr_assert(sdat_calendar_school_day(&tue_thu, day("2026-11-26")));
}

Test(schedule, an_unknown_zone_is_enoent_and_leaves_the_outputs)
{
    struct sdat_calendar broken = demo;
    broken.timezone = "Europe/Atlantis";
    int64_t at = 42;
    bool exhausted = true;
    cr_assert_eq(sdat_schedule_school(&broken, ms("2026-11-24T10:00:00Z"), &at, &exhausted),
                 -ENOENT);
    cr_assert_eq(at, 42);
    cr_assert(exhausted);
}

/* flows.md §3: a school day is "not a closure", and a basis that is not on
 * a school day is released at release_time on the next school day. So a
 * report made on a closure day itself, at any minute of it (before, at and
 * after release_time and close_time), is never released that day: the
 * answer is 07:30 local on the next school day (issue 26's surviving
 * mutant: the same-day check ignoring closures). The local minutes are
 * written with the day's UTC offset, so the expected answers come from the
 * spec and the calendar alone. */
Test(schedule, a_report_on_a_closure_day_is_released_on_the_next_school_day_at_every_boundary_minute)
{
    static const char *const minutes[] = {"00:00", "07:29", "07:30", "07:31", "08:45", "12:00",
                                          "15:59", "16:00", "16:01", "23:59"};
    static const struct {
        const char *closure, *offset, *want;
    } days[] = {
        /* Wednesday in summer time: Thursday 07:30 BST. */
        {"2026-09-16", "+01:00", "2026-09-17T06:30:00Z"},
        /* Monday, the first of two closures: Wednesday 07:30 GMT. */
        {"2026-11-23", "Z", "2026-11-25T07:30:00Z"},
        /* Tuesday, the second: Wednesday. */
        {"2026-11-24", "Z", "2026-11-25T07:30:00Z"},
        /* demo's Friday closure: Monday. */
        {"2026-11-27", "Z", "2026-11-30T07:30:00Z"},
    };
    for (size_t d = 0; d < sizeof days / sizeof days[0]; d++) {
        const struct sdat_calendar *cal = d == 3 ? &demo : &closed;
        for (size_t m = 0; m < sizeof minutes / sizeof minutes[0]; m++) {
            char basis[40], text[32];
            snprintf(basis, sizeof basis, "%sT%s:00%s", days[d].closure, minutes[m],
                     days[d].offset);
            int64_t got = -1;
            bool exhausted = true;
            cr_assert_eq(sdat_schedule_school(cal, ms(basis), &got, &exhausted), 0, "%s", basis);
            sdat_time_format_ms(got, text, sizeof text);
            cr_assert_not(exhausted, "%s: exhausted", basis);
            cr_assert_eq(got, ms(days[d].want), "closure day %s at %s: %s, want %s",
                         days[d].closure, minutes[m], text, days[d].want);
        }
        /* And the calendar agrees that the date is no school day. */
        cr_assert_not(sdat_calendar_school_day(cal, day(days[d].closure)), "%s", days[d].closure);
    }
}
