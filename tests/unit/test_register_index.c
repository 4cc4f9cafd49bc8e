/* The register index (sdat_store_register_index_load): its candidates are
 * row for row those SQLite gives (sdat_store_register_candidates_sql),
 * through upserts, deletes, commits and rollbacks to savepoints.
 *
 * The register is synthetic: names from the team's own lists
 * (bench/synth/names_*.txt), few of them, with few dates of birth and
 * postcodes, so that blocks collide; one date of birth is shared by more
 * children than a query reads (STORE_CANDIDATES_MAX). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "store/store_internal.h" /* STORE_CANDIDATES_MAX */

static char dir[64];

static void setup(void)
{
    fixture_dir_make(dir, sizeof dir, "regindex");
}

static void teardown(void)
{
    fixture_dir_remove(dir);
}

TestSuite(register_index, .init = setup, .fini = teardown);

static const char *const givens[] = {"Oliver", "George", "Noah",     "Arthur", "Harry",  "Leo",
                                     "Jack",   "Olivia", "Amelia",   "Isla",   "Ava",    "Ivy",
                                     "Freya",  "Lily",   "Florence", "Mia",    "Willow", "Rosie"};
static const char *const families[] = {"Smith",   "Jones", "Williams", "Taylor",  "Brown",
                                       "Davies",  "Evans", "Wilson",   "Thomas",  "Johnson",
                                       "Roberts", "Smyth", "Robinson", "Thompson"};
static const char *const postcodes[] = {"DE22 3XY", "DE1 2AB", "S40 2QT", "DE23 6LP", "NG10 1AA"};

/* Half of them share the first: a block larger than the limit. */
static const char *pick_postcode(void);

static unsigned seed = 21;

static unsigned rnd(unsigned n)
{
    seed = seed * 1103515245u + 12345u;
    return (seed >> 8) % n;
}

static const char *pick_given(void)
{
    return givens[rnd(sizeof givens / sizeof *givens)];
}

static const char *pick_postcode(void)
{
    return rnd(2) ? postcodes[0] : postcodes[rnd(sizeof postcodes / sizeof *postcodes)];
}

/* Now and then a rare name, new to the register (its count row is made,
 * and must be unmade by a rollback). */
static const char *pick_family(void)
{
    static char rare[16];
    if (rnd(40) == 0) {
        snprintf(rare, sizeof rare, "Testwood%c", 'a' + rnd(26));
        return rare;
    }
    return families[rnd(sizeof families / sizeof *families)];
}

/* A date of birth: most share a few months; "2015-05-05" is the big block. */
static void pick_dob(char *out, size_t size)
{
    if (rnd(5) < 2) {
        snprintf(out, size, "2015-05-05");
        return;
    }
    snprintf(out, size, "%04u-%02u-%02u", 2010 + rnd(8), 1 + rnd(3), 1 + rnd(12));
}

#define N_IDS 8000

static json_t *random_child(unsigned id)
{
    char child_id[16], dob[16], nhs[16], upn[16], uprn[16];
    /* Longer than 8 bytes, sharing their first 8: sorted by the whole id. */
    snprintf(child_id, sizeof child_id, "CHILD-%04u", id);
    pick_dob(dob, sizeof dob);
    json_t *c = json_pack("{s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1", "child_id",
                          child_id, "la_code", "831", "dob", dob, "given_name", pick_given());
    char family[64];
    if (rnd(6) == 0) {
        snprintf(family, sizeof family, "%s-%s", pick_family(), pick_family());
    } else {
        snprintf(family, sizeof family, "%s", pick_family());
    }
    json_object_set_new(c, "family_name", json_string(family));
    if (rnd(4) == 0) {
        json_object_set_new(c, "middle_names", json_string(pick_given()));
    }
    if (rnd(5) == 0) {
        json_object_set_new(
            c, "aliases",
            json_pack("[{s:s, s:s}]", "given_name", pick_given(), "family_name", pick_family()));
    }
    /* Few NHS numbers and UPNs: some are shared by two children. */
    if (rnd(3) != 0) {
        snprintf(nhs, sizeof nhs, "999%07u", rnd(N_IDS * 2));
        json_object_set_new(c, "nhs_number", json_string(nhs));
    }
    if (rnd(3) == 0) {
        snprintf(upn, sizeof upn, "A8310000%05u", rnd(N_IDS * 2));
        json_object_set_new(c, "upn", json_string(upn));
    }
    json_t *address = json_object();
    if (rnd(5) != 0) {
        json_object_set_new(address, "postcode", json_string(pick_postcode()));
    }
    if (rnd(2) == 0) {
        snprintf(uprn, sizeof uprn, "1000%04u", rnd(300));
        json_object_set_new(address, "uprn", json_string(uprn));
    }
    json_object_set_new(c, "address", address);
    return c;
}

/* A police child as an incident gives it: any field may be missing. */
static void random_query(struct sdat_match_query *q)
{
    json_t *police = json_object(), *location = json_object();
    char dob[16], text[32];
    unsigned shape = rnd(8);
    if (shape == 0) { /* identifiers only */
        snprintf(text, sizeof text, "999%07u", rnd(N_IDS * 2));
        json_object_set_new(police, "nhs_number", json_string(text));
        if (rnd(2)) {
            snprintf(text, sizeof text, "A8310000%05u", rnd(N_IDS * 2));
            json_object_set_new(police, "upn", json_string(text));
        }
    } else if (shape == 1) { /* nothing at all */
    } else {
        if (rnd(6) != 0) {
            json_object_set_new(police, "given_name", json_string(pick_given()));
        }
        if (rnd(6) != 0) {
            if (rnd(4) == 0) {
                snprintf(text, sizeof text, "%s-%s", pick_family(), pick_family());
            } else {
                snprintf(text, sizeof text, "%s", pick_family());
            }
            json_object_set_new(police, "family_name", json_string(text));
        }
        if (rnd(5) == 0) {
            json_object_set_new(police, "age", json_integer(rnd(12)));
        } else if (rnd(6) != 0) {
            pick_dob(dob, sizeof dob);
            json_object_set_new(police, "dob", json_string(dob));
        }
        if (rnd(2)) {
            json_object_set_new(location, "postcode", json_string(pick_postcode()));
        }
        if (rnd(3) == 0) {
            snprintf(text, sizeof text, "1000%04u", rnd(300));
            json_object_set_new(location, "uprn", json_string(text));
        }
        if (rnd(3) == 0) {
            snprintf(text, sizeof text, "999%07u", rnd(N_IDS * 2));
            json_object_set_new(police, "nhs_number", json_string(text));
        }
        if (rnd(4) == 0) {
            snprintf(text, sizeof text, "A8310000%05u", rnd(N_IDS * 2));
            json_object_set_new(police, "upn", json_string(text));
        }
    }
    int32_t occurred = 0;
    sdat_date_parse("2026-03-10", &occurred);
    sdat_match_query_from_police(police, location, true, true, true, occurred, q);
    json_decref(police);
    json_decref(location);
}

static bool same_text(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static size_t biggest, queries;

/* The index's answer against SQLite's, row for row. */
static void compare(sdat_store_t *st, const struct sdat_match_query *q, const char *step)
{
    cr_assert(sdat_store_register_index_loaded(st), "%s: the index is still loaded", step);
    struct sdat_register_row *a = NULL, *b = NULL;
    size_t n_a = 0, n_b = 0;
    cr_assert_eq(sdat_store_register_candidates(st, q, &a, &n_a), 0, "%s", step);
    cr_assert_eq(sdat_store_register_candidates_sql(st, q, &b, &n_b), 0, "%s", step);
    cr_assert_eq(n_a, n_b, "%s: %zu rows from the index, %zu from SQLite", step, n_a, n_b);
    for (size_t i = 0; i < n_a; i++) {
        const char *x[10] = {a[i].child_id,     a[i].given, a[i].family,   a[i].other_given,
                             a[i].other_family, a[i].dob,   a[i].postcode, a[i].uprn,
                             a[i].nhs_number,   a[i].upn};
        const char *y[10] = {b[i].child_id,     b[i].given, b[i].family,   b[i].other_given,
                             b[i].other_family, b[i].dob,   b[i].postcode, b[i].uprn,
                             b[i].nhs_number,   b[i].upn};
        for (int c = 0; c < 10; c++) {
            cr_assert(same_text(x[c], y[c]), "%s: row %zu column %d differs", step, i, c);
        }
        cr_assert_eq(a[i].family_count, b[i].family_count, "%s: row %zu family count", step, i);
        cr_assert_eq(a[i].given_count, b[i].given_count, "%s: row %zu given count", step, i);
    }
    biggest = n_a > biggest ? n_a : biggest;
    queries++;
    sdat_store_rows_free(a, n_a);
    sdat_store_rows_free(b, n_b);
}

static void compare_random(sdat_store_t *st, int n, const char *step)
{
    for (int i = 0; i < n; i++) {
        struct sdat_match_query q;
        random_query(&q);
        compare(st, &q, step);
    }
}

/* The big block: a query on its date of birth reads more than the limit. */
static void compare_big_block(sdat_store_t *st, const char *step)
{
    struct sdat_match_query q;
    json_t *police = json_pack("{s:s, s:s, s:s, s:s}", "given_name", pick_given(), "family_name",
                               pick_family(), "dob", "2015-05-05", "nhs_number", "9990000001");
    json_t *location = json_pack("{s:s}", "postcode", "DE22 3XY");
    sdat_match_query_from_police(police, location, true, true, true, 0, &q);
    compare(st, &q, step);
    json_decref(police);
    json_decref(location);
}

static void seed_register(sdat_store_t *st, unsigned n)
{
    cr_assert_eq(sdat_store_begin(st), 0);
    for (unsigned id = 0; id < n; id++) {
        json_t *c = random_child(id);
        cr_assert_geq(sdat_store_child_upsert(st, c, 1), 0);
        json_decref(c);
    }
    cr_assert_eq(sdat_store_commit(st), 0);
}

/* One random register write: upsert (new or existing child) or delete. */
static void random_write(sdat_store_t *st)
{
    unsigned id = rnd(N_IDS);
    if (rnd(4) == 0) {
        char child_id[16];
        /* Longer than 8 bytes, sharing their first 8: sorted by the whole id. */
        snprintf(child_id, sizeof child_id, "CHILD-%04u", id);
        int r = sdat_store_child_delete(st, child_id);
        cr_assert(r == 0 || r == -ENOENT, "delete: %d", r);
    } else {
        json_t *c = random_child(id);
        cr_assert_geq(sdat_store_child_upsert(st, c, 2), 0);
        json_decref(c);
    }
}

Test(register_index, answers_row_for_row_what_sqlite_answers_through_writes_and_rollbacks)
{
    sdat_store_t *st = fixture_store_open(dir);
    seed_register(st, N_IDS * 3 / 4);
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    compare_random(st, 200, "after load");
    compare_big_block(st, "after load, big block");
    cr_assert_geq(biggest, STORE_CANDIDATES_MAX, "a query reached the limit");
    char step[64];
    int depth = 0;
    bool in_txn = false;
    unsigned rollbacks = 0, commits = 0;
    for (int i = 0; i < 1500; i++) {
        unsigned what = rnd(20);
        if (!in_txn) {
            if (what < 3) {
                random_write(st); /* autocommit */
            } else {
                cr_assert_eq(sdat_store_begin(st), 0);
                in_txn = true;
            }
        } else if (what < 12) {
            random_write(st);
        } else if (what < 14 && depth < 4) {
            cr_assert_eq(sdat_store_savepoint(st), 0);
            depth++;
        } else if (what < 15 && depth > 0) {
            cr_assert_eq(sdat_store_savepoint_release(st), 0);
            depth--;
        } else if (what < 17 && depth > 0) {
            cr_assert_eq(sdat_store_savepoint_rollback(st), 0);
            depth--;
            rollbacks++;
        } else if (what < 19) {
            cr_assert_eq(sdat_store_commit(st), 0);
            in_txn = false;
            depth = 0;
            commits++;
        } else {
            sdat_store_rollback(st);
            in_txn = false;
            depth = 0;
            rollbacks++;
        }
        snprintf(step, sizeof step, "step %d", i);
        compare_random(st, 4, step);
        if (i % 50 == 0) {
            compare_big_block(st, step);
        }
    }
    if (in_txn) {
        cr_assert_eq(sdat_store_commit(st), 0);
    }
    compare_random(st, 200, "at the end");
    cr_assert_gt(rollbacks, 50);
    cr_assert_gt(commits, 50);
    /* A load of the committed register answers the same as the index kept
     * current. */
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    compare_random(st, 200, "reloaded");
    sdat_store_close(st);
}

/* The load builds the index its own way (the children's blocks in one
 * arena, each list's children counted, then placed in one pool): what it
 * built must take writes as child_link's index does, and a reload after
 * many of them must answer as SQLite does. */
Test(register_index, a_loaded_index_takes_writes_and_reloads_after_many_as_sqlite_answers)
{
    sdat_store_t *st = fixture_store_open(dir);
    /* An empty register loads, then grows from nothing. */
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    seed_register(st, N_IDS / 2 + 5); /* not a whole number of the load's batches */
    compare_random(st, 100, "grown from empty");
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    compare_random(st, 100, "loaded");
    compare_big_block(st, "loaded, big block");
    char step[64];
    for (int round = 0; round < 6; round++) {
        /* Loaded children removed and put back by a rollback, lists of the
         * pool grown past their exact room and shrunk. */
        cr_assert_eq(sdat_store_begin(st), 0);
        for (int i = 0; i < 600; i++) {
            random_write(st);
        }
        snprintf(step, sizeof step, "round %d, in the transaction", round);
        compare_random(st, 40, step);
        compare_big_block(st, step);
        if (round % 2 == 0) {
            sdat_store_rollback(st);
        } else {
            cr_assert_eq(sdat_store_commit(st), 0);
        }
        snprintf(step, sizeof step, "round %d, after it", round);
        compare_random(st, 40, step);
        /* Many deletes, committed, then a load of what is left. */
        cr_assert_eq(sdat_store_begin(st), 0);
        for (int i = 0; i < 300; i++) {
            char child_id[16];
            snprintf(child_id, sizeof child_id, "CHILD-%04u", rnd(N_IDS));
            int r = sdat_store_child_delete(st, child_id);
            cr_assert(r == 0 || r == -ENOENT, "delete: %d", r);
        }
        cr_assert_eq(sdat_store_commit(st), 0);
        cr_assert_eq(sdat_store_register_index_load(st), 0);
        snprintf(step, sizeof step, "round %d, reloaded", round);
        compare_random(st, 60, step);
        compare_big_block(st, step);
    }
    int64_t children = 0, keys = 0;
    sdat_store_register_index_size(st, &children, &keys);
    cr_assert_gt(children, 0);
    cr_assert_gt(keys, children);
    sdat_store_close(st);
}

static size_t count_for(sdat_store_t *st, const char *given, const char *family, const char *dob,
                        int64_t *ret_family_count)
{
    json_t *police =
        json_pack("{s:s, s:s, s:s}", "given_name", given, "family_name", family, "dob", dob);
    json_t *location = json_object();
    struct sdat_match_query q;
    sdat_match_query_from_police(police, location, true, true, true, 0, &q);
    compare(st, &q, "count_for");
    struct sdat_register_row *rows = NULL;
    size_t n = 0;
    cr_assert_eq(sdat_store_register_candidates(st, &q, &rows, &n), 0);
    *ret_family_count = n ? rows[0].family_count : -1;
    sdat_store_rows_free(rows, n);
    json_decref(police);
    json_decref(location);
    return n;
}

Test(register_index, a_rollback_to_a_savepoint_and_of_the_transaction_undoes_the_index)
{
    sdat_store_t *st = fixture_store_open(dir);
    json_t *a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1", "child_id",
                          "R1", "la_code", "831", "given_name", "Ashlyn", "family_name", "Testwood",
                          "dob", "2016-04-12");
    json_t *renamed = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1",
                                "child_id", "R1", "la_code", "831", "given_name", "Ashlyn",
                                "family_name", "Newname", "dob", "2016-04-12");
    json_t *other = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1",
                              "child_id", "R0", "la_code", "831", "given_name", "Bramwell",
                              "family_name", "Otherwood", "dob", "2018-09-30");
    cr_assert_eq(sdat_store_child_upsert(st, other, 1), 0);
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    int64_t family_count = 0;
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_child_upsert(st, a, 1), 0);
    cr_assert_eq(count_for(st, "Ashlyn", "Testwood", "2016-04-12", &family_count), 1);
    cr_assert_eq(family_count, 1);
    cr_assert_eq(sdat_store_savepoint(st), 0);
    cr_assert_eq(sdat_store_child_upsert(st, renamed, 2), 1);
    cr_assert_eq(count_for(st, "Ashlyn", "Newname", "2016-04-12", &family_count), 1);
    cr_assert_eq(family_count, 1);
    cr_assert_eq(sdat_store_child_delete(st, "R1"), 0);
    cr_assert_eq(count_for(st, "Ashlyn", "Newname", "2016-04-12", &family_count), 0);
    /* Back to the savepoint: the first version, as SQLite has it. */
    cr_assert_eq(sdat_store_savepoint_rollback(st), 0);
    cr_assert_eq(count_for(st, "Ashlyn", "Testwood", "2016-04-12", &family_count), 1);
    cr_assert_eq(family_count, 1);
    struct sdat_register_row *rows = NULL;
    size_t n = 0;
    json_t *police = json_pack("{s:s, s:s, s:s}", "given_name", "Ashlyn", "family_name", "Testwood",
                               "dob", "2016-04-12");
    struct sdat_match_query q;
    sdat_match_query_from_police(police, NULL, true, true, true, 0, &q);
    cr_assert_eq(sdat_store_register_candidates(st, &q, &rows, &n), 0);
    cr_assert_eq(n, 1);
    cr_assert_str_eq(rows[0].family, "testwood");
    sdat_store_rows_free(rows, n);
    /* The whole transaction: nothing, and the name unknown again (1). */
    sdat_store_rollback(st);
    cr_assert_eq(count_for(st, "Ashlyn", "Testwood", "2016-04-12", &family_count), 0);
    cr_assert_eq(sdat_store_register_candidates(st, &q, &rows, &n), 0);
    cr_assert_eq(n, 0);
    sdat_store_rows_free(rows, n);
    /* Found by R0's date of birth: the count is of the query's name, which
     * is no longer in the register (1, not 0). */
    cr_assert_eq(count_for(st, "Ashlyn", "Testwood", "2018-09-30", &family_count), 1);
    cr_assert_eq(family_count, 1);
    cr_assert(sdat_store_register_index_loaded(st));
    json_decref(other);
    json_decref(police);
    json_decref(a);
    json_decref(renamed);
    sdat_store_close(st);
}

Test(register_index, a_failed_write_that_is_committed_drops_the_index)
{
    sdat_store_t *st = fixture_store_open(dir);
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    /* No date of birth: children.dob is NOT NULL, so the write fails after
     * forget() may have run. */
    json_t *bad =
        json_pack("{s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1", "child_id", "B1",
                  "la_code", "831", "given_name", "Ashlyn", "family_name", "Testwood");
    cr_assert_eq(sdat_store_begin(st), 0);
    cr_assert_eq(sdat_store_savepoint(st), 0);
    cr_assert_lt(sdat_store_child_upsert(st, bad, 1), 0);
    cr_assert_eq(sdat_store_savepoint_rollback(st), 0);
    cr_assert(sdat_store_register_index_loaded(st), "rolled back: the index still holds");
    cr_assert_lt(sdat_store_child_upsert(st, bad, 1), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert(!sdat_store_register_index_loaded(st), "committed: SQLite answers");
    json_decref(bad);
    sdat_store_close(st);
}

static json_t *plain_child(const char *child_id, const char *dob, const char *nhs)
{
    json_t *c =
        json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "schema", "council.child/1", "child_id",
                  child_id, "la_code", "831", "given_name", "", "family_name", "", "dob", dob);
    if (nhs) {
        json_object_set_new(c, "nhs_number", json_string(nhs));
    }
    return c;
}

Test(register_index, the_limit_cuts_the_nhs_number_rows_in_sqlites_order)
{
    sdat_store_t *st = fixture_store_open(dir);
    cr_assert_eq(sdat_store_begin(st), 0);
    char child_id[16];
    for (int i = 0; i < STORE_CANDIDATES_MAX - 1; i++) {
        snprintf(child_id, sizeof child_id, "K%04d", i);
        json_t *c = plain_child(child_id, "2001-01-01", NULL);
        cr_assert_eq(sdat_store_child_upsert(st, c, 1), 0);
        json_decref(c);
    }
    /* Two children with one NHS number: Z1 before Z2 in SQLite's index. */
    json_t *z1 = plain_child("Z1", "2002-02-02", "9990000018");
    json_t *z2 = plain_child("Z2", "2003-03-03", "9990000018");
    cr_assert_eq(sdat_store_child_upsert(st, z1, 1), 0);
    cr_assert_eq(sdat_store_child_upsert(st, z2, 1), 0);
    cr_assert_eq(sdat_store_commit(st), 0);
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    /* An update keeps Z1's place in SQLite (its rowid), not in the index's
     * lists. */
    json_object_set_new(z1, "upn", json_string("A831000000001"));
    cr_assert_eq(sdat_store_child_upsert(st, z1, 2), 1);
    json_t *police = json_pack("{s:s, s:s}", "dob", "2001-01-01", "nhs_number", "9990000018");
    struct sdat_match_query q;
    sdat_match_query_from_police(police, NULL, true, true, true, 0, &q);
    compare(st, &q, "nhs at the limit");
    struct sdat_register_row *rows = NULL;
    size_t n = 0;
    cr_assert_eq(sdat_store_register_candidates(st, &q, &rows, &n), 0);
    cr_assert_eq(n, STORE_CANDIDATES_MAX);
    cr_assert_str_eq(rows[n - 1].child_id, "Z1");
    sdat_store_rows_free(rows, n);
    json_decref(police);
    json_decref(z1);
    json_decref(z2);
    sdat_store_close(st);
}

Test(register_index, a_store_keyed_otherwise_is_not_loaded)
{
    sdat_store_t *st = fixture_store_open(dir);
    json_t *c = plain_child("K1", "2001-01-01", NULL);
    cr_assert_eq(sdat_store_child_upsert(st, c, 1), 0);
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    /* A key this build does not compute (as an older blocking scheme's
     * would be): the index would miss what SQLite finds. */
    cr_assert_eq(sqlite3_exec(st->db,
                              "INSERT INTO child_keys(key, child_id, given_norm, family_norm,"
                              " other_given, other_family, dob) VALUES ('x:old', 'K1', '', '', '',"
                              " '', '2001-01-01')",
                              NULL, NULL, NULL),
                 SQLITE_OK);
    cr_assert_eq(sdat_store_register_index_load(st), -EPROTO);
    cr_assert(!sdat_store_register_index_loaded(st));
    json_decref(c);
    sdat_store_close(st);
}

Test(register_index, a_write_after_sqlite_rolled_the_transaction_back_itself_drops_the_index)
{
    sdat_store_t *st = fixture_store_open(dir);
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    json_t *c = plain_child("K1", "2001-01-01", NULL);
    cr_assert_eq(sdat_store_begin(st), 0);
    /* As SQLite does after SQLITE_FULL: the transaction is gone, and the
     * next write commits on its own; the caller's rollback cannot undo it. */
    cr_assert_eq(sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    cr_assert_eq(sdat_store_child_upsert(st, c, 1), 0);
    cr_assert(!sdat_store_register_index_loaded(st));
    sdat_store_rollback(st);
    struct sdat_match_query q;
    json_t *police = json_pack("{s:s}", "dob", "2001-01-01");
    sdat_match_query_from_police(police, NULL, true, true, true, 0, &q);
    struct sdat_register_row *rows = NULL;
    size_t n = 0;
    cr_assert_eq(sdat_store_register_candidates(st, &q, &rows, &n), 0);
    cr_assert_eq(n, 1, "SQLite holds the child, and answers");
    sdat_store_rows_free(rows, n);
    json_decref(police);
    json_decref(c);
    sdat_store_close(st);
}

/* The rows of a view's answer, as "child_id given family" lines. */
static char *view_rows(const struct sdat_register_view *v, const struct sdat_match_query *q)
{
    struct sdat_register_row *rows = NULL;
    size_t n = 0;
    cr_assert_eq(sdat_register_view_candidates(v, q, &rows, &n), 0);
    char *text = calloc(1, 64 * (n + 1));
    for (size_t i = 0; i < n; i++) {
        sprintf(text + strlen(text), "%s %s %s\n", rows[i].child_id, rows[i].given, rows[i].family);
    }
    sdat_store_rows_free(rows, n);
    return text;
}

Test(register_index, a_view_answers_as_the_store_and_outlives_a_drop)
{
    sdat_store_t *st = fixture_store_open(dir);
    cr_assert_eq(sdat_store_begin(st), 0);
    for (unsigned i = 1; i <= 400; i++) {
        json_t *c = random_child(i);
        cr_assert_eq(sdat_store_child_upsert(st, c, 1), 0);
        json_decref(c);
    }
    cr_assert_eq(sdat_store_commit(st), 0);
    struct sdat_register_view v;
    cr_assert_eq(sdat_store_register_view_begin(st, &v), -ENOENT, "no index: no view");
    cr_assert_eq(sdat_store_register_index_load(st), 0);
    cr_assert_eq(sdat_store_register_view_begin(st, &v), 0);
    cr_assert_eq(v.size, 400);
    /* Row for row what the store answers. */
    struct sdat_match_query q[50];
    char *before[50];
    for (int i = 0; i < 50; i++) {
        random_query(&q[i]);
        struct sdat_register_row *rows = NULL;
        size_t n = 0;
        cr_assert_eq(sdat_store_register_candidates_sql(st, &q[i], &rows, &n), 0);
        char *sql = calloc(1, 64 * (n + 1));
        for (size_t k = 0; k < n; k++) {
            sprintf(sql + strlen(sql), "%s %s %s\n", rows[k].child_id, rows[k].given,
                    rows[k].family);
        }
        sdat_store_rows_free(rows, n);
        before[i] = view_rows(&v, &q[i]);
        cr_assert_str_eq(before[i], sql, "query %d", i);
        free(sql);
    }
    /* A register write while the view is open (the daemon makes none)
     * drops the index for the writer, who reads SQLite from then on; the
     * view keeps answering from the state it began with until it ends. */
    cr_assert_eq(sdat_store_begin(st), 0);
    for (unsigned i = 1; i <= 400; i += 2) {
        char id[16];
        snprintf(id, sizeof id, "CHILD-%04u", i);
        cr_assert_eq(sdat_store_child_delete(st, id), 0);
    }
    cr_assert(!sdat_store_register_index_loaded(st), "a write under a view drops the index");
    for (int i = 0; i < 50; i++) {
        char *after = view_rows(&v, &q[i]);
        cr_assert_str_eq(after, before[i], "query %d: the view still answers as it began", i);
        free(after);
    }
    cr_assert_eq(sdat_store_commit(st), 0);
    for (int i = 0; i < 50; i++) {
        char *after = view_rows(&v, &q[i]);
        cr_assert_str_eq(after, before[i], "query %d: after the commit too", i);
        free(after);
    }
    sdat_store_register_view_end(st);
    for (int i = 0; i < 50; i++) {
        free(before[i]);
    }
    sdat_store_close(st);
}
