/* Reports about a key table's keys (keytab.h). */
#include "keytab.h"

#include <stdarg.h>
#include <stdio.h>

void sdat_key_report_first(void *opaque, const char *key, const char *format, ...)
{
    struct sdat_key_first *first = opaque;
    if (first->count++ > 0 || !first->err || first->errlen == 0) {
        return;
    }
    int n = key ? snprintf(first->err, first->errlen, "%s: ", key) : 0;
    if (n < 0 || (size_t)n >= first->errlen) {
        return;
    }
    va_list ap;
    va_start(ap, format);
    vsnprintf(first->err + n, first->errlen - (size_t)n, format, ap);
    va_end(ap);
}
