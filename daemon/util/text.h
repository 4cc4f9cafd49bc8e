/* A growing text buffer's one step: the pages, the mail and the metrics
 * exposition each keep their own buffer and append through this. */
#ifndef SDAT_TEXT_H
#define SDAT_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* Appends n bytes of s to *data (its length *len, capacity *cap; NULL, 0,
 * 0 to start), keeping it NUL-terminated and doubling from 4 KiB as it
 * grows. False when memory runs out (the text is then left as it was). */
bool sdat_text_append(char **data, size_t *len, size_t *cap, const char *s, size_t n);

#endif
