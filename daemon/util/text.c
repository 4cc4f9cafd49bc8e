#include "text.h"

#include <stdlib.h>
#include <string.h>

bool sdat_text_append(char **data, size_t *len, size_t *cap, const char *s, size_t n)
{
    if (*len + n + 1 > *cap) {
        size_t grow = *cap ? *cap : 4096;
        while (grow < *len + n + 1) {
            grow *= 2;
        }
        char *grown = realloc(*data, grow);
        if (!grown) {
            return false;
        }
        *data = grown;
        *cap = grow;
    }
    memcpy(*data + *len, s, n);
    *len += n;
    (*data)[*len] = '\0';
    return true;
}
