/* The store: migrations, the writer lock, notifications and the audit chain. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "store.h"

static char dir[64];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/sdat-test-store-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void teardown(void)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    cr_assert_eq(system(cmd), 0);
}

TestSuite(store, .init = setup, .fini = teardown);

Test(store, new_store_is_migrated_to_the_current_schema_version)
{
    sdat_store_t *st = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_store_schema_version(st), SDAT_STORE_SCHEMA_VERSION);
    sdat_store_close(st);
    /* Opening again keeps the data and the version (migrations run once). */
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_store_schema_version(st), SDAT_STORE_SCHEMA_VERSION);
    sdat_store_close(st);
}

Test(store, store_from_a_newer_version_is_refused)
{
    sdat_store_t *st = NULL;
    char err[256], path[128];
    sqlite3 *db;
    snprintf(path, sizeof path, "%s/sdat.db", dir);
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    cr_assert_eq(sqlite3_exec(db, "PRAGMA user_version = 999", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), -EPROTO);
    cr_assert(strstr(err, "newer") != NULL, "%s", err);
}

Test(store, second_writer_is_refused_while_the_first_holds_the_lock)
{
    sdat_store_t *first = NULL, *second = NULL, *reader = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &first, err, sizeof err), 0);
    cr_assert(sdat_store_locked_by_other(dir));
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &second, err, sizeof err), -EBUSY);
    cr_assert(strstr(err, "in use") != NULL, "%s", err);
    /* Readers never take the lock. */
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_READONLY, &reader, err, sizeof err), 0, "%s", err);
    sdat_store_close(reader);
    sdat_store_close(first);
    cr_assert_not(sdat_store_locked_by_other(dir));
}

static int count_due(const struct sdat_notification *n, void *opaque)
{
    cr_assert_str_eq(n->payload, "{}");
    (*(int *)opaque)++;
    return 0;
}

Test(store, notification_insert_is_idempotent_by_id)
{
    sdat_store_t *st = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0);
    struct sdat_notification n = {
        .id = "n_0123456789abcdef0123456789abcdef",
        .kind = "da-incident",
        .recipient = "school:1",
        .source_key = "f/1",
        .source_version = 1,
        .state = "scheduled",
        .created_ms = 1000,
        .scheduled_ms = 1000,
        .next_attempt_ms = 1000,
        .payload = "{}",
        .payload_sha256 = "x",
    };
    cr_assert_eq(sdat_store_notification_insert(st, &n), 0);
    cr_assert_eq(sdat_store_notification_insert(st, &n), 1);
    int due = 0;
    cr_assert_eq(sdat_store_notifications_due(st, 999, 10, count_due, &due), 0);
    cr_assert_eq(due, 0);
    cr_assert_eq(sdat_store_notifications_due(st, 1000, 10, count_due, &due), 0);
    cr_assert_eq(due, 1);
    cr_assert_eq(sdat_store_notification_update(st, n.id, "delivered", 1, 1000, NULL), 0);
    int64_t count = -1;
    cr_assert_eq(sdat_store_notification_count(st, "delivered", &count), 0);
    cr_assert_eq(count, 1);
    sdat_store_close(st);
}

struct chain {
    int64_t expected;
    char prev[65];
    int bad;
};

static int verify(int64_t seq, const char *record, void *opaque)
{
    struct chain *c = opaque;
    char hash[65], reason[128];
    c->expected++;
    if (seq != c->expected ||
        sdat_audit_verify_record(record, c->expected, c->prev, hash, reason, sizeof reason) < 0) {
        c->bad++;
        return 1;
    }
    memcpy(c->prev, hash, 65);
    return 0;
}

Test(store, audit_chain_links_records_and_rolls_back_with_the_transaction)
{
    sdat_store_t *st = NULL;
    sdat_audit_t *audit = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0);
    cr_assert_eq(sdat_audit_new("test1", &audit), 0);

    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1000, "config.loaded", "sdatd", NULL, NULL), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1001, "event.accepted", "sdatd",
                                   json_pack("{s:s}", "incident", "f/1"), NULL),
                 0);
    cr_assert_eq(sdat_store_commit(st), 0);

    /* A rolled-back record leaves no gap and no stale head. */
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1002, "event.accepted", "sdatd", NULL, NULL), 0);
    sdat_store_rollback(st);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1003, "event.stale", "sdatd", NULL, NULL), 0);
    cr_assert_eq(sdat_store_commit(st), 0);

    struct chain c = {0};
    memset(c.prev, '0', 64);
    cr_assert_eq(sdat_store_audit_each(st, 1, verify, &c), 0);
    cr_assert_eq(c.bad, 0);
    cr_assert_eq(c.expected, 3);
    sdat_audit_free(audit);
    sdat_store_close(st);
}
