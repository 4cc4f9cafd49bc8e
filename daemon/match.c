#include "match.h"

#include <ctype.h>
#include <string.h>

#include "formats.h"
#include "timeutil.h"

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

/* Folds a name for comparison: ASCII letters lower-cased, separators dropped;
 * other bytes (UTF-8) kept as they are. */
static void fold(const char *in, char *out, size_t outlen)
{
    size_t n = 0;
    for (; *in && n + 1 < outlen; in++) {
        unsigned char c = (unsigned char)*in;
        if (c == ' ' || c == '-' || c == '\'' || c == '.') {
            continue;
        }
        out[n++] = (char)(c < 128 ? tolower(c) : c);
    }
    out[n] = '\0';
}

static bool names_equal(const char *a, const char *b)
{
    char fa[256], fb[256];
    if (!a || !b) {
        return false;
    }
    fold(a, fa, sizeof fa);
    fold(b, fb, sizeof fb);
    return fa[0] && strcmp(fa, fb) == 0;
}

bool sdat_match_given_name_agrees(const char *police_name, const json_t *register_child)
{
    if (names_equal(police_name, json_string_value(json_object_get(register_child, "given_name")))) {
        return true;
    }
    const char *middle = json_string_value(json_object_get(register_child, "middle_names"));
    if (middle) {
        char word[128];
        const char *p = middle;
        while (*p) {
            size_t len = strcspn(p, " ");
            if (len > 0 && len < sizeof word) {
                memcpy(word, p, len);
                word[len] = '\0';
                if (names_equal(police_name, word)) {
                    return true;
                }
            }
            p += len;
            p += strspn(p, " ");
        }
    }
    size_t i;
    json_t *alias;
    json_array_foreach(json_object_get(register_child, "aliases"), i, alias)
    {
        if (names_equal(police_name, json_string_value(json_object_get(alias, "given_name")))) {
            return true;
        }
    }
    return false;
}

/* Whether the police date of birth (or age) fits the register child's. */
static bool dob_agrees(const struct sdat_police_child_view *view, const json_t *register_child)
{
    int32_t reg_dob;
    if (sdat_date_parse(json_string_value(json_object_get(register_child, "dob")), &reg_dob) < 0) {
        return false;
    }
    const char *police_dob = json_string_value(json_object_get(view->child, "dob"));
    if (view->use_dob && police_dob) {
        int32_t dob;
        return sdat_date_parse(police_dob, &dob) == 0 && dob == reg_dob;
    }
    const json_t *age = json_object_get(view->child, "age");
    if (json_is_integer(age)) {
        return sdat_age_on(reg_dob, view->occurred_days) == json_integer_value(age);
    }
    return false;
}

static bool same_child(const json_t *a, const json_t *b)
{
    return strcmp(json_string_value(json_object_get(a, "child_id")),
                  json_string_value(json_object_get(b, "child_id"))) == 0;
}

void sdat_match_identifier(const struct sdat_police_child_view *view, const json_t *candidates,
                           struct sdat_match_result *ret)
{
    const char *nhs = view->use_nhs_number
                          ? json_string_value(json_object_get(view->child, "nhs_number"))
                          : NULL;
    const char *upn =
        view->use_upn ? json_string_value(json_object_get(view->child, "upn")) : NULL;
    const json_t *by_nhs = NULL, *by_upn = NULL;
    size_t i;
    json_t *c;

    memset(ret, 0, sizeof *ret);
    ret->decision = SDAT_DECISION_NONE;
    ret->rule = "none";
    ret->reason = "no register child shares an identifier";
    json_array_foreach(candidates, i, c)
    {
        const char *cn = json_string_value(json_object_get(c, "nhs_number"));
        const char *cu = json_string_value(json_object_get(c, "upn"));
        if (nhs && cn && strcmp(nhs, cn) == 0) {
            by_nhs = c;
        }
        if (upn && cu && strcmp(upn, cu) == 0) {
            by_upn = c;
        }
    }
    if (!by_nhs && !by_upn) {
        return;
    }
    ret->rule = "identifier";
    if (by_nhs && by_upn && !same_child(by_nhs, by_upn)) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = "NHS number and UPN point at different children";
        return;
    }
    const json_t *child = by_nhs ? by_nhs : by_upn;
    if (!dob_agrees(view, child)) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = "identifier agrees, date of birth does not";
        return;
    }
    if (!sdat_match_given_name_agrees(json_string_value(json_object_get(view->child, "given_name")),
                                      child)) {
        ret->decision = SDAT_DECISION_REVIEW;
        ret->reason = "identifier agrees, given name does not";
        return;
    }
    ret->decision = SDAT_DECISION_MATCH;
    ret->register_child = child;
    ret->reason = "identifier, date of birth and given name agree";
}
