/* Shared by match.c (levels, scores, decisions) and match_guard.c (the
 * sibling guard and the incident's children decided together) only. */
#ifndef SDAT_MATCH_INTERNAL_H
#define SDAT_MATCH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "match.h"

/* Register given names this close (Jaro–Winkler), or this close and with
 * the same first two letters, are alike for the sibling guard. */
#define SIBLING_ALIKE 0.85
#define SIBLING_ALIKE_PREFIXED 0.70

/* Whether word is one of the space-separated words of list (NULL: none). */
bool match_in_words(const char *word, const char *list);
/* qsort order of candidates: best score first, then child id. */
int match_by_score_desc(const void *a, const void *b);
/* The row of child_id among rows, or NULL. */
const struct sdat_register_row *match_row_of(const struct sdat_register_row *rows, size_t n_rows,
                                             const char *child_id);
/* A given-name level that names one child: exact, another of its names, a
 * nickname. */
bool match_names_the_child(const char *level);
/* Whether the police child may be matched to best although the register
 * holds children it could be taken for; those not told apart join ret's
 * candidates, marked sibling. */
bool match_sibling_guard_passes(const struct sdat_match_params *p,
                                const struct sdat_match_query *q,
                                const struct sdat_register_row *rows, size_t n_rows,
                                const struct sdat_register_row *best,
                                struct sdat_match_outcome *ret);
/* The household key of a row (its UPRN, else postcode and family name). */
void match_household_of(const struct sdat_register_row *row, char *out, size_t len);

#endif
