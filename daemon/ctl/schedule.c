/* sdatctl schedule: when a school notification reported at DATETIME would
 * be released (flows.md §3), without regard to the current time. Prints
 * exactly "YYYY-MM-DDTHH:MM:SSZ", followed by " calendar-exhausted" when no
 * school day comes soon enough (the time is then DATETIME's); for a
 * recipient that is not a school, DATETIME itself. Reads the configuration
 * only. */
#include <getopt.h>
#include <stdio.h>

#include "ctl.h"
#include "decide/decide.h"
#include "util/util.h"

static int usage_error(void)
{
    fprintf(stderr, "usage: sdatctl schedule --recipient ID --at DATETIME\n"
                    "       (DATETIME as 2026-11-24T17:00:00Z or 2026-11-24T17:00:00+01:00)\n");
    return CTL_USAGE;
}

int ctl_schedule(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"recipient", required_argument, NULL, 'r'},
                                                 {"at", required_argument, NULL, 'a'},
                                                 {NULL, 0, NULL, 0}};
    const char *recipient = NULL, *at = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "r:a:", long_options, NULL)) != -1) {
        if (opt == 'r') {
            recipient = optarg;
        } else if (opt == 'a') {
            at = optarg;
        } else {
            return usage_error();
        }
    }
    if (optind != argc || !recipient || !at) {
        return usage_error();
    }
    int64_t basis_ms;
    if (sdat_datetime_parse(at, &basis_ms) < 0) {
        fprintf(stderr,
                "sdatctl: --at \"%s\" is not an RFC 3339 date-time with an offset "
                "(Z or +HH:MM)\n",
                at);
        return CTL_USAGE;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    int rc = CTL_OK;
    int64_t at_ms = basis_ms;
    bool exhausted = false;
    const struct sdat_recipient *r = sdat_config_recipient(cfg, recipient);
    if (!r) {
        fprintf(stderr, "sdatctl: no recipient \"%s\"\n", recipient);
        rc = CTL_NEGATIVE;
        goto out;
    }
    if (r->kind == SDAT_KIND_SCHOOL) {
        /* The configuration check gives every school a calendar. */
        const struct sdat_calendar *cal = sdat_config_calendar(cfg, r->calendar);
        if (!cal || sdat_schedule_school(cal, basis_ms, &at_ms, &exhausted) < 0) {
            fprintf(stderr,
                    "sdatctl: recipient \"%s\": calendar \"%s\" or its time zone cannot "
                    "be loaded\n",
                    recipient, r->calendar ? r->calendar : "");
            rc = CTL_CONFIG;
            goto out;
        }
    }
    char text[32];
    sdat_time_format_s(at_ms, text, sizeof text);
    printf("%s%s\n", text, exhausted ? " calendar-exhausted" : "");
out:
    sdat_config_free(cfg);
    return rc;
}
