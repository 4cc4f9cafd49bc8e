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
