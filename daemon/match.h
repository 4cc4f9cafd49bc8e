/* Matching a police child to the register: the identifier rule of flows.md
 * §4 (an NHS number or UPN equal to a register child's). Pure: the caller
 * supplies the candidates found by identifier. Scored matching of children
 * without a usable identifier is the register issue's work; until then such
 * a child's decision is `none` and it goes to the MASH as unmatched. */
#ifndef SDAT_MATCH_H
#define SDAT_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

enum sdat_decision {
    SDAT_DECISION_NONE = 0,
    SDAT_DECISION_MATCH,
    SDAT_DECISION_REVIEW,
};

/* What of the police child may be used: a lenient field that failed its
 * format check is ignored for matching (events.md). */
struct sdat_police_child_view {
    const json_t *child; /* the police child object, borrowed */
    bool use_nhs_number, use_upn, use_dob;
    int32_t occurred_days; /* local date of the incident */
};

struct sdat_match_result {
    enum sdat_decision decision;
    const char *rule;             /* "identifier" or "none" */
    const json_t *register_child; /* borrowed from candidates; NULL unless match */
    const char *reason;           /* a short fixed text for the audit record */
};

const char *sdat_decision_name(enum sdat_decision decision);
/* candidates: the register children sharing the child's NHS number or UPN. */
void sdat_match_identifier(const struct sdat_police_child_view *view, const json_t *candidates,
                           struct sdat_match_result *ret);
/* Whether two given names agree for the identifier rule: equal ignoring case,
 * spaces, hyphens and apostrophes, or the police name equals one of the
 * register child's middle names or alias given names. */
bool sdat_match_given_name_agrees(const char *police_name, const json_t *register_child);

#endif
