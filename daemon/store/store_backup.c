/* A consistent copy of the store while the daemon writes it (SQLite's
 * online backup API; docs/OPERATING.md "Backup, restore and upgrade"). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_internal.h"

/* Pages copied per step (4 KiB each): the copy yields between steps, so
 * that it shares the disk with the daemon's writer rather than hogging it. */
#define BACKUP_PAGES_PER_STEP 256

/* Creates path 0600 (whatever the umask), refusing an existing file or a
 * link: 0 or a negative errno. */
static int create_target(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        return -errno;
    }
    int r = fchmod(fd, 0600) == 0 ? 0 : -errno;
    close(fd);
    return r;
}

/* PRAGMA quick_check on the copy: 0 when it answers "ok". */
static int verify_copy(sqlite3 *db, char *err, size_t errlen)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &stmt, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot check the copy: %s", sqlite3_errmsg(db));
        return -EIO;
    }
    int r = 0;
    if (sqlite3_step(stmt) != SQLITE_ROW) {
        snprintf(err, errlen, "cannot check the copy: %s", sqlite3_errmsg(db));
        r = -EIO;
    } else {
        const char *answer = (const char *)sqlite3_column_text(stmt, 0);
        if (!answer || strcmp(answer, "ok") != 0) {
            snprintf(err, errlen, "the copy does not pass quick_check: %s",
                     answer ? answer : "(no answer)");
            r = -EIO;
        }
    }
    sqlite3_finalize(stmt);
    return r;
}

/* The copy's schema version must be the source's (a copy of what was
 * read, not of something else). */
static int copy_version(sqlite3 *db)
{
    sqlite3_stmt *stmt = NULL;
    int version = -1;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, NULL) == SQLITE_OK &&
        sqlite3_step(stmt) == SQLITE_ROW) {
        version = sqlite3_column_int(stmt, 0);
    }
    sqlite3_finalize(stmt);
    return version;
}

int sdat_store_backup(sdat_store_t *st, const char *path,
                      void (*progress)(int done, int total, void *opaque), void *opaque,
                      int *ret_pages, char *err, size_t errlen)
{
    if (st->in_txn) {
        snprintf(err, errlen, "a backup cannot run inside a transaction");
        return -EINVAL;
    }
    int r = create_target(path);
    if (r < 0) {
        snprintf(err, errlen, r == -EEXIST ? "%s exists: a backup never replaces a file"
                                           : "cannot create %s: %s",
                 path, strerror(-r));
        return r;
    }
    sqlite3 *dst = NULL;
    sqlite3_backup *bk = NULL;
    bool reading = false;
    int pages = 0;
    if (sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL) !=
        SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s: %s", path,
                 dst ? sqlite3_errmsg(dst) : "out of memory");
        r = -EIO;
        goto fail;
    }
    /* One read transaction on the source for the whole copy: every step
     * reads the same snapshot, so a commit by the daemon meanwhile neither
     * restarts the copy nor makes it inconsistent, and in WAL mode it does
     * not wait for the copy either (only checkpoints stop at the snapshot
     * until the copy ends). */
    if (sqlite3_exec(st->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(st->db, "SELECT count(*) FROM sqlite_schema", NULL, NULL, NULL) !=
            SQLITE_OK) {
        snprintf(err, errlen, "cannot read the store: %s", sqlite3_errmsg(st->db));
        r = -EIO;
        goto fail;
    }
    reading = true;
    int source_version = sdat_store_schema_version(st);
    bk = sqlite3_backup_init(dst, "main", st->db, "main");
    if (!bk) {
        snprintf(err, errlen, "cannot start the copy: %s", sqlite3_errmsg(dst));
        r = -EIO;
        goto fail;
    }
    int rc;
    do {
        rc = sqlite3_backup_step(bk, BACKUP_PAGES_PER_STEP);
        int total = sqlite3_backup_pagecount(bk);
        if (progress) {
            progress(total - sqlite3_backup_remaining(bk), total, opaque);
        }
        if (rc == SQLITE_OK) {
            sqlite3_sleep(1);
        } else if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
            sqlite3_sleep(50);
            rc = SQLITE_OK;
        }
    } while (rc == SQLITE_OK);
    pages = sqlite3_backup_pagecount(bk);
    rc = sqlite3_backup_finish(bk);
    bk = NULL;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "the copy failed: %s", sqlite3_errmsg(dst));
        r = rc == SQLITE_FULL ? -ENOSPC : -EIO;
        goto fail;
    }
    sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL);
    reading = false;
    /* One self-contained file: the copy leaves WAL mode (the daemon sets it
     * again when it opens a restored store). */
    if (sqlite3_exec(dst, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot finish %s: %s", path, sqlite3_errmsg(dst));
        r = -EIO;
        goto fail;
    }
    r = verify_copy(dst, err, errlen);
    if (r < 0) {
        goto fail;
    }
    if (copy_version(dst) != source_version) {
        snprintf(err, errlen, "the copy has schema version %d, the store %d", copy_version(dst),
                 source_version);
        r = -EIO;
        goto fail;
    }
    if (sqlite3_close(dst) != SQLITE_OK) {
        snprintf(err, errlen, "cannot close %s", path);
        dst = NULL;
        r = -EIO;
        goto fail;
    }
    *ret_pages = pages;
    return 0;
fail:
    if (bk) {
        sqlite3_backup_finish(bk);
    }
    if (reading) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_close(dst);
    /* Never leave a copy that did not verify where a backup is expected. */
    unlink(path);
    return r;
}
