#!/usr/bin/env python3
"""Deterministic, labelled synthetic data for benchmarking child matching.

    python3 bench/synth/gen.py --seed N --children 100000 --police 20000 --out DIR

writes DIR/register.jsonl (council.child/1), DIR/police.jsonl
(police.da-incident/1) and DIR/truth.jsonl (one label line per police child,
in file order); with --flags N also DIR/flags.jsonl (council.cpis-flag/1).
Everything is synthetic: names are drawn from the team's own lists, NHS
numbers are in the 999 test range, addresses are random combinations of
invented street names, numbers and postcodes, officers' phones are in
Ofcom's drama range and e-mails are @police.example.
Standard library only; the same seed gives byte-identical output.
See README.md for the error vocabulary and proportions.

This file is the command line; the generation is in the modules beside it:
names.py, identifiers.py, dates.py, places.py, register.py, police.py,
police_errors.py, flags.py and jsonl.py.
"""

import argparse
import os
import random
import sys

from flags import write_flags
from identifiers import selftest
from names import NamePool
from police import Setting, plan_incidents, write_police
from register import household_sizes, write_register


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--children", type=int, default=100000)
    ap.add_argument("--police", type=int, default=20000, help="number of incidents")
    ap.add_argument("--flags", type=int, default=0,
                    help="CP-IS flags on register children's NHS numbers (flags.jsonl)")
    ap.add_argument("--out", required=True)
    a = ap.parse_args(argv)
    if a.children < 10 or a.police < 1 or a.flags < 0:
        ap.error("need --children >= 10, --police >= 1 and --flags >= 0")
    return a


def stream(seed, name):
    """The random stream called name for seed: each part of the set has its
    own, so that changing one part leaves the others' draws alone."""
    return random.Random("sdat-synth/%d/%s" % (seed, name))


def main(argv=None):
    a = parse_args(argv)
    os.makedirs(a.out, exist_ok=True)
    selftest()
    names = NamePool()
    # 1. household sizes (their own stream, so the plan can be made first)
    sizes = household_sizes(stream(a.seed, "sizes"), a.children)
    # 2. incident plan: which households the police meet
    plan, keep = plan_incidents(stream(a.seed, "plan"), a.police, len(sizes))
    # 3. the register
    places, nhs_alloc, kept, flag_nhs = write_register(
        os.path.join(a.out, "register.jsonl"), stream(a.seed, "register"), names,
        sizes, keep, a.children, bool(a.flags))
    # 4. incidents
    write_police(a.out, stream(a.seed, "police"), Setting(names, kept, places, nhs_alloc), plan)
    # 5. CP-IS flags (last, from their own stream, so that the files above
    # are the same with or without them)
    if a.flags:
        write_flags(stream(a.seed, "flags"), a.flags, flag_nhs, nhs_alloc,
                    os.path.join(a.out, "flags.jsonl"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
