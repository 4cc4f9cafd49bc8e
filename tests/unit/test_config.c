/* The configuration table: good files, defaults, and one test per kind of
 * problem, each asserting the exact FILE:LINE: KEY: prefix. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"

static char dir[64];

static void setup(void)
{
    fixture_dir_make(dir, sizeof dir, "config");
}

static void teardown(void)
{
    fixture_dir_remove(dir);
}

TestSuite(config, .init = setup, .fini = teardown);

static const char *base_conf =
    "state_dir = \"/tmp/sdat-state\";\n"                                     /* 1 */
    "lawful_basis = { da_incident = \"a\"; da_incident_urgent = \"b\";\n"    /* 2 */
    "  unmatched_child = \"c\"; review_needed = \"d\"; cpis_access = \"e\";\n"/* 3 */
    "  delivery_failed = \"f\"; withdrawn = \"g\"; };\n"                     /* 4 */
    "kafka = { embedded = true; };\n"                                        /* 5 */
    "calendars = ( { id = \"c1\"; terms = ( [ \"2026-09-01\", \"2026-12-18\" ] ); } );\n" /* 6 */
    "areas = ( { la_code = \"831\"; name = \"A\"; postcode_districts = [ \"de22\", \"DE23 6\" ];\n" /* 7 */
    "            mash = \"la:831:mash\"; } );\n"                              /* 8 */
    "forces = ( { id = \"derbyshire\"; default_area = \"831\"; } );\n"       /* 9 */
    "recipients = (\n"                                                       /* 10 */
    "  { id = \"school:1\"; kind = \"school\"; la_code = \"831\"; name = \"S\"; urn = \"100001\";\n" /* 11 */
    "    calendar = \"c1\"; connector = \"file\"; directory = \"/tmp/x\"; },\n" /* 12 */
    "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"M\";\n" /* 13 */
    "    connector = \"file\"; directory = \"/tmp/x\"; }\n"                  /* 14 */
    ");\n";                                                                   /* 15 */

/* Writes dir/name; returns its path (the caller frees it). */
static char *write_file(const char *name, const char *text)
{
    char *path = malloc(256);
    snprintf(path, 256, "%s/%s", dir, name);
    fixture_write(dir, name, "%s", text);
    return path;
}

/* Loads text with `from` replaced by `to` (once); returns the error text. */
static char *load_variant(const char *from, const char *to, int *ret)
{
    char text[8192];
    const char *at = strstr(base_conf, from);
    cr_assert_not_null(at, "fixture lacks %s", from);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base_conf), base_conf, to,
             at + strlen(from));
    char *path = write_file("test.conf", text);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    *ret = sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors);
    sdat_config_free(cfg);
    free(path);
    return errors;
}

static void expect_error(const char *from, const char *to, const char *prefix)
{
    int r;
    char *errors = load_variant(from, to, &r);
    char want[512];
    snprintf(want, sizeof want, "%s/test.conf:%s", dir, prefix);
    cr_assert_eq(r, -EINVAL, "expected -EINVAL for %s", prefix);
    cr_assert_not_null(errors);
    cr_assert(strstr(errors, want) != NULL, "wanted \"%s\" in:\n%s", want, errors);
    free(errors);
}

Test(config, good_file_loads_with_typed_values_and_defaults)
{
    char *path = write_file("good.conf", base_conf);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s", errors ? errors : "");
    cr_assert_str_eq(cfg->timezone, "Europe/London");
    cr_assert_eq(cfg->log_level, SDAT_LOG_INFO);
    cr_assert(cfg->kafka.embedded);
    cr_assert_eq(cfg->kafka.max_message_bytes, 1048576);
    cr_assert_str_eq(cfg->topics.police_incidents, "police.da-incidents");
    cr_assert_eq(cfg->delivery.concurrency, 16);
    cr_assert_float_eq(cfg->delivery.retry_max, 900.0, 1e-9);
    cr_assert_eq(cfg->calendars[0].release_time, 7 * 60 + 30);
    cr_assert_eq(cfg->calendars[0].weekdays, 0x1fu);
    cr_assert_eq(cfg->calendars[0].n_terms, 1);
    cr_assert_str_eq(cfg->areas[0].postcode_districts.v[0], "DE22");
    cr_assert_str_eq(cfg->areas[0].postcode_districts.v[1], "DE23 6");
    cr_assert_eq(cfg->n_recipients, 2);
    cr_assert_eq(cfg->recipients[1].kind, SDAT_KIND_MASH);
    cr_assert_eq(cfg->recipients[1].line, 13);
    cr_assert_str_eq(sdat_config_school_by_urn(cfg, "100001")->id, "school:1");
    cr_assert_not_null(cfg->instance_id); /* the host name by default */
    sdat_config_free(cfg);
    free(path);
}

Test(config, numbers_may_be_written_as_decimals)
{
    int r;
    char *errors = load_variant("kafka = { embedded = true; };",
                                "kafka = { embedded = true; embedded_brokers = 3.0; };\n"
                                "delivery = { retry_initial = 2; retry_max = 60.5; };\n"
                                "matching = { match_threshold = 20; review_threshold = 15.5; };",
                                &r);
    cr_assert_eq(r, 0, "%s", errors ? errors : "");
    /* The values read: a decimal with a zero fraction for an integer key,
     * an integer for a decimal key, and a true decimal. */
    char path[256];
    snprintf(path, sizeof path, "%s/test.conf", dir);
    struct sdat_config *cfg = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s", errors ? errors : "");
    cr_assert_eq(cfg->kafka.embedded_brokers, 3);
    cr_assert_float_eq(cfg->delivery.retry_initial, 2.0, 1e-9);
    cr_assert_float_eq(cfg->delivery.retry_max, 60.5, 1e-9);
    cr_assert_float_eq(cfg->matching.match_threshold, 20.0, 1e-9);
    cr_assert_float_eq(cfg->matching.review_threshold, 15.5, 1e-9);
    sdat_config_free(cfg);
}

Test(config, unknown_key_is_reported_with_file_and_line)
{
    expect_error("kafka = { embedded = true; };", "kafka = { embedded = true; colour = 1; };",
                 "5: kafka.colour: unknown key");
}

Test(config, unknown_key_inside_a_list_element_names_its_index)
{
    expect_error("calendar = \"c1\"; connector", "calendar = \"c1\"; colour = 1; connector",
                 "12: recipients.[0].colour: unknown key");
}

Test(config, wrong_type_is_reported)
{
    expect_error("state_dir = \"/tmp/sdat-state\";", "state_dir = 5;", "1: state_dir: must be a string");
}

Test(config, out_of_range_value_is_reported)
{
    expect_error("kafka = { embedded = true; };", "kafka = { embedded = true; embedded_brokers = 12; };",
                 "5: kafka.embedded_brokers: 12 is out of range");
}

Test(config, fractional_value_for_an_integer_is_reported)
{
    expect_error("kafka = { embedded = true; };", "kafka = { embedded = true; embedded_brokers = 1.5; };",
                 "5: kafka.embedded_brokers: 1.5 is not a whole number");
}

Test(config, bad_enum_value_is_quoted)
{
    expect_error("state_dir", "log_level = \"loud\"; state_dir",
                 "1: log_level: \"loud\" is not one of error, warn, info, debug");
}

Test(config, missing_required_key_is_reported_at_its_group)
{
    expect_error(" withdrawn = \"g\";", "", "2: lawful_basis.withdrawn: is required");
}

/* A check across keys reports at the line of the key it concerns (the
 * area starts on line 7, its mash key is on line 8). */
Test(config, dangling_recipient_reference_is_reported)
{
    expect_error("mash = \"la:831:mash\";", "mash = \"la:831:nosuch\";",
                 "8: areas.[0].mash: recipient \"la:831:nosuch\" does not exist");
}

Test(config, dangling_calendar_is_reported)
{
    expect_error("calendar = \"c1\";", "calendar = \"c9\";",
                 "12: recipients.[0].calendar: calendar \"c9\" does not exist");
}

Test(config, area_role_pointing_at_the_wrong_kind_is_reported)
{
    expect_error("mash = \"la:831:mash\";", "mash = \"school:1\";",
                 "8: areas.[0].mash: recipient \"school:1\" is of kind school, not mash");
}

Test(config, review_threshold_above_match_threshold_is_reported)
{
    expect_error("state_dir", "matching = { match_threshold = 5; review_threshold = 8; };\nstate_dir",
                 "1: matching.review_threshold: 8 is above match_threshold");
}

Test(config, postcode_entry_in_two_areas_is_reported)
{
    expect_error("areas = ( {", "areas = ( { la_code = \"832\"; name = \"B\"; postcode_districts = "
                 "[ \"DE22\" ]; }, {",
                 "7: areas.[1].postcode_districts: \"DE22\" is also listed in areas.[0]");
}

Test(config, overlapping_terms_are_reported)
{
    expect_error("[ \"2026-09-01\", \"2026-12-18\" ]",
                 "[ \"2026-09-01\", \"2026-12-18\" ], [ \"2026-12-01\", \"2027-01-18\" ]",
                 "6: calendars.[0].terms: term 1 overlaps");
}

Test(config, unordered_term_is_reported)
{
    expect_error("[ \"2026-09-01\", \"2026-12-18\" ]", "[ \"2026-12-18\", \"2026-09-01\" ]",
                 "6: calendars.[0].terms: term 0 ends before it starts");
}

Test(config, impossible_date_is_reported)
{
    expect_error("\"2026-09-01\", \"2026-12-18\"", "\"2026-02-30\", \"2026-12-18\"",
                 "6: calendars.[0].terms: term 0: \"2026-02-30\" is not a real date");
}

Test(config, unknown_timezone_is_reported)
{
    expect_error("state_dir", "timezone = \"Europe/Atlantis\";\nstate_dir",
                 "1: timezone: \"Europe/Atlantis\" is not a time zone");
}

Test(config, group_readable_secret_file_is_refused_without_showing_its_contents)
{
    char *secret = write_file("secret", "hunter2-do-not-print\n");
    chmod(secret, 0640);
    char to[512];
    /* secret_file is a key of the webhook connector (a file recipient has none). */
    snprintf(to, sizeof to,
             "connector = \"webhook\"; url = \"https://dsl.example.org/hook\"; "
             "secret_file = \"%s\"; },",
             secret);
    int r;
    char *errors = load_variant("connector = \"file\"; directory = \"/tmp/x\"; },", to, &r);
    cr_assert_eq(r, -EINVAL);
    cr_assert(strstr(errors, "12: recipients.[0].secret_file:") != NULL, "%s", errors);
    cr_assert(strstr(errors, "readable by group or others") != NULL, "%s", errors);
    cr_assert_null(strstr(errors, "hunter2"));
    free(errors);
    chmod(secret, 0600);
    errors = load_variant("connector = \"file\"; directory = \"/tmp/x\"; },", to, &r);
    cr_assert_eq(r, 0, "%s", errors ? errors : "");
    free(secret);
}

Test(config, secret_kafka_property_must_come_from_a_file)
{
    expect_error("kafka = { embedded = true; };",
                 "kafka = { bootstrap_servers = \"k:9093\"; properties = ( ( \"ssl.key.password\", \"x\" ) ); };",
                 "5: kafka.properties.[0]: \"ssl.key.password\" must be given as \"@file:PATH\"");
}

Test(config, file_property_is_read_from_a_private_file)
{
    char *secret = write_file("kpass", "s3cret\n");
    chmod(secret, 0600);
    char to[512];
    snprintf(to, sizeof to,
             "kafka = { bootstrap_servers = \"k:9093\"; properties = ( ( \"ssl.key.password\", "
             "\"@file:%s\" ) ); };", secret);
    char text[8192];
    const char *at = strstr(base_conf, "kafka = { embedded = true; };");
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base_conf), base_conf, to,
             at + strlen("kafka = { embedded = true; };"));
    char *path = write_file("k.conf", text);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s", errors ? errors : "");
    cr_assert_str_eq(cfg->kafka.properties[0].value, "s3cret");
    cr_assert(cfg->kafka.properties[0].secret);
    sdat_config_free(cfg);
    free(path);
    free(secret);
}

Test(config, kafka_properties_named_secret_or_key_must_come_from_a_file)
{
    /* Each of the three words alone makes a property secret. */
    expect_error("kafka = { embedded = true; };",
                 "kafka = { bootstrap_servers = \"k:9093\"; properties = ( ( \"sasl.oauthbearer.client.secret\","
                 " \"x\" ) ); };",
                 "5: kafka.properties.[0]: \"sasl.oauthbearer.client.secret\" must be given as "
                 "\"@file:PATH\"");
    expect_error("kafka = { embedded = true; };",
                 "kafka = { bootstrap_servers = \"k:9093\"; properties = ( ( \"client.id\", \"sdatd\" ),"
                 " ( \"ssl.key.pem\", \"x\" ) ); };",
                 "5: kafka.properties.[1]: \"ssl.key.pem\" must be given as \"@file:PATH\"");
    /* A property with none of the words may be a plain value. */
    int r;
    char *errors = load_variant("kafka = { embedded = true; };",
                                "kafka = { bootstrap_servers = \"k:9093\"; properties = ( ( \"client.id\","
                                " \"sdatd\" ) ); };",
                                &r);
    cr_assert_eq(r, 0, "%s", errors ? errors : "");
}

Test(config, a_recipient_without_la_code_is_reported)
{
    expect_error("{ id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\";",
                 "{ id = \"la:831:mash\"; kind = \"mash\";",
                 "13: recipients.[1].la_code: is required");
}

Test(config, a_recipient_la_code_naming_no_area_is_reported)
{
    expect_error("{ id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\";",
                 "{ id = \"la:831:mash\"; kind = \"mash\"; la_code = \"999\";",
                 "13: recipients.[1].la_code: area \"999\" does not exist");
}

Test(config, recipient_ids_that_name_no_plain_folder_are_reported)
{
    /* The file connector names a folder after the id (quality.md S9). */
    expect_error("{ id = \"school:1\";", "{ id = \".\";",
                 "11: recipients.[0].id: \".\" must not start with \".\"");
    expect_error("{ id = \"school:1\";", "{ id = \"..\";",
                 "11: recipients.[0].id: \"..\" must not start with \".\"");
    expect_error("{ id = \"school:1\";", "{ id = \".school:1\";",
                 "11: recipients.[0].id: \".school:1\" must not start with \".\"");
}

Test(config, recipient_ids_outside_the_allowed_characters_or_length_are_reported)
{
    /* delivery.md: [a-z0-9:._-]{1,64}. */
    expect_error("{ id = \"school:1\";", "{ id = \"School 1\";",
                 "11: recipients.[0].id: \"School 1\" does not match [a-z0-9:._-]{1,64}");
    char long_id[66], from[96], to[160], want[200];
    memset(long_id, 'a', 65);
    long_id[65] = '\0';
    snprintf(to, sizeof to, "{ id = \"%s\";", long_id);
    snprintf(want, sizeof want, "11: recipients.[0].id: \"%s\" does not match", long_id);
    expect_error("{ id = \"school:1\";", to, want);
    /* 64 characters of every allowed kind are accepted. */
    memset(long_id, 'a', 64);
    memcpy(long_id, "la:831.x_y-z", 12);
    long_id[64] = '\0';
    snprintf(from, sizeof from, "{ id = \"school:1\";");
    snprintf(to, sizeof to, "{ id = \"%s\";", long_id);
    int r;
    char *errors = load_variant(from, to, &r);
    cr_assert_eq(r, 0, "%s", errors ? errors : "");
}

Test(config, security_property_with_the_embedded_broker_is_reported)
{
    expect_error("kafka = { embedded = true; };",
                 "kafka = { embedded = true; properties = ( ( \"security.protocol\", \"ssl\" ) ); };",
                 "5: kafka.properties.[0]: \"security.protocol\" is a security property");
}

/* http.listen is checked by -t as the server reads it at start: the key's
 * own line, or the http group's when the key spans lines with it. */
Test(config, bad_listen_address_is_reported_at_its_line)
{
    expect_error("forces = (", "http = {\n  listen = \"127.0.0.1\"; };\nforces = (",
                 "10: http.listen: \"127.0.0.1\": expected HOST:PORT");
    expect_error("forces = (", "http = { listen = \"127.0.0.1:80x\"; };\nforces = (",
                 "9: http.listen: \"127.0.0.1:80x\": bad port");
    expect_error("forces = (", "http = { listen = \"127.0.0.1:70000\"; };\nforces = (",
                 "9: http.listen: \"127.0.0.1:70000\": bad port");
    expect_error("forces = (", "http = { listen = \"[::1:8080\"; };\nforces = (",
                 "9: http.listen: \"[::1:8080\": expected [ADDRESS]:PORT");
    /* TEST-NET-1 (RFC 5737) is on no host: parsed, but not this host's. */
    expect_error("forces = (", "http = { listen = \"192.0.2.1:8080\"; };\nforces = (",
                 "9: http.listen: \"192.0.2.1:8080\": cannot listen there: ");
}

Test(config, good_listen_addresses_pass)
{
    const char *good[] = {"http = { listen = \"127.0.0.1:0\"; };\nforces = (",
                          "http = { listen = \"*:8080\"; };\nforces = (",
                          "http = { listen = \"0.0.0.0:8080\"; };\nforces = ("};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int r;
        char *errors = load_variant("forces = (", good[i], &r);
        cr_assert_eq(r, 0, "%s: %s", good[i], errors ? errors : "");
    }
}

Test(config, syntax_error_names_file_and_line)
{
    expect_error("forces = (", "forces = ( ;", "9: (syntax):");
}

Test(config, error_in_an_included_file_names_that_file)
{
    char *inc = write_file("recipients.inc",
                           "recipients = ( { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\";\n"
                           "  name = \"M\"; connector = \"file\"; directory = \"/tmp/x\"; colour = 2; } );\n");
    char text[8192];
    const char *at = strstr(base_conf, "recipients = (");
    snprintf(text, sizeof text, "%.*s@include \"recipients.inc\"\n", (int)(at - base_conf), base_conf);
    /* the included file is relative to the main file's directory */
    char *path = write_file("main.conf", text);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), -EINVAL);
    char want[256];
    snprintf(want, sizeof want, "%s:2: recipients.[0].colour: unknown key", inc);
    cr_assert(strstr(errors, want) != NULL, "wanted %s in %s", want, errors);
    free(errors);
    free(path);
    free(inc);
}

Test(config, restart_only_changes_are_listed)
{
    char *a = write_file("a.conf", base_conf);
    struct sdat_config *old_cfg = NULL, *new_cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(a, sdat_connector_key_tables(), &old_cfg, &errors), 0);
    int r;
    free(load_variant("state_dir = \"/tmp/sdat-state\";",
                      "state_dir = \"/tmp/other\"; log_level = \"debug\";", &r));
    char path[256];
    snprintf(path, sizeof path, "%s/test.conf", dir);
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &new_cfg, &errors), 0);
    char *changes = sdat_config_restart_only_changes(old_cfg, new_cfg);
    cr_assert_not_null(changes);
    cr_assert(strstr(changes, "state_dir: changed; restart-only, ignoring") != NULL, "%s", changes);
    cr_assert_null(strstr(changes, "log_level"));
    free(changes);
    sdat_config_keep_restart_only(new_cfg, old_cfg);
    cr_assert_str_eq(new_cfg->state_dir, "/tmp/sdat-state"); /* the running value */
    cr_assert_eq(new_cfg->log_level, SDAT_LOG_DEBUG);         /* reloadable: the new one */
    cr_assert_str_eq(old_cfg->state_dir, "/tmp/other");
    sdat_config_free(old_cfg);
    sdat_config_free(new_cfg);
    free(a);
}

Test(config, example_configuration_passes_when_its_files_exist)
{
    /* config/sdatd.conf.example with /etc/sdat rewritten into the temp dir. */
    FILE *in = fopen("config/sdatd.conf.example", "r");
    cr_assert_not_null(in, "run the tests from the repository root");
    char text[65536];
    size_t n = fread(text, 1, sizeof text - 1, in);
    fclose(in);
    text[n] = '\0';
    char out[70000], *o = out;
    for (char *p = text; *p;) {
        if (strncmp(p, "/etc/sdat", 9) == 0) {
            o += sprintf(o, "%s", dir);
            p += 9;
        } else if (strncmp(p, "/var/spool/sdat", 15) == 0) {
            o += sprintf(o, "%s/spool", dir);
            p += 15;
        } else {
            *o++ = *p++;
        }
    }
    *o = '\0';
    char keys[128];
    snprintf(keys, sizeof keys, "%s/keys", dir);
    mkdir(keys, 0700);
    static const char *const secrets[] = {"keys/kafka-key-pass", "keys/112233", "keys/smtp",
                                          "keys/ack", "keys/audit"};
    for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++) {
        char *p = write_file(secrets[i], "synthetic-secret\n");
        chmod(p, 0600);
        free(p);
    }
    free(write_file("kafka-ca.pem", "synthetic\n"));
    char *path = write_file("sdatd.conf", out);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s", errors ? errors : "");
    /* Its thresholds must not auto-match everything: the documented
     * defaults (those of a file without a matching group) or stricter. */
    char *base = write_file("defaults.conf", base_conf);
    struct sdat_config *defaults = NULL;
    cr_assert_eq(sdat_config_load(base, sdat_connector_key_tables(), &defaults, &errors), 0, "%s", errors ? errors : "");
    cr_assert_float_eq(defaults->matching.match_threshold, 18.0, 1e-9);
    cr_assert_float_eq(defaults->matching.review_threshold, 14.0, 1e-9);
    cr_assert_float_eq(defaults->matching.match_margin, 5.0, 1e-9);
    cr_assert_float_eq(defaults->matching.unplaced_threshold, 24.0, 1e-9);
    cr_assert_geq(cfg->matching.unplaced_threshold, defaults->matching.unplaced_threshold);
    cr_assert_geq(cfg->matching.match_threshold, defaults->matching.match_threshold);
    cr_assert_geq(cfg->matching.review_threshold, defaults->matching.review_threshold);
    cr_assert_geq(cfg->matching.match_margin, defaults->matching.match_margin);
    cr_assert_gt(cfg->matching.match_threshold, cfg->matching.review_threshold);
    sdat_config_free(defaults);
    free(base);
    sdat_config_free(cfg);
    free(path);
}

Test(config, reference_lists_every_key)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    sdat_config_write_reference(f, sdat_connector_key_tables());
    fclose(f);
    cr_assert(strstr(buf, "`kafka.max_message_bytes`") != NULL);
    cr_assert(strstr(buf, "`recipients.[N].secret_file_next`") != NULL);
    cr_assert(strstr(buf, "restart-only") != NULL);
    free(buf);
}

Test(config, a_systemd_credential_may_be_group_readable_but_never_world_readable)
{
    char cred_dir[] = "/tmp/sdat-test-cred-XXXXXX", path[128], err[256];
    cr_assert_not_null(mkdtemp(cred_dir));
    snprintf(path, sizeof path, "%s/keys_hook", cred_dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("synthetic-secret\n", f);
    fclose(f);
    setenv("CREDENTIALS_DIRECTORY", cred_dir, 1);
    char *data = NULL;
    size_t len = 0;
    /* systemd 254+: root-owned 0440 with an ACL for the service's user. */
    cr_assert_eq(chmod(path, 0440), 0);
    cr_assert_eq(sdat_secret_read("$CREDENTIALS_DIRECTORY/keys_hook", &data, &len, err, sizeof err),
                 0, "%s", err);
    cr_assert_str_eq(data, "synthetic-secret");
    free(data);
    /* The same mode on an ordinary path is refused, naming the file. */
    cr_assert_eq(sdat_secret_read(path, &data, &len, err, sizeof err), -EPERM);
    cr_assert(strstr(err, "keys_hook") != NULL, "%s", err);
    cr_assert(strstr(err, "synthetic") == NULL, "the secret never appears: %s", err);
    /* Readable by others: refused, credential or not. */
    cr_assert_eq(chmod(path, 0444), 0);
    cr_assert_eq(sdat_secret_read("$CREDENTIALS_DIRECTORY/keys_hook", &data, &len, err, sizeof err),
                 -EPERM);
    unsetenv("CREDENTIALS_DIRECTORY");
    unlink(path);
    rmdir(cred_dir);
}

Test(config, lawful_basis_is_looked_up_per_kind_and_an_unknown_kind_has_none)
{
    char *path = write_file("good.conf", base_conf);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s",
                 errors ? errors : "");
    /* base_conf gives the kinds the texts "a" to "g" in interfaces.md's order. */
    static const char *const kinds[][2] = {
        {"da-incident", "a"},   {"da-incident-urgent", "b"}, {"unmatched-child", "c"},
        {"review-needed", "d"}, {"cpis-access", "e"},        {"delivery-failed", "f"},
        {"withdrawn", "g"},
    };
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        const char *basis = sdat_config_lawful_basis(cfg, kinds[i][0]);
        cr_assert_not_null(basis, "%s", kinds[i][0]);
        cr_assert_str_eq(basis, kinds[i][1], "%s", kinds[i][0]);
    }
    cr_assert_null(sdat_config_lawful_basis(cfg, "da-incident-late"));
    cr_assert_null(sdat_config_lawful_basis(cfg, ""));
    sdat_config_free(cfg);
    free(path);
}

Test(config, a_key_of_another_connector_is_refused_naming_both_connectors)
{
    expect_error("connector = \"file\"; directory = \"/tmp/x\"; },",
                 "connector = \"file\"; directory = \"/tmp/x\"; topic = \"t\"; },",
                 "12: recipients.[0].topic: is a key of the kafka connector, not of file");
}

Test(config, an_unknown_connector_is_named_and_its_keys_are_not_called_unknown)
{
    int r;
    char *errors = load_variant("connector = \"file\"; directory = \"/tmp/x\"; },",
                                "connector = \"pigeon\"; directory = \"/tmp/x\"; },", &r);
    cr_assert_eq(r, -EINVAL);
    cr_assert(strstr(errors, ":12: recipients.[0].connector: \"pigeon\" is not a known connector") !=
                  NULL,
              "%s", errors);
    cr_assert_null(strstr(errors, "directory"), "%s", errors);
    free(errors);
}

Test(config, a_recipients_connector_keys_fill_the_connectors_struct_with_defaults)
{
    char text[8192], *errors = NULL;
    const char *from = "connector = \"file\"; directory = \"/tmp/x\"; },";
    const char *at = strstr(base_conf, from);
    snprintf(text, sizeof text, "%.*s%s%s", (int)(at - base_conf), base_conf,
             "connector = \"webhook\"; url = \"https://h.example/x\"; },", at + strlen(from));
    char *path = write_file("webhook.conf", text);
    struct sdat_config *cfg = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0);
    const struct sdat_recipient *rc = sdat_config_recipient(cfg, "school:1");
    cr_assert_not_null(rc->connector_conf);
    cr_assert_str_eq(rc->connector_keys->connector, "webhook");
    const char *url = NULL;
    double timeout = -1;
    for (const struct sdat_key *k = rc->connector_keys->keys; k->name; k++) {
        const char *value_at = (const char *)rc->connector_conf + k->offset;
        if (strcmp(k->name, "url") == 0) {
            url = *(char *const *)value_at;
        } else if (strcmp(k->name, "timeout") == 0) {
            timeout = *(const double *)value_at;
        }
    }
    cr_assert_str_eq(url, "https://h.example/x");
    cr_assert_float_eq(timeout, 15.0, 1e-9); /* delivery.md: default 15 s */
    /* The other recipient keeps its file connector. */
    cr_assert_str_eq(sdat_config_recipient(cfg, "la:831:mash")->connector_keys->connector, "file");
    sdat_config_free(cfg);
    free(path);
}

Test(config, every_connector_declares_its_keys_under_its_own_name)
{
    const struct sdat_key_table *const *tables = sdat_connector_key_tables();
    size_t n = 0;
    for (; tables[n]; n++) {
        const struct sdat_connector_ops *ops = sdat_connector_find(tables[n]->connector);
        cr_assert_not_null(ops, "%s", tables[n]->connector);
        cr_assert_eq(ops->keys, tables[n]);
        cr_assert_geq(ops->abi, 3);
        cr_assert_gt(tables[n]->size, 0);
    }
    cr_assert_eq(n, 4); /* file, webhook, smtp, kafka */
}

Test(config, console_keys_default_on_with_a_15_minute_idle_and_auditor_is_a_role)
{
    int r = 0;
    char *errors = load_variant(
        "kafka = { embedded = true; };",
        "kafka = { embedded = true; }; http = { tokens = ( { name = \"ig\"; sha256 = "
        "\"0000000000000000000000000000000000000000000000000000000000000000\"; roles = [ "
        "\"auditor\", \"ack\" ]; } ); };",
        &r);
    cr_assert_eq(r, 0, "%s", errors ? errors : "");
    free(errors);
    char *path = write_file("good.conf", base_conf);
    struct sdat_config *cfg = NULL;
    char *err2 = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &err2), 0);
    cr_assert(cfg->http.console);
    cr_assert_eq(cfg->http.console_idle, 900);
    sdat_config_free(cfg);
    free(path);
    expect_error("kafka = { embedded = true; };",
                 "kafka = { embedded = true; }; http = { console_idle = 10; };",
                 "5: http.console_idle");
}

/* base_conf with a token and a kafka property added, then `from` replaced
 * by `to`, loaded; NULL from: unchanged. */
static struct sdat_config *load_reloaded(const char *name, const char *from, const char *to)
{
    static const char *extra =
        "http = { public_url = \"https://sdat.example\"; console = true; tls_cert = \"/dev/null\";\n"
        "  tokens = ( { name = \"t1\"; roles = [ \"ack\" ]; sha256 = "
        "\"00000000000000000000000000000000000000000000000000000000000000aa\"; },\n"
        "             { name = \"t2\"; roles = [ \"lookup\" ]; sha256 = "
        "\"00000000000000000000000000000000000000000000000000000000000000bb\"; } ); };\n"
        "delivery = { concurrency = 8; retry_max = 600; };\n";
    char text[8192], out[8192];
    snprintf(text, sizeof text, "%s%s", base_conf, extra);
    if (from) {
        const char *at = strstr(text, from);
        cr_assert_not_null(at, "fixture lacks %s", from);
        snprintf(out, sizeof out, "%.*s%s%s", (int)(at - text), text, to, at + strlen(from));
    } else {
        snprintf(out, sizeof out, "%s", text);
    }
    char *path = write_file(name, out);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s: %s",
                 name, errors ? errors : "");
    free(path);
    return cfg;
}

Test(config, a_reload_names_exactly_the_key_that_changed_for_every_type)
{
    static const struct {
        const char *from, *to, *named;
    } cases[] = {
        {"concurrency = 8;", "concurrency = 9;", "delivery.concurrency"},            /* INT */
        {"retry_max = 600;", "retry_max = 601.5;", "delivery.retry_max"},            /* NUMBER */
        {"console = true;", "console = false;", "http.console"},                     /* BOOL */
        {"https://sdat.example", "https://other.example", "http.public_url"},        /* STRING */
        {"state_dir", "log_level = \"debug\"; state_dir", "log_level"},              /* ENUM */
        {"postcode_districts = [ \"de22\",", "postcode_districts = [ \"de21\",",
         "areas.[0]"},                                                                 /* STRV */
        {"id = \"c1\";", "id = \"c1\"; release_time = \"07:00\";", "calendars.[0]"}, /* TIME */
        {"id = \"c1\";", "id = \"c1\"; weekdays = [ \"mon\" ];", "calendars.[0]"},   /* WEEKDAYS */
        {"\"2026-12-18\"", "\"2026-12-19\"", "calendars.[0]"},                        /* TERMS */
        {"id = \"c1\";", "id = \"c1\"; closures = [ \"2026-10-01\" ];",
         "calendars.[0]"},                                                             /* DATES */
        {"0aa\"", "0ab\"", "http.tokens.[0]"},                                         /* SHA256 */
        {"[ \"lookup\" ]", "[ \"lookup\", \"metrics\" ]", "http.tokens.[1]"},         /* ROLES */
        {"da_incident = \"a\";", "da_incident = \"z\";", "lawful_basis.da_incident"}, /* GROUP */
        {"{ name = \"t1\";", "{ name = \"t0\"; roles = [ \"ack\" ]; sha256 = "
         "\"00000000000000000000000000000000000000000000000000000000000000cc\"; }, "
         "{ name = \"t1\";", "http.tokens"},                                          /* LIST count */
        {"name = \"M\";", "name = \"M2\";", "recipients.[1]"},                       /* LIST element */
        {"directory = \"/tmp/x\"; }\n", "directory = \"/tmp/y\"; }\n",
         "recipients.[1]"},                                              /* a connector's own key */
    };
    struct sdat_config *a = load_reloaded("a.conf", NULL, NULL);
    struct sdat_config *same = load_reloaded("same.conf", NULL, NULL);
    cr_assert_null(sdat_config_changed_keys(a, same), "an identical file changes nothing");
    cr_assert_null(sdat_config_restart_only_changes(a, same));
    sdat_config_free(same);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct sdat_config *b = load_reloaded("b.conf", cases[i].from, cases[i].to);
        char *changed = sdat_config_changed_keys(a, b);
        cr_assert_not_null(changed, "case %zu: nothing named", i);
        cr_assert_str_eq(changed, cases[i].named, "case %zu", i);
        cr_assert_null(sdat_config_restart_only_changes(a, b), "case %zu", i);
        free(changed);
        sdat_config_free(b);
    }
    /* Two changes: both named, in table order. */
    struct sdat_config *b = load_reloaded("b.conf", "concurrency = 8; retry_max = 600;",
                                          "concurrency = 2; retry_max = 60;");
    char *changed = sdat_config_changed_keys(a, b);
    cr_assert_str_eq(changed, "delivery.concurrency, delivery.retry_max");
    free(changed);
    sdat_config_free(b);
    sdat_config_free(a);
}

Test(config, restart_only_keys_of_every_type_are_named_apart_and_never_with_their_values)
{
    char *secret = write_file("kpass", "first-synthetic-secret\n");
    chmod(secret, 0600);
    char from[512];
    snprintf(from, sizeof from, "kafka = { embedded = true; };");
    char to[512];
    snprintf(to, sizeof to,
             "kafka = { bootstrap_servers = \"k:9093\"; properties = ( ( \"ssl.key.password\", "
             "\"@file:%s\" ) ); };", secret);
    struct sdat_config *a = load_reloaded("a.conf", from, to);
    /* The secret rotated in place, and the certificate moved. */
    fixture_write(dir, "kpass", "second-synthetic-secret\n");
    chmod(secret, 0600);
    struct sdat_config *b = load_reloaded("b.conf", from, to);
    free(b->http.tls_cert); /* as if the file said another path */
    b->http.tls_cert = strdup("/tmp/b.pem");
    char *ignored = sdat_config_restart_only_changes(a, b);
    cr_assert_not_null(ignored);
    cr_assert_str_eq(ignored, "kafka.properties: changed; restart-only, ignoring\n"
                              "http.tls_cert: changed; restart-only, ignoring\n");
    cr_assert_null(strstr(ignored, "synthetic"), "a secret never appears: %s", ignored);
    cr_assert_null(sdat_config_changed_keys(a, b), "restart-only keys are not \"changed\"");
    sdat_config_keep_restart_only(b, a);
    cr_assert_str_eq(b->http.tls_cert, "/dev/null"); /* the running value */
    cr_assert_str_eq(b->kafka.properties[0].value, "first-synthetic-secret");
    sdat_config_free(a);
    sdat_config_free(b);
    free(secret);
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; p && *p; p++) {
        n += *p == '\n';
    }
    return n;
}

/* sdatd -t's view (issue 25): a parse problem does not hide the checks
 * across keys, a dangling reference does not hide a connector's check, and
 * each problem is at its key's own line, not the file's first or its
 * group's. */
Test(config, one_pass_reports_every_problem_each_at_its_keys_line)
{
    char *ack = write_file("ack", "synthetic-ack-key\n");
    char *audit = write_file("audit", "synthetic-audit-key\n");
    chmod(ack, 0640);
    chmod(audit, 0644);
    char text[8192], tail[1024];
    snprintf(tail, sizeof tail,
             "http = {\n"                              /* 16 */
             "  ack_key_file = \"%s\";\n"              /* 17 */
             "};\n"                                    /* 18 */
             "audit = { checkpoint_every = 1000;\n"    /* 19 */
             "  checkpoint_key_file = \"%s\"; };\n",   /* 20 */
             ack, audit);
    snprintf(text, sizeof text, "%s%s", base_conf, tail);
    /* An unknown key (line 5), a dangling reference (line 8) and a webhook
     * with an http:// URL (line 12) and no secret_file (its recipient's
     * line, 11): the connector reports both. */
    static const char *const edits[][2] = {
        {"kafka = { embedded = true; };", "kafka = { embedded = true; colour = 1; };"},
        {"mash = \"la:831:mash\"; } );", "mash = \"la:831:nosuch\"; } );"},
        {"connector = \"file\"; directory = \"/tmp/x\"; },",
         "connector = \"webhook\"; url = \"http://dsl.example.org/hook\"; },"},
    };
    for (size_t i = 0; i < sizeof edits / sizeof edits[0]; i++) {
        char *at = strstr(text, edits[i][0]);
        cr_assert_not_null(at, "%s", edits[i][0]);
        char rest[8192];
        snprintf(rest, sizeof rest, "%s", at + strlen(edits[i][0]));
        snprintf(at, sizeof text - (size_t)(at - text), "%s%s", edits[i][1], rest);
    }
    char *path = write_file("three.conf", text);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load_checked(path, sdat_connector_key_tables(), sdat_connector_check,
                                          &cfg, &errors),
                 -EINVAL);
    cr_assert_null(cfg);
    static const char *const want[] = {
        ":5: kafka.colour: unknown key",
        ":8: areas.[0].mash: recipient \"la:831:nosuch\" does not exist",
        ":12: recipients.[0].url: must be an https:// URL",
        ":11: recipients.[0].secret_file: is required for the webhook connector",
        ":17: http.ack_key_file: ",
        ":20: audit.checkpoint_key_file: ",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s%s", path, want[i]);
        cr_assert(strstr(errors, line) != NULL, "wanted \"%s\" in:\n%s", line, errors);
    }
    cr_assert_eq(count_lines(errors), 6, "exactly the six problems:\n%s", errors);
    cr_assert_null(strstr(errors, "synthetic"), "a secret never appears: %s", errors);
    free(errors);
    free(path);
    free(ack);
    free(audit);
}

/* Keys the parser could not read do not set off checks of their own: a
 * recipient without a kind is not taken for a school, an element that is
 * not a group has no time zone to complain about. */
Test(config, a_key_that_could_not_be_read_gives_one_diagnostic_not_a_cascade)
{
    int r;
    char *errors = load_variant("{ id = \"la:831:mash\"; kind = \"mash\";", "{ id = \"la:831:mash\";",
                                &r);
    cr_assert_eq(r, -EINVAL);
    cr_assert(strstr(errors, ":13: recipients.[1].kind: is required") != NULL, "%s", errors);
    cr_assert_eq(count_lines(errors), 1, "%s", errors);
    free(errors);
    errors = load_variant("calendars = ( {", "calendars = ( 5, {", &r);
    cr_assert_eq(r, -EINVAL);
    cr_assert(strstr(errors, ":6: calendars.[0]: must be a group") != NULL, "%s", errors);
    cr_assert_eq(count_lines(errors), 1, "%s", errors);
    free(errors);
}
