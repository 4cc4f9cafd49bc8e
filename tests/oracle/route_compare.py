#!/usr/bin/env python3
"""Compares sdat_route_incident_area and sdat_route_child (through
tests/helpers/route-drive.c) with the reference (route_ref.py) on generated
cases (route_cases.py).

  route_compare.py DRIVE [--seed N] [--directories N] [--per-directory N] [--show N]

Prints "# N cases (…)", the reference's answers by kind and, for each of
the first --show disagreements, the case's inputs and both answers. Exit 0
when all agree, 1 otherwise, 2 when the driver fails or answers too few
lines.
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drive  # noqa: E402
import route_cases  # noqa: E402
import route_ref  # noqa: E402


def kind_of(want):
    """A label for the reference's answer: dead-letter, or the first route's
    reason (its kind for review and none, "school" for the school row)."""
    area, routes = want.split(" ", 1)
    if routes == "dead-letter":
        return "dead-letter"
    first = routes.split(",")
    _, kind, reason, when = first[0].split("/")
    if when == "school":
        return "school" if len(first) == 1 else "dual-registration"
    return reason if reason != "-" else kind


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("drive")
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--directories", type=int, default=60)
    ap.add_argument("--per-directory", type=int, default=100)
    ap.add_argument("--show", type=int, default=10)
    a = ap.parse_args()

    lines = route_cases.Gen(a.seed).run(a.directories, a.per_directory)
    cases = [x for x in lines if "id" in x]
    got = drive.run(a.drive, lines, len(cases))
    if got is None:
        return 2

    directories = {x["directory_id"]: x["directory"] for x in lines if "directory" in x}
    features = collections.Counter()
    for c in cases:
        features.update(c["feature"].split("/"))
    print("# %d cases in %d directories (%s)" % (len(cases), len(directories), ", ".join(
        "%s %d" % kv for kv in sorted(features.items()))))
    kinds = collections.Counter()
    bad = []
    for c in cases:
        want = route_ref.answer(directories[c["dir"]], c)
        kinds[kind_of(want)] += 1
        if got[c["id"]] != want:
            bad.append((c, want, got[c["id"]]))
    print("# reference answers: %s" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
    for c, want, have in bad[:a.show]:
        print("# DISAGREE case %d (%s): directory %s" % (
            c["id"], c["feature"], json.dumps(directories[c["dir"]], separators=(",", ":"))))
        print("#   case %s" % json.dumps({k: c[k] for k in (
            "incident", "decision", "child", "reported_date", "incident_date")},
            separators=(",", ":")))
        print("#   reference %s" % want)
        print("#   sdat_route %s" % have)
    print("# %d of %d cases disagree" % (len(bad), len(cases)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
