/* A subject access report's content (the basis of `sdatctl audit export
 * --subject` and the console's subject page, console.md): the audit
 * records naming a subject and the notifications it links to; and the
 * console's lookups of register children and of a recipient's
 * notifications. Reads only: the caller holds one snapshot
 * (sdat_store_read_begin) or the writer's transaction. */
#include "store_internal.h"

#include <strings.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct collect {
    sdat_store_t *st;
    const char *id;
    struct sdat_subject *s;
    size_t cap_records, cap_notifications;
    char **quoted; /* the linked ids as JSON strings, for the scan */
    size_t n_quoted;
};

static int add_notification(struct collect *c, const char *id)
{
    struct sdat_subject *s = c->s;
    for (size_t i = 0; i < s->n_notifications; i++) {
        if (strcmp(s->notifications[i], id) == 0) {
            return 0;
        }
    }
    if (s->n_notifications == c->cap_notifications) {
        size_t cap = c->cap_notifications ? 2 * c->cap_notifications : 8;
        char **grown = realloc(s->notifications, cap * sizeof *grown);
        if (!grown) {
            return -ENOMEM;
        }
        s->notifications = grown;
        c->cap_notifications = cap;
    }
    if (!(s->notifications[s->n_notifications] = strdup(id))) {
        return -ENOMEM;
    }
    s->n_notifications++;
    return 0;
}

static int add_record(int64_t seq, const char *text, void *opaque)
{
    struct collect *c = opaque;
    struct sdat_subject *s = c->s;
    if (s->n_records == c->cap_records) {
        size_t cap = c->cap_records ? 2 * c->cap_records : 64;
        struct sdat_subject_record *grown = realloc(s->records, cap * sizeof *grown);
        if (!grown) {
            return -ENOMEM;
        }
        s->records = grown;
        c->cap_records = cap;
    }
    if (!(s->records[s->n_records].text = strdup(text))) {
        return -ENOMEM;
    }
    s->records[s->n_records++].seq = seq;
    return 0;
}

static int by_seq(const void *a, const void *b)
{
    const struct sdat_subject_record *x = a, *y = b;
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
    struct collect *c;
    const char *ref;
};

static int link_ref_notification(const struct sdat_notification *n, void *opaque)
{
    struct child_link *l = opaque;
    if (!n->child_ref || strcmp(n->child_ref, l->ref) == 0) {
        return add_notification(l->c, n->id);
    }
    return 0;
}

/* From the records naming the subject: the notifications they are about,
 * and for a register child the notifications of the incidents' children
 * that were decided to be it (match.decided, review.decided). */
static int link_from_records(struct collect *c, size_t upto)
{
    int r = 0;
    for (size_t i = 0; i < upto && r == 0; i++) {
        json_t *record = json_loads(c->s->records[i].text, 0, NULL);
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
            r = add_notification(c, nid);
        }
        if (r == 0 && chosen && incident && ref && strcmp(chosen, c->id) == 0) {
            struct child_link l = {c, ref};
            r = sdat_store_notifications_for_source(c->st, incident, link_ref_notification, &l);
        }
        json_decref(record);
    }
    return r;
}

/* The linked notification ids as JSON strings (quotes included), as a
 * record's canonical text holds them. */
static int quote_notifications(struct collect *c)
{
    c->quoted = calloc(c->s->n_notifications, sizeof *c->quoted);
    if (!c->quoted) {
        return -ENOMEM;
    }
    for (size_t i = 0; i < c->s->n_notifications; i++) {
        json_t *string = json_string(c->s->notifications[i]);
        c->quoted[i] = string ? json_dumps(string, JSON_ENCODE_ANY) : NULL;
        json_decref(string);
        if (!c->quoted[i]) {
            return -ENOMEM;
        }
        c->n_quoted = i + 1;
    }
    return 0;
}

static int add_if_linked(int64_t seq, const char *text, void *opaque)
{
    struct collect *c = opaque;
    for (size_t i = 0; i < c->n_quoted; i++) {
        if (strstr(text, c->quoted[i])) {
            return add_record(seq, text, c);
        }
    }
    return 0;
}

static int collect(struct collect *c)
{
    struct sdat_subject *s = c->s;
    int r = sdat_store_audit_naming(c->st, c->id, add_record, c);
    if (r == 0) {
        r = sdat_store_notification_get(c->st, c->id, link_notification, c);
        r = r == -ENOENT ? 0 : r;
    }
    if (r == 0) {
        r = sdat_store_notifications_for_source(c->st, c->id, link_notification, c);
    }
    if (r == 0) {
        r = sdat_store_notification_ids_for_child(c->st, c->id, link_child_notification, c);
    }
    if (r == 0) {
        r = link_from_records(c, s->n_records);
    }
    /* The records of every linked notification (delivery attempts, states)
     * that do not name the subject themselves: one more pass over the
     * chain, however many notifications. */
    if (r == 0 && s->n_notifications > 0) {
        r = quote_notifications(c);
    }
    if (r == 0 && c->n_quoted > 0) {
        r = sdat_store_audit_each(c->st, 1, add_if_linked, c);
    }
    if (r < 0) {
        return r;
    }
    if (s->n_records > 1) { /* qsort takes no NULL, even for nothing */
        qsort(s->records, s->n_records, sizeof *s->records, by_seq);
    }
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

int sdat_store_subject_collect(sdat_store_t *st, const char *id, struct sdat_subject *ret)
{
    *ret = (struct sdat_subject){0};
    struct collect c = {.st = st, .id = id, .s = ret};
    int r = collect(&c);
    for (size_t i = 0; i < c.n_quoted; i++) {
        free(c.quoted[i]);
    }
    free(c.quoted);
    if (r < 0) {
        sdat_subject_free(ret);
    }
    return r;
}

void sdat_subject_free(struct sdat_subject *s)
{
    for (size_t i = 0; i < s->n_records; i++) {
        free(s->records[i].text);
    }
    free(s->records);
    for (size_t i = 0; i < s->n_notifications; i++) {
        free(s->notifications[i]);
    }
    free(s->notifications);
    *s = (struct sdat_subject){0};
}

/* ---- the console's lookups ---- */

static int each_child(sdat_store_t *st, sqlite3_stmt *stmt, const char *family,
                      int (*fn)(const char *child_id, const json_t *child, void *opaque),
                      void *opaque)
{
    (void)st;
    int r = 0, rc = SQLITE_DONE;
    while (r == 0 && (rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(stmt, 0);
        const char *text = (const char *)sqlite3_column_text(stmt, 1);
        json_t *child = text ? json_loads(text, 0, NULL) : NULL;
        const char *name = json_string_value(json_object_get(child, "family_name"));
        if (id && child && (!family || (name && strcasecmp(name, family) == 0))) {
            r = fn(id, child, opaque);
        }
        json_decref(child);
    }
    if (r == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r;
}

int sdat_store_children_find(sdat_store_t *st, const struct sdat_child_search *q,
                             int (*fn)(const char *child_id, const json_t *child, void *opaque),
                             void *opaque)
{
    sqlite3_stmt *stmt;
    const char *family = NULL;
    if (q->child_id) {
        stmt = store_stmt(st, "SELECT child_id, doc FROM children WHERE child_id = ?1");
        if (stmt) {
            store_bind_text(stmt, 1, q->child_id);
        }
    } else if (q->nhs_number) {
        stmt = store_stmt(st, "SELECT child_id, doc FROM children WHERE nhs_number = ?1"
                              " ORDER BY child_id LIMIT 50");
        if (stmt) {
            store_bind_text(stmt, 1, q->nhs_number);
        }
    } else if (q->upn) {
        stmt = store_stmt(st, "SELECT child_id, doc FROM children WHERE upn = ?1"
                              " ORDER BY child_id LIMIT 50");
        if (stmt) {
            store_bind_text(stmt, 1, q->upn);
        }
    } else if (q->family_name && q->dob) {
        /* The date of birth's index, then the family name compared without
         * case in C (the register keeps it as given). */
        stmt = store_stmt(st, "SELECT child_id, doc FROM children WHERE dob = ?1"
                              " ORDER BY child_id LIMIT 1000");
        if (stmt) {
            store_bind_text(stmt, 1, q->dob);
        }
        family = q->family_name;
    } else {
        return -EINVAL;
    }
    return stmt ? each_child(st, stmt, family, fn, opaque) : -EIO;
}

int sdat_store_notification_ids_for_recipient(sdat_store_t *st, const char *recipient, int limit,
                                              int (*fn)(const char *id, void *opaque),
                                              void *opaque)
{
    sqlite3_stmt *stmt = store_stmt(st, "SELECT id FROM notifications WHERE recipient = ?1"
                                        " ORDER BY created_ms DESC, rowid DESC LIMIT ?2");
    if (!stmt) {
        return -EIO;
    }
    store_bind_text(stmt, 1, recipient);
    sqlite3_bind_int(stmt, 2, limit);
    /* Copied first: fn may read other notifications meanwhile. */
    char **ids = NULL;
    size_t n = 0;
    int r = 0, rc;
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        char **grown = realloc(ids, (n + 1) * sizeof *ids);
        if (!grown) {
            r = -ENOMEM;
            break;
        }
        ids = grown;
        if (!(ids[n] = store_column_strdup(stmt, 0))) {
            r = -ENOMEM;
            break;
        }
        n++;
    }
    if (r == 0 && rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    for (size_t i = 0; i < n && r == 0; i++) {
        r = fn(ids[i], opaque);
    }
    for (size_t i = 0; i < n; i++) {
        free(ids[i]);
    }
    free(ids);
    return r;
}

int sdat_store_audit_last(sdat_store_t *st, int64_t *ret_seq, char ret_hash[65])
{
    *ret_seq = 0;
    memset(ret_hash, '0', 64);
    ret_hash[64] = '\0';
    sqlite3_stmt *stmt = store_stmt(st, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!stmt) {
        return -EIO;
    }
    int rc = sqlite3_step(stmt), r = 0;
    if (rc == SQLITE_ROW) {
        const char *hash = (const char *)sqlite3_column_text(stmt, 1);
        *ret_seq = sqlite3_column_int64(stmt, 0);
        if (hash && strlen(hash) == 64) {
            memcpy(ret_hash, hash, 65);
        }
    } else if (rc != SQLITE_DONE) {
        r = -EIO;
    }
    sqlite3_reset(stmt);
    return r;
}
