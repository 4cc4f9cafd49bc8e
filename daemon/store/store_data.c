/* The store's rows: incidents, notifications, attempts,
 * dead letters. */
#include "store_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"

int store_count(sdat_store_t *st, sqlite3_stmt *stmt, int64_t *ret_count)
{
    (void)st;
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *ret_count = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

int sdat_store_notification_count(sdat_store_t *st, const char *state, int64_t *ret_count)
{
    if (!state) {
        return store_count(st, store_stmt(st, "SELECT count(*) FROM notifications"), ret_count);
    }
    sqlite3_stmt *stmt = store_stmt(st, "SELECT count(*) FROM notifications WHERE state = ?");
    if (stmt) {
        store_bind_text(stmt, 1, state);
    }
    return store_count(st, stmt, ret_count);
}

int sdat_store_incident_version(sdat_store_t *st, const char *key, int64_t *ret_version)
{
    sqlite3_stmt *stmt = NULL;
    int r = store_row_by_text(st, "SELECT version FROM incidents WHERE key = ?", key, &stmt);
    if (r == 0) {
        *ret_version = sqlite3_column_int64(stmt, 0);
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_incident_put(sdat_store_t *st, const char *key, int64_t version, const char *doc,
                            int64_t now_ms)
{
    int r = store_run(st,
                      "INSERT INTO incidents(key, version, doc, updated_ms) VALUES (?, ?, ?, ?)"
                      " ON CONFLICT(key) DO UPDATE SET version = excluded.version, doc = excluded.doc,"
                      " updated_ms = excluded.updated_ms",
                      "tItI", key, version, doc, now_ms);
    return r < 0 ? r : 0;
}

int sdat_store_incident_get(sdat_store_t *st, const char *key, int64_t *ret_version,
                            json_t **ret_doc)
{
    sqlite3_stmt *stmt = NULL;
    int r = store_row_by_text(st, "SELECT version, doc FROM incidents WHERE key = ?", key, &stmt);
    if (r == 0) {
        const char *text = (const char *)sqlite3_column_text(stmt, 1);
        json_t *doc = text ? json_loads(text, 0, NULL) : NULL;
        if (!doc) {
            r = text ? -EIO : -ENOENT; /* a version 1 store kept no documents */
        } else {
            *ret_version = sqlite3_column_int64(stmt, 0);
            *ret_doc = doc;
        }
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_notification_insert(sdat_store_t *st, const struct sdat_notification *n)
{
    int r = store_run(
        st,
        "INSERT INTO notifications(id, kind, recipient, source_key, source_version,"
        " child_ref, state, created_ms, scheduled_ms, next_attempt_ms, attempts, payload,"
        " payload_sha256, amends, route_reason, last_error, register_child_id)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(id) DO NOTHING",
        "ttttIttIIIitttttt", n->id, n->kind, n->recipient, n->source_key,
        (int64_t)n->source_version, n->child_ref, n->state, (int64_t)n->created_ms,
        (int64_t)n->scheduled_ms, (int64_t)n->next_attempt_ms, (int)n->attempts, n->payload,
        n->payload_sha256, n->amends, n->route_reason, n->last_error, n->register_child_id);
    if (r < 0) {
        return r;
    }
    return r == 1 ? 0 : 1;
}

/* A notification row with owned copies of its strings. */
struct owned_row {
    struct sdat_notification n;
    char *strings[14];
};

static void owned_row_free(struct owned_row *row)
{
    for (size_t i = 0; i < 14; i++) {
        free(row->strings[i]);
    }
}

#define NOTIFICATION_COLUMNS                                                                  \
    "id, kind, recipient, source_key, source_version, child_ref, state, created_ms,"          \
    " scheduled_ms, next_attempt_ms, attempts, payload, payload_sha256, amends, route_reason," \
    " last_error, register_child_id, escalated, delivered_ms, acknowledged_ms"

/* Reads every row of stmt (NOTIFICATION_COLUMNS) into owned copies, then
 * finalizes it and calls fn for each: fn may write to the same rows, and a
 * statement must not iterate over an index it changes. */
static int each_row(sqlite3_stmt *stmt, int (*fn)(const struct sdat_notification *n, void *opaque),
                    void *opaque)
{
    struct owned_row *rows = NULL;
    size_t n_rows = 0, cap = 0;
    int r = 0, rc;

    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        if (n_rows == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            struct owned_row *grown = realloc(rows, ncap * sizeof *rows);
            if (!grown) {
                r = -ENOMEM;
                break;
            }
            rows = grown;
            cap = ncap;
        }
        struct owned_row *row = &rows[n_rows++];
        memset(row, 0, sizeof *row);
        static const int text_cols[] = {1, 2, 3, 5, 6, 11, 12, 13, 14, 15, 16, 17};
        for (size_t i = 0; i < sizeof text_cols / sizeof text_cols[0]; i++) {
            row->strings[i] = store_column_strdup(stmt, text_cols[i]);
        }
        snprintf(row->n.id, sizeof row->n.id, "%s", (const char *)sqlite3_column_text(stmt, 0));
        row->n.kind = row->strings[0];
        row->n.recipient = row->strings[1];
        row->n.source_key = row->strings[2];
        row->n.source_version = sqlite3_column_int64(stmt, 4);
        row->n.child_ref = row->strings[3];
        row->n.state = row->strings[4];
        row->n.created_ms = sqlite3_column_int64(stmt, 7);
        row->n.scheduled_ms = sqlite3_column_int64(stmt, 8);
        row->n.next_attempt_ms = sqlite3_column_int64(stmt, 9);
        row->n.attempts = sqlite3_column_int(stmt, 10);
        row->n.payload = row->strings[5];
        row->n.payload_sha256 = row->strings[6];
        row->n.amends = row->strings[7];
        row->n.route_reason = row->strings[8];
        row->n.last_error = row->strings[9];
        row->n.register_child_id = row->strings[10];
        row->n.escalated = row->strings[11];
        row->n.delivered_ms = sqlite3_column_int64(stmt, 18);
        row->n.acknowledged_ms = sqlite3_column_int64(stmt, 19);
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_finalize(stmt);
    for (size_t i = 0; i < n_rows && r == 0; i++) {
        r = fn(&rows[i].n, opaque);
    }
    for (size_t i = 0; i < n_rows; i++) {
        owned_row_free(&rows[i]);
    }
    free(rows);
    return r;
}

struct found_wrap {
    int (*fn)(const struct sdat_notification *n, void *opaque);
    void *opaque;
    bool *found;
};

static int found_trampoline(const struct sdat_notification *n, void *opaque)
{
    struct found_wrap *w = opaque;
    *w->found = true;
    return w->fn(n, w->opaque);
}

int sdat_store_notifications_due(sdat_store_t *st, int64_t now_ms, int limit,
                                 int (*fn)(const struct sdat_notification *n, void *opaque),
                                 void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    if (limit <= 0) {
        return 0;
    }
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " NOTIFICATION_COLUMNS " FROM notifications"
                           " WHERE state = 'scheduled' AND next_attempt_ms <= ?"
                           " ORDER BY next_attempt_ms LIMIT ?",
                           -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, now_ms);
    sqlite3_bind_int(stmt, 2, limit);
    return each_row(stmt, fn, opaque);
}

int sdat_store_notifications_for_source(sdat_store_t *st, const char *source_key,
                                        int (*fn)(const struct sdat_notification *n, void *opaque),
                                        void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " NOTIFICATION_COLUMNS " FROM notifications"
                           " WHERE source_key = ? ORDER BY created_ms, rowid",
                           -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, source_key, -1, SQLITE_TRANSIENT);
    return each_row(stmt, fn, opaque);
}

int sdat_store_notifications_list(sdat_store_t *st, const char *state, int limit,
                                  int (*fn)(const struct sdat_notification *n, void *opaque),
                                  void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    const char *sql = state ? "SELECT " NOTIFICATION_COLUMNS " FROM notifications WHERE state = ?"
                              " ORDER BY created_ms DESC, rowid DESC LIMIT ?"
                            : "SELECT " NOTIFICATION_COLUMNS " FROM notifications"
                              " ORDER BY created_ms DESC, rowid DESC LIMIT ?";
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    int i = 1;
    if (state) {
        sqlite3_bind_text(stmt, i++, state, -1, SQLITE_TRANSIENT);
    }
    sqlite3_bind_int(stmt, i, limit);
    return each_row(stmt, fn, opaque);
}

int sdat_store_notification_get(sdat_store_t *st, const char *id,
                                int (*fn)(const struct sdat_notification *n, void *opaque),
                                void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    bool found = false;
    if (sqlite3_prepare_v2(st->db, "SELECT " NOTIFICATION_COLUMNS " FROM notifications WHERE id = ?",
                           -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    sqlite3_bind_text(stmt, 1, id, -1, SQLITE_TRANSIENT);
    struct found_wrap wrap = {fn, opaque, &found};
    int r = each_row(stmt, found_trampoline, &wrap);
    return r < 0 ? r : found ? r : -ENOENT;
}

static int copy_sent_ms(const struct sdat_notification *n, void *opaque)
{
    *(int64_t *)opaque = n->delivered_ms > 0 ? n->delivered_ms : n->created_ms;
    return 0;
}

int sdat_store_notification_sent_ms(sdat_store_t *st, const char *id, int64_t *ret_ms)
{
    int64_t ms = 0;
    int r = sdat_store_notification_get(st, id, copy_sent_ms, &ms);
    if (r == 0) {
        *ret_ms = ms;
    }
    return r;
}

/* An UPDATE taking an instant (?1) and a notification id (?2). */
static int update_ms_id(sdat_store_t *st, const char *sql, int64_t ms, const char *id)
{
    sqlite3_stmt *stmt = store_stmt(st, sql);
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, ms);
    store_bind_text(stmt, 2, id);
    return store_step_done(st, stmt);
}

int sdat_store_notifications_open(sdat_store_t *st, int64_t now_ms, int64_t give_up_before_ms,
                                  int limit,
                                  int (*fn)(const struct sdat_notification *n, void *opaque),
                                  void *opaque)
{
    sqlite3_stmt *undelivered = NULL, *unacknowledged = NULL;
    /* Two queries, each on its partial index (store.c, migration 4). */
    if (sqlite3_prepare_v2(st->db,
                           "SELECT " NOTIFICATION_COLUMNS " FROM notifications"
                           " WHERE state IN ('scheduled', 'delivering') AND scheduled_ms <= ?"
                           " AND kind <> 'delivery-failed'"
                           " AND (instr(escalated, ',late,') = 0"
                           "      OR (state = 'scheduled' AND scheduled_ms <= ?))"
                           " ORDER BY scheduled_ms LIMIT ?",
                           -1, &undelivered, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(st->db,
                           "SELECT " NOTIFICATION_COLUMNS " FROM notifications"
                           " WHERE state = 'delivered' AND acknowledged_ms IS NULL"
                           " AND ack_due_ms <= ? AND kind <> 'delivery-failed'"
                           " AND instr(escalated, ',unacknowledged,') = 0"
                           " ORDER BY ack_due_ms LIMIT ?",
                           -1, &unacknowledged, NULL) != SQLITE_OK) {
        sqlite3_finalize(undelivered);
        return -EIO;
    }
    sqlite3_bind_int64(undelivered, 1, now_ms);
    sqlite3_bind_int64(undelivered, 2, give_up_before_ms);
    sqlite3_bind_int(undelivered, 3, limit);
    sqlite3_bind_int64(unacknowledged, 1, now_ms);
    sqlite3_bind_int(unacknowledged, 2, limit);
    int r = each_row(undelivered, fn, opaque);
    if (r < 0) {
        sqlite3_finalize(unacknowledged);
        return r;
    }
    return each_row(unacknowledged, fn, opaque);
}

int sdat_store_notification_acknowledge(sdat_store_t *st, const char *id, int64_t at_ms)
{
    return update_ms_id(st, "UPDATE notifications SET state = 'acknowledged',"
                        " acknowledged_ms = ? WHERE id = ? AND state = 'delivered'", at_ms, id);
}

int sdat_store_pending(sdat_store_t *st, int64_t *ret_count, int64_t *ret_oldest_ms)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT count(*), min(scheduled_ms) FROM notifications"
                                        " WHERE state IN ('scheduled', 'delivering')");
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *ret_count = sqlite3_column_int64(stmt, 0);
        *ret_oldest_ms = sqlite3_column_type(stmt, 1) == SQLITE_NULL
                             ? INT64_MAX
                             : sqlite3_column_int64(stmt, 1);
    }
    sqlite3_reset(stmt);
    return rc == SQLITE_ROW ? 0 : -EIO;
}

int sdat_store_notification_ack_due(sdat_store_t *st, const char *id, int64_t ack_due_ms)
{
    return update_ms_id(st, "UPDATE notifications SET ack_due_ms = ? WHERE id = ?", ack_due_ms, id);
}

int sdat_store_notification_escalated(sdat_store_t *st, const char *id, const char *reason)
{
    char marker[32];
    snprintf(marker, sizeof marker, ",%s,", reason);
    sqlite3_stmt *stmt = store_stmt(
        st, "UPDATE notifications SET escalated = escalated || ? || ','"
            " WHERE id = ? AND instr(escalated, ',' || ? || ',') = 0");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, reason);
    store_bind_text(stmt, 2, id);
    store_bind_text(stmt, 3, reason);
    int r = store_step_done(st, stmt);
    return r < 0 ? r : sqlite3_changes(st->db) == 1 ? 0 : 1;
}

int sdat_store_notifications_requeue(sdat_store_t *st, int64_t now_ms)
{
    return store_run(st,
                     "UPDATE notifications SET state = 'scheduled',"
                     " next_attempt_ms = ? WHERE state = 'delivering'",
                     "I", now_ms);
}

int sdat_store_notifications_wake(sdat_store_t *st, const char *recipient, int64_t now_ms)
{
    int r = store_run(st,
                      "UPDATE notifications SET next_attempt_ms = ?"
                      " WHERE recipient = ? AND state = 'scheduled'"
                      " AND next_attempt_ms > ? AND scheduled_ms <= ?",
                      "ItII", now_ms, recipient, now_ms, now_ms);
    return r < 0 ? r : 0;
}

int sdat_store_notification_defer(sdat_store_t *st, const char *id, int64_t at_ms)
{
    return update_ms_id(st, "UPDATE notifications SET next_attempt_ms = ?"
                        " WHERE id = ? AND state = 'scheduled'", at_ms, id);
}

int sdat_store_notification_set_state(sdat_store_t *st, const char *id, const char *state)
{
    int r = store_run(st,
                      "UPDATE notifications SET state = ? WHERE id = ?",
                      "tt", state, id);
    if (r >= 0) {
        r = r == 0 ? -ENOENT : 0;
    }
    return r;
}

void store_on_change(void *opaque, int op, const char *db, const char *table, sqlite3_int64 rowid)
{
    (void)op;
    (void)db;
    (void)rowid;
    sdat_store_t *st = opaque;
    if (strcmp(table, "notifications") == 0) {
        st->due_known = false;
    }
}

/* The main loop asks every turn, and the outbox before its due query: the
 * answer is kept while no notification is written. SQLite calls the update
 * hook for every row an INSERT, UPDATE or DELETE writes in a rowid table
 * (notifications is one), also when the transaction is later rolled back
 * (then the value is only asked again), but not for a DELETE without WHERE
 * (the truncate optimization), which can only make the answer later than
 * the kept one: an early answer costs a due query that finds nothing,
 * never a delivery. Only the daemon's writer writes the store while it
 * runs (the lock), so no change comes from elsewhere. A value read within
 * a transaction is not kept: it may include changes rolled back later. */
int sdat_store_next_due(sdat_store_t *st, int64_t *ret_ms)
{
    if (st->due_known) {
        *ret_ms = st->due_ms;
        return 0;
    }
    sqlite3_stmt *stmt =
        store_stmt(st, "SELECT min(next_attempt_ms) FROM notifications WHERE state = 'scheduled'");
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt);
    *ret_ms = (rc == SQLITE_ROW && sqlite3_column_type(stmt, 0) != SQLITE_NULL)
                  ? sqlite3_column_int64(stmt, 0)
                  : INT64_MAX;
    sqlite3_reset(stmt);
    if (rc == SQLITE_ROW && st->due_hooked && sqlite3_get_autocommit(st->db)) {
        st->due_known = true;
        st->due_ms = *ret_ms;
    }
    return rc == SQLITE_ROW ? 0 : -EIO;
}

int sdat_store_notification_update(sdat_store_t *st, const char *id, const char *state,
                                   int attempts, int64_t next_attempt_ms, const char *last_error)
{
    int r = store_run(st,
                      "UPDATE notifications SET state = ?, attempts = ?, next_attempt_ms = ?,"
                      " last_error = ?, delivered_ms = CASE WHEN ?1 = 'delivered' THEN ?3"
                      " ELSE delivered_ms END WHERE id = ?",
                      "tiItt", state, attempts, next_attempt_ms, last_error, id);
    if (r >= 0) {
        r = r == 0 ? -ENOENT : 0;
    }
    return r;
}

int sdat_store_attempt_insert(sdat_store_t *st, const char *id, int n, int64_t at_ms,
                              const char *outcome, const char *detail)
{
    int r = store_run(st,
                      "INSERT OR REPLACE INTO attempts(notification_id, n,"
                      " at_ms, outcome, detail) VALUES (?, ?, ?, ?, ?)",
                      "tiItt", id, n, at_ms, outcome, detail);
    return r < 0 ? r : 0;
}

int sdat_store_dead_letter_insert(sdat_store_t *st, const struct sdat_dead_letter *dl,
                                  int64_t *ret_id)
{
    sqlite3_stmt *stmt = store_stmt(
        st, "INSERT INTO dead_letters(at_ms, stage, error, topic, partition, offset, key, value,"
            " original_size) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, dl->at_ms);
    store_bind_text(stmt, 2, dl->stage);
    store_bind_text(stmt, 3, dl->error);
    store_bind_text(stmt, 4, dl->topic);
    sqlite3_bind_int(stmt, 5, dl->partition);
    sqlite3_bind_int64(stmt, 6, dl->offset);
    if (dl->key) {
        sqlite3_bind_blob(stmt, 7, dl->key, (int)dl->key_len, SQLITE_STATIC);
    }
    if (dl->value) {
        sqlite3_bind_blob(stmt, 8, dl->value, (int)dl->value_len, SQLITE_STATIC);
    }
    sqlite3_bind_int64(stmt, 9, dl->original_size);
    int r = store_step_done(st, stmt);
    if (r == 0 && ret_id) {
        *ret_id = sqlite3_last_insert_rowid(st->db);
    }
    return r;
}

/* cached: the statement is the store's prepared one (the mirror asks for
 * the unsent every turn), for a caller whose fn never runs the same query;
 * otherwise one of its own, so that fn may use the store freely. */
static int dead_letters_each(sdat_store_t *st, const char *sql, bool cached, int64_t arg,
                             int limit, int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                             void *opaque)
{
    sqlite3_stmt *stmt = NULL;
    int r = 0;
    if (cached) {
        stmt = store_stmt(st, sql);
    } else if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        stmt = NULL;
    }
    if (!stmt) {
        return -EIO;
    }
    sqlite3_bind_int64(stmt, 1, arg);
    sqlite3_bind_int(stmt, 2, limit);
    int rc, rows = 0;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        rows++;
        struct sdat_dead_letter dl = {
            .id = sqlite3_column_int64(stmt, 0),
            .at_ms = sqlite3_column_int64(stmt, 1),
            .stage = (const char *)sqlite3_column_text(stmt, 2),
            .error = (const char *)sqlite3_column_text(stmt, 3),
            .topic = (const char *)sqlite3_column_text(stmt, 4),
            .partition = sqlite3_column_int(stmt, 5),
            .offset = sqlite3_column_int64(stmt, 6),
            .key = sqlite3_column_blob(stmt, 7),
            .key_len = (size_t)sqlite3_column_bytes(stmt, 7),
            .value = sqlite3_column_blob(stmt, 8),
            .value_len = (size_t)sqlite3_column_bytes(stmt, 8),
            .original_size = sqlite3_column_int64(stmt, 9),
            .replayed_ms = sqlite3_column_int64(stmt, 10),
            .replayed_as = sqlite3_column_int64(stmt, 11),
        };
        r = fn(&dl, opaque);
        if (r != 0) {
            break;
        }
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    if (cached) {
        sqlite3_reset(stmt);
    } else {
        sqlite3_finalize(stmt);
    }
    return r < 0 ? r : rows;
}

#define DEAD_LETTER_COLUMNS                                                                      \
    "SELECT id, at_ms, stage, error, topic, partition, offset, key, value, original_size,"       \
    " ifnull(replayed_ms, 0), ifnull(replayed_as, 0) FROM dead_letters "

int sdat_store_dead_letters_unsent(sdat_store_t *st, int64_t after, int limit,
                                   int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                                   void *opaque)
{
    int r = dead_letters_each(st, DEAD_LETTER_COLUMNS "WHERE sent = 0 AND id > ?1 ORDER BY id"
                                                      " LIMIT ?2",
                              true, after, limit, fn, opaque);
    return r < 0 ? r : 0;
}

int sdat_store_dead_letters_since(sdat_store_t *st, int64_t since_ms,
                                  int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                                  void *opaque)
{
    int r = dead_letters_each(st, DEAD_LETTER_COLUMNS "WHERE at_ms >= ?1 ORDER BY id LIMIT ?2",
                              false, since_ms, -1, fn, opaque);
    return r < 0 ? r : 0;
}

int sdat_store_dead_letter_get(sdat_store_t *st, int64_t id,
                               int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                               void *opaque)
{
    int r = dead_letters_each(st, DEAD_LETTER_COLUMNS "WHERE id = ?1 LIMIT ?2", false, id, 1, fn,
                              opaque);
    return r < 0 ? r : r == 0 ? -ENOENT : 0;
}

json_t *sdat_store_dead_letter_replay_json(const struct sdat_dead_letter *dl)
{
    if (dl->replayed_ms == 0) {
        return json_null();
    }
    char at[40];
    sdat_time_format_ms(dl->replayed_ms, at, sizeof at);
    if (dl->replayed_as) {
        return json_pack("{s:s, s:s, s:I}", "at", at, "outcome", "dead-lettered",
                         "dead_letter_id", (json_int_t)dl->replayed_as);
    }
    return json_pack("{s:s, s:s}", "at", at, "outcome", "processed");
}

int sdat_store_dead_letter_mark_replayed(sdat_store_t *st, int64_t id, int64_t at_ms,
                                         int64_t again_id)
{
    int r = store_run(st, "UPDATE dead_letters SET replayed_ms = ?, replayed_as = ? WHERE id = ?",
                      "III", at_ms, again_id, id);
    return r < 0 ? r : 0;
}

int sdat_store_dead_letter_mark_sent(sdat_store_t *st, int64_t id)
{
    int r = store_run(st,
                      "UPDATE dead_letters SET sent = 1 WHERE id = ?",
                      "I", id);
    return r < 0 ? r : 0;
}
