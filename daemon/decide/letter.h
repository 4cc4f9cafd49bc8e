/* What a person reads (delivery.md, "What a person reads"): a notification
 * payload rendered as a short letter, once as plain text and once as HTML
 * saying the same, for the smtp connector's email and the console's
 * notification page. Pure: the caller resolves the time zone and hands in
 * the configuration's texts. */
#ifndef SDAT_LETTER_H
#define SDAT_LETTER_H

#include <jansson.h>
#include <stdint.h>

#include "util/util.h"

struct sdat_letter_in {
    const json_t *payload; /* an sdat.notification/1 document (borrowed) */
    /* The recipient as the directory knows it; NULL name: the payload's
     * recipient.name. kind: the area role ("school", "mash", …) or NULL. */
    const char *recipient_name;
    const char *recipient_kind;
    const sdat_tz_t *tz;      /* the deployment's timezone; NULL: UTC */
    const char *guidance;     /* guidance.KIND from the configuration, or NULL */
    const char *public_url;   /* http.public_url for console links, or NULL/"" */
    /* withdrawn only: the date of the notification it withdraws (payload
     * withdraws), which the payload does not carry: when it was delivered,
     * or created if it never was (sdat_store_notification_sent_ms), in ms
     * since the epoch; 0 when not known, and the letter names it by id
     * alone. */
    int64_t withdraws_sent_ms;
};

struct sdat_letter {
    char *text; /* LF line ends, UTF-8; owned */
    char *html; /* a whole document; owned */
    /* The HTML part's content as an <article> for the console: without its
     * inline styles (the console's Content-Security-Policy allows none) and
     * with its headings as h3 and h4, under the page's own; owned */
    char *body;
};

/* The letter for in->payload's kind. 0, -EINVAL (payload not an object or
 * kind unknown), or -ENOMEM. On success free with sdat_letter_free. */
int sdat_letter_render(const struct sdat_letter_in *in, struct sdat_letter *ret);

/* The letter of link mode (content = "link"): no personal data, only that
 * a notification of kind (by its title, as the full letter's heading has
 * it: recipient_kind "school" makes da-incident an "Operation Encompass
 * notification") for recipient_name waits at
 * PUBLIC_URL/console/notifications/ID (or, without public_url, in the
 * console). kind and id are as validated by the schema; recipient_name and
 * recipient_kind may be NULL. 0 or -ENOMEM. */
int sdat_letter_link(const char *kind, const char *notification_id, const char *recipient_name,
                     const char *recipient_kind, const char *public_url,
                     struct sdat_letter *ret);

void sdat_letter_free(struct sdat_letter *letter); /* accepts NULL; zeroes it */

#endif
