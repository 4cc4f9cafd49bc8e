/* The store: migrations, the writer lock, notifications and the audit chain. */
#include <criterion/criterion.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "store/store_internal.h" /* the connection, to make the database "full" */

static char dir[64];

static void setup(void)
{
    fixture_dir_make(dir, sizeof dir, "store");
}

static void teardown(void)
{
    fixture_dir_remove(dir);
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
    /* The message names both versions, for the operator who downgraded. */
    char versions[64];
    snprintf(versions, sizeof versions, "version 999, newer than this sdat knows (%d)",
             SDAT_STORE_SCHEMA_VERSION);
    cr_assert(strstr(err, versions) != NULL, "%s", err);
    cr_assert(strstr(err, "backup") != NULL, "%s", err);
    /* Read-only commands (sdatctl status, audit verify) refuse it alike. */
    err[0] = '\0';
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_READONLY, &st, err, sizeof err), -EPROTO);
    cr_assert(strstr(err, versions) != NULL, "%s", err);
    /* And the store was not touched: still 999, not migrated down. */
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    cr_assert_eq(sqlite3_column_int(stmt, 0), 999);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
}

/* A notification n_PREFIX%028d with a payload of about 1 KiB. */
static void insert_numbered(sdat_store_t *st, const char *prefix, int i)
{
    static char payload[1100];
    memset(payload, 'x', sizeof payload);
    payload[0] = '"';
    payload[sizeof payload - 2] = '"';
    payload[sizeof payload - 1] = '\0';
    struct sdat_notification n = {
        .kind = "da-incident",
        .recipient = "school:1",
        .source_key = "f/1",
        .source_version = 1,
        .state = "scheduled",
        .created_ms = 1000,
        .scheduled_ms = 1000,
        .next_attempt_ms = 1000,
        .payload = payload,
        .payload_sha256 = "x",
    };
    snprintf(n.id, sizeof n.id, "n_%s%028d", prefix, i);
    cr_assert_eq(sdat_store_notification_insert(st, &n), 0);
}

struct backup_writer {
    sdat_store_t *writer;
    int calls, last_done, total;
};

/* The daemon's writer commits while the copy runs (after its first step). */
static void write_during_backup(int done, int total, void *opaque)
{
    struct backup_writer *w = opaque;
    if (w->calls++ == 0) {
        cr_assert_eq(sdat_store_begin(w->writer), 0);
        insert_numbered(w->writer, "ffff", 1);
        cr_assert_eq(sdat_store_commit(w->writer), 0);
    }
    cr_assert(done >= w->last_done && done <= total, "%d of %d", done, total);
    w->last_done = done;
    w->total = total;
}

Test(store, backup_beside_a_writer_is_the_snapshot_it_started_from_and_verifies)
{
    sdat_store_t *writer = NULL, *reader = NULL, *copy = NULL;
    char err[256], copy_dir[64], path[128];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &writer, err, sizeof err), 0, "%s", err);
    /* About 3 MiB: the copy takes several steps. */
    cr_assert_eq(sdat_store_begin(writer), 0);
    for (int i = 0; i < 3000; i++) {
        insert_numbered(writer, "0000", i);
    }
    cr_assert_eq(sdat_store_commit(writer), 0);
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_READONLY, &reader, err, sizeof err), 0, "%s", err);

    fixture_dir_make(copy_dir, sizeof copy_dir, "store-copy");
    snprintf(path, sizeof path, "%s/sdat.db", copy_dir);
    struct backup_writer w = {.writer = writer};
    int pages = 0;
    mode_t old = umask(022);
    int r = sdat_store_backup(reader, path, write_during_backup, &w, &pages, err, sizeof err);
    umask(old);
    cr_assert_eq(r, 0, "%s", err);
    cr_assert(w.calls > 1, "the copy took %d steps", w.calls);
    cr_assert_eq(w.last_done, w.total);
    cr_assert_eq(pages, w.total);
    struct stat sb;
    cr_assert_eq(stat(path, &sb), 0);
    cr_assert_eq(sb.st_mode & 0777, 0600, "%o", sb.st_mode & 0777);
    /* One self-contained file: no -wal beside it. */
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", path);
    cr_assert_neq(access(wal, F_OK), 0);

    /* The copy holds what was committed when it started, not what the
     * writer committed during it; the store itself has both. */
    cr_assert_eq(sdat_store_open(copy_dir, SDAT_STORE_READONLY, &copy, err, sizeof err), 0, "%s",
                 err);
    int64_t count = -1;
    cr_assert_eq(sdat_store_notification_count(copy, "scheduled", &count), 0);
    cr_assert_eq(count, 3000);
    cr_assert_eq(sdat_store_schema_version(copy), SDAT_STORE_SCHEMA_VERSION);
    cr_assert_eq(sdat_store_notification_count(writer, "scheduled", &count), 0);
    cr_assert_eq(count, 3001);
    sdat_store_close(copy);

    /* The reader's snapshot ended with the copy: it sees the new row now. */
    cr_assert_eq(sdat_store_notification_count(reader, "scheduled", &count), 0);
    cr_assert_eq(count, 3001);
    sdat_store_close(reader);
    sdat_store_close(writer);
    fixture_dir_remove(copy_dir);
}

Test(store, backup_never_replaces_an_existing_file)
{
    sdat_store_t *st = NULL;
    char err[256], path[128];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    fixture_write(dir, "old.db", "an earlier backup\n");
    snprintf(path, sizeof path, "%s/old.db", dir);
    int pages = -1;
    cr_assert_eq(sdat_store_backup(st, path, NULL, NULL, &pages, err, sizeof err), -EEXIST);
    cr_assert(strstr(err, "exists") != NULL, "%s", err);
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    cr_assert_not_null(f);
    cr_assert_not_null(fgets(buf, sizeof buf, f));
    fclose(f);
    cr_assert_str_eq(buf, "an earlier backup\n");
    /* Nor a link: nothing is written through it. */
    snprintf(path, sizeof path, "%s/link.db", dir);
    char target[128];
    snprintf(target, sizeof target, "%s/target.db", dir);
    cr_assert_eq(symlink(target, path), 0);
    cr_assert_lt(sdat_store_backup(st, path, NULL, NULL, &pages, err, sizeof err), 0);
    cr_assert_neq(access(target, F_OK), 0);
    sdat_store_close(st);
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

Test(store, a_full_database_is_the_reason_given_after_the_rollback)
{
    sdat_store_t *st = NULL;
    sdat_audit_t *audit = NULL;
    char err[256], sql[64];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0);
    cr_assert_eq(sdat_audit_new("test1", &audit), 0);
    /* No page beyond those the database has: as a full disk, SQLITE_FULL. */
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db, "PRAGMA page_count", -1, &stmt, NULL), SQLITE_OK);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %d", sqlite3_column_int(stmt, 0));
    sqlite3_finalize(stmt);
    cr_assert_eq(sqlite3_exec(st->db, sql, NULL, NULL, NULL), SQLITE_OK);

    int r = 0;
    cr_assert_eq(sdat_store_begin(st), 0);
    for (int i = 0; i < 10000 && r == 0; i++) {
        r = sdat_audit_append(audit, st, 1000 + i, "event.accepted", "sdatd",
                              json_pack("{s:s}", "incident", "f/1"),
                              json_pack("{s:s%}", "pad", "0123456789abcdef0123456789abcdef", 32));
    }
    cr_assert_lt(r, 0, "the database never filled");
    sdat_store_rollback(st);
    /* Not the ROLLBACK's own message ("not an error", or "no transaction is
     * active" when SQLite rolled back already). */
    cr_assert(strstr(sdat_store_errmsg(st), "full") != NULL, "%s", sdat_store_errmsg(st));

    /* Space again: the next transaction commits, the chain has no gap. */
    cr_assert_eq(sqlite3_exec(st->db, "PRAGMA max_page_count = 1073741823", NULL, NULL, NULL),
                 SQLITE_OK);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 2000, "event.accepted", "sdatd", NULL, NULL), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    struct chain c = {0};
    memset(c.prev, '0', 64);
    cr_assert_eq(sdat_store_audit_each(st, 1, verify, &c), 0);
    cr_assert_eq(c.bad, 0);
    cr_assert_eq(c.expected, 1);
    sdat_audit_free(audit);
    sdat_store_close(st);
}

static json_t *child(const char *id, const char *given, const char *family, const char *dob,
                     const char *postcode)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}}", "schema", "council.child/1",
                     "child_id", id, "la_code", "831", "given_name", given, "family_name", family,
                     "dob", dob, "nhs_number", "9990000018", "address", "postcode", postcode);
}

/* The candidate rows for a resident police child (the caller frees them). */
static size_t candidate_rows(sdat_store_t *st, const char *given, const char *family,
                             const char *dob, const char *postcode,
                             struct sdat_register_row **ret_rows)
{
    json_t *police = json_pack("{s:s, s:s, s:s}", "given_name", given, "family_name", family,
                               "dob", dob);
    json_t *location = json_pack("{s:s, s:s}", "address", "x", "postcode", postcode);
    struct sdat_match_query q;
    sdat_match_query_from_police(police, location, false, false, true, 0, &q);
    size_t n = 0;
    *ret_rows = NULL;
    cr_assert_eq(sdat_store_register_candidates(st, &q, ret_rows, &n), 0);
    json_decref(police);
    json_decref(location);
    return n;
}

static size_t candidates(sdat_store_t *st, const char *given, const char *family,
                         const char *dob, const char *postcode, int64_t *ret_family_count)
{
    struct sdat_register_row *rows = NULL;
    size_t n = candidate_rows(st, given, family, dob, postcode, &rows);
    if (ret_family_count && n > 0) {
        *ret_family_count = rows[0].family_count;
    }
    sdat_store_rows_free(rows, n);
    return n;
}

/* The writer, in a transaction, with children a and b in the register. */
static sdat_store_t *writer_with(const json_t *a, const json_t *b)
{
    sdat_store_t *st = fixture_store_open(dir);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_child_upsert(st, a, 1), 0);
    cr_assert_eq(sdat_store_child_upsert(st, b, 1), 0);
    return st;
}

Test(store, register_candidates_come_from_blocking_keys_and_follow_changes)
{
    json_t *a = child("C1", "Ashlyn", "Testwood", "2016-04-12", "DE22 3XY");
    json_t *b = child("C2", "Bramwell", "Testwood", "2018-09-30", "DE22 3XY");
    sdat_store_t *st = writer_with(a, b);
    int64_t n = 0, fam = 0;
    cr_assert_eq(sdat_store_child_count(st, &n), 0);
    cr_assert_eq(n, 2);
    /* Same postcode: both; another postcode and dob swapped: C1 only. */
    cr_assert_eq(candidates(st, "Ashlyn", "Testwood", "2016-04-12", "DE22 3XY", &fam), 2);
    cr_assert_eq(fam, 2, "both children count towards the family name");
    cr_assert_eq(candidates(st, "Ashlyn", "Testwood", "2016-12-04", "S40 2QT", NULL), 1);
    cr_assert_eq(candidates(st, "Zed", "Nobody", "2001-01-01", "S40 2QT", NULL), 0);
    /* A change of name and postcode moves the keys with it. */
    json_decref(a);
    a = child("C1", "Ashlyn", "Newname", "2016-04-12", "S40 2QT");
    cr_assert_eq(sdat_store_child_upsert(st, a, 2), 1, "an update answers 1");
    cr_assert_eq(candidates(st, "Bramwell", "Testwood", "2010-01-01", "DE22 3XY", &fam), 1);
    cr_assert_eq(fam, 1, "the family count followed the change");
    cr_assert_eq(sdat_store_child_count(st, &n), 0);
    cr_assert_eq(n, 2);
    /* Deleted: gone from candidates and counts. */
    cr_assert_eq(sdat_store_child_delete(st, "C2"), 0);
    cr_assert_eq(sdat_store_child_delete(st, "C2"), -ENOENT);
    cr_assert_eq(candidates(st, "Bramwell", "Testwood", "2018-09-30", "DE22 3XY", NULL), 0);
    cr_assert_eq(sdat_store_child_count(st, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(sdat_store_commit(st), 0);
    json_decref(a);
    json_decref(b);
    sdat_store_close(st);
}

/* Each candidate row carries its own copy of every matching column, all
 * in one allocation (row_pack): the strings stay valid after the query's
 * statement moves on, and absent columns are NULL. */
Test(store, register_candidate_rows_hold_every_column)
{
    json_t *a = child("C1", "Ashlyn", "Testwood-Rye", "2016-04-12", "DE22 3XY");
    json_t *b = child("C2", "Bramwell", "Testwood", "2016-04-12", "DE22 3XY");
    sdat_store_t *st = writer_with(a, b);
    struct sdat_register_row *rows = NULL;
    size_t n = candidate_rows(st, "Ashlyn", "Testwood", "2016-04-12", "DE22 3XY", &rows);
    cr_assert_eq(n, 2, "one row per child, however many keys it shares");
    cr_assert_str_eq(rows[0].child_id, "C1");
    cr_assert_str_eq(rows[0].given, "ashlyn");
    cr_assert_str_eq(rows[0].family, "testwoodrye");
    cr_assert_str_eq(rows[0].dob, "2016-04-12");
    cr_assert_str_eq(rows[0].postcode, "DE22 3XY");
    cr_assert(rows[0].other_family && strstr(rows[0].other_family, "testwood"),
              "the hyphenated name's parts: %s", rows[0].other_family ? rows[0].other_family : "");
    cr_assert_null(rows[0].uprn);
    cr_assert_str_eq(rows[0].nhs_number, "9990000018");
    cr_assert_null(rows[0].upn);
    cr_assert_str_eq(rows[1].child_id, "C2");
    cr_assert_str_eq(rows[1].given, "bramwell");
    cr_assert_str_eq(rows[1].family, "testwood");
    sdat_store_rows_free(rows, n);
    cr_assert_eq(sdat_store_commit(st), 0);
    json_decref(a);
    json_decref(b);
    sdat_store_close(st);
}

static int indexes_named(sdat_store_t *st, const char *name)
{
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq(sqlite3_prepare_v2(st->db,
                                    "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                    " AND name = ?",
                                    -1, &stmt, NULL),
                 SQLITE_OK);
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    cr_assert_eq(sqlite3_step(stmt), SQLITE_ROW);
    int n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

struct about {
    int64_t seq[8];
    size_t n;
};

static int collect_about(int64_t seq, const char *record, void *opaque)
{
    (void)record;
    struct about *a = opaque;
    cr_assert_lt(a->n, 8);
    a->seq[a->n++] = seq;
    return 0;
}

Test(store, version_1_store_is_migrated_and_its_children_get_matching_keys)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sdat.db", dir);
    sqlite3 *db = NULL;
    cr_assert_eq(sqlite3_open(path, &db), SQLITE_OK);
    /* The walking skeleton's children table, as a version 1 store has it. */
    cr_assert_eq(
        sqlite3_exec(db,
                     "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
                     "CREATE TABLE children(child_id TEXT PRIMARY KEY, la_code TEXT NOT NULL,"
                     " nhs_number TEXT, upn TEXT, dob TEXT NOT NULL, postcode TEXT, doc TEXT NOT NULL,"
                     " updated_ms INTEGER NOT NULL);"
                     "CREATE TABLE incidents(key TEXT PRIMARY KEY, version INTEGER NOT NULL,"
                     " updated_ms INTEGER NOT NULL);"
                     "CREATE TABLE notifications(id TEXT PRIMARY KEY, kind TEXT NOT NULL,"
                     " recipient TEXT NOT NULL, source_key TEXT NOT NULL, source_version INTEGER"
                     " NOT NULL, child_ref TEXT, state TEXT NOT NULL, created_ms INTEGER NOT NULL,"
                     " scheduled_ms INTEGER NOT NULL, next_attempt_ms INTEGER NOT NULL, attempts"
                     " INTEGER NOT NULL DEFAULT 0, payload TEXT, payload_sha256 TEXT NOT NULL,"
                     " amends TEXT, route_reason TEXT, last_error TEXT);"
                     "CREATE TABLE attempts(notification_id TEXT NOT NULL, n INTEGER NOT NULL,"
                     " at_ms INTEGER NOT NULL, outcome TEXT NOT NULL, detail TEXT,"
                     " PRIMARY KEY(notification_id, n));"
                     "CREATE TABLE audit(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, record TEXT"
                     " NOT NULL, hash TEXT NOT NULL);"
                     "CREATE TABLE dead_letters(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
                     " stage TEXT NOT NULL, error TEXT NOT NULL, topic TEXT NOT NULL, partition"
                     " INTEGER NOT NULL, offset INTEGER NOT NULL, key BLOB, value BLOB,"
                     " original_size INTEGER NOT NULL, sent INTEGER NOT NULL DEFAULT 0);"
                     "INSERT INTO children VALUES('C1', '831', NULL, NULL, '2016-04-12', 'DE22 3XY',"
                     " '{\"child_id\":\"C1\",\"dob\":\"2016-04-12\",\"family_name\":\"Testwood\","
                     "\"given_name\":\"Ashlyn\",\"la_code\":\"831\",\"schema\":\"council.child/1\"}', 5);"
                     /* Audit records written before the index of migration 8. */
                     "INSERT INTO audit VALUES(1, 'notification.created', '{\"subject\":"
                     "{\"notification_id\":\"n_1\",\"recipient\":\"school:1\"},"
                     "\"type\":\"notification.created\"}', 'x');"
                     "INSERT INTO audit VALUES(2, 'register.changed', '{\"subject\":"
                     "{\"child_id\":\"C1\"},\"type\":\"register.changed\"}', 'y');"
                     "PRAGMA user_version = 1;",
                     NULL, NULL, NULL),
        SQLITE_OK, "%s", sqlite3_errmsg(db));
    sqlite3_close(db);
    sdat_store_t *st = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_store_schema_version(st), SDAT_STORE_SCHEMA_VERSION);
    int64_t fam = 0;
    cr_assert_eq(candidates(st, "Ashlyn", "Testwood", "2016-04-12", "S40 2QT", &fam), 1);
    cr_assert_eq(fam, 1);
    /* Migration 8's indexes exist and cover the records already there. */
    cr_assert_eq(indexes_named(st, "audit_notification"), 1);
    cr_assert_eq(indexes_named(st, "notifications_created"), 1);
    cr_assert_eq(indexes_named(st, "notifications_failed"), 1);
    struct about a = {0};
    cr_assert_eq(sdat_store_audit_about(st, "n_1", collect_about, &a), 0);
    cr_assert_eq(a.n, 1);
    cr_assert_eq(a.seq[0], 1);
    sdat_store_close(st);
}

/* sdat_store_audit_about: a notification's records, oldest first, and
 * nobody else's (the console's notification page, `sdatctl show`). */
Test(store, audit_about_gives_a_notifications_records_oldest_first)
{
    sdat_store_t *st = NULL;
    sdat_audit_t *audit = NULL;
    char err[256];
    const char *n1 = "n_0123456789abcdef0123456789abcdef";
    const char *n2 = "n_fedcba9876543210fedcba9876543210";
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    cr_assert_eq(sdat_audit_new("test1", &audit), 0);
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1000, "notification.created", "sdatd",
                                   json_pack("{s:s, s:s}", "notification_id", n1, "recipient",
                                             "school:1"),
                                   NULL),
                 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1001, "notification.created", "sdatd",
                                   json_pack("{s:s, s:s}", "notification_id", n2, "recipient",
                                             "school:1"),
                                   NULL),
                 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1002, "register.changed", "sdatd",
                                   json_pack("{s:s}", "child_id", "C1"), NULL),
                 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1003, "config.loaded", "sdatd", NULL, NULL), 0);
    cr_assert_eq(sdat_audit_append(audit, st, 1004, "record.viewed", "A. Operator",
                                   json_pack("{s:s, s:s}", "notification_id", n1, "recipient",
                                             "school:1"),
                                   NULL),
                 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    struct about a = {0};
    cr_assert_eq(sdat_store_audit_about(st, n1, collect_about, &a), 0);
    cr_assert_eq(a.n, 2);
    cr_assert_eq(a.seq[0], 1);
    cr_assert_eq(a.seq[1], 5);
    a.n = 0;
    cr_assert_eq(sdat_store_audit_about(st, n2, collect_about, &a), 0);
    cr_assert_eq(a.n, 1);
    cr_assert_eq(a.seq[0], 2);
    a.n = 0;
    cr_assert_eq(sdat_store_audit_about(st, "n_00000000000000000000000000000000", collect_about, &a),
                 0);
    cr_assert_eq(a.n, 0);
    sdat_audit_free(audit);
    sdat_store_close(st);
}

struct dl_copy {
    int64_t replayed_ms, replayed_as;
    char *json;
};

static int copy_dl(const struct sdat_dead_letter *dl, void *opaque)
{
    struct dl_copy *c = opaque;
    c->replayed_ms = dl->replayed_ms;
    c->replayed_as = dl->replayed_as;
    json_t *j = sdat_store_dead_letter_replay_json(dl);
    c->json = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    return 0;
}

Test(store, a_dead_letter_remembers_its_last_replay)
{
    sdat_store_t *st = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    struct sdat_dead_letter dl = {.at_ms = 1000, .stage = "routing", .error = "no area",
                                  .topic = "police.da-incidents", .partition = 0, .offset = 7,
                                  .value = "{}", .value_len = 2, .original_size = -1};
    int64_t id = 0;
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_dead_letter_insert(st, &dl, &id), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    struct dl_copy c = {0};
    cr_assert_eq(sdat_store_dead_letter_get(st, id, copy_dl, &c), 0);
    cr_assert_eq(c.replayed_ms, 0, "never replayed");
    cr_assert_str_eq(c.json, "null");
    free(c.json);
    cr_assert_eq(sdat_store_dead_letter_mark_replayed(st, id, 1764547200000, id + 1), 0);
    cr_assert_eq(sdat_store_dead_letter_get(st, id, copy_dl, &c), 0);
    cr_assert_eq(c.replayed_ms, 1764547200000);
    cr_assert_eq(c.replayed_as, id + 1);
    cr_assert_str_eq(c.json, "{\"at\":\"2025-12-01T00:00:00.000Z\",\"dead_letter_id\":2,"
                             "\"outcome\":\"dead-lettered\"}");
    free(c.json);
    /* Replayed again, processed: the last replay is what is kept. */
    cr_assert_eq(sdat_store_dead_letter_mark_replayed(st, id, 1764547260000, 0), 0);
    cr_assert_eq(sdat_store_dead_letter_get(st, id, copy_dl, &c), 0);
    cr_assert_eq(c.replayed_as, 0);
    cr_assert_str_eq(c.json, "{\"at\":\"2025-12-01T00:01:00.000Z\",\"outcome\":\"processed\"}");
    free(c.json);
    sdat_store_close(st);
}

Test(store, register_offsets_and_flags)
{
    sdat_store_t *st = NULL;
    char err[256];
    cr_assert_eq(sdat_store_open(dir, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    int64_t next = 0, n = 0;
    cr_assert_eq(sdat_store_register_offset(st, "A", "council.children", 3, &next), -ENOENT);
    cr_assert_eq(sdat_store_register_offset_set(st, "A", "council.children", 3, 42), 0);
    cr_assert_eq(sdat_store_register_offset(st, "A", "council.children", 3, &next), 0);
    cr_assert_eq(next, 42);
    /* Another cluster's partition 3 is another partition. */
    cr_assert_eq(sdat_store_register_offset(st, "B", "council.children", 3, &next), -ENOENT);
    cr_assert_eq(sdat_store_register_offset_set(st, "A", "council.children", 3, 43), 0);
    cr_assert_eq(sdat_store_register_offset(st, "A", "council.children", 3, &next), 0);
    cr_assert_eq(next, 43);
    json_t *flag = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{}}", "schema",
                             "council.cpis-flag/1", "flag_id", "F1", "la_code", "831",
                             "nhs_number", "9990000018", "type", "CPP", "start_date",
                             "2026-01-01", "la_name", "Test", "contact");
    cr_assert_eq(sdat_store_flag_upsert(st, flag, 1), 0);
    cr_assert_eq(sdat_store_flag_upsert(st, flag, 2), 0);
    cr_assert_eq(sdat_store_flag_count(st, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_eq(sdat_store_flag_delete(st, "F1"), 0);
    cr_assert_eq(sdat_store_flag_delete(st, "F1"), -ENOENT);
    json_decref(flag);
    sdat_store_close(st);
}

/* quality.md S9: created 0700/0600 whatever the umask, -wal and -shm too. */
Test(store, a_new_state_directory_is_0700_and_its_files_0600_under_umask_022)
{
    char state[128], path[192], err[256];
    snprintf(state, sizeof state, "%s/state", dir);
    mode_t old = umask(022);
    sdat_store_t *st = NULL;
    int r = sdat_store_open(state, SDAT_STORE_WRITER, &st, err, sizeof err);
    umask(old);
    cr_assert_eq(r, 0, "%s", err);
    struct stat sb;
    cr_assert_eq(stat(state, &sb), 0);
    cr_assert_eq(sb.st_mode & 07777, 0700, "state directory %o", sb.st_mode & 07777);
    static const char *const files[] = {"sdat.db", "sdat.db-wal", "sdat.db-shm", "sdatd.lock"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", state, files[i]);
        cr_assert_eq(stat(path, &sb), 0, "%s", path);
        cr_assert_eq(sb.st_mode & 07777, 0600, "%s is %o", files[i], sb.st_mode & 07777);
    }
    sdat_store_close(st);
}

Test(store, a_link_at_sdat_db_is_refused_and_not_written_through)
{
    char state[128], target[128], path[192], err[256];
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(target, sizeof target, "%s/elsewhere.db", dir);
    cr_assert_eq(mkdir(state, 0700), 0);
    FILE *f = fopen(target, "w");
    cr_assert_not_null(f);
    fputs("not a store\n", f);
    fclose(f);
    snprintf(path, sizeof path, "%s/sdat.db", state);
    cr_assert_eq(symlink(target, path), 0);
    for (int writer = 0; writer < 2; writer++) {
        sdat_store_t *st = NULL;
        unsigned flags = writer ? SDAT_STORE_WRITER : SDAT_STORE_READONLY;
        cr_assert_eq(sdat_store_open(state, flags, &st, err, sizeof err), -ELOOP);
        cr_assert(strstr(err, "is a symbolic link: refused"), "%s", err);
    }
    struct stat sb;
    cr_assert_eq(stat(target, &sb), 0);
    cr_assert_eq(sb.st_size, 12, "the link's target was written");
    snprintf(path, sizeof path, "%s/elsewhere.db-wal", dir);
    cr_assert_neq(access(path, F_OK), 0);
}

Test(store, a_state_directory_reached_through_an_administrators_link_opens)
{
    char real[128], link[128], err[256];
    snprintf(real, sizeof real, "%s/real", dir);
    snprintf(link, sizeof link, "%s/state", dir);
    cr_assert_eq(mkdir(real, 0700), 0);
    cr_assert_eq(symlink(real, link), 0);
    sdat_store_t *st = NULL;
    cr_assert_eq(sdat_store_open(link, SDAT_STORE_WRITER, &st, err, sizeof err), 0, "%s", err);
    sdat_store_close(st);
    char path[192];
    snprintf(path, sizeof path, "%s/sdat.db", real);
    cr_assert_eq(access(path, F_OK), 0);
}
