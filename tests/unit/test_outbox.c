/* The outbox over a real store with a scripted connector and a simulated
 * clock: retries and backoff, Retry-After, permanent failures, the circuit
 * over a night of a dead receiver (one circuit per recipient), escalation
 * (late, failed, unacknowledged; once each; delivery-failed ids as
 * delivery.md derives them; never an escalation of a delivery-failed),
 * concurrency and requeueing. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "fixture.h"

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

/* ---- a scripted connector: deliveries wait in a queue until poll ----
 * A recipient bound with a ctx (an int) answers with *ctx; the others with
 * fake.status. */

struct pending {
    struct sdat_delivery *d;
    sdat_delivery_done_fn done;
    void *opaque;
    const int *status; /* the recipient's own answer (its bound ctx), or NULL */
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
    cr_assert_lt(fake.n, 64);
    fake.queue[fake.n++] = (struct pending){d, done, opaque, ctx};
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
        int status = fake.queue[i].status ? *fake.queue[i].status : fake.status;
        enum sdat_delivery_result result = SDAT_DELIVERY_RETRY;
        snprintf(d->detail, sizeof d->detail, "HTTP %d", status);
        if (status / 100 == 2) {
            result = SDAT_DELIVERY_DONE;
        } else if (status == 404) {
            result = SDAT_DELIVERY_FAILED;
        } else if (status == 503) {
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
    char err[256];
    fixture_dir_make(dir, sizeof dir, "outbox");
    fixture_write(dir, "sdatd.conf", config_text, dir, dir, dir, dir);
    engine = fixture_engine_open(dir, &cfg, &st, &schemas, &audit);
    cr_assert_eq(sdat_outbox_new(cfg, NULL, &outbox, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_outbox_bind(outbox, "school:1", &fake_ops, NULL), 0);
    memset(&fake, 0, sizeof fake);
    fake.status = 200;
    srandom(7);
}

static void teardown(void)
{
    sdat_outbox_free(outbox);
    fixture_close(cfg, st, schemas, audit);
    fixture_dir_remove(dir);
}

TestSuite(outbox, .init = setup, .fini = teardown);

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
    char id[8][40], payload_id[8][40], failed_id[8][40];
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
    snprintf(e->id[e->n], sizeof e->id[0], "%s", n->id);
    snprintf(e->payload_id[e->n], sizeof e->payload_id[0], "%s",
             json_string_value(json_object_get(p, "notification_id")));
    snprintf(e->failed_id[e->n], sizeof e->failed_id[0], "%s",
             json_string_value(json_object_get(p, "failed_notification_id")));
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

/* The audit records of one type: how many, and the last (new reference,
 * when ret_last is not NULL). */
static size_t audit_count(const char *type, json_t **ret_last)
{
    return fixture_audit_count(st, NULL, type, ret_last);
}

static const char *subject_of(const json_t *record, const char *field)
{
    return json_string_value(json_object_get(json_object_get(record, "subject"), field));
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
    json_t *rec = NULL;
    cr_assert_eq(audit_count("notification.failed", &rec), 1);
    cr_assert_str_eq(subject_of(rec, "notification_id"), "n_00000000000000000000000000000003");
    json_decref(rec);
    cr_assert_eq(audit_count("notification.escalated", &rec), 1);
    cr_assert_str_eq(subject_of(rec, "notification_id"), "n_00000000000000000000000000000003");
    json_t *detail = json_object_get(rec, "detail");
    cr_assert_str_eq(json_string_value(json_object_get(detail, "reason")), "failed");
    cr_assert_str_eq(json_string_value(json_object_get(detail, "escalated_to")), "la:831:esc");
    cr_assert_str_eq(json_string_value(json_object_get(detail, "escalation_id")), e.id[0]);
    json_decref(rec);
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
    cr_assert_not(sdat_outbox_full(outbox));
    cr_assert_eq(sdat_outbox_run(outbox, &engine, t0), 0);
    cr_assert_eq(sdat_outbox_in_flight(outbox), 4);
    cr_assert_eq(fake.n, 4);
    cr_assert(sdat_outbox_full(outbox), "every flight taken: the main loop waits for a receiver");
    for (int k = 0; k < 5; k++) {
        turn(t0 + k);
    }
    cr_assert_eq(fake.max_in_flight, 4);
    for (int i = 0; i < 10; i++) {
        char id[40];
        snprintf(id, sizeof id, "n_%032d", 100 + i);
        cr_assert_str_eq(seen_of(id).state, "delivered");
    }
    cr_assert_not(sdat_outbox_full(outbox));
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

Test(outbox, deliveries_in_flight_are_due_again_when_abandoned)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000008", "school:1", t0);
    cr_assert_eq(sdat_outbox_run(outbox, &engine, t0), 0);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000008").state, "delivering");
    cr_assert_eq(ack("n_00000000000000000000000000000008", t0 + 5), -EBUSY,
                 "being delivered: not acknowledged (409)");
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
    cr_assert_eq(ack("n_00000000000000000000000000000009", t0 + 259200 * 1000LL + 180000), -EBUSY,
                 "failed: never delivered, so not acknowledged (409)");
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 2);
    cr_assert_str_eq(e.reason[0], "late");
    cr_assert_str_eq(e.reason[1], "failed");
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

/* ---- delivery-failed ids, circuits per recipient, no escalation of an
 * escalation ---- */

/* delivery.md, computed here apart from ids.c: "n_" and the first 32
 * lowercase hex digits of SHA-256 over the six parts joined by NUL bytes. */
static void expected_id(const char *const parts[6], char ret_id[40])
{
    unsigned char buf[512], md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    size_t len = 0;
    for (int i = 0; i < 6; i++) {
        size_t n = strlen(parts[i]);
        cr_assert_lt(len + n + 1, sizeof buf);
        if (i > 0) {
            buf[len++] = '\0';
        }
        memcpy(buf + len, parts[i], n);
        len += n;
    }
    cr_assert_eq(EVP_Digest(buf, len, md, &md_len, EVP_sha256(), NULL), 1);
    cr_assert_eq(md_len, 32);
    memcpy(ret_id, "n_", 2);
    for (int i = 0; i < 16; i++) {
        snprintf(ret_id + 2 + 2 * i, 3, "%02x", md[i]);
    }
}

Test(outbox, a_delivery_failed_id_is_derived_from_the_failed_id_and_the_reason)
{
    /* The derivation itself, against a value computed with Python's
     * hashlib: sha256(b"delivery-failed\0n_0…0b\0" b"1\0\0la:831:esc\0late"). */
    static const char *const sample[6] = {"delivery-failed", "n_0000000000000000000000000000000b",
                                          "1",               "",
                                          "la:831:esc",      "late"};
    char want[40];
    expected_id(sample, want);
    cr_assert_str_eq(want, "n_285ad786fdf72a3d6e845010814246f3");

    /* Undelivered past escalate_after (late), then failed for good. */
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    const char *failed_id = "n_0000000000000000000000000000000b";
    add(failed_id, "school:1", t0);
    fake.status = 500;
    run_clock(t0, t0 + 7260 * 1000LL, 60000);
    fake.status = 404;
    run_clock(t0 + 7320 * 1000LL, t0 + 9000 * 1000LL, 60000);
    cr_assert_str_eq(seen_of(failed_id).state, "failed");
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 2);
    for (size_t i = 0; i < e.n; i++) {
        const char *parts[6] = {"delivery-failed", failed_id, "1", "", "la:831:esc", e.reason[i]};
        expected_id(parts, want);
        cr_assert_str_eq(e.id[i], want, "%s escalation", e.reason[i]);
        cr_assert_str_eq(e.payload_id[i], want);
        cr_assert_str_eq(e.failed_id[i], failed_id);
    }
    cr_assert_str_eq(e.reason[0], "late");
    cr_assert_str_eq(e.reason[1], "failed");
    cr_assert_str_neq(e.id[0], e.id[1]);
}

Test(outbox, each_recipient_has_its_own_circuit)
{
    static int mash_status = 500;
    mash_status = 500;
    cr_assert_eq(sdat_outbox_bind(outbox, "la:831:mash", &fake_ops, &mash_status), 0);
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    fake.status = 500;
    /* Three failures at school:1 and two at the MASH: five in a row, but
     * not five at any one recipient. */
    add("n_00000000000000000000000000000c01", "school:1", t0);
    add("n_00000000000000000000000000000c02", "school:1", t0);
    add("n_00000000000000000000000000000c03", "school:1", t0);
    add("n_00000000000000000000000000000c04", "la:831:mash", t0);
    add("n_00000000000000000000000000000c05", "la:831:mash", t0);
    turn(t0);
    turn(t0 + 1);
    cr_assert_eq(fake.starts, 5);
    cr_assert(!sdat_outbox_circuit_open(outbox, "school:1"));
    cr_assert(!sdat_outbox_circuit_open(outbox, "la:831:mash"));
    /* Two more at school:1 open its circuit, and only its. */
    add("n_00000000000000000000000000000c06", "school:1", t0 + 2);
    add("n_00000000000000000000000000000c07", "school:1", t0 + 2);
    turn(t0 + 2);
    cr_assert_eq(fake.starts, 7);
    cr_assert(sdat_outbox_circuit_open(outbox, "school:1"));
    cr_assert(!sdat_outbox_circuit_open(outbox, "la:831:mash"));
    /* The MASH is back: a new notification to it goes at once, while one
     * to the school waits for the school's probe. */
    mash_status = 200;
    add("n_00000000000000000000000000000c08", "la:831:mash", t0 + 3);
    add("n_00000000000000000000000000000c09", "school:1", t0 + 3);
    turn(t0 + 3);
    struct seen s = seen_of("n_00000000000000000000000000000c08");
    cr_assert_str_eq(s.state, "delivered");
    cr_assert_eq(s.attempts, 1);
    s = seen_of("n_00000000000000000000000000000c09");
    cr_assert_str_eq(s.state, "scheduled");
    cr_assert_eq(s.attempts, 0, "the school's circuit is open: not attempted");
    cr_assert_eq(fake.starts, 8);
}

Test(outbox, a_delivery_failed_notification_is_retried_but_never_escalated)
{
    static int escalation_status = 404;
    escalation_status = 404;
    cr_assert_eq(sdat_outbox_bind(outbox, "la:831:esc", &fake_ops, &escalation_status), 0);
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    add("n_00000000000000000000000000000d01", "school:1", t0);
    fake.status = 404;
    turn(t0);
    turn(t0 + 1);
    struct escalations e = escalations_of(NULL);
    cr_assert_eq(e.n, 1);
    /* The delivery-failed itself failed for good: no escalation of it. */
    cr_assert_str_eq(seen_of(e.id[0]).state, "failed");
    run_clock(t0 + 2, t0 + 3 * 3600 * 1000LL, 60000);
    cr_assert_eq(escalations_of(NULL).n, 1);

    /* Another whose delivery-failed keeps being retried, past
     * escalate_after (late) and give_up_after (failed): still none. */
    escalation_status = 500;
    int64_t t1 = ms("2026-11-23T10:00:00Z");
    add("n_00000000000000000000000000000d02", "school:1", t1);
    turn(t1);
    turn(t1 + 1);
    e = escalations_of(NULL);
    cr_assert_eq(e.n, 2);
    cr_assert_str_eq(e.failed_id[1], "n_00000000000000000000000000000d02");
    char second[40];
    snprintf(second, sizeof second, "%s", e.id[1]);
    run_clock(t1 + 2, t1 + 80 * 3600 * 1000LL, 600000);
    cr_assert_str_eq(seen_of(second).state, "failed", "retrying stops at give_up_after");
    cr_assert_gt(seen_of(second).attempts, 1, "a delivery-failed is retried");
    cr_assert_eq(escalations_of(NULL).n, 2, "no delivery-failed about a delivery-failed");
    cr_assert_eq(audit_count("notification.escalated", NULL), 2);
}

/* The outbox skips its due query while the earliest next attempt the store
 * keeps (sdat_store_next_due) is later than now: a notification written
 * since, by any path, and one whose change was rolled back are still
 * started on time. */
Test(outbox, nothing_due_skips_the_query_yet_every_notification_starts_on_time)
{
    int64_t t0 = ms("2026-11-19T10:00:00Z");
    int64_t due = 0;
    add("n_00000000000000000000000000000010", "school:1", t0 + 60000);
    turn(t0);
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, t0 + 60000, "the earliest next attempt, kept");
    cr_assert_eq(fake.starts, 0);

    /* Written after the time was kept: due earlier. */
    add("n_00000000000000000000000000000011", "school:1", t0 + 1000);
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, t0 + 1000, "an insert is seen");
    turn(t0 + 1000);
    cr_assert_eq(fake.starts, 1);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000011").state, "delivered");

    /* Deferred within a transaction that is rolled back: the time read in
     * it (later) must not be kept. */
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(
        sdat_store_notification_defer(st, "n_00000000000000000000000000000010", t0 + 3600000), 0);
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, t0 + 3600000);
    sdat_store_rollback(st);
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, t0 + 60000, "the committed time again");
    turn(t0 + 59999);
    cr_assert_eq(fake.starts, 1, "not before its time");
    turn(t0 + 60000);
    cr_assert_eq(fake.starts, 2, "and at its time");

    /* The same in a job's savepoint rolled back inside a transaction
     * that commits. */
    add("n_00000000000000000000000000000012", "school:1", t0 + 70000);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_savepoint(st), 0);
    cr_assert_eq(
        sdat_store_notification_defer(st, "n_00000000000000000000000000000012", t0 + 3600000), 0);
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(sdat_store_savepoint_rollback(st), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    turn(t0 + 70000);
    cr_assert_eq(fake.starts, 3);
    cr_assert_str_eq(seen_of("n_00000000000000000000000000000012").state, "delivered");
    cr_assert_eq(sdat_store_next_due(st, &due), 0);
    cr_assert_eq(due, INT64_MAX, "nothing scheduled");
}
