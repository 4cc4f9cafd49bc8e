/* Notification payloads (delivery.md), built by pure functions from the
 * event, the register child and the recipient. Minimisation is enforced here
 * by construction (each builder copies named fields only) and again by the
 * sdat.notification/1 schema before anything is stored for delivery. */
#ifndef SDAT_PAYLOAD_H
#define SDAT_PAYLOAD_H

#include <stdint.h>

#include <jansson.h>

#include "ack.h"
#include "config/config.h"

struct sdat_payload_common {
    const char *notification_id;
    const char *kind;
    const struct sdat_recipient *recipient;
    int64_t created_ms, scheduled_ms;
    const char *lawful_basis;
    const char *public_url;   /* NULL or "": no ack_url */
    const char *route_reason; /* NULL: absent */
    const char *amends;       /* NULL: absent */
    /* With public_url: a key (http.ack_key_file) makes ack_url the link a
     * person opens, PUBLIC_URL/ack/ID?t=TOKEN (ack.h); without one (NULL or
     * empty) it is the API's PUBLIC_URL/v1/notifications/ID/ack, for
     * receivers that hold an ack token. */
    const struct sdat_ack_key *ack_key;
};

/* withdrawn to the recipient of notification withdraws, sent in error:
 * the id, the operator's reason (1 to 1000 characters) and a request to
 * delete what was received; nothing else. A new object, or NULL. */
json_t *sdat_payload_withdrawn(const struct sdat_payload_common *common, const char *withdraws,
                               const char *reason);

/* A payload of another notification readdressed (an operator's redirect of
 * a kind whose content does not depend on its recipient): common's fields,
 * and every other member of old (borrowed) as it was, less route_reason
 * and amends. A new object, or NULL. */
json_t *sdat_payload_readdressed(const struct sdat_payload_common *common, const json_t *old);

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

/* cpis-access to the local authority that owns flag (a council.cpis-flag/1
 * document): the patient as the attendance names them (nhs_number,
 * given_name, family_name, dob: those known), the attendance (key,
 * ods_code, setting, arrived_at), that one flag and up to 25 earlier
 * accesses ([{ods_code, setting, arrived_at}], newest first). All
 * borrowed. */
json_t *sdat_payload_cpis_access(const struct sdat_payload_common *common,
                                 const json_t *attendance, const char *attendance_key,
                                 const json_t *flag, const json_t *accesses);

#endif
