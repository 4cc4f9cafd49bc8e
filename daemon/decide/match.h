/* Matching a police child to the register (flows.md §4). Pure: the caller
 * turns the police child into a query, fetches the candidate rows through
 * the blocking keys (store_register.c) and asks for a decision; nothing here
 * touches the store, the clock or the network.
 *
 * Identifiers first: an NHS number or UPN equal to a candidate's is a match
 * only when the date of birth (or, with an age only, the birth year) and the
 * given name agree; otherwise a review. Without an identifier hit each
 * candidate is scored as a sum of Fellegi–Sunter weights, log2(m/u) per
 * field level (the table is in match.c and docs/MATCHING.md); the best
 * candidate is a match at or above match_threshold and ahead of the second
 * by match_margin, a review at or above review_threshold, else none. A
 * score-based match also needs the given name and the date of birth not to
 * disagree, so that a sibling of an unregistered child is never a match; a
 * margin won on the date of birth alone is a review; and the sibling guard
 * sends to review a match whose twin, like-named sibling or namesake cousin
 * the police given name does not rule out (docs/MATCHING.md). An age-only
 * child named by both names whose age fits is a review, never none. */
#ifndef SDAT_MATCH_H
#define SDAT_MATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "names.h"
#include "schema.h"

/* The reason a decision gives when the sibling guard sent the child to
 * review (the explanation's "sibling_guard": true). */
#define SDAT_MATCH_SIBLING_GUARD                                                                   \
    "sibling guard: the register holds a twin, sibling or cousin of the best candidate that the "  \
    "police given name does not rule out"

/* The reason when the incident gives no address to compare and the best
 * score, though a match by match_threshold, is below unplaced_threshold. */
#define SDAT_MATCH_UNPLACED                                                                        \
    "no address to compare, and the best score is below the unplaced threshold"

enum sdat_decision {
    SDAT_DECISION_NONE = 0,
    SDAT_DECISION_MATCH,
    SDAT_DECISION_REVIEW,
};

#define SDAT_MATCH_NAME_MAX 81
#define SDAT_MATCH_MAX_PARTS 4
#define SDAT_MATCH_MAX_CANDIDATES 5

/* What the police recorded of one child, normalised (names.h). Empty
 * strings and false flags stand for "not known or not usable" (a lenient
 * field that failed its format check is not usable, events.md). */
struct sdat_match_query {
    char given[SDAT_MATCH_NAME_MAX], family[SDAT_MATCH_NAME_MAX];
    /* The family name's hyphen- or space-separated parts when it has two or
     * more; each may match a register family name or alias. */
    char family_parts[SDAT_MATCH_MAX_PARTS][SDAT_MATCH_NAME_MAX];
    size_t n_family_parts;
    bool has_dob;
    int32_t dob_days;
    int age; /* -1 when not given */
    int32_t occurred_days;  /* the incident's local date */
    char postcode[9];       /* normalised "DE22 3XY"; only for a resident child */
    char uprn[13];
    char nhs_number[11], upn[14];
};

/* One register child as the matcher sees it (normalised by the store from
 * council.child/1). Strings are borrowed. */
struct sdat_register_row {
    const char *child_id;
    const char *given, *family;
    const char *other_given;  /* middle names and alias given names, space-separated */
    const char *other_family; /* alias family names and the family name's parts */
    const char *dob;          /* YYYY-MM-DD */
    const char *postcode;     /* normalised, or NULL */
    const char *uprn, *nhs_number, *upn; /* or NULL */
    int64_t family_count; /* register children with this family name */
    int64_t given_count;  /* and with this given name; 0 when unknown */
};

enum sdat_field {
    SDAT_FIELD_GIVEN_NAME,
    SDAT_FIELD_FAMILY_NAME,
    SDAT_FIELD_DOB,
    SDAT_FIELD_POSTCODE,
    SDAT_FIELD_UPRN,
    SDAT_FIELD_COUNT,
};

struct sdat_field_score {
    const char *level; /* a fixed name: "exact", "nickname", "disagree", ... */
    double weight;
};

struct sdat_candidate {
    char child_id[65];
    double score;
    struct sdat_field_score fields[SDAT_FIELD_COUNT];
    /* A twin, sibling or cousin of the best candidate that the police
     * given name does not rule out: the reason the sibling guard sent the
     * child to review, shown whatever its score. */
    bool sibling;
};

struct sdat_match_params {
    double match_threshold, review_threshold, match_margin;
    double unplaced_threshold; /* match_threshold when no address compares */
    int64_t register_size;                /* for term-frequency adjustment */
    const sdat_nicknames_t *nicknames;    /* may be NULL */
};

struct sdat_match_outcome {
    enum sdat_decision decision;
    const char *rule;   /* "identifier", "score" or "none" */
    const char *reason; /* a fixed text for the audit record */
    char child_id[65];  /* the matched register child; "" unless a match */
    /* The matched child's household as the register has it (its UPRN, else
     * its postcode and family name); "" unless a match. */
    char household[SDAT_MATCH_NAME_MAX + 24];
    size_t considered;  /* candidates scored */
    size_t n_candidates;
    struct sdat_candidate candidates[SDAT_MATCH_MAX_CANDIDATES]; /* best first */
};

const char *sdat_decision_name(enum sdat_decision decision);
const char *sdat_field_name(enum sdat_field field);

/* Builds the query from a police child object (police.da-incident/1) and the
 * incident's location. use_*: whether the lenient field passed its format
 * check. */
void sdat_match_query_from_police(const json_t *police_child, const json_t *location,
                                  bool use_nhs_number, bool use_upn, bool use_dob,
                                  int32_t occurred_days, struct sdat_match_query *ret);

/* The same for child INDEX of a validated police.da-incident/1 event; v
 * holds the validator's warnings, whose lenient fields are not used. */
void sdat_match_query_from_incident(const json_t *incident, size_t index,
                                    const struct sdat_validation *v, int32_t occurred_days,
                                    struct sdat_match_query *ret);

/* Scores one candidate. */
void sdat_match_score(const struct sdat_match_params *p, const struct sdat_match_query *q,
                      const struct sdat_register_row *row, struct sdat_candidate *ret);

/* Decides among the candidate rows (from the blocking keys and the
 * identifiers), each register child at most once. */
void sdat_match_decide(const struct sdat_match_params *p, const struct sdat_match_query *q,
                       const struct sdat_register_row *rows, size_t n_rows,
                       struct sdat_match_outcome *ret);

/* The reason a match at an address the police did not record becomes a
 * review when no other child of the incident confirms the household. */
#define SDAT_MATCH_UNCONFIRMED_ADDRESS                                                             \
    "matched at an address the police did not record, and no other child of the incident is "    \
    "matched to that household"

/* An incident's children decided together (flows.md §4; quality.md
 * precision): a match by score of a resident police child at a register
 * address whose postcode disagrees with the incident's (a family that moved,
 * or another child with the same names and date of birth) stands only
 * when another child of the same incident is matched to the same household;
 * otherwise it becomes a review (SDAT_MATCH_UNCONFIRMED_ADDRESS). queries
 * and outcomes are the incident's n children in order; an out-of-scope
 * child's outcome is decision none. */
void sdat_match_corroborate(const struct sdat_match_query *queries,
                            struct sdat_match_outcome *outcomes, size_t n);

/* The explanation for the audit record and `sdatctl match`: decision, rule,
 * reason, child_id and score (null where none), candidates with per-field
 * levels and weights (and "sibling": true for those that made the sibling
 * guard send the child to review, with "sibling_guard": true on the
 * decision), and the thresholds. Scores and weights are decimal strings.
 * New reference. */
json_t *sdat_match_explain(const struct sdat_match_params *p, const struct sdat_match_outcome *o);

/* The built-in nickname list (config/nicknames.txt, compiled in). 0, or
 * sdat_nicknames_parse's error with err naming the built-in list. */
int sdat_nicknames_builtin(sdat_nicknames_t **ret_nicknames, char *err, size_t errlen);

/* Formats a score or weight as a decimal string with two places. */
void sdat_match_format_score(double score, char buf[16]);

#endif
