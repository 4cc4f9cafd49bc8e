/* sdatctl dlq: the rejected events the store keeps (the same records the
 * daemon mirrors to the dead-letter topic), read-only beside a running
 * daemon. A table for people; JSON Lines with --json, each
 * {"id","stage","error","topic","partition","offset","at"} as GET /v1/dlq
 * answers (whose fields interfaces.md fixes) and "replayed": null, or
 * {"at","outcome"} with the new "dead_letter_id" when it was rejected again.
 * The original bytes are not printed: they may hold personal data. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "ctl.h"
#include "decide/decide.h"
#include "store/store.h"
#include "util/util.h"

struct listing {
    bool json;
    long count;
};

/* "processed 2026-…", "rejected again as 43 2026-…", or "-". */
static void replay_text(const struct sdat_dead_letter *dl, char *out, size_t outlen)
{
    if (dl->replayed_ms == 0) {
        snprintf(out, outlen, "-");
        return;
    }
    char at[40];
    sdat_time_format_s(dl->replayed_ms, at, sizeof at);
    if (dl->replayed_as) {
        snprintf(out, outlen, "again as %lld %s", (long long)dl->replayed_as, at);
    } else {
        snprintf(out, outlen, "processed %s", at);
    }
}

static int print_one(const struct sdat_dead_letter *dl, void *opaque)
{
    struct listing *l = opaque;
    char at[40];
    sdat_time_format_ms(dl->at_ms, at, sizeof at);
    if (l->json) {
        json_t *o = json_pack("{s:I, s:s, s:s, s:s, s:i, s:I, s:s, s:o}", "id",
                              (json_int_t)dl->id, "stage", dl->stage, "error", dl->error, "topic",
                              dl->topic, "partition", (int)dl->partition, "offset",
                              (json_int_t)dl->offset, "at", at, "replayed",
                              sdat_store_dead_letter_replay_json(dl));
        if (!o || json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS) < 0) {
            json_decref(o);
            return -ENOMEM;
        }
        json_decref(o);
        putchar('\n');
    } else {
        if (l->count == 0) {
            printf("%-6s %-24s %-7s %-32s %-34s %s\n", "ID", "AT", "STAGE", "SOURCE", "REPLAYED",
                   "ERROR");
        }
        char source[300], replayed[80];
        snprintf(source, sizeof source, "%s[%d]@%lld", dl->topic, (int)dl->partition,
                 (long long)dl->offset);
        replay_text(dl, replayed, sizeof replayed);
        printf("%-6lld %-24s %-7s %-32s %-34s %s\n", (long long)dl->id, at, ctl_esc(dl->stage),
               ctl_esc(source), replayed, ctl_esc(dl->error));
    }
    l->count++;
    return 0;
}

int ctl_dlq(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"json", no_argument, NULL, 'j'},
                                                 {"since", required_argument, NULL, 's'},
                                                 {NULL, 0, NULL, 0}};
    struct listing l = {0};
    int64_t since_ms = 0;
    int opt;
    while ((opt = getopt_long(argc, argv, "js:", long_options, NULL)) != -1) {
        if (opt == 'j') {
            l.json = true;
        } else if (opt == 's' && sdat_datetime_parse(optarg, &since_ms) == 0) {
            continue;
        } else {
            fprintf(stderr, "usage: sdatctl dlq [--json] [--since DATETIME]\n"
                            "       (DATETIME as 2026-11-24T00:00:00Z, with an offset)\n");
            return CTL_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: sdatctl dlq [--json] [--since DATETIME]\n");
        return CTL_USAGE;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    sdat_store_t *st = NULL;
    char err[512];
    int rc = CTL_NEGATIVE;
    if (sdat_store_open(cfg->state_dir, SDAT_STORE_READONLY, &st, err, sizeof err) < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        goto out;
    }
    if (sdat_store_dead_letters_since(st, since_ms, print_one, &l) < 0) {
        fprintf(stderr, "sdatctl: cannot read the dead letters: %s\n", sdat_store_errmsg(st));
        goto out;
    }
    if (!l.json) {
        fprintf(stderr, "%ld dead letter%s\n", l.count, l.count == 1 ? "" : "s");
    }
    rc = CTL_OK;
out:
    sdat_store_close(st);
    sdat_config_free(cfg);
    return rc;
}
