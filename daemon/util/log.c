#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "timeutil.h"

static enum sdat_log_level current_level = SDAT_LOG_INFO;
static enum sdat_log_format current_format = SDAT_LOG_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void sdat_log_setup(enum sdat_log_level level, enum sdat_log_format format)
{
    current_level = level;
    current_format = format;
}

enum sdat_log_level sdat_log_level(void)
{
    return current_level;
}

void sdat_log_write(enum sdat_log_level level, const char *module, const char *fmt, ...)
{
    char ts[32];
    char msg[1024];
    va_list ap;

    sdat_time_format_ms(sdat_time_now_ms(), ts, sizeof ts);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);

    /* One write per line, so that lines from two threads never interleave. */
    if (current_format == SDAT_LOG_JSON) {
        json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level],
                                 "module", module, "msg", msg);
        char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (text) {
            fprintf(stderr, "%s\n", text);
        }
        free(text);
        json_decref(line);
    } else {
        fprintf(stderr, "%s %s %s: %s\n", ts, level_names[level], module, msg);
    }
}

enum sdat_log_level sdat_log_level_from_syslog(int level)
{
    return level <= 3 ? SDAT_LOG_ERROR : level == 4 ? SDAT_LOG_WARN : level <= 6 ? SDAT_LOG_INFO
                                                                                : SDAT_LOG_DEBUG;
}
