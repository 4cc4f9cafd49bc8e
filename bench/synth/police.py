"""The police side of the synthetic set: which households the police meet
(the incident plan), the officers, children who are not in the register,
and the police.da-incident/1 incidents with their truth labels."""

import datetime as dt
import os

from dates import DOB_MIN, REF, add_days, age_on
from jsonl import write_jsonl
from names import display
from police_errors import corrupt_child, gen_location

FORCE = "derbyshire"

CIRCUMSTANCES = [
    "[SYNTHETIC] Verbal argument between adults; children present in the house.",
    "[SYNTHETIC] Neighbour reported shouting; one adult left before police arrived.",
    "[SYNTHETIC] Damage to property; children upstairs, asleep on arrival.",
    "[SYNTHETIC] Ex-partner attended the address in breach of bail conditions.",
    "[SYNTHETIC] Assault reported by an adult; children were in the next room.",
]


def plan_incidents(rng, n_police, n_hh):
    """The households the police meet, one (kind, household or None,
    visitor household or None, extra fresh child) per incident: kind
    "fresh" is a family not in the register (its household, if any, is one
    whose family name and address it shares), "reg" a register household.
    Also returns the set of household indexes the plan needs."""
    plan = []
    used = []
    for _ in range(n_police):
        if rng.random() < 0.07:
            share = rng.randrange(n_hh) if rng.random() < 0.4 else None
            plan.append(("fresh", share, None, False))
            continue
        if used and rng.random() < 0.12:
            h = rng.choice(used)          # repeat incident at the same home
        else:
            h = rng.randrange(n_hh)
            used.append(h)
        visitor = rng.randrange(n_hh) if rng.random() < 0.04 else None
        if visitor == h:
            visitor = None
        extra = rng.random() < 0.06
        plan.append(("reg", h, visitor, extra))
    keep = set()
    for kind, h, v, _ in plan:
        if h is not None:
            keep.add(h)
        if v is not None:
            keep.add(v)
    return plan, keep


class Setting:
    """What the incidents draw on: the name pool, the register households
    the plan needs ({index: household}), the places and the NHS allocator."""
    __slots__ = ("names", "kept", "places", "nhs_alloc")

    def __init__(self, names, kept, places, nhs_alloc):
        self.names, self.kept, self.places, self.nhs_alloc = names, kept, places, nhs_alloc


def make_officers(rng, names):
    """150 synthetic officers (PC <name>, SYN####, drama-range phones)."""
    officers = []
    ids = rng.sample(range(1000, 10000), 150)
    for k in range(150):
        g = names.given_name(rng, rng.choice("MF"), ())
        fam = names.family.pick(rng)
        o = {"id": "SYN%d" % ids[k], "name": "PC %s %s" % (display(g), display(fam))}
        if rng.random() < 0.7:
            o["phone"] = "01632 960%03d" % rng.randrange(1000)
        if rng.random() < 0.5:
            o["email"] = "%s.%s@police.example" % (g, fam.replace("'", ""))
        officers.append(o)
    return officers


def fresh_child(rng, names, avoid_given, occurred, nhs_alloc, family, sibling_dobs):
    """A child who is not in the register."""
    sex = "M" if rng.random() < 0.5 else "F"
    given = names.given_name(rng, sex, avoid_given)
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


def fresh_family(rng, st, h, occurred, loc_errs):
    """The location and 1-3 children of a family not in the register, at
    household h's address and with its family name when h is not None.
    Children are (child object, None, errors)."""
    names = st.names
    if h is not None:
        share = st.kept[h]
        family, addr = share.family, share.addr
        avoid = set(c.given for c in share.children)
        sib = [c.dob for c in share.children]
    else:
        family, addr, avoid, sib = names.family_name(rng), st.places.new_address(rng), set(), []
    loc = gen_location(rng, st.places, addr, loc_errs)
    m = 1 if rng.random() < 0.5 else 2 if rng.random() < 0.7 else 3
    kids = []
    for _ in range(m):
        ch = fresh_child(rng, names, avoid, occurred, st.nhs_alloc,
                         family if rng.random() < 0.9 else names.family_name(rng), sib)
        avoid.add(ch["given_name"].lower())
        sib.append(dt.date.fromisoformat(ch["dob"]) if "dob" in ch else REF)
        ch["present"] = rng.random() < 0.85
        ch["resident"] = True
        errs = ["not-in-register"]
        if h is not None and ch["family_name"] == display(family):
            errs.append("shares-household")
        kids.append((ch, None, errs))
    return loc, kids


def register_family(rng, st, h, visitor, extra, occurred, loc_errs):
    """The location and children of an incident at register household h:
    some or all of its children, a visiting child from household visitor,
    and an extra child who is not in the register. Children are (child
    object, child_id or None, errors)."""
    hh = st.kept[h]
    addr = hh.addr
    if hh.old_addr is not None and rng.random() < 0.35:
        addr = hh.old_addr
        loc_errs.append("old-postcode")
    loc = gen_location(rng, st.places, addr, loc_errs)
    ks = hh.children
    if len(ks) <= 3 and rng.random() < 0.65:
        chosen = list(ks)
    else:
        m = rng.randint(1, min(3, len(ks)))
        chosen = sorted(rng.sample(ks, m), key=lambda c: c.dob)
    room = 3 - len(chosen)
    if visitor is not None and room == 0:
        chosen = chosen[:-1]
        room = 1
    kids = []
    # A family met at the old address is often one the officer knows only
    # by name and age.
    age_share = 0.35 if "old-postcode" in loc_errs else 0.07
    for c in chosen:
        errs = []
        ch = corrupt_child(rng, c, occurred, errs, age_share)
        ch["present"] = rng.random() < 0.85
        ch["resident"] = True
        kids.append((ch, c.cid, errs + loc_errs))
    if visitor is not None and room > 0:
        kids.append(visiting_child(rng, st.kept[visitor], occurred))
        room -= 1
    if extra and room > 0:
        kids.append(extra_child(rng, st, hh, occurred))
    return loc, kids


def visiting_child(rng, vhh, occurred):
    """A child of household vhh, present but not resident."""
    vc = rng.choice(vhh.children)
    errs = []
    ch = corrupt_child(rng, vc, occurred, errs)
    ch["present"] = True
    ch["resident"] = False
    return ch, vc.cid, errs + ["not-resident"]


def extra_child(rng, st, hh, occurred):
    """A child who is not in the register, with household hh."""
    same = rng.random() < 0.6
    fam = hh.family if same else st.names.family_name(rng)
    ks = hh.children
    ch = fresh_child(rng, st.names, set(c.given for c in ks), occurred, st.nhs_alloc,
                     fam, [c.dob for c in ks])
    ch["present"] = True
    ch["resident"] = rng.random() < 0.5
    errs = ["not-in-register"]
    if same:
        errs.append("shares-household")
    return ch, None, errs


def children_field(rng, kids):
    """The incident's children array: optional fields and a stable order
    of keys."""
    refs = rng.random() < 0.5
    children = []
    for i, (ch, _, _) in enumerate(kids):
        o = {}
        if refs:
            o["ref"] = "C%d" % (i + 1)
        for k in ("given_name", "family_name", "dob", "age", "sex", "nhs_number", "upn",
                  "present", "resident"):
            if k in ch:
                o[k] = ch[k]
        if rng.random() < 0.3 and ("age" in ch or "dob" in ch):
            o["spoken_to"] = rng.random() < 0.5
        children.append(o)
    return children


def make_incident(rng, st, planned, officers):
    """One planned incident: (reported time, the incident without its id,
    [(child_id or None, errors)] for its children)."""
    kind, h, visitor, extra = planned
    day = rng.randint(1, 20)
    hr = rng.choice((0, 1, 2, 3, 17, 18, 19, 20, 21, 22, 23)) if rng.random() < 0.75 \
        else rng.randrange(24)
    occurred = dt.datetime(2026, 11, day, hr, rng.randrange(60))
    reported = occurred + dt.timedelta(minutes=rng.randint(5, 30 * 60))
    loc_errs = []
    if kind == "fresh":
        loc, kids = fresh_family(rng, st, h, occurred, loc_errs)
    else:
        loc, kids = register_family(rng, st, h, visitor, extra, occurred, loc_errs)
    children = children_field(rng, kids)
    risk = rng.choices(("standard", "medium", "high"), (60, 30, 10))[0]
    inc = {"schema": "police.da-incident/1", "force": FORCE, "incident_id": None,
           "version": 1,
           "occurred_at": occurred.strftime("%Y-%m-%dT%H:%M:00Z"),
           "reported_at": reported.strftime("%Y-%m-%dT%H:%M:00Z"),
           "location": loc, "risk": risk}
    if risk == "high" and rng.random() < 0.5:
        inc["urgent"] = True
    inc["children"] = children
    if rng.random() < 0.4:
        inc["circumstances"] = rng.choice(CIRCUMSTANCES)
    inc["officer"] = rng.choice(officers)
    return reported, inc, [(cid, errs) for _, cid, errs in kids]


def write_police(out_dir, rng, st, plan):
    """Writes police.jsonl (sorted by reported_at, ids in that order) and
    truth.jsonl (one label line per police child) to out_dir."""
    officers = make_officers(rng, st.names)
    incidents = []
    for n, planned in enumerate(plan):
        reported, inc, labels = make_incident(rng, st, planned, officers)
        incidents.append((reported, n, inc, labels))
    incidents.sort(key=lambda t: (t[0], t[1]))
    with open(os.path.join(out_dir, "police.jsonl"), "w", encoding="utf-8", newline="\n") as fp, \
            open(os.path.join(out_dir, "truth.jsonl"), "w", encoding="utf-8", newline="\n") as ft:
        for k, (_, _, inc, labels) in enumerate(incidents, 1):
            inc["incident_id"] = "SYN26-%06d" % k
            write_jsonl(fp, inc)
            for i, (cid, errs) in enumerate(labels):
                write_jsonl(ft, {"incident": "%s/%s" % (FORCE, inc["incident_id"]), "child": i,
                                 "child_id": cid, "errors": errs})
