#include "match.h"
#include "match_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"
#include "util/util.h"
#include "util/util.h"

/* Field levels with their m (how often a true match shows this level) and
 * u (how often two different children do) probabilities; the weight is
 * log2(m/u). Defaults chosen from what officers' records look like and
 * tuned on the synthetic set (bench/synth, seed 1); docs/MATCHING.md gives
 * the reasoning. The exact levels of the given and the family name take u
 * from the register's own count of the name (term-frequency adjustment),
 * bounded so that one rare name cannot carry a match on its own. */
struct level {
    const char *name;
    double m, u;
};

enum { G_EXACT, G_OTHER, G_NICKNAME, G_SIMILAR, G_SIMILAR_WEAK, G_INITIAL, G_DISAGREE };
static const struct level given_levels[] = {
    [G_EXACT] = {"exact", 0.80, 0.01},
    [G_OTHER] = {"other-name", 0.04, 0.002},
    [G_NICKNAME] = {"nickname", 0.07, 0.002},
    [G_SIMILAR] = {"similar", 0.05, 0.004},
    [G_SIMILAR_WEAK] = {"similar-weak", 0.02, 0.02},
    [G_INITIAL] = {"initial", 0.01, 0.05},
    [G_DISAGREE] = {"disagree", 0.01, 0.91},
};

enum { F_EXACT, F_ALIAS, F_SIMILAR, F_SIMILAR_WEAK, F_DISAGREE };
static const struct level family_levels[] = {
    [F_EXACT] = {"exact", 0.85, 0.002}, /* u replaced by the name's frequency */
    [F_ALIAS] = {"alias", 0.05, 0.002},
    [F_SIMILAR] = {"similar", 0.05, 0.002},
    [F_SIMILAR_WEAK] = {"similar-weak", 0.02, 0.01},
    [F_DISAGREE] = {"disagree", 0.03, 0.985},
};
#define GIVEN_U_MIN 0.002
#define GIVEN_U_MAX 0.05
#define FAMILY_U_MIN 0.0005
#define FAMILY_U_MAX 0.05

enum { D_EXACT, D_SWAPPED, D_ONE_OFF, D_YEAR, D_DISAGREE };
static const struct level dob_levels[] = {
    [D_EXACT] = {"exact", 0.88, 0.00015},    [D_SWAPPED] = {"swapped", 0.02, 0.0001},
    [D_ONE_OFF] = {"one-off", 0.05, 0.005},  [D_YEAR] = {"year", 0.95, 0.11},
    [D_DISAGREE] = {"disagree", 0.02, 0.99},
};

enum { P_FULL, P_SECTOR, P_DISTRICT, P_DISAGREE };
static const struct level postcode_levels[] = {
    [P_FULL] = {"full", 0.60, 0.0002},
    [P_SECTOR] = {"sector", 0.05, 0.004},
    [P_DISTRICT] = {"district", 0.10, 0.05},
    [P_DISAGREE] = {"disagree", 0.25, 0.95},
};

/* The UPRN and the postcode describe one address: with the postcode
 * already in full agreement, an equal UPRN only says "the same property of
 * the ~15 in that postcode" (u = 1/15), not a second independent fact. */
enum { U_EXACT, U_EXACT_SAME_POSTCODE, U_DISAGREE };
static const struct level uprn_levels[] = {
    [U_EXACT] = {"exact", 0.50, 0.0002},
    [U_EXACT_SAME_POSTCODE] = {"exact", 0.90, 1.0 / 15},
    [U_DISAGREE] = {"disagree", 0.50, 0.9998},
};

/* Given and family names written the wrong way round. */
static const struct level swapped_name = {"swapped", 0.02, 0.0001};

static const struct sdat_field_score missing = {"missing", 0.0};

static struct sdat_field_score level_score(const struct level *l)
{
    return (struct sdat_field_score){l->name, log2(l->m / l->u)};
}

/* An exact name's level with u from the register's own count of the name,
 * bounded to [u_min, u_max]; the level's own u when the count is unknown. */
static struct sdat_field_score frequency_score(const struct level *l, int64_t count,
                                               int64_t register_size, double u_min, double u_max)
{
    if (register_size <= 0 || count <= 0) {
        return level_score(l);
    }
    double u = (double)count / (double)register_size;
    u = u < u_min ? u_min : u > u_max ? u_max : u;
    return (struct sdat_field_score){l->name, log2(l->m / u)};
}

const char *sdat_decision_name(enum sdat_decision decision)
{
    switch (decision) {
    case SDAT_DECISION_MATCH:
        return "match";
    case SDAT_DECISION_REVIEW:
        return "review";
    case SDAT_DECISION_NONE:
        break;
    }
    return "none";
}

const char *sdat_field_name(enum sdat_field field)
{
    static const char *const names[] = {"given_name", "family_name", "dob", "postcode", "uprn"};
    return field < SDAT_FIELD_COUNT ? names[field] : "?";
}

/* Whether word is one of the space-separated words of list. */
bool match_in_words(const char *word, const char *list)
{
    size_t len = strlen(word);
    for (const char *p = list ? list : ""; len && *p;) {
        size_t n = strcspn(p, " ");
        if (n == len && memcmp(p, word, len) == 0) {
            return true;
        }
        p += n;
        p += strspn(p, " ");
    }
    return false;
}

static bool nickname_in_words(const struct sdat_match_params *p, const char *word, const char *list)
{
    char w[SDAT_MATCH_NAME_MAX];
    for (const char *s = list ? list : ""; *s;) {
        size_t n = strcspn(s, " ");
        if (n > 0 && n < sizeof w) {
            memcpy(w, s, n);
            w[n] = '\0';
            if (sdat_nicknames_equivalent(p->nicknames, word, w)) {
                return true;
            }
        }
        s += n;
        s += strspn(s, " ");
    }
    return false;
}

static struct sdat_field_score given_score(const struct sdat_match_params *p,
                                           const struct sdat_match_query *q,
                                           const struct sdat_register_row *row)
{
    if (!q->given[0] || !row->given || !row->given[0]) {
        return missing;
    }
    if (strcmp(q->given, row->given) == 0) {
        return frequency_score(&given_levels[G_EXACT], row->given_count, p->register_size,
                               GIVEN_U_MIN, GIVEN_U_MAX);
    }
    if (match_in_words(q->given, row->other_given)) {
        return level_score(&given_levels[G_OTHER]);
    }
    if (sdat_nicknames_equivalent(p->nicknames, q->given, row->given) ||
        nickname_in_words(p, q->given, row->other_given)) {
        return level_score(&given_levels[G_NICKNAME]);
    }
    double jw = sdat_jaro_winkler(q->given, row->given);
    if (jw >= 0.92) {
        return level_score(&given_levels[G_SIMILAR]);
    }
    if (jw >= 0.85) {
        return level_score(&given_levels[G_SIMILAR_WEAK]);
    }
    if ((q->given[1] == '\0' || row->given[1] == '\0') && q->given[0] == row->given[0]) {
        return level_score(&given_levels[G_INITIAL]);
    }
    return level_score(&given_levels[G_DISAGREE]);
}

static struct sdat_field_score family_score(const struct sdat_match_params *p,
                                            const struct sdat_match_query *q,
                                            const struct sdat_register_row *row)
{
    if (!q->family[0] || !row->family || !row->family[0]) {
        return missing;
    }
    if (strcmp(q->family, row->family) == 0) {
        return frequency_score(&family_levels[F_EXACT], row->family_count, p->register_size,
                               FAMILY_U_MIN, FAMILY_U_MAX);
    }
    bool alias = match_in_words(q->family, row->other_family);
    for (size_t i = 0; !alias && i < q->n_family_parts; i++) {
        alias = strcmp(q->family_parts[i], row->family) == 0 ||
                match_in_words(q->family_parts[i], row->other_family);
    }
    if (alias) {
        return level_score(&family_levels[F_ALIAS]);
    }
    double jw = sdat_jaro_winkler(q->family, row->family);
    if (jw >= 0.92) {
        return level_score(&family_levels[F_SIMILAR]);
    }
    if (jw >= 0.85) {
        return level_score(&family_levels[F_SIMILAR_WEAK]);
    }
    return level_score(&family_levels[F_DISAGREE]);
}

static struct sdat_field_score dob_score(const struct sdat_match_query *q,
                                         const struct sdat_register_row *row)
{
    int32_t days;
    if (!row->dob || sdat_date_parse(row->dob, &days) < 0) {
        return missing;
    }
    if (q->has_dob) {
        int qy, qm, qd, y, m, d;
        if (q->dob_days == days) {
            return level_score(&dob_levels[D_EXACT]);
        }
        sdat_civil_from_days(q->dob_days, &qy, &qm, &qd);
        sdat_civil_from_days(days, &y, &m, &d);
        if (qy == y && qm == d && qd == m) {
            return level_score(&dob_levels[D_SWAPPED]);
        }
        if ((qy == y) + (qm == m) + (qd == d) == 2) {
            return level_score(&dob_levels[D_ONE_OFF]);
        }
        return level_score(&dob_levels[D_DISAGREE]);
    }
    if (q->age >= 0) {
        return sdat_age_on(days, q->occurred_days) == q->age ? level_score(&dob_levels[D_YEAR])
                                                             : level_score(&dob_levels[D_DISAGREE]);
    }
    return missing;
}

static struct sdat_field_score postcode_score(const struct sdat_match_query *q,
                                              const struct sdat_register_row *row)
{
    if (!q->postcode[0] || !row->postcode || !row->postcode[0]) {
        return missing;
    }
    if (strcmp(q->postcode, row->postcode) == 0) {
        return level_score(&postcode_levels[P_FULL]);
    }
    /* Normalised: "OUTWARD INWARD", the inward code always 3 characters. */
    const char *qs = strchr(q->postcode, ' '), *rs = strchr(row->postcode, ' ');
    if (qs && rs && qs - q->postcode == rs - row->postcode &&
        memcmp(q->postcode, row->postcode, (size_t)(qs - q->postcode)) == 0) {
        return level_score(qs[1] == rs[1] ? &postcode_levels[P_SECTOR]
                                          : &postcode_levels[P_DISTRICT]);
    }
    return level_score(&postcode_levels[P_DISAGREE]);
}

static struct sdat_field_score uprn_score(const struct sdat_match_query *q,
                                          const struct sdat_register_row *row,
                                          const struct sdat_field_score *postcode)
{
    if (!q->uprn[0] || !row->uprn || !row->uprn[0]) {
        return missing;
    }
    if (strcmp(q->uprn, row->uprn) != 0) {
        return level_score(&uprn_levels[U_DISAGREE]);
    }
    return level_score(strcmp(postcode->level, "full") == 0 ? &uprn_levels[U_EXACT_SAME_POSTCODE]
                                                           : &uprn_levels[U_EXACT]);
}

void sdat_match_score(const struct sdat_match_params *p, const struct sdat_match_query *q,
                      const struct sdat_register_row *row, struct sdat_candidate *ret)
{
    snprintf(ret->child_id, sizeof ret->child_id, "%s", row->child_id);
    ret->sibling = false;
    ret->fields[SDAT_FIELD_GIVEN_NAME] = given_score(p, q, row);
    ret->fields[SDAT_FIELD_FAMILY_NAME] = family_score(p, q, row);
    ret->fields[SDAT_FIELD_DOB] = dob_score(q, row);
    ret->fields[SDAT_FIELD_POSTCODE] = postcode_score(q, row);
    ret->fields[SDAT_FIELD_UPRN] = uprn_score(q, row, &ret->fields[SDAT_FIELD_POSTCODE]);
    if (strcmp(ret->fields[SDAT_FIELD_GIVEN_NAME].level, "disagree") == 0 &&
        strcmp(ret->fields[SDAT_FIELD_FAMILY_NAME].level, "disagree") == 0 &&
        strcmp(q->given, row->family) == 0 && strcmp(q->family, row->given) == 0) {
        ret->fields[SDAT_FIELD_GIVEN_NAME] = level_score(&swapped_name);
        ret->fields[SDAT_FIELD_FAMILY_NAME] = level_score(&swapped_name);
    }
    ret->score = 0;
    for (int f = 0; f < SDAT_FIELD_COUNT; f++) {
        ret->score += ret->fields[f].weight;
    }
}

static void split_family(const char *raw, struct sdat_match_query *q)
{
    /* Parts of a hyphenated or two-word family name, normalised. */
    q->n_family_parts = 0;
    for (const char *p = raw; *p && q->n_family_parts < SDAT_MATCH_MAX_PARTS;) {
        size_t n = strcspn(p, " -");
        if (n > 0) {
            char part[SDAT_MATCH_NAME_MAX * 2];
            snprintf(part, sizeof part, "%.*s", (int)(n < 160 ? n : 160), p);
            sdat_name_normalise(part, q->family_parts[q->n_family_parts],
                                sizeof q->family_parts[0]);
            if (q->family_parts[q->n_family_parts][0]) {
                q->n_family_parts++;
            }
        }
        p += n;
        p += strspn(p, " -");
    }
    if (q->n_family_parts < 2) {
        q->n_family_parts = 0;
    }
}

void sdat_match_query_from_police(const json_t *police_child, const json_t *location,
                                  bool use_nhs_number, bool use_upn, bool use_dob,
                                  int32_t occurred_days, struct sdat_match_query *ret)
{
    const char *s;
    memset(ret, 0, sizeof *ret);
    ret->age = -1;
    ret->occurred_days = occurred_days;
    if ((s = json_string_value(json_object_get(police_child, "given_name")))) {
        sdat_name_normalise(s, ret->given, sizeof ret->given);
    }
    if ((s = json_string_value(json_object_get(police_child, "family_name")))) {
        sdat_name_normalise(s, ret->family, sizeof ret->family);
        split_family(s, ret);
    }
    if (use_dob && (s = json_string_value(json_object_get(police_child, "dob"))) &&
        sdat_date_parse(s, &ret->dob_days) == 0) {
        ret->has_dob = true;
    }
    const json_t *age = json_object_get(police_child, "age");
    if (json_is_integer(age)) {
        ret->age = (int)json_integer_value(age);
    }
    /* The incident address is the child's home only for a resident child
     * (absent: assumed, as most children in these incidents live there). */
    if (!json_is_false(json_object_get(police_child, "resident"))) {
        if ((s = json_string_value(json_object_get(location, "postcode"))) &&
            sdat_postcode_normalise(s, ret->postcode, sizeof ret->postcode) < 0) {
            ret->postcode[0] = '\0';
        }
        if ((s = json_string_value(json_object_get(location, "uprn")))) {
            snprintf(ret->uprn, sizeof ret->uprn, "%s", s);
        }
    }
    if (use_nhs_number && (s = json_string_value(json_object_get(police_child, "nhs_number")))) {
        snprintf(ret->nhs_number, sizeof ret->nhs_number, "%s", s);
    }
    if (use_upn && (s = json_string_value(json_object_get(police_child, "upn")))) {
        snprintf(ret->upn, sizeof ret->upn, "%s", s);
    }
}

void sdat_match_query_from_incident(const json_t *incident, size_t index,
                                    const struct sdat_validation *v, int32_t occurred_days,
                                    struct sdat_match_query *ret)
{
    static const char *const lenient[] = {"nhs_number", "upn", "dob"};
    bool use[3] = {true, true, true};
    for (int k = 0; k < 3; k++) {
        char path[64];
        snprintf(path, sizeof path, "/children/%zu/%s", index, lenient[k]);
        for (size_t w = 0; v && w < v->n_warnings; w++) {
            use[k] = use[k] && strcmp(v->warnings[w].path, path) != 0;
        }
    }
    sdat_match_query_from_police(json_array_get(json_object_get(incident, "children"), index),
                                 json_object_get(incident, "location"), use[0], use[1], use[2],
                                 occurred_days, ret);
}

int match_by_score_desc(const void *a, const void *b)
{
    const struct sdat_candidate *x = a, *y = b;
    if (x->score != y->score) {
        return x->score < y->score ? 1 : -1;
    }
    return strcmp(x->child_id, y->child_id); /* stable across runs */
}

/* The identifier rule: NULL when no candidate shares an identifier. */
static void identifier_rule(const struct sdat_match_query *q, const struct sdat_register_row *rows,
                            size_t n_rows, const struct sdat_match_params *p,
                            struct sdat_match_outcome *ret)
{
    const struct sdat_register_row *by_nhs = NULL, *by_upn = NULL;
    for (size_t i = 0; i < n_rows; i++) {
        if (q->nhs_number[0] && rows[i].nhs_number && strcmp(q->nhs_number, rows[i].nhs_number) == 0) {
            by_nhs = &rows[i];
        }
        if (q->upn[0] && rows[i].upn && strcmp(q->upn, rows[i].upn) == 0) {
            by_upn = &rows[i];
        }
    }
    if (!by_nhs && !by_upn) {
        return;
    }
    ret->rule = "identifier";
    ret->decision = SDAT_DECISION_REVIEW;
    if (by_nhs && by_upn && strcmp(by_nhs->child_id, by_upn->child_id) != 0) {
        ret->reason = "NHS number and UPN point at different children";
        return;
    }
    const struct sdat_register_row *row = by_nhs ? by_nhs : by_upn;
    struct sdat_candidate c;
    sdat_match_score(p, q, row, &c);
    const char *dob = c.fields[SDAT_FIELD_DOB].level, *given = c.fields[SDAT_FIELD_GIVEN_NAME].level;
    if (strcmp(dob, "exact") != 0 && strcmp(dob, "year") != 0) {
        ret->reason = "identifier agrees, date of birth does not";
        return;
    }
    /* "Does not disagree" (flows.md §4): a nickname or a near spelling
     * does not; near-identical twins are caught by the check below. */
    if (strcmp(given, "disagree") == 0 || strcmp(given, "similar-weak") == 0 ||
        strcmp(given, "initial") == 0) {
        ret->reason = "identifier agrees, given name does not";
        return;
    }
    /* A twin's identifier written against the other twin whose middle name
     * is the police given name: another candidate that scores as well is a
     * person's decision, not ours. */
    for (size_t i = 0; i < ret->n_candidates; i++) {
        if (strcmp(ret->candidates[i].child_id, row->child_id) != 0 &&
            ret->candidates[i].score > c.score - p->match_margin) {
            ret->reason = "identifier agrees, but another child matches as well";
            return;
        }
    }
    if (!match_sibling_guard_passes(p, q, rows, n_rows, row, ret)) {
        ret->reason = SDAT_MATCH_SIBLING_GUARD;
        return;
    }
    ret->decision = SDAT_DECISION_MATCH;
    ret->reason = "identifier, date of birth and given name agree";
    snprintf(ret->child_id, sizeof ret->child_id, "%s", row->child_id);
    match_household_of(row, ret->household, sizeof ret->household);
}

/* Positive evidence on a field: any level but disagreement, an initial
 * or nothing known. */
static bool agrees(const struct sdat_field_score *f)
{
    return strcmp(f->level, "disagree") != 0 && strcmp(f->level, "missing") != 0 &&
           strcmp(f->level, "initial") != 0;
}

/* A score-based match needs the given name to agree, and the family name
 * and the date of birth each to agree unless the given name is exactly the
 * register's: a recorded date of birth is often wrong, but a sibling with a
 * near-identical name and another date of birth, or another family's child
 * with a similar name, must not be taken for the child. */
static bool evidence_suffices(const struct sdat_candidate *c)
{
    const struct sdat_field_score *given = &c->fields[SDAT_FIELD_GIVEN_NAME];
    if (!agrees(given)) {
        return false;
    }
    bool exact_given = strcmp(given->level, "exact") == 0;
    if (strcmp(c->fields[SDAT_FIELD_FAMILY_NAME].level, "disagree") == 0 && !exact_given) {
        return false; /* another family's child with a similar name */
    }
    /* A name and an approximate age fit many children in a large register:
     * a full date of birth or the address must corroborate them. */
    const char *dob = c->fields[SDAT_FIELD_DOB].level;
    if (strcmp(dob, "exact") != 0 && strcmp(dob, "swapped") != 0 &&
        strcmp(c->fields[SDAT_FIELD_POSTCODE].level, "full") != 0 &&
        strcmp(c->fields[SDAT_FIELD_UPRN].level, "exact") != 0) {
        return false;
    }
    return agrees(&c->fields[SDAT_FIELD_DOB]) || exact_given;
}

/* No address to compare (none recorded, or the child not resident at the
 * incident's): names and a date of birth alone are what an unregistered
 * child shares with a register namesake, so they must carry a score of
 * unplaced_threshold. */
static bool unplaced_short(const struct sdat_match_params *p, const struct sdat_candidate *c)
{
    return strcmp(c->fields[SDAT_FIELD_POSTCODE].level, "missing") == 0 &&
           strcmp(c->fields[SDAT_FIELD_UPRN].level, "missing") == 0 &&
           c->score < p->unplaced_threshold;
}

/* The best candidate is ahead of the second by match_margin, and not by
 * the date of birth alone when the two register children have other given
 * names that the police given name does not tell apart: a recorded date of
 * birth is the field most often wrong. */
static bool margin_holds(const struct sdat_match_params *p, const struct sdat_register_row *rows,
                         size_t n_rows, const struct sdat_match_outcome *ret)
{
    if (ret->n_candidates < 2) {
        return true;
    }
    const struct sdat_candidate *best = &ret->candidates[0], *second = &ret->candidates[1];
    double margin = best->score - second->score;
    if (margin < p->match_margin) {
        return false;
    }
    const struct sdat_register_row *a = match_row_of(rows, n_rows, best->child_id);
    const struct sdat_register_row *b = match_row_of(rows, n_rows, second->child_id);
    bool other_names = a && b && a->given && b->given && strcmp(a->given, b->given) != 0;
    bool told_apart = strcmp(best->fields[SDAT_FIELD_GIVEN_NAME].level,
                             second->fields[SDAT_FIELD_GIVEN_NAME].level) != 0;
    double dob_gap =
        best->fields[SDAT_FIELD_DOB].weight - second->fields[SDAT_FIELD_DOB].weight;
    return !other_names || told_apart || margin - dob_gap >= p->match_margin;
}

/* A police child with an age and no date of birth whose family has moved:
 * the best candidate is named by both names (the family name exactly, by
 * an alias or one slip of spelling) and the age fits, or is one year out
 * (an age said at the door is often a birthday behind), but the address
 * cannot corroborate it. A person can confirm it in one step. */
static bool age_only_fits(const struct sdat_match_query *q, const struct sdat_candidate *best,
                          const struct sdat_register_row *row)
{
    const char *family = best->fields[SDAT_FIELD_FAMILY_NAME].level;
    int32_t days;
    if (!match_names_the_child(best->fields[SDAT_FIELD_GIVEN_NAME].level) ||
        (strcmp(family, "exact") != 0 && strcmp(family, "alias") != 0 &&
         strcmp(family, "similar") != 0)) {
        return false;
    }
    if (q->has_dob || q->age < 0 || !row || !row->dob || sdat_date_parse(row->dob, &days) < 0) {
        return false;
    }
    int age = sdat_age_on(days, q->occurred_days);
    return age >= q->age - 1 && age <= q->age + 1;
}

void sdat_match_decide(const struct sdat_match_params *p, const struct sdat_match_query *q,
                       const struct sdat_register_row *rows, size_t n_rows,
                       struct sdat_match_outcome *ret)
{
    memset(ret, 0, sizeof *ret);
    ret->decision = SDAT_DECISION_NONE;
    ret->rule = "none";
    ret->reason = "no candidate";
    /* Best SDAT_MATCH_MAX_CANDIDATES distinct children by score. */
    for (size_t i = 0; i < n_rows; i++) {
        struct sdat_candidate c;
        sdat_match_score(p, q, &rows[i], &c);
        ret->considered++;
        if (ret->n_candidates < SDAT_MATCH_MAX_CANDIDATES) {
            ret->candidates[ret->n_candidates++] = c;
        } else if (match_by_score_desc(&c, &ret->candidates[SDAT_MATCH_MAX_CANDIDATES - 1]) < 0) {
            ret->candidates[SDAT_MATCH_MAX_CANDIDATES - 1] = c;
        } else {
            continue;
        }
        qsort(ret->candidates, ret->n_candidates, sizeof ret->candidates[0], match_by_score_desc);
    }
    identifier_rule(q, rows, n_rows, p, ret);
    if (strcmp(ret->rule, "identifier") == 0 || ret->n_candidates == 0) {
        return;
    }
    const struct sdat_candidate *best = &ret->candidates[0];
    const struct sdat_register_row *best_row = match_row_of(rows, n_rows, best->child_id);
    ret->rule = "score";
    bool clear = best->score >= p->match_threshold && margin_holds(p, rows, n_rows, ret) &&
                 evidence_suffices(best);
    bool guarded = clear && best_row && !unplaced_short(p, best) &&
                   !match_sibling_guard_passes(p, q, rows, n_rows, best_row, ret);
    if (clear && unplaced_short(p, best)) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = SDAT_MATCH_UNPLACED;
    } else if (guarded) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = SDAT_MATCH_SIBLING_GUARD;
    } else if (clear) {
        ret->decision = SDAT_DECISION_MATCH;
        ret->reason = "best score above the match threshold and ahead by the margin";
        snprintf(ret->child_id, sizeof ret->child_id, "%s", best->child_id);
        match_household_of(best_row, ret->household, sizeof ret->household);
    } else if (best->score >= p->review_threshold) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = best->score >= p->match_threshold
                          ? "best score above the match threshold but not clear of the next, or "
                            "given name or date of birth not in agreement"
                          : "best score between the review and match thresholds";
    } else if (age_only_fits(q, best, best_row)) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = "age only: both names agree and the age fits or is a year out, at another "
                      "address";
    } else {
        ret->rule = "none";
        ret->reason = "no candidate scores above the review threshold";
    }
}

void sdat_match_format_score(double score, char buf[16])
{
    snprintf(buf, 16, "%.2f", fabs(score) < 0.005 ? 0.0 : score);
}

json_t *sdat_match_explain(const struct sdat_match_params *p, const struct sdat_match_outcome *o)
{
    char s[16];
    json_t *candidates = json_array();
    for (size_t i = 0; i < o->n_candidates; i++) {
        const struct sdat_candidate *c = &o->candidates[i];
        json_t *fields = json_object();
        for (int f = 0; f < SDAT_FIELD_COUNT; f++) {
            sdat_match_format_score(c->fields[f].weight, s);
            json_object_set_new(fields, sdat_field_name(f),
                                json_pack("{s:s, s:s}", "level", c->fields[f].level, "weight", s));
        }
        sdat_match_format_score(c->score, s);
        json_t *one = json_pack("{s:s, s:s, s:o}", "child_id", c->child_id, "score", s, "fields",
                                fields);
        if (one && c->sibling && o->decision == SDAT_DECISION_REVIEW) {
            json_object_set_new(one, "sibling", json_true());
        }
        json_array_append_new(candidates, one);
    }
    json_t *out = json_pack("{s:s, s:s, s:s, s:o, s:I}", "decision",
                            sdat_decision_name(o->decision), "rule", o->rule, "reason", o->reason,
                            "candidates", candidates, "considered", (json_int_t)o->considered);
    json_object_set_new(out, "child_id", o->child_id[0] ? json_string(o->child_id) : json_null());
    if (strcmp(o->reason, SDAT_MATCH_SIBLING_GUARD) == 0) {
        json_object_set_new(out, "sibling_guard", json_true());
    }
    /* The score of the decision: the matched child's, else the best. */
    const struct sdat_candidate *scored = NULL;
    for (size_t i = 0; i < o->n_candidates && !scored; i++) {
        if (!o->child_id[0] || strcmp(o->candidates[i].child_id, o->child_id) == 0) {
            scored = &o->candidates[i];
        }
    }
    if (scored && o->decision != SDAT_DECISION_NONE) {
        sdat_match_format_score(scored->score, s);
        json_object_set_new(out, "score", json_string(s));
    } else {
        json_object_set_new(out, "score", json_null());
    }
    char mt[16], rt[16], mm[16];
    sdat_match_format_score(p->match_threshold, mt);
    sdat_match_format_score(p->review_threshold, rt);
    sdat_match_format_score(p->match_margin, mm);
    json_object_set_new(out, "thresholds", json_pack("{s:s, s:s, s:s}", "match", mt, "review", rt,
                                                     "margin", mm));
    return out;
}

int sdat_nicknames_builtin(sdat_nicknames_t **ret_nicknames, char *err, size_t errlen)
{
    for (size_t i = 0; i < sdat_embedded_data_count; i++) {
        if (strcmp(sdat_embedded_data[i].name, "nicknames.txt") == 0) {
            int r = sdat_nicknames_parse((const char *)sdat_embedded_data[i].data,
                                         sdat_embedded_data[i].size, ret_nicknames, err, errlen);
            if (r == -EINVAL) {
                /* The built-in list is checked by make check; name it. */
                size_t len = strlen(err);
                snprintf(err + len, errlen - len, " (built-in nicknames.txt)");
            }
            return r;
        }
    }
    snprintf(err, errlen, "no built-in nickname list");
    return -ENOENT;
}
