#!/usr/bin/env python3
"""Compares sdat_match_decide (through tests/helpers/match-drive.c) with the
reference (match_ref.py) on generated cases (match_cases.py).

  match_compare.py DRIVE [--seed N] [--cases N] [--show N]

Prints "# N cases (…)", the reference's answers by reason and, for each of
the first --show disagreements, the case and both answers. Exit 0 when all
agree, 1 otherwise, 2 when the driver fails or answers too few lines.
"""

import argparse
import collections
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import drive  # noqa: E402
import match_cases  # noqa: E402
import match_ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("drive")
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--cases", type=int, default=6000)
    ap.add_argument("--show", type=int, default=10)
    a = ap.parse_args()

    cases = match_cases.Gen(a.seed).run(a.cases)
    got = drive.run(a.drive, cases, len(cases))
    if got is None:
        return 2

    features = collections.Counter()
    for c in cases:
        features.update(c["feature"].split("/"))
    print("# %d cases (%s)" % (len(cases), ", ".join(
        "%s %d" % kv for kv in sorted(features.items()))))
    nicknames = match_ref.load_nicknames()
    kinds = collections.Counter()
    bad = []
    for c in cases:
        want = match_ref.answer(c, nicknames)
        kinds[want.split(" ")[0] + ":" + want.split(" ")[-1]] += 1
        if got[c["id"]] != want:
            bad.append((c, want, got[c["id"]]))
    print("# reference answers: %s" % ", ".join("%s %d" % kv for kv in sorted(kinds.items())))
    for c, want, have in bad[:a.show]:
        print("# DISAGREE case %d (%s): %s" % (c["id"], c["feature"], json.dumps(
            {k: c[k] for k in ("params", "query", "rows")}, separators=(",", ":"))))
        print("#   reference %s" % want)
        print("#   sdat_match_decide %s" % have)
    print("# %d of %d cases disagree" % (len(bad), len(cases)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
