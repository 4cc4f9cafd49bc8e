/* Logging: one line per event on stderr, text or JSON, level-checked, with a
 * module prefix. Callers log ids, never personal data (names, dates of birth,
 * NHS numbers, UPNs, addresses, postcodes, free text), request paths or Kafka
 * property values. */
#ifndef SDAT_LOG_H
#define SDAT_LOG_H

#include <stddef.h>

enum sdat_log_level { SDAT_LOG_ERROR = 0, SDAT_LOG_WARN, SDAT_LOG_INFO, SDAT_LOG_DEBUG };
enum sdat_log_format { SDAT_LOG_TEXT = 0, SDAT_LOG_JSON };

void sdat_log_setup(enum sdat_log_level level, enum sdat_log_format format);
enum sdat_log_level sdat_log_level(void);
/* A syslog level (0–7, as librdkafka gives) as the daemon's: 0–3 errors,
 * 4 warnings, 5–6 notices and information, 7 debug. */
enum sdat_log_level sdat_log_level_from_syslog(int level);
/* Every field a line prints, in either format, goes through
 * sdat_log_escape first, so that no byte from outside can end a line, forge
 * another, or drive a terminal (quality.md S8). */
void sdat_log_write(enum sdat_log_level level, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Copies S (NULL: "") into OUT as one line of printable text: \n, \r and \t
 * as those escapes, a backslash as \\, every other byte below 0x20, 0x7f,
 * a C1 control (U+0080 to U+009F) and each byte of an invalid UTF-8
 * sequence as \xNN; valid UTF-8 is kept. Cut at a character, never inside
 * an escape, when OUT is too small (4 times the input always fits).
 * Returns OUT. */
char *sdat_log_escape(const char *s, char *out, size_t outlen);

#define sdat_log(level, module, ...)                                                             \
    do {                                                                                         \
        if ((level) <= sdat_log_level()) {                                                       \
            sdat_log_write((level), (module), __VA_ARGS__);                                      \
        }                                                                                        \
    } while (0)
#define log_error(module, ...) sdat_log(SDAT_LOG_ERROR, module, __VA_ARGS__)
#define log_warn(module, ...) sdat_log(SDAT_LOG_WARN, module, __VA_ARGS__)
#define log_info(module, ...) sdat_log(SDAT_LOG_INFO, module, __VA_ARGS__)
#define log_debug(module, ...) sdat_log(SDAT_LOG_DEBUG, module, __VA_ARGS__)

#endif
