/* The console's notification search (console.md "Pages"): filters, newest
 * first, a page at a time after a cursor. */
#include "store_internal.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct search_rows {
    int (*fn)(const struct sdat_notification *n, void *opaque);
    void *opaque;
};

static int search_row(sqlite3_stmt *row, void *opaque)
{
    struct search_rows *s = opaque;
    struct sdat_notification n = {.created_ms = 0};
    snprintf(n.id, sizeof n.id, "%s", (const char *)sqlite3_column_text(row, 0));
    n.kind = (const char *)sqlite3_column_text(row, 1);
    n.recipient = (const char *)sqlite3_column_text(row, 2);
    n.state = (const char *)sqlite3_column_text(row, 3);
    n.source_key = (const char *)sqlite3_column_text(row, 4);
    n.created_ms = sqlite3_column_int64(row, 5);
    n.scheduled_ms = sqlite3_column_int64(row, 6);
    n.attempts = sqlite3_column_int(row, 7);
    n.acknowledged_ms = sqlite3_column_int64(row, 8);
    return s->fn(&n, s->opaque);
}

int sdat_store_console_notifications(sdat_store_t *st, const struct sdat_console_search *f,
                                     int (*fn)(const struct sdat_notification *n, void *opaque),
                                     void *opaque)
{
    /* Every piece is a literal; every value is bound. */
    char sql[1024] = "SELECT id, kind, recipient, state, source_key, created_ms, scheduled_ms,"
                     " attempts, coalesce(acknowledged_ms, 0) FROM notifications WHERE 1";
    const char *state = f->state;
    if (state && strcmp(state, "scheduled") == 0) {
        strcat(sql, " AND state IN ('scheduled', 'delivering') AND scheduled_ms > :now");
        state = NULL;
    } else if (state && strcmp(state, "pending") == 0) {
        strcat(sql, " AND state IN ('scheduled', 'delivering') AND scheduled_ms <= :now");
        state = NULL;
    } else if (state && strcmp(state, "unacknowledged") == 0) {
        strcat(sql, " AND state = 'delivered' AND acknowledged_ms IS NULL"
                    " AND ack_due_ms IS NOT NULL AND ack_due_ms <= :now");
        state = NULL;
    } else if (state) {
        strcat(sql, " AND state = :state");
    }
    if (f->kind) {
        strcat(sql, " AND kind = :kind");
    }
    if (f->recipient) {
        strcat(sql, " AND recipient = :recipient");
    }
    if (f->incident) {
        strcat(sql, " AND source_key = :incident");
    }
    if (f->from_ms > 0) {
        strcat(sql, " AND created_ms >= :from");
    }
    if (f->to_ms > 0) {
        strcat(sql, " AND created_ms < :to");
    }
    if (f->after_id) {
        strcat(sql, " AND (created_ms, id) < (:after_ms, :after_id)");
    }
    strcat(sql, " ORDER BY created_ms DESC, id DESC LIMIT :limit");
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        return -EIO;
    }
    const struct {
        const char *name, *text;
    } texts[] = {{":state", state},
                 {":kind", f->kind},
                 {":recipient", f->recipient},
                 {":incident", f->incident},
                 {":after_id", f->after_id}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        int at = sqlite3_bind_parameter_index(stmt, texts[i].name);
        if (at > 0) {
            sqlite3_bind_text(stmt, at, texts[i].text, -1, SQLITE_TRANSIENT);
        }
    }
    const struct {
        const char *name;
        int64_t v;
    } ints[] = {{":now", f->now_ms},     {":from", f->from_ms},        {":to", f->to_ms},
                {":after_ms", f->after_ms}, {":limit", (int64_t)f->limit}};
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int at = sqlite3_bind_parameter_index(stmt, ints[i].name);
        if (at > 0) {
            sqlite3_bind_int64(stmt, at, ints[i].v);
        }
    }
    struct search_rows s = {fn, opaque};
    return store_rows(stmt, search_row, &s);
}
