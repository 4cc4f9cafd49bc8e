#!/usr/bin/env python3
"""An independent reference for routing (flows.md §1, "Route" and "Areas").

Written from the specification's words only, never from daemon/decide/
route.c, so that comparing the two (tests/integration/test_route_oracle.sh)
tests the C code against the spec rather than against itself.

The rules, as flows.md §1 words them:

  Incident area: the directory area whose postcode_districts contains
  location.postcode (entries are districts like DE22 or sectors like DE22 3;
  the longest entry that matches wins); failing that, the area named by the
  force's default_area. Neither: the incident cannot be routed
  (dead-letter, sdat-stage: routing).

  A matched child's area is the area with the child's la_code, else the
  incident area. The first row that applies wins:
    match, a current spell at a URN in the directory -> that school
        (one notification per school: dual registration), da-incident,
        no route_reason, on the school schedule;
    match, ehe true -> child's area ehe (else mash), da-incident, "ehe";
    match, a current spell only at URNs not in the directory -> child's
        area mash, "school-not-in-directory";
    match, no current spell, under 5 on the incident date -> child's area
        early_years (else mash), "under-five";
    match, no current spell otherwise -> child's area mash,
        "no-current-education";
    review -> incident area mash, review-needed, no route_reason;
    none -> incident area mash, unmatched-child, no route_reason.
  Education is resolved for the local date of reported_at; age on the
  incident date.

From events.md: a postcode is in BS 7666 form, any case, with or without
the space (normalised upper case with one space: the inward code is its
last three characters); an education spell is {urn, start, end or absent}
and date ranges are inclusive; a 29 February birthday is reached on 1 March
in common years.

Readings where the words leave room:
  - a district entry contains a postcode whose outward code is the entry; a
    sector entry one whose outward code and the inward code's first digit
    are the entry's (a postcode is never "in" DE2 because it starts DE22);
  - "in the directory" means a school recipient with that URN;
  - an area role that is not configured falls back to the area's mash, as
    the table's "(else mash)" says; every area here has a mash.

Usage as a library: route(directory, case) -> answer text.
Usage as a program: route_ref.py CASES.jsonl -> one "ID ANSWER" line a case,
ANSWER as route_compare.py describes (answer()).
"""

import datetime as dt
import json
import sys


def normalise_postcode(raw):
    """Upper case, spaces dropped, one space before the inward code (the
    last three characters)."""
    compact = "".join(raw.split()).upper()
    return compact[:-3] + " " + compact[-3:] if len(compact) > 3 else compact


def entry_contains(entry, postcode):
    outward, _, inward = postcode.partition(" ")
    if " " in entry:
        e_out, e_sector = entry.split(" ")
        return e_out == outward and inward[:1] == e_sector
    return entry == outward


def incident_area(directory, incident):
    """The incident area's la_code, or None (dead-letter)."""
    raw = (incident.get("location") or {}).get("postcode")
    if raw:
        postcode = normalise_postcode(raw)
        found = [(len(e), a["la_code"]) for a in directory["areas"]
                 for e in a.get("postcode_districts", []) if entry_contains(e, postcode)]
        if found:
            longest = max(n for n, _ in found)
            winners = {la for n, la in found if n == longest}
            assert len(winners) == 1, "an entry listed in two areas (-t rejects it)"
            return winners.pop()
    for force in directory.get("forces", []):
        if force["id"] == incident.get("force") and force.get("default_area"):
            if any(a["la_code"] == force["default_area"] for a in directory["areas"]):
                return force["default_area"]
    return None


def age_on(dob, on):
    """Completed years; 29 February reached on 1 March in common years."""
    try:
        birthday = dob.replace(year=on.year)
    except ValueError:
        birthday = dt.date(on.year, 3, 1)
    return on.year - dob.year - (1 if on < birthday else 0)


def current(spell, on):
    start = dt.date.fromisoformat(spell["start"])
    end = dt.date.fromisoformat(spell["end"]) if spell.get("end") else None
    return start <= on and (end is None or on <= end)


def child_routes(directory, decision, child, area_code, reported, occurred):
    """flows.md §1's table: a list of (recipient, kind, route_reason,
    school) for one child, the incident area being area_code."""
    areas = {a["la_code"]: a for a in directory["areas"]}
    schools = {r["urn"]: r["id"] for r in directory["recipients"]
               if r["kind"] == "school" and r.get("urn")}
    incident = areas[area_code]
    if decision == "review":
        return [(incident["mash"], "review-needed", None, False)]
    if decision == "none":
        return [(incident["mash"], "unmatched-child", None, False)]
    area = areas.get(child.get("la_code"), incident)

    def role(name):
        return area.get(name) or area["mash"]

    spells = [s for s in child.get("education", []) if current(s, reported)]
    at_schools = []
    for s in spells:
        school = schools.get(s["urn"])
        if school and school not in at_schools:
            at_schools.append(school)
    if at_schools:
        return [(s, "da-incident", None, True) for s in at_schools]
    if child.get("ehe") is True:
        return [(role("ehe"), "da-incident", "ehe", False)]
    if spells:
        return [(area["mash"], "da-incident", "school-not-in-directory", False)]
    if age_on(dt.date.fromisoformat(child["dob"]), occurred) < 5:
        return [(role("early_years"), "da-incident", "under-five", False)]
    return [(area["mash"], "da-incident", "no-current-education", False)]


def fmt_routes(routes):
    return ",".join(sorted("%s/%s/%s/%s" % (r, k, reason or "-", "school" if s else "now")
                           for r, k, reason, s in routes))


def answer(directory, case):
    """"AREA ROUTES": AREA the incident area's la_code or "-"; ROUTES
    "dead-letter" when there is no incident area, else the child's routes,
    each RECIPIENT/KIND/REASON/WHEN (REASON "-" when absent, WHEN "school"
    for the school schedule or "now"), sorted and comma-separated."""
    area = incident_area(directory, case["incident"])
    if area is None:
        return "- dead-letter"
    return "%s %s" % (area, fmt_routes(child_routes(
        directory, case["decision"], case.get("child") or {}, area,
        dt.date.fromisoformat(case["reported_date"]),
        dt.date.fromisoformat(case["incident_date"]))))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: route_ref.py CASES.jsonl\n")
        return 2
    directories = {}
    with open(argv[1]) as f:
        for line in f:
            rec = json.loads(line)
            if "directory" in rec:
                directories[rec["directory_id"]] = rec["directory"]
            else:
                print(rec["id"], answer(directories[rec["dir"]], rec))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
