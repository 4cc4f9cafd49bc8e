/* The store: SQLite at STATE_DIR/sdat.db in WAL mode.
 *
 * One owner of writes: the daemon's main loop, or — only while no daemon
 * holds STATE_DIR/sdatd.lock — `sdatctl import`. Other sdatctl commands open
 * the store read-only and may run beside the daemon (WAL readers never block
 * the writer). Every change and the audit records describing it are written
 * in one transaction (sdat_store_begin … sdat_store_commit). */
#ifndef SDAT_STORE_H
#define SDAT_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "store-t.h"

#define SDAT_STORE_SCHEMA_VERSION 9

int sdat_store_open(const char *state_dir, unsigned flags, sdat_store_t **ret_st, char *err,
                    size_t errlen);
void sdat_store_close(sdat_store_t *st); /* accepts NULL; rolls back an open transaction */
/* Whether a writer (a daemon or an import) holds the store's lock now. */
bool sdat_store_locked_by_other(const char *state_dir);

/* A consistent copy of the store in path, while a daemon writes it
 * (store_backup.c; st may be read-only): SQLite's online backup API from
 * one read snapshot, a few pages per step (progress, when not NULL, gets
 * the pages copied and the total after each); then the copy is made one
 * self-contained file (not WAL) and must pass PRAGMA quick_check. path is
 * created 0600 and never replaced: -EEXIST when it exists. 0 with the
 * pages copied, or a negative errno after a message in err (a partial or
 * unverified copy is removed). */
int sdat_store_backup(sdat_store_t *st, const char *path,
                      void (*progress)(int done, int total, void *opaque), void *opaque,
                      int *ret_pages, char *err, size_t errlen);

/* Sets the page cache to MIB mebibytes (default 64): a bulk import keeps
 * the register's indexes in memory while they grow. */
int sdat_store_set_cache(sdat_store_t *st, int mib);

int sdat_store_begin(sdat_store_t *st);
int sdat_store_commit(sdat_store_t *st);
void sdat_store_rollback(sdat_store_t *st);
/* Savepoints inside a transaction (nested up to 4): a part that fails is
 * rolled back alone (with the audit chain's head), the rest stays. */
int sdat_store_savepoint(sdat_store_t *st);
int sdat_store_savepoint_release(sdat_store_t *st);
int sdat_store_savepoint_rollback(sdat_store_t *st);
int sdat_store_schema_version(sdat_store_t *st);
const char *sdat_store_errmsg(sdat_store_t *st);

/* Register (store_register.c). child is a validated council.child/1
 * document (borrowed); the store derives the matching columns and blocking
 * keys from it. Upsert: 0 inserted, 1 replaced. Delete: 0, or -ENOENT. */
int sdat_store_child_upsert(sdat_store_t *st, const json_t *child, int64_t now_ms);
int sdat_store_child_delete(sdat_store_t *st, const char *child_id);
/* A bulk load of children into an EMPTY register, inside the caller's
 * transaction (sdat_store_begin). Begin answers 1 when the register has
 * no children: then the secondary indexes of children and child_keys are
 * dropped, and each upsert keeps its blocking keys in memory instead of
 * writing them to child_keys' B-tree (about 170 bytes a child and 30 a
 * key); 0 when the register is not empty (the upserts work as always).
 * Finish sorts the keys and writes them into child_keys in key order, and
 * creates the dropped indexes again, exactly as the migrations made them.
 * All of it is in the one transaction: a crash or a rollback before the
 * commit leaves the store as it was, indexes included. */
int sdat_store_bulk_begin(sdat_store_t *st);
int sdat_store_bulk_finish(sdat_store_t *st);
int sdat_store_child_count(sdat_store_t *st, int64_t *ret_count);
/* The register child's document (new reference), or -ENOENT. */
int sdat_store_child_get(sdat_store_t *st, const char *child_id, json_t **ret_child);

/* The candidates for a police child: the register children sharing one of
 * its blocking keys (blocking.h) or its NHS number or UPN. The rows and
 * their strings are owned by *ret_rows; free with sdat_store_rows_free. */
struct sdat_match_query;
struct sdat_register_row;
int sdat_store_register_candidates(sdat_store_t *st, const struct sdat_match_query *q,
                                   struct sdat_register_row **ret_rows, size_t *ret_n);
/* The same, always read from SQLite (the reference for the index). */
int sdat_store_register_candidates_sql(sdat_store_t *st, const struct sdat_match_query *q,
                                       struct sdat_register_row **ret_rows, size_t *ret_n);
/* The register index: the register's matching columns, blocking keys and
 * name counts read once into memory (outside a transaction), so that
 * sdat_store_register_candidates answers the same rows without reading
 * SQLite. Every register write through this handle keeps it current, and
 * a rollback (of a transaction or to a savepoint) rolls it back too. A
 * bulk load, or running out of memory, drops it: SQLite answers again.
 * Only for the one writer: another process's writes are not seen.
 * -EPROTO when child_keys does not hold the keys this build computes (a
 * store keyed otherwise): SQLite answers. */
int sdat_store_register_index_load(sdat_store_t *st);
bool sdat_store_register_index_loaded(sdat_store_t *st);
/* The children in it and its distinct keys (blocking keys, NHS numbers
 * and UPNs); 0 when not loaded. */
void sdat_store_register_index_size(sdat_store_t *st, int64_t *ret_children, int64_t *ret_keys);
void sdat_store_rows_free(struct sdat_register_row *rows, size_t n);
/* A read-only view of the register index for worker threads, which match
 * while the writer writes other rows. The writer opens it (0, or -ENOENT
 * when no index is loaded) and must make no register write until it ends
 * it (a write made anyway drops the index for the writer; the view keeps
 * reading the state it began with). Answers sdat_store_register_candidates
 * would give, from any thread; size is the register's size. */
struct store_index;
struct sdat_register_view {
    const struct store_index *index;
    int64_t size;
};
int sdat_store_register_view_begin(sdat_store_t *st, struct sdat_register_view *ret);
void sdat_store_register_view_end(sdat_store_t *st);
int sdat_register_view_candidates(const struct sdat_register_view *v,
                                  const struct sdat_match_query *q,
                                  struct sdat_register_row **ret_rows, size_t *ret_n);

/* CP-IS flags: flag is a validated council.cpis-flag/1 document. */
int sdat_store_flag_upsert(sdat_store_t *st, const json_t *flag, int64_t now_ms);
int sdat_store_flag_delete(sdat_store_t *st, const char *flag_id);
int sdat_store_flag_count(sdat_store_t *st, int64_t *ret_count);
/* The flags held on an NHS number (their council.cpis-flag/1 documents,
 * borrowed for the call), in flag id order. This and
 * sdat_store_accesses_recent work on a read-only store as on the writer's
 * (CP-IS lookups read on the HTTP server's threads): 0, fn's negative
 * value, or -EIO. */
int sdat_store_flags_for(sdat_store_t *st, const char *nhs_number,
                         int (*fn)(const char *doc, void *opaque), void *opaque);
/* The latest recorded accesses to an NHS number, newest first, at most
 * limit (strings borrowed for the call). */
int sdat_store_accesses_recent(sdat_store_t *st, const char *nhs_number, int limit,
                               int (*fn)(const char *ods_code, const char *setting,
                                         int64_t arrived_ms, void *opaque),
                               void *opaque);
/* The same for an attendance (its key): the accesses recorded before it,
 * never its own, so that the same attendance is answered alike again. */
int sdat_store_accesses_before(sdat_store_t *st, const char *nhs_number, const char *attendance,
                               int limit,
                               int (*fn)(const char *ods_code, const char *setting,
                                         int64_t arrived_ms, void *opaque),
                               void *opaque);
/* Records an attendance's access to an NHS number once per attendance key:
 * 0 recorded, 1 recorded before (untouched). */
int sdat_store_access_record(sdat_store_t *st, const char *nhs_number, const char *ods_code,
                             const char *setting, int64_t arrived_ms, const char *attendance,
                             int64_t now_ms);
/* The store's own values (meta table): 0 and a malloc'd value, or -ENOENT. */
int sdat_store_meta_get(sdat_store_t *st, const char *key, char **ret_value);
int sdat_store_meta_set(sdat_store_t *st, const char *key, const char *value);

/* The register topics' positions, kept by each instance (global tables)
 * per Kafka cluster id: the next offset to read, or -ENOENT when the
 * partition was never read on that cluster. */
int sdat_store_register_offset(sdat_store_t *st, const char *cluster, const char *topic,
                               int32_t partition, int64_t *ret_next_offset);
int sdat_store_register_offset_set(sdat_store_t *st, const char *cluster, const char *topic,
                                   int32_t partition, int64_t next_offset);

/* Incidents: the highest version processed per FORCE/INCIDENT_ID key, and
 * that version's document (canonical JSON text). */
int sdat_store_incident_version(sdat_store_t *st, const char *key, int64_t *ret_version);
int sdat_store_incident_put(sdat_store_t *st, const char *key, int64_t version, const char *doc,
                            int64_t now_ms);
/* The document of the latest version (new reference), or -ENOENT. */
int sdat_store_incident_get(sdat_store_t *st, const char *key, int64_t *ret_version,
                            json_t **ret_doc);

struct sdat_notification {
    char id[40];
    const char *kind;
    const char *recipient;
    const char *source_key;
    int64_t source_version;
    const char *child_ref; /* NULL for per-incident kinds */
    const char *state;
    int64_t created_ms, scheduled_ms, next_attempt_ms;
    int attempts;
    const char *payload; /* canonical JSON text */
    const char *payload_sha256;
    const char *amends, *route_reason, *last_error;
    const char *register_child_id; /* school notifications: the register child */
    const char *escalated;         /* read only: ",late,failed," … */
    int64_t delivered_ms, acknowledged_ms; /* read only: 0 when not (yet) */
};

/* 0 inserted, 1 when a notification with that id exists already (untouched). */
int sdat_store_notification_insert(sdat_store_t *st, const struct sdat_notification *n);
/* Calls fn for up to limit scheduled notifications due at now_ms, oldest
 * first; the strings are borrowed for the duration of the call only. */
int sdat_store_notifications_due(sdat_store_t *st, int64_t now_ms, int limit,
                                 int (*fn)(const struct sdat_notification *n, void *opaque),
                                 void *opaque);
/* The earliest next_attempt_ms of a scheduled notification, or INT64_MAX. */
int sdat_store_next_due(sdat_store_t *st, int64_t *ret_ms);
/* Every notification of a source key (an incident), oldest first; fn may
 * write to the store. */
int sdat_store_notifications_for_source(sdat_store_t *st, const char *source_key,
                                        int (*fn)(const struct sdat_notification *n, void *opaque),
                                        void *opaque);
/* The latest notifications (in a state, or any when state is NULL), newest
 * first, at most limit. */
int sdat_store_notifications_list(sdat_store_t *st, const char *state, int limit,
                                  int (*fn)(const struct sdat_notification *n, void *opaque),
                                  void *opaque);
/* One notification: 0 after fn ran, or -ENOENT. */
int sdat_store_notification_get(sdat_store_t *st, const char *id,
                                int (*fn)(const struct sdat_notification *n, void *opaque),
                                void *opaque);
/* When notification id reached its recipient (its delivered_ms), or when
 * it was created if it never was delivered: what a later notification that
 * refers to it (a withdrawal) calls its date. 0, -ENOENT or -EIO;
 * *ret_ms untouched on failure. */
int sdat_store_notification_sent_ms(sdat_store_t *st, const char *id, int64_t *ret_ms);
/* 0, or -ENOENT when there is no such notification. */
int sdat_store_notification_set_state(sdat_store_t *st, const char *id, const char *state);
/* Notifications that may need escalating at now_ms (scheduled or being
 * delivered and due and not yet escalated as late, or due before
 * give_up_before_ms and still scheduled, or delivered and not acknowledged),
 * never delivery-failed ones, at most limit, oldest due first. */
int sdat_store_notifications_open(sdat_store_t *st, int64_t now_ms, int64_t give_up_before_ms,
                                  int limit,
                                  int (*fn)(const struct sdat_notification *n, void *opaque),
                                  void *opaque);
/* Notifications not yet delivered (scheduled or delivering) and the
 * earliest scheduled_ms among them (INT64_MAX when none). */
int sdat_store_pending(sdat_store_t *st, int64_t *ret_count, int64_t *ret_oldest_ms);
/* delivered → acknowledged (no change in any other state). */
int sdat_store_notification_acknowledge(sdat_store_t *st, const char *id, int64_t at_ms);
/* A delivered notification whose recipient must acknowledge it by then. */
int sdat_store_notification_ack_due(sdat_store_t *st, const char *id, int64_t ack_due_ms);
/* Records that reason was escalated for id: 0, or 1 when it was already. */
int sdat_store_notification_escalated(sdat_store_t *st, const char *id, const char *reason);
/* At start: deliveries in flight when the daemon stopped are due again (a
 * repeat under the same id, never a loss). Returns how many. */
int sdat_store_notifications_requeue(sdat_store_t *st, int64_t now_ms);
/* A recipient's circuit closed: its waiting notifications are due now. */
int sdat_store_notifications_wake(sdat_store_t *st, const char *recipient, int64_t now_ms);
/* Defers one scheduled notification to at_ms (an open circuit). */
int sdat_store_notification_defer(sdat_store_t *st, const char *id, int64_t at_ms);
int sdat_store_notification_update(sdat_store_t *st, const char *id, const char *state,
                                   int attempts, int64_t next_attempt_ms, const char *last_error);
int sdat_store_attempt_insert(sdat_store_t *st, const char *id, int n, int64_t at_ms,
                              const char *outcome, const char *detail);
int sdat_store_notification_count(sdat_store_t *st, const char *state, int64_t *ret_count);

/* The console's "today" counts at now_ms (console.md): open review items;
 * notifications waiting for their release time (scheduled) and due but not
 * delivered (pending, retries included); failed ones; delivered ones past
 * their ack_due and not acknowledged; dead letters; and the next release
 * time (0 when nothing waits). 0 or -EIO. */
struct sdat_console_counts {
    int64_t reviews, scheduled, pending, failed, unacknowledged, dead_letters;
    int64_t next_release_ms;
};
int sdat_store_console_counts(sdat_store_t *st, int64_t now_ms, struct sdat_console_counts *ret);

/* The console's notification search (store_console_notifications.c):
 * every filter that is set (NULL / 0: any). state is a stored state, or
 * one of the "today" counts' sets at now_ms: scheduled, pending,
 * unacknowledged. incident is the source key; created in [from_ms, to_ms).
 * Newest first (created_ms, then id, descending), at most limit rows after
 * the cursor (after_ms, after_id) when after_id is set. fn gets id, kind,
 * recipient, state, source_key, created_ms, scheduled_ms, attempts and
 * acknowledged_ms (0: not), borrowed for the call. 0, fn's value or -EIO. */
struct sdat_console_search {
    const char *state, *kind, *recipient, *incident;
    int64_t from_ms, to_ms, now_ms;
    int64_t after_ms;
    const char *after_id;
    int limit;
};
int sdat_store_console_notifications(sdat_store_t *st, const struct sdat_console_search *f,
                                     int (*fn)(const struct sdat_notification *n, void *opaque),
                                     void *opaque);

/* Review items (flows.md §1 "Review decisions"). state: open, accepted,
 * rejected, cancelled. candidates: JSON text of [{child_id, score}]. */
struct sdat_review_item {
    char id[40];
    const char *incident;
    int64_t version;
    int position;
    const char *child_ref;
    const char *mash; /* the MASH recipient the item was raised with */
    const char *state;
    int64_t created_ms;
    const char *candidates;
    const char *decided_by;         /* NULL while open */
    int64_t decided_ms;             /* 0 while open */
    const char *register_child_id; /* accepted: the child a person chose */
};
/* 0 inserted, 1 when the item exists already (untouched). */
int sdat_store_review_insert(sdat_store_t *st, const struct sdat_review_item *item);
/* One item: 0 after fn ran (strings borrowed for the call), or -ENOENT. */
int sdat_store_review_get(sdat_store_t *st, const char *id,
                          int (*fn)(const struct sdat_review_item *item, void *opaque),
                          void *opaque);
/* The items of an incident (incident non-NULL) or every open item
 * (incident NULL), oldest first; fn may write to the store. */
int sdat_store_reviews_each(sdat_store_t *st, const char *incident,
                            int (*fn)(const struct sdat_review_item *item, void *opaque),
                            void *opaque);
/* Records a decision on an open item: 0, -ENOENT, or -EALREADY when the item
 * is no longer open. */
int sdat_store_review_decide(sdat_store_t *st, const char *id, const char *state, const char *by,
                             int64_t at_ms, const char *register_child_id);

/* Audit chain storage; the audit module computes the records. */
void sdat_store_audit_head(sdat_store_t *st, int64_t *ret_seq, char ret_hash[65]);
int sdat_store_audit_insert(sdat_store_t *st, int64_t seq, const char *type, const char *record,
                            const char *hash);
int sdat_store_audit_each(sdat_store_t *st, int64_t from_seq,
                          int (*fn)(int64_t seq, const char *record, void *opaque), void *opaque);
/* The audit records about notification id (subject.notification_id; read
 * from an index), oldest first. */
int sdat_store_audit_about(sdat_store_t *st, const char *id,
                           int (*fn)(int64_t seq, const char *record, void *opaque), void *opaque);

/* Dead letters: kept in the store first, then mirrored to the DLQ topic. */
struct sdat_dead_letter {
    int64_t id;
    int64_t at_ms;
    const char *stage, *error, *topic;
    int32_t partition;
    int64_t offset;
    const void *key;
    size_t key_len;
    const void *value;
    size_t value_len;
    int64_t original_size; /* -1 when not cut */
    /* The last replay: when (0: never replayed), and the dead letter it
     * became when it was rejected again (0: processed). */
    int64_t replayed_ms, replayed_as;
};
int sdat_store_dead_letter_insert(sdat_store_t *st, const struct sdat_dead_letter *dl,
                                  int64_t *ret_id);
/* Up to limit unsent dead letters with id > after, in id order. */
int sdat_store_dead_letters_unsent(sdat_store_t *st, int64_t after, int limit,
                                   int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                                   void *opaque);
/* Every dead letter recorded at or after since_ms, oldest first; the
 * pointers are borrowed for the duration of the call. */
int sdat_store_dead_letters_since(sdat_store_t *st, int64_t since_ms,
                                  int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                                  void *opaque);
/* One dead letter by id: 0 after fn ran, -ENOENT when there is none. */
int sdat_store_dead_letter_get(sdat_store_t *st, int64_t id,
                               int (*fn)(const struct sdat_dead_letter *dl, void *opaque),
                               void *opaque);
int sdat_store_dead_letter_mark_sent(sdat_store_t *st, int64_t id);
/* A dead letter's last replay as the API and sdatctl show it: null, or
 * {"at":…,"outcome":"processed"} or {"at":…,"outcome":"dead-lettered",
 * "dead_letter_id":N}. A new reference. */
json_t *sdat_store_dead_letter_replay_json(const struct sdat_dead_letter *dl);
/* Records dead letter id's replay at at_ms: processed (again_id 0) or
 * rejected again as dead letter again_id. */
int sdat_store_dead_letter_mark_replayed(sdat_store_t *st, int64_t id, int64_t at_ms,
                                         int64_t again_id);

/* Messages for Kafka written in the transaction that caused them and
 * removed once the broker acknowledged them (the daemon's mirror). One row
 * handed to a callback; pointers borrowed for the call. */
struct sdat_outbound {
    int64_t id; /* the row id (an audit record's seq) */
    const char *key;
    size_t key_len;
    const char *value;
    size_t value_len;
};
/* A sdat.cpis-response/1 to produce to topics.cpis_responses, keyed by
 * the attendance key. */
int sdat_store_cpis_response_insert(sdat_store_t *st, const char *key, const char *value,
                                    int64_t now_ms);
/* Up to limit unsent rows with id > after, in id order: fn returns 0 to go
 * on, > 0 to stop (the call then returns 0), < 0 for an error. */
int sdat_store_cpis_responses_unsent(sdat_store_t *st, int64_t after, int limit,
                                     int (*fn)(const struct sdat_outbound *o, void *opaque),
                                     void *opaque);
int sdat_store_cpis_response_sent(sdat_store_t *st, int64_t id);
/* Audit records not yet acknowledged by the audit topic; value is the
 * record, key the empty string (the mirror makes INSTANCE/SEQ). */
int sdat_store_audit_unmirrored(sdat_store_t *st, int64_t after, int limit,
                                int (*fn)(const struct sdat_outbound *o, void *opaque),
                                void *opaque);
int sdat_store_audit_mirrored(sdat_store_t *st, int64_t seq);
/* How many audit records wait for the mirror (the gauge). */
int sdat_store_audit_unmirrored_count(sdat_store_t *st, int64_t *ret_count);

/* ---- Operator actions (store_operator.c) ---- */
/* Moves notification id from state `from` to state `to`, only from there:
 * 0, -ENOENT when there is no such notification, -EBUSY when it is in
 * another state. */
int sdat_store_notification_move(sdat_store_t *st, const char *id, const char *from,
                                 const char *to);
/* An operator's resend: a delivered, acknowledged or failed notification is
 * scheduled again under the same id, due at now_ms (scheduled_ms and
 * next_attempt_ms: the escalation clock restarts), keeping its payload,
 * attempts and escalation marks and clearing its acknowledgement and
 * ack_due. 0, -ENOENT, or -EBUSY in any other state. */
int sdat_store_notification_resend(sdat_store_t *st, const char *id, int64_t now_ms);

/* ---- Audit chain: checkpoints, verification and export (store_audit.c) ---- */
/* The chain's last checkpoint record: 0, its seq and its text (malloc'd),
 * or -ENOENT when the chain has none. */
int sdat_store_audit_last_checkpoint(sdat_store_t *st, int64_t *ret_seq, char **ret_record);
/* Every audit row in seq order: the row's seq, the record text and the
 * hash column (borrowed for the call). fn returns 0 to go on, non-zero to
 * stop (returned). One statement: one snapshot beside a running daemon. */
int sdat_store_audit_rows(sdat_store_t *st,
                          int (*fn)(int64_t seq, const char *record, const char *hash,
                                    void *opaque),
                          void *opaque);
/* The audit records that name id as a whole JSON string anywhere (subject
 * or detail: a notification, review item, incident key or register child
 * id, also as a match candidate or an amended notification), oldest first. */
int sdat_store_audit_naming(sdat_store_t *st, const char *id,
                            int (*fn)(int64_t seq, const char *record, void *opaque),
                            void *opaque);
/* The ids of the notifications about a register child (school
 * notifications carry it), oldest first. */
int sdat_store_notification_ids_for_child(sdat_store_t *st, const char *register_child_id,
                                          int (*fn)(const char *id, void *opaque), void *opaque);

/* ---- A subject access report; the console's lookups (store_subject.c) ---- */
struct sdat_subject_record {
    int64_t seq;
    char *text; /* the record exactly as stored */
};
/* What `sdatctl audit export --subject ID` and the console's subject page
 * show: the audit records naming the subject (a register child id, a
 * notification id or an incident key) or any notification it links to, in
 * seq order, and the ids of those notifications in the order first linked. */
struct sdat_subject {
    struct sdat_subject_record *records;
    size_t n_records;
    char **notifications;
    size_t n_notifications;
};
/* In the caller's snapshot or transaction. 0 with *ret (free it with
 * sdat_subject_free, also when empty), or -ENOMEM / -EIO. */
int sdat_store_subject_collect(sdat_store_t *st, const char *id, struct sdat_subject *ret);
void sdat_subject_free(struct sdat_subject *s);
/* Register children by exactly one key (the first one set, in this order):
 * child_id; nhs_number (10 digits); upn; family_name with dob (YYYY-MM-DD),
 * the name compared without case. fn gets each child's document (borrowed),
 * by child id, at most 50 (1000 before the name filter for a date). 0, fn's
 * value, -EINVAL without a key, or -EIO. */
struct sdat_child_search {
    const char *child_id, *nhs_number, *upn, *family_name, *dob;
};
int sdat_store_children_find(sdat_store_t *st, const struct sdat_child_search *q,
                             int (*fn)(const char *child_id, const json_t *child, void *opaque),
                             void *opaque);
/* The chain's last record as stored (0 and 64 zeros when empty), read
 * from the table (a reader's sdat_store_audit_head is not kept). */
int sdat_store_audit_last(sdat_store_t *st, int64_t *ret_seq, char ret_hash[65]);
/* The ids of a recipient's latest notifications, newest first, at most
 * limit; fn may read the store. */
int sdat_store_notification_ids_for_recipient(sdat_store_t *st, const char *recipient, int limit,
                                              int (*fn)(const char *id, void *opaque),
                                              void *opaque);

/* ---- Retention (store_retention.c) ---- */
/* Inside the caller's transaction (else -EINVAL); the rows changed in
 * *ret_count. Payloads: set to NULL (payload_sha256 kept) for notifications
 * no longer scheduled or delivering whose last activity (created, due,
 * delivered, acknowledged) is before before_ms. Dead letters: key and value
 * set to NULL for those recorded before before_ms. Accesses: CP-IS access
 * rows that arrived before before_ms deleted. */
int sdat_store_retention_payloads(sdat_store_t *st, int64_t before_ms, int64_t *ret_count);
int sdat_store_retention_dead_letters(sdat_store_t *st, int64_t before_ms, int64_t *ret_count);
int sdat_store_retention_accesses(sdat_store_t *st, int64_t before_ms, int64_t *ret_count);

/* ---- Read queries the HTTP API needs (store_api.c). They work on a
 * read-only store (SDAT_STORE_READONLY) as on the writer's. ---- */

struct sdat_attempt {
    int n;
    int64_t at_ms;
    const char *outcome;
    const char *detail; /* may be NULL */
};

/* Calls fn for each delivery attempt of a notification, oldest first; the
 * strings are borrowed for the duration of the call. 0 (also when there
 * are none), fn's negative value, or -EIO. */
int sdat_store_attempts_each(sdat_store_t *st, const char *notification_id,
                             int (*fn)(const struct sdat_attempt *a, void *opaque), void *opaque);

/* A read transaction, so that the several queries of one answer see one
 * snapshot of the store; never held across a wait. 0 or -EIO. */
int sdat_store_read_begin(sdat_store_t *st);
void sdat_store_read_end(sdat_store_t *st);

#endif
