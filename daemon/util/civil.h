/* Civil dates (proleptic Gregorian) as days since 1970-01-01: no time
 * zone, no clock. */
#ifndef SDAT_CIVIL_H
#define SDAT_CIVIL_H

#include <stdint.h>

/* Days since 1970-01-01 from a civil date, and back. */
int32_t sdat_days_from_civil(int y, int m, int d);
void sdat_civil_from_days(int32_t days, int *ret_y, int *ret_m, int *ret_d);
/* Whole years from date of birth to date; a 29 February birthday is reached
 * on 1 March in common years. */
int sdat_age_on(int32_t dob_days, int32_t on_days);

#endif
