"""The error models of the synthetic police data: what an officer writes
for a register child (names, date of birth, identifiers) and for the
incident's location, with the README's error labels."""

import datetime as dt

from dates import DOB_MIN, ONE_DAY, add_days, age_on, valid_date
from identifiers import nhs_check
from names import NICKNAMES, display, typo
from places import INWARD_LETTERS


def corrupt_child(rng, c, occurred, errs, age_share=0.07):
    """What an officer writes for register child c: returns the child object
    (without present/resident) and appends error labels to errs. age_share:
    how often only an age is written (more often for a family met away
    from the register's address)."""
    gout = given_written(rng, c, errs)
    fout = family_written(rng, c, errs)
    if rng.random() < 0.03:
        fout = fout.upper()
        errs.append("case-family")
    if rng.random() < 0.007:
        gout, fout = fout, gout
        errs.append("name-swap")
    ch = {"given_name": gout, "family_name": fout}
    dob_written(rng, c.dob, occurred.date(), ch, errs, age_share)
    if rng.random() < 0.6 and c.sex in ("M", "F"):
        ch["sex"] = c.sex
    identifiers_written(rng, c, ch, errs)
    return ch


def given_written(rng, c, errs):
    """The given name: a nickname, the first middle name, a typo or exact."""
    given = c.given
    nicks = NICKNAMES.get(given)
    if nicks and rng.random() < 0.28:
        errs.append("nickname")
        return display(rng.choice(nicks))
    if c.middles and rng.random() < 0.03:
        errs.append("middle-as-given")
        return display(c.middles[0])
    if rng.random() < 0.06:
        errs.append("typo-given")
        return display(typo(rng, given))
    return display(given)


def family_written(rng, c, errs):
    """The family name: an alias, the household's, a hyphenation or
    punctuation error, a typo or exact."""
    family, hh_family = c.family, c.hh.family
    if c.alias_family and rng.random() < 0.35:
        errs.append("alias-family")
        return display(c.alias_family)
    if family != hh_family and rng.random() < 0.3:
        errs.append("sibling-family")
        return display(hh_family)
    if "-" in family and rng.random() < 0.4:
        return hyphen_written(rng, family, errs)
    if "'" in family and rng.random() < 0.5:
        errs.append("punct-family")
        return display(family).replace("'", "" if rng.random() < 0.6 else " ")
    if rng.random() < 0.06:
        errs.append("typo-family")
        return display(typo(rng, family))
    return display(family)


def hyphen_written(rng, family, errs):
    """A hyphenated family name cut to one part, run together, spaced or
    with a typo in one part."""
    parts = family.split("-")
    r = rng.random()
    if r < 0.6:
        errs.append("hyphen-partial")
        return display(parts[0] if rng.random() < 0.6 else parts[-1])
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
    return fout


def dob_written(rng, dob, limit, ch, errs, age_share=0.07):
    """Sets ch's age or dob: an age, a date off by one, an invalid day, an
    unrelated date, day and month swapped, or exact. limit is the
    incident's date."""
    r = rng.random()
    if r < age_share:
        ch["age"] = age_written(rng, dob, limit, errs)
    elif r < 0.04 + age_share:
        nd = off_by_one(rng, dob, limit)
        if nd is None:
            ch["dob"] = dob.isoformat()
        else:
            ch["dob"] = nd.isoformat()
            errs.append("dob-off-by-one")
    elif r < 0.044 + age_share:
        # a day that does not exist (lenient field: accepted, ignored)
        dim = (dt.date(dob.year + (dob.month == 12), dob.month % 12 + 1, 1) - ONE_DAY).day
        bad = dim + 1 if dim < 31 else 32
        ch["dob"] = "%04d-%02d-%02d" % (dob.year, dob.month, bad)
        errs.append("dob-invalid")
    elif r < 0.054 + age_share:
        nd = wrong_date(rng, dob, limit)
        ch["dob"] = nd.isoformat()
        if nd != dob:
            errs.append("dob-wrong")
    elif dob.day <= 12 and dob.day != dob.month and rng.random() < 0.08 and \
            dt.date(dob.year, dob.day, dob.month) <= limit:
        ch["dob"] = dt.date(dob.year, dob.day, dob.month).isoformat()
        errs.append("dob-swap")
    else:
        ch["dob"] = dob.isoformat()


def age_written(rng, dob, limit, errs):
    """The age on the incident's date, one out 15 % of the time."""
    age = age_on(dob, limit)
    errs.append("age-only")
    if rng.random() < 0.15:
        age = age + 1 if age == 0 or (age < 17 and rng.random() < 0.5) else age - 1
        errs.append("age-off-by-one")
    return age


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


def wrong_date(rng, dob, limit):
    """A date 2 months to 3 years from dob (dob itself if none fits)."""
    for _ in range(10):
        nd = add_days(dob, rng.choice((-1, 1)) * rng.randint(60, 3 * 365))
        if DOB_MIN <= nd <= limit:
            return nd
    return dob


def identifiers_written(rng, c, ch, errs):
    """Sets ch's NHS number or UPN: the twin's, c's own (the NHS number now
    and then mistyped), or none."""
    tw = c.twin
    if tw is not None and (tw.nhs or tw.upn) and rng.random() < 0.45:
        if tw.nhs:
            ch["nhs_number"] = tw.nhs
        else:
            ch["upn"] = tw.upn
        errs.append("twin-identifier")
        return
    if c.nhs and rng.random() < 0.18:
        n = c.nhs
        if rng.random() < 0.02:
            n = mistyped_nhs(rng, n, errs)
        ch["nhs_number"] = n
    if c.upn and rng.random() < 0.12:
        ch["upn"] = c.upn


def mistyped_nhs(rng, n, errs):
    """n with one digit changed so that the check digit fails."""
    for _ in range(20):
        i = rng.randrange(3, 10)
        m = n[:i] + str(rng.randrange(10)) + n[i + 1:]
        if m != n and nhs_check(m[:9]) != int(m[9]):
            errs.append("nhs-invalid")
            return m
    return n


def gen_location(rng, places, hh_addr, errs_all):
    """The incident's location at hh_addr, its postcode now and then
    missing or mistyped; appends the location labels to errs_all."""
    a = hh_addr
    loc = {"address": "%s, %s" % (a.line1, places.town(a.pc))}
    r = rng.random()
    if r < 0.03:
        errs_all.append("no-postcode")
    elif r < 0.045:
        out, inw = a.postcode.split(" ")
        loc["postcode"] = out + " " + inward_typo(rng, inw)
        errs_all.append("postcode-typo")
    else:
        loc["postcode"] = a.postcode
    if a.uprn and rng.random() < 0.3:
        loc["uprn"] = a.uprn
    return loc


def inward_typo(rng, inw):
    """The inward code inw with its digit or a letter changed, or its
    letters swapped."""
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
    return inw2
