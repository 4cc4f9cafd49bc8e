#!/usr/bin/env python3
"""Generated cases for the matching oracle (issue 26, item 1).

  match_cases.py [--seed N] [--cases N] > cases.jsonl

Deterministic for a seed. Each line is one case:
  {"id": N, "feature": LABEL, "params": {"match_threshold",
   "review_threshold", "match_margin", "unplaced_threshold",
   "register_size"}, "query": {"given", "family", "family_parts", "dob",
   "age", "occurred", "postcode", "uprn", "nhs_number", "upn"}, "rows":
   [{"child_id", "given", "family", "other_given", "other_family", "dob",
   "postcode", "uprn", "nhs_number", "upn", "family_count", "given_count"}]}
(names normalised, postcodes "OUTWARD INWARD", as sdat_match_decide takes
them).

Each case is a small register around one household: twins or triplets
(the same date of birth), siblings with like names (Noah/Noel,
Amber/Amba, Aiden/Aidan, Fennimore/Fenwicka, a name and its nickname),
a cousin under the same roof with another family name, a namesake of the
same names and date of birth at another address, a twin living apart,
and unrelated children. The officer's record is of one of them, or of an
unregistered sibling, with the slips officers make: a nickname, a middle
name, a typo, a spelling near both of two like names (Fenn for Fennimore
or Fenwicka), the other twin's name, an initial, a missing or swapped
date of birth, an age in place of it (fitting, a year out, two out), the
incident address or none (not resident), an NHS number or UPN that is
the child's, the other twin's, or both of different children. The
thresholds and margin vary around their defaults (18, 14, 5, 24) so that
scores land on both sides of each.
"""

import argparse
import datetime as dt
import json
import random
import sys

DAY = dt.timedelta(days=1)
# Pairs of like given names (alike for the sibling guard), and names unlike
# all of them.
ALIKE = [("aiden", "aidan"), ("noah", "noel"), ("amber", "amba"), ("fennimore", "fenwicka"),
         ("olivia", "livvy"), ("amelia", "mia"), ("william", "liam"), ("isabella", "izzy"),
         ("jon", "john"), ("katie", "kate"), ("harry", "henry"), ("sophia", "sofia")]
UNLIKE = ["oscar", "priya", "zainab", "ruby", "tobias", "grace", "yusuf", "maisie", "dmitri",
          "ellen", "bramwell", "quentin", "xanthe", "ugo"]
FAMILIES = ["testwood", "quillbrook", "smith", "okafor", "nguyen", "brennan", "fairweather"]
OUTWARDS = ["DE22", "DE23", "S40", "NG1", "B12"]
# Spellings near both names of a pair, as an officer might write either.
BETWEEN = {"aiden": "aidn", "aidan": "aidn", "noah": "noa", "noel": "noe", "amber": "ambar",
           "amba": "ambar", "fennimore": "fenn", "fenwicka": "fenn", "katie": "kati",
           "kate": "kati", "sophia": "sofie", "sofia": "sofie", "jon": "jonn", "john": "jonn"}


def typo(name, r):
    if len(name) < 4:
        return name + "e"
    i = r.randint(1, len(name) - 2)
    return name[:i] + name[i + 1] + name[i] + name[i + 2:]


class Gen:
    def __init__(self, seed):
        self.r = random.Random(seed)
        self.serial = 0

    def postcode(self, outward=None, sector=None):
        r = self.r
        return "%s %d%s%s" % (outward or r.choice(OUTWARDS),
                              sector if sector is not None else r.randint(0, 9),
                              r.choice("ABDEFG"), r.choice("HJLNPQ"))

    def nhs(self):
        self.serial += 1
        return "999%07d" % self.serial

    def row(self, cid, given, family, dob, postcode, uprn, counts=True):
        r = self.r
        row = {"child_id": cid, "given": given, "family": family, "other_given": "",
               "other_family": "", "dob": dob.isoformat(), "postcode": postcode, "uprn": uprn,
               "nhs_number": self.nhs() if r.random() < 0.7 else None,
               "upn": "B8012000%05d" % self.serial if r.random() < 0.3 else None,
               "family_count": r.choice([0, 3, 40, 2000]) if counts else 0,
               "given_count": r.choice([0, 5, 300, 4000]) if counts else 0}
        return row

    def register(self, occurred):
        """A household and its neighbours; returns (rows, labels)."""
        r = self.r
        family = r.choice(FAMILIES)
        pc = self.postcode()
        uprn = str(r.randint(10 ** 8, 10 ** 9)) if r.random() < 0.6 else None
        twin_dob = occurred - r.randint(2 * 365, 16 * 365) * DAY
        a, b = r.choice(ALIKE)
        if r.random() < 0.5:
            a, b = b, a
        rows, labels = [], []
        shape = r.choice(["twins-alike", "twins-unlike", "siblings-alike", "triplets",
                          "single", "cousin", "namesake-elsewhere", "twin-apart"])
        labels.append(shape)
        rows.append(self.row("K1", a, family, twin_dob, pc, uprn))
        if shape == "twins-alike":
            rows.append(self.row("K2", b, family, twin_dob, pc, uprn))
        elif shape == "twins-unlike":
            rows.append(self.row("K2", r.choice(UNLIKE), family, twin_dob, pc, uprn))
        elif shape == "siblings-alike":
            rows.append(self.row("K2", b, family, twin_dob - r.randint(300, 1500) * DAY, pc, uprn))
        elif shape == "triplets":
            rows.append(self.row("K2", b, family, twin_dob, pc, uprn))
            rows.append(self.row("K3", r.choice(UNLIKE), family, twin_dob, pc, uprn))
        elif shape == "cousin":
            other = r.choice([f for f in FAMILIES if f != family])
            rows.append(self.row("K2", r.choice([a, b]), other,
                                 twin_dob + r.choice([0, 40, 400]) * DAY, pc, uprn))
        elif shape == "namesake-elsewhere":
            rows.append(self.row("K2", a, family, twin_dob, self.postcode(), None))
        elif shape == "twin-apart":
            rows.append(self.row("K2", b, family, twin_dob, self.postcode(), None))
        # Middle names, aliases and double-barrelled names now and then.
        for row in rows:
            roll = r.random()
            if roll < 0.15:
                row["other_given"] = r.choice(UNLIKE + [x for p in ALIKE for x in p])
                labels.append("middle-name")
            elif roll < 0.25:
                row["other_family"] = r.choice(FAMILIES)
                labels.append("alias")
        # Unrelated children: another family in the postcode, someone born
        # the same day elsewhere.
        for k in range(r.randint(0, 3)):
            rows.append(self.row("U%d" % k, r.choice(UNLIKE), r.choice(FAMILIES),
                                 twin_dob if r.random() < 0.4 else
                                 occurred - r.randint(365, 17 * 365) * DAY,
                                 pc if r.random() < 0.4 else self.postcode(), None))
        r.shuffle(rows)
        return rows, labels

    def query(self, rows, occurred, labels):
        r = self.r
        target = r.choice(rows)
        unregistered = r.random() < 0.1
        given, family = target["given"], target["family"]
        dob = dt.date.fromisoformat(target["dob"])
        if unregistered:  # a sibling not in the register: same family and address
            given = r.choice(UNLIKE)
            dob = dob - r.randint(200, 900) * DAY
            labels.append("unregistered")
        g = r.choice(["exact"] * 4 + ["nickname", "middle", "typo", "other-twin", "initial",
                                      "missing", "swapped-names", "between", "between"])
        labels.append("given-" + g)
        twins = [x for x in rows if x is not target and x["dob"] == target["dob"]]
        if g == "nickname":
            pair = [p for p in ALIKE if given in p]
            given = (pair[0][1] if pair[0][0] == given else pair[0][0]) if pair else given
        elif g == "middle" and target["other_given"]:
            given = target["other_given"]
        elif g == "typo":
            given = typo(given, r)
        elif g == "other-twin" and twins:
            given = twins[0]["given"]
        elif g == "initial":
            given = given[0]
        elif g == "between":
            given = BETWEEN.get(given, given)
        elif g == "missing":
            given = ""
        elif g == "swapped-names":
            given, family = family, given
        f = r.choice(["exact"] * 5 + ["typo", "alias", "double", "missing"])
        labels.append("family-" + f)
        parts = []
        if f == "typo":
            family = typo(family, r)
        elif f == "alias" and target["other_family"]:
            family = target["other_family"]
        elif f == "double":
            parts = [family, r.choice(FAMILIES)]
            family = "".join(parts)
        elif f == "missing":
            family = ""
        q = {"given": given, "family": family, "family_parts": parts, "dob": None, "age": -1,
             "occurred": occurred.isoformat(), "postcode": "", "uprn": "", "nhs_number": "",
             "upn": ""}
        d = r.choice(["exact"] * 5 + ["swapped", "one-off", "age", "age-year-out", "age-two-out",
                                      "wrong", "missing"])
        labels.append("dob-" + d)
        if d == "exact":
            q["dob"] = dob.isoformat()
        elif d == "swapped" and dob.day <= 12:
            q["dob"] = dt.date(dob.year, dob.day, dob.month).isoformat()
        elif d == "one-off":
            q["dob"] = (dob + r.choice([1, -1, 31]) * DAY).isoformat()
        elif d.startswith("age"):
            age = occurred.year - dob.year - ((occurred.month, occurred.day) < (dob.month, dob.day))
            q["age"] = age + {"age": 0, "age-year-out": r.choice([-1, 1]),
                              "age-two-out": r.choice([-2, 2])}[d]
        elif d == "wrong":
            q["dob"] = (dob - r.randint(400, 3000) * DAY).isoformat()
        a = r.choice(["home", "home", "home", "uprn", "elsewhere", "sector", "none"])
        labels.append("address-" + a)
        if a in ("home", "uprn"):
            q["postcode"] = target["postcode"]
        if a == "uprn" and target["uprn"]:
            q["uprn"] = target["uprn"]
        elif a == "elsewhere":
            q["postcode"] = self.postcode()
        elif a == "sector":
            out, inward = target["postcode"].split(" ")
            q["postcode"] = self.postcode(out, int(inward[0]))
        i = r.choice(["none"] * 5 + ["own-nhs", "twin-nhs", "own-upn", "nhs-and-other-upn"])
        labels.append("id-" + i)
        others = [x for x in rows if x is not target]
        if i == "own-nhs" and target["nhs_number"] and not unregistered:
            q["nhs_number"] = target["nhs_number"]
        elif i == "twin-nhs" and twins and twins[0]["nhs_number"]:
            q["nhs_number"] = twins[0]["nhs_number"]
        elif i == "own-upn" and target["upn"] and not unregistered:
            q["upn"] = target["upn"]
        elif i == "nhs-and-other-upn" and target["nhs_number"]:
            q["nhs_number"] = target["nhs_number"]
            upns = [x["upn"] for x in others if x["upn"]]
            if upns:
                q["upn"] = upns[0]
        return q

    def params(self, labels):
        r = self.r
        p = {"match_threshold": 18, "review_threshold": 14, "match_margin": 5,
             "unplaced_threshold": 24, "register_size": r.choice([0, 100000, 1000000])}
        if r.random() < 0.4:
            p["match_margin"] = r.choice([0.5, 1, 2, 3, 4, 4.5, 6, 8, 12])
            p["match_threshold"] = r.choice([14, 16, 18, 20, 24, 28])
            p["review_threshold"] = r.choice([8, 10, 14])
            p["unplaced_threshold"] = max(p["match_threshold"], r.choice([18, 24, 30]))
            labels.append("params-varied")
        return p

    def run(self, n):
        cases = []
        for cid in range(n):
            occurred = dt.date(2026, 1, 1) + self.r.randint(0, 700) * DAY
            rows, labels = self.register(occurred)
            q = self.query(rows, occurred, labels)
            p = self.params(labels)
            cases.append({"id": cid, "feature": "/".join(labels), "params": p, "query": q,
                          "rows": rows})
        return cases


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=26)
    ap.add_argument("--cases", type=int, default=6000)
    a = ap.parse_args()
    for c in Gen(a.seed).run(a.cases):
        sys.stdout.write(json.dumps(c, separators=(",", ":")) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
