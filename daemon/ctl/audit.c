/* sdatctl audit verify|export (interfaces.md): the audit chain read from
 * the store (read-only, beside a running daemon: one statement, one
 * snapshot) or, for verify, from an export file.
 *
 * verify prints exactly "ok: N records, head HASH" (exit 0) or "broken at
 * seq K: REASON" (exit 1), K being the first seq that does not verify.
 * export prints the records exactly as stored, one per line; with
 * --subject it adds, after them, one {"notification":{…}} line per
 * notification the subject links to, with its payload (null once
 * retention removed it): the basis of a subject access report, collected
 * by sdat_store_subject_collect (the console's subject page shows the same). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "engine/engine.h"
#include "decide/decide.h"
#include "ctl.h"
#include "store/store.h"
#include "util/util.h"

#define VERIFY_USAGE "usage: sdatctl audit verify [--file F] [--head HASH]\n"
#define EXPORT_USAGE                                                                               \
    "usage: sdatctl audit export [--since DATETIME] [--subject ID]\n"                              \
    "       (DATETIME as 2026-11-24T00:00:00Z, with an offset; ID a register child id,\n"          \
    "       a notification id or an incident key FORCE/ID)\n"

static bool is_hash(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* An export: JSON Lines, blank lines skipped. 0, 1 once broken, or < 0. */
static int feed_file(sdat_audit_verifier_t *v, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int r = 0;
    while (r == 0 && (len = getline(&line, &cap, in)) >= 0) {
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r')) {
            line[--len] = '\0';
        }
        if (strspn(line, " \t") == (size_t)len) {
            continue;
        }
        if (strlen(line) != (size_t)len) {
            /* A NUL byte: the rest of the line would be ignored unseen. */
            r = sdat_audit_verifier_feed(v, "", 0, NULL);
        } else {
            r = sdat_audit_verifier_feed(v, line, 0, NULL);
        }
        if (r == -EBADMSG) {
            r = 1;
        }
    }
    if (r == 0 && ferror(in)) {
        r = -EIO;
    }
    free(line);
    return r;
}

static int verify(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"file", required_argument, NULL, 'f'},
                                                 {"head", required_argument, NULL, 'H'},
                                                 {NULL, 0, NULL, 0}};
    const char *file = NULL, *head = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 'f') {
            file = optarg;
        } else if (opt == 'H' && is_hash(optarg)) {
            head = optarg;
        } else {
            fprintf(stderr, VERIFY_USAGE "       (HASH: 64 lowercase hex digits)\n");
            return CTL_USAGE;
        }
    }
    if (optind != argc) {
        fprintf(stderr, VERIFY_USAGE);
        return CTL_USAGE;
    }

    struct sdat_config *cfg = NULL;
    sdat_audit_verifier_t *v = NULL;
    sdat_store_t *st = NULL;
    FILE *in = NULL;
    int rc = CTL_NEGATIVE, r;

    /* An export can be checked without a configuration (its chain and
     * checkpoint placement); with -c also the macs and the interval. */
    if (!file || opts->config_given) {
        cfg = ctl_load_config_reader(opts);
        if (!cfg) {
            return CTL_CONFIG;
        }
    }
    char err[600];
    r = sdat_audit_verifier_for(cfg, &v, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "sdatctl: %s\n", err);
        rc = r == -ENOMEM ? CTL_NEGATIVE : CTL_CONFIG;
        goto out;
    }
    if (file) {
        in = ctl_open_input(file);
        if (!in) {
            goto out;
        }
        r = feed_file(v, in);
        if (r == 0) {
            r = sdat_audit_verifier_finish(v, head) == 0 ? 0 : 1;
        }
    } else {
        /* The same as the console's "verify now". */
        st = ctl_open_store(cfg);
        if (!st) {
            goto out;
        }
        r = sdat_audit_verify_store(st, v, head);
    }
    if (r < 0) {
        fprintf(stderr, "sdatctl: cannot read the audit records: %s\n",
                st ? sdat_store_errmsg(st) : strerror(-r));
        goto out;
    }
    if (r == 0) {
        printf("ok: %lld records, head %s\n", (long long)sdat_audit_verifier_count(v),
               sdat_audit_verifier_head(v));
        rc = CTL_OK;
    } else {
        printf("broken at seq %lld: %s\n", (long long)sdat_audit_verifier_broken_seq(v),
               sdat_audit_verifier_reason(v));
    }
out:
    if (in && in != stdin) {
        fclose(in);
    }
    sdat_audit_verifier_free(v);
    sdat_store_close(st);
    sdat_config_free(cfg);
    return rc;
}

/* A record's ts at or after since_ms (0: every record). */
static bool since_ok(const char *text, int64_t since_ms)
{
    if (since_ms == 0) {
        return true;
    }
    json_t *record = json_loads(text, 0, NULL);
    int64_t ts_ms;
    bool ok = sdat_datetime_parse(json_string_value(json_object_get(record, "ts")), &ts_ms) == 0 &&
              ts_ms >= since_ms;
    json_decref(record);
    return ok;
}

struct export_ctx {
    int64_t since_ms;
    long count;
};

static int print_record(int64_t seq, const char *text, void *opaque)
{
    (void)seq;
    struct export_ctx *x = opaque;
    if (since_ok(text, x->since_ms)) {
        if (fputs(text, stdout) == EOF || putchar('\n') == EOF) {
            return -EIO;
        }
        x->count++;
    }
    return 0;
}

static int print_notification(const struct sdat_notification *n, void *opaque)
{
    (void)opaque;
    char created[40];
    sdat_time_format_ms(n->created_ms, created, sizeof created);
    json_t *payload = n->payload ? json_loads(n->payload, 0, NULL) : NULL;
    json_t *line =
        json_pack("{s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}}", "notification", "notification_id",
                  n->id, "kind", n->kind, "recipient", n->recipient, "state", n->state, "incident",
                  n->source_key, "created_at", created, "payload_sha256", n->payload_sha256,
                  "payload", payload ? payload : json_null());
    int r =
        line && json_dumpf(line, stdout, JSON_COMPACT | JSON_SORT_KEYS) == 0 && putchar('\n') != EOF
            ? 0
            : -EIO;
    json_decref(line);
    return r;
}

static int export(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"since", required_argument, NULL, 's'},
                                                 {"subject", required_argument, NULL, 'S'},
                                                 {NULL, 0, NULL, 0}};
    struct export_ctx x = {0};
    const char *subject_id = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt == 's' && sdat_datetime_parse(optarg, &x.since_ms) == 0) {
            continue;
        }
        if (opt == 'S' && *optarg) {
            subject_id = optarg;
            continue;
        }
        fprintf(stderr, EXPORT_USAGE);
        return CTL_USAGE;
    }
    if (optind != argc) {
        fprintf(stderr, EXPORT_USAGE);
        return CTL_USAGE;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    struct sdat_subject s = {0};
    int rc = CTL_NEGATIVE, r;
    sdat_store_t *st = ctl_open_store(cfg);
    if (!st) {
        goto out;
    }
    if (!subject_id) {
        r = sdat_store_audit_each(st, 1, print_record, &x);
    } else {
        /* One snapshot for the records and the notifications. */
        r = sdat_store_read_begin(st);
        if (r == 0) {
            r = sdat_store_subject_collect(st, subject_id, &s);
        }
        for (size_t i = 0; i < s.n_records && r == 0; i++) {
            r = print_record(s.records[i].seq, s.records[i].text, &x);
        }
        for (size_t i = 0; i < s.n_notifications && r == 0; i++) {
            r = sdat_store_notification_get(st, s.notifications[i], print_notification, NULL);
            r = r == -ENOENT ? 0 : r; /* named by a record of another instance */
        }
        sdat_store_read_end(st);
        if (r == 0 && s.n_records == 0 && s.n_notifications == 0) {
            fprintf(stderr, "sdatctl: no audit record or notification names %s\n", subject_id);
            goto out;
        }
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "sdatctl: cannot write the export: %s\n", strerror(errno));
        goto out;
    }
    if (r < 0) {
        fprintf(stderr, "sdatctl: cannot export the audit records: %s\n",
                r == -EIO ? sdat_store_errmsg(st) : strerror(-r));
        goto out;
    }
    rc = CTL_OK;
out:
    sdat_subject_free(&s);
    sdat_store_close(st);
    sdat_config_free(cfg);
    return rc;
}

int ctl_audit(const struct ctl_options *opts, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) {
        return verify(opts, argc - 1, argv + 1);
    }
    if (argc >= 2 && strcmp(argv[1], "export") == 0) {
        return export(opts, argc - 1, argv + 1);
    }
    fprintf(stderr, VERIFY_USAGE EXPORT_USAGE);
    return CTL_USAGE;
}
