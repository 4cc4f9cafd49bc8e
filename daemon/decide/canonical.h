/* Canonical JSON written straight into a growing buffer: byte for byte what
 * jansson 2.14's json_dumps(value, JSON_COMPACT | JSON_SORT_KEYS |
 * JSON_ENCODE_ANY) makes (the audit chain hashes those bytes), without its
 * second pass over a strbuffer, its copy, its key array per object and its
 * lookup of every key again. Object keys sorted by their bytes (a prefix
 * first); strings escaped as jansson does: '"', '\' and U+0000-U+001F only,
 * \b \f \n \r \t short and the rest \u00XX in upper-case hex, '/', DEL and
 * non-ASCII UTF-8 as they are; integers in decimal; reals as "%.17g" with
 * ".0" added when it has neither '.' nor 'e', and the exponent's '+' and
 * leading zeros dropped. tests/unit/test_canonical.c holds it to jansson. */
#ifndef SDAT_CANONICAL_H
#define SDAT_CANONICAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* The text so far: data is NUL-terminated once anything was written, len
 * bytes long (the terminator not counted). Start from {0}; the owner frees
 * data. */
struct sdat_canonical_buf {
    char *data;
    size_t len;
    size_t cap;
};

/* Each appends to buf: 0, -ENOMEM, or -EINVAL where json_dumps would
 * fail (a string that is not UTF-8, a NULL value, a circular reference).
 * After an error buf holds a partial text: only its owner's free is left. */

/* Makes room for n more bytes, so that appends up to that need no
 * reallocation. */
int sdat_canonical_reserve(struct sdat_canonical_buf *buf, size_t n);
/* n bytes as they are (the caller's own canonical text: punctuation, keys
 * known to need no escaping). */
int sdat_canonical_raw(struct sdat_canonical_buf *buf, const char *s, size_t n);
/* A JSON string of the n bytes at s. */
int sdat_canonical_string(struct sdat_canonical_buf *buf, const char *s, size_t n);
int sdat_canonical_integer(struct sdat_canonical_buf *buf, int64_t v);
/* Any value, containers with all they hold. */
int sdat_canonical_value(struct sdat_canonical_buf *buf, const json_t *value);

#endif
