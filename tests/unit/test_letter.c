/* The letter a person reads (decide/letter.h), against golden files.
 *
 * tests/golden/letters/payloads/NAME.json holds synthetic sdat.notification/1
 * payloads, a full and a minimal one per kind (built from the demo's
 * notifications, tests/fuzz/seeds/sdat.notification/); NAME.txt and
 * NAME.html beside them are the text and HTML parts, compared byte for
 * byte. After an intended change to the wording, regenerate them with
 *
 *     SDAT_UPDATE_GOLDEN=1 build/tests/test_letter --jobs 1
 *
 * (run from the top of the tree) and read the diff before committing it. */
#include <criterion/criterion.h>
#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"

#define GOLDEN "tests/golden/letters/"

static const char *const cases[] = {
    "da-incident-full",        "da-incident-minimal",        "da-incident-other-full",
    "da-incident-other-minimal", "da-incident-urgent-full",  "da-incident-urgent-minimal",
    "unmatched-child-full",    "unmatched-child-minimal",    "review-needed-full",
    "review-needed-minimal",   "cpis-access-full",           "cpis-access-minimal",
    "delivery-failed-full",    "delivery-failed-minimal",    "withdrawn-full",
    "withdrawn-minimal",
};

#define GUIDANCE                                                                                   \
    "Follow the Demo City Operation Encompass advice: tell the class teacher before 9:00 & note "  \
    "it on the child's file.\nCall the MASH on 01000 000000 if you are worried."

static const sdat_tz_t *london(void)
{
    const sdat_tz_t *tz = NULL;
    cr_assert_eq(sdat_tz_get("Europe/London", &tz), 0, "the system zone database");
    return tz;
}

static json_t *load(const char *name)
{
    char path[256];
    json_error_t err;
    snprintf(path, sizeof path, GOLDEN "payloads/%s.json", name);
    json_t *doc = json_load_file(path, 0, &err);
    cr_assert_not_null(doc, "%s: %s", path, err.text);
    return doc;
}

static const char *kind_of(const json_t *payload)
{
    const char *id = json_string_value(json_object_get(json_object_get(payload, "recipient"), "id"));
    if (strncmp(id, "school:", 7) == 0) {
        return "school";
    }
    const char *last = strrchr(id, ':');
    return last && strcmp(last, ":cpis") == 0 ? "cpis" : last && strcmp(last, ":ehe") == 0 ? "ehe" : "mash";
}

/* 2026-11-24T07:30:12Z: when the withdrawn notification was delivered. */
#define WITHDRAWS_SENT_MS INT64_C(1795505412000)

/* Full payloads get guidance, a public URL and (withdrawn) the earlier
 * notification's date, as the outbox looks it up; minimal ones none. */
static void render(const char *name, const json_t *payload, struct sdat_letter *letter)
{
    bool full = strstr(name, "-full") != NULL;
    struct sdat_letter_in in = {.payload = payload,
                                .recipient_kind = kind_of(payload),
                                .tz = london(),
                                .guidance = full ? GUIDANCE : NULL,
                                .public_url = full ? "https://sdat.demo.invalid/" : NULL,
                                .withdraws_sent_ms = full ? WITHDRAWS_SENT_MS : 0};
    cr_assert_eq(sdat_letter_render(&in, letter), 0, "%s", name);
}

/* The link-mode letters kept as golden files: LINK-KIND-full with a public
 * URL, LINK-KIND-minimal without one. */
static const struct {
    const char *name, *kind, *id, *recipient, *recipient_kind, *public_url;
} link_cases[] = {
    {"link-da-incident-full", "da-incident", "n_6074f3f86a2e87697070722b88091a19",
     "Demo Primary School", "school", "https://sdat.demo.invalid"},
    {"link-review-needed-minimal", "review-needed", "n_0000000000000000000000000000aa02",
     "Demo City MASH", "mash", NULL},
};

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        return NULL;
    }
    char *data = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&data, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
        fwrite(chunk, 1, n, m);
    }
    fclose(f);
    fclose(m);
    return data;
}

static void golden(const char *name, const char *ext, const char *got)
{
    char path[256];
    snprintf(path, sizeof path, GOLDEN "%s.%s", name, ext);
    if (getenv("SDAT_UPDATE_GOLDEN")) {
        FILE *f = fopen(path, "wb");
        cr_assert_not_null(f, "%s", path);
        fputs(got, f);
        cr_assert_eq(fclose(f), 0);
        return;
    }
    char *want = slurp(path);
    cr_expect_not_null(want, "%s is missing (SDAT_UPDATE_GOLDEN=1 writes it)", path);
    if (want) {
        cr_expect(strcmp(want, got) == 0, "%s differs from what was rendered:\n%s", path, got);
    }
    free(want);
}

Test(letter, golden_text_and_html_for_every_kind)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = load(cases[i]);
        struct sdat_letter letter;
        render(cases[i], p, &letter);
        golden(cases[i], "txt", letter.text);
        golden(cases[i], "html", letter.html);
        /* The console embeds the body: the email's content less its styles. */
        cr_expect_null(strstr(letter.body, "style="), "%s", cases[i]);
        char *unstyled = strdup(letter.html), *w = unstyled;
        for (const char *r = letter.html; *r;) {
            if (strncmp(r, " style=\"", 8) == 0) {
                r = strchr(r + 8, '"') + 1;
            } else if (strncmp(r, "<h1", 3) == 0 || strncmp(r, "<h2", 3) == 0 ||
                       strncmp(r, "</h1", 4) == 0 || strncmp(r, "</h2", 4) == 0) {
                /* h1 → h3, h2 → h4, as the console's copy has them */
                size_t skip = r[1] == '/' ? 3 : 2;
                memcpy(w, r, skip);
                w += skip;
                r += skip;
                *w++ = (char)(*r++ + 2);
            } else {
                *w++ = *r++;
            }
        }
        *w = '\0';
        cr_expect_not_null(strstr(unstyled, letter.body), "%s: body inside the document:\n%s",
                           cases[i], letter.body);
        free(unstyled);
        sdat_letter_free(&letter);
        json_decref(p);
    }
}

Test(letter, golden_link_mode_letters)
{
    for (size_t i = 0; i < sizeof link_cases / sizeof link_cases[0]; i++) {
        struct sdat_letter letter;
        cr_assert_eq(sdat_letter_link(link_cases[i].kind, link_cases[i].id,
                                      link_cases[i].recipient, link_cases[i].recipient_kind,
                                      link_cases[i].public_url, &letter),
                     0);
        golden(link_cases[i].name, "txt", letter.text);
        golden(link_cases[i].name, "html", letter.html);
        sdat_letter_free(&letter);
    }
}

Test(letter, fixtures_are_valid_notifications)
{
    sdat_schemas_t *schemas;
    char err[256];
    cr_assert_eq(sdat_schemas_new(&schemas, err, sizeof err), 0, "%s", err);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = load(cases[i]);
        struct sdat_validation v;
        cr_expect_eq(sdat_schemas_validate(schemas, p, NULL, &v), 0, "%s: %s: %s", cases[i],
                     v.n_errors ? v.errors[0].path : "", v.n_errors ? v.errors[0].message : "");
        json_decref(p);
    }
    sdat_schemas_free(schemas);
}

/* Every object key (recursively) that has an underscore. */
static void snake_keys(const json_t *v, const char **keys, size_t *n, size_t cap)
{
    const char *key;
    const json_t *member;
    size_t i;
    if (json_is_object(v)) {
        json_object_foreach((json_t *)v, key, member) {
            if (strchr(key, '_') && *n < cap) {
                keys[(*n)++] = key;
            }
            snake_keys(member, keys, n, cap);
        }
    } else if (json_is_array(v)) {
        json_array_foreach(v, i, member) {
            snake_keys(member, keys, n, cap);
        }
    }
}

static bool has_word(const char *text, const char *pattern)
{
    regex_t re;
    cr_assert_eq(regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB), 0);
    bool found = regexec(&re, text, 0, NULL, 0) == 0;
    regfree(&re);
    return found;
}

Test(letter, da_incident_text_reads_as_a_letter_not_json)
{
    const char *names[] = {"da-incident-full", "da-incident-minimal", "da-incident-other-full"};
    for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
        json_t *p = load(names[k]);
        struct sdat_letter letter;
        render(names[k], p, &letter);
        const char *t = letter.text;
        cr_expect_null(strpbrk(t, "{}[]"), "%s: JSON brackets in:\n%s", names[k], t);
        cr_expect_not(has_word(t, "(^|[^A-Za-z])(true|false|null)([^A-Za-z]|$)"),
                      "%s: JSON literal in:\n%s", names[k], t);
        cr_expect_not(has_word(t, "\"[a-z_]+\" *:"), "%s: a JSON member in:\n%s", names[k], t);
        const char *keys[64];
        size_t n = 0;
        snake_keys(p, keys, &n, 64);
        cr_assert_gt(n, 3, "the payload has snake_case keys to look for");
        for (size_t i = 0; i < n; i++) {
            cr_expect_null(strstr(t, keys[i]), "%s: field name %s in:\n%s", names[k], keys[i], t);
        }
        /* And it says what the spec's letter says. */
        cr_expect(has_word(t, "(Operation Encompass|Domestic abuse incident) notification for "),
                  "%s", t);
        cr_expect(has_word(t, "20 November 2026 at 22:14|21 November 2026 at 19:40"), "%s", t);
        sdat_letter_free(&letter);
        json_decref(p);
    }
}

Test(letter, school_letter_uses_the_deployment_zone_and_yes_no)
{
    json_t *p = load("da-incident-full");
    /* 22:14Z in June is 23:14 in London (BST). */
    json_object_set_new(json_object_get(p, "incident"), "occurred_at",
                        json_string("2026-06-20T22:14:00Z"));
    struct sdat_letter letter;
    render("da-incident-full", p, &letter);
    cr_expect_not_null(strstr(letter.text, "20 June 2026 at 23:14"), "%s", letter.text);
    cr_expect_not_null(strstr(letter.text, "Present:" "               yes\n"), "%s", letter.text);
    cr_expect_not_null(strstr(letter.text, "Born:" "                  12 April 2016\n"), "%s",
                       letter.text);
    sdat_letter_free(&letter);
    json_decref(p);
}

Test(letter, absent_fields_are_left_out)
{
    json_t *p = load("da-incident-minimal");
    struct sdat_letter letter;
    render("da-incident-minimal", p, &letter);
    cr_expect_null(strstr(letter.text, "Spoken to"), "%s", letter.text);
    cr_expect_null(strstr(letter.text, "Lives at the address"), "%s", letter.text);
    cr_expect_null(strstr(letter.text, "Acknowledge"), "%s", letter.text);
    cr_expect_not_null(strstr(letter.text, "Present:" "               no\n"), "%s", letter.text);
    sdat_letter_free(&letter);
    json_decref(p);
}

Test(letter, html_special_characters_in_values_are_escaped)
{
    json_t *p = load("da-incident-full");
    json_t *child = json_object_get(p, "child"), *incident = json_object_get(p, "incident");
    json_object_set_new(child, "given_name", json_string("<script>alert(\"x\")</script>"));
    json_object_set_new(incident, "voice", json_string("Tom & 'Jerry' <b>"));
    json_object_set_new(p, "ack_url", json_string("https://sdat.demo.invalid/ack/n?a=1&b=\"><img src=x>"));
    json_object_set_new(p, "lawful_basis", json_string("s11 <i>& more</i>"));
    struct sdat_letter_in in = {.payload = p, .recipient_kind = "school", .tz = london(),
                                .guidance = "Act <now> & \"today\"",
                                .recipient_name = "St <Mary> & 'All' School"};
    struct sdat_letter letter;
    cr_assert_eq(sdat_letter_render(&in, &letter), 0);
    const char *h = letter.html;
    cr_expect_null(strstr(h, "<script"), "%s", h);
    cr_expect_null(strstr(h, "<img"), "%s", h);
    cr_expect_null(strstr(h, "<b>"), "%s", h);
    cr_expect_null(strstr(h, "<i>"), "%s", h);
    cr_expect_null(strstr(h, "<now>"), "%s", h);
    cr_expect_null(strstr(h, "<Mary>"), "%s", h);
    cr_expect_not_null(strstr(h, "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"), "%s", h);
    cr_expect_not_null(strstr(h, "Tom &amp; &#39;Jerry&#39; &lt;b&gt;"), "%s", h);
    cr_expect_not_null(strstr(h, "href=\"https://sdat.demo.invalid/ack/n?a=1&amp;b=&quot;&gt;"
                                 "&lt;img src=x&gt;\""), "%s", h);
    cr_expect_not_null(strstr(h, "Act &lt;now&gt; &amp; &quot;today&quot;"), "%s", h);
    cr_expect_not_null(strstr(h, "St &lt;Mary&gt; &amp; &#39;All&#39; School"), "%s", h);
    cr_expect_not_null(strstr(h, "s11 &lt;i&gt;&amp; more&lt;/i&gt;"), "%s", h);
    /* The text part is plain text: the values as they are. */
    cr_expect_not_null(strstr(letter.text, "Tom & 'Jerry' <b>"), "%s", letter.text);
    sdat_letter_free(&letter);
    json_decref(p);
}

Test(letter, html_has_no_images_scripts_or_remote_resources)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = load(cases[i]);
        struct sdat_letter letter;
        render(cases[i], p, &letter);
        const char *h = letter.html;
        cr_expect_null(strstr(h, "<img"), "%s", cases[i]);
        cr_expect_null(strstr(h, "<script"), "%s", cases[i]);
        cr_expect_null(strstr(h, "<link"), "%s", cases[i]);
        cr_expect_null(strstr(h, "<style"), "%s", cases[i]);
        cr_expect_null(strstr(h, "src="), "%s", cases[i]);
        cr_expect_null(strstr(h, "url("), "%s", cases[i]);
        sdat_letter_free(&letter);
        json_decref(p);
    }
}

Test(letter, withdrawn_says_only_what_to_delete)
{
    json_t *p = load("withdrawn-full");
    struct sdat_letter letter;
    render("withdrawn-full", p, &letter);
    cr_expect_not_null(strstr(letter.text, "Notification n_6074f3f86a2e87697070722b88091a19 of 24 "
                                           "November 2026 at 07:30, which sdat sent to you "
                                           "earlier, was sent in error."),
                       "%s", letter.text);
    cr_expect_not_null(strstr(letter.text, "delete"), "%s", letter.text);
    /* Not the operator's reason, nor guidance or an acknowledgement link. */
    cr_expect_null(strstr(letter.text, "wrong school"), "%s", letter.text);
    cr_expect_null(strstr(letter.text, "What to do now"), "%s", letter.text);
    cr_expect_null(strstr(letter.text, "Acknowledge"), "%s", letter.text);
    sdat_letter_free(&letter);
    json_decref(p);
}

Test(letter, withdrawn_date_is_in_the_deployment_zone_and_left_out_when_unknown)
{
    json_t *p = load("withdrawn-minimal");
    const char *withdraws = json_string_value(json_object_get(p, "withdraws"));
    struct sdat_letter_in in = {.payload = p, .recipient_kind = "school", .tz = london(),
                                /* 2026-06-20T22:14:05Z, 23:14 in London (BST) */
                                .withdraws_sent_ms = INT64_C(1781993645000)};
    struct sdat_letter letter;
    char want[200];
    cr_assert_eq(sdat_letter_render(&in, &letter), 0);
    snprintf(want, sizeof want, "Notification %s of 20 June 2026 at 23:14, which sdat sent",
             withdraws);
    cr_expect_not_null(strstr(letter.text, want), "%s", letter.text);
    cr_expect_not_null(strstr(letter.html, want), "%s", letter.html);
    sdat_letter_free(&letter);

    in.withdraws_sent_ms = 0;
    cr_assert_eq(sdat_letter_render(&in, &letter), 0);
    snprintf(want, sizeof want, "Notification %s, which sdat sent to you earlier", withdraws);
    cr_expect_not_null(strstr(letter.text, want), "%s", letter.text);
    cr_expect_null(strstr(letter.text, " of "), "no date when it is not known:\n%s", letter.text);
    sdat_letter_free(&letter);
    json_decref(p);
}

static const char *const kind_tokens[] = {"da-incident", "da-incident-urgent", "unmatched-child",
                                          "review-needed", "cpis-access", "delivery-failed"};

/* "withdrawn" is an English word as well as a kind: only the hyphenated
 * tokens, and "withdrawn" where the text has it as a label's value. */
static void expect_no_kind_token(const char *what, const char *s)
{
    for (size_t k = 0; k < sizeof kind_tokens / sizeof kind_tokens[0]; k++) {
        cr_expect_null(strstr(s, kind_tokens[k]), "%s shows the kind token %s:\n%s", what,
                       kind_tokens[k], s);
    }
    cr_expect_null(strstr(s, ":                  withdrawn\n"), "%s:\n%s", what, s);
}

Test(letter, every_letter_names_the_kind_by_its_title_never_its_token)
{
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *p = load(cases[i]);
        struct sdat_letter letter;
        render(cases[i], p, &letter);
        expect_no_kind_token(cases[i], letter.text);
        expect_no_kind_token(cases[i], letter.html);
        sdat_letter_free(&letter);
        json_decref(p);
    }
    static const char *const kinds[] = {"da-incident",   "da-incident-urgent", "unmatched-child",
                                        "review-needed", "cpis-access",        "delivery-failed",
                                        "withdrawn"};
    static const char *const titles[] = {
        "Domestic abuse incident notification for Demo City MASH\n",
        "Urgent domestic abuse incident notification for Demo City MASH\n",
        "Unmatched child notification for Demo City MASH\n",
        "Match to review for Demo City MASH\n",
        "CP-IS notification for Demo City MASH\n",
        "Delivery failure notification for Demo City MASH\n",
        "Notification withdrawn for Demo City MASH\n"};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct sdat_letter letter;
        cr_assert_eq(sdat_letter_link(kinds[i], "n_0000000000000000000000000000aa02",
                                      "Demo City MASH", "mash", "https://sdat.demo.invalid",
                                      &letter),
                     0);
        cr_expect(strncmp(letter.text, titles[i], strlen(titles[i])) == 0, "%s:\n%s", kinds[i],
                  letter.text);
        expect_no_kind_token(kinds[i], letter.text);
        expect_no_kind_token(kinds[i], letter.html);
        sdat_letter_free(&letter);
    }
    /* The failed notification of a delivery-failed letter, by its title. */
    json_t *p = load("delivery-failed-full");
    struct sdat_letter letter;
    render("delivery-failed-full", p, &letter);
    cr_expect_not_null(strstr(letter.text, "Kind:                  Operation Encompass "
                                           "notification\n"),
                       "%s", letter.text);
    sdat_letter_free(&letter);
    json_decref(p);
}

Test(letter, decisions_link_to_the_console)
{
    struct {
        const char *name, *url;
    } want[] = {
        {"review-needed-full", "https://sdat.demo.invalid/console/reviews/r_0000000000000000000000000000000a"},
        {"unmatched-child-full", "https://sdat.demo.invalid/console/notifications/n_fd7c5d5e25ac81337d33a14f8432ac0e"},
        {"delivery-failed-full", "https://sdat.demo.invalid/console/notifications/n_6074f3f86a2e87697070722b88091a19"},
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        json_t *p = load(want[i].name);
        struct sdat_letter letter;
        render(want[i].name, p, &letter);
        cr_expect_not_null(strstr(letter.text, want[i].url), "%s:\n%s", want[i].name, letter.text);
        cr_expect_not_null(strstr(letter.html, want[i].url), "%s", want[i].name);
        sdat_letter_free(&letter);
        json_decref(p);
    }
}

Test(letter, link_mode_letter_holds_only_kind_recipient_and_url)
{
    struct sdat_letter letter;
    cr_assert_eq(sdat_letter_link("da-incident", "n_6074f3f86a2e87697070722b88091a19",
                                  "Demo Primary School", "school", "https://sdat.demo.invalid",
                                  &letter),
                 0);
    cr_expect_not_null(strstr(letter.text, "Operation Encompass notification for Demo Primary "
                                           "School\n"),
                       "%s", letter.text);
    cr_expect_not_null(strstr(letter.text, "waiting for you in the sdat console"), "%s",
                       letter.text);
    cr_expect_not_null(strstr(letter.text, "https://sdat.demo.invalid/console/notifications/"
                                           "n_6074f3f86a2e87697070722b88091a19\n"),
                       "%s", letter.text);
    cr_expect_not_null(strstr(letter.html, "href=\"https://sdat.demo.invalid/console/"
                                           "notifications/n_6074f3f86a2e87697070722b88091a19\""),
                       "%s", letter.html);
    sdat_letter_free(&letter);
}

Test(letter, unknown_kind_is_refused)
{
    json_t *p = json_pack("{s:s}", "kind", "something-else");
    struct sdat_letter letter;
    struct sdat_letter_in in = {.payload = p};
    cr_expect_eq(sdat_letter_render(&in, &letter), -EINVAL);
    json_decref(p);
}
