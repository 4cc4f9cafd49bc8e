#!/usr/bin/env python3
"""The integration suite's view of the daemon's standard error.

logview.py FORMAT RAW_FILE: reads the daemon's log lines on standard input,
appends each line as written to RAW_FILE (for the personal-data scan), and
writes to standard output what the tests grep: the line itself for the text
format, or for the JSON format the same "TS LEVEL SUBSYSTEM: MESSAGE" line
rebuilt from the JSON object. A JSON line that does not parse, or lacks a
field, is recorded in RAW_FILE as "UNPARSABLE: ..." so the scan fails.
"""
import json
import sys

fmt, raw_path = sys.argv[1], sys.argv[2]
with open(raw_path, "a", encoding="utf-8", errors="replace") as raw:
    for line in sys.stdin.buffer:
        text = line.decode("utf-8", errors="replace").rstrip("\n")
        raw.write(text + "\n")
        raw.flush()
        if fmt == "json":
            try:
                o = json.loads(text)
                text = "%s %s %s: %s" % (o["ts"], o["level"], o["module"], o["msg"])
            except (ValueError, KeyError, TypeError):
                raw.write("UNPARSABLE: %s\n" % text)
                raw.flush()
        sys.stdout.write(text + "\n")
        sys.stdout.flush()
