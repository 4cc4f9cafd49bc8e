#include "store_internal.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* Versioned migrations: migrations[i] takes user_version i to i + 1. Never
 * edit a released step; append a new one. */
static const char *const migrations[] = {
    /* 0 → 1: the walking skeleton's tables. */
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE children("
    "  child_id TEXT PRIMARY KEY, la_code TEXT NOT NULL, nhs_number TEXT, upn TEXT,"
    "  dob TEXT NOT NULL, postcode TEXT, doc TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX children_nhs ON children(nhs_number) WHERE nhs_number IS NOT NULL;"
    "CREATE INDEX children_upn ON children(upn) WHERE upn IS NOT NULL;"
    "CREATE INDEX children_dob ON children(dob);"
    "CREATE TABLE incidents(key TEXT PRIMARY KEY, version INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL);"
    "CREATE TABLE notifications("
    "  id TEXT PRIMARY KEY, kind TEXT NOT NULL, recipient TEXT NOT NULL,"
    "  source_key TEXT NOT NULL, source_version INTEGER NOT NULL, child_ref TEXT,"
    "  state TEXT NOT NULL, created_ms INTEGER NOT NULL, scheduled_ms INTEGER NOT NULL,"
    "  next_attempt_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  payload TEXT, payload_sha256 TEXT NOT NULL, amends TEXT, route_reason TEXT,"
    "  last_error TEXT);"
    "CREATE INDEX notifications_due ON notifications(next_attempt_ms) WHERE state = 'scheduled';"
    "CREATE INDEX notifications_source ON notifications(source_key);"
    "CREATE TABLE attempts(notification_id TEXT NOT NULL, n INTEGER NOT NULL,"
    "  at_ms INTEGER NOT NULL, outcome TEXT NOT NULL, detail TEXT,"
    "  PRIMARY KEY(notification_id, n));"
    "CREATE TABLE audit(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, record TEXT NOT NULL,"
    "  hash TEXT NOT NULL);"
    "CREATE TABLE dead_letters(id INTEGER PRIMARY KEY, at_ms INTEGER NOT NULL,"
    "  stage TEXT NOT NULL, error TEXT NOT NULL, topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    "  offset INTEGER NOT NULL, key BLOB, value BLOB, original_size INTEGER NOT NULL,"
    "  sent INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX dead_letters_unsent ON dead_letters(id) WHERE sent = 0;",
    /* 1 → 2: the register for scored matching (normalised names, blocking
     * keys, family-name counts), CP-IS flags and the register topics'
     * positions. The derived columns of existing children are filled in by
     * store_register_backfill in the same transaction. */
    "ALTER TABLE children ADD COLUMN given_norm TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE children ADD COLUMN family_norm TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE children ADD COLUMN other_given TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE children ADD COLUMN other_family TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE children ADD COLUMN uprn TEXT;"
    /* A key row carries the child's matching columns, so that a block is
     * read as one range of the index, not a row lookup per candidate. */
    "CREATE TABLE child_keys(key TEXT NOT NULL, child_id TEXT NOT NULL,"
    "  given_norm TEXT NOT NULL, family_norm TEXT NOT NULL, other_given TEXT NOT NULL,"
    "  other_family TEXT NOT NULL, dob TEXT NOT NULL, postcode TEXT, uprn TEXT,"
    "  nhs_number TEXT, upn TEXT, PRIMARY KEY(key, child_id)) WITHOUT ROWID;"
    "CREATE INDEX child_keys_child ON child_keys(child_id);"
    "CREATE TABLE family_names(name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE given_names(name TEXT PRIMARY KEY, n INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE TABLE cpis_flags(flag_id TEXT PRIMARY KEY, la_code TEXT NOT NULL,"
    "  nhs_number TEXT NOT NULL, type TEXT NOT NULL, start_date TEXT NOT NULL, end_date TEXT,"
    "  doc TEXT NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX cpis_flags_nhs ON cpis_flags(nhs_number);"
    "CREATE TABLE register_offsets(topic TEXT NOT NULL, partition INTEGER NOT NULL,"
    "  next_offset INTEGER NOT NULL, PRIMARY KEY(topic, partition));",
    /* 2 → 3: amendments and the review queue. An incident keeps its latest
     * version's document (a review decided later routes from it), and a
     * review item holds the routing of a child a person must decide. */
    "ALTER TABLE incidents ADD COLUMN doc TEXT;"
    "CREATE TABLE review_items(id TEXT PRIMARY KEY, incident TEXT NOT NULL,"
    "  version INTEGER NOT NULL, position INTEGER NOT NULL, child_ref TEXT NOT NULL,"
    "  mash TEXT NOT NULL, state TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    "  candidates TEXT NOT NULL, decided_by TEXT, decided_ms INTEGER,"
    "  register_child_id TEXT);"
    "CREATE INDEX review_items_incident ON review_items(incident);"
    "CREATE INDEX review_items_open ON review_items(created_ms) WHERE state = 'open';"
    "CREATE INDEX notifications_recipient ON notifications(recipient, state);",
    /* 3 → 4: delivery. When a notification was delivered and acknowledged,
     * which escalation reasons it has raised (",late,failed,"), and the
     * register child a school notification is about (re-checked just
     * before delivery). */
    "ALTER TABLE notifications ADD COLUMN escalated TEXT NOT NULL DEFAULT ',';"
    "ALTER TABLE notifications ADD COLUMN delivered_ms INTEGER;"
    "ALTER TABLE notifications ADD COLUMN acknowledged_ms INTEGER;"
    "ALTER TABLE notifications ADD COLUMN ack_due_ms INTEGER;"
    "ALTER TABLE notifications ADD COLUMN register_child_id TEXT;"
    /* The once-a-second reads (escalation scan, pending gauge) touch only
     * what is undelivered or waiting for an acknowledgement, never the
     * delivered history. */
    "CREATE INDEX notifications_undelivered ON notifications(scheduled_ms)"
    "  WHERE state IN ('scheduled', 'delivering');"
    "CREATE INDEX notifications_ack_due ON notifications(ack_due_ms)"
    "  WHERE state = 'delivered' AND acknowledged_ms IS NULL;",
    /* 4 → 5: CP-IS. Recorded accesses to a child's flags (an attendance
     * that was not a silent lookup), newest first per NHS number. */
    "CREATE TABLE accesses(id INTEGER PRIMARY KEY, nhs_number TEXT NOT NULL,"
    "  ods_code TEXT NOT NULL, setting TEXT NOT NULL, arrived_ms INTEGER NOT NULL,"
    "  attendance TEXT NOT NULL, recorded_ms INTEGER NOT NULL);"
    "CREATE INDEX accesses_nhs ON accesses(nhs_number, arrived_ms);",
    /* 5 → 6: what must reach Kafka after its transaction commits. A CP-IS
     * response waits here until the broker acknowledged it (then it is
     * deleted: it names an NHS number); an audit record's seq waits until
     * the audit topic acknowledged its mirror copy. An attendance is found
     * again by its key (idempotency). */
    "CREATE TABLE cpis_responses(id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
    "  value TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "CREATE TABLE audit_unmirrored(seq INTEGER PRIMARY KEY);"
    "INSERT INTO audit_unmirrored(seq) SELECT seq FROM audit;"
    "CREATE INDEX accesses_attendance ON accesses(attendance);",
    /* 6 → 7: register positions per Kafka cluster id, and CP-IS response
     * ids never reused. An offset means
     * nothing on another cluster (a rebuilt or failed-over one, the
     * embedded broker's next start): there the topics are read from their
     * beginning. Positions of unknown cluster are dropped, so the register
     * is read once more in full (upserts are idempotent). */
    "CREATE TABLE register_positions(cluster TEXT NOT NULL, topic TEXT NOT NULL,"
    "  partition INTEGER NOT NULL, next_offset INTEGER NOT NULL,"
    "  PRIMARY KEY(cluster, topic, partition)) WITHOUT ROWID;"
    "DROP TABLE register_offsets;"
    /* A CP-IS response row is deleted once sent: its id must never be
     * handed out again (the mirror reads ids above the last it produced),
     * hence AUTOINCREMENT. */
    "CREATE TABLE cpis_responses_new(id INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL,"
    "  value TEXT NOT NULL, created_ms INTEGER NOT NULL);"
    "INSERT INTO cpis_responses_new SELECT id, key, value, created_ms FROM cpis_responses;"
    "DROP TABLE cpis_responses;"
    "ALTER TABLE cpis_responses_new RENAME TO cpis_responses;",
    /* 7 → 8: the console (bench P7). A notification's page and `sdatctl
     * show` read the audit records that name it (every one names it as
     * subject.notification_id) from an index instead of parsing every
     * record: the register's own records (one per child and flag) are left
     * out, so an import pays nothing for it. The list of notifications,
     * newest first, reads an index instead of sorting the table. The
     * "today" page counts the failed ones from their own small index (a
     * scan of every notification's recipient index took 10 ms with
     * 100,000); an index on state alone is not made: without statistics
     * SQLite would prefer it to notifications_due and notifications_ack_due
     * for the outbox's and escalation's queries. */
    "CREATE INDEX audit_notification ON audit(json_extract(record, '$.subject.notification_id'))"
    "  WHERE type <> 'register.changed';"
    "CREATE INDEX notifications_created ON notifications(created_ms, id);"
    "CREATE INDEX notifications_failed ON notifications(state, created_ms, id)"
    "  WHERE state = 'failed';",
    /* 8 → 9: a dead letter remembers its last replay (when, and whether it
     * was processed or rejected again as which dead letter), so that
     * `sdatctl dlq` and GET /v1/dlq show what is still to be dealt with. */
    "ALTER TABLE dead_letters ADD COLUMN replayed_ms INTEGER;"
    "ALTER TABLE dead_letters ADD COLUMN replayed_as INTEGER;",
};

#define N_MIGRATIONS (sizeof migrations / sizeof migrations[0])

sqlite3_stmt *store_stmt(sdat_store_t *st, const char *sql)
{
    for (size_t i = 0; i < st->n_cache; i++) {
        if (st->cache[i].sql == sql) {
            sqlite3_reset(st->cache[i].stmt);
            sqlite3_clear_bindings(st->cache[i].stmt);
            return st->cache[i].stmt;
        }
    }
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) !=
        SQLITE_OK) {
        return NULL;
    }
    if (st->n_cache < STORE_MAX_STMTS) {
        st->cache[st->n_cache].sql = sql;
        st->cache[st->n_cache].stmt = stmt;
        st->n_cache++;
    } else {
        /* A programming error (more distinct statements than the cache):
         * refuse rather than leak one statement per call. */
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

int store_step_done(sdat_store_t *st, sqlite3_stmt *stmt)
{
    (void)st;
    int rc = sqlite3_step(stmt);
    sqlite3_reset(stmt);
    if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
        return 0;
    }
    return rc == SQLITE_FULL ? -ENOSPC : rc == SQLITE_CONSTRAINT ? -EEXIST : -EIO;
}

void store_bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
    if (text) {
        sqlite3_bind_text(stmt, i, text, -1, SQLITE_STATIC);
    } else {
        sqlite3_bind_null(stmt, i);
    }
}

char *store_column_strdup(sqlite3_stmt *stmt, int col)
{
    const unsigned char *text = sqlite3_column_text(stmt, col);
    return text ? strdup((const char *)text) : NULL;
}

int store_row_by_text(sdat_store_t *st, const char *sql, const char *text,
                      sqlite3_stmt **ret_stmt)
{
    sqlite3_stmt *stmt = store_stmt(st, sql);
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, text);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *ret_stmt = stmt;
        return 0;
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int store_run(sdat_store_t *st, const char *sql, const char *types, ...)
{
    sqlite3_stmt *stmt = store_stmt(st, sql);
    if (!stmt) {
        return -EIO;
    }
    va_list ap;
    va_start(ap, types);
    for (int i = 1; types[i - 1]; i++) {
        switch (types[i - 1]) {
        case 't':
            store_bind_text(stmt, i, va_arg(ap, const char *));
            break;
        case 'i':
            sqlite3_bind_int(stmt, i, va_arg(ap, int));
            break;
        case 'I':
            sqlite3_bind_int64(stmt, i, va_arg(ap, int64_t));
            break;
        default:
            va_end(ap);
            return -EINVAL; /* a programming error */
        }
    }
    va_end(ap);
    int r = store_step_done(st, stmt);
    return r < 0 ? r : sqlite3_changes(st->db);
}

static int exec(sdat_store_t *st, const char *sql)
{
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
}

/* A statement run for every event or job (savepoints): prepared once. */
static int exec_cached(sdat_store_t *st, const char *sql)
{
    sqlite3_stmt *stmt = store_stmt(st, sql);
    return stmt && store_step_done(st, stmt) == 0 ? 0 : -EIO;
}

int sdat_store_schema_version(sdat_store_t *st)
{
    sqlite3_stmt *stmt = store_stmt(st, "PRAGMA user_version");
    int version = -1;
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        version = sqlite3_column_int(stmt, 0);
    }
    if (stmt) {
        sqlite3_reset(stmt);
    }
    return version;
}

/* A store written by a newer sdat: never opened, not even read-only (its
 * tables may mean something this binary does not know). The message names
 * both versions and the way back (docs/OPERATING.md "Backup, restore and
 * upgrade"). */
static void newer_store_message(char *err, size_t errlen, int version)
{
    snprintf(err, errlen,
             "the store has schema version %d, newer than this sdat knows (%zu): a newer "
             "sdat has migrated it; run that version, or restore the backup taken before "
             "the upgrade",
             version, N_MIGRATIONS);
}

static int migrate(sdat_store_t *st, char *err, size_t errlen)
{
    int version = sdat_store_schema_version(st);
    if (version < 0) {
        snprintf(err, errlen, "cannot read the store's schema version: %s",
                 sqlite3_errmsg(st->db));
        return -EIO;
    }
    if ((size_t)version > N_MIGRATIONS) {
        newer_store_message(err, errlen, version);
        return -EPROTO;
    }
    for (size_t v = (size_t)version; v < N_MIGRATIONS; v++) {
        char pragma[64];
        snprintf(pragma, sizeof pragma, "PRAGMA user_version = %zu", v + 1);
        if (exec(st, "BEGIN IMMEDIATE") < 0 || exec(st, migrations[v]) < 0 ||
            (v + 1 == 2 && store_register_backfill(st) < 0) || exec(st, pragma) < 0 ||
            exec(st, "COMMIT") < 0) {
            snprintf(err, errlen, "store migration %zu failed: %s", v + 1, sqlite3_errmsg(st->db));
            exec(st, "ROLLBACK");
            return -EIO;
        }
    }
    return 0;
}

static void load_audit_head(sdat_store_t *st)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    st->audit_seq = 0;
    memset(st->audit_hash, '0', 64);
    st->audit_hash[64] = '\0';
    if (stmt && sqlite3_step(stmt) == SQLITE_ROW) {
        st->audit_seq = sqlite3_column_int64(stmt, 0);
        const unsigned char *hash = sqlite3_column_text(stmt, 1);
        if (hash && strlen((const char *)hash) == 64) {
            memcpy(st->audit_hash, hash, 65);
        }
    }
    if (stmt) {
        sqlite3_reset(stmt);
    }
}

static int take_lock(const char *state_dir, int *ret_fd)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/sdatd.lock", state_dir);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno == EWOULDBLOCK ? EBUSY : errno;
        close(fd);
        return -e;
    }
    *ret_fd = fd;
    return 0;
}

bool sdat_store_locked_by_other(const char *state_dir)
{
    int fd = -1;
    int r = take_lock(state_dir, &fd);
    if (r == 0) {
        close(fd);
        return false;
    }
    return r == -EBUSY;
}

/* The state directory, created 0700 whatever the umask (its parents are
 * the administrator's). An existing one keeps its mode. */
static int make_state_dir(const char *state_dir, char *err, size_t errlen)
{
    if (mkdir(state_dir, 0700) == 0) {
        if (chmod(state_dir, 0700) == 0) {
            return 0;
        }
    } else if (errno == EEXIST) {
        return 0;
    }
    int e = errno;
    snprintf(err, errlen, "cannot create state directory \"%s\": %s", state_dir, strerror(e));
    return -e;
}

/* Fills path with STATE_DIR (resolved)/sdat.db. A writer creates sdat.db
 * 0600 whatever the umask when it is absent; sdat.db must not be a link
 * (quality.md S9): the store never follows one it did not make. */
static int prepare_db(const char *state_dir, unsigned flags, char *path, size_t pathlen, char *err,
                      size_t errlen)
{
    char dir[PATH_MAX];
    int e = realpath(state_dir, dir) ? 0 : errno;
    if (e == 0 && snprintf(path, pathlen, "%s/sdat.db", dir) >= (int)pathlen) {
        e = ENAMETOOLONG;
    }
    if (e != 0) {
        snprintf(err, errlen, "cannot open the store in \"%s\": %s", state_dir, strerror(e));
        return -e;
    }
    int fd = -1;
    if (!(flags & SDAT_STORE_READONLY)) {
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 && fchmod(fd, 0600) < 0) {
            e = errno;
            close(fd);
            snprintf(err, errlen, "cannot create the store \"%s/sdat.db\": %s", state_dir,
                     strerror(e));
            return -e;
        }
    }
    if (fd < 0) {
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    }
    if (fd < 0 && errno == ELOOP) {
        snprintf(err, errlen, "the store \"%s/sdat.db\" is a symbolic link: refused", state_dir);
        return -ELOOP;
    }
    if (fd >= 0) {
        close(fd);
    }
    return 0; /* a missing store is SQLite's to report (read-only) */
}

int sdat_store_open(const char *state_dir, unsigned flags, sdat_store_t **ret_st, char *err,
                    size_t errlen)
{
    char path[4096];
    sdat_store_t *st = calloc(1, sizeof *st);
    int r;

    if (!st) {
        return -ENOMEM;
    }
    st->lock_fd = -1;
    st->n_children = -1;
    if (!(flags & SDAT_STORE_READONLY)) {
        r = make_state_dir(state_dir, err, errlen);
        if (r < 0) {
            goto fail;
        }
    }
    if (flags & SDAT_STORE_WRITER) {
        r = take_lock(state_dir, &st->lock_fd);
        if (r < 0) {
            snprintf(err, errlen,
                     r == -EBUSY ? "the store in \"%s\" is in use by a running sdatd or import"
                                 : "cannot lock the store in \"%s\"",
                     state_dir);
            goto fail;
        }
    }
    r = prepare_db(state_dir, flags, path, sizeof path, err, errlen);
    if (r < 0) {
        goto fail;
    }
    /* NOFOLLOW: SQLite itself refuses a link at sdat.db (path is the state
     * directory resolved, so that a link an administrator made above it is
     * not one). Its -wal and -shm files take sdat.db's mode. */
    int oflags = (flags & SDAT_STORE_READONLY) ? SQLITE_OPEN_READONLY
                                               : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
    if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot open the store \"%s/sdat.db\": %s", state_dir,
                 st->db ? sqlite3_errmsg(st->db) : "out of memory");
        r = -EIO;
        goto fail;
    }
    sqlite3_busy_timeout(st->db, 5000);
    if (!(flags & SDAT_STORE_READONLY)) {
        sqlite3_update_hook(st->db, store_on_change, st);
        st->due_hooked = true;
    }
    /* The register's indexes are read for every police child and written
     * for every register record: a 64 MiB page cache and memory-mapped
     * reads keep them off the read() path. Not on a read-only handle: its
     * first read after another connection's commit drops SQLite's whole
     * mapping and maps the file again, and with the HTTP server's threads
     * reading beside a writer that commits hundreds of times a second that
     * was half of sdatd's CPU (munmap, TLB shootdowns and page faults; P2). */
    if (exec(st, "PRAGMA cache_size = -65536") < 0 ||
        exec(st, (flags & SDAT_STORE_READONLY) ? "PRAGMA mmap_size = 0"
                                               : "PRAGMA mmap_size = 4294967296") < 0) {
        snprintf(err, errlen, "cannot configure the store: %s", sqlite3_errmsg(st->db));
        r = -EIO;
        goto fail;
    }
    if (!(flags & SDAT_STORE_READONLY)) {
        /* WAL: readers beside the writer. FULL: a committed transaction
         * survives power loss, because its Kafka offset is committed next. */
        if (exec(st, "PRAGMA journal_mode = WAL") < 0 || exec(st, "PRAGMA synchronous = FULL") < 0 ||
            exec(st, "PRAGMA foreign_keys = ON") < 0) {
            snprintf(err, errlen, "cannot configure the store: %s", sqlite3_errmsg(st->db));
            r = -EIO;
            goto fail;
        }
        r = migrate(st, err, errlen);
        if (r < 0) {
            goto fail;
        }
    } else if (sdat_store_schema_version(st) > (int)N_MIGRATIONS) {
        newer_store_message(err, errlen, sdat_store_schema_version(st));
        r = -EPROTO;
        goto fail;
    } else if (sdat_store_schema_version(st) != (int)N_MIGRATIONS) {
        snprintf(err, errlen, "the store \"%s\" has schema version %d, expected %zu", path,
                 sdat_store_schema_version(st), N_MIGRATIONS);
        r = -EPROTO;
        goto fail;
    }
    load_audit_head(st);
    *ret_st = st;
    return 0;
fail:
    sdat_store_close(st);
    return r;
}

void sdat_store_close(sdat_store_t *st)
{
    if (!st) {
        return;
    }
    if (st->in_txn) {
        sdat_store_rollback(st);
    }
    for (size_t i = 0; i < st->n_cache; i++) {
        sqlite3_finalize(st->cache[i].stmt);
    }
    if (st->db) {
        sqlite3_close(st->db);
    }
    if (st->lock_fd >= 0) {
        close(st->lock_fd);
    }
    free(st->bulk_indexes);
    store_bulk_free(st);
    store_index_free(st->index);
    store_index_free(st->detached);
    free(st);
}

int sdat_store_set_cache(sdat_store_t *st, int mib)
{
    char pragma[64];
    snprintf(pragma, sizeof pragma, "PRAGMA cache_size = -%d", mib * 1024);
    return exec(st, pragma);
}

int sdat_store_begin(sdat_store_t *st)
{
    sqlite3_stmt *stmt = store_stmt(st, "BEGIN IMMEDIATE");
    if (!stmt || store_step_done(st, stmt) < 0) {
        return -EIO;
    }
    st->in_txn = true;
    st->failure[0] = '\0';
    st->sp_depth = 0;
    st->saved_audit_seq = st->audit_seq;
    memcpy(st->saved_audit_hash, st->audit_hash, sizeof st->audit_hash);
    return 0;
}

int sdat_store_commit(sdat_store_t *st)
{
    sqlite3_stmt *stmt = store_stmt(st, "COMMIT");
    int r = stmt ? store_step_done(st, stmt) : -EIO;
    if (r < 0) {
        sdat_store_rollback(st);
        return r;
    }
    st->in_txn = false;
    store_index_commit(st);
    return 0;
}

void sdat_store_rollback(sdat_store_t *st)
{
    if (!st->in_txn) {
        return;
    }
    /* Keep the reason for the caller's message. After some errors (a full
     * disk: SQLITE_FULL) SQLite has already rolled the transaction back,
     * and a ROLLBACK would only fail with "no transaction is active". */
    snprintf(st->failure, sizeof st->failure, "%s", sqlite3_errmsg(st->db));
    if (!sqlite3_get_autocommit(st->db)) {
        exec(st, "ROLLBACK");
    }
    st->in_txn = false;
    store_index_rollback_to(st, 0);
    st->bulk = false; /* its temporary tables and dropped indexes roll back too */
    free(st->bulk_indexes);
    st->bulk_indexes = NULL;
    store_bulk_free(st);
    st->audit_seq = st->saved_audit_seq;
    memcpy(st->audit_hash, st->saved_audit_hash, sizeof st->audit_hash);
}

int sdat_store_savepoint(sdat_store_t *st)
{
    /* A bulk load's name counts in memory go to SQLite first, so that a
     * rollback to the savepoint is SQLite's for them. */
    if (!st->in_txn || st->sp_depth >= STORE_MAX_SAVEPOINTS ||
        (st->bulk && store_bulk_names_flush(st) < 0) || exec_cached(st, "SAVEPOINT sp") < 0) {
        return -EIO;
    }
    st->sp_audit_seq[st->sp_depth] = st->audit_seq;
    memcpy(st->sp_audit_hash[st->sp_depth], st->audit_hash, sizeof st->audit_hash);
    st->sp_index_mark[st->sp_depth] = store_index_mark(st);
    st->sp_bulk_mark[st->sp_depth] = store_bulk_mark(st);
    st->sp_depth++;
    return 0;
}

int sdat_store_savepoint_release(sdat_store_t *st)
{
    if (st->sp_depth == 0) {
        return -EINVAL;
    }
    st->sp_depth--;
    return exec_cached(st, "RELEASE sp");
}

int sdat_store_savepoint_rollback(sdat_store_t *st)
{
    if (st->sp_depth == 0) {
        return -EINVAL;
    }
    st->sp_depth--;
    /* The innermost savepoint of that name: nested ones unwind in order. */
    int r = exec_cached(st, "ROLLBACK TO sp");
    if (r == 0) {
        r = exec_cached(st, "RELEASE sp");
    }
    st->audit_seq = st->sp_audit_seq[st->sp_depth];
    memcpy(st->audit_hash, st->sp_audit_hash[st->sp_depth], sizeof st->audit_hash);
    if (r == 0) {
        store_index_rollback_to(st, st->sp_index_mark[st->sp_depth]);
        store_bulk_rollback_to(st, st->sp_bulk_mark[st->sp_depth]);
        store_bulk_names_clear(st);
    } else {
        store_index_drop(st); /* SQLite's state is unknown: it answers from now on */
    }
    return r;
}

const char *sdat_store_errmsg(sdat_store_t *st)
{
    /* After a rollback SQLite's own message is that of the ROLLBACK. */
    if (sqlite3_errcode(st->db) == SQLITE_OK && st->failure[0]) {
        return st->failure;
    }
    return sqlite3_errmsg(st->db);
}

void sdat_store_audit_head(sdat_store_t *st, int64_t *ret_seq, char ret_hash[65])
{
    *ret_seq = st->audit_seq;
    memcpy(ret_hash, st->audit_hash, 65);
}

int sdat_store_audit_insert(sdat_store_t *st, int64_t seq, const char *type, const char *record,
                            const char *hash)
{
    sqlite3_stmt *stmt =
        store_stmt(st, "INSERT INTO audit(seq, type, record, hash) VALUES (?, ?, ?, ?)");
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, seq);
    store_bind_text(stmt, 2, type);
    store_bind_text(stmt, 3, record);
    store_bind_text(stmt, 4, hash);
    int r = store_step_done(st, stmt);
    if (r == 0) {
        /* Queued for the audit topic in the same transaction. */
        stmt = store_stmt(st, "INSERT INTO audit_unmirrored(seq) VALUES (?)");
        if (!stmt) {
            return -EIO;
        }
        sqlite3_bind_int64(stmt, 1, seq);
        r = store_step_done(st, stmt);
    }
    if (r == 0) {
        st->audit_seq = seq;
        memcpy(st->audit_hash, hash, 64);
        st->audit_hash[64] = '\0';
    }
    return r;
}

int store_rows(sqlite3_stmt *stmt, int (*fn)(sqlite3_stmt *row, void *opaque), void *opaque)
{
    int r = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        r = fn(stmt, opaque);
        if (r != 0) {
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_finalize(stmt);
    return r;
}

struct record_fn {
    int (*fn)(int64_t seq, const char *record, void *opaque);
    void *opaque;
};

static int record_row(sqlite3_stmt *row, void *opaque)
{
    const struct record_fn *rf = opaque;
    const char *record = (const char *)sqlite3_column_text(row, 1);
    return rf->fn(sqlite3_column_int64(row, 0), record ? record : "", rf->opaque);
}

int store_audit_records(sqlite3_stmt *stmt, int (*fn)(int64_t seq, const char *record, void *opaque),
                        void *opaque)
{
    struct record_fn rf = {fn, opaque};
    return store_rows(stmt, record_row, &rf);
}

int sdat_store_audit_each(sdat_store_t *st, int64_t from_seq,
                          int (*fn)(int64_t seq, const char *record, void *opaque), void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    /* Not cached: a long read may overlap cached statements of the caller. */
    if (sqlite3_prepare_v2(st->db, "SELECT seq, record FROM audit WHERE seq >= ? ORDER BY seq", -1,
                           &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, from_seq);
    return store_audit_records(stmt, fn, opaque);
}

int sdat_store_audit_about(sdat_store_t *st, const char *id,
                           int (*fn)(int64_t seq, const char *record, void *opaque), void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    /* Every record about a notification names it as subject.notification_id
     * (the index audit_notification, migration 7 → 8); the register's
     * records never do. */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT seq, record FROM audit WHERE type <> 'register.changed'"
                           " AND json_extract(record, '$.subject.notification_id') = ?"
                           " ORDER BY seq",
                           -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    return store_audit_records(stmt, fn, opaque);
}
