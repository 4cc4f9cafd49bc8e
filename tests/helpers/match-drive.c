/* match-drive: sdat_match_decide on generated cases, for the matching
 * oracle (tests/integration/test_match_oracle.sh, issue 26).
 *
 *   match-drive < CASES.jsonl
 *
 * Each input line is a case of tests/oracle/match_cases.py (params, a
 * normalised query, candidate rows). Prints one line per case, "ID
 * DECISION RULE CHILD REASON" (tests/oracle/match_ref.py's answer): CHILD
 * the matched child or "-", REASON a key for the decision's fixed reason
 * text. Uses the built-in nickname list. Exit 0, or 2 on a malformed line
 * or a reason it has no key for. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "decide/decide.h"
#include "util/util.h"

static const struct {
    const char *text, *key;
} reasons[] = {
    {"NHS number and UPN point at different children", "identifier-two-children"},
    {"identifier agrees, date of birth does not", "identifier-dob"},
    {"identifier agrees, given name does not", "identifier-given"},
    {"identifier agrees, but another child matches as well", "identifier-another"},
    {SDAT_MATCH_SIBLING_GUARD, "sibling-guard"},
    {"identifier, date of birth and given name agree", "identifier"},
    {SDAT_MATCH_UNPLACED, "unplaced"},
    {"best score above the match threshold and ahead by the margin", "score"},
    {"best score above the match threshold but not clear of the next, or given name or date of "
     "birth not in agreement",
     "score-unclear"},
    {"best score between the review and match thresholds", "score-between"},
    {"age only: both names agree and the age fits or is a year out, at another address",
     "age-only"},
    {"no candidate scores above the review threshold", "none"},
    {"no candidate", "none"},
};

static const char *text(json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s && s[0] ? s : NULL;
}

static void copy(char *out, size_t len, json_t *o, const char *key)
{
    snprintf(out, len, "%s", text(o, key) ? text(o, key) : "");
}

static int query(json_t *j, struct sdat_match_query *q)
{
    memset(q, 0, sizeof *q);
    copy(q->given, sizeof q->given, j, "given");
    copy(q->family, sizeof q->family, j, "family");
    json_t *parts = json_object_get(j, "family_parts"), *v;
    size_t i;
    json_array_foreach(parts, i, v) {
        if (i < SDAT_MATCH_MAX_PARTS) {
            snprintf(q->family_parts[i], sizeof q->family_parts[i], "%s", json_string_value(v));
            q->n_family_parts = i + 1;
        }
    }
    if (text(j, "dob")) {
        if (sdat_date_parse(text(j, "dob"), &q->dob_days) < 0) {
            return -EINVAL;
        }
        q->has_dob = true;
    }
    q->age = (int)json_integer_value(json_object_get(j, "age"));
    if (sdat_date_parse(text(j, "occurred"), &q->occurred_days) < 0) {
        return -EINVAL;
    }
    copy(q->postcode, sizeof q->postcode, j, "postcode");
    copy(q->uprn, sizeof q->uprn, j, "uprn");
    copy(q->nhs_number, sizeof q->nhs_number, j, "nhs_number");
    copy(q->upn, sizeof q->upn, j, "upn");
    return 0;
}

static void row(json_t *j, struct sdat_register_row *r)
{
    *r = (struct sdat_register_row){
        .child_id = text(j, "child_id"),
        .given = text(j, "given"),
        .family = text(j, "family"),
        .other_given = text(j, "other_given"),
        .other_family = text(j, "other_family"),
        .dob = text(j, "dob"),
        .postcode = text(j, "postcode"),
        .uprn = text(j, "uprn"),
        .nhs_number = text(j, "nhs_number"),
        .upn = text(j, "upn"),
        .family_count = json_integer_value(json_object_get(j, "family_count")),
        .given_count = json_integer_value(json_object_get(j, "given_count")),
    };
}

static double number(json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

int main(void)
{
    char *line = NULL, err[256];
    size_t cap = 0;
    long lineno = 0;
    sdat_nicknames_t *nicknames = NULL;
    int r = sdat_nicknames_builtin(&nicknames, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "match-drive: %s\n", err);
        return 2;
    }
    while (r == 0 && getline(&line, &cap, stdin) > 0) {
        lineno++;
        json_error_t jerr;
        json_t *c = json_loads(line, 0, &jerr), *p = json_object_get(c, "params");
        json_t *rows_json = json_object_get(c, "rows");
        struct sdat_match_query q;
        struct sdat_register_row rows[16];
        size_t n = json_array_size(rows_json);
        r = c && p && n <= 16 ? query(json_object_get(c, "query"), &q) : -EINVAL;
        if (r == 0) {
            for (size_t i = 0; i < n; i++) {
                row(json_array_get(rows_json, i), &rows[i]);
            }
            struct sdat_match_params params = {
                .match_threshold = number(p, "match_threshold"),
                .review_threshold = number(p, "review_threshold"),
                .match_margin = number(p, "match_margin"),
                .unplaced_threshold = number(p, "unplaced_threshold"),
                .register_size = json_integer_value(json_object_get(p, "register_size")),
                .nicknames = nicknames,
            };
            struct sdat_match_outcome o;
            sdat_match_decide(&params, &q, rows, n, &o);
            const char *key = NULL;
            for (size_t k = 0; !key && k < sizeof reasons / sizeof reasons[0]; k++) {
                key = strcmp(o.reason, reasons[k].text) == 0 ? reasons[k].key : NULL;
            }
            if (!key) {
                fprintf(stderr, "match-drive: line %ld: no key for the reason\n", lineno);
                r = -EINVAL;
            } else {
                printf("%lld %s %s %s %s\n",
                       (long long)json_integer_value(json_object_get(c, "id")),
                       sdat_decision_name(o.decision), o.rule, o.child_id[0] ? o.child_id : "-",
                       key);
            }
        } else {
            fprintf(stderr, "match-drive: line %ld: not a case\n", lineno);
        }
        json_decref(c);
    }
    free(line);
    sdat_nicknames_free(nicknames);
    return r < 0 ? 2 : 0;
}
