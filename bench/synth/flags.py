"""CP-IS flags for the synthetic set (--flags): council.cpis-flag/1
documents on register children's NHS numbers and on mothers' numbers."""

from dates import REF, add_days
from jsonl import write_jsonl

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
            write_jsonl(f, flag_doc(rng, k, nhs, la, typ))


def flag_doc(rng, k, nhs, la, typ):
    """The k-th flag, of type typ on NHS number nhs, from authority
    FLAG_LAS[la]: its dates and contact numbers."""
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
    return d
