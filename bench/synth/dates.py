"""Dates for the synthetic set: the reference day that ages are measured
against, the range of dates of birth, and small date arithmetic."""

import datetime as dt

REF = dt.date(2026, 11, 20)          # ages 0-17 relative to this date
DOB_MIN = dt.date(2008, 11, 21)      # 17 years old on REF
DOB_MAX = dt.date(2026, 10, 31)      # born before any incident (1-20 Nov)
ONE_DAY = dt.timedelta(days=1)


def add_days(d, n):
    return d + dt.timedelta(days=n)


def age_on(dob, day):
    """Age in whole years on day."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def valid_date(y, m, d):
    """The date, or None when it does not exist."""
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None
