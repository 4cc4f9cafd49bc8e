/* The sibling guard and the incident's children decided together
 * (docs/MATCHING.md): the rules that keep a twin, a like-named sibling, a
 * namesake cousin or a namesake elsewhere from being taken for the child.
 * Pure, like the rest of the matcher. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "match.h"
#include "match_internal.h"

/* ---- The sibling guard (flows.md §4: twins and siblings with
 * near-identical names land in review, not in a guess) ---- */

const struct sdat_register_row *match_row_of(const struct sdat_register_row *rows, size_t n_rows,
                                              const char *child_id)
{
    for (size_t i = 0; i < n_rows; i++) {
        if (strcmp(rows[i].child_id, child_id) == 0) {
            return &rows[i];
        }
    }
    return NULL;
}

static bool same_family(const struct sdat_register_row *a, const struct sdat_register_row *b)
{
    return a->family && b->family &&
           (strcmp(a->family, b->family) == 0 || match_in_words(a->family, b->other_family) ||
            match_in_words(b->family, a->other_family));
}

/* One household: the same property (UPRN) when both have one, else the
 * same postcode and family. */
static bool one_household(const struct sdat_register_row *a, const struct sdat_register_row *b)
{
    if (a->uprn && a->uprn[0] && b->uprn && b->uprn[0]) {
        return strcmp(a->uprn, b->uprn) == 0;
    }
    return a->postcode && a->postcode[0] && b->postcode && strcmp(a->postcode, b->postcode) == 0 &&
           same_family(a, b);
}

/* Namesakes at one address (cousins or half-siblings who live together):
 * the same given name at one property (UPRN), whatever their family names;
 * without a UPRN on both, in one postcode (~15 properties), since the
 * register cannot say which. Those also told apart by the family name and
 * the date of birth are let through (apart_by_family_and_dob). */
static bool namesakes_at(const struct sdat_register_row *a, const struct sdat_register_row *b)
{
    if (!a->given || !b->given || strcmp(a->given, b->given) != 0) {
        return false;
    }
    if (a->uprn && a->uprn[0] && b->uprn && b->uprn[0]) {
        return strcmp(a->uprn, b->uprn) == 0;
    }
    return a->postcode && a->postcode[0] && b->postcode && strcmp(a->postcode, b->postcode) == 0;
}

/* Register given names a tired officer could write the one for the other:
 * the same, nickname-equivalent, close in spelling, or beginning alike and
 * not far apart (Noah/Noel, Amber/Amba, Fennimore/Fenwicka). */
static bool given_alike(const struct sdat_match_params *p, const struct sdat_register_row *a,
                        const struct sdat_register_row *b)
{
    if (!a->given || !b->given || !a->given[0] || !b->given[0]) {
        return false;
    }
    if (strcmp(a->given, b->given) == 0 ||
        sdat_nicknames_equivalent(p->nicknames, a->given, b->given)) {
        return true;
    }
    double jw = sdat_jaro_winkler(a->given, b->given);
    return jw >= SIBLING_ALIKE || (jw >= SIBLING_ALIKE_PREFIXED && a->given[1] &&
                                   strncmp(a->given, b->given, 2) == 0);
}

/* Whether the police child could be taken for other instead of best:
 * other is best's twin or triplet (the same date of birth in one
 * household), a sibling or cousin in best's household with a like given
 * name, or a namesake at best's address. */
static bool confusable(const struct sdat_match_params *p, const struct sdat_register_row *best,
                       const struct sdat_register_row *other, bool *ret_twin)
{
    *ret_twin = false;
    if (strcmp(best->child_id, other->child_id) == 0) {
        return false;
    }
    bool household = one_household(best, other);
    *ret_twin = household && best->dob && other->dob && strcmp(best->dob, other->dob) == 0;
    return *ret_twin || (household && given_alike(p, best, other)) || namesakes_at(best, other);
}

/* A given-name level that names one child: the register's name, one of its
 * other names, or a nickname of it. */
bool match_names_the_child(const char *level)
{
    return strcmp(level, "exact") == 0 || strcmp(level, "other-name") == 0 ||
           strcmp(level, "nickname") == 0;
}

/* Puts c among the candidates (in place of the last when full), best
 * first; a child already there is left as it is. */
static void keep_candidate(struct sdat_match_outcome *ret, const struct sdat_candidate *c)
{
    for (size_t i = 0; i < ret->n_candidates; i++) {
        if (strcmp(ret->candidates[i].child_id, c->child_id) == 0) {
            ret->candidates[i].sibling = true;
            return;
        }
    }
    struct sdat_candidate kept = *c;
    kept.sibling = true;
    if (ret->n_candidates < SDAT_MATCH_MAX_CANDIDATES) {
        ret->candidates[ret->n_candidates++] = kept;
    } else {
        ret->candidates[SDAT_MATCH_MAX_CANDIDATES - 1] = kept;
    }
    qsort(ret->candidates + 1, ret->n_candidates - 1, sizeof ret->candidates[0], match_by_score_desc);
}

/* How strongly a given-name level points at a child: 0 for disagreement,
 * 4 for a nickname of its name, 5 for one of its own names as the register
 * has it (the given name, a middle name, an alias). */
static int given_strength(const char *level)
{
    if (strcmp(level, "exact") == 0 || strcmp(level, "other-name") == 0) {
        return 5;
    }
    if (match_names_the_child(level)) {
        return 4;
    }
    if (strcmp(level, "similar") == 0 || strcmp(level, "swapped") == 0) {
        return 3;
    }
    if (strcmp(level, "similar-weak") == 0) {
        return 2;
    }
    return strcmp(level, "disagree") == 0 ? 0 : 1; /* initial, missing */
}

static bool level_is(const struct sdat_candidate *c, int field, const char *a, const char *b)
{
    const char *level = c->fields[field].level;
    return strcmp(level, a) == 0 || (b && strcmp(level, b) == 0);
}

/* A cousin under one roof with best's given name is told apart when two
 * fields the officer wrote both name best and both disagree with the
 * cousin: the family name (exact or an alias) and the full date of birth
 * (exact or day and month swapped). */
static bool apart_by_family_and_dob(const struct sdat_candidate *b, const struct sdat_candidate *c)
{
    return level_is(b, SDAT_FIELD_FAMILY_NAME, "exact", "alias") &&
           level_is(c, SDAT_FIELD_FAMILY_NAME, "disagree", NULL) &&
           level_is(b, SDAT_FIELD_DOB, "exact", "swapped") &&
           level_is(c, SDAT_FIELD_DOB, "disagree", NULL);
}

/* Whether the police child may be matched to best although the register
 * holds children it could be taken for (confusable). A twin or triplet
 * shares best's date of birth, so only the given name can tell them apart:
 * it must name best (exact, another of its names, a nickname) and disagree
 * with the twin. A sibling or cousin with a like name must be named less
 * well than best by the police given name, so that the date of birth is
 * not all that tells them apart, or be told apart by both the family name
 * and the date of birth. Those not told apart join the candidates,
 * so that a person sees them. */
bool match_sibling_guard_passes(const struct sdat_match_params *p,
                                 const struct sdat_match_query *q,
                                 const struct sdat_register_row *rows, size_t n_rows,
                                 const struct sdat_register_row *best,
                                 struct sdat_match_outcome *ret)
{
    struct sdat_candidate b;
    sdat_match_score(p, q, best, &b);
    int best_strength = given_strength(b.fields[SDAT_FIELD_GIVEN_NAME].level);
    bool passes = true, twin;
    for (size_t i = 0; i < n_rows; i++) {
        if (!confusable(p, best, &rows[i], &twin)) {
            continue;
        }
        struct sdat_candidate c;
        sdat_match_score(p, q, &rows[i], &c);
        int strength = given_strength(c.fields[SDAT_FIELD_GIVEN_NAME].level);
        bool told_apart = twin ? best_strength >= 4 && strength == 0
                               : strength < best_strength || apart_by_family_and_dob(&b, &c);
        if (!told_apart) {
            passes = false;
            keep_candidate(ret, &c);
        }
    }
    return passes;
}

/* A household's key: the UPRN, else the postcode and family name. */
void match_household_of(const struct sdat_register_row *row, char *out, size_t len)
{
    if (!row) {
        out[0] = '\0';
    } else if (row->uprn && row->uprn[0]) {
        snprintf(out, len, "u:%s", row->uprn);
    } else {
        snprintf(out, len, "p:%s/%s", row->postcode ? row->postcode : "",
                 row->family ? row->family : "");
    }
}

void sdat_match_corroborate(const struct sdat_match_query *queries,
                            struct sdat_match_outcome *outcomes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct sdat_match_outcome *o = &outcomes[i];
        if (o->decision != SDAT_DECISION_MATCH || strcmp(o->rule, "score") != 0 ||
            !queries[i].postcode[0] || o->n_candidates == 0 ||
            strcmp(o->candidates[0].fields[SDAT_FIELD_POSTCODE].level, "disagree") != 0) {
            continue;
        }
        bool confirmed = false;
        for (size_t j = 0; j < n && !confirmed; j++) {
            confirmed = j != i && outcomes[j].decision == SDAT_DECISION_MATCH &&
                        strcmp(outcomes[j].household, o->household) == 0;
        }
        if (!confirmed) {
            o->decision = SDAT_DECISION_REVIEW;
            o->reason = SDAT_MATCH_UNCONFIRMED_ADDRESS;
            o->child_id[0] = '\0';
            o->household[0] = '\0';
        }
    }
}
