#include <criterion/criterion.h>
#include <string.h>

#include "decide/decide.h"

Test(formats, nhs_number_check_digit)
{
    cr_assert(sdat_format_nhs_number("9434765919"));
    cr_assert_not(sdat_format_nhs_number("9434765918"));
    cr_assert_not(sdat_format_nhs_number("943476591"));
    cr_assert_not(sdat_format_nhs_number("943 476 5919"));
    /* Body 100000006: sum 22, 11 - 0 = 11 → check digit 0. */
    cr_assert(sdat_format_nhs_number("1000000060"));
    /* Body 100000001: sum 12, 11 - 1 = 10 → no check digit is valid. */
    for (char d = '0'; d <= '9'; d++) {
        char s[11] = "100000001";
        s[9] = d;
        s[10] = '\0';
        cr_assert_not(sdat_format_nhs_number(s), "%s", s);
    }
}

Test(formats, upn_check_letter_including_the_corrected_worked_example)
{
    cr_assert(sdat_format_upn("B801200005001"));
    cr_assert(sdat_format_upn("P207000016049"));
    cr_assert_not(sdat_format_upn("B207000016049"));
    cr_assert_not(sdat_format_upn("Q207000016049"));
    cr_assert_not(sdat_format_upn("I801200005001")); /* I is not a check letter */
    cr_assert_not(sdat_format_upn("B80120000500"));
}

Test(formats, temporary_upn_letter_counts_at_its_index)
{
    /* Body 83120002500 + 'A' (index 0): sum = Σ digit×pos over 2..12, 'A' adds 0. */
    const char *body = "83120002500";
    int sum = 0;
    for (int pos = 2; pos <= 12; pos++) {
        sum += (body[pos - 2] - '0') * pos;
    }
    char upn[14];
    upn[0] = "ABCDEFGHJKLMNPQRTUVWXYZ"[sum % 23];
    memcpy(upn + 1, body, 11);
    upn[12] = 'A';
    upn[13] = '\0';
    cr_assert(sdat_format_upn(upn), "%s", upn);
    upn[12] = 'I'; /* not in the list */
    cr_assert_not(sdat_format_upn(upn));
}

Test(formats, dates_are_real_calendar_dates)
{
    cr_assert(sdat_format_date("2024-02-29"));
    cr_assert_not(sdat_format_date("2026-02-29"));
    cr_assert_not(sdat_format_date("2026-02-30"));
    cr_assert_not(sdat_format_date("2026-13-01"));
    cr_assert_not(sdat_format_date("2026-1-01"));
    cr_assert(sdat_format_date("2000-02-29"));
    cr_assert_not(sdat_format_date("1900-02-29"));
}

Test(formats, date_times_need_an_offset)
{
    int64_t ms;
    cr_assert_eq(sdat_datetime_parse("2026-11-20T22:14:00Z", &ms), 0);
    cr_assert_eq(ms, 1795212840000LL);
    cr_assert_eq(sdat_datetime_parse("2026-11-20T23:14:00+01:00", &ms), 0);
    cr_assert_eq(ms, 1795212840000LL);
    cr_assert_eq(sdat_datetime_parse("2026-11-20T22:14:00.5Z", &ms), 0);
    cr_assert_eq(ms, 1795212840500LL);
    cr_assert_not(sdat_format_datetime("2026-11-20T22:14:00"));
    cr_assert_not(sdat_format_datetime("2026-11-20 22:14:00Z"));
    cr_assert_not(sdat_format_datetime("2026-11-20T24:00:00Z"));
    cr_assert_not(sdat_format_datetime("2026-02-30T10:00:00Z"));
}

Test(formats, postcodes_any_case_with_or_without_the_space)
{
    char out[16];
    cr_assert_eq(sdat_postcode_normalise("de22 3xy", out, sizeof out), 0);
    cr_assert_str_eq(out, "DE22 3XY");
    cr_assert_eq(sdat_postcode_normalise("DE223XY", out, sizeof out), 0);
    cr_assert_str_eq(out, "DE22 3XY");
    cr_assert_eq(sdat_postcode_normalise("EC1A 1BB", out, sizeof out), 0);
    cr_assert_eq(sdat_postcode_normalise("M1 1AE", out, sizeof out), 0);
    cr_assert_str_eq(out, "M1 1AE");
    cr_assert(sdat_format_postcode("GIR 0AA"));
    cr_assert_not(sdat_format_postcode("DE22"));
    cr_assert_not(sdat_format_postcode("DE22  3XY"));
    cr_assert_not(sdat_format_postcode("1E22 3XY"));
    cr_assert_not(sdat_format_postcode("DE22 XXY"));
}

/* ONS / GOV.UK postcode format: Q, V and X never come first; I, J and Z
 * never second. */
Test(formats, postcode_letters_follow_the_uk_rules)
{
    static const char *const refused[] = {"QA1 1AA", "VA1 1AA", "XA1 1AA", "Q1 1AA",
                                          "V1A 1AA", "xa11 1aa", "AI1 1AA", "AJ1 1AA",
                                          "AZ1 1AA", "ZZ9 9ZZ", "BI1A 1AA", "EZ11 1AA"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        cr_assert_not(sdat_format_postcode(refused[i]), "%s accepted", refused[i]);
    }
    static const char *const accepted[] = {"A1 1AA",  "AA1 1AA", "PA1 1AA", "WA1 1AA",
                                           "YA1 1AA", "ZE1 0AA", "AH1 1AA", "AK1 1AA",
                                           "AY1 1AA", "W1A 0AX", "EC1A 1BB", "BX1 1LT",
                                           "GIR 0AA", "sw1a 2aa"};
    for (size_t i = 0; i < sizeof accepted / sizeof accepted[0]; i++) {
        cr_assert(sdat_format_postcode(accepted[i]), "%s refused", accepted[i]);
    }
}

Test(formats, codes)
{
    cr_assert(sdat_format_urn("112233"));
    cr_assert_not(sdat_format_urn("11223"));
    cr_assert(sdat_format_la_code("831"));
    cr_assert_not(sdat_format_la_code("83A"));
    cr_assert(sdat_format_ods_code("RTG"));
    cr_assert_not(sdat_format_ods_code("RTG-1"));
    cr_assert_not(sdat_format_ods_code("ABCDEFGHIJ"));
}
