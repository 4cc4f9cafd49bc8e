#!/usr/bin/env python3
"""An independent reference for the school schedule (flows.md §3).

Written from the specification's words only, never from daemon/decide/
schedule.c, so that comparing the two (tests/integration/
test_schedule_oracle.sh) tests the C code against the spec rather than
against itself. It uses Python's zoneinfo for the zone rules; the daemon reads
the TZif files itself (daemon/util/tz.c).

The rule, as flows.md §3 words it:

  A school day is a date inside a term (inclusive ranges), on a listed
  weekday, not a closure. For basis time t (reported_at), in the calendar's
  local time:
    - t on a school day before release_time        -> that day at release_time;
    - t on a school day from release_time to before
      close_time                                   -> at once (t);
    - otherwise                                    -> release_time on the next
                                                      school day.
  If none of the 60 local dates after t's date is a school day the calendar
  is exhausted: the answer is t, flagged calendar-exhausted. Local times use
  the zone's rules for that date: a time inside a spring-forward gap is the
  end of the gap (the transition instant); a time that occurs twice is its
  first occurrence.

Readings where the words leave room (docs/DESIGN.md, "The schedule oracle"):
  - "before release_time" / "before close_time" compare instants: t against
    the instant that release_time (close_time) on t's local date denotes. They
    differ from comparing wall-clock readings only in an autumn repeated hour,
    where a wall-clock comparison could answer a release earlier than t.
  - exhaustion applies only where the next school day is needed (the third
    case): a basis before release on a school day is released that day
    whatever follows.
  - start_time (when pupils arrive) plays no part in the release time.

Usage as a library: schedule(calendar, t) -> (datetime UTC, exhausted).
Usage as a program:
  schedule_ref.py CASES.jsonl   one answer line per case: "ID ANSWER"
  schedule_ref.py --calendar JSON --at DATETIME   one answer
where ANSWER is YYYY-MM-DDTHH:MM:SSZ, followed by " calendar-exhausted" when
so. A calendar is JSON: {"timezone", "release_time", "start_time",
"close_time", "weekdays": ["mon", ...], "terms": [["YYYY-MM-DD",
"YYYY-MM-DD"], ...], "closures": ["YYYY-MM-DD", ...]}; missing keys take the
spec's defaults.
"""

import datetime as dt
import json
import sys
from zoneinfo import ZoneInfo

HORIZON_DAYS = 60
WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DEFAULTS = {
    "timezone": "Europe/London",
    "release_time": "07:30",
    "start_time": "08:45",
    "close_time": "16:00",
    "weekdays": ["mon", "tue", "wed", "thu", "fri"],
    "terms": [],
    "closures": [],
}
UTC = dt.timezone.utc
MINUTE = dt.timedelta(minutes=1)


def _hhmm(s):
    h, m = s.split(":")
    return dt.timedelta(hours=int(h), minutes=int(m))


class Calendar:
    def __init__(self, spec):
        c = dict(DEFAULTS)
        c.update(spec)
        self.zone = ZoneInfo(c["timezone"])
        self.release = _hhmm(c["release_time"])
        self.close = _hhmm(c["close_time"])
        self.weekdays = {WEEKDAYS.index(w) for w in c["weekdays"]}
        self.terms = [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in c["terms"]]
        self.closures = {dt.date.fromisoformat(d) for d in c["closures"]}

    def school_day(self, d):
        return (any(a <= d <= b for a, b in self.terms)
                and d.weekday() in self.weekdays
                and d not in self.closures)

    def wall(self, u):
        """The local wall-clock reading (naive datetime) of UTC instant u."""
        return u.astimezone(self.zone).replace(tzinfo=None)

    def instant(self, d, time_of_day):
        """The instant at which local date d's wall clock first reads
        time_of_day or later: the first occurrence of a repeated time, the
        end of the gap for a time that does not occur."""
        w = dt.datetime.combine(d, dt.time()) + time_of_day
        # Every offset the zone uses within a day either side of w.
        offsets = set()
        for hours in range(-36, 37, 3):
            probe = (w + dt.timedelta(hours=hours)).replace(tzinfo=UTC)
            offsets.add(probe.astimezone(self.zone).utcoffset())
        exact = [(w - off).replace(tzinfo=UTC) for off in offsets]
        exact = [u for u in exact if self.wall(u) == w]
        if exact:
            return min(exact)
        # Inside a gap: walk the minutes between the candidates to the first
        # whose reading has passed w.
        lo = min((w - off).replace(tzinfo=UTC) for off in offsets)
        hi = max((w - off).replace(tzinfo=UTC) for off in offsets)
        u = lo
        while u <= hi:
            if self.wall(u) >= w:
                return u
            u += MINUTE
        raise AssertionError("no instant for %s" % w)


def schedule(cal, t):
    """flows.md §3: (release instant, exhausted) for basis t (aware)."""
    t = t.astimezone(UTC)
    d = cal.wall(t).date()
    if cal.school_day(d):
        release = cal.instant(d, cal.release)
        close = cal.instant(d, cal.close)
        if t < release:
            return release, False
        if t < close:
            return t, False
    for n in range(1, HORIZON_DAYS + 1):
        nd = d + dt.timedelta(days=n)
        if cal.school_day(nd):
            return cal.instant(nd, cal.release), False
    return t, True


def fmt(u, exhausted):
    s = u.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return s + " calendar-exhausted" if exhausted else s


def parse_at(s):
    if s.endswith("Z"):
        s = s[:-1] + "+00:00"
    t = dt.datetime.fromisoformat(s)
    if t.tzinfo is None:
        raise ValueError("a date-time needs an offset: %s" % s)
    return t


def answer(case):
    """One generated case (schedule_cases.py) -> its answer text."""
    return fmt(*schedule(Calendar(case["calendar"]), parse_at(case["at"])))


def main(argv):
    if len(argv) == 5 and {argv[1], argv[3]} == {"--calendar", "--at"}:
        opts = {argv[1]: argv[2], argv[3]: argv[4]}
        print(fmt(*schedule(Calendar(json.loads(opts["--calendar"])), parse_at(opts["--at"]))))
        return 0
    if len(argv) == 2:
        cache = {}
        with open(argv[1]) as f:
            for line in f:
                case = json.loads(line)
                key = json.dumps(case["calendar"], sort_keys=True)
                cal = cache.get(key) or cache.setdefault(key, Calendar(case["calendar"]))
                print(case["id"], fmt(*schedule(cal, parse_at(case["at"]))))
        return 0
    sys.stderr.write("usage: schedule_ref.py CASES.jsonl | --calendar JSON --at DATETIME\n")
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
