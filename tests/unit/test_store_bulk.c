/* A bulk load into an empty register (sdat_store_bulk_begin/finish, used
 * by sdatctl import): the same children, blocking keys, name counts,
 * indexes and candidates as the same upserts one by one, and nothing of
 * it when rolled back. */
#include <criterion/criterion.h>
#include <errno.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "store/store_internal.h" /* the connection, to read the rows */

static char dir_a[64], dir_b[64];

static void setup(void)
{
    fixture_dir_make(dir_a, sizeof dir_a, "bulk-a");
    fixture_dir_make(dir_b, sizeof dir_b, "bulk-b");
}

static void teardown(void)
{
    fixture_dir_remove(dir_a);
    fixture_dir_remove(dir_b);
}

TestSuite(store_bulk, .init = setup, .fini = teardown);

static json_t *child(const char *id, const char *given, const char *family, const char *dob,
                     const char *postcode, const char *nhs)
{
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s}", "schema",
                          "council.child/1", "child_id", id, "la_code", "831", "given_name", given,
                          "family_name", family, "dob", dob, "address", "postcode", postcode,
                          "middle_names", "Ember Joy");
    if (nhs) {
        json_object_set_new(c, "nhs_number", json_string(nhs));
    }
    json_object_set_new(c, "aliases",
                        json_pack("[{s:s, s:s}]", "given_name", "Ash", "family_name", "Oak-Vale"));
    return c;
}

/* The same register writes as an import makes, with a child written twice
 * (its earlier keys must go), one deleted and one deleted and written
 * again. */
static void writes(sdat_store_t *st)
{
    json_t *docs[] = {
        child("C1", "Ashlyn", "Testwood", "2016-04-12", "DE22 3XY", "9990000018"),
        child("C2", "Bramwell", "Testwood-Rye", "2018-09-30", "DE22 3XY", NULL),
        child("C3", "Cerys", "Quillfeather", "2015-01-02", "S40 2QT", "9990000026"),
        child("C1", "Ashlyn", "Newname", "2016-04-12", "S40 2QT", "9990000018"),
        child("C4", "Dara", "Millbrook", "2014-03-04", "DE1 1AA", NULL),
        child("C4", "Dara", "Millbrook-Hale", "2014-03-05", "DE1 1AB", "9990000034"),
    };
    int expect[] = {0, 0, 0, 1, 0, 1};
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        cr_assert_eq(sdat_store_child_upsert(st, docs[i], 7), expect[i], "write %zu", i);
        json_decref(docs[i]);
    }
    cr_assert_eq(sdat_store_child_delete(st, "C3"), 0);
    cr_assert_eq(sdat_store_child_delete(st, "C2"), 0);
    json_t *again = child("C2", "Bramwell", "Rye", "2018-09-30", "DE22 4AB", NULL);
    cr_assert_eq(sdat_store_child_upsert(st, again, 8), 0);
    json_decref(again);
}

static int append_row(void *opaque, int n, char **values, char **names)
{
    (void)names;
    char **out = opaque;
    for (int i = 0; i < n; i++) {
        const char *v = values[i] ? values[i] : "NULL";
        size_t len = strlen(*out), add = strlen(v) + 2;
        *out = realloc(*out, len + add);
        cr_assert_not_null(*out);
        snprintf(*out + len, add, "%s%c", v, i + 1 == n ? '\n' : '|');
    }
    return 0;
}

/* Every row of the register's tables, and the indexes on them, as text. */
static char *dump(sdat_store_t *st)
{
    char *out = calloc(1, 1);
    cr_assert_not_null(out);
    const char *sql =
        "SELECT * FROM children ORDER BY child_id;"
        "SELECT * FROM child_keys ORDER BY key, child_id;"
        "SELECT * FROM family_names ORDER BY name;"
        "SELECT * FROM given_names ORDER BY name;"
        "SELECT type, name, tbl_name, sql FROM sqlite_master"
        " WHERE tbl_name IN ('children', 'child_keys') ORDER BY name;"
        "SELECT count(*) FROM audit_unmirrored;";
    cr_assert_eq(sqlite3_exec(st->db, sql, append_row, &out, NULL), SQLITE_OK, "%s",
                 sqlite3_errmsg(st->db));
    return out;
}

static int n_indexes(sdat_store_t *st)
{
    char *out = calloc(1, 1);
    cr_assert_eq(sqlite3_exec(st->db,
                              "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                              " AND tbl_name IN ('children', 'child_keys') AND sql IS NOT NULL",
                              append_row, &out, NULL),
                 SQLITE_OK);
    int n = atoi(out);
    free(out);
    return n;
}

/* The candidates' child ids for a police child, comma-separated. */
static void candidate_ids(sdat_store_t *st, const char *given, const char *family,
                          const char *dob, const char *postcode, char *ids, size_t cap)
{
    json_t *police = json_pack("{s:s, s:s, s:s}", "given_name", given, "family_name", family,
                               "dob", dob);
    json_t *location = json_pack("{s:s, s:s}", "address", "x", "postcode", postcode);
    struct sdat_match_query q;
    sdat_match_query_from_police(police, location, false, false, true, 0, &q);
    struct sdat_register_row *rows = NULL;
    size_t n = 0;
    cr_assert_eq(sdat_store_register_candidates(st, &q, &rows, &n), 0);
    ids[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(ids);
        snprintf(ids + len, cap - len, "%s%s", i ? "," : "", rows[i].child_id);
    }
    sdat_store_rows_free(rows, n);
    json_decref(police);
    json_decref(location);
}

Test(store_bulk, a_bulk_load_gives_the_register_of_the_same_upserts)
{
    sdat_store_t *a = fixture_store_open(dir_a), *b = fixture_store_open(dir_b);
    int indexes = n_indexes(a);
    cr_assert_geq(indexes, 4, "children_nhs, _upn, _dob and child_keys_child");
    cr_assert_eq(sdat_store_begin(a), 0);
    cr_assert_eq(sdat_store_bulk_begin(a), 1, "an empty register is loaded in bulk");
    cr_assert_eq(n_indexes(a), 0, "its secondary indexes are dropped for the load");
    writes(a);
    cr_assert_eq(sdat_store_bulk_finish(a), 0);
    cr_assert_eq(sdat_store_commit(a), 0);
    cr_assert_eq(sdat_store_begin(b), 0);
    writes(b);
    cr_assert_eq(sdat_store_commit(b), 0);
    cr_assert_eq(n_indexes(a), indexes, "the indexes are there again");
    char *da = dump(a), *db = dump(b);
    cr_assert_str_eq(da, db);
    cr_assert(strstr(da, "C1") && strstr(da, "child_keys_child"), "%s", da);
    free(da);
    free(db);
    int64_t na = 0, nb = 0;
    cr_assert_eq(sdat_store_child_count(a, &na), 0);
    cr_assert_eq(sdat_store_child_count(b, &nb), 0);
    cr_assert_eq(na, 3);
    cr_assert_eq(nb, 3);
    char ia[256], ib[256];
    const char *queries[][4] = {{"Ashlyn", "Newname", "2016-04-12", "S40 2QT"},
                                {"Ashlyn", "Testwood", "2016-04-12", "DE22 3XY"},
                                {"Bramwell", "Rye", "2018-09-30", "DE22 4AB"},
                                {"Dara", "Millbrook", "2014-03-05", "DE1 1AB"},
                                {"Cerys", "Quillfeather", "2015-01-02", "S40 2QT"}};
    for (size_t i = 0; i < sizeof queries / sizeof queries[0]; i++) {
        candidate_ids(a, queries[i][0], queries[i][1], queries[i][2], queries[i][3], ia, sizeof ia);
        candidate_ids(b, queries[i][0], queries[i][1], queries[i][2], queries[i][3], ib, sizeof ib);
        cr_assert_str_eq(ia, ib, "query %zu", i);
    }
    candidate_ids(a, "Ashlyn", "Newname", "2016-04-12", "S40 2QT", ia, sizeof ia);
    cr_assert(strstr(ia, "C1") != NULL, "%s", ia);
    candidate_ids(a, "Cerys", "Quillfeather", "2015-01-02", "S40 2QT", ia, sizeof ia);
    cr_assert(strstr(ia, "C3") == NULL, "a deleted child is no candidate: %s", ia);
    /* The register is not empty now: the next load is upserts as always. */
    cr_assert_eq(sdat_store_begin(a), 0);
    cr_assert_eq(sdat_store_bulk_begin(a), 0);
    cr_assert_eq(n_indexes(a), indexes);
    cr_assert_eq(sdat_store_bulk_finish(a), -EINVAL, "no bulk load to finish");
    cr_assert_eq(sdat_store_commit(a), 0);
    sdat_store_close(a);
    sdat_store_close(b);
}

Test(store_bulk, a_rolled_back_bulk_load_leaves_the_empty_register_and_its_indexes)
{
    sdat_store_t *a = fixture_store_open(dir_a);
    int indexes = n_indexes(a);
    char *before = dump(a);
    cr_assert_eq(sdat_store_begin(a), 0);
    cr_assert_eq(sdat_store_bulk_begin(a), 1);
    writes(a);
    sdat_store_rollback(a);
    char *after = dump(a);
    cr_assert_str_eq(after, before);
    cr_assert_eq(n_indexes(a), indexes);
    free(after);
    /* And the same connection can load in bulk again (the temporary
     * tables went with the transaction). */
    cr_assert_eq(sdat_store_begin(a), 0);
    cr_assert_eq(sdat_store_bulk_begin(a), 1);
    writes(a);
    cr_assert_eq(sdat_store_bulk_finish(a), 0);
    cr_assert_eq(sdat_store_commit(a), 0);
    cr_assert_eq(n_indexes(a), indexes);
    sdat_store_close(a);
    /* A load cut off before its commit (the process killed, nothing
     * closed): the store opens with the register empty and every index in
     * place. The cache is made small so that the load's pages are spilled
     * into the WAL before the process dies. */
    pid_t pid = fork();
    cr_assert_neq(pid, -1);
    if (pid == 0) {
        sdat_store_t *c = fixture_store_open(dir_b);
        sdat_store_set_cache(c, 1);
        if (sdat_store_begin(c) < 0 || sdat_store_bulk_begin(c) != 1) {
            _exit(2);
        }
        writes(c);
        for (int i = 0; i < 2000; i++) {
            char id[16];
            snprintf(id, sizeof id, "X%d", i);
            json_t *x = child(id, "Filler", "Child", "2015-06-07", "DE22 3XY", NULL);
            sdat_store_child_upsert(c, x, 9);
            json_decref(x);
        }
        kill(getpid(), SIGKILL);
    }
    int status = 0;
    cr_assert_eq(waitpid(pid, &status, 0), pid);
    cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "status %d", status);
    a = fixture_store_open(dir_b);
    cr_assert_eq(n_indexes(a), indexes);
    after = dump(a);
    cr_assert_str_eq(after, before);
    free(after);
    free(before);
    sdat_store_close(a);
}

/* A savepoint rolled back inside a bulk load takes its writes' keys with
 * it (the keys wait in memory until the load finishes): the register is
 * that of the writes outside it. */
Test(store_bulk, a_savepoint_rolled_back_in_a_bulk_load_drops_its_keys)
{
    sdat_store_t *a = fixture_store_open(dir_a), *b = fixture_store_open(dir_b);
    cr_assert_eq(sdat_store_begin(a), 0);
    cr_assert_eq(sdat_store_bulk_begin(a), 1);
    writes(a);
    cr_assert_eq(sdat_store_savepoint(a), 0);
    json_t *gone = child("C9", "Gwendolyn", "Undone", "2017-07-07", "DE22 3XY", NULL);
    json_t *changed = child("C1", "Ashlyn", "Otherway", "2016-04-12", "DE1 1AA", NULL);
    cr_assert_eq(sdat_store_child_upsert(a, gone, 9), 0);
    cr_assert_eq(sdat_store_child_upsert(a, changed, 9), 1);
    cr_assert_eq(sdat_store_savepoint_rollback(a), 0);
    json_decref(gone);
    json_decref(changed);
    json_t *after = child("C5", "Elowen", "Brightwater", "2013-02-03", "DE1 1AA", NULL);
    cr_assert_eq(sdat_store_child_upsert(a, after, 9), 0);
    cr_assert_eq(sdat_store_bulk_finish(a), 0);
    cr_assert_eq(sdat_store_commit(a), 0);

    cr_assert_eq(sdat_store_begin(b), 0);
    writes(b);
    cr_assert_eq(sdat_store_child_upsert(b, after, 9), 0);
    cr_assert_eq(sdat_store_commit(b), 0);
    json_decref(after);
    char *da = dump(a), *db = dump(b);
    cr_assert_str_eq(da, db);
    cr_assert(strstr(da, "C5") && !strstr(da, "C9") && !strstr(da, "otherway"), "%s", da);
    free(da);
    free(db);
    sdat_store_close(a);
    sdat_store_close(b);
}
