#!/usr/bin/env python3
"""An independent reference for matching's decision (flows.md §4, with the
levels, weights and rules docs/MATCHING.md gives for them).

Written from those words only, never from daemon/decide/match.c or
match_guard.c, so that comparing the two (tests/integration/
test_match_oracle.sh) tests the C code against the documents. Scope: one
police child against its candidate rows (sdat_match_decide): the
identifier rule with its margin, the score rule with match_margin and the
margin by evidence, the agreement rule, the unplaced threshold, the sibling
guard (twins, like-named siblings and cousins, namesakes at one address)
and age-only reviews. Blocking, normalisation and the incident's children
decided together are outside it: names arrive normalised (lower-case
ASCII), postcodes as "OUTWARD INWARD".

Readings where the words leave room:
  - "within match_margin" of the identified child: another candidate's
    score greater than the identified child's score less the margin (a
    difference of exactly the margin is not within it);
  - candidates are the best five distinct children by score, ties by child
    id; the identifier's margin looks at those five;
  - Jaro-Winkler is Winkler's: the match window half the longer length less
    one, transpositions halved (integer), a common prefix of up to four
    letters at 0.1;
  - an exact name's term frequency: u = count / register size, bounded;
    the level's own u (0.01 given, 0.002 family) when either is unknown.
"""

import datetime as dt
import json
import math
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NICKNAMES = os.path.join(HERE, "..", "..", "config", "nicknames.txt")


def w(m, u):
    return math.log2(m / u)


# docs/MATCHING.md "Levels and weights": (m, u).
GIVEN = {"exact": (0.8, 0.01), "other-name": (0.04, 0.002), "nickname": (0.07, 0.002),
         "similar": (0.05, 0.004), "similar-weak": (0.02, 0.02), "initial": (0.01, 0.05),
         "disagree": (0.01, 0.91)}
FAMILY = {"exact": (0.85, 0.002), "alias": (0.05, 0.002), "similar": (0.05, 0.002),
          "similar-weak": (0.02, 0.01), "disagree": (0.03, 0.985)}
DOB = {"exact": (0.88, 0.00015), "swapped": (0.02, 0.0001), "one-off": (0.05, 0.005),
       "year": (0.95, 0.11), "disagree": (0.02, 0.99)}
POSTCODE = {"full": (0.6, 0.0002), "sector": (0.05, 0.004), "district": (0.1, 0.05),
            "disagree": (0.25, 0.95)}
UPRN_EXACT, UPRN_EXACT_SAME_POSTCODE, UPRN_DISAGREE = (0.5, 0.0002), (0.9, 1 / 15), (0.5, 0.9998)
SWAPPED_NAME = (0.02, 0.0001)
GIVEN_U, FAMILY_U = (0.002, 0.05), (0.0005, 0.05)
FIELDS = ["given_name", "family_name", "dob", "postcode", "uprn"]


def load_nicknames(path=NICKNAMES):
    groups = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                groups.append(set(line.split()))
    return groups


def jaro_winkler(a, b):
    if not a or not b:
        return 0.0
    if a == b:
        return 1.0
    window = max(len(a), len(b)) // 2 - 1
    window = max(window, 0)
    am, bm = [False] * len(a), [False] * len(b)
    m = 0
    for i, ch in enumerate(a):
        for j in range(max(0, i - window), min(len(b), i + window + 1)):
            if not bm[j] and b[j] == ch:
                am[i] = bm[j] = True
                m += 1
                break
    if m == 0:
        return 0.0
    a_seq = [a[i] for i in range(len(a)) if am[i]]
    b_seq = [b[j] for j in range(len(b)) if bm[j]]
    t = sum(1 for x, y in zip(a_seq, b_seq) if x != y) // 2
    jaro = (m / len(a) + m / len(b) + (m - t) / m) / 3
    prefix = 0
    while prefix < min(4, len(a), len(b)) and a[prefix] == b[prefix]:
        prefix += 1
    return jaro + prefix * 0.1 * (1 - jaro)


def words(s):
    return (s or "").split()


def parse_date(s):
    return dt.date.fromisoformat(s) if s else None


def age_on(dob, on):
    try:
        birthday = dob.replace(year=on.year)
    except ValueError:
        birthday = dt.date(on.year, 3, 1)
    return on.year - dob.year - (1 if on < birthday else 0)


class Matcher:
    def __init__(self, params, nicknames):
        self.p = params
        self.groups = nicknames

    def nick(self, a, b):
        return a != b and any(a in g and b in g for g in self.groups)

    def tf(self, mu, count, bounds):
        m, u = mu
        size = self.p.get("register_size", 0)
        if size > 0 and count and count > 0:
            u = min(max(count / size, bounds[0]), bounds[1])
        return w(m, u)

    def given(self, q, r):
        if not q["given"] or not r.get("given"):
            return "missing", 0.0
        if q["given"] == r["given"]:
            return "exact", self.tf(GIVEN["exact"], r.get("given_count"), GIVEN_U)
        if q["given"] in words(r.get("other_given")):
            level = "other-name"
        elif self.nick(q["given"], r["given"]) or any(
                self.nick(q["given"], x) for x in words(r.get("other_given"))):
            level = "nickname"
        else:
            jw = jaro_winkler(q["given"], r["given"])
            if jw >= 0.92:
                level = "similar"
            elif jw >= 0.85:
                level = "similar-weak"
            elif (len(q["given"]) == 1 or len(r["given"]) == 1) and q["given"][0] == r["given"][0]:
                level = "initial"
            else:
                level = "disagree"
        return level, w(*GIVEN[level])

    def family(self, q, r):
        if not q["family"] or not r.get("family"):
            return "missing", 0.0
        if q["family"] == r["family"]:
            return "exact", self.tf(FAMILY["exact"], r.get("family_count"), FAMILY_U)
        other = words(r.get("other_family"))
        if q["family"] in other or any(p == r["family"] or p in other
                                       for p in q.get("family_parts", [])):
            level = "alias"
        else:
            jw = jaro_winkler(q["family"], r["family"])
            level = "similar" if jw >= 0.92 else "similar-weak" if jw >= 0.85 else "disagree"
        return level, w(*FAMILY[level])

    def dob(self, q, r):
        rd = parse_date(r.get("dob"))
        if rd is None:
            return "missing", 0.0
        if q.get("dob"):
            qd = parse_date(q["dob"])
            if qd == rd:
                level = "exact"
            elif qd.year == rd.year and qd.month == rd.day and qd.day == rd.month:
                level = "swapped"
            elif (qd.year == rd.year) + (qd.month == rd.month) + (qd.day == rd.day) == 2:
                level = "one-off"
            else:
                level = "disagree"
            return level, w(*DOB[level])
        if q.get("age", -1) >= 0:
            level = "year" if age_on(rd, parse_date(q["occurred"])) == q["age"] else "disagree"
            return level, w(*DOB[level])
        return "missing", 0.0

    def postcode(self, q, r):
        if not q.get("postcode") or not r.get("postcode"):
            return "missing", 0.0
        if q["postcode"] == r["postcode"]:
            level = "full"
        else:
            qo, _, qi = q["postcode"].partition(" ")
            ro, _, ri = r["postcode"].partition(" ")
            if qo == ro and qi and ri:
                level = "sector" if qi[0] == ri[0] else "district"
            else:
                level = "disagree"
        return level, w(*POSTCODE[level])

    def uprn(self, q, r, postcode_level):
        if not q.get("uprn") or not r.get("uprn"):
            return "missing", 0.0
        if q["uprn"] != r["uprn"]:
            return "disagree", w(*UPRN_DISAGREE)
        return "exact", w(*(UPRN_EXACT_SAME_POSTCODE if postcode_level == "full" else UPRN_EXACT))

    def score(self, q, r):
        f = {"given_name": self.given(q, r), "family_name": self.family(q, r),
             "dob": self.dob(q, r), "postcode": self.postcode(q, r)}
        f["uprn"] = self.uprn(q, r, f["postcode"][0])
        if (f["given_name"][0] == "disagree" and f["family_name"][0] == "disagree"
                and q["given"] == r.get("family") and q["family"] == r.get("given")):
            f["given_name"] = f["family_name"] = ("swapped", w(*SWAPPED_NAME))
        return {"id": r["child_id"], "fields": f, "score": sum(v[1] for v in f.values()),
                "row": r}

    # ---- the sibling guard (MATCHING.md "The sibling guard") ----

    @staticmethod
    def same_family(a, b):
        return bool(a.get("family") and b.get("family")) and (
            a["family"] == b["family"] or a["family"] in words(b.get("other_family"))
            or b["family"] in words(a.get("other_family")))

    def household(self, a, b):
        if a.get("uprn") and b.get("uprn"):
            return a["uprn"] == b["uprn"]
        return bool(a.get("postcode")) and a.get("postcode") == b.get("postcode") and \
            self.same_family(a, b)

    def alike(self, a, b):
        x, y = a.get("given"), b.get("given")
        if not x or not y:
            return False
        if x == y or self.nick(x, y):
            return True
        jw = jaro_winkler(x, y)
        return jw >= 0.85 or (jw >= 0.70 and len(x) > 1 and x[:2] == y[:2])

    @staticmethod
    def namesakes(a, b):
        if not a.get("given") or a.get("given") != b.get("given"):
            return False
        if a.get("uprn") and b.get("uprn"):
            return a["uprn"] == b["uprn"]
        return bool(a.get("postcode")) and a.get("postcode") == b.get("postcode")

    @staticmethod
    def strength(level):
        return {"exact": 5, "other-name": 5, "nickname": 4, "similar": 3, "swapped": 3,
                "similar-weak": 2, "disagree": 0}.get(level, 1)

    def guard_passes(self, q, rows, best_row):
        b = self.score(q, best_row)
        bs = self.strength(b["fields"]["given_name"][0])
        for r in rows:
            if r["child_id"] == best_row["child_id"]:
                continue
            home = self.household(best_row, r)
            twin = home and best_row.get("dob") and best_row.get("dob") == r.get("dob")
            if not (twin or (home and self.alike(best_row, r)) or self.namesakes(best_row, r)):
                continue
            c = self.score(q, r)
            cs = self.strength(c["fields"]["given_name"][0])
            if twin:
                told_apart = bs >= 4 and cs == 0
            else:
                bf, cf = b["fields"], c["fields"]
                apart = (bf["family_name"][0] in ("exact", "alias")
                         and cf["family_name"][0] == "disagree"
                         and bf["dob"][0] in ("exact", "swapped") and cf["dob"][0] == "disagree")
                told_apart = cs < bs or apart
            if not told_apart:
                return False
        return True

    # ---- the decision ----

    def decide(self, q, rows):
        """(decision, rule, child_id or "-", reason key)."""
        scored = {}
        for r in rows:
            scored.setdefault(r["child_id"], self.score(q, r))
        cands = sorted(scored.values(), key=lambda c: (-c["score"], c["id"]))[:5]
        by_nhs = [r for r in rows if q.get("nhs_number") and r.get("nhs_number") == q["nhs_number"]]
        by_upn = [r for r in rows if q.get("upn") and r.get("upn") == q["upn"]]
        if by_nhs or by_upn:
            if by_nhs and by_upn and by_nhs[-1]["child_id"] != by_upn[-1]["child_id"]:
                return "review", "identifier", "-", "identifier-two-children"
            row = (by_nhs or by_upn)[-1]
            c = self.score(q, row)
            if c["fields"]["dob"][0] not in ("exact", "year"):
                return "review", "identifier", "-", "identifier-dob"
            if c["fields"]["given_name"][0] in ("disagree", "similar-weak", "initial"):
                return "review", "identifier", "-", "identifier-given"
            if any(o["id"] != row["child_id"] and o["score"] > c["score"] - self.p["match_margin"]
                   for o in cands):
                return "review", "identifier", "-", "identifier-another"
            if not self.guard_passes(q, rows, row):
                return "review", "identifier", "-", "sibling-guard"
            return "match", "identifier", row["child_id"], "identifier"
        if not cands:
            return "none", "none", "-", "none"
        best = cands[0]
        p = self.p
        clear = best["score"] >= p["match_threshold"] and self.margin_holds(cands) and \
            self.evidence(best)
        unplaced = (best["fields"]["postcode"][0] == "missing"
                    and best["fields"]["uprn"][0] == "missing"
                    and best["score"] < p["unplaced_threshold"])
        if clear and unplaced:
            return "review", "score", "-", "unplaced"
        if clear and not self.guard_passes(q, rows, best["row"]):
            return "review", "score", "-", "sibling-guard"
        if clear:
            return "match", "score", best["id"], "score"
        if best["score"] >= p["review_threshold"]:
            return "review", "score", "-", "score-unclear" if best["score"] >= \
                p["match_threshold"] else "score-between"
        if self.age_only(q, best):
            return "review", "score", "-", "age-only"
        return "none", "none", "-", "none"

    def margin_holds(self, cands):
        if len(cands) < 2:
            return True
        a, b = cands[0], cands[1]
        margin = a["score"] - b["score"]
        if margin < self.p["match_margin"]:
            return False
        other_names = a["row"].get("given") and b["row"].get("given") and \
            a["row"]["given"] != b["row"]["given"]
        told_apart = a["fields"]["given_name"][0] != b["fields"]["given_name"][0]
        dob_gap = a["fields"]["dob"][1] - b["fields"]["dob"][1]
        return not other_names or told_apart or margin - dob_gap >= self.p["match_margin"]

    @staticmethod
    def evidence(c):
        f = {k: v[0] for k, v in c["fields"].items()}

        def agrees(level):
            return level not in ("disagree", "missing", "initial")
        if not agrees(f["given_name"]):
            return False
        exact_given = f["given_name"] == "exact"
        if f["family_name"] == "disagree" and not exact_given:
            return False
        if f["dob"] not in ("exact", "swapped") and f["postcode"] != "full" and \
                f["uprn"] != "exact":
            return False
        return agrees(f["dob"]) or exact_given

    @staticmethod
    def age_only(q, best):
        f = best["fields"]
        if f["given_name"][0] not in ("exact", "other-name", "nickname") or \
                f["family_name"][0] not in ("exact", "alias", "similar"):
            return False
        if q.get("dob") or q.get("age", -1) < 0 or not best["row"].get("dob"):
            return False
        age = age_on(parse_date(best["row"]["dob"]), parse_date(q["occurred"]))
        return q["age"] - 1 <= age <= q["age"] + 1


def answer(case, nicknames):
    return " ".join(Matcher(case["params"], nicknames).decide(case["query"], case["rows"]))


def main(argv):
    if len(argv) != 2:
        sys.stderr.write("usage: match_ref.py CASES.jsonl\n")
        return 2
    nicknames = load_nicknames()
    with open(argv[1]) as f:
        for line in f:
            case = json.loads(line)
            print(case["id"], answer(case, nicknames))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
