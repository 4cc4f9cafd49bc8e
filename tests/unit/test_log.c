/* Logging: levels filter, and each format writes one line per event. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "util/util.h"

static void redirect(void)
{
    cr_redirect_stderr();
}

Test(log, json_format_writes_one_object_per_line, .init = redirect)
{
    sdat_log_setup(SDAT_LOG_INFO, SDAT_LOG_JSON);
    log_info("delivery", "delivered id=%s attempt=%d", "n_00", 1);
    log_debug("delivery", "this is below the level");
    fflush(stderr);
    char line[512] = "";
    FILE *f = cr_get_redirected_stderr();
    cr_assert_not_null(fgets(line, sizeof line, f));
    json_t *obj = json_loads(line, 0, NULL);
    cr_assert_not_null(obj, "not JSON: %s", line);
    cr_assert_str_eq(json_string_value(json_object_get(obj, "level")), "info");
    cr_assert_str_eq(json_string_value(json_object_get(obj, "module")), "delivery");
    cr_assert_str_eq(json_string_value(json_object_get(obj, "msg")), "delivered id=n_00 attempt=1");
    cr_assert_not_null(json_string_value(json_object_get(obj, "ts")));
    json_decref(obj);
    cr_assert_null(fgets(line, sizeof line, f), "the debug line was written: %s", line);
}

Test(log, text_format_has_time_level_module_and_message, .init = redirect)
{
    sdat_log_setup(SDAT_LOG_WARN, SDAT_LOG_TEXT);
    log_info("main", "filtered");
    log_warn("config", "a problem, ignoring");
    fflush(stderr);
    char line[512] = "";
    FILE *f = cr_get_redirected_stderr();
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, "Z warn config: a problem, ignoring\n") != NULL, "%s", line);
    cr_assert_null(fgets(line, sizeof line, f));
}

/* quality.md S8: a newline from outside cannot forge a line, in either
 * format; other controls, C1 controls and bytes of no valid UTF-8 sequence
 * are escaped too; valid UTF-8 is kept. */
Test(log, escape_makes_one_printable_line)
{
    char out[128];
    cr_assert_str_eq(sdat_log_escape("a\nb\rc\td\\e", out, sizeof out), "a\\nb\\rc\\td\\\\e");
    cr_assert_str_eq(sdat_log_escape("\x01\x1b[31m\x7f", out, sizeof out), "\\x01\\x1b[31m\\x7f");
    cr_assert_str_eq(sdat_log_escape("caf\xc3\xa9 \xe2\x80\x94", out, sizeof out),
                     "caf\xc3\xa9 \xe2\x80\x94");
    cr_assert_str_eq(sdat_log_escape("\xc2\x9b" "2J", out, sizeof out), "\\xc2\\x9b2J");
    cr_assert_str_eq(sdat_log_escape("\xff\xc3(\xed\xa0\x80", out, sizeof out),
                     "\\xff\\xc3(\\xed\\xa0\\x80");
    cr_assert_str_eq(sdat_log_escape(NULL, out, sizeof out), "");
    /* Cut before an escape that does not fit, never inside it. */
    cr_assert_str_eq(sdat_log_escape("ab\ncd", out, 4), "ab");
    cr_assert_str_eq(sdat_log_escape("ab\xc3\xa9", out, 4), "ab");
}

static const char forged[] = "Ada Quillbrook 2015-03-04 9434765919\n"
                             "2026-01-01T00:00:00Z info delivered";

Test(log, text_format_escapes_control_characters, .init = redirect)
{
    sdat_log_setup(SDAT_LOG_INFO, SDAT_LOG_TEXT);
    log_warn("ingest\r", "rejected: %s\x1b[2J", forged);
    fflush(stderr);
    char line[512] = "";
    FILE *f = cr_get_redirected_stderr();
    cr_assert_not_null(fgets(line, sizeof line, f));
    cr_assert(strstr(line, " warn ingest\\r: rejected: Ada Quillbrook 2015-03-04 9434765919\\n"
                           "2026-01-01T00:00:00Z info delivered\\x1b[2J\n") != NULL,
              "%s", line);
    cr_assert_null(fgets(line, sizeof line, f), "a second line was written: %s", line);
}

Test(log, json_format_escapes_and_survives_invalid_utf8, .init = redirect)
{
    sdat_log_setup(SDAT_LOG_INFO, SDAT_LOG_JSON);
    log_warn("ingest", "rejected: %s \xff", forged);
    fflush(stderr);
    char line[1024] = "";
    FILE *f = cr_get_redirected_stderr();
    cr_assert_not_null(fgets(line, sizeof line, f), "no line for a message with invalid UTF-8");
    json_t *obj = json_loads(line, 0, NULL);
    cr_assert_not_null(obj, "not JSON: %s", line);
    const char *msg = json_string_value(json_object_get(obj, "msg"));
    cr_assert_str_eq(msg, "rejected: Ada Quillbrook 2015-03-04 9434765919\\n"
                          "2026-01-01T00:00:00Z info delivered \\xff");
    json_decref(obj);
    cr_assert_null(fgets(line, sizeof line, f), "a second line was written: %s", line);
}
