#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

/* The length of the valid UTF-8 sequence at s (2 to 4), or 0. */
static size_t utf8_sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t n;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        lo = c == 0xE0 ? 0xA0 : 0x80;
        hi = c == 0xED ? 0x9F : 0xBF; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF) {
            return 0;
        }
    }
    return n;
}

char *sdat_log_escape(const char *s, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    size_t o = 0;
    if (outlen == 0) {
        return out;
    }
    while (*p) {
        char piece[16];
        size_t len = 0, used = 1;
        size_t seq = *p >= 0x80 ? utf8_sequence(p) : 1;
        if (*p == '\\') {
            piece[len++] = '\\';
            piece[len++] = '\\';
        } else if (*p == '\n' || *p == '\r' || *p == '\t') {
            piece[len++] = '\\';
            piece[len++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
        } else if (*p < 0x20 || *p == 0x7f || seq == 0 || (p[0] == 0xC2 && p[1] < 0xA0)) {
            /* A control, a byte of no valid sequence, or a C1 control
             * (both of its bytes). */
            used = seq == 2 ? 2 : 1;
            for (size_t i = 0; i < used; i++) {
                piece[len++] = '\\';
                piece[len++] = 'x';
                piece[len++] = hex[p[i] >> 4];
                piece[len++] = hex[p[i] & 15];
            }
        } else {
            used = seq;
            memcpy(piece, p, seq);
            len = seq;
        }
        if (o + len >= outlen) {
            break;
        }
        memcpy(out + o, piece, len);
        o += len;
        p += used;
    }
    out[o] = '\0';
    return out;
}

void sdat_log_write(enum sdat_log_level level, const char *module, const char *fmt, ...)
{
    char ts[32];
    char msg[1024], esc[4 * sizeof msg], mod[64];
    va_list ap;

    sdat_time_format_ms(sdat_time_now_ms(), ts, sizeof ts);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    sdat_log_escape(msg, esc, sizeof esc);
    sdat_log_escape(module, mod, sizeof mod);

    /* One write per line, so that lines from two threads never interleave. */
    if (current_format == SDAT_LOG_JSON) {
        json_t *line = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", level_names[level],
                                 "module", mod, "msg", esc);
        char *text = line ? json_dumps(line, JSON_COMPACT) : NULL;
        if (text) {
            fprintf(stderr, "%s\n", text);
        }
        free(text);
        json_decref(line);
    } else {
        fprintf(stderr, "%s %s %s: %s\n", ts, level_names[level], mod, esc);
    }
}

enum sdat_log_level sdat_log_level_from_syslog(int level)
{
    return level <= 3 ? SDAT_LOG_ERROR : level == 4 ? SDAT_LOG_WARN : level <= 6 ? SDAT_LOG_INFO
                                                                                : SDAT_LOG_DEBUG;
}
