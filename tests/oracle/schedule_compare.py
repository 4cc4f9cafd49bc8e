#!/usr/bin/env python3
"""Compares sdat_schedule_school (through tests/helpers/schedule-drive.c)
with the reference (schedule_ref.py) on generated cases (schedule_cases.py).

  schedule_compare.py DRIVE [--seed N] [--calendars N] [--show N]

Prints "# N cases (…)" and, for each of the first --show disagreements, the
case's inputs and both answers. Exit 0 when all agree, 1 otherwise, 2 when
the driver fails or answers too few lines.
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drive  # noqa: E402
import schedule_cases  # noqa: E402
import schedule_ref  # noqa: E402


def write_sample(directory, cases, per_calendar=12):
    """Every 25th calendar with a weekday (the configuration refuses none),
    a dozen of its cases spread over its table."""
    by_cal = collections.OrderedDict()
    for c in cases:
        by_cal.setdefault(json.dumps(c["calendar"], sort_keys=True), []).append(c)
    chosen = [v for v in by_cal.values() if v[0]["calendar"]["weekdays"]][::25]
    cals, recips, lines = [], [], []
    q = json.dumps  # a JSON string is a libconfig string for these values
    for i, group in enumerate(chosen):
        cal = group[0]["calendar"]
        keys = "".join("%s = %s; " % (k, q(cal[k]))
                       for k in ("timezone", "release_time", "start_time", "close_time") if k in cal)
        cals.append('{ id = "c%d"; %sweekdays = [ %s ]; terms = ( %s ); closures = [ %s ]; }' % (
            i, keys, ", ".join(q(w) for w in cal["weekdays"]),
            ", ".join("[ %s, %s ]" % (q(a), q(b)) for a, b in cal["terms"]),
            ", ".join(q(d) for d in cal["closures"])))
        recips.append('{ id = "school:1%05d"; kind = "school"; la_code = "831"; name = "School %d"; '
                      'urn = "1%05d"; calendar = "c%d"; connector = "file"; directory = "%s/spool"; }'
                      % (i, i, i, i, directory))
        step = max(1, len(group) // per_calendar)
        for c in group[::step][:per_calendar]:
            lines.append("school:1%05d %s %s\n" % (i, c["at"], schedule_ref.answer(c)))
    with open(os.path.join(directory, "calendars.conf"), "w") as f:
        f.write("calendars = (\n  %s\n);\n" % ",\n  ".join(cals))
        f.write("recipients = (\n  %s,\n" % ",\n  ".join(recips))
    with open(os.path.join(directory, "sample.txt"), "w") as f:
        f.write("".join(lines))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("drive")
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--calendars", type=int, default=40)
    ap.add_argument("--show", type=int, default=10)
    ap.add_argument("--sdatctl-sample", metavar="DIR",
                    help="also write DIR/calendars.conf (one school per calendar of a sample) "
                    "and DIR/sample.txt (RECIPIENT AT WANT a line) for sdatctl schedule")
    a = ap.parse_args()

    cases = schedule_cases.Gen(a.seed).run(a.calendars)
    if a.sdatctl_sample:
        write_sample(a.sdatctl_sample, cases)
    got = drive.run(a.drive, cases, len(cases))
    if got is None:
        return 2

    features = collections.Counter(c["feature"].split("/")[0] for c in cases)
    print("# %d cases (%s)" % (len(cases), ", ".join(
        "%s %d" % kv for kv in sorted(features.items()))))
    calendars = {}
    bad = []
    kinds = collections.Counter()
    for c in cases:
        key = json.dumps(c["calendar"], sort_keys=True)
        cal = calendars.get(key) or calendars.setdefault(key, schedule_ref.Calendar(c["calendar"]))
        at, exhausted = schedule_ref.schedule(cal, schedule_ref.parse_at(c["at"]))
        want = schedule_ref.fmt(at, exhausted)
        t = schedule_ref.fmt(schedule_ref.parse_at(c["at"]), False)
        kinds["exhausted" if exhausted else "at once" if want == t else "held"] += 1
        if got[c["id"]] != want:
            bad.append((c, want, got[c["id"]]))
    print("# %d calendars; reference answers: %s" % (len(calendars), ", ".join(
        "%s %d" % kv for kv in sorted(kinds.items()))))
    for c, want, have in bad[:a.show]:
        print("# DISAGREE case %d (%s): at %s calendar %s" % (
            c["id"], c["feature"], c["at"], json.dumps(c["calendar"], separators=(",", ":"))))
        print("#   reference %s, sdat_schedule_school %s" % (want, have))
    print("# %d of %d cases disagree" % (len(bad), len(cases)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
