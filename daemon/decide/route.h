/* Routing (flows.md §1): who is told about one police child, by the match
 * decision and the matched child's education on a date. Pure over the
 * configuration's directory. */
#ifndef SDAT_ROUTE_H
#define SDAT_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "config/config.h"
#include "match.h"

#define SDAT_ROUTE_MAX 10 /* education spells are at most 10 */

struct sdat_route {
    const struct sdat_recipient *recipient;
    const char *kind;         /* "da-incident", "review-needed", "unmatched-child" */
    const char *route_reason; /* NULL for the obvious school */
    bool school;              /* follows the school schedule */
};

/* The incident area: the area whose postcode_districts entry is the longest
 * prefix (district or sector) of location.postcode, else the force's
 * default_area. NULL when neither applies (dead-letter, stage routing). */
const struct sdat_area *sdat_route_incident_area(const struct sdat_config *cfg,
                                                 const json_t *incident);
/* Routes for one child: 0 and *ret_n routes, or -ENOENT with a reason in err
 * when a needed recipient does not exist (dead-letter, stage routing). */
int sdat_route_child(const struct sdat_config *cfg, enum sdat_decision decision,
                     const json_t *register_child, const struct sdat_area *incident_area,
                     int32_t on_days, int32_t incident_days, struct sdat_route ret_routes[SDAT_ROUTE_MAX],
                     size_t *ret_n, char *err, size_t errlen);

/* The re-check just before a school da-incident is delivered (flows.md §1
 * "Re-check at delivery"): where register_child (NULL when it is no longer
 * in the register) is to be told on date on_days, against school, the
 * recipient the pending notification names. incident_area is the incident
 * area (a matched child's area is its la_code's, else the incident area).
 * 0 when the child is still at school (one of its routes is school):
 * deliver as decided. 1 with *ret_n routes when it is not: the pending
 * notification is superseded and the routes are told instead, a school
 * among them with route_reason "moved-school", a child no longer in the
 * register the incident area's MASH ("no-current-education"), otherwise
 * the routing table's non-school rows (EHE, under-five, no current
 * education, a school not in the directory). -ENOENT with a reason in err
 * when the directory cannot route the child now (deliver as decided). */
int sdat_route_recheck(const struct sdat_config *cfg, const struct sdat_recipient *school,
                       const json_t *register_child, const struct sdat_area *incident_area,
                       int32_t on_days, int32_t incident_days,
                       struct sdat_route ret_routes[SDAT_ROUTE_MAX], size_t *ret_n, char *err,
                       size_t errlen);

#endif
