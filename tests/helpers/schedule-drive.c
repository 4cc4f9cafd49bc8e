/* schedule-drive: sdat_schedule_school on generated cases, for the schedule
 * oracle (tests/integration/test_schedule_oracle.sh, issue 26).
 *
 *   schedule-drive < CASES.jsonl
 *
 * Each input line is a case of tests/oracle/schedule_cases.py:
 *   {"id":N,"calendar":{"timezone","release_time","start_time","close_time",
 *    "weekdays":["mon",...],"terms":[["YYYY-MM-DD","YYYY-MM-DD"],...],
 *    "closures":["YYYY-MM-DD",...]},"at_ms":MS,...}
 * (a missing calendar key takes flows.md §3's default). Prints one line per
 * case, "ID ANSWER", ANSWER as sdatctl schedule prints it
 * (YYYY-MM-DDTHH:MM:SSZ, then " calendar-exhausted" when so), or "ID error
 * ERRNO". Exit 0, or 2 on a malformed line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "config/config.h"
#include "decide/decide.h"
#include "util/util.h"

static const char *const weekday_names[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };

static int hhmm(json_t *cal, const char *key, const char *dflt, int *ret)
{
    json_t *v = json_object_get(cal, key);
    const char *s = v ? json_string_value(v) : dflt;
    int h, m;
    char end;
    if (!s || sscanf(s, "%2d:%2d%c", &h, &m, &end) != 2 || h < 0 || h > 23 || m < 0 || m > 59) {
        return -EINVAL;
    }
    *ret = h * 60 + m;
    return 0;
}

static int date(json_t *v, int32_t *ret)
{
    const char *s = json_string_value(v);
    return s ? sdat_date_parse(s, ret) : -EINVAL;
}

/* cal from the case's calendar object; the arrays are malloc'd. */
static int calendar(json_t *c, struct sdat_calendar *cal)
{
    memset(cal, 0, sizeof *cal);
    json_t *tz = json_object_get(c, "timezone");
    cal->id = "oracle";
    cal->timezone = (char *)(tz ? json_string_value(tz) : "Europe/London");
    if (!cal->timezone || hhmm(c, "release_time", "07:30", &cal->release_time) < 0 ||
        hhmm(c, "start_time", "08:45", &cal->start_time) < 0 ||
        hhmm(c, "close_time", "16:00", &cal->close_time) < 0) {
        return -EINVAL;
    }
    json_t *wd = json_object_get(c, "weekdays"), *v;
    size_t i;
    if (!wd) {
        cal->weekdays = 0x1f;
    } else {
        json_array_foreach(wd, i, v) {
            size_t k = 0;
            while (k < 7 && (!json_string_value(v) || strcmp(json_string_value(v), weekday_names[k])))
                k++;
            if (k == 7) {
                return -EINVAL;
            }
            cal->weekdays |= 1u << k;
        }
    }
    json_t *terms = json_object_get(c, "terms"), *closures = json_object_get(c, "closures");
    cal->n_terms = json_array_size(terms);
    cal->n_closures = json_array_size(closures);
    cal->terms = calloc(cal->n_terms + 1, sizeof *cal->terms);
    cal->closures = calloc(cal->n_closures + 1, sizeof *cal->closures);
    if (!cal->terms || !cal->closures) {
        return -ENOMEM;
    }
    json_array_foreach(terms, i, v) {
        if (json_array_size(v) != 2 || date(json_array_get(v, 0), &cal->terms[i].first) < 0 ||
            date(json_array_get(v, 1), &cal->terms[i].last) < 0) {
            return -EINVAL;
        }
    }
    json_array_foreach(closures, i, v) {
        if (date(v, &cal->closures[i]) < 0) {
            return -EINVAL;
        }
    }
    return 0;
}

int main(void)
{
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0;
    while (getline(&line, &cap, stdin) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *c = json_loads(line, 0, &jerr);
        json_t *id = json_object_get(c, "id"), *at = json_object_get(c, "at_ms");
        struct sdat_calendar cal;
        int r = -EINVAL;
        if (c && json_is_integer(id) && json_is_integer(at)) {
            r = calendar(json_object_get(c, "calendar"), &cal);
        }
        if (r < 0) {
            fprintf(stderr, "schedule-drive: line %ld: not a case (%d)\n", lineno, r);
            return 2;
        }
        int64_t when = 0;
        bool exhausted = false;
        r = sdat_schedule_school(&cal, json_integer_value(at), &when, &exhausted);
        if (r < 0) {
            printf("%lld error %d\n", (long long)json_integer_value(id), -r);
        } else {
            char buf[64];
            sdat_time_format_s(when, buf, sizeof buf);
            printf("%lld %s%s\n", (long long)json_integer_value(id), buf,
                   exhausted ? " calendar-exhausted" : "");
        }
        free(cal.terms);
        free(cal.closures);
        json_decref(c);
    }
    free(line);
    return 0;
}
