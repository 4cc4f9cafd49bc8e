#include "formats.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "civil.h"
#include "timeutil.h"

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

static int num(const char *s, size_t n)
{
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : days[m - 1];
}

/* Parses "YYYY-MM-DD" at s (exactly 10 characters). */
static bool parse_ymd(const char *s, int *y, int *m, int *d)
{
    if (!all_digits(s, 4) || s[4] != '-' || !all_digits(s + 5, 2) || s[7] != '-' ||
        !all_digits(s + 8, 2)) {
        return false;
    }
    *y = num(s, 4);
    *m = num(s + 5, 2);
    *d = num(s + 8, 2);
    return *m >= 1 && *m <= 12 && *d >= 1 && *d <= days_in_month(*y, *m);
}

int sdat_date_parse(const char *s, int32_t *ret_days)
{
    int y, m, d;
    if (!s || strlen(s) != 10 || !parse_ymd(s, &y, &m, &d)) {
        return -EINVAL;
    }
    *ret_days = sdat_days_from_civil(y, m, d);
    return 0;
}

bool sdat_format_date(const char *s)
{
    int32_t days;
    return sdat_date_parse(s, &days) == 0;
}

int sdat_datetime_parse(const char *s, int64_t *ret_unix_ms)
{
    int y, mo, d;
    if (!s || strlen(s) < 20 || !parse_ymd(s, &y, &mo, &d) || (s[10] != 'T' && s[10] != 't') ||
        !all_digits(s + 11, 2) || s[13] != ':' || !all_digits(s + 14, 2) || s[16] != ':' ||
        !all_digits(s + 17, 2)) {
        return -EINVAL;
    }
    int h = num(s + 11, 2), mi = num(s + 14, 2), sec = num(s + 17, 2);
    /* 60 is allowed only as a leap second; it is read as :59.999. */
    if (h > 23 || mi > 59 || sec > 60) {
        return -EINVAL;
    }
    const char *p = s + 19;
    int ms = 0;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (isdigit((unsigned char)*p)) {
            if (digits < 3) {
                ms = ms * 10 + (*p - '0');
            }
            digits++;
            p++;
        }
        if (digits == 0) {
            return -EINVAL;
        }
        for (; digits < 3; digits++) {
            ms *= 10;
        }
    }
    int offset_min = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if ((*p == '+' || *p == '-') && all_digits(p + 1, 2) && p[3] == ':' &&
               all_digits(p + 4, 2)) {
        int oh = num(p + 1, 2), om = num(p + 4, 2);
        if (oh > 23 || om > 59) {
            return -EINVAL;
        }
        offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -EINVAL;
    }
    if (*p != '\0') {
        return -EINVAL;
    }
    if (sec == 60) {
        /* A leap second exists only at 23:59:60 UTC. */
        if (((h * 60 + mi - offset_min) % 1440 + 1440) % 1440 != 1439) {
            return -EINVAL;
        }
        sec = 59;
        ms = 999;
    }
    int64_t days = sdat_days_from_civil(y, mo, d);
    *ret_unix_ms =
        ((days * 86400 + h * 3600 + mi * 60 + sec) - (int64_t)offset_min * 60) * 1000 + ms;
    return 0;
}

bool sdat_format_datetime(const char *s)
{
    int64_t ms;
    return sdat_datetime_parse(s, &ms) == 0;
}

bool sdat_format_nhs_number(const char *s)
{
    if (strlen(s) != 10 || !all_digits(s, 10)) {
        return false;
    }
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        sum += (s[i] - '0') * (10 - i);
    }
    int check = 11 - sum % 11;
    if (check == 11) {
        check = 0;
    }
    return check != 10 && check == s[9] - '0';
}

static const char upn_letters[] = "ABCDEFGHJKLMNPQRTUVWXYZ";

bool sdat_format_upn(const char *s)
{
    if (strlen(s) != 13 || !all_digits(s + 1, 11)) {
        return false;
    }
    const char *check = strchr(upn_letters, s[0]);
    if (s[0] == '\0' || !check) {
        return false;
    }
    int sum = 0;
    for (int pos = 2; pos <= 12; pos++) {
        sum += (s[pos - 1] - '0') * pos;
    }
    /* Position 13: a digit, or a letter of a temporary UPN counted at its
     * index in the check-letter list (A = 0). */
    int last;
    if (isdigit((unsigned char)s[12])) {
        last = s[12] - '0';
    } else {
        const char *l = s[12] ? strchr(upn_letters, s[12]) : NULL;
        if (!l) {
            return false;
        }
        last = (int)(l - upn_letters);
    }
    sum += last * 13;
    return upn_letters[sum % 23] == s[0];
}

bool sdat_format_urn(const char *s)
{
    return strlen(s) == 6 && all_digits(s, 6);
}

bool sdat_format_la_code(const char *s)
{
    return strlen(s) == 3 && all_digits(s, 3);
}

bool sdat_format_ods_code(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 9) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isalnum((unsigned char)s[i])) {
            return false;
        }
    }
    return true;
}

/* BS 7666: outward code A9, A99, AA9, AA99, A9A or AA9A; inward code 9AA.
 * The letters follow the rules the ONS and GOV.UK give for the format (ONS
 * Postcode Directory user guide; GOV.UK "Bulk data transfer: additional
 * validation for CAS", postcode format): the first letter is never Q, V or
 * X, and the second (in AA9, AA99 and AA9A) never I, J or Z. GIR 0AA is the
 * one exception kept. */
int sdat_postcode_normalise(const char *s, char *out, size_t outlen)
{
    char c[9];
    size_t n = 0;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' && p != s) {
            continue;
        }
        if (!isalnum((unsigned char)*p) || n >= 7) {
            return -EINVAL;
        }
        c[n++] = (char)toupper((unsigned char)*p);
    }
    c[n] = '\0';
    /* At most one space, between outward and inward codes. */
    const char *space = strchr(s, ' ');
    if (space && (strchr(space + 1, ' ') || strlen(space + 1) != 3)) {
        return -EINVAL;
    }
    if (n < 5 || n > 7) {
        return -EINVAL;
    }
    const char *in = c + n - 3;
    if (!isdigit((unsigned char)in[0]) || !isalpha((unsigned char)in[1]) ||
        !isalpha((unsigned char)in[2])) {
        return -EINVAL;
    }
    size_t olen = n - 3;
    const char *o = c;
    bool ok;
    if (strcmp(c, "GIR0AA") == 0) {
        ok = true;
    } else if (olen == 2) {
        ok = isalpha((unsigned char)o[0]) && isdigit((unsigned char)o[1]);
    } else if (olen == 3) {
        ok = isalpha((unsigned char)o[0]) &&
             ((isdigit((unsigned char)o[1]) && isalnum((unsigned char)o[2])) ||
              (isalpha((unsigned char)o[1]) && isdigit((unsigned char)o[2])));
    } else {
        ok = isalpha((unsigned char)o[0]) && isalpha((unsigned char)o[1]) &&
             isdigit((unsigned char)o[2]) && isalnum((unsigned char)o[3]);
    }
    if (ok && strcmp(c, "GIR0AA") != 0) {
        ok = !strchr("QVX", o[0]) && !(isalpha((unsigned char)o[1]) && strchr("IJZ", o[1]));
    }
    if (!ok) {
        return -EINVAL;
    }
    if (out) {
        snprintf(out, outlen, "%.*s %s", (int)olen, c, in);
    }
    return 0;
}

bool sdat_format_postcode(const char *s)
{
    return sdat_postcode_normalise(s, NULL, 0) == 0;
}

bool sdat_format_find(const char *format, sdat_format_fn *ret_check, const char **ret_message)
{
    static const struct {
        const char *name;
        sdat_format_fn check;
        const char *message;
    } table[] = {
        {"date", sdat_format_date, "is not a real calendar date (YYYY-MM-DD)"},
        {"date-time", sdat_format_datetime, "is not an RFC 3339 date-time with an offset"},
        {"nhs-number", sdat_format_nhs_number, "is not a valid NHS number (check digit does not match)"},
        {"upn", sdat_format_upn, "is not a valid UPN (check letter does not match)"},
        {"postcode", sdat_format_postcode, "is not a UK postcode"},
        {"urn", sdat_format_urn, "is not a school URN (6 digits)"},
        {"la-code", sdat_format_la_code, "is not an LA code (3 digits)"},
        {"ods-code", sdat_format_ods_code, "is not an ODS code (1-9 letters and digits)"},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++) {
        if (strcmp(table[i].name, format) == 0) {
            *ret_check = table[i].check;
            *ret_message = table[i].message;
            return true;
        }
    }
    return false;
}

bool sdat_format_check(const char *format, const char *s, const char **ret_message)
{
    sdat_format_fn check;
    const char *message;
    if (!sdat_format_find(format, &check, &message)) {
        return true;
    }
    bool ok = check(s);
    if (!ok && ret_message) {
        *ret_message = message;
    }
    return ok;
}
