/* The TZif reader: offsets across transitions, past the data (footer rules)
 * and before it, local times in gaps and overlaps, names that are not
 * zones, hand-written files, and every hour of 2026–2027 against glibc.
 * Criterion runs each test in its own process, so each starts with an empty
 * zone cache; a test that sets TZDIR still uses zone names of its own. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fixture.h"

static char dir[64];

static void setup(void)
{
    fixture_dir_make(dir, sizeof dir, "tz");
}

static void teardown(void)
{
    fixture_dir_remove(dir);
}

TestSuite(tz, .init = setup, .fini = teardown);

/* Unix seconds of an RFC 3339 date-time. */
static int64_t at(const char *s)
{
    int64_t ms;
    cr_assert_eq(sdat_datetime_parse(s, &ms), 0, "%s", s);
    return ms / 1000;
}

static const sdat_tz_t *zone(const char *name)
{
    const sdat_tz_t *tz = NULL;
    int r = sdat_tz_get(name, &tz);
    cr_assert_eq(r, 0, "sdat_tz_get(\"%s\") = %d", name, r);
    cr_assert_not_null(tz);
    return tz;
}

/* The instant of a local date and time of day. */
static int64_t from_local(const sdat_tz_t *tz, int y, int m, int d, int h, int mi)
{
    return sdat_tz_from_local(tz, sdat_days_from_civil(y, m, d), h * 3600 + mi * 60);
}

static void put32(FILE *f, uint32_t v)
{
    fputc((int)(v >> 24 & 0xff), f);
    fputc((int)(v >> 16 & 0xff), f);
    fputc((int)(v >> 8 & 0xff), f);
    fputc((int)(v & 0xff), f);
}

static void put64(FILE *f, uint64_t v)
{
    put32(f, (uint32_t)(v >> 32));
    put32(f, (uint32_t)v);
}

struct tzif_spec {
    char version; /* 0 or '2'.. */
    size_t n_transitions;
    const int64_t *transitions;
    const uint8_t *transition_types;
    size_t n_types;
    const int32_t *utoffs;
    const uint8_t *isdst;
    const char *footer; /* version 2+; NULL: none written (broken file) */
};

static void put_header(FILE *f, char version, uint32_t timecnt, uint32_t typecnt)
{
    fwrite("TZif", 1, 4, f);
    fputc(version, f);
    for (int i = 0; i < 15; i++) {
        fputc(0, f);
    }
    put32(f, 0);       /* isutcnt */
    put32(f, 0);       /* isstdcnt */
    put32(f, 0);       /* leapcnt */
    put32(f, timecnt); /* timecnt */
    put32(f, typecnt); /* typecnt */
    put32(f, 4);       /* charcnt: "ZZZ\0" */
}

static void put_block(FILE *f, const struct tzif_spec *s, unsigned time_size)
{
    for (size_t i = 0; i < s->n_transitions; i++) {
        if (time_size == 8) {
            put64(f, (uint64_t)s->transitions[i]);
        } else {
            put32(f, (uint32_t)(int32_t)s->transitions[i]);
        }
    }
    for (size_t i = 0; i < s->n_transitions; i++) {
        fputc(s->transition_types[i], f);
    }
    for (size_t i = 0; i < s->n_types; i++) {
        put32(f, (uint32_t)s->utoffs[i]);
        fputc(s->isdst[i], f);
        fputc(0, f);
    }
    fwrite("ZZZ", 1, 4, f);
}

/* Writes DIR/NAME (NAME may hold one '/') as RFC 8536 lays it out; a
 * version 2+ file gets a minimal version 1 block, as zic -b slim writes. */
static void write_tzif(const char *name, const struct tzif_spec *s)
{
    char path[256];
    const char *slash = strchr(name, '/');
    if (slash) {
        snprintf(path, sizeof path, "%s/%.*s", dir, (int)(slash - name), name);
        mkdir(path, 0755);
    }
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    if (s->version == 0) {
        put_header(f, 0, (uint32_t)s->n_transitions, (uint32_t)s->n_types);
        put_block(f, s, 4);
    } else {
        static const int32_t utc[] = {0};
        static const uint8_t no[] = {0};
        struct tzif_spec v1 = {.n_types = 1, .utoffs = utc, .isdst = no};
        put_header(f, s->version, 0, 1);
        put_block(f, &v1, 4);
        put_header(f, s->version, (uint32_t)s->n_transitions, (uint32_t)s->n_types);
        put_block(f, s, 8);
        if (s->footer) {
            fprintf(f, "\n%s\n", s->footer);
        }
    }
    cr_assert_eq(fclose(f), 0);
}

/* A version 2 file with one standard type and only a footer. */
static void write_footer_only(const char *name, const char *footer)
{
    static const int32_t utoffs[] = {0};
    static const uint8_t isdst[] = {0};
    struct tzif_spec s = {
        .version = '2', .n_types = 1, .utoffs = utoffs, .isdst = isdst, .footer = footer};
    write_tzif(name, &s);
}

static void use_test_dir(void)
{
    cr_assert_eq(setenv("TZDIR", dir, 1), 0);
}

/* glibc's offset at instant S with TZ set to TZ_VALUE (tests only). */
static long glibc_offset(int64_t s)
{
    struct tm tm;
    time_t t = (time_t)s;
    cr_assert_not_null(localtime_r(&t, &tm));
    return tm.tm_gmtoff;
}

/* Every hour from 2026-01-01 to 2028-01-01 (and the second before each
 * transition's hour): our offset equals glibc's for the same TZ, and a
 * local time converts back to its instant unless it is the second
 * occurrence of a repeated time. */
static void cross_check(const sdat_tz_t *tz, const char *tz_value)
{
    cr_assert_eq(setenv("TZ", tz_value, 1), 0);
    tzset();
    int64_t first = at("2026-01-01T00:00:00Z"), end = at("2028-01-01T00:00:00Z");
    int changes = 0;
    for (int64_t s = first; s < end; s += 3600) {
        for (int64_t u = s - 1; u <= s; u++) {
            long want = glibc_offset(u);
            int32_t got = sdat_tz_offset(tz, u);
            cr_assert_eq(got, want, "%s at %lld: %d, glibc %ld", tz_value, (long long)u, got, want);
            int32_t days, sec;
            sdat_tz_to_local(tz, u, &days, &sec);
            cr_assert_eq((int64_t)days * 86400 + sec, u + want);
            int64_t back = sdat_tz_from_local(tz, days, sec);
            if (back != u) {
                /* Only the later of two instants that show the same time. */
                cr_assert_lt(back, u, "%s at %lld", tz_value, (long long)u);
                cr_assert_eq(back + sdat_tz_offset(tz, back), u + want);
            }
        }
        if (sdat_tz_offset(tz, s) != sdat_tz_offset(tz, s - 3600)) {
            changes++;
        }
    }
    cr_assert_geq(changes, 4, "%s: %d changes of offset in two years", tz_value, changes);
}

Test(tz, london_changes_at_one_utc_in_2026_and_2027)
{
    const sdat_tz_t *tz = zone("Europe/London");
    static const struct {
        const char *before, *at;
        int32_t off_before, off_at;
    } rows[] = {
        {"2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z", 0, 3600},
        {"2026-10-25T00:59:59Z", "2026-10-25T01:00:00Z", 3600, 0},
        {"2027-03-28T00:59:59Z", "2027-03-28T01:00:00Z", 0, 3600},
        {"2027-10-31T00:59:59Z", "2027-10-31T01:00:00Z", 3600, 0},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        cr_assert_eq(sdat_tz_offset(tz, at(rows[i].before)), rows[i].off_before, "%s",
                     rows[i].before);
        cr_assert_eq(sdat_tz_offset(tz, at(rows[i].at)), rows[i].off_at, "%s", rows[i].at);
    }
    cr_assert_eq(sdat_tz_offset(tz, at("2026-07-01T12:00:00Z")), 3600);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-12-01T12:00:00Z")), 0);
}

Test(tz, far_future_follows_the_footer_rules)
{
    const sdat_tz_t *tz = zone("Europe/London");
    /* Last Sundays of 2090: 26 March and 29 October. */
    cr_assert_eq(sdat_tz_offset(tz, at("2090-03-26T00:59:59Z")), 0);
    cr_assert_eq(sdat_tz_offset(tz, at("2090-03-26T01:00:00Z")), 3600);
    cr_assert_eq(sdat_tz_offset(tz, at("2090-10-29T00:59:59Z")), 3600);
    cr_assert_eq(sdat_tz_offset(tz, at("2090-10-29T01:00:00Z")), 0);
    const sdat_tz_t *sydney = zone("Australia/Sydney");
    cr_assert_eq(sdat_tz_offset(sydney, at("2090-01-15T00:00:00Z")), 39600);
    cr_assert_eq(sdat_tz_offset(sydney, at("2090-07-15T00:00:00Z")), 36000);
    /* Instants far beyond any data are clamped, not overflowed. */
    cr_assert_eq(sdat_tz_offset(tz, INT64_MAX), sdat_tz_offset(tz, (int64_t)1 << 46));
    cr_assert_eq(sdat_tz_offset(tz, INT64_MIN), -75);
}

Test(tz, before_the_first_transition_is_local_mean_time)
{
    const sdat_tz_t *tz = zone("Europe/London");
    /* London kept local mean time (-0:01:15) until 1 December 1847. */
    cr_assert_eq(sdat_tz_offset(tz, at("1800-06-01T12:00:00Z")), -75);
    cr_assert_eq(sdat_tz_offset(tz, at("1890-06-01T12:00:00Z")), 0);
    cr_assert_eq(setenv("TZ", "Europe/London", 1), 0);
    tzset();
    cr_assert_eq(sdat_tz_offset(tz, at("1800-06-01T12:00:00Z")),
                 glibc_offset(at("1800-06-01T12:00:00Z")));
    int32_t days, sec;
    sdat_tz_to_local(tz, at("1800-06-01T00:00:00Z"), &days, &sec);
    cr_assert_eq(days, sdat_days_from_civil(1800, 5, 31));
    cr_assert_eq(sec, 86400 - 75);
}

Test(tz, a_time_in_the_spring_gap_is_the_end_of_the_gap)
{
    const sdat_tz_t *tz = zone("Europe/London");
    cr_assert_eq(from_local(tz, 2027, 3, 28, 1, 30), at("2027-03-28T01:00:00Z"));
    cr_assert_eq(from_local(tz, 2027, 3, 28, 1, 0), at("2027-03-28T01:00:00Z"));
    cr_assert_eq(from_local(tz, 2027, 3, 28, 0, 59), at("2027-03-28T00:59:00Z"));
    cr_assert_eq(from_local(tz, 2027, 3, 28, 2, 0), at("2027-03-28T01:00:00Z"));
    cr_assert_eq(from_local(tz, 2027, 3, 28, 2, 1), at("2027-03-28T01:01:00Z"));
    const sdat_tz_t *ny = zone("America/New_York");
    cr_assert_eq(from_local(ny, 2026, 3, 8, 2, 30), at("2026-03-08T07:00:00Z"));
}

Test(tz, a_time_that_occurs_twice_is_its_first_occurrence)
{
    const sdat_tz_t *tz = zone("Europe/London");
    cr_assert_eq(from_local(tz, 2026, 10, 25, 1, 30), at("2026-10-25T00:30:00Z"));
    cr_assert_eq(from_local(tz, 2026, 10, 25, 0, 59), at("2026-10-24T23:59:00Z"));
    cr_assert_eq(from_local(tz, 2026, 10, 25, 2, 0), at("2026-10-25T02:00:00Z"));
    const sdat_tz_t *sydney = zone("Australia/Sydney");
    cr_assert_eq(from_local(sydney, 2026, 4, 5, 2, 30), at("2026-04-04T15:30:00Z"));
}

Test(tz, sydney_has_summer_time_across_the_new_year)
{
    const sdat_tz_t *tz = zone("Australia/Sydney");
    cr_assert_eq(sdat_tz_offset(tz, at("2026-04-04T15:59:59Z")), 39600);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-04-04T16:00:00Z")), 36000);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-10-03T15:59:59Z")), 36000);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-10-03T16:00:00Z")), 39600);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-12-31T23:00:00Z")), 39600);
    /* Spring gap: 02:30 on 4 October 2026 does not occur. */
    cr_assert_eq(from_local(tz, 2026, 10, 4, 2, 30), at("2026-10-03T16:00:00Z"));
}

Test(tz, zones_without_daylight_saving)
{
    const sdat_tz_t *tokyo = zone("Asia/Tokyo");
    cr_assert_eq(sdat_tz_offset(tokyo, at("2026-07-01T00:00:00Z")), 32400);
    cr_assert_eq(sdat_tz_offset(tokyo, at("2090-01-01T00:00:00Z")), 32400);
    cr_assert_eq(from_local(tokyo, 2026, 3, 29, 1, 30), at("2026-03-28T16:30:00Z"));
    /* Half-hour offset; footer "IST-5:30". */
    const sdat_tz_t *kolkata = zone("Asia/Kolkata");
    cr_assert_eq(sdat_tz_offset(kolkata, at("2026-07-01T00:00:00Z")), 19800);
    cr_assert_eq(sdat_tz_offset(kolkata, at("2090-07-01T00:00:00Z")), 19800);
    /* Quoted names; footer "<-03>3"; summer time until 2019. */
    const sdat_tz_t *sao_paulo = zone("America/Sao_Paulo");
    cr_assert_eq(sdat_tz_offset(sao_paulo, at("2026-01-15T12:00:00Z")), -10800);
    cr_assert_eq(sdat_tz_offset(sao_paulo, at("2090-01-15T12:00:00Z")), -10800);
    cr_assert_eq(sdat_tz_offset(sao_paulo, at("2018-12-01T12:00:00Z")), -7200);
    int32_t days, sec;
    sdat_tz_to_local(sao_paulo, at("2026-01-15T01:00:00Z"), &days, &sec);
    cr_assert_eq(days, sdat_days_from_civil(2026, 1, 14));
    cr_assert_eq(sec, 22 * 3600);
}

Test(tz, names_that_are_not_zones)
{
    const sdat_tz_t *tz = NULL;
    cr_assert_eq(sdat_tz_get("Europe/Nowhere", &tz), -ENOENT);
    cr_assert_eq(sdat_tz_get("Europe", &tz), -ENOENT); /* a directory */
    cr_assert_eq(sdat_tz_get("../etc/passwd", &tz), -EINVAL);
    cr_assert_eq(sdat_tz_get("Europe/../../etc/passwd", &tz), -EINVAL);
    cr_assert_eq(sdat_tz_get("/etc/passwd", &tz), -EINVAL);
    cr_assert_eq(sdat_tz_get("", &tz), -EINVAL);
    cr_assert_null(tz);
    /* A file that is not TZif, and one cut short. */
    char path[128];
    snprintf(path, sizeof path, "%s/NotTzif", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("root:x:0:0:root:/root:/bin/sh\n", f);
    fclose(f);
    write_footer_only("Cut/Short", NULL);
    use_test_dir();
    cr_assert_eq(sdat_tz_get("NotTzif", &tz), -EINVAL);
    cr_assert_eq(sdat_tz_get("Cut/Short", &tz), -EINVAL);
    cr_assert_null(tz);
}

Test(tz, a_bad_footer_is_not_valid_tzif)
{
    static const char *const footers[] = {
        "GM0",            /* name too short */
        "GMT",            /* no offset */
        "GMT0BST,M3.5.0", /* one rule */
        "GMT0BST,M13.5.0/1,M10.5.0",
        "GMT0BST,M3.6.0/1,M10.5.0",
        "GMT0BST,J0,J300",
        "GMT0BST,M3.5.0/168,M10.5.0",
        "<+03-3", /* unterminated quote */
        "GMT25",  /* offset over 24 hours */
        "GMT0 ",  /* trailing text */
    };
    const sdat_tz_t *tz = NULL;
    for (size_t i = 0; i < sizeof footers / sizeof footers[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "Bad/Footer%zu", i);
        write_footer_only(name, footers[i]);
    }
    use_test_dir();
    for (size_t i = 0; i < sizeof footers / sizeof footers[0]; i++) {
        char name[32];
        snprintf(name, sizeof name, "Bad/Footer%zu", i);
        cr_assert_eq(sdat_tz_get(name, &tz), -EINVAL, "\"%s\"", footers[i]);
    }
}

Test(tz, a_footer_only_file_follows_its_rules_at_every_instant)
{
    /* Greenland's rules since 2023: quoted names, negative rule times
     * (23:00 on the Saturday before the last Sunday of March). */
    write_footer_only("Test/FooterOnly", "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
    use_test_dir();
    const sdat_tz_t *tz = zone("Test/FooterOnly");
    cr_assert_eq(sdat_tz_offset(tz, at("2026-03-29T00:59:59Z")), -7200);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-03-29T01:00:00Z")), -3600);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-10-25T00:59:59Z")), -3600);
    cr_assert_eq(sdat_tz_offset(tz, at("2026-10-25T01:00:00Z")), -7200);
    cr_assert_eq(sdat_tz_offset(tz, at("1900-07-01T00:00:00Z")), -3600);
    cross_check(tz, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
}

Test(tz, julian_and_zero_based_rule_days_and_late_times)
{
    /* Jn never counts 29 February; n does; times may pass 24 hours. */
    write_footer_only("Test/Julian", "XST3XDT,J60/2,300/26");
    write_footer_only("Test/AllYear", "EST5EDT,0/0,J365/25");
    write_footer_only("Test/Fixed", "<+0330>-3:30");
    write_footer_only("Test/Empty", "");
    use_test_dir();
    const sdat_tz_t *tz = zone("Test/Julian");
    /* 2028 is a leap year: J60 is 1 March, day 300 is 27 October. */
    cr_assert_eq(sdat_tz_offset(tz, at("2028-03-01T04:59:59Z")), -10800);
    cr_assert_eq(sdat_tz_offset(tz, at("2028-03-01T05:00:00Z")), -7200);
    cr_assert_eq(sdat_tz_offset(tz, at("2028-10-28T03:59:59Z")), -7200);
    cr_assert_eq(sdat_tz_offset(tz, at("2028-10-28T04:00:00Z")), -10800);
    cross_check(tz, "XST3XDT,J60/2,300/26");
    /* RFC 8536 §3.3.1: daylight saving time all year. */
    const sdat_tz_t *all_year = zone("Test/AllYear");
    for (int64_t s = at("2026-01-01T00:00:00Z"); s < at("2028-01-01T00:00:00Z"); s += 1800) {
        cr_assert_eq(sdat_tz_offset(all_year, s), -4 * 3600, "%lld", (long long)s);
    }
    cr_assert_eq(sdat_tz_offset(zone("Test/Fixed"), at("2026-06-01T00:00:00Z")), 12600);
    /* An empty footer: the last (here the only) type stays. */
    cr_assert_eq(sdat_tz_offset(zone("Test/Empty"), at("2026-06-01T00:00:00Z")), 0);
}

Test(tz, version_1_and_version_2_data_without_a_footer_rule)
{
    static const int64_t transitions[] = {1000000000, 1100000000};
    static const uint8_t types[] = {1, 2};
    static const int32_t utoffs[] = {600, 7200, -3600};
    static const uint8_t isdst[] = {0, 1, 0};
    struct tzif_spec v1 = {.version = 0,
                           .n_transitions = 2,
                           .transitions = transitions,
                           .transition_types = types,
                           .n_types = 3,
                           .utoffs = utoffs,
                           .isdst = isdst};
    struct tzif_spec v3 = v1;
    v3.version = '3';
    v3.footer = "";
    write_tzif("Test/Version1", &v1);
    write_tzif("Test/Version3", &v3);
    use_test_dir();
    const sdat_tz_t *zones[] = {zone("Test/Version1"), zone("Test/Version3")};
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(sdat_tz_offset(zones[i], 999999999), 600);
        cr_assert_eq(sdat_tz_offset(zones[i], 1000000000), 7200);
        cr_assert_eq(sdat_tz_offset(zones[i], 1099999999), 7200);
        cr_assert_eq(sdat_tz_offset(zones[i], 1100000000), -3600);
        cr_assert_eq(sdat_tz_offset(zones[i], at("2090-01-01T00:00:00Z")), -3600);
        /* Back three hours at 1100000000: the three hours of local time
         * before it occur again after it, first under +02:00. */
        int32_t days, sec;
        sdat_tz_to_local(zones[i], 1099999999, &days, &sec);
        cr_assert_eq(sdat_tz_from_local(zones[i], days, sec), 1099999999);
        sdat_tz_to_local(zones[i], 1100000000, &days, &sec);
        cr_assert_eq(sdat_tz_from_local(zones[i], days, sec), 1100000000 - 3 * 3600);
    }
}

Test(tz, every_hour_of_2026_and_2027_agrees_with_glibc)
{
    static const char *const names[] = {"Europe/London", "Australia/Sydney", "America/New_York"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        cross_check(zone(names[i]), names[i]);
    }
    /* Also well past the transitions in the files' data. */
    cr_assert_eq(setenv("TZ", "Europe/London", 1), 0);
    tzset();
    const sdat_tz_t *tz = zone("Europe/London");
    for (int64_t s = at("2089-12-31T00:00:00Z"); s < at("2091-01-01T00:00:00Z"); s += 3600) {
        cr_assert_eq(sdat_tz_offset(tz, s), glibc_offset(s), "%lld", (long long)s);
    }
}

Test(tz, a_zone_is_parsed_once_and_the_process_tz_is_left_alone)
{
    cr_assert_eq(setenv("TZ", "America/New_York", 1), 0);
    const sdat_tz_t *a = zone("Europe/London");
    const sdat_tz_t *b = zone("Europe/London");
    cr_assert_eq(a, b);
    cr_assert_neq(a, zone("Asia/Tokyo"));
    cr_assert_str_eq(getenv("TZ"), "America/New_York");
}

static void *get_zones(void *arg)
{
    static const char *const names[] = {"Europe/London", "Asia/Tokyo", "Australia/Sydney",
                                        "America/New_York"};
    const sdat_tz_t **out = arg;
    for (int round = 0; round < 200; round++) {
        for (size_t i = 0; i < 4; i++) {
            if (sdat_tz_get(names[i], &out[i]) < 0) {
                return NULL;
            }
        }
    }
    return arg;
}

Test(tz, threads_share_one_copy_of_each_zone)
{
    pthread_t threads[8];
    const sdat_tz_t *got[8][4];
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(pthread_create(&threads[i], NULL, get_zones, got[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        void *ok;
        cr_assert_eq(pthread_join(threads[i], &ok), 0);
        cr_assert_not_null(ok);
    }
    for (int i = 1; i < 8; i++) {
        for (int z = 0; z < 4; z++) {
            cr_assert_eq(got[i][z], got[0][z]);
        }
    }
}
