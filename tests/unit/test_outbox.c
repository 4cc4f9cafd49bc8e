/* The outbox over a real store with a scripted connector and a simulated
 * clock: retries and backoff, Retry-After, permanent failures, the circuit
 * over a night of a dead receiver, escalation (late, failed,
 * unacknowledged; once each), concurrency and requeueing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"
#include "config.h"
#include "engine.h"
#include "formats.h"
#include "outbox.h"
#include "schemas.h"
#include "store.h"

static char dir[64];
static struct sdat_config *cfg;
static sdat_store_t *st;
static sdat_audit_t *audit;
static sdat_schemas_t *schemas;
static struct sdat_engine engine;
static sdat_outbox_t *outbox;

static const char config_text[] =
    "state_dir = \"%s\";\n"
    "instance_id = \"test\";\n"
    "kafka = { embedded = true; };\n"
    "delivery = { concurrency = 4; retry_initial = 5; retry_max = 900; circuit_failures = 5;\n"
    "  escalate_after = 7200; give_up_after = 259200; };\n"
    "lawful_basis = { da_incident = \"b1\"; da_incident_urgent = \"b2\"; unmatched_child = \"b3\";\n"
    "  review_needed = \"b4\"; cpis_access = \"b5\"; delivery_failed = \"b6\"; withdrawn = \"b7\"; };\n"
    "calendars = ( { id = \"term\"; terms = ( [ \"2026-09-02\", \"2026-12-18\" ] ); } );\n"
    "areas = ( { la_code = \"831\"; name = \"Test City\"; mash = \"la:831:mash\";\n"
    "  escalation = \"la:831:esc\"; } );\n"
    "recipients = (\n"
    "  { id = \"school:1\"; kind = \"school\"; la_code = \"831\"; name = \"S1\"; urn = \"100001\";\n"
    "    calendar = \"term\"; ack_within = 3600; connector = \"file\"; directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"MASH\"; connector = \"file\";\n"
    "    directory = \"%s/spool\"; },\n"
    "  { id = \"la:831:esc\"; kind = \"escalation\"; la_code = \"831\"; name = \"Escalation desk\";\n"
    "    connector = \"file\"; directory = \"%s/spool\"; }\n"
    ");\n";

/* ---- a scripted connector: deliveries wait in a queue until poll ---- */

struct pending {
    struct sdat_delivery *d;
    sdat_delivery_done_fn done;
    void *opaque;
};

static struct {
    struct pending queue[64];
    size_t n;
    size_t max_in_flight, starts;
    /* The answer to the next deliveries: a status like a web server's. */
    int status;             /* 200 done, 404 failed, 500/503 retry */
    int64_t retry_after_ms; /* with 503 */
    char last_attempt_header[16];
} fake;

static int fake_start(void *ctx, struct sdat_delivery *d, sdat_delivery_done_fn done, void *opaque)
{
    (void)ctx;
    cr_assert_lt(fake.n, 64);
    fake.queue[fake.n++] = (struct pending){d, done, opaque};
    fake.starts++;
    if (fake.n > fake.max_in_flight) {
        fake.max_in_flight = fake.n;
    }
    snprintf(fake.last_attempt_header, sizeof fake.last_attempt_header, "%d", d->attempt);
    return 0;
}

static int fake_poll(void *ctx, int timeout_ms)
{
    (void)ctx;
    (void)timeout_ms;
    size_t n = fake.n;
    fake.n = 0;
    for (size_t i = 0; i < n; i++) {
        struct sdat_delivery *d = fake.queue[i].d;
        enum sdat_delivery_result result = SDAT_DELIVERY_RETRY;
        snprintf(d->detail, sizeof d->detail, "HTTP %d", fake.status);
        if (fake.status / 100 == 2) {
            result = SDAT_DELIVERY_DONE;
        } else if (fake.status == 404) {
            result = SDAT_DELIVERY_FAILED;
        } else if (fake.status == 503) {
            d->retry_after_ms = fake.retry_after_ms;
        }
        fake.queue[i].done(d, result, fake.queue[i].opaque);
    }
    return 0;
}

static void fake_destroy(void *ctx)
{
    (void)ctx;
    fake.n = 0;
}

static const struct sdat_connector_ops fake_ops = {
    .abi = SDAT_CONNECTOR_ABI,
    .name = "fake",
    .start = fake_start,
    .poll = fake_poll,
    .destroy = fake_destroy,
};

static void setup(void)
{
    char path[128], err[256], *errors = NULL;
    snprintf(dir, sizeof dir, "/tmp/sdat-test-outbox-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/sdatd.conf", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fprintf(f, config_text, dir, dir, dir, dir);
    fclose(f);
    cr_assert_eq(sdat_config_load(path, &cfg, &errors), 0, "%s", errors ? errors : "");
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_schemas_new(&schemas, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_audit_new("test", &audit), 0);
    engine = (struct sdat_engine){.cfg = cfg, .st = st, .audit = audit, .schemas = schemas};
    cr_assert_eq(sdat_outbox_new(cfg, NULL, &outbox, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_outbox_bind(outbox, "school:1", &fake_ops, NULL), 0);
    memset(&fake, 0, sizeof fake);
    fake.status = 200;
    srandom(7);
}

static void teardown(void)
{
    char cmd[128];
    sdat_outbox_free(outbox);
    sdat_audit_free(audit);
    sdat_schemas_free(schemas);
    sdat_store_close(st);
    sdat_config_free(cfg);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(outbox, .init = setup, .fini = teardown);

static int64_t ms(const char *datetime)
{
    int64_t v;
    cr_assert_eq(sdat_datetime_parse(datetime, &v), 0, "%s", datetime);
    return v;
}

/* A school notification due at due_ms. */
static void add(const char *id, const char *recipient, int64_t due_ms)
{
    struct sdat_notification n = {
        .kind = "da-incident",
        .recipient = recipient,
        .source_key = "derbyshire/T-1",
        .source_version = 1,
        .child_ref = "c1",
        .state = "scheduled",
        .created_ms = due_ms,
        .scheduled_ms = due_ms,
        .next_attempt_ms = due_ms,
        .payload = "{\"kind\":\"da-incident\",\"synthetic\":true}",
        .payload_sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
    };
    snprintf(n.id, sizeof n.id, "%s", id);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_notification_insert(st, &n), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
}

struct seen {
    char state[16];
    int attempts;
    int64_t next_attempt_ms;
};

static int seen_cb(const struct sdat_notification *n, void *opaque)
{
    struct seen *s = opaque;
    snprintf(s->state, sizeof s->state, "%s", n->state);
    s->attempts = n->attempts;
    s->next_attempt_ms = n->next_attempt_ms;
    return 0;
}

static struct seen seen_of(const char *id)
{
    struct seen s = {0};
    cr_assert_eq(sdat_store_notification_get(st, id, seen_cb, &s), 0);
    return s;
}

/* One turn of the daemon's loop at now: start, answer, record. */
static void turn(int64_t now)
{
    cr_assert_eq(sdat_outbox_run(outbox, &engine, now), 0);
    sdat_outbox_wait(outbox, 0);
    cr_assert_eq(sdat_outbox_run(outbox, &engine, now), 0);
}

/* Runs the loop from `from` to `to` in steps of step_ms. */
static void run_clock(int64_t from, int64_t to, int64_t step_ms)
{
    for (int64_t t = from; t <= to; t += step_ms) {
        turn(t);
    }
}

struct escalations {
    size_t n;
    char reason[8][16];
    char recipient[8][32];
};

static int escalation_cb(const struct sdat_notification *n, void *opaque)
{
    struct escalations *e = opaque;
    if (strcmp(n->kind, "delivery-failed") != 0) {
        return 0;
    }
    json_t *p = json_loads(n->payload, 0, NULL);
    cr_assert_not_null(p);
    cr_assert_lt(e->n, 8);
    snprintf(e->reason[e->n], sizeof e->reason[0], "%s",
             json_string_value(json_object_get(p, "reason")));
    snprintf(e->recipient[e->n], sizeof e->recipient[0], "%s", n->recipient);
    e->n++;
    json_decref(p);
    return 0;
}

static struct escalations escalations_of(const char *id)
{
    struct escalations e = {0};
    cr_assert_eq(sdat_store_notifications_for_source(st, "derbyshire/T-1", escalation_cb, &e), 0);
    (void)id;
    return e;
}

Test(outbox, server_errors_then_success_delivers_after_backoff)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000001", "school:1", t0);
    fake.status = 500;
    turn(t0);
    struct seen s = seen_of("n_00000000000000000000000000000001");
    cr_assert_str_eq(s.state, "scheduled");
    cr_assert_eq(s.attempts, 1);
    /* Attempt 1 waits between half and all of retry_initial (5 s). */
    cr_assert_geq(s.next_attempt_ms, t0 + 2500);
    cr_assert_leq(s.next_attempt_ms, t0 + 5000);
    turn(t0 + 1000); /* not due yet: nothing started */
    cr_assert_eq(fake.starts, 1);
    turn(s.next_attempt_ms);
    s = seen_of("n_00000000000000000000000000000001");
    cr_assert_eq(s.attempts, 2);
    /* Attempt 2: between 5 and 10 s. */
    int64_t at2 = s.next_attempt_ms;
    fake.status = 201;
    turn(at2);
    s = seen_of("n_00000000000000000000000000000001");
    cr_assert_str_eq(s.state, "delivered");
    cr_assert_eq(s.attempts, 3);
    cr_assert_str_eq(fake.last_attempt_header, "3");
    cr_assert_eq(escalations_of(NULL).n, 0);
}

Test(outbox, retry_after_is_honoured)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000002", "school:1", t0);
    fake.status = 503;
    fake.retry_after_ms = 120000;
    turn(t0);
    cr_assert_eq(seen_of("n_00000000000000000000000000000002").next_attempt_ms, t0 + 120000);
}

Test(outbox, a_permanent_failure_fails_at_once_and_escalates_once)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000003", "school:1", t0);
    fake.status = 404;
    turn(t0);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000003").state, "failed");
    run_clock(t0, t0 + 3 * 3600 * 1000LL, 60000);
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.reason[0], "failed");
    cr_assert_str_eq(e.recipient[0], "la:831:esc");
    cr_assert_eq(fake.starts, 1, "a failed notification is not retried");
}

Test(outbox, a_receiver_down_all_night_gets_probes_then_the_delivery)
{
    /* Released 07:30 is not the case here: due at 18:00, so "late" comes
     * escalate_after (2 h) later, not at a start_time. */
    int64_t t0 = ms("2026-11-19T18:00:00Z");
    add("n_00000000000000000000000000000004", "school:1", t0);
    add("n_00000000000000000000000000000005", "school:1", t0);
    fake.status = 500;
    int64_t morning = ms("2026-11-20T06:00:00Z");
    run_clock(t0, morning, 5000);
    /* 12 hours of a dead receiver: the circuit opened after 5 failures,
     * then one probe per retry_max (900 s): about 48, not thousands. */
    cr_assert(sdat_outbox_circuit_open(outbox, "school:1"));
    cr_assert_leq(fake.starts, 5 + 12 * 4 + 2, "%zu attempts", fake.starts);
    cr_assert_geq(fake.starts, 12 * 4 - 2, "%zu attempts", fake.starts);
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 2, "one late escalation per notification");
    cr_assert_str_eq(e.reason[0], "late");
    cr_assert_str_eq(e.reason[1], "late");
    /* The receiver returns: the next probe succeeds and both go. */
    fake.status = 200;
    run_clock(morning, morning + 1800 * 1000LL, 5000);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000004").state, "delivered");
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000005").state, "delivered");
    cr_assert(!sdat_outbox_circuit_open(outbox, "school:1"));
    cr_assert_eq(escalations_of(NULL).n, 2, "no further escalation");
}

Test(outbox, deliveries_in_flight_never_exceed_the_concurrency)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    for (int i = 0; i < 10; i++) {
        char id[40];
        snprintf(id, sizeof id, "n_%032d", 100 + i);
        add(id, "school:1", t0);
    }
    cr_assert_eq(sdat_outbox_run(outbox, &engine, t0), 0);
    cr_assert_eq(sdat_outbox_in_flight(outbox), 4);
    cr_assert_eq(fake.n, 4);
    for (int k = 0; k < 5; k++) {
        turn(t0 + k);
    }
    cr_assert_eq(fake.max_in_flight, 4);
    for (int i = 0; i < 10; i++) {
        char id[40];
        snprintf(id, sizeof id, "n_%032d", 100 + i);
        cr_assert_str_eq(seen_of(id).state, "delivered");
    }
}

Test(outbox, an_unacknowledged_delivery_escalates_once_after_ack_within)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000006", "school:1", t0);
    turn(t0);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000006").state, "delivered");
    run_clock(t0, t0 + 3599 * 1000LL, 60000);
    cr_assert_eq(escalations_of(NULL).n, 0);
    run_clock(t0 + 3600 * 1000LL, t0 + 7200 * 1000LL, 60000);
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.reason[0], "unacknowledged");
}

Test(outbox, a_school_notification_released_at_0730_is_late_at_the_start_time)
{
    /* Due 07:30 GMT, start_time 08:45: late at 08:45, before 09:30. */
    int64_t t0 = ms("2026-11-19T07:30:00Z");
    add("n_00000000000000000000000000000007", "school:1", t0);
    fake.status = 500;
    run_clock(t0, ms("2026-11-19T08:44:00Z"), 60000);
    cr_assert_eq(escalations_of(NULL).n, 0);
    run_clock(ms("2026-11-19T08:45:00Z"), ms("2026-11-19T08:46:00Z"), 60000);
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 1);
    cr_assert_str_eq(e.reason[0], "late");
}

Test(outbox, deliveries_in_flight_are_due_again_when_abandoned)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000008", "school:1", t0);
    cr_assert_eq(sdat_outbox_run(outbox, &engine, t0), 0);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000008").state, "delivering");
    cr_assert_eq(sdat_outbox_abandon(outbox, &engine, t0 + 10), 0);
    struct seen s = seen_of("n_00000000000000000000000000000008");
    cr_assert_str_eq(s.state, "scheduled");
    cr_assert_eq(s.next_attempt_ms, t0 + 10);
    cr_assert_eq(sdat_outbox_in_flight(outbox), 0);
}

Test(outbox, undelivered_after_give_up_after_fails_and_escalates_failed)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000009", "school:1", t0);
    fake.status = 500;
    run_clock(t0, t0 + 259200 * 1000LL + 120000, 60000);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000009").state, "failed");
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 2);
    cr_assert_str_eq(e.reason[0], "late");
    cr_assert_str_eq(e.reason[1], "failed");
}

static int ack(const char *id, int64_t now)
{
    cr_assert_eq(sdat_store_begin(st), 0);
    int r = sdat_engine_acknowledge(&engine, id, "A. Teacher", now);
    if (r >= 0) {
        cr_assert_eq(sdat_store_commit(st), 0);
    } else {
        sdat_store_rollback(st);
    }
    return r;
}

Test(outbox, an_acknowledged_delivery_is_not_escalated_and_acks_follow_the_states)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_0000000000000000000000000000000a", "school:1", t0);
    fake.status = 500;
    turn(t0);
    cr_assert_eq(ack("n_0000000000000000000000000000000a", t0 + 1), -EBUSY, "not delivered: 409");
    cr_assert_eq(ack("n_ffffffffffffffffffffffffffffffff", t0 + 1), -ENOENT);
    fake.status = 200;
    turn(seen_of("n_0000000000000000000000000000000a").next_attempt_ms);
    cr_assert_eq(ack("n_0000000000000000000000000000000a", t0 + 60000), 0);
    cr_assert_str_eq(seen_of("n_0000000000000000000000000000000a").state, "acknowledged");
    cr_assert_eq(ack("n_0000000000000000000000000000000a", t0 + 70000), 1, "again: 204");
    run_clock(t0, t0 + 7200 * 1000LL, 60000);
    cr_assert_eq(escalations_of(NULL).n, 0, "acknowledged within ack_within: no escalation");
}
