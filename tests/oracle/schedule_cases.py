#!/usr/bin/env python3
"""Generated cases for the school-schedule oracle (issue 26, item 1).

  schedule_cases.py [--seed N] [--calendars N]  > cases.jsonl

Deterministic for a seed. Each line is one case:
  {"id": N, "feature": LABEL, "calendar": {...}, "at": RFC3339, "at_ms": INT}
(the calendar as schedule_ref.py reads it). The calendars cover every
feature of flows.md §3: weekday sets (weekends, Saturday and Sunday schools,
one day, none), terms (starts, ends, gaps across half terms and holidays,
the gap of exactly 60 and 61 days to the next school day, the end of the last
term), closures (on school days, on weekends, outside terms, runs of them),
release and close times (defaults, early, late, one minute apart, inside
the DST hours) and zones (Europe/London mostly, with its last Sundays of
March and October; a few others with other offsets and rules). The report
times are every boundary instant of each interesting local date: one minute
(and one second, one millisecond) before, at and after release and close,
midnight, the last minute of the day, and the minutes either side of each
DST transition, with both occurrences of an autumn repeated time.
"""

import argparse
import datetime as dt
import json
import random
import sys
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
DAY = dt.timedelta(days=1)
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
OTHER_ZONES = ["America/New_York", "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Auckland",
               "UTC", "America/St_Johns", "Pacific/Kiritimati", "Europe/Dublin"]
# Times around London's transitions (01:00 GMT spring, 02:00 BST autumn).
DST_TIMES = ["00:30", "00:59", "01:00", "01:01", "01:30", "01:59", "02:00", "02:01", "02:30"]


def hhmm(minutes):
    return "%02d:%02d" % divmod(minutes, 60)


def minutes(s):
    h, m = s.split(":")
    return int(h) * 60 + int(m)


def last_sunday(year, month):
    d = dt.date(year, month + 1, 1) - DAY if month < 12 else dt.date(year, 12, 31)
    while d.weekday() != 6:
        d -= DAY
    return d


def transitions(zone, first, last):
    """UTC instants (whole minutes) where the zone's offset changes between
    dates first and last: found by an hourly walk and a minute bisection."""
    z = ZoneInfo(zone)
    out = []
    u = dt.datetime.combine(first, dt.time(), UTC) - DAY
    end = dt.datetime.combine(last, dt.time(), UTC) + 2 * DAY
    step = dt.timedelta(hours=1)
    off = u.astimezone(z).utcoffset()
    while u < end:
        nxt = u + step
        noff = nxt.astimezone(z).utcoffset()
        if noff != off:
            lo, hi = u, nxt
            while hi - lo > dt.timedelta(minutes=1):
                mid = lo + (hi - lo) / 2
                mid = mid.replace(second=0, microsecond=0)
                if mid == lo:
                    mid = lo + dt.timedelta(minutes=1)
                if mid.astimezone(z).utcoffset() == off:
                    lo = mid
                else:
                    hi = mid
            out.append(hi)
            off = noff
        u = nxt
    return out


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.cases = []

    # ---- calendars -------------------------------------------------------

    def random_terms(self, start):
        """1-4 ordered, non-overlapping terms from around start."""
        r = self.r
        terms = []
        d = start + dt.timedelta(days=r.randrange(0, 30))
        for _ in range(r.randrange(1, 5)):
            length = r.choice([0, 1, 4, 6, 20, 40, 49, 70])
            terms.append((d, d + dt.timedelta(days=length)))
            # The gap to the next term: a weekend, a half term, a holiday, or
            # about the 60-day horizon.
            gap = r.choice([1, 2, 3, 9, 16, 44, 59, 60, 61, 62, 90])
            d = d + dt.timedelta(days=length + gap)
        return terms

    def random_calendar(self, start, zone=None):
        r = self.r
        zone = zone or (r.choice(OTHER_ZONES) if r.random() < 0.2 else "Europe/London")
        kind = r.random()
        if kind < 0.5:
            weekdays = WEEKDAYS[:5]
        elif kind < 0.6:
            weekdays = WEEKDAYS[:]
        elif kind < 0.67:
            weekdays = WEEKDAYS[:6]
        elif kind < 0.7:
            weekdays = []
        else:
            weekdays = sorted(r.sample(WEEKDAYS, r.randrange(1, 7)), key=WEEKDAYS.index)
        if r.random() < 0.35:
            release, close = "07:30", "16:00"
        elif r.random() < 0.3:
            release = r.choice(DST_TIMES)
            close = hhmm(minutes(release) + r.choice([1, 30, 60, 90, 600]))
        else:
            rel = r.randrange(0, 23 * 60)
            release = hhmm(rel)
            close = hhmm(min(rel + r.choice([1, 2, 60, 240, 510, 900]), 23 * 60 + 59))
        terms = self.random_terms(start)
        closures = set()
        for a, b in terms:
            span = (b - a).days
            for _ in range(r.randrange(0, 4)):
                closures.add(a + dt.timedelta(days=r.randrange(0, span + 1)))
            if r.random() < 0.3:  # a run of closures from the term's start
                for k in range(r.randrange(1, 5)):
                    closures.add(a + dt.timedelta(days=k))
            if r.random() < 0.2:  # outside the term
                closures.add(b + dt.timedelta(days=r.randrange(1, 5)))
        cal = {"timezone": zone, "release_time": release,
               "start_time": hhmm(r.randrange(0, 24 * 60)), "close_time": close,
               "weekdays": weekdays,
               "terms": [[a.isoformat(), b.isoformat()] for a, b in terms],
               "closures": sorted(d.isoformat() for d in closures)}
        if r.random() < 0.15:  # the spec's defaults, left out
            for k, v in (("timezone", "Europe/London"), ("release_time", "07:30"),
                         ("close_time", "16:00")):
                if cal[k] == v:
                    del cal[k]
        return cal

    def dst_calendar(self, year, autumn):
        """Every day a school day around a London transition, the release or
        close time inside the skipped or repeated hour."""
        r = self.r
        sunday = last_sunday(year, 10 if autumn else 3)
        release = r.choice(DST_TIMES)
        close = hhmm(minutes(release) + r.choice([1, 29, 30, 60, 61, 120, 600]))
        if r.random() < 0.5:  # the close time in the odd hour instead
            close = r.choice(DST_TIMES[2:])
            release = hhmm(max(0, minutes(close) - r.choice([1, 30, 60])))
        closures = [sunday.isoformat()] if r.random() < 0.2 else []
        return {"timezone": "Europe/London", "release_time": release, "close_time": close,
                "start_time": "08:45", "weekdays": WEEKDAYS[:] if r.random() < 0.8 else ["sun"],
                "terms": [[(sunday - 3 * DAY).isoformat(), (sunday + 3 * DAY).isoformat()]],
                "closures": closures}

    def horizon_calendar(self, gap):
        """A term ends on a Friday; the next term starts GAP days later."""
        end = dt.date(2026, 12, 18)
        return {"terms": [["2026-09-03", end.isoformat()],
                          [(end + dt.timedelta(days=gap)).isoformat(),
                           (end + dt.timedelta(days=gap + 30)).isoformat()]],
                "weekdays": WEEKDAYS[:], "closures": []}

    # ---- report times ----------------------------------------------------

    def add(self, feature, cal, u):
        u = u.astimezone(UTC)
        ms = int(u.timestamp() * 1000) if u.microsecond % 1000 == 0 else None
        assert ms is not None
        if u.microsecond:
            at = u.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (u.microsecond // 1000)
        else:
            at = u.strftime("%Y-%m-%dT%H:%M:%SZ")
        self.cases.append({"id": len(self.cases) + 1, "feature": feature, "calendar": cal,
                           "at": at, "at_ms": ms})

    def local_instants(self, zone, d, minute_of_day):
        """Every instant at which date d's wall clock reads minute_of_day:
        none in a gap, two in a repeated hour."""
        z = ZoneInfo(zone)
        w = dt.datetime.combine(d, dt.time()) + dt.timedelta(minutes=minute_of_day)
        out = []
        for fold in (0, 1):
            u = w.replace(tzinfo=z, fold=fold).astimezone(UTC)
            if u.astimezone(z).replace(tzinfo=None) == w and u not in out:
                out.append(u)
        return out

    def day_times(self, feature, cal, d, fine=False):
        """The boundary instants of local date d."""
        zone = cal.get("timezone", "Europe/London")
        rel = minutes(cal.get("release_time", "07:30"))
        clo = minutes(cal.get("close_time", "16:00"))
        marks = {0, 24 * 60 - 1, self.r.randrange(0, 24 * 60)}
        for b in (rel, clo):
            marks.update({b - 1, b, b + 1})
        for m in sorted(marks):
            if not 0 <= m < 24 * 60:
                continue
            for u in self.local_instants(zone, d, m):
                self.add(feature, cal, u)
        if fine:  # a second and a millisecond either side of release and close
            for b in (rel, clo):
                for u in self.local_instants(zone, d, b):
                    for delta in (-1000, -1, 1, 1000):
                        self.add(feature + "/fine", cal, u + dt.timedelta(milliseconds=delta))

    def interesting_dates(self, cal):
        out = set()
        terms = [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in cal["terms"]]
        for a, b in terms:
            for d in (a - DAY, a, a + DAY, b - DAY, b, b + DAY):
                out.add((d, "term-edge"))
            out.add((a + dt.timedelta(days=self.r.randrange(0, (b - a).days + 1)), "in-term"))
        for c in cal["closures"]:
            c = dt.date.fromisoformat(c)
            for d, f in ((c - DAY, "closure-eve"), (c, "closure-day"), (c + DAY, "closure-next")):
                out.add((d, f))
        last = terms[-1][1]
        for k in (1, 2, 30, 59, 60, 61, 100):
            out.add((last + dt.timedelta(days=k), "after-last-term"))
        out.add((terms[0][0] - dt.timedelta(days=5), "before-first-term"))
        for k in range(7):  # a whole week, for the weekday set
            out.add((terms[0][0] + dt.timedelta(days=k), "week"))
        return sorted(out)

    # ---- scenarios -------------------------------------------------------

    def run(self, n_calendars):
        # The issue's own edge: the report time ON a closure day, on a
        # weekday in term, at each boundary; the next day a school day or not.
        for next_open in (True, False):
            for rel, clo in (("07:30", "16:00"), ("00:00", "23:59"), ("09:00", "09:01")):
                closures = ["2026-11-25", "2026-11-27"] + ([] if next_open else ["2026-11-26"])
                cal = {"timezone": "Europe/London", "release_time": rel, "close_time": clo,
                       "weekdays": WEEKDAYS[:5], "terms": [["2026-09-03", "2026-12-18"]],
                       "closures": closures}
                for c in closures:
                    self.day_times("closure-day", cal, dt.date.fromisoformat(c), fine=True)
        # The 60-day horizon, from the term's last day after close.
        for gap in (59, 60, 61, 62):
            cal = self.horizon_calendar(gap)
            for d in (dt.date(2026, 12, 17), dt.date(2026, 12, 18), dt.date(2026, 12, 19)):
                self.day_times("horizon-%d" % gap, cal, d)
        # London's transitions: a school day each side and on the Sunday.
        for year in (2026, 2027, 2028, 2029):
            for autumn in (False, True):
                for _ in range(6):
                    cal = self.dst_calendar(year, autumn)
                    sunday = last_sunday(year, 10 if autumn else 3)
                    for d in (sunday - DAY, sunday, sunday + DAY):
                        self.day_times("dst", cal, d, fine=(d == sunday))
                    for t in transitions("Europe/London", sunday, sunday):
                        for m in (-61, -60, -59, -31, -30, -1, 0, 1, 30, 59, 60, 61):
                            self.add("dst-transition", cal, t + dt.timedelta(minutes=m))
        # Random calendars, each at its interesting dates.
        for i in range(n_calendars):
            start = dt.date(2026, 1, 1) + dt.timedelta(days=self.r.randrange(0, 3 * 365))
            cal = self.random_calendar(start)
            for d, feature in self.interesting_dates(cal):
                self.day_times(feature, cal, d, fine=(self.r.random() < 0.05))
            zone = cal.get("timezone", "Europe/London")
            first = dt.date.fromisoformat(cal["terms"][0][0])
            last = dt.date.fromisoformat(cal["terms"][-1][1])
            for t in transitions(zone, first, last + dt.timedelta(days=61)):
                for m in (-1, 0, 1):
                    self.add("zone-transition", cal, t + dt.timedelta(minutes=m))
        return self.cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--calendars", type=int, default=120)
    a = ap.parse_args()
    for case in Gen(a.seed).run(a.calendars):
        sys.stdout.write(json.dumps(case, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
