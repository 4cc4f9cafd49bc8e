#!/usr/bin/env python3
"""Generated cases for the routing oracle (issue 26, item 1).

  route_cases.py [--seed N] [--directories N] [--per-directory N] > cases.jsonl

Deterministic for a seed. The output is JSON lines of two kinds:
  {"directory_id": K, "directory": {...}}   a directory, before its cases
  {"id": N, "dir": K, "feature": LABEL, "incident": {"force", "location":
   {"postcode"}}, "decision": "match"|"review"|"none", "child": {...},
   "reported_date": "YYYY-MM-DD", "incident_date": "YYYY-MM-DD"}
A directory is {"areas": [{"la_code", "postcode_districts", "mash", "ehe",
"early_years"}], "forces": [{"id", "default_area"}], "recipients": [{"id",
"kind", "la_code", "urn"}]}, its entries normalised as sdatd -t leaves them
(upper case, a sector as "DE22 3"), no entry in two areas.

What the cases cover (flows.md §1): postcodes in a district, in a sector
that another area's district contains (the longest entry wins), in a
district that is a prefix of another (S4 and S40, E1 and E1W, B1 and B12),
in no area (the force's default area, or none: dead-letter), absent, in
any case and with or without the space; forces configured, without a
default, unknown. Children matched, reviewed or unmatched; matched children
of a configured area or of none (the incident area); spells that are
current, ended the day before, ending on the report date, starting on it or
the day after, open, at directory schools of any area, at schools not in
the directory, twice at one school, at two schools (dual registration); EHE
with and without a current spell and with and without an ehe recipient;
under five on the incident date by a day either way, born on 29 February,
the report a few days after the incident (five on one date, four on the
other); areas with and without early years and ehe recipients.
"""

import argparse
import datetime as dt
import json
import random
import sys

DAY = dt.timedelta(days=1)
# Outward codes, with prefix traps (S4/S40, E1/E1W, B1/B12, DE2/DE22,
# W1/W1A, NG1/NG10).
OUTWARDS = ["DE1", "DE2", "DE21", "DE22", "DE23", "DE7", "NG1", "NG10", "S4", "S40", "S41",
            "E1", "E1W", "B1", "B12", "W1", "W1A", "EC1A", "M1", "M14", "LS6", "CF10"]
LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.next_id = 0
        self.out = []

    def directory(self, k):
        r = self.r
        n_areas = r.choice([1, 2, 2, 3, 3, 4])
        codes = r.sample(range(800, 990), n_areas)
        areas = []
        recipients = []
        used = set()
        pool = OUTWARDS[:]
        r.shuffle(pool)
        for i, code in enumerate(codes):
            la = str(code)
            entries = []
            for _ in range(r.randint(1, 5)):
                out = r.choice(pool)
                entry = out if r.random() < 0.55 else "%s %d" % (out, r.randint(0, 9))
                if entry not in used:
                    used.add(entry)
                    entries.append(entry)
            area = {"la_code": la, "name": "Area %s" % la, "postcode_districts": entries,
                    "mash": "la:%s:mash" % la}
            recipients.append({"id": "la:%s:mash" % la, "kind": "mash", "la_code": la})
            if r.random() < 0.6:
                area["ehe"] = "la:%s:ehe" % la
                recipients.append({"id": area["ehe"], "kind": "ehe", "la_code": la})
            if r.random() < 0.6:
                area["early_years"] = "la:%s:ey" % la
                recipients.append({"id": area["early_years"], "kind": "early_years",
                                   "la_code": la})
            for s in range(r.randint(0, 4)):
                urn = "%06d" % (100000 + 1000 * i + 10 * k % 1000 + s)
                recipients.append({"id": "school:%s" % urn, "kind": "school", "la_code": la,
                                   "urn": urn})
            areas.append(area)
        forces = []
        for f in range(r.randint(0, 3)):
            force = {"id": "force%d" % f}
            if r.random() < 0.8:
                force["default_area"] = r.choice(areas)["la_code"]
            forces.append(force)
        r.shuffle(recipients)
        return {"areas": areas, "forces": forces, "recipients": recipients}

    def postcode(self, d):
        """(raw postcode or None, label)."""
        r = self.r
        entries = [e for a in d["areas"] for e in a["postcode_districts"]]
        roll = r.random()
        if roll < 0.08:
            return None, "postcode-absent"
        if roll < 0.55 and entries:
            e = r.choice(entries)
            if " " in e:
                out, digit = e.split(" ")
                label = "in-sector"
            else:
                out, digit = e, str(r.randint(0, 9))
                label = "in-district"
        else:
            out, digit = r.choice(OUTWARDS), str(r.randint(0, 9))
            label = "any-outward"
        if r.random() < 0.2:  # a neighbouring sector of the same district
            digit = str((int(digit) + r.choice([1, 9])) % 10)
            label += "-next-sector"
        pc = "%s %s%s%s" % (out, digit, r.choice(LETTERS), r.choice(LETTERS))
        style = r.random()
        if style < 0.2:
            pc = pc.lower()
        elif style < 0.35:
            pc = pc.replace(" ", "")
        elif style < 0.45:
            pc = " %s " % pc.replace(" ", "  ")
        return pc, label

    def spell(self, d, reported):
        r = self.r
        schools = [x["urn"] for x in d["recipients"] if x["kind"] == "school"]
        urn = r.choice(schools) if schools and r.random() < 0.7 else "9%05d" % r.randint(0, 99999)
        shape = r.choice(["open", "open", "current", "ended-before", "ends-on-date",
                          "starts-on-date", "starts-after", "long-ago"])
        start = reported - r.randint(30, 2000) * DAY
        end = None
        if shape == "current":
            end = reported + r.randint(1, 300) * DAY
        elif shape == "ended-before":
            end = reported - DAY
        elif shape == "ends-on-date":
            end = reported
        elif shape == "starts-on-date":
            start = reported
        elif shape == "starts-after":
            start = reported + DAY * r.choice([1, 1, 30])
        elif shape == "long-ago":
            end = start + r.randint(30, 300) * DAY
            if end >= reported:
                end = reported - 10 * DAY
        s = {"urn": urn, "start": start.isoformat()}
        if end:
            s["end"] = end.isoformat()
        return s, shape

    def dob(self, occurred, reported):
        r = self.r
        roll = r.random()
        if roll < 0.35:  # the fifth birthday within a few days of the incident
            d = occurred + r.randint(-4, 4) * DAY
            try:
                return d.replace(year=d.year - 5), "fifth-birthday"
            except ValueError:
                return dt.date(d.year - 5, 2, 28), "fifth-birthday"
        if roll < 0.45:  # born on 29 February, five around the incident
            year = r.choice([2020, 2024]) if occurred.year - 5 >= 2020 else 2016
            return dt.date(year, 2, 29), "leap-birthday"
        if roll < 0.6:
            return occurred - r.randint(0, 5 * 365) * DAY, "under-five"
        return occurred - r.randint(5 * 365, 18 * 365) * DAY, "school-age"

    def case(self, k, d):
        r = self.r
        # Report dates near 1 March in leap and common years, and elsewhere.
        if r.random() < 0.3:
            reported = dt.date(r.choice([2025, 2026, 2028, 2029]), 3, 1) + r.randint(-3, 3) * DAY
        else:
            reported = dt.date(2026, 1, 1) + r.randint(0, 3 * 365) * DAY
        occurred = reported - r.choice([0, 0, 0, 1, 2, 5]) * DAY
        pc, pc_label = self.postcode(d)
        forces = [f["id"] for f in d["forces"]]
        force = r.choice(forces) if forces and r.random() < 0.8 else "unknown-force"
        incident = {"force": force, "location": {"address": "1 Synthetic Street"}}
        if pc is not None:
            incident["location"]["postcode"] = pc
        decision = r.choices(["match", "review", "none"], [0.75, 0.12, 0.13])[0]
        labels = [pc_label, decision]
        child = {}
        if decision == "match":
            codes = [a["la_code"] for a in d["areas"]]
            la = r.choice(codes) if r.random() < 0.8 else "999"
            dob, dob_label = self.dob(occurred, reported)
            child = {"child_id": "C%d" % self.next_id, "la_code": la, "dob": dob.isoformat()}
            labels += [dob_label, "own-area" if la != "999" else "area-not-configured"]
            if r.random() < 0.2:
                child["ehe"] = True
                labels.append("ehe")
            elif r.random() < 0.05:
                child["ehe"] = False
            n = r.choice([0, 0, 1, 1, 1, 2, 2, 3])
            spells = []
            for _ in range(n):
                s, shape = self.spell(d, reported)
                spells.append(s)
                labels.append(shape)
            if spells and r.random() < 0.1:
                spells.append(dict(spells[0]))  # the same school twice
                labels.append("same-school-twice")
            if spells or r.random() < 0.5:
                child["education"] = spells
        c = {"id": self.next_id, "dir": k, "feature": "/".join(labels), "incident": incident,
             "decision": decision, "child": child, "reported_date": reported.isoformat(),
             "incident_date": occurred.isoformat()}
        self.next_id += 1
        return c

    def run(self, directories, per_directory):
        lines = []
        for k in range(directories):
            d = self.directory(k)
            lines.append({"directory_id": k, "directory": d})
            for _ in range(per_directory):
                lines.append(self.case(k, d))
        return lines


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--directories", type=int, default=60)
    ap.add_argument("--per-directory", type=int, default=100)
    a = ap.parse_args()
    for line in Gen(a.seed).run(a.directories, a.per_directory):
        sys.stdout.write(json.dumps(line, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
