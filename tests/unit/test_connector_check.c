/* A connector's check of its recipient's keys (outbox/connector.h, ABI 4):
 * every problem it finds is reported, each at its own key's line, in the
 * same pass as the core's checks (sdatd -t, issue 25); a connector written
 * for ABI 3 still has its one problem placed at its key; init still refuses
 * with the first problem. */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fixture.h"
#include "outbox/connector.h"

static char dir[64];

static void setup(void)
{
    fixture_dir_make(dir, sizeof dir, "conncheck");
}

static void teardown(void)
{
    fixture_dir_remove(dir);
}

TestSuite(connector_check, .init = setup, .fini = teardown);

/* Lines 1 to 9; recipients start at line 10. */
static const char head[] =
    "state_dir = \"/tmp/sdat-state\";\n"                                     /* 1 */
    "lawful_basis = { da_incident = \"a\"; da_incident_urgent = \"b\";\n"    /* 2 */
    "  unmatched_child = \"c\"; review_needed = \"d\"; cpis_access = \"e\";\n"/* 3 */
    "  delivery_failed = \"f\"; withdrawn = \"g\"; };\n"                     /* 4 */
    "kafka = { embedded = true; };\n"                                        /* 5 */
    "areas = ( { la_code = \"831\"; name = \"A\"; postcode_districts = [ \"DE22\" ];\n" /* 6 */
    "            mash = \"la:831:mash\"; } );\n"                              /* 7 */
    "forces = ( { id = \"derbyshire\"; default_area = \"831\"; } );\n"       /* 8 */
    "recipients = (\n";                                                      /* 9 */

/* Loads head + recipients (+ tail) as sdatd -t does; returns the problems
 * (the caller frees them), or fails when the configuration passed. */
static char *check_config(const char *recipients, const char *tail, char *path, size_t size)
{
    snprintf(path, size, "%s/sdatd.conf", dir);
    fixture_write(dir, "sdatd.conf", "%s%s);\n%s", head, recipients, tail ? tail : "");
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load_checked(path, sdat_connector_key_tables(), sdat_connector_check,
                                          &cfg, &errors),
                 -EINVAL);
    cr_assert_null(cfg);
    cr_assert_not_null(errors);
    return errors;
}

static int count_lines(const char *text)
{
    int n = 0;
    for (const char *p = text; *p; p++) {
        n += *p == '\n';
    }
    return n;
}

/* Each of want's lines, prefixed with path, is in errors; and nothing else. */
static void expect_exactly(const char *errors, const char *path, const char *const *want,
                           int n_want)
{
    for (int i = 0; i < n_want; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s%s\n", path, want[i]);
        cr_assert(strstr(errors, line) != NULL, "wanted \"%s\" in:\n%s", line, errors);
    }
    cr_assert_eq(count_lines(errors), n_want, "exactly %d problems:\n%s", n_want, errors);
}

Test(connector_check, a_webhook_recipients_problems_are_all_reported_each_at_its_keys_line)
{
    fixture_write(dir, "secret", "synthetic-webhook-secret\n");
    fixture_write(dir, "cert.pem", "synthetic certificate\n");
    char secret[128], cert[128], recipients[2048], path[128];
    snprintf(secret, sizeof secret, "%s/secret", dir);
    snprintf(cert, sizeof cert, "%s/cert.pem", dir);
    cr_assert_eq(chmod(secret, 0644), 0);
    snprintf(recipients, sizeof recipients,
             "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"M\";\n" /* 10 */
             "    connector = \"webhook\";\n"                                            /* 11 */
             "    url = \"http://mash.example.org/hook\";\n"                             /* 12 */
             "    secret_file = \"%s\";\n"                                               /* 13 */
             "    client_cert = \"%s\";\n"                                               /* 14 */
             "    timeout = 0;\n"                                                        /* 15 */
             "    ca_file = \"%s/no-such-ca.pem\"; }\n",                                 /* 16 */
             secret, cert, dir);
    char *errors = check_config(recipients, NULL, path, sizeof path);
    char mode[256], ca[256];
    snprintf(mode, sizeof mode,
             ":13: recipients.[0].secret_file: \"%s\" is readable by group or others (chmod 600)",
             secret);
    snprintf(ca, sizeof ca,
             ":16: recipients.[0].ca_file: \"%s/no-such-ca.pem\" does not exist or cannot be read",
             dir);
    /* The parser's range check (timeout), the core's file checks and the
     * connector's own checks (url, client_key) in one pass. client_key is
     * not in the file: at its recipient's line. */
    const char *want[] = {
        ":12: recipients.[0].url: must be an https:// URL",
        mode,
        ":10: recipients.[0].client_key: is required with client_cert",
        ":15: recipients.[0].timeout: ",
        ca,
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char line[512];
        snprintf(line, sizeof line, "%s%s", path, want[i]);
        cr_assert(strstr(errors, line) != NULL, "wanted \"%s\" in:\n%s", line, errors);
    }
    cr_assert_eq(count_lines(errors), 5, "exactly the five problems:\n%s", errors);
    cr_assert_null(strstr(errors, "synthetic"), "a secret never appears: %s", errors);
    free(errors);
}

Test(connector_check, an_smtp_recipients_problems_are_all_reported_each_at_its_keys_line)
{
    char path[128];
    char *errors = check_config(
        "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"M\";\n" /* 10 */
        "    connector = \"smtp\";\n"                                               /* 11 */
        "    url = \"http://mail.example.org\";\n"                                   /* 12 */
        "    from = \"nobody\";\n"                                                   /* 13 */
        "    to = [ \"mash@example.org\", \"not an address\" ];\n"                   /* 14 */
        "    content = \"summary\";\n"                                               /* 15 */
        "    username = \"sdat\"; }\n",                                              /* 16 */
        NULL, path, sizeof path);
    const char *const want[] = {
        ":12: recipients.[0].url: must be smtp:// (STARTTLS) or smtps://",
        ":13: recipients.[0].from: \"nobody\" is not an address (local@domain, ASCII)",
        ":14: recipients.[0].to: \"not an address\" is not an address (local@domain, ASCII)",
        ":15: recipients.[0].content: \"summary\" is not full or link",
        ":10: recipients.[0].password_file: is required with username",
    };
    expect_exactly(errors, path, want, 5);
    free(errors);
}

/* The connector's problems and the core's across keys (a dangling
 * reference) together: neither hides the other, and two recipients' are
 * kept apart. */
Test(connector_check, connector_problems_and_a_dangling_reference_come_in_one_pass)
{
    char path[128];
    char *errors = check_config(
        "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"M\";\n" /* 10 */
        "    connector = \"webhook\"; url = \"http://mash.example.org/hook\"; },\n"     /* 11 */
        "  { id = \"la:831:ehe\"; kind = \"ehe\"; la_code = \"999\"; name = \"E\";\n"    /* 12 */
        "    connector = \"kafka\";\n"                                                 /* 13 */
        "    topic = \"..\"; }\n",                                                     /* 14 */
        NULL, path, sizeof path);
    const char *const want[] = {
        ":11: recipients.[0].url: must be an https:// URL",
        ":10: recipients.[0].secret_file: is required for the webhook connector",
        ":12: recipients.[1].la_code: area \"999\" does not exist",
        ":14: recipients.[1].topic: \"..\" is not a valid Kafka topic name ([A-Za-z0-9._-], 1 "
        "to 249 characters, not \".\" or \"..\")",
    };
    expect_exactly(errors, path, want, 4);
    free(errors);
}

/* A check that refuses without reporting still fails the configuration. */
static int silent_refusal(const struct sdat_recipient *r, sdat_key_report_fn report, void *opaque)
{
    (void)r;
    (void)report;
    (void)opaque;
    return -EINVAL;
}

Test(connector_check, a_refusal_without_a_report_still_fails_the_configuration)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sdatd.conf", dir);
    fixture_write(dir, "sdatd.conf",
                  "%s"
                  "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"M\";\n"
                  "    connector = \"file\"; directory = \"%s\"; }\n"
                  ");\n",
                  head, dir);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    cr_assert_eq(sdat_config_load_checked(path, sdat_connector_key_tables(), silent_refusal, &cfg,
                                          &errors),
                 -EINVAL);
    char want[256];
    snprintf(want, sizeof want,
             "%s:11: recipients.[0].connector: connector \"file\" refused the recipient without "
             "saying why\n",
             path);
    cr_assert_str_eq(errors, want);
    free(errors);
}

/* What a report receives, for the tests of the contract itself. */
struct reports {
    char text[1024];
    int count;
};

__attribute__((format(printf, 3, 4))) static void collect(void *opaque, const char *key,
                                                          const char *format, ...)
{
    struct reports *rep = opaque;
    size_t len = strlen(rep->text);
    char message[256];
    va_list ap;
    va_start(ap, format);
    vsnprintf(message, sizeof message, format, ap);
    va_end(ap);
    snprintf(rep->text + len, sizeof rep->text - len, "%s|%s\n", key ? key : "(none)", message);
    rep->count++;
}

static int abi3_check(const struct sdat_connector_recipient *recipient, char *err, size_t errlen)
{
    (void)recipient;
    snprintf(err, errlen, "endpoint: \"x\" is not a URL");
    return -EINVAL;
}

static int abi3_check_unkeyed(const struct sdat_connector_recipient *recipient, char *err,
                              size_t errlen)
{
    (void)recipient;
    snprintf(err, errlen, "the recipient is not valid");
    return -EINVAL;
}

static int never_called(const struct sdat_connector_recipient *recipient,
                        sdat_key_report_fn report, void *opaque)
{
    (void)recipient;
    (void)report;
    (void)opaque;
    cr_assert_fail("a core read check_keys from a connector of ABI 3");
    return -EINVAL;
}

static int two_problems(const struct sdat_connector_recipient *recipient,
                        sdat_key_report_fn report, void *opaque)
{
    (void)recipient;
    report(opaque, "endpoint", "must be https");
    report(opaque, NULL, "has %d problems", 2);
    return -EINVAL;
}

static int abi3_refuses(const struct sdat_connector_recipient *recipient, char *err, size_t errlen)
{
    (void)recipient;
    snprintf(err, errlen, "old: called");
    return -EINVAL;
}

Test(connector_check, a_connector_of_abi_3_has_its_one_problem_placed_at_its_key)
{
    int dummy = 0;
    struct sdat_recipient r = {.id = "la:831:mash", .connector = "old", .connector_conf = &dummy};
    /* check_keys lies beyond ABI 3's struct: never read. */
    struct sdat_connector_ops old = {
        .abi = 3, .name = "old", .check = abi3_check, .check_keys = never_called};
    struct reports rep = {.count = 0};
    cr_assert_eq(sdat_connector_check_ops(&old, &r, collect, &rep), -EINVAL);
    cr_assert_str_eq(rep.text, "endpoint|\"x\" is not a URL\n");

    struct sdat_connector_ops unkeyed = {.abi = 3, .name = "old", .check = abi3_check_unkeyed};
    rep = (struct reports){.count = 0};
    cr_assert_eq(sdat_connector_check_ops(&unkeyed, &r, collect, &rep), -EINVAL);
    cr_assert_str_eq(rep.text, "(none)|the recipient is not valid\n");
}

Test(connector_check, a_connector_of_abi_4_is_asked_through_check_keys_only)
{
    int dummy = 0;
    struct sdat_recipient r = {.id = "la:831:mash", .connector = "new", .connector_conf = &dummy};
    struct sdat_connector_ops ops = {
        .abi = 4, .name = "new", .check = abi3_refuses, .check_keys = two_problems};
    struct reports rep = {.count = 0};
    cr_assert_eq(sdat_connector_check_ops(&ops, &r, collect, &rep), -EINVAL);
    cr_assert_str_eq(rep.text, "endpoint|must be https\n(none)|has 2 problems\n");

    struct sdat_connector_ops nothing = {.abi = 4, .name = "new", .check = abi3_refuses};
    rep = (struct reports){.count = 0};
    cr_assert_eq(sdat_connector_check_ops(&nothing, &r, collect, &rep), 0);
    cr_assert_eq(rep.count, 0);
}

/* The built-in connectors are of the current ABI and fill check_keys, not
 * the superseded check. */
Test(connector_check, every_built_in_connector_checks_through_check_keys)
{
    const char *const names[] = {"file", "webhook", "smtp", "kafka"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        const struct sdat_connector_ops *ops = sdat_connector_find(names[i]);
        cr_assert_not_null(ops, "%s", names[i]);
        cr_assert_eq(ops->abi, SDAT_CONNECTOR_ABI, "%s", names[i]);
        cr_assert_not_null(ops->check_keys, "%s", names[i]);
        cr_assert_null(ops->check, "%s", names[i]);
    }
}

Test(connector_check, report_first_keeps_the_first_problem_and_counts_them_all)
{
    char err[64] = "";
    struct sdat_key_first first = {.err = err, .errlen = sizeof err};
    sdat_key_report_first(&first, "url", "must be an %s URL", "https://");
    sdat_key_report_first(&first, "timeout", "must be more than 0");
    cr_assert_str_eq(err, "url: must be an https:// URL");
    cr_assert_eq(first.count, 2);

    char small[8] = "";
    first = (struct sdat_key_first){.err = small, .errlen = sizeof small};
    sdat_key_report_first(&first, NULL, "a long message, cut");
    cr_assert_str_eq(small, "a long ");
}

/* init refuses a recipient its check refuses, with the first problem as
 * "KEY: MESSAGE" (the outbox logs it). */
Test(connector_check, init_refuses_with_the_first_problem)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sdatd.conf", dir);
    fixture_write(dir, "sdatd.conf",
                  "%s"
                  "  { id = \"la:831:mash\"; kind = \"mash\"; la_code = \"831\"; name = \"M\";\n"
                  "    connector = \"webhook\"; url = \"http://mash.example.org/hook\"; }\n"
                  ");\n",
                  head);
    struct sdat_config *cfg = NULL;
    char *errors = NULL;
    /* Loaded without the connectors' checks, as a test harness may. */
    cr_assert_eq(sdat_config_load(path, sdat_connector_key_tables(), &cfg, &errors), 0, "%s",
                 errors ? errors : "");
    const struct sdat_recipient *r = sdat_config_recipient(cfg, "la:831:mash");
    cr_assert_not_null(r);
    const struct sdat_connector_ops *ops = sdat_connector_find("webhook");
    struct sdat_connector_recipient cr = sdat_connector_recipient_of(r);
    struct sdat_connector_env env = {.user_agent = "sdatd/test"};
    void *ctx = NULL;
    char err[256] = "";
    cr_assert_eq(ops->init(&env, &cr, &ctx, err, sizeof err), -EINVAL);
    cr_assert_null(ctx);
    cr_assert_str_eq(err, "url: must be an https:// URL");
    sdat_config_free(cfg);
}
