/* Name comparison (names.h). Jaro-Winkler expectations are the published
 * reference values from Winkler's papers and the Wikipedia worked examples;
 * Soundex expectations are the National Archives' examples. */
#include <criterion/criterion.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide/decide.h"
#include "engine/engine.h"

#define NICKNAMES_PATH "config/nicknames.txt"

static void assert_jw(const char *a, const char *b, double expected)
{
    double got = sdat_jaro_winkler(a, b);
    cr_assert(fabs(got - expected) < 0.00005, "jw(%s, %s) = %.6f, expected %.4f", a, b, got,
              expected);
}

Test(names, jaro_winkler_matches_published_reference_values)
{
    assert_jw("martha", "marhta", 0.9611);
    assert_jw("dwayne", "duane", 0.8400);
    assert_jw("dixon", "dicksonx", 0.8133);
    assert_jw("jellyfish", "smellyfish", 0.8963);
}

Test(names, jaro_winkler_is_symmetric_on_reference_pairs)
{
    assert_jw("marhta", "martha", 0.9611);
    assert_jw("duane", "dwayne", 0.8400);
    assert_jw("dicksonx", "dixon", 0.8133);
}

/* Worked by hand: 5 of 6 letters match in order, so Jaro = 8/9; the common
 * prefix is five letters but only four earn the bonus: 8/9 + 4 * 0.1 / 9. */
Test(names, jaro_winkler_prefix_bonus_stops_at_four_characters)
{
    assert_jw("abcdef", "abcdeg", 0.9333);
}

Test(names, jaro_winkler_is_one_for_identical_and_zero_for_empty_or_disjoint)
{
    cr_assert_eq(sdat_jaro_winkler("william", "william"), 1.0);
    cr_assert_eq(sdat_jaro_winkler("", "william"), 0.0);
    cr_assert_eq(sdat_jaro_winkler("william", ""), 0.0);
    cr_assert_eq(sdat_jaro_winkler("", ""), 0.0);
    cr_assert_eq(sdat_jaro_winkler("abc", "xyz"), 0.0);
}

Test(names, jaro_winkler_handles_names_longer_than_the_stack_buffer)
{
    char a[301], b[301];
    memset(a, 'a', 300);
    a[300] = '\0';
    memcpy(b, a, sizeof b);
    b[299] = 'b';
    double got = sdat_jaro_winkler(a, b);
    cr_assert(got > 0.99 && got < 1.0, "got %.6f", got);
}

static void assert_soundex(const char *name, const char *expected)
{
    char code[5];
    memset(code, 'x', sizeof code);
    sdat_name_soundex(name, code);
    cr_assert_str_eq(code, expected, "soundex(%s)", name);
}

Test(names, soundex_matches_american_soundex_examples)
{
    assert_soundex("robert", "R163");
    assert_soundex("rupert", "R163");
    assert_soundex("rubin", "R150");
    assert_soundex("ashcraft", "A261");
    assert_soundex("tymczak", "T522");
    assert_soundex("pfister", "P236");
    assert_soundex("honeyman", "H555");
}

Test(names, soundex_pads_short_names_and_is_empty_for_an_empty_name)
{
    assert_soundex("lee", "L000");
    assert_soundex("", "");
}

static void assert_normalised(const char *in, const char *expected)
{
    char out[64];
    memset(out, 'x', sizeof out);
    size_t n = sdat_name_normalise(in, out, sizeof out);
    cr_assert_str_eq(out, expected, "normalise(%s)", in);
    cr_assert_eq(n, strlen(expected));
}

Test(names, normalise_drops_punctuation_spaces_and_folds_accents)
{
    assert_normalised("O'Brien-Smith", "obriensmith");
    assert_normalised("Zo\xc3\xab", "zoe"); /* Zoë */
    assert_normalised("  Anne Marie ", "annemarie");
    assert_normalised("O\xe2\x80\x99Neill", "oneill"); /* O’Neill */
    assert_normalised("Fran\xc3\xa7ois", "francois");  /* François */
    assert_normalised("Gro\xc3\x9f", "gross");         /* Groß */
    assert_normalised("\xc5\x81ukasz", "lukasz");      /* Łukasz */
    assert_normalised("J.R. 2nd", "jrnd");
    assert_normalised("Ana\xe2\x82\xacMaria\xff", "anamaria"); /* euro sign, stray byte */
}

Test(names, normalise_truncates_and_always_terminates)
{
    char out[4];
    cr_assert_eq(sdat_name_normalise("Elizabeth", out, sizeof out), 3);
    cr_assert_str_eq(out, "eli");
    char one[1] = {'x'};
    cr_assert_eq(sdat_name_normalise("Elizabeth", one, sizeof one), 0);
    cr_assert_eq(one[0], '\0');
}

static sdat_nicknames_t *load_real_list(void)
{
    sdat_nicknames_t *nicknames = NULL;
    char err[256] = "";
    int r = sdat_nicknames_load(NICKNAMES_PATH, &nicknames, err, sizeof err);
    cr_assert_eq(r, 0, "load: %s", err);
    cr_assert_not_null(nicknames);
    return nicknames;
}

Test(names, nickname_list_has_at_least_300_groups)
{
    sdat_nicknames_t *nicknames = load_real_list();
    cr_assert_geq(sdat_nicknames_count(nicknames), 300);
    sdat_nicknames_free(nicknames);
}

Test(names, nicknames_in_one_group_are_equivalent_both_ways)
{
    sdat_nicknames_t *nicknames = load_real_list();
    cr_assert(sdat_nicknames_equivalent(nicknames, "bill", "william"));
    cr_assert(sdat_nicknames_equivalent(nicknames, "william", "bill"));
    cr_assert(sdat_nicknames_equivalent(nicknames, "bill", "billy"));
    cr_assert(sdat_nicknames_equivalent(nicknames, "kate", "katherine"));
    cr_assert(sdat_nicknames_equivalent(nicknames, "muhammad", "mohammed"));
    sdat_nicknames_free(nicknames);
}

Test(names, a_name_in_two_groups_matches_both_but_groups_do_not_chain)
{
    sdat_nicknames_t *nicknames = load_real_list();
    cr_assert(sdat_nicknames_equivalent(nicknames, "alex", "alexander"));
    cr_assert(sdat_nicknames_equivalent(nicknames, "alex", "alexandra"));
    cr_assert_not(sdat_nicknames_equivalent(nicknames, "alexander", "alexandra"));
    sdat_nicknames_free(nicknames);
}

/* Every name of every group is found (the list's index of names) and is
 * equivalent to the group's first name. */
Test(names, every_name_of_the_real_list_is_found_in_its_group)
{
    sdat_nicknames_t *nicknames = load_real_list();
    FILE *f = fopen(NICKNAMES_PATH, "r");
    cr_assert_not_null(f);
    char line[512];
    size_t checked = 0;
    while (fgets(line, sizeof line, f)) {
        char *save = NULL, *first = strtok_r(line, " \t\r\n", &save);
        if (!first || first[0] == '#') {
            continue;
        }
        for (char *w = strtok_r(NULL, " \t\r\n", &save); w; w = strtok_r(NULL, " \t\r\n", &save)) {
            cr_assert(sdat_nicknames_equivalent(nicknames, first, w), "%s ~ %s", first, w);
            cr_assert(sdat_nicknames_equivalent(nicknames, w, first), "%s ~ %s", w, first);
            checked++;
        }
    }
    fclose(f);
    cr_assert_geq(checked, 800, "only %zu names checked", checked);
    sdat_nicknames_free(nicknames);
}

Test(names, an_empty_list_makes_nothing_equivalent)
{
    sdat_nicknames_t *nicknames = NULL;
    char err[128] = "";
    cr_assert_eq(sdat_nicknames_parse("# none\n", 7, &nicknames, err, sizeof err), 0, "%s", err);
    cr_assert_not(sdat_nicknames_equivalent(nicknames, "bill", "william"));
    sdat_nicknames_free(nicknames);
}

Test(names, unrelated_unknown_and_equal_names_are_not_equivalent)
{
    sdat_nicknames_t *nicknames = load_real_list();
    cr_assert_not(sdat_nicknames_equivalent(nicknames, "kate", "william"));
    cr_assert_not(sdat_nicknames_equivalent(nicknames, "zzyzx", "william"));
    cr_assert_not(sdat_nicknames_equivalent(nicknames, "zzyzx", "qqqq"));
    cr_assert_not(sdat_nicknames_equivalent(nicknames, "william", "william"));
    cr_assert_not(sdat_nicknames_equivalent(NULL, "bill", "william"));
    sdat_nicknames_free(nicknames);
}

Test(names, parse_skips_comments_blank_lines_and_crlf)
{
    const char text[] = "# header\n\n  # indented comment\nwilliam bill\r\nkate katie\n   \n";
    sdat_nicknames_t *nicknames = NULL;
    char err[128] = "";
    cr_assert_eq(sdat_nicknames_parse(text, sizeof text - 1, &nicknames, err, sizeof err), 0, "%s",
                 err);
    cr_assert_eq(sdat_nicknames_count(nicknames), 2);
    cr_assert(sdat_nicknames_equivalent(nicknames, "bill", "william"));
    cr_assert(sdat_nicknames_equivalent(nicknames, "katie", "kate"));
    sdat_nicknames_free(nicknames);
}

static void assert_parse_error(const char *text, const char *expected_prefix)
{
    sdat_nicknames_t *nicknames = (sdat_nicknames_t *)0x1;
    char err[256] = "";
    int r = sdat_nicknames_parse(text, strlen(text), &nicknames, err, sizeof err);
    cr_assert_eq(r, -EINVAL, "parse returned %d for \"%s\"", r, text);
    cr_assert_eq(nicknames, (sdat_nicknames_t *)0x1, "ret_nicknames touched on failure");
    cr_assert_eq(strncmp(err, expected_prefix, strlen(expected_prefix)), 0,
                 "err \"%s\" does not start with \"%s\"", err, expected_prefix);
}

Test(names, parse_rejects_upper_case_and_digits_naming_the_line)
{
    assert_parse_error("# list\nwilliam bill\nKate katie\n", "3: upper-case letter 'K'");
    assert_parse_error("william bill\n\nkate katie2\n", "3: digit '2'");
}

Test(names, parse_rejects_bad_spacing_single_names_and_repeats)
{
    assert_parse_error("william  bill\n", "1: ");
    assert_parse_error("william bill \n", "1: ");
    assert_parse_error(" william bill\n", "1: ");
    assert_parse_error("william\tbill\n", "1: unexpected byte 0x09");
    assert_parse_error("william bill\nkate\n", "2: a group needs at least two names");
    assert_parse_error("william bill will bill\n", "1: name \"bill\" appears twice");
}

Test(names, load_prefixes_errors_with_the_path)
{
    sdat_nicknames_t *nicknames = NULL;
    char err[256] = "";
    cr_assert_eq(sdat_nicknames_load("build/no-such-nicknames.txt", &nicknames, err, sizeof err),
                 -ENOENT);
    cr_assert_null(nicknames);
    cr_assert_str_eq(err, "build/no-such-nicknames.txt: No such file or directory");

    char path[] = "/tmp/sdat-test-names-XXXXXX";
    int fd = mkstemp(path);
    cr_assert_geq(fd, 0);
    FILE *f = fdopen(fd, "w");
    cr_assert_not_null(f);
    fputs("william bill\nBill billy\n", f);
    fclose(f);
    int r = sdat_nicknames_load(path, &nicknames, err, sizeof err);
    remove(path);
    cr_assert_eq(r, -EINVAL);
    char expected[128];
    snprintf(expected, sizeof expected, "%s:2: upper-case letter", path);
    cr_assert_eq(strncmp(err, expected, strlen(expected)), 0, "err \"%s\"", err);
}

Test(names, free_accepts_null)
{
    sdat_nicknames_free(NULL);
    cr_assert_eq(sdat_nicknames_count(NULL), 0);
}
