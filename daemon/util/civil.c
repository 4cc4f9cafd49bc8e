/* Civil-date arithmetic: days since 1970-01-01 and back, and ages. */
#include "civil.h"

/* Howard Hinnant's days_from_civil / civil_from_days. */
int32_t sdat_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (unsigned)((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1);
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (int32_t)(era * 146097 + (int)doe - 719468);
}

void sdat_civil_from_days(int32_t days, int *ret_y, int *ret_m, int *ret_d)
{
    int z = days + 719468;
    const int era = (z >= 0 ? z : z - 146096) / 146097;
    const unsigned doe = (unsigned)(z - era * 146097);
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const unsigned mp = (5 * doy + 2) / 153;
    const unsigned d = doy - (153 * mp + 2) / 5 + 1;
    const unsigned m = mp < 10 ? mp + 3 : mp - 9;
    *ret_y = (int)yoe + era * 400 + (m <= 2);
    *ret_m = (int)m;
    *ret_d = (int)d;
}

int sdat_age_on(int32_t dob_days, int32_t on_days)
{
    int by, bm, bd, y, m, d;
    sdat_civil_from_days(dob_days, &by, &bm, &bd);
    sdat_civil_from_days(on_days, &y, &m, &d);
    int age = y - by;
    /* Comparing (month, day) pairs makes 29 February count as reached only
     * once 1 March comes in a common year. */
    if (m < bm || (m == bm && d < bd)) {
        age--;
    }
    return age;
}
