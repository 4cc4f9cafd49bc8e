/* Blocking keys (flows.md §4): the candidates for a police child come from
 * register children that share one of these keys, never from a scan of the
 * register. The store keeps each register child's keys in child_keys; the
 * matcher asks with the query's keys. Both sides are computed here, so that
 * they cannot drift apart.
 *
 *   d:YYYY-MM-DD           date of birth (the query also asks day and month
 *                          swapped)
 *   p:DE22 3XY             postcode (resident children)
 *   u:UPRN                 property reference
 *   f:SOUNDEX:YEAR:I       family-name Soundex, birth year, given initial
 *                          (for an age only, the two years it fits)
 *
 * Family and given names include aliases, middle names and the parts of a
 * hyphenated family name. Every key names a block of at most a few hundred
 * children in a register of a million (a given-and-family-name key without
 * the year was dropped: "Oliver Smith" alone is thousands). */
#ifndef SDAT_BLOCKING_H
#define SDAT_BLOCKING_H

#include <stddef.h>

#include "match.h"

#define SDAT_BLOCKING_MAX_KEYS 40
#define SDAT_BLOCKING_KEY_LEN 40

struct sdat_blocking_keys {
    size_t n;
    char key[SDAT_BLOCKING_MAX_KEYS][SDAT_BLOCKING_KEY_LEN];
};

/* A register child's keys from its normalised fields (as stored; other_*
 * space-separated; postcode and uprn may be NULL). */
void sdat_blocking_register(const char *given, const char *family, const char *other_given,
                            const char *other_family, const char *dob, const char *postcode,
                            const char *uprn, struct sdat_blocking_keys *ret);
/* The keys to look up for a police child. */
void sdat_blocking_query(const struct sdat_match_query *q, struct sdat_blocking_keys *ret);

#endif
