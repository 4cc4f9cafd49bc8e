/* sdatctl audit verify|export (interfaces.md): the audit chain read from
 * the store (read-only, beside a running daemon: one statement, one
 * snapshot) or, for verify, from an export file.
 *
 * verify prints exactly "ok: N records, head HASH" (exit 0) or "broken at
 * seq K: REASON" (exit 1), K being the first seq that does not verify.
 * export prints the records exactly as stored, one per line; with
 * --subject it adds, after them, one {"notification":{…}} line per
 * notification the subject links to, with its payload (null once
 * retention removed it): the basis of a subject access report. */
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

static int feed_row(int64_t seq, const char *record, const char *hash, void *opaque)
{
    int r = sdat_audit_verifier_feed(opaque, record, seq, hash);
    return r == -EBADMSG ? 1 : r; /* 1: stop, the chain is broken */
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
    char *key = NULL;
    size_t key_len = 0;
    int rc = CTL_NEGATIVE, r;

    /* An export can be checked without a configuration (its chain and
     * checkpoint placement); with -c also the macs and the interval. */
    if (!file || opts->config_given) {
        cfg = ctl_load_config(opts);
        if (!cfg) {
            return CTL_CONFIG;
        }
        if (cfg->audit.checkpoint_key_file) {
            char err[512];
            if (sdat_secret_read(cfg->audit.checkpoint_key_file, &key, &key_len, err, sizeof err) <
                0) {
                fprintf(stderr, "sdatctl: audit.checkpoint_key_file: %s\n", err);
                rc = CTL_CONFIG;
                goto out;
            }
        }
    }
    r = sdat_audit_verifier_new(cfg ? cfg->audit.checkpoint_every : 0, key, key_len, &v);
    if (r < 0) {
        fprintf(stderr, "sdatctl: %s\n",
                r == -EINVAL ? "audit.checkpoint_key_file is empty" : strerror(-r));
        rc = r == -EINVAL ? CTL_CONFIG : CTL_NEGATIVE;
        goto out;
    }
    if (file) {
        in = ctl_open_input(file);
        if (!in) {
            goto out;
        }
        r = feed_file(v, in);
    } else {
        st = ctl_open_store(cfg);
        if (!st) {
            goto out;
        }
        r = sdat_store_audit_rows(st, feed_row, v);
    }
    if (r < 0) {
        fprintf(stderr, "sdatctl: cannot read the audit records: %s\n",
                st ? sdat_store_errmsg(st) : strerror(-r));
        goto out;
    }
    if (r == 0 && sdat_audit_verifier_finish(v, head) == 0) {
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
    if (key) {
        explicit_bzero(key, key_len);
        free(key);
    }
    sdat_audit_verifier_free(v);
    sdat_store_close(st);
    sdat_config_free(cfg);
    return rc;
}

/* The records of a subject and the notifications it links to. */
struct record {
    int64_t seq;
    char *text;
};
struct subject {
    sdat_store_t *st;
    const char *id;
    struct record *records;
    size_t n_records, cap_records;
    char **notifications; /* ids, in the order first linked */
    size_t n_notifications, cap_notifications;
    char **quoted; /* the same as JSON strings, for the scan */
    size_t n_quoted;
};

static int add_notification(struct subject *s, const char *id)
{
    for (size_t i = 0; i < s->n_notifications; i++) {
        if (strcmp(s->notifications[i], id) == 0) {
            return 0;
        }
    }
    if (s->n_notifications == s->cap_notifications) {
        size_t cap = s->cap_notifications ? 2 * s->cap_notifications : 8;
        char **grown = realloc(s->notifications, cap * sizeof *grown);
        if (!grown) {
            return -ENOMEM;
        }
        s->notifications = grown;
        s->cap_notifications = cap;
    }
    if (!(s->notifications[s->n_notifications] = strdup(id))) {
        return -ENOMEM;
    }
    s->n_notifications++;
    return 0;
}

static int add_record(int64_t seq, const char *text, void *opaque)
{
    struct subject *s = opaque;
    if (s->n_records == s->cap_records) {
        size_t cap = s->cap_records ? 2 * s->cap_records : 64;
        struct record *grown = realloc(s->records, cap * sizeof *grown);
        if (!grown) {
            return -ENOMEM;
        }
        s->records = grown;
        s->cap_records = cap;
    }
    if (!(s->records[s->n_records].text = strdup(text))) {
        return -ENOMEM;
    }
    s->records[s->n_records++].seq = seq;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int link_notification(const struct sdat_notification *n, void *opaque)
{
    return add_notification(opaque, n->id);
}

static int link_child_notification(const char *id, void *opaque)
{
    return add_notification(opaque, id);
}

/* The notifications of one police child of an incident: its own (by its
 * ref) and the incident's per-incident ones, which describe every child. */
struct child_link {
    struct subject *s;
    const char *ref;
};

static int link_ref_notification(const struct sdat_notification *n, void *opaque)
{
    struct child_link *l = opaque;
    if (!n->child_ref || strcmp(n->child_ref, l->ref) == 0) {
        return add_notification(l->s, n->id);
    }
    return 0;
}

/* From the records naming the subject: the notifications they are about,
 * and for a register child the notifications of the incidents' children
 * that were decided to be it (match.decided, review.decided). */
static int link_from_records(struct subject *s, size_t upto)
{
    int r = 0;
    for (size_t i = 0; i < upto && r == 0; i++) {
        json_t *record = json_loads(s->records[i].text, 0, NULL);
        json_t *subj = json_object_get(record, "subject");
        json_t *detail = json_object_get(record, "detail");
        const char *nid = json_string_value(json_object_get(subj, "notification_id"));
        const char *chosen = json_string_value(json_object_get(detail, "child_id"));
        if (!chosen) {
            chosen = json_string_value(json_object_get(detail, "register_child_id"));
        }
        const char *incident = json_string_value(json_object_get(subj, "incident"));
        const char *ref = json_string_value(json_object_get(subj, "child"));
        if (nid) {
            r = add_notification(s, nid);
        }
        if (r == 0 && chosen && incident && ref && strcmp(chosen, s->id) == 0) {
            struct child_link l = {s, ref};
            r = sdat_store_notifications_for_source(s->st, incident, link_ref_notification, &l);
        }
        json_decref(record);
    }
    return r;
}

/* The linked notification ids as JSON strings (quotes included), as a
 * record's canonical text holds them. */
static int quote_notifications(struct subject *s)
{
    s->quoted = calloc(s->n_notifications, sizeof *s->quoted);
    if (!s->quoted) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < s->n_notifications; i++) {
        json_t *string = json_string(s->notifications[i]);
        s->quoted[i] = string ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
        json_decref(string);
        if (!s->quoted[i]) {
            return -ENOMEM;
        }
        s->n_quoted = i + 1;
    }
    return 0;
}

static int add_if_linked(int64_t seq, const char *text, void *opaque)
{
    struct subject *s = opaque;
    for (size_t i = 0; i < s->n_quoted; i++) {
        if (strstr(text, s->quoted[i])) {
            return add_record(seq, text, s);
        }
    }
    return 0;
}

static int collect_subject(struct subject *s)
{
    int r = sdat_store_audit_naming(s->st, s->id, add_record, s);
    if (r == 0) {
        r = sdat_store_notification_get(s->st, s->id, link_notification, s);
        r = r == -ENOENT ? 0 : r;
    }
    if (r == 0) {
        r = sdat_store_notifications_for_source(s->st, s->id, link_notification, s);
    }
    if (r == 0) {
        r = sdat_store_notification_ids_for_child(s->st, s->id, link_child_notification, s);
    }
    if (r == 0) {
        r = link_from_records(s, s->n_records);
    }
    /* The records of every linked notification (delivery attempts, states)
     * that do not name the subject themselves: one more pass over the
     * chain, however many notifications. */
    if (r == 0 && s->n_notifications > 0) {
        r = quote_notifications(s);
    }
    if (r == 0 && s->n_quoted > 0) {
        r = sdat_store_audit_each(s->st, 1, add_if_linked, s);
    }
    if (r < 0) {
        return r;
    }
    qsort(s->records, s->n_records, sizeof *s->records, by_seq);
    size_t kept = 0;
    for (size_t i = 0; i < s->n_records; i++) {
        if (kept > 0 && s->records[kept - 1].seq == s->records[i].seq) {
            free(s->records[i].text);
        } else {
            s->records[kept++] = s->records[i];
        }
    }
    s->n_records = kept;
    return 0;
}

static void subject_free(struct subject *s)
{
    for (size_t i = 0; i < s->n_records; i++) {
        free(s->records[i].text);
    }
    free(s->records);
    for (size_t i = 0; i < s->n_notifications; i++) {
        free(s->notifications[i]);
    }
    free(s->notifications);
    for (size_t i = 0; i < s->n_quoted; i++) {
        free(s->quoted[i]);
    }
    free(s->quoted);
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
    struct sdat_config *cfg = ctl_load_config(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    struct subject s = {.id = subject_id};
    int rc = CTL_NEGATIVE, r;
    sdat_store_t *st = ctl_open_store(cfg);
    if (!st) {
        goto out;
    }
    if (!subject_id) {
        r = sdat_store_audit_each(st, 1, print_record, &x);
    } else {
        /* One snapshot for the records and the notifications. */
        s.st = st;
        r = sdat_store_read_begin(st);
        if (r == 0) {
            r = collect_subject(&s);
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
    subject_free(&s);
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
