#!/usr/bin/env python3
"""pii-scan.py SCAN_DIR: fails when a daemon log kept by sdatd-wrapper.sh
holds personal data from the test data (quality.md S3): any given name,
family name, middle name, date of birth, NHS number, UPN or postcode that
appears in the synthetic data the tests feed the daemon (config/*.jsonl,
tests/corpus, and the JSON written inline in tests/integration/*.sh), or a
line that was not valid JSON in the JSON format. Prints one summary line,
and each finding as FILE:LINE: KIND (the value masked)."""
import glob
import json
import os
import re
import sys

FIELDS = {"given_name": "name", "family_name": "name", "middle_names": "name",
          "dob": "date of birth", "nhs_number": "NHS number", "upn": "UPN",
          "postcode": "postcode"}
values = {}
# Shorter values are not someone's (an NHS number has 10 digits, a UPN 13
# characters); the malformed corpus's "123" would match an offset.
MIN_LEN = {"name": 3, "date of birth": 10, "NHS number": 10, "UPN": 13, "postcode": 5}


def collect(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k in FIELDS and isinstance(v, str) and len(v) >= MIN_LEN[FIELDS[k]]:
                values[v] = FIELDS[k]
            collect(v)
    elif isinstance(o, list):
        for v in o:
            collect(v)


for path in glob.glob("config/*.jsonl") + glob.glob("tests/corpus/**/*.json*", recursive=True):
    for line in open(path, encoding="utf-8", errors="replace"):
        try:
            collect(json.loads(line))
        except ValueError:
            pass
pair = re.compile(r'\\?"(%s)\\?"\s*:\s*\\?"([^"\\]{3,80})\\?"' % "|".join(FIELDS))
for path in glob.glob("tests/integration/*.sh"):
    for m in pair.finditer(open(path, encoding="utf-8").read()):
        if len(m.group(2)) >= MIN_LEN[FIELDS[m.group(1)]]:
            values[m.group(2)] = FIELDS[m.group(1)]

# What police write when they do not know a child's name is not anyone's
# name, and librdkafka's debug lines say "Unknown member id" and "Unknown topic".
for placeholder in ("Unknown",):
    values.pop(placeholder, None)

patterns = []
for v, kind in values.items():
    if kind == "date of birth":
        # A timestamp is not a date of birth; a bare date is.
        patterns.append((re.compile(r"(?<![\d-])%s(?!T|\d)" % re.escape(v)), kind, v))
    else:
        patterns.append((re.compile(r"(?<![A-Za-z0-9])%s(?![A-Za-z0-9])" % re.escape(v)), kind, v))

logs = sorted(glob.glob(os.path.join(sys.argv[1], "*.log")))
findings, lines = [], 0
for path in logs:
    for n, line in enumerate(open(path, encoding="utf-8", errors="replace"), 1):
        lines += 1
        if line.startswith("UNPARSABLE: "):
            findings.append("%s:%d: a log line that is not valid JSON" % (path, n))
            continue
        for rx, kind, v in patterns:
            if rx.search(line):
                findings.append("%s:%d: %s (%s…)" % (path, n, kind, v[:2]))
print("log scan: %d daemon logs, %d lines, %d personal-data values from the test data, %d found"
      % (len(logs), lines, len(values), len(findings)))
for f in findings[:50]:
    print("  " + f)
sys.exit(1 if findings or not logs else 0)
