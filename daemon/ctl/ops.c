/* sdatctl's operator commands (interfaces.md): what is pending and why
 * (notifications, show, reviews, status) is read from the store, read-only
 * beside the running daemon; decisions (review accept|reject, dlq replay)
 * go through the daemon's HTTP API so that the daemon, the store's one
 * writer, makes and audits them. Tables for people, --json for scripts. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "ctl.h"
#include "store/store.h"
#include "util/util.h"

static void print_json(json_t *o)
{
    if (o) {
        json_dumpf(o, stdout, JSON_COMPACT | JSON_SORT_KEYS);
        putchar('\n');
        json_decref(o);
    }
}

static json_t *notification_json(const struct sdat_notification *n)
{
    char created[40], scheduled[40];
    sdat_time_format_ms(n->created_ms, created, sizeof created);
    sdat_time_format_ms(n->scheduled_ms, scheduled, sizeof scheduled);
    json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "notification_id", n->id,
                          "kind", n->kind, "recipient", n->recipient, "state", n->state,
                          "incident", n->source_key, "created_at", created, "scheduled_for",
                          scheduled, "attempts", n->attempts);
    if (o && n->route_reason) {
        json_object_set_new(o, "route_reason", json_string(n->route_reason));
    }
    if (o && n->amends) {
        json_object_set_new(o, "amends", json_string(n->amends));
    }
    if (o && n->last_error) {
        json_object_set_new(o, "last_error", json_string(n->last_error));
    }
    return o;
}

struct listing {
    bool json;
    long count;
};

/* delivery.md's states, in their order. */
static const char *const states[] = {"scheduled", "delivering", "delivered", "acknowledged",
                                     "failed",    "superseded", "cancelled",  NULL};
#define STATE_LIST                                                                              \
    "scheduled, delivering, delivered, acknowledged, failed, superseded, cancelled"

static bool known_state(const char *s)
{
    for (const char *const *p = states; *p; p++) {
        if (strcmp(*p, s) == 0) {
            return true;
        }
    }
    return false;
}

static int print_notification(const struct sdat_notification *n, void *opaque)
{
    struct listing *l = opaque;
    if (l->json) {
        print_json(notification_json(n));
    } else {
        char scheduled[40];
        sdat_time_format_s(n->scheduled_ms, scheduled, sizeof scheduled);
        if (l->count == 0) {
            printf("%-34s %-18s %-22s %-12s %-20s %3s %s\n", "ID", "KIND", "RECIPIENT", "STATE",
                   "SCHEDULED", "ATT", "INCIDENT");
        }
        printf("%-34s %-18s %-22s %-12s %-20s %3d %s\n", ctl_esc(n->id), ctl_esc(n->kind),
               ctl_esc(n->recipient), ctl_esc(n->state), scheduled, n->attempts,
               ctl_esc(n->source_key));
    }
    l->count++;
    return 0;
}

int ctl_notifications(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"json", no_argument, NULL, 'j'},
                                                 {"state", required_argument, NULL, 's'},
                                                 {"limit", required_argument, NULL, 'n'},
                                                 {NULL, 0, NULL, 0}};
    struct listing l = {0};
    const char *state = NULL;
    int limit = 100, opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        switch (opt) {
        case 'j':
            l.json = true;
            break;
        case 's':
            state = optarg;
            break;
        case 'n':
            limit = atoi(optarg);
            break;
        default:
            fprintf(stderr, "usage: sdatctl notifications [--state STATE] [--limit N] [--json]\n");
            return CTL_USAGE;
        }
    }
    if (optind != argc || limit < 1) {
        fprintf(stderr, "usage: sdatctl notifications [--state STATE] [--limit N] [--json]\n");
        return CTL_USAGE;
    }
    if (state && !known_state(state)) {
        fprintf(stderr, "sdatctl: \"%s\" is not a state: one of %s\n", ctl_esc(state),
                STATE_LIST);
        return CTL_USAGE;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    sdat_store_t *st = ctl_open_store(cfg);
    int r = st ? sdat_store_notifications_list(st, state, limit, print_notification, &l) : -EIO;
    if (r == 0 && !l.json && l.count == 0) {
        printf("no notifications%s%s\n", state ? " in state " : "", state ? state : "");
    }
    sdat_store_close(st);
    sdat_config_free(cfg);
    return r < 0 ? CTL_NEGATIVE : CTL_OK;
}

struct show_ctx {
    json_t *doc;
};

static int show_notification(const struct sdat_notification *n, void *opaque)
{
    struct show_ctx *s = opaque;
    s->doc = notification_json(n);
    json_t *payload = n->payload ? json_loads(n->payload, 0, NULL) : NULL;
    json_object_set_new(s->doc, "payload", payload ? payload : json_null());
    if (!n->payload) {
        /* Retention removed it (delivery.md "Retention"); the audit chain
         * keeps its SHA-256. */
        json_object_set_new(s->doc, "payload_removed", json_string("retention"));
    }
    json_object_set_new(s->doc, "payload_sha256", json_string(n->payload_sha256));
    json_object_set_new(s->doc, "attempt_log", json_array());
    json_object_set_new(s->doc, "audit", json_array());
    return 0;
}

static int show_attempt(const struct sdat_attempt *a, void *opaque)
{
    struct show_ctx *s = opaque;
    char at[40];
    sdat_time_format_ms(a->at_ms, at, sizeof at);
    json_array_append_new(json_object_get(s->doc, "attempt_log"),
                          json_pack("{s:i, s:s, s:s, s:s?}", "n", a->n, "at", at, "outcome",
                                    a->outcome, "detail", a->detail));
    return 0;
}

static int show_audit(int64_t seq, const char *record, void *opaque)
{
    (void)seq;
    struct show_ctx *s = opaque;
    json_t *r = json_loads(record, 0, NULL);
    if (r) {
        json_array_append_new(json_object_get(s->doc, "audit"), r);
    }
    return 0;
}

int ctl_show(const struct ctl_options *opts, int argc, char **argv)
{
    bool json = false;
    int usage = ctl_json_only(argc, argv, 1, "sdatctl show ID [--json]", &json);
    if (usage != CTL_OK) {
        return usage;
    }
    const char *id = argv[optind];
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    struct show_ctx s = {0};
    sdat_store_t *st = ctl_open_store(cfg);
    int r = st ? sdat_store_notification_get(st, id, show_notification, &s) : -EIO;
    if (r == 0) {
        r = sdat_store_attempts_each(st, id, show_attempt, &s);
    }
    if (r == 0) {
        r = sdat_store_audit_about(st, id, show_audit, &s);
    }
    sdat_store_close(st);
    sdat_config_free(cfg);
    if (r == -ENOENT) {
        fprintf(stderr, "sdatctl: no notification %s\n", id);
        return CTL_NEGATIVE;
    }
    if (r < 0) {
        json_decref(s.doc);
        return CTL_NEGATIVE;
    }
    if (json) {
        print_json(s.doc);
        return CTL_OK;
    }
    /* For people: the state and the trail; the payload as JSON. */
    printf("notification %s\n  kind %s, recipient %s, state %s, incident %s\n", ctl_esc(id),
           ctl_esc(json_string_value(json_object_get(s.doc, "kind"))),
           ctl_esc(json_string_value(json_object_get(s.doc, "recipient"))),
           ctl_esc(json_string_value(json_object_get(s.doc, "state"))),
           ctl_esc(json_string_value(json_object_get(s.doc, "incident"))));
    printf("  scheduled for %s, %d attempt(s)\n",
           ctl_esc(json_string_value(json_object_get(s.doc, "scheduled_for"))),
           (int)json_integer_value(json_object_get(s.doc, "attempts")));
    size_t i;
    json_t *v;
    printf("attempts:\n");
    json_array_foreach(json_object_get(s.doc, "attempt_log"), i, v)
    {
        printf("  %lld  %s  %-7s %s\n", (long long)json_integer_value(json_object_get(v, "n")),
               ctl_esc(json_string_value(json_object_get(v, "at"))),
               ctl_esc(json_string_value(json_object_get(v, "outcome"))),
               ctl_esc(json_string_value(json_object_get(v, "detail"))));
    }
    printf("audit trail:\n");
    json_array_foreach(json_object_get(s.doc, "audit"), i, v)
    {
        printf("  seq %-6lld %s  %-26s by %s\n", (long long)json_integer_value(json_object_get(v, "seq")),
               ctl_esc(json_string_value(json_object_get(v, "ts"))),
               ctl_esc(json_string_value(json_object_get(v, "type"))),
               ctl_esc(json_string_value(json_object_get(v, "actor"))));
    }
    if (json_object_get(s.doc, "payload_removed")) {
        printf("payload: removed under retention (retention.payload_days); sha256 %s\n",
               ctl_esc(json_string_value(json_object_get(s.doc, "payload_sha256"))));
    } else {
        printf("payload:\n");
        json_dumpf(json_object_get(s.doc, "payload"), stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        putchar('\n');
    }
    json_decref(s.doc);
    return CTL_OK;
}

static int print_review(const struct sdat_review_item *item, void *opaque)
{
    struct listing *l = opaque;
    char created[40];
    sdat_time_format_s(item->created_ms, created, sizeof created);
    if (l->json) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "review_id", item->id, "incident",
                              item->incident, "child", item->child_ref, "state", item->state,
                              "created_at", created, "version", (json_int_t)item->version);
        json_t *c = json_loads(item->candidates, 0, NULL);
        json_object_set_new(o, "candidates", c ? c : json_array());
        print_json(o);
    } else {
        if (l->count == 0) {
            printf("%-34s %-20s %-24s %-6s %s\n", "REVIEW", "CREATED", "INCIDENT", "CHILD",
                   "CANDIDATES (register id score)");
        }
        json_t *c = json_loads(item->candidates, 0, NULL);
        char cands[512] = "";
        size_t i;
        json_t *v;
        json_array_foreach(c, i, v)
        {
            size_t len = strlen(cands);
            snprintf(cands + len, sizeof cands - len, "%s%s %s", i ? ", " : "",
                     json_string_value(json_object_get(v, "child_id")),
                     json_string_value(json_object_get(v, "score")));
        }
        json_decref(c);
        printf("%-34s %-20s %-24s %-6s %s\n", ctl_esc(item->id), created, ctl_esc(item->incident),
               ctl_esc(item->child_ref), ctl_esc(cands));
    }
    l->count++;
    return 0;
}

/* The open review items from GET /v1/reviews, printed as from the store:
 * the candidates reduced to what the store keeps (id, score, sibling). */
static int reviews_from_api(const struct ctl_options *opts, struct listing *l)
{
    long status = 0;
    char *answer = NULL;
    if (ctl_api(opts, NULL, "GET", "/v1/reviews", NULL, &status, &answer) < 0) {
        return CTL_NEGATIVE;
    }
    int rc = ctl_api_report(status, answer);
    json_t *doc = rc == CTL_OK ? json_loads(answer, 0, NULL) : NULL;
    free(answer);
    if (rc != CTL_OK) {
        return rc;
    }
    json_t *items = json_is_array(doc) ? doc : json_object_get(doc, "reviews");
    if (!json_is_array(items)) {
        fprintf(stderr, "sdatctl: the daemon's answer is not a list of review items\n");
        json_decref(doc);
        return CTL_NEGATIVE;
    }
    size_t i;
    json_t *v;
    json_array_foreach (items, i, v) {
        json_t *kept = json_array();
        size_t k;
        json_t *c;
        json_array_foreach (json_object_get(v, "candidates"), k, c) {
            json_t *one = json_pack("{s:O?, s:O?}", "child_id", json_object_get(c, "child_id"),
                                    "score", json_object_get(c, "score"));
            if (one && json_is_true(json_object_get(c, "sibling"))) {
                json_object_set_new(one, "sibling", json_true());
            }
            json_array_append_new(kept, one);
        }
        char *candidates = json_dumps(kept, JSON_COMPACT);
        json_decref(kept);
        int64_t created_ms = 0;
        const char *created = json_string_value(json_object_get(v, "created_at"));
        if (created) {
            (void)sdat_datetime_parse(created, &created_ms);
        }
        const char *state = json_string_value(json_object_get(v, "state"));
        const char *id = json_string_value(json_object_get(v, "review_id"));
        struct sdat_review_item item = {
            .incident = json_string_value(json_object_get(v, "incident")),
            .child_ref = json_string_value(json_object_get(v, "child")),
            .state = state,
            .created_ms = created_ms,
            .candidates = candidates,
            .version = json_integer_value(json_object_get(v, "version")),
        };
        snprintf(item.id, sizeof item.id, "%s", id ? id : "");
        if (id && item.incident && item.child_ref && state && strcmp(state, "open") == 0) {
            print_review(&item, l);
        }
        free(candidates);
    }
    json_decref(doc);
    if (!l->json && l->count == 0) {
        printf("no open review items\n");
    }
    return CTL_OK;
}

int ctl_reviews(const struct ctl_options *opts, int argc, char **argv)
{
    struct listing l = {0};
    int usage = ctl_json_only(argc, argv, 0, "sdatctl reviews [--json]", &l.json);
    if (usage != CTL_OK) {
        return usage;
    }
    if (opts->url) {
        return reviews_from_api(opts, &l);
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    sdat_store_t *st = ctl_open_store(cfg);
    int r = st ? sdat_store_reviews_each(st, NULL, print_review, &l) : -EIO;
    if (r == 0 && !l.json && l.count == 0) {
        printf("no open review items\n");
    }
    sdat_store_close(st);
    sdat_config_free(cfg);
    return r < 0 ? CTL_NEGATIVE : CTL_OK;
}

/* An id goes into a URL path: only the characters ids are made of. */
static bool path_safe(const char *id)
{
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") ==
               strlen(id) &&
           *id && strlen(id) < 100;
}

int ctl_review(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"by", required_argument, NULL, 'b'},
                                                 {NULL, 0, NULL, 0}};
    const char *by = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt != 'b') {
            goto usage;
        }
        by = optarg;
    }
    int n = argc - optind;
    if (!by || n < 2) {
        goto usage;
    }
    const char *action = argv[optind], *id = argv[optind + 1];
    json_t *body;
    if (strcmp(action, "accept") == 0 && n == 3) {
        body = json_pack("{s:s, s:s, s:s}", "decision", "accept", "child_id", argv[optind + 2],
                         "by", by);
    } else if (strcmp(action, "reject") == 0 && n == 2) {
        body = json_pack("{s:s, s:s}", "decision", "reject", "by", by);
    } else {
        goto usage;
    }
    if (!path_safe(id)) {
        fprintf(stderr, "sdatctl: \"%s\" is not a review id\n", id);
        json_decref(body);
        return CTL_USAGE;
    }
    char path[160];
    snprintf(path, sizeof path, "/v1/reviews/%s", id);
    return ctl_api_post(opts, path, body);
usage:
    fprintf(stderr, "usage: sdatctl review accept ID CHILD_ID --by NAME\n"
                    "       sdatctl review reject ID --by NAME\n");
    return CTL_USAGE;
}

int ctl_dlq_replay(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"by", required_argument, NULL, 'b'},
                                                 {NULL, 0, NULL, 0}};
    const char *by = "operator";
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt != 'b') {
            fprintf(stderr, "usage: sdatctl dlq replay ID [--by NAME]\n");
            return CTL_USAGE;
        }
        by = optarg;
    }
    char *end = NULL;
    long long id = optind + 1 == argc ? strtoll(argv[optind], &end, 10) : 0;
    if (id <= 0 || !end || *end) {
        fprintf(stderr, "usage: sdatctl dlq replay ID [--by NAME]\n");
        return CTL_USAGE;
    }
    char path[64];
    snprintf(path, sizeof path, "/v1/dlq/%lld/replay", id);
    char *answer = NULL;
    int rc = ctl_api_post_answer(opts, path, json_pack("{s:s}", "by", by), &answer);
    if (rc == CTL_OK) {
        printf("%s\n", answer);
        /* Rejected again: a negative answer, with where it went. */
        json_t *doc = json_loads(answer, 0, NULL);
        const char *outcome = json_string_value(json_object_get(doc, "outcome"));
        if (!outcome || strcmp(outcome, "processed") != 0) {
            fprintf(stderr, "sdatctl: dead letter %lld was rejected again, as dead letter %lld: "
                            "%s\n",
                    id, (long long)json_integer_value(json_object_get(doc, "dead_letter_id")),
                    ctl_esc(json_string_value(json_object_get(doc, "error"))));
            rc = CTL_NEGATIVE;
        }
        json_decref(doc);
    }
    free(answer);
    return rc;
}

/* The sum of sdat_consumer_lag over the assigned partitions from the
 * daemon's /metrics, or -1 when it cannot be had (no token with the metrics
 * role, or no partition assigned). */
static long long consumer_lag(const struct ctl_options *opts, const struct sdat_config *cfg)
{
    long status = 0;
    char *text = NULL;
    if (ctl_api(opts, cfg, "GET", "/metrics", NULL, &status, &text) < 0) {
        return -1;
    }
    long long sum = -1;
    for (char *line = text, *next; status == 200 && line && *line; line = next) {
        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        if (strncmp(line, "sdat_consumer_lag{", 18) == 0) {
            const char *value = strrchr(line, ' ');
            sum = (sum < 0 ? 0 : sum) + (value ? atoll(value + 1) : 0);
        }
    }
    free(text);
    return sum;
}

static int collect_error(const struct sdat_notification *n, void *opaque)
{
    json_t *list = opaque;
    if (n->last_error && json_array_size(list) < 5) {
        json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:s}", "notification_id", n->id,
                                               "recipient", n->recipient, "state", n->state,
                                               "last_error", n->last_error));
    }
    return 0;
}

static void print_status_table(json_t *out, const char *url_note)
{
    json_t *daemon = json_object_get(out, "daemon");
    if (json_is_string(daemon)) {
        printf("%-14s unreachable%s\n", "daemon", url_note);
    } else if (json_is_true(json_object_get(daemon, "ready"))) {
        printf("%-14s ready\n", "daemon");
    } else {
        printf("%-14s not ready:", "daemon");
        size_t i;
        json_t *v;
        json_array_foreach (json_object_get(daemon, "reasons"), i, v) {
            printf("%s %s", i ? "," : "", ctl_esc(json_string_value(v)));
        }
        putchar('\n');
    }
    json_t *lag = json_object_get(out, "consumer_lag");
    if (json_is_integer(lag)) {
        printf("%-14s %lld messages\n", "consumer lag", (long long)json_integer_value(lag));
    } else {
        printf("%-14s unknown (the daemon is down, nothing is assigned, or the token lacks "
               "the metrics role)\n",
               "consumer lag");
    }
    json_t *children = json_object_get(out, "register_children");
    if (children) {
        printf("%-14s %lld children\n", "register", (long long)json_integer_value(children));
    }
    json_t *pending = json_object_get(out, "pending");
    if (pending) {
        const char *oldest = json_string_value(json_object_get(pending, "oldest_due"));
        printf("%-14s %lld%s%s\n", "pending", (long long)json_integer_value(json_object_get(pending, "count")),
               oldest ? ", the oldest due " : "", oldest ? oldest : "");
    }
    const char *next = json_string_value(json_object_get(out, "next_due"));
    if (next) {
        printf("%-14s %s\n", "next due", next);
    }
    json_t *counts = json_object_get(out, "notifications");
    if (counts) {
        printf("%-14s", "notifications");
        for (const char *const *st = states; *st; st++) {
            printf(" %s %lld", *st, (long long)json_integer_value(json_object_get(counts, *st)));
        }
        putchar('\n');
    }
    json_t *today = json_object_get(out, "today");
    if (today) {
        static const char *const keys[] = {"reviews", "scheduled", "pending", "failed",
                                           "unacknowledged", "dead_letters", NULL};
        printf("%-14s", "today");
        for (const char *const *k = keys; *k; k++) {
            printf(" %s %lld", *k, (long long)json_integer_value(json_object_get(today, *k)));
        }
        putchar('\n');
    }
    size_t i;
    json_t *e;
    json_array_foreach (json_object_get(out, "last_errors"), i, e) {
        printf("%-14s %s %s %s: %s\n", i ? "" : "last errors",
               ctl_esc(json_string_value(json_object_get(e, "notification_id"))),
               ctl_esc(json_string_value(json_object_get(e, "recipient"))),
               ctl_esc(json_string_value(json_object_get(e, "state"))),
               ctl_esc(json_string_value(json_object_get(e, "last_error"))));
    }
}

/* Exit 0 when the daemon is ready, 1 when it is not ready or cannot be
 * reached (interfaces.md keeps 2 for usage errors), 78 for a bad
 * configuration. */
int ctl_status(const struct ctl_options *opts, int argc, char **argv)
{
    bool json = false;
    int usage = ctl_json_only(argc, argv, -1, "sdatctl status [--json]", &json);
    if (usage != CTL_OK) {
        return usage;
    }
    struct sdat_config *cfg = ctl_load_config_reader(opts);
    if (!cfg) {
        return CTL_CONFIG;
    }
    json_t *out = json_object();
    /* Readiness from the daemon itself; "unreachable" when it is not up. */
    long status = 0;
    char *answer = NULL;
    bool ready = false;
    if (ctl_api(opts, cfg, "GET", "/readyz", NULL, &status, &answer) == 0) {
        json_t *doc = json_loads(answer, 0, NULL);
        ready = status == 200 && json_is_true(json_object_get(doc, "ready"));
        json_object_set_new(out, "daemon", doc ? doc : json_pack("{s:b}", "ready", 0));
        long long lag = consumer_lag(opts, cfg);
        json_object_set_new(out, "consumer_lag", lag >= 0 ? json_integer(lag) : json_null());
    } else {
        json_object_set_new(out, "daemon", json_string("unreachable"));
        json_object_set_new(out, "consumer_lag", json_null());
    }
    free(answer);
    sdat_store_t *st = ctl_open_store(cfg);
    int r = st ? 0 : -EIO;
    if (st) {
        json_t *counts = json_object();
        for (const char *const *s = states; *s; s++) {
            int64_t n = 0;
            sdat_store_notification_count(st, *s, &n);
            json_object_set_new(counts, *s, json_integer((json_int_t)n));
        }
        json_object_set_new(out, "notifications", counts);
        /* The console's "today" counts (docs/CONSOLE.md), from the same
         * queries, so that the two can be compared; circuits_open lives in
         * the daemon's memory and is only on the console and /metrics. */
        struct sdat_console_counts c;
        if (sdat_store_console_counts(st, sdat_time_now_ms(), &c) == 0) {
            json_object_set_new(
                out, "today",
                json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "reviews", (json_int_t)c.reviews,
                          "scheduled", (json_int_t)c.scheduled, "pending",
                          (json_int_t)c.pending, "failed", (json_int_t)c.failed,
                          "unacknowledged", (json_int_t)c.unacknowledged, "dead_letters",
                          (json_int_t)c.dead_letters));
        } else {
            r = -EIO;
        }
        int64_t next = 0, children = 0, pending = 0, oldest = INT64_MAX;
        sdat_store_next_due(st, &next);
        sdat_store_child_count(st, &children);
        json_object_set_new(out, "register_children", json_integer((json_int_t)children));
        if (next != INT64_MAX) {
            char at[40];
            sdat_time_format_s(next, at, sizeof at);
            json_object_set_new(out, "next_due", json_string(at));
        }
        if (sdat_store_pending(st, &pending, &oldest) == 0) {
            char at[40] = "";
            if (oldest != INT64_MAX) {
                sdat_time_format_s(oldest, at, sizeof at);
            }
            json_object_set_new(out, "pending",
                                json_pack("{s:I, s:s?}", "count", (json_int_t)pending,
                                          "oldest_due", oldest != INT64_MAX ? at : NULL));
        }
        /* The latest errors: failed for good first, then retries waiting. */
        json_t *errors = json_array();
        sdat_store_notifications_list(st, "failed", 5, collect_error, errors);
        sdat_store_notifications_list(st, "scheduled", 200, collect_error, errors);
        json_object_set_new(out, "last_errors", errors);
    }
    sdat_store_close(st);
    if (json) {
        print_json(out);
    } else {
        char note[600] = "";
        if (!ready && json_is_string(json_object_get(out, "daemon"))) {
            snprintf(note, sizeof note, " (is sdatd running? see sdatctl's message above)");
        }
        print_status_table(out, note);
        json_decref(out);
    }
    sdat_config_free(cfg);
    if (r < 0) {
        return CTL_NEGATIVE;
    }
    return ready ? CTL_OK : CTL_NEGATIVE;
}

int ctl_lookup(const struct ctl_options *opts, int argc, char **argv)
{
    static const struct option long_options[] = {{"at", required_argument, NULL, 'a'},
                                                 {NULL, 0, NULL, 0}};
    const char *at = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
        if (opt != 'a') {
            fprintf(stderr, "usage: sdatctl lookup NHS_NUMBER [--at DATE]\n");
            return CTL_USAGE;
        }
        at = optarg;
    }
    if (optind + 1 != argc) {
        fprintf(stderr, "usage: sdatctl lookup NHS_NUMBER [--at DATE]\n");
        return CTL_USAGE;
    }
    /* In the body, not the URL: the NHS number stays out of every log. */
    json_t *body = json_pack("{s:s}", "nhs_number", argv[optind]);
    if (at) {
        json_object_set_new(body, "at", json_string(at));
    }
    return ctl_api_post(opts, "/v1/cpis/lookups", body);
}
