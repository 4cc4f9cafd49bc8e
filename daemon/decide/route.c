#include "route.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/util.h"
#include "util/util.h"

/* Upper case, one space between outward and inward code. */
static void normalise_postcode(const char *in, char *out, size_t outlen)
{
    char compact[16];
    size_t n = 0;
    for (; *in && n + 1 < sizeof compact; in++) {
        if (!isspace((unsigned char)*in)) {
            compact[n++] = (char)toupper((unsigned char)*in);
        }
    }
    compact[n] = '\0';
    if (n > 3) {
        snprintf(out, outlen, "%.*s %s", (int)(n - 3), compact, compact + n - 3);
    } else {
        snprintf(out, outlen, "%s", compact);
    }
}

/* An entry matches a postcode when it equals the outward code (a district,
 * "DE22") or the outward code, a space and the sector digit ("DE22 3"). */
static bool entry_matches(const char *entry, const char *postcode)
{
    const char *space = strchr(postcode, ' ');
    size_t outward = space ? (size_t)(space - postcode) : strlen(postcode);
    if (strchr(entry, ' ')) {
        /* A sector: the outward code, a space and the inward code's digit. */
        return strncmp(entry, postcode, strlen(entry)) == 0;
    }
    return strlen(entry) == outward && strncmp(entry, postcode, outward) == 0;
}

const struct sdat_area *sdat_route_incident_area(const struct sdat_config *cfg,
                                                 const json_t *incident)
{
    const char *raw =
        json_string_value(json_object_get(json_object_get(incident, "location"), "postcode"));
    const struct sdat_area *best = NULL;
    size_t best_len = 0;

    if (raw) {
        char postcode[16];
        normalise_postcode(raw, postcode, sizeof postcode);
        for (size_t a = 0; a < cfg->n_areas; a++) {
            const struct sdat_strv *d = &cfg->areas[a].postcode_districts;
            for (size_t i = 0; i < d->n; i++) {
                size_t len = strlen(d->v[i]);
                if (len > best_len && entry_matches(d->v[i], postcode)) {
                    best = &cfg->areas[a];
                    best_len = len;
                }
            }
        }
    }
    if (best) {
        return best;
    }
    const struct sdat_force *force =
        sdat_config_force(cfg, json_string_value(json_object_get(incident, "force")));
    return force && force->default_area ? sdat_config_area(cfg, force->default_area) : NULL;
}

static bool spell_current(const json_t *spell, int32_t on_days)
{
    int32_t start, end;
    if (sdat_date_parse(json_string_value(json_object_get(spell, "start")), &start) < 0 ||
        start > on_days) {
        return false;
    }
    const char *end_text = json_string_value(json_object_get(spell, "end"));
    return !end_text || (sdat_date_parse(end_text, &end) == 0 && on_days <= end);
}

/* The area's recipient for a role, else its MASH. */
static const struct sdat_recipient *role_or_mash(const struct sdat_config *cfg,
                                                 const struct sdat_area *area, const char *role_id)
{
    const struct sdat_recipient *r = role_id ? sdat_config_recipient(cfg, role_id) : NULL;
    return r ? r : sdat_config_recipient(cfg, area->mash ? area->mash : "");
}

int sdat_route_child(const struct sdat_config *cfg, enum sdat_decision decision,
                     const json_t *register_child, const struct sdat_area *incident_area,
                     int32_t on_days, int32_t incident_days, struct sdat_route ret_routes[SDAT_ROUTE_MAX],
                     size_t *ret_n, char *err, size_t errlen)
{
    size_t n = 0;
    const struct sdat_area *area = incident_area;

    if (decision != SDAT_DECISION_MATCH) {
        const struct sdat_recipient *mash =
            incident_area && incident_area->mash ? sdat_config_recipient(cfg, incident_area->mash)
                                                 : NULL;
        if (!mash) {
            snprintf(err, errlen, "the incident area has no MASH recipient");
            return -ENOENT;
        }
        ret_routes[0] = (struct sdat_route){
            .recipient = mash,
            .kind = decision == SDAT_DECISION_REVIEW ? "review-needed" : "unmatched-child",
        };
        *ret_n = 1;
        return 0;
    }

    const struct sdat_area *child_area =
        sdat_config_area(cfg, json_string_value(json_object_get(register_child, "la_code")));
    if (child_area) {
        area = child_area;
    }
    if (!area) {
        snprintf(err, errlen, "neither the child's nor the incident's area is configured");
        return -ENOENT;
    }

    /* Row 1: current spells at schools in the directory, one per school
     * (dual registration). */
    bool out_of_area = false;
    size_t i;
    json_t *spell;
    json_array_foreach(json_object_get(register_child, "education"), i, spell)
    {
        if (!spell_current(spell, on_days)) {
            continue;
        }
        const struct sdat_recipient *school =
            sdat_config_school_by_urn(cfg, json_string_value(json_object_get(spell, "urn")));
        if (!school) {
            out_of_area = true;
            continue;
        }
        bool seen = false;
        for (size_t k = 0; k < n; k++) {
            seen = seen || ret_routes[k].recipient == school;
        }
        if (!seen && n < SDAT_ROUTE_MAX) {
            ret_routes[n++] = (struct sdat_route){
                .recipient = school, .kind = "da-incident", .school = true};
        }
    }
    if (n > 0) {
        *ret_n = n;
        return 0;
    }

    const char *reason;
    const struct sdat_recipient *r;
    int32_t dob;
    if (json_is_true(json_object_get(register_child, "ehe"))) {
        reason = "ehe";
        r = role_or_mash(cfg, area, area->ehe);
    } else if (out_of_area) {
        reason = "school-not-in-directory";
        r = role_or_mash(cfg, area, NULL);
    } else if (sdat_date_parse(json_string_value(json_object_get(register_child, "dob")), &dob) ==
                   0 &&
               sdat_age_on(dob, incident_days) < 5) {
        reason = "under-five";
        r = role_or_mash(cfg, area, area->early_years);
    } else {
        reason = "no-current-education";
        r = role_or_mash(cfg, area, NULL);
    }
    if (!r) {
        snprintf(err, errlen, "area %s has no MASH recipient", area->la_code);
        return -ENOENT;
    }
    ret_routes[0] = (struct sdat_route){.recipient = r, .kind = "da-incident", .route_reason = reason};
    *ret_n = 1;
    return 0;
}

int sdat_route_recheck(const struct sdat_config *cfg, const struct sdat_recipient *school,
                       const json_t *register_child, const struct sdat_area *incident_area,
                       int32_t on_days, int32_t incident_days,
                       struct sdat_route ret_routes[SDAT_ROUTE_MAX], size_t *ret_n, char *err,
                       size_t errlen)
{
    struct sdat_route routes[SDAT_ROUTE_MAX];
    size_t n = 0;

    if (!register_child) {
        const struct sdat_recipient *mash =
            incident_area && incident_area->mash
                ? sdat_config_recipient(cfg, incident_area->mash)
                : NULL;
        if (!mash) {
            snprintf(err, errlen, "the incident area has no MASH recipient");
            return -ENOENT;
        }
        routes[n++] = (struct sdat_route){
            .recipient = mash, .kind = "da-incident", .route_reason = "no-current-education"};
    } else {
        int r = sdat_route_child(cfg, SDAT_DECISION_MATCH, register_child, incident_area, on_days,
                                 incident_days, routes, &n, err, errlen);
        if (r < 0) {
            return r;
        }
    }
    /* Still at this school: whatever else the child's routes name today
     * (a second school of a dual registration), the pending notification
     * stands. Any other route, a school or not, replaces it. */
    for (size_t k = 0; k < n; k++) {
        if (routes[k].recipient == school) {
            return 0;
        }
    }
    for (size_t k = 0; k < n; k++) {
        if (routes[k].school) {
            routes[k].route_reason = "moved-school";
        }
        ret_routes[k] = routes[k];
    }
    *ret_n = n;
    return 1;
}
