/* Notification payloads (delivery.md), built by pure functions from the
 * event, the register child and the recipient. Minimisation is enforced here
 * by construction (each builder copies named fields only) and again by the
 * sdat.notification/1 schema before anything is stored for delivery. */
#ifndef SDAT_PAYLOAD_H
#define SDAT_PAYLOAD_H

#include <stdint.h>

#include <jansson.h>

#include "config.h"

struct sdat_payload_common {
    const char *notification_id;
    const char *kind;
    const struct sdat_recipient *recipient;
    int64_t created_ms, scheduled_ms;
    const char *lawful_basis;
    const char *public_url;   /* NULL or "": no ack_url */
    const char *route_reason; /* NULL: absent */
    const char *amends;       /* NULL: absent */
};

/* Each returns a new object (caller owns) or NULL on allocation failure. */
/* da-incident to a school: the child as the register holds it. */
json_t *sdat_payload_school_incident(const struct sdat_payload_common *common,
                                     const json_t *incident, const json_t *police_child,
                                     const json_t *register_child);
/* da-incident elsewhere (mash, ehe, early_years): what police sent about
 * this child and the incident, the register id, and the ignored fields. */
json_t *sdat_payload_other_incident(const struct sdat_payload_common *common,
                                    const json_t *incident, const json_t *police_child,
                                    const char *register_child_id, const json_t *ignored_fields);
/* unmatched-child to the MASH. candidates: [{child_id, given_name,
 * family_name, dob, score}] (borrowed, up to 5 copied). */
json_t *sdat_payload_unmatched(const struct sdat_payload_common *common, const json_t *incident,
                               const json_t *police_child, const json_t *candidates,
                               const json_t *ignored_fields);

/* review-needed to the MASH: as unmatched-child, plus the review item's id
 * and, when public_url is set, its URL. */
json_t *sdat_payload_review(const struct sdat_payload_common *common, const json_t *incident,
                            const json_t *police_child, const json_t *candidates,
                            const json_t *ignored_fields, const char *review_id);

/* delivery-failed to an escalation recipient: the reason and the failed
 * notification (its payload as delivered, or {} when retention removed it). */
json_t *sdat_payload_delivery_failed(const struct sdat_payload_common *common, const char *reason,
                                     const char *failed_id, const char *failed_kind,
                                     const struct sdat_recipient *failed_recipient, int attempts,
                                     const char *last_error, const json_t *failed_payload);

/* da-incident-urgent to the incident area's MASH: the whole incident as sent
 * and, per child, its match decision and register id. decisions:
 * [{position, ref?, decision, register_child_id?}] (borrowed). */
json_t *sdat_payload_urgent(const struct sdat_payload_common *common, const json_t *incident,
                            const json_t *decisions);

#endif
