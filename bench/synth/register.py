"""The council register of the synthetic set: household sizes, households
of children (sibling gaps, twins, blended families, moves, aliases), their
school spells and UPNs, and their council.child/1 documents."""

import datetime as dt

from dates import DOB_MAX, DOB_MIN, REF, add_days
from identifiers import LA_CODE, NhsAllocator
from jsonl import write_jsonl
from names import NICKNAMES, TWIN_VARIANTS, display
from places import Places, Schools


class Child:
    """A register child; hh is the household, twin the other twin."""

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
    """A family name, the current address and, for 10 %, the old one and
    the date of the move, and the children, eldest first."""

    __slots__ = ("family", "addr", "old_addr", "move_date", "children")


def household_sizes(rng, n_children):
    """Households of 1-5 children (42/34/15/6/3 %), n_children in all."""
    sizes = []
    left = n_children
    while left > 0:
        r = rng.random()
        s = 1 if r < 0.42 else 2 if r < 0.76 else 3 if r < 0.91 else 4 if r < 0.97 else 5
        s = min(s, left)
        sizes.append(s)
        left -= s
    return sizes


def sibling_dobs(rng, size):
    """The gaps between siblings (0 for twins) and their dates of birth,
    eldest first, all within DOB_MIN..DOB_MAX."""
    # gaps of ~1-6 years, ~5% twins (two gaps of 0 in a row: triplets);
    # more than the population's ~1.5%, so that the benchmark sees enough
    # of the cases a matcher most easily gets wrong
    gaps = [0 if rng.random() < TWIN_GAP_SHARE else int(rng.triangular(320, 2200, 800))
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
    return gaps, dobs


TWIN_GAP_SHARE = 0.05
# Households where a cousin of another family lives with the children and
# shares one child's given name (a namesake at one address).
COUSIN_SHARE = 0.03


def make_household(rng, names, size, places, nhs_alloc):
    """A household of size children at a new address; 10 % moved there in
    the last 3 years, 12 % of those with two or more are blended families."""
    hh = Household()
    hh.family = names.family_name(rng)
    hh.addr = places.new_address(rng)
    hh.old_addr = None
    hh.move_date = None
    if rng.random() < 0.10:
        hh.old_addr = places.new_address(rng, near=hh.addr.pc)
        hh.move_date = add_days(REF, -rng.randint(30, 3 * 365))
    gaps, dobs = sibling_dobs(rng, size)
    blended = size >= 2 and rng.random() < 0.12
    other_family = names.family_name(rng) if blended else None
    n_other = rng.randint(1, size - 1) if blended else 0
    used = set()
    hh.children = []
    prev = None
    for k, dob in enumerate(dobs):
        twin_of = prev if (k > 0 and gaps[k - 1] == 0) else None
        c = new_child(rng, names, hh, dob, twin_of, used)
        # eldest children of a blended family carry the other parent's name
        family_and_aliases(rng, names, c, other_family if k < n_other else None)
        if nhs_alloc is not None and rng.random() < 0.85:
            c.nhs = nhs_alloc.next()
        hh.children.append(c)
        prev = c
    if size >= 2 and other_family is None and rng.random() < COUSIN_SHARE:
        make_cousin(rng, names, hh, hh.children[-1], nhs_alloc)
    return hh


def make_cousin(rng, names, hh, c, nhs_alloc):
    """Turns c into a cousin living with the household: another family's
    name, and the given name of one of the other children (a namesake at
    one address), unless c is a twin."""
    if c.twin is not None:
        return
    others = [o for o in hh.children if o is not c and o.sex == c.sex]
    c.family = names.family_name(rng)
    c.aliases = []
    c.alias_family = None
    if others:
        c.given = rng.choice(others).given
    if nhs_alloc is not None and c.nhs is None and rng.random() < 0.85:
        c.nhs = nhs_alloc.next()


def new_child(rng, names, hh, dob, twin_of, used):
    """A child of hh born on dob, with sex, given and middle names; a twin
    of twin_of when that is not None. Adds the given name to used."""
    c = Child()
    c.hh = hh
    c.dob = dob
    if twin_of is not None and rng.random() < 0.65 and twin_of.sex in ("M", "F"):
        c.sex = twin_of.sex
    else:
        r = rng.random()
        c.sex = "U" if r < 0.002 else ("M" if r < 0.501 else "F")
    c.given = _given_name(rng, names, c, twin_of, used)
    used.add(c.given)
    r = rng.random()
    nm = 2 if r < 0.12 else (1 if r < 0.55 else 0)
    for _ in range(nm):
        m = names.given_name(rng, c.sex, used | set(c.middles))
        c.middles.append(m)
    return c


def _given_name(rng, names, c, twin_of, used):
    """c's given name: 60 % of twins get a look-alike of their twin's name
    (a near-identical spelling, or a name beginning the same), when there is
    one."""
    if twin_of is None:
        return names.given_name(rng, c.sex, used)
    c.twin, twin_of.twin = twin_of, c
    v = TWIN_VARIANTS.get(twin_of.given)
    if v and rng.random() < 0.60 and v not in used:
        return v
    return names.given_name(rng, c.sex, used)


def family_and_aliases(rng, names, c, other_family):
    """c's family name (other_family, when not None, rather than the
    household's) and aliases: a former or the household's family name, or
    a nickname."""
    hh = c.hh
    if other_family is not None:
        c.family = other_family
        if rng.random() < 0.3:
            c.aliases.append((c.given, hh.family))
            c.alias_family = hh.family
    else:
        c.family = hh.family
        if rng.random() < 0.03:
            former = names.family_name(rng)
            if former != c.family:
                c.aliases.append((c.given, former))
                c.alias_family = former
    if c.given in NICKNAMES and rng.random() < 0.06:
        c.aliases.append((rng.choice(NICKNAMES[c.given]), c.family))


def education(rng, c, schools, places):
    """Pupil spells for a school-age child, and whether EHE:
    (spells, ehe, first establishment, reception year)."""
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
        change_school(rng, spells, hh.move_date, places.district[hh.addr.pc], schools)
    first_estab = spells[0][0][1]
    return spells, False, first_estab, sy


def change_school(rng, spells, mv, ndist, schools):
    """The spell running on the move date mv ends then; a new one in
    district ndist starts a week later (unless that is after REF)."""
    for i, (sch, st, en, ph) in enumerate(spells):
        if st < mv and (en is None or mv <= en):
            new_start = add_days(mv, 7)
            if new_start <= REF:
                spells[i][2] = mv
                spells.insert(i + 1, [schools.pick(rng, ph, ndist), new_start, en, ph])
            break


def register_doc(c, spells, ehe):
    """c's council.child/1 document."""
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
        d["education"] = education_doc(spells)
    if ehe:
        d["ehe"] = True
    return d


def education_doc(spells):
    """The education array of a council.child/1 document."""
    ed = []
    for (urn, _), st, en, _ in spells:
        s = {"urn": urn, "start": st.isoformat()}
        if en is not None:
            s["end"] = en.isoformat()
        ed.append(s)
    return ed


def write_register(path, rng, names, sizes, keep, n_children, want_flags):
    """Writes the register (households of sizes) to path. Returns the
    places, the NHS allocator, {index: household} for the household
    indexes in keep, and, when want_flags, the children's NHS numbers."""
    places = Places(rng, len(sizes))
    schools = Schools(rng, n_children, places)
    nhs_alloc = NhsAllocator(rng)
    kept = {}
    flag_nhs = []
    seq = 0
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        for h, size in enumerate(sizes):
            hh = make_household(rng, names, size, places, nhs_alloc)
            for c in hh.children:
                seq += 1
                c.cid = "SYN-%06d" % seq
                spells, ehe, estab, start_year = education(rng, c, schools, places)
                if spells and rng.random() < 0.70:
                    c.upn = schools.upn(estab, start_year)
                write_jsonl(f, register_doc(c, spells, ehe))
                if want_flags and c.nhs:
                    flag_nhs.append(c.nhs)
            if h in keep:
                kept[h] = hh
    return places, nhs_alloc, kept, flag_nhs
