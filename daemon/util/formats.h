/* Format checkers for the events' custom and standard formats (events.md).
 * Pure; no allocation. Each returns true when S is valid. */
#ifndef SDAT_FORMATS_H
#define SDAT_FORMATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

bool sdat_format_date(const char *s);
bool sdat_format_datetime(const char *s);
bool sdat_format_nhs_number(const char *s);
bool sdat_format_upn(const char *s);
bool sdat_format_postcode(const char *s);
bool sdat_format_urn(const char *s);
bool sdat_format_la_code(const char *s);
bool sdat_format_ods_code(const char *s);
/* Checks S against the named format; unknown formats pass (annotations).
 * ret_message (may be NULL) gets a fixed text naming the rule broken. */
bool sdat_format_check(const char *format, const char *s, const char **ret_message);
typedef bool (*sdat_format_fn)(const char *s);
/* The checker of the named format and the fixed text naming its rule, for a
 * caller that checks many strings against one format (the schema
 * validator resolves a schema's `format` once); false for an unknown format,
 * with the outputs untouched. */
bool sdat_format_find(const char *format, sdat_format_fn *ret_check, const char **ret_message);

/* "YYYY-MM-DD" → days since 1970-01-01; 0 or -EINVAL. */
int sdat_date_parse(const char *s, int32_t *ret_days);
/* RFC 3339 with offset → Unix milliseconds; 0 or -EINVAL. */
int sdat_datetime_parse(const char *s, int64_t *ret_unix_ms);
/* Upper case with one space before the inward code; -EINVAL when invalid. */
int sdat_postcode_normalise(const char *s, char *out, size_t outlen);

#endif
