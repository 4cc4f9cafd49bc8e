"""The C side of an oracle comparison: a drive helper (tests/helpers/*-drive.c)
reads the cases as JSON Lines and answers "ID ANSWER" a line."""
import json
import os
import subprocess
import sys


def run(drive, lines, n_cases):
    """Feeds LINES to DRIVE; its answers by case id, or None (said why in a
    "#" line) when it failed or did not answer each of N_CASES once."""
    name = os.path.basename(drive)
    text = "".join(json.dumps(x, separators=(",", ":")) + "\n" for x in lines)
    p = subprocess.run([drive], input=text, capture_output=True, text=True)
    if p.returncode != 0:
        sys.stderr.write(p.stderr)
        print("# %s exited %d" % (name, p.returncode))
        return None
    got = {}
    for line in p.stdout.splitlines():
        cid, answer = line.split(" ", 1)
        got[int(cid)] = answer
    if len(got) != n_cases:
        print("# %s answered %d of %d cases" % (name, len(got), n_cases))
        return None
    return got
