/* Name comparison for matching police-recorded children to the council
 * register of children: normalisation, Jaro-Winkler similarity, Soundex for
 * blocking, and nickname equivalence (config/nicknames.txt). Pure: the
 * nickname list is handed in (engine/keys.h reads it). */
#ifndef SDAT_NAMES_H
#define SDAT_NAMES_H

#include <stdbool.h>
#include <stddef.h>

/* Lower-case ASCII letters only: ASCII letters lower-cased, common UTF-8 Latin-1/Latin Extended-A
 * accented letters folded to their base letter (é→e, ö→o, ç→c, ß→ss, ł→l, ...), while spaces,
 * hyphens, apostrophes (' and U+2019), dots and digits are dropped; any other byte is dropped.
 * Always NUL-terminates out (truncating). Returns the length written. */
size_t sdat_name_normalise(const char *in, char *out, size_t outlen);

/* Jaro-Winkler similarity (prefix scale 0.1, prefix up to 4, no boost threshold) of two strings
 * compared byte-wise as given (callers pass normalised names). 1.0 for two equal strings, 0.0
 * when either is empty. */
double sdat_jaro_winkler(const char *a, const char *b);

/* A phonetic code of a (normalised) family name for blocking: American Soundex (letter + 3
 * digits, H/W rule, vowels separate) written to out[5]; "" for an empty name. */
void sdat_name_soundex(const char *name, char out[5]);

typedef struct sdat_nicknames sdat_nicknames_t;

/* Parses the nickname list text (format below). On error returns -EINVAL and writes
 * "LINE: message" into err; *ret_nicknames is then untouched. -ENOMEM when out of memory.
 * Format: '#' comment lines and blank lines are ignored; every other line is one equivalence
 * group of lower-case ASCII names separated by single spaces, the formal name first, at least
 * two names, none repeated within the line. */
int sdat_nicknames_parse(const char *text, size_t len, sdat_nicknames_t **ret_nicknames, char *err,
                         size_t errlen);
void sdat_nicknames_free(sdat_nicknames_t *nicknames);

/* Whether two normalised given names are nickname-equivalent: both appear in one group (a name
 * may belong to several groups, e.g. "alex" to alexander's and alexandra's). Equal names are NOT
 * reported by this function (it returns false when a equals b and the caller checks exact first).
 * O(log n) lookup; no allocation. NULL arguments give false. */
bool sdat_nicknames_equivalent(const sdat_nicknames_t *nicknames, const char *a, const char *b);
/* Number of groups; 0 for NULL. */
size_t sdat_nicknames_count(const sdat_nicknames_t *nicknames);

#endif
