#!/usr/bin/env python3
"""The police incidents of quality.md P1, taken from gen.py's output.

    python3 bench/synth/select.py --children 2 --size 1100 --count N POLICE.jsonl >OUT.jsonl

keeps the first N incidents of POLICE.jsonl that have exactly --children
children and gives each a circumstances text of gen.py's [SYNTHETIC]
sentences, long enough that the line is about --size bytes (P1 speaks of
incidents of about 1.1 KB; gen.py's own are about 700 bytes with two
children). Everything else is gen.py's, so the children still match the
register generated with the same seed. Exit 1 if fewer than N qualify.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from police import CIRCUMSTANCES  # noqa: E402

MAX_CIRCUMSTANCES = 2000  # police.da-incident/1


def filler(k, length):
    """About `length` characters of the sentences, starting at the k-th,
    cut at a space."""
    out = []
    n = 0
    while n < length:
        s = CIRCUMSTANCES[k % len(CIRCUMSTANCES)]
        out.append(s)
        n += len(s) + 1
        k += 1
    text = " ".join(out)
    if len(text) > length:
        cut = text.rfind(" ", 0, length)
        text = text[:cut if cut > 0 else length]
    return text[:MAX_CIRCUMSTANCES]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--children", type=int, default=2)
    ap.add_argument("--size", type=int, default=1100)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("police")
    a = ap.parse_args()
    kept = 0
    with open(a.police, encoding="utf-8") as f:
        for line in f:
            if kept >= a.count:
                break
            inc = json.loads(line)
            if len(inc["children"]) != a.children:
                continue
            inc.pop("circumstances", None)
            officer = inc.pop("officer")
            bare = len(json.dumps(inc, ensure_ascii=False, separators=(", ", ": ")).encode()) + \
                len(json.dumps(officer, ensure_ascii=False, separators=(", ", ": ")).encode())
            room = a.size - bare - len(', "officer": ') - len(', "circumstances": ""') - 1
            if room > 0:
                inc["circumstances"] = filler(kept, room)
            inc["officer"] = officer
            sys.stdout.write(json.dumps(inc, ensure_ascii=False, separators=(", ", ": ")) + "\n")
            kept += 1
    if kept < a.count:
        print("select: only %d incidents with %d children in %s" % (kept, a.children, a.police),
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
