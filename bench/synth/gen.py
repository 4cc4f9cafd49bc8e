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
"""

import argparse
import bisect
import datetime as dt
import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))

REF = dt.date(2026, 11, 20)          # ages 0-17 relative to this date
DOB_MIN = dt.date(2008, 11, 21)      # 17 years old on REF
DOB_MAX = dt.date(2026, 10, 31)      # born before any incident (1-20 Nov)
LA_CODE = "831"
FORCE = "derbyshire"
ONE_DAY = dt.timedelta(days=1)

# --- built-in nickname mapping (formal name -> what an officer may write) ---
NICKNAMES = {
    "william": ["bill", "billy", "will", "liam"],
    "elizabeth": ["liz", "lizzie", "beth", "betty", "eliza"],
    "robert": ["rob", "robbie", "bob", "bobby"],
    "richard": ["rich", "richie", "ricky"],
    "james": ["jim", "jimmy", "jamie"],
    "thomas": ["tom", "tommy"],
    "joseph": ["joe", "joey"],
    "michael": ["mike", "mikey", "mickey"],
    "christopher": ["chris", "kit"],
    "alexander": ["alex", "xander", "al"],
    "daniel": ["dan", "danny"],
    "samuel": ["sam", "sammy"],
    "benjamin": ["ben", "benji", "benny"],
    "matthew": ["matt", "matty"],
    "nathaniel": ["nate", "nat"],
    "nathan": ["nate", "nat"],
    "jonathan": ["jon", "jonny"],
    "edward": ["ed", "eddie", "ted", "teddy", "ned"],
    "henry": ["harry", "hal"],
    "frederick": ["fred", "freddie", "freddy"],
    "alfred": ["alf", "alfie"],
    "theodore": ["theo", "teddy"],
    "anthony": ["tony", "ant"],
    "andrew": ["andy", "drew"],
    "charles": ["charlie", "chas"],
    "zachary": ["zach", "zac"],
    "joshua": ["josh"],
    "oliver": ["ollie", "olly"],
    "harrison": ["harry"],
    "sebastian": ["seb"],
    "nicholas": ["nick", "nicky"],
    "patrick": ["pat", "paddy"],
    "dominic": ["dom"],
    "stanley": ["stan"],
    "gabriel": ["gabe"],
    "louis": ["lou"],
    "maximilian": ["max"],
    "timothy": ["tim", "timmy"],
    "jacob": ["jake"],
    "muhammad": ["mo"],
    "mohammed": ["mo"],
    "katherine": ["kate", "katie", "kat", "kathy"],
    "catherine": ["cath", "cathy", "kate", "katie"],
    "margaret": ["maggie", "meg", "peggy"],
    "victoria": ["vicky", "tori"],
    "rebecca": ["becky", "becca"],
    "abigail": ["abi", "abby"],
    "samantha": ["sam", "sammy"],
    "jennifer": ["jen", "jenny"],
    "alexandra": ["alex", "lexi", "sasha"],
    "charlotte": ["lottie", "charlie"],
    "isabella": ["bella", "izzy", "issy"],
    "isabelle": ["izzy", "belle"],
    "annabelle": ["annie", "bella"],
    "eleanor": ["ellie", "nell", "nora"],
    "josephine": ["jo", "josie"],
    "amelia": ["millie", "amy"],
    "matilda": ["tilly", "tilda"],
    "florence": ["flo", "flossie"],
    "penelope": ["penny"],
    "harriet": ["hattie"],
    "philippa": ["pippa"],
    "georgina": ["georgie"],
    "olivia": ["liv", "livvy"],
    "sophia": ["sophie"],
    "evelyn": ["evie"],
    "emily": ["em", "emmy"],
    "jessica": ["jess", "jessie"],
    "gabriella": ["gabby", "ella"],
    "natasha": ["tash", "tasha"],
    "madeleine": ["maddie"],
    "christina": ["chrissy", "tina"],
    "megan": ["meg"],
}

# Near-identical spellings parents give twins (each maps to its partner).
TWIN_VARIANTS = {}
for _a, _b in [("aiden", "aidan"), ("jayden", "jaden"), ("isabel", "isabelle"),
               ("layla", "leila"), ("ellie", "elly"), ("sophie", "sofia"),
               ("hannah", "hanna"), ("holly", "hollie"), ("ava", "eva"),
               ("leo", "leon"), ("katie", "kate"), ("mohammed", "mohammad"),
               ("elliot", "ellis"), ("mia", "maya"), ("harley", "harvey"),
               ("jake", "jack"), ("lily", "libby"), ("amelia", "emilia")]:
    TWIN_VARIANTS[_a] = _b
    TWIN_VARIANTS[_b] = _a

STREET_A = ["Oak", "Elm", "Ash", "Birch", "Willow", "Hawthorn", "Rowan", "Holly",
            "Beech", "Chestnut", "Cedar", "Larch", "Maple", "Poplar", "Alder",
            "Hazel", "Linden", "Sycamore", "Juniper", "Laurel", "Meadow", "Brook",
            "Mill", "Church", "Station", "School", "Park", "Field", "Spring",
            "Orchard", "Quarry", "Chapel", "Forge", "Well", "Castle", "Canal",
            "Bridge", "Market", "Kiln", "Lark", "Wren", "Finch", "Swallow",
            "Heron", "Kestrel", "Plover", "Lapwing", "Otter", "Badger", "Vixen"]
STREET_B = ["Road", "Street", "Lane", "Close", "Avenue", "Drive", "Way",
            "Crescent", "Grove", "Gardens", "Court", "Rise", "View", "Walk",
            "Place", "Terrace", "Mews"]
# Districts DE1..DE75 with rough weights (a city core and market towns).
DISTRICTS = [(1, 3), (3, 8), (4, 2), (5, 4), (6, 2), (7, 3), (11, 5), (12, 3),
             (13, 4), (14, 3), (15, 4), (21, 7), (22, 8), (23, 8), (24, 8),
             (45, 2), (55, 5), (56, 4), (65, 4), (72, 4), (73, 3), (74, 4),
             (75, 5)]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
UPN_LETTERS = "ABCDEFGHJKLMNPQRTUVWXYZ"
KEYBOARD = ["qwertyuiop", "asdfghjkl", "zxcvbnm"]


def _neighbours():
    pos = {}
    for r, row in enumerate(KEYBOARD):
        for c, ch in enumerate(row):
            pos[ch] = (r, c)
    out = {}
    for ch, (r, c) in pos.items():
        out[ch] = "".join(o for o, (r2, c2) in pos.items()
                          if o != ch and abs(r2 - r) <= 1 and abs(c2 - c) <= 1)
    return out


NEAR_KEYS = _neighbours()


# --- identifiers -------------------------------------------------------------

def nhs_check(body9):
    """Check digit for 9 digits, or None when the body cannot be used (10)."""
    total = 0
    w = 10
    for ch in body9:
        total += (ord(ch) - 48) * w
        w -= 1
    c = 11 - total % 11
    if c == 11:
        return 0
    if c == 10:
        return None
    return c


def upn_check(body12):
    total = 0
    for pos, ch in enumerate(body12, start=2):
        v = ord(ch) - 48 if ch.isdigit() else UPN_LETTERS.index(ch)
        total += v * pos
    return UPN_LETTERS[total % 23]


def _selftest():
    assert nhs_check("943476591") == 9
    assert upn_check("801200005001") == "B"
    assert upn_check("207000016049") == "P"


class NhsAllocator:
    """Unique NHS numbers 999xxxxxxC: walks the 10^6 bodies in an affine
    permuted order and skips those whose check digit would be 10."""

    def __init__(self, rng):
        while True:
            a = rng.randrange(100001, 999999)
            if a % 2 and a % 5:
                break
        self.a, self.b, self.i = a, rng.randrange(1000000), 0

    def next(self):
        while self.i < 1000000:
            body = "999%06d" % ((self.a * self.i + self.b) % 1000000)
            self.i += 1
            c = nhs_check(body)
            if c is not None:
                return body + str(c)
        return None  # range exhausted (over ~1.07M children): leave absent


# --- names ---------------------------------------------------------------------

class Sampler:
    def __init__(self, pairs):
        self.names = [n for n, _ in pairs]
        self.cum = []
        t = 0
        for _, w in pairs:
            t += w
            self.cum.append(t)
        self.total = t

    def pick(self, rng):
        return self.names[bisect.bisect_right(self.cum, rng.random() * self.total)]


def load_list(path):
    sections = {}
    sec = ""
    with open(path, encoding="utf-8") as f:
        for line in f:
            s = line.strip()
            if not s:
                continue
            if s.startswith("#"):
                if s.startswith("# [") and s.endswith("]"):
                    sec = s[3:-1]
                continue
            name, w = s.split()
            sections.setdefault(sec, []).append((name, int(w)))
    return sections


_DISPLAY = {}


def display(name):
    """oliver -> Oliver, o'brien -> O'Brien, smith-jones -> Smith-Jones,
    mcdonald -> McDonald."""
    d = _DISPLAY.get(name)
    if d is not None:
        return d
    out = []
    part = ""
    for ch in name + "\0":
        if ch in "-' \0":
            if part:
                if part.startswith("mc") and len(part) > 2:
                    out.append("Mc" + part[2].upper() + part[3:])
                else:
                    out.append(part[0].upper() + part[1:])
            part = ""
            if ch != "\0":
                out.append(ch)
        else:
            part += ch
    d = "".join(out)
    _DISPLAY[name] = d
    return d


def typo(rng, name):
    """One keyboard error in a lower-case name: substitution, insertion,
    deletion or transposition of letters (never of - or ')."""
    letters = [i for i, ch in enumerate(name) if ch.isalpha()]
    for _ in range(20):
        # the first letter is rarely the wrong one
        pool = letters if rng.random() < 0.1 or len(letters) < 3 else letters[1:]
        i = rng.choice(pool)
        op = rng.random()
        ch = name[i]
        if op < 0.35:
            near = NEAR_KEYS.get(ch) or "aeiou"
            rep = rng.choice(near) if rng.random() < 0.7 else rng.choice("abcdefghijklmnopqrstuvwxyz")
            out = name[:i] + rep + name[i + 1:]
        elif op < 0.6:
            ins = ch if rng.random() < 0.5 else rng.choice(NEAR_KEYS.get(ch) or "e")
            out = name[:i + 1] + ins + name[i + 1:]
        elif op < 0.8:
            if len(letters) < 3:
                continue
            out = name[:i] + name[i + 1:]
        else:
            if i + 1 >= len(name) or not name[i + 1].isalpha() or name[i] == name[i + 1]:
                continue
            out = name[:i] + name[i + 1] + name[i] + name[i + 2:]
        if out != name and out[0].isalpha():
            return out
    return name + "e" if not name.endswith("e") else name[:-1]


# --- places, schools -----------------------------------------------------------

class Places:
    def __init__(self, rng, n_households):
        # About five households per postcode unit that has any children in
        # it (a unit is ~15 addresses), bounded by the units the districts
        # can hold.
        n = max(200, min(n_households // 5, len(DISTRICTS) * 10 * len(INWARD_LETTERS) ** 2 * 4 // 5))
        dsam = Sampler([(d, w) for d, w in DISTRICTS])
        seen = set()
        self.postcodes, self.streets, self.district = [], [], []
        while len(self.postcodes) < n:
            d = dsam.pick(rng)
            pc = "DE%d %d%s%s" % (d, rng.randrange(10), rng.choice(INWARD_LETTERS),
                                  rng.choice(INWARD_LETTERS))
            if pc in seen:
                continue
            seen.add(pc)
            self.postcodes.append(pc)
            self.district.append(d)
            self.streets.append(rng.choice(STREET_A) + " " + rng.choice(STREET_B))
        self.next_no = [1] * n
        self.uprn_serial = 0
        self.by_district = {}
        for i, d in enumerate(self.district):
            self.by_district.setdefault(d, []).append(i)

    def new_address(self, rng, near=None):
        """An unused address; `near` (a postcode index) keeps it in that district."""
        if near is not None and rng.random() < 0.6:
            i = rng.choice(self.by_district[self.district[near]])
        else:
            i = rng.randrange(len(self.postcodes))
        no = self.next_no[i]
        self.next_no[i] += 1 + (rng.random() < 0.3)
        uprn = None
        if rng.random() < 0.8:
            self.uprn_serial += 1
            uprn = str(990000000000 + self.uprn_serial)
        return Address("%d %s" % (no, self.streets[i]), self.postcodes[i], uprn, i)

    def town(self, pc_index):
        d = self.district[pc_index]
        return "Derby" if d <= 7 or 21 <= d <= 24 else "Derbyshire"


class Address:
    __slots__ = ("line1", "postcode", "uprn", "pc")

    def __init__(self, line1, postcode, uprn, pc):
        self.line1, self.postcode, self.uprn, self.pc = line1, postcode, uprn, pc


class Schools:
    def __init__(self, rng, n_children, places):
        n_prim = min(5000, max(8, n_children // 450))
        n_sec = min(1500, max(2, n_children // 3000))
        urns = rng.sample(range(100000, 200000), n_prim + n_sec)
        estabs = rng.sample(range(1000, 8000), n_prim + n_sec)
        dlist = sorted(places.by_district)
        dsam = Sampler([(d, w) for d, w in DISTRICTS if d in places.by_district])
        self.prim, self.sec = {}, {}
        for k in range(n_prim + n_sec):
            # spread schools over districts: round-robin first, then weighted
            d = dlist[k % len(dlist)] if k < len(dlist) else dsam.pick(rng)
            target = self.prim if k < n_prim else self.sec
            target.setdefault(d, []).append((str(urns[k]), "%04d" % estabs[k]))
        self.all_prim = [s for d in sorted(self.prim) for s in self.prim[d]]
        self.all_sec = [s for d in sorted(self.sec) for s in self.sec[d]]
        self.serial = {}

    def pick(self, rng, phase, district):
        table, every = (self.prim, self.all_prim) if phase == "P" else (self.sec, self.all_sec)
        local = table.get(district)
        if local and rng.random() < 0.85:
            return rng.choice(local)
        return rng.choice(every)

    def upn(self, estab, year):
        key = (estab, year)
        n = self.serial.get(key, 0)
        if n > 999:
            return None
        self.serial[key] = n + 1
        body = "%s%s%02d%03d" % (LA_CODE, estab, year % 100, n)
        return upn_check(body) + body


# --- people ----------------------------------------------------------------------

class Child:
    __slots__ = ("cid", "given", "middles", "family", "aliases", "dob", "sex",
                 "nhs", "upn", "hh", "twin", "alias_family")

    def __init__(self):
        self.cid = None
        self.middles = []
        self.aliases = []
        self.nhs = None
        self.upn = None
        self.twin = None
        self.alias_family = None


class Household:
    __slots__ = ("family", "addr", "old_addr", "move_date", "children")


def add_days(d, n):
    return d + dt.timedelta(days=n)


class World:
    def __init__(self, seed, n_children):
        _selftest()
        g = load_list(os.path.join(HERE, "names_given.txt"))
        f = load_list(os.path.join(HERE, "names_family.txt"))
        self.given = {"M": Sampler(g["M"]), "F": Sampler(g["F"])}
        self.given_names = {"M": set(n for n, _ in g["M"]), "F": set(n for n, _ in g["F"])}
        self.family = Sampler(f[""])
        self.seed = seed
        self.n_children = n_children

    def rng(self, stream):
        return random.Random("sdat-synth/%d/%s" % (self.seed, stream))

    def family_name(self, rng):
        a = self.family.pick(rng)
        # ~2.5% double-barrelled on top of the hyphenated names in the list
        if "-" not in a and rng.random() < 0.025:
            b = self.family.pick(rng)
            if b != a and "-" not in b and "'" not in b:
                return a + "-" + b
        return a

    def given_name(self, rng, sex, avoid):
        s = sex if sex in ("M", "F") else rng.choice("MF")
        for _ in range(50):
            n = self.given[s].pick(rng)
            if n not in avoid:
                return n
        return n

    def make_household(self, rng, size, places, schools, nhs_alloc, in_register=True,
                       family=None, addr=None):
        hh = Household()
        hh.family = family or self.family_name(rng)
        hh.addr = addr or places.new_address(rng)
        hh.old_addr = None
        hh.move_date = None
        if in_register and rng.random() < 0.10:
            hh.old_addr = places.new_address(rng, near=hh.addr.pc)
            hh.move_date = add_days(REF, -rng.randint(30, 3 * 365))
        # sibling dates of birth: gaps of ~1-6 years, ~2% twins
        gaps = [0 if rng.random() < 0.021 else int(rng.triangular(320, 2200, 800))
                for _ in range(size - 1)]
        span_max = (DOB_MAX - DOB_MIN).days
        if sum(gaps) > span_max:
            scale = span_max * 0.95 / sum(gaps)
            gaps = [0 if g == 0 else max(300, int(g * scale)) for g in gaps]
        # place one sibling (at random) uniformly, then shift the family into
        # range: keeps the age profile roughly flat at both ends
        # (half the time; otherwise the eldest uniformly within the range)
        if rng.random() < 0.5:
            j = rng.randrange(size)
            d = add_days(DOB_MIN, rng.randint(0, span_max) - sum(gaps[:j]))
            if d < DOB_MIN or d > add_days(DOB_MAX, -sum(gaps)):
                # out of range: draw again rather than clamp, which would
                # pile children onto the two boundary dates
                d = add_days(DOB_MIN, rng.randint(0, span_max - sum(gaps)))
        else:
            d = add_days(DOB_MIN, rng.randint(0, span_max - sum(gaps)))
        dobs = [d]
        for g in gaps:
            d = add_days(d, g)
            dobs.append(d)
        blended = size >= 2 and rng.random() < 0.12
        other_family = self.family_name(rng) if blended else None
        n_other = rng.randint(1, size - 1) if blended else 0
        used = set()
        hh.children = []
        prev = None
        for k, dob in enumerate(dobs):
            c = Child()
            c.hh = hh
            c.dob = dob
            twin_of = prev if (k > 0 and gaps[k - 1] == 0) else None
            if twin_of is not None and rng.random() < 0.65 and twin_of.sex in ("M", "F"):
                c.sex = twin_of.sex
            else:
                r = rng.random()
                c.sex = "U" if r < 0.002 else ("M" if r < 0.501 else "F")
            if twin_of is not None:
                c.twin, twin_of.twin = twin_of, c
                v = TWIN_VARIANTS.get(twin_of.given)
                if v and rng.random() < 0.35 and v not in used and \
                        (c.sex not in ("M", "F") or v in self.given_names[c.sex]):
                    c.given = v
                else:
                    c.given = self.given_name(rng, c.sex, used)
            else:
                c.given = self.given_name(rng, c.sex, used)
            used.add(c.given)
            r = rng.random()
            nm = 2 if r < 0.12 else (1 if r < 0.55 else 0)
            for _ in range(nm):
                m = self.given_name(rng, c.sex, used | set(c.middles))
                c.middles.append(m)
            # eldest children of a blended family carry the other parent's name
            if k < n_other:
                c.family = other_family
                if rng.random() < 0.3:
                    c.aliases.append((c.given, hh.family))
                    c.alias_family = hh.family
            else:
                c.family = hh.family
                if rng.random() < 0.03:
                    former = self.family_name(rng)
                    if former != c.family:
                        c.aliases.append((c.given, former))
                        c.alias_family = former
            if c.given in NICKNAMES and rng.random() < 0.06:
                c.aliases.append((rng.choice(NICKNAMES[c.given]), c.family))
            if nhs_alloc is not None and rng.random() < 0.85:
                c.nhs = nhs_alloc.next()
            hh.children.append(c)
            prev = c
        return hh

    def education(self, rng, c, schools, places):
        """Pupil spells for a school-age child, and whether EHE."""
        dob = c.dob
        sy = dob.year + 4 if dob.month < 9 else dob.year + 5   # reception year
        if sy > REF.year or (sy == REF.year and REF < dt.date(sy, 9, 4)):
            return None, False, None, None
        yg = REF.year - sy if REF.month >= 9 else REF.year - sy - 1
        r = rng.random()
        if r < 0.01:
            return None, True, None, None
        if r < 0.05:
            return None, False, None, None      # e.g. independent school out of area
        hh = c.hh
        home = hh.old_addr if hh.old_addr is not None else hh.addr
        dist = places.district[home.pc]
        spells = []
        prim = schools.pick(rng, "P", dist)
        spells.append([prim, dt.date(sy, 9, 4), dt.date(sy + 7, 7, 21) if yg >= 7 else None, "P"])
        if yg >= 7:
            spells.append([schools.pick(rng, "S", dist), dt.date(sy + 7, 9, 4),
                           dt.date(sy + 12, 7, 21) if yg >= 12 and rng.random() < 0.45 else None,
                           "S"])
        if hh.move_date is not None and rng.random() < 0.6:
            mv = hh.move_date
            ndist = places.district[hh.addr.pc]
            for i, (sch, st, en, ph) in enumerate(spells):
                if st < mv and (en is None or mv <= en):
                    new_start = add_days(mv, 7)
                    if new_start <= REF:
                        spells[i][2] = mv
                        spells.insert(i + 1, [schools.pick(rng, ph, ndist), new_start, en, ph])
                    break
        first_estab = spells[0][0][1]
        return spells, False, first_estab, sy


def write_jsonl(f, obj):
    f.write(json.dumps(obj, ensure_ascii=False, separators=(", ", ": ")))
    f.write("\n")


def register_doc(c, spells, ehe):
    d = {"schema": "council.child/1", "child_id": c.cid, "la_code": LA_CODE}
    if c.nhs:
        d["nhs_number"] = c.nhs
    if c.upn:
        d["upn"] = c.upn
    d["given_name"] = display(c.given)
    if c.middles:
        d["middle_names"] = " ".join(display(m) for m in c.middles)
    d["family_name"] = display(c.family)
    if c.aliases:
        d["aliases"] = [{"given_name": display(g), "family_name": display(f)} for g, f in c.aliases]
    d["dob"] = c.dob.isoformat()
    d["sex"] = c.sex
    a = c.hh.addr
    addr = {"line1": a.line1, "postcode": a.postcode}
    if a.uprn:
        addr["uprn"] = a.uprn
    d["address"] = addr
    if spells:
        ed = []
        for (urn, _), st, en, _ in spells:
            s = {"urn": urn, "start": st.isoformat()}
            if en is not None:
                s["end"] = en.isoformat()
            ed.append(s)
        d["education"] = ed
    if ehe:
        d["ehe"] = True
    return d


# --- police -------------------------------------------------------------------------

def age_on(dob, day):
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def valid_date(y, m, d):
    try:
        return dt.date(y, m, d)
    except ValueError:
        return None


def off_by_one(rng, dob, limit):
    """One of day, month or year moved by one, the others kept."""
    for _ in range(10):
        r = rng.random()
        s = rng.choice((-1, 1))
        if r < 0.6:
            nd = valid_date(dob.year, dob.month, dob.day + s)
        elif r < 0.8:
            nd = valid_date(dob.year, dob.month + s, dob.day) if 1 <= dob.month + s <= 12 else None
        else:
            nd = valid_date(dob.year + s, dob.month, dob.day)
        if nd is not None and nd <= limit:
            return nd
    return None


def corrupt_child(rng, c, occurred, errs):
    """What an officer writes for register child c: returns the child object
    (without present/resident) and appends error labels to errs."""
    given, family = c.given, c.family
    gout = None
    # given name
    nicks = NICKNAMES.get(given)
    if nicks and rng.random() < 0.28:
        gout = display(rng.choice(nicks))
        errs.append("nickname")
    elif c.middles and rng.random() < 0.03:
        gout = display(c.middles[0])
        errs.append("middle-as-given")
    elif rng.random() < 0.06:
        gout = display(typo(rng, given))
        errs.append("typo-given")
    else:
        gout = display(given)
    # family name
    hh_family = c.hh.family
    if c.alias_family and rng.random() < 0.35:
        fout = display(c.alias_family)
        errs.append("alias-family")
    elif family != hh_family and rng.random() < 0.3:
        fout = display(hh_family)
        errs.append("sibling-family")
    elif "-" in family and rng.random() < 0.4:
        parts = family.split("-")
        r = rng.random()
        if r < 0.6:
            fout = display(parts[0] if rng.random() < 0.6 else parts[-1])
            errs.append("hyphen-partial")
        else:
            r = rng.random()
            if r < 0.4:
                fout = display(family).replace("-", "")
                fout = fout[0] + fout[1:].lower()
            elif r < 0.7:
                fout = display(family).replace("-", " ")
            else:
                i = rng.randrange(len(parts))
                parts[i] = typo(rng, parts[i])
                fout = display("-".join(parts))
            errs.append("hyphen-misspelt")
    elif "'" in family and rng.random() < 0.5:
        fout = display(family).replace("'", "" if rng.random() < 0.6 else " ")
        errs.append("punct-family")
    elif rng.random() < 0.06:
        fout = display(typo(rng, family))
        errs.append("typo-family")
    else:
        fout = display(family)
    if rng.random() < 0.03:
        fout = fout.upper()
        errs.append("case-family")
    if rng.random() < 0.007:
        gout, fout = fout, gout
        errs.append("name-swap")
    ch = {"given_name": gout, "family_name": fout}
    # date of birth
    dob = c.dob
    limit = occurred.date()
    r = rng.random()
    if r < 0.07:
        age = age_on(dob, limit)
        errs.append("age-only")
        if rng.random() < 0.15:
            age = age + 1 if age == 0 or (age < 17 and rng.random() < 0.5) else age - 1
            errs.append("age-off-by-one")
        ch["age"] = age
    elif r < 0.11:
        nd = off_by_one(rng, dob, limit)
        if nd is None:
            ch["dob"] = dob.isoformat()
        else:
            ch["dob"] = nd.isoformat()
            errs.append("dob-off-by-one")
    elif r < 0.114:
        # a day that does not exist (lenient field: accepted, ignored)
        dim = (dt.date(dob.year + (dob.month == 12), dob.month % 12 + 1, 1) - ONE_DAY).day
        bad = dim + 1 if dim < 31 else 32
        ch["dob"] = "%04d-%02d-%02d" % (dob.year, dob.month, bad)
        errs.append("dob-invalid")
    elif r < 0.124:
        for _ in range(10):
            nd = add_days(dob, rng.choice((-1, 1)) * rng.randint(60, 3 * 365))
            if DOB_MIN <= nd <= limit:
                break
        else:
            nd = dob
        ch["dob"] = nd.isoformat()
        if nd != dob:
            errs.append("dob-wrong")
    elif dob.day <= 12 and dob.day != dob.month and rng.random() < 0.08 and \
            dt.date(dob.year, dob.day, dob.month) <= limit:
        ch["dob"] = dt.date(dob.year, dob.day, dob.month).isoformat()
        errs.append("dob-swap")
    else:
        ch["dob"] = dob.isoformat()
    if rng.random() < 0.6 and c.sex in ("M", "F"):
        ch["sex"] = c.sex
    # identifiers
    tw = c.twin
    if tw is not None and (tw.nhs or tw.upn) and rng.random() < 0.45:
        if tw.nhs:
            ch["nhs_number"] = tw.nhs
        else:
            ch["upn"] = tw.upn
        errs.append("twin-identifier")
    else:
        if c.nhs and rng.random() < 0.18:
            n = c.nhs
            if rng.random() < 0.02:
                for _ in range(20):
                    i = rng.randrange(3, 10)
                    m = n[:i] + str(rng.randrange(10)) + n[i + 1:]
                    if m != n and nhs_check(m[:9]) != int(m[9]):
                        n = m
                        errs.append("nhs-invalid")
                        break
            ch["nhs_number"] = n
        if c.upn and rng.random() < 0.12:
            ch["upn"] = c.upn
    return ch


def fresh_child(rng, world, avoid_given, occurred, nhs_alloc, family, sibling_dobs):
    """A child who is not in the register."""
    sex = "M" if rng.random() < 0.5 else "F"
    given = world.given_name(rng, sex, avoid_given)
    limit = occurred.date()
    for _ in range(50):
        dob = add_days(DOB_MIN, rng.randint(0, (limit - DOB_MIN).days))
        if all(abs((dob - s).days) > 280 for s in sibling_dobs):
            break
    ch = {"given_name": display(given), "family_name": display(family)}
    if rng.random() < 0.1:
        ch["age"] = age_on(dob, limit)
    else:
        ch["dob"] = dob.isoformat()
    if rng.random() < 0.6:
        ch["sex"] = sex
    if rng.random() < 0.15:
        n = nhs_alloc.next()
        if n:
            ch["nhs_number"] = n
    return ch


def gen_location(rng, places, hh_addr, errs_all):
    a = hh_addr
    loc = {"address": "%s, %s" % (a.line1, places.town(a.pc))}
    r = rng.random()
    if r < 0.03:
        errs_all.append("no-postcode")
    elif r < 0.045:
        out, inw = a.postcode.split(" ")
        for _ in range(20):
            k = rng.random()
            if k < 0.4:
                inw2 = str(rng.randrange(10)) + inw[1:]
            elif k < 0.7:
                inw2 = inw[0] + inw[2] + inw[1]
            else:
                j = rng.choice((1, 2))
                inw2 = inw[:j] + rng.choice(INWARD_LETTERS) + inw[j + 1:]
            if inw2 != inw:
                break
        loc["postcode"] = out + " " + inw2
        errs_all.append("postcode-typo")
    else:
        loc["postcode"] = a.postcode
    if a.uprn and rng.random() < 0.3:
        loc["uprn"] = a.uprn
    return loc


CIRCUMSTANCES = [
    "[SYNTHETIC] Verbal argument between adults; children present in the house.",
    "[SYNTHETIC] Neighbour reported shouting; one adult left before police arrived.",
    "[SYNTHETIC] Damage to property; children upstairs, asleep on arrival.",
    "[SYNTHETIC] Ex-partner attended the address in breach of bail conditions.",
    "[SYNTHETIC] Assault reported by an adult; children were in the next room.",
]


def main(argv=None):
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
    os.makedirs(a.out, exist_ok=True)
    world = World(a.seed, a.children)

    # 1. household sizes (their own stream, so the plan can be made first)
    r_sizes = world.rng("sizes")
    sizes = []
    left = a.children
    while left > 0:
        r = r_sizes.random()
        s = 1 if r < 0.42 else 2 if r < 0.76 else 3 if r < 0.91 else 4 if r < 0.97 else 5
        s = min(s, left)
        sizes.append(s)
        left -= s
    n_hh = len(sizes)

    # 2. incident plan: which households the police meet
    r_plan = world.rng("plan")
    plan = []          # (kind, household or None, share-household, visitor, extra-fresh)
    used = []
    for _ in range(a.police):
        if r_plan.random() < 0.07:
            share = r_plan.randrange(n_hh) if r_plan.random() < 0.4 else None
            plan.append(("fresh", share, None, False))
            continue
        if used and r_plan.random() < 0.12:
            h = r_plan.choice(used)          # repeat incident at the same home
        else:
            h = r_plan.randrange(n_hh)
            used.append(h)
        visitor = r_plan.randrange(n_hh) if r_plan.random() < 0.04 else None
        if visitor == h:
            visitor = None
        extra = r_plan.random() < 0.06
        plan.append(("reg", h, visitor, extra))
    keep = set()
    for kind, h, v, _ in plan:
        if h is not None:
            keep.add(h)
        if v is not None:
            keep.add(v)

    # 3. the register
    r_reg = world.rng("register")
    places = Places(r_reg, n_hh)
    schools = Schools(r_reg, a.children, places)
    nhs_alloc = NhsAllocator(r_reg)
    kept = {}
    flag_nhs = []      # register NHS numbers, for --flags
    seq = 0
    with open(os.path.join(a.out, "register.jsonl"), "w", encoding="utf-8", newline="\n") as f:
        for h, size in enumerate(sizes):
            hh = world.make_household(r_reg, size, places, schools, nhs_alloc)
            for c in hh.children:
                seq += 1
                c.cid = "SYN-%06d" % seq
                res = world.education(r_reg, c, schools, places)
                spells, ehe = res[0], res[1]
                if spells and r_reg.random() < 0.70:
                    c.upn = schools.upn(res[2], res[3])
                write_jsonl(f, register_doc(c, spells, ehe))
                if a.flags and c.nhs:
                    flag_nhs.append(c.nhs)
            if h in keep:
                kept[h] = hh

    # 4. incidents
    r_pol = world.rng("police")
    officers = []
    ids = r_pol.sample(range(1000, 10000), 150)
    for k in range(150):
        g = world.given_name(r_pol, r_pol.choice("MF"), ())
        fam = world.family.pick(r_pol)
        o = {"id": "SYN%d" % ids[k], "name": "PC %s %s" % (display(g), display(fam))}
        if r_pol.random() < 0.7:
            o["phone"] = "01632 960%03d" % r_pol.randrange(1000)
        if r_pol.random() < 0.5:
            o["email"] = "%s.%s@police.example" % (g, fam.replace("'", ""))
        officers.append(o)

    incidents = []
    for n, (kind, h, visitor, extra) in enumerate(plan):
        day = r_pol.randint(1, 20)
        hr = r_pol.choice((0, 1, 2, 3, 17, 18, 19, 20, 21, 22, 23)) if r_pol.random() < 0.75 \
            else r_pol.randrange(24)
        occurred = dt.datetime(2026, 11, day, hr, r_pol.randrange(60))
        reported = occurred + dt.timedelta(minutes=r_pol.randint(5, 30 * 60))
        loc_errs = []
        kids = []          # (child object, child_id or None, errors)
        if kind == "fresh":
            if h is not None:
                share = kept[h]
                family, addr = share.family, share.addr
                avoid = set(c.given for c in share.children)
                sib = [c.dob for c in share.children]
            else:
                family, addr, avoid, sib = world.family_name(r_pol), places.new_address(r_pol), set(), []
            loc = gen_location(r_pol, places, addr, loc_errs)
            m = 1 if r_pol.random() < 0.5 else 2 if r_pol.random() < 0.7 else 3
            for _ in range(m):
                ch = fresh_child(r_pol, world, avoid, occurred, nhs_alloc,
                                 family if r_pol.random() < 0.9 else world.family_name(r_pol), sib)
                avoid.add(ch["given_name"].lower())
                sib.append(dt.date.fromisoformat(ch["dob"]) if "dob" in ch else REF)
                ch["present"] = r_pol.random() < 0.85
                ch["resident"] = True
                errs = ["not-in-register"]
                if h is not None and ch["family_name"] == display(family):
                    errs.append("shares-household")
                kids.append((ch, None, errs))
        else:
            hh = kept[h]
            addr = hh.addr
            if hh.old_addr is not None and r_pol.random() < 0.35:
                addr = hh.old_addr
                loc_errs.append("old-postcode")
            loc = gen_location(r_pol, places, addr, loc_errs)
            ks = hh.children
            if len(ks) <= 3 and r_pol.random() < 0.65:
                chosen = list(ks)
            else:
                m = r_pol.randint(1, min(3, len(ks)))
                chosen = sorted(r_pol.sample(ks, m), key=lambda c: c.dob)
            room = 3 - len(chosen)
            if visitor is not None and room == 0:
                chosen = chosen[:-1]
                room = 1
            for c in chosen:
                errs = []
                ch = corrupt_child(r_pol, c, occurred, errs)
                ch["present"] = r_pol.random() < 0.85
                ch["resident"] = True
                kids.append((ch, c.cid, errs + loc_errs))
            if visitor is not None and room > 0:
                vc = r_pol.choice(kept[visitor].children)
                errs = []
                ch = corrupt_child(r_pol, vc, occurred, errs)
                ch["present"] = True
                ch["resident"] = False
                kids.append((ch, vc.cid, errs + ["not-resident"]))
                room -= 1
            if extra and room > 0:
                same = r_pol.random() < 0.6
                fam = hh.family if same else world.family_name(r_pol)
                ch = fresh_child(r_pol, world, set(c.given for c in ks), occurred, nhs_alloc,
                                 fam, [c.dob for c in ks])
                ch["present"] = True
                ch["resident"] = r_pol.random() < 0.5
                errs = ["not-in-register"]
                if same:
                    errs.append("shares-household")
                kids.append((ch, None, errs))
        # optional fields and a stable order of keys
        refs = r_pol.random() < 0.5
        children = []
        for i, (ch, _, _) in enumerate(kids):
            o = {}
            if refs:
                o["ref"] = "C%d" % (i + 1)
            for k in ("given_name", "family_name", "dob", "age", "sex", "nhs_number", "upn",
                      "present", "resident"):
                if k in ch:
                    o[k] = ch[k]
            if r_pol.random() < 0.3 and ("age" in ch or "dob" in ch):
                o["spoken_to"] = r_pol.random() < 0.5
            children.append(o)
        risk = r_pol.choices(("standard", "medium", "high"), (60, 30, 10))[0]
        inc = {"schema": "police.da-incident/1", "force": FORCE, "incident_id": None,
               "version": 1,
               "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:00Z"),
               "reported_at": reported.strftime("%Y-%m-%dT%H:%M:00Z"),
               "location": loc, "risk": risk}
        if risk == "high" and r_pol.random() < 0.5:
            inc["urgent"] = True
        inc["children"] = children
        if r_pol.random() < 0.4:
            inc["circumstances"] = r_pol.choice(CIRCUMSTANCES)
        inc["officer"] = r_pol.choice(officers)
        incidents.append((reported, n, inc, [(cid, errs) for _, cid, errs in kids]))

    incidents.sort(key=lambda t: (t[0], t[1]))
    with open(os.path.join(a.out, "police.jsonl"), "w", encoding="utf-8", newline="\n") as fp, \
            open(os.path.join(a.out, "truth.jsonl"), "w", encoding="utf-8", newline="\n") as ft:
        for k, (_, _, inc, labels) in enumerate(incidents, 1):
            inc["incident_id"] = "SYN26-%06d" % k
            write_jsonl(fp, inc)
            for i, (cid, errs) in enumerate(labels):
                write_jsonl(ft, {"incident": "%s/%s" % (FORCE, inc["incident_id"]), "child": i,
                                 "child_id": cid, "errors": errs})

    # 5. CP-IS flags (last, from their own stream, so that the files above
    # are the same with or without them)
    if a.flags:
        write_flags(world.rng("flags"), a.flags, flag_nhs, nhs_alloc,
                    os.path.join(a.out, "flags.jsonl"))
    return 0


FLAG_LAS = (("831", "Derby City"), ("830", "Derbyshire"))


def write_flags(rng, n, nhs_numbers, nhs_alloc, path):
    """n council.cpis-flag/1 documents: CPP 80 %, LAC 15 %, UCPP 5 % (on a
    mother's NHS number, never a register child's); 20 % ended; 3 % a second
    flag, from the other local authority, on a number already flagged (UCPP
    again on a mother's, CPP or LAC on a child's)."""
    picked = rng.sample(nhs_numbers, min(n, len(nhs_numbers)))
    flagged = []       # (NHS number, authority, a mother's)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for k in range(1, n + 1):
            r = rng.random()
            typ = "CPP" if r < 0.80 else "LAC" if r < 0.95 else "UCPP"
            la = 0
            if flagged and rng.random() < 0.03:
                nhs, la, mother = flagged[rng.randrange(len(flagged))]
                la = 1 - la
                typ = "UCPP" if mother else "CPP" if typ == "UCPP" else typ
            elif typ == "UCPP":
                nhs = nhs_alloc.next()
            else:
                nhs = picked.pop() if picked else None
            if nhs is None:
                break           # the 999 range or the register is used up
            flagged.append((nhs, la, typ == "UCPP"))
            start = add_days(REF, -rng.randint(0, 3 * 365))
            d = {"schema": "council.cpis-flag/1", "flag_id": "SYNF-%06d" % k,
                 "la_code": FLAG_LAS[la][0], "nhs_number": nhs, "type": typ,
                 "start_date": start.isoformat()}
            if rng.random() < 0.20:
                d["end_date"] = add_days(start, rng.randint(30, 2 * 365)).isoformat()
            if typ == "UCPP":
                d["expected_delivery_date"] = add_days(REF, rng.randint(-60, 200)).isoformat()
            d["la_name"] = FLAG_LAS[la][1]
            d["contact"] = {"office_phone": "01632 960%03d" % rng.randrange(1000),
                            "out_of_hours_phone": "01632 960%03d" % rng.randrange(1000)}
            write_jsonl(f, d)


if __name__ == "__main__":
    sys.exit(main())
