#!/usr/bin/env python3
"""Synthetic data and the final accounting for the reliability tests
(quality.md R1, R2, R5, R6: test_crash.sh, test_faults.sh, test_diskfull.sh,
test_failover.sh). Every name, date of birth and NHS number is made up here
(NHS numbers in the 999 test range).

  reliability.py world DIR [--children N] [--seed S]
      DIR/register.jsonl (council.child/1 for sdatctl import children) and
      DIR/world.json (what the accounting needs). Register children go to
      three schools in the directory, one URN that is not in it, or to no
      school at all; every one is five or older.
  reliability.py feed DIR PREFIX STOPFILE [--interval S] [--max N] [--seed S]
      [--values] [--log FILE]
      writes "KEY<TAB>VALUE" lines (police.da-incident/1) to standard
      output for `kcat -P -K '\\t'` (with --values the JSON only, for
      sdatctl publish), one every S seconds, until STOPFILE exists or N
      lines are written; --log FILE keeps each KEY<TAB>VALUE line. An
      incident names 1-3 children: mostly register children (matched by
      NHS number), some strangers to the register; about a third are high
      risk.
  reliability.py account DIR --sent FILE --received LOG --db DB[:INSTANCE]...
      [--label TEXT] [--quiet] [--cross-instance]
      FILE: the incident topic read back ("KEY<TAB>VALUE" lines); LOG: the
      HTTPS receiver's log (a request answered 2xx is a delivery); each DB
      is a daemon's store. Prints the counts
      and one "ok"/"not ok" line per property: every notification the
      incidents call for (worked out here from the register, independently
      of the daemon) received at least once; every notification in the
      stores delivered and received; none to a wrong recipient; repeats
      only with the same Idempotency-Key and the same body; no second
      notification for the same child and recipient; nothing
      dead-lettered; each audit chain verified by an independent
      implementation.
"""
import argparse
import datetime
import hashlib
import json
import os
import random
import sqlite3
import sys
import time

SCHOOLS = ["100001", "100002", "100003"]
OUT_OF_AREA = "199999"  # a school that is not in the directory
MASH = "la:831:mash"
GIVEN = ["Arlo", "Bryony", "Caspian", "Delyth", "Emrys", "Fenella", "Gethin", "Hesper", "Idris",
         "Jessamy", "Kestrel", "Linnea", "Merrick", "Nerys", "Orrin", "Perpetua", "Quillon",
         "Rhosyn", "Sorrel", "Tamsin", "Ulric", "Vesper", "Wystan", "Xanthe", "Yestin", "Zinnia"]
FAMILY_A = ["Ash", "Birch", "Cedar", "Elm", "Fern", "Hazel", "Larch", "Maple", "Oak", "Rowan",
            "Willow", "Yew"]
FAMILY_B = ["brook", "field", "ford", "ham", "ley", "mere", "ton", "worth"]
# Strangers: names and birth years that share no blocking key with the
# register (no equal date of birth, other family names, other years), so
# that they are "none", not "review".
STRANGER_GIVEN = ["Quorra", "Zebedee", "Ottoline", "Peregrine", "Isolde", "Barnaby", "Clemency",
                  "Thaddeus"]
STRANGER_FAMILY = ["Nobodyfield", "Unknownley", "Visitorton", "Strangeworth", "Absentmere"]
INCIDENT_POSTCODE = "DE21 9ZZ"


def nhs_number(n):
    """A valid (mod 11) NHS number in the 999 test range, the n-th one."""
    while True:
        digits = "999" + "%06d" % n
        total = sum(int(d) * w for d, w in zip(digits, range(10, 1, -1)))
        check = 11 - total % 11
        if check == 11:
            check = 0
        if check != 10:
            return digits + str(check)
        n += 500000


def cmd_world(args):
    rnd = random.Random(args.seed)
    children = []
    used = set()
    for i in range(args.children):
        while True:
            family = rnd.choice(FAMILY_A) + rnd.choice(FAMILY_B)
            given = rnd.choice(GIVEN)
            if (given, family) not in used:
                used.add((given, family))
                break
        dob = datetime.date(2011, 1, 3) + datetime.timedelta(days=67 * i)
        r = rnd.random()
        urn = rnd.choice(SCHOOLS) if r < 0.7 else OUT_OF_AREA if r < 0.8 else None
        child = {"schema": "council.child/1", "child_id": "RC-%04d" % (i + 1), "la_code": "831",
                 "nhs_number": nhs_number(1000 + i * 7), "given_name": given,
                 "family_name": family, "dob": dob.isoformat(),
                 "address": {"line1": "%d Example Road" % (i + 1),
                             "postcode": "DE22 %d%s%s" % (1 + i % 9, "ABDEFGHJ"[i % 8],
                                                          "LNPQRSTU"[(i // 8) % 8])}}
        if urn:
            child["education"] = [{"urn": urn, "start": "2025-09-01"}]
        children.append(child)
    with open(os.path.join(args.dir, "register.jsonl"), "w") as f:
        for c in children:
            f.write(json.dumps(c) + "\n")
    with open(os.path.join(args.dir, "world.json"), "w") as f:
        json.dump({"children": children}, f)


def load_world(d):
    with open(os.path.join(d, "world.json")) as f:
        return json.load(f)["children"]


OCCURRED_AT = "2026-11-02T20:00:00Z"


def incident(rnd, children, key_id, now):
    kids, strangers = [], set()
    n = rnd.choice([1, 1, 2, 2, 3])
    for ref, c in enumerate(rnd.sample(children, n), 1):
        if rnd.random() < 0.8:
            kids.append({"ref": "c%d" % ref, "given_name": c["given_name"],
                         "family_name": c["family_name"], "dob": c["dob"],
                         "nhs_number": c["nhs_number"], "present": True, "resident": True})
        else:
            # Two strangers in one incident never share a name (the
            # accounting tells them apart by it).
            while True:
                name = (rnd.choice(STRANGER_GIVEN), rnd.choice(STRANGER_FAMILY))
                if name not in strangers:
                    strangers.add(name)
                    break
            dob = datetime.date(2009, 1, 1) + datetime.timedelta(days=rnd.randrange(700))
            kids.append({"ref": "c%d" % ref, "given_name": name[0], "family_name": name[1],
                         "dob": dob.isoformat(), "present": True, "resident": False})
    # Reported now, so that a school on the always-open calendar is told at
    # once; occurred on a fixed date, on which ages are decided: the
    # strangers (born 2009-2010) and the register's children (born from
    # 2011) stay under 18 whenever the test runs.
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    occurred = OCCURRED_AT
    return {"schema": "police.da-incident/1", "force": "derbyshire", "incident_id": key_id,
            "version": 1, "occurred_at": occurred, "reported_at": stamp,
            "location": {"address": "9 Example Road", "postcode": INCIDENT_POSTCODE},
            "risk": "high" if rnd.random() < 0.33 else rnd.choice(["standard", "medium"]),
            "children": kids, "circumstances": "Synthetic.",
            "officer": {"id": "PC-9", "name": "PC Synthetic", "phone": "01000 000009"}}


def cmd_feed(args):
    rnd = random.Random(args.seed)
    children = load_world(args.dir)
    log = open(args.log, "a") if args.log else None
    i = 0
    # Also stops if the test's directory is gone (the test ended).
    while (os.path.isdir(args.dir) and not os.path.exists(args.stopfile) and
           (args.max == 0 or i < args.max)):
        i += 1
        key_id = "%s-%05d" % (args.prefix, i)
        doc = incident(rnd, children, key_id, datetime.datetime.now(datetime.timezone.utc))
        line = "derbyshire/%s\t%s\n" % (key_id, json.dumps(doc, separators=(",", ":")))
        sys.stdout.write(line.split("\t", 1)[1] if args.values else line)
        sys.stdout.flush()
        if log:
            log.write(line)
            log.flush()
        time.sleep(args.interval)


def expected_for(doc, register):
    """The notifications one incident calls for, per flows.md section 1:
    a set of (incident key, kind, recipient, child tag)."""
    key = "%s/%s" % (doc["force"], doc["incident_id"])
    out = set()
    by_nhs = {c["nhs_number"]: c for c in register}
    for kid in doc["children"]:
        c = by_nhs.get(kid.get("nhs_number"))
        if c is None:
            out.add((key, "unmatched-child", MASH, kid["given_name"] + " " + kid["family_name"]))
            continue
        urn = c["education"][0]["urn"] if c.get("education") else None
        if urn in SCHOOLS:
            out.add((key, "da-incident", "school:" + urn, c["child_id"]))
        else:
            out.add((key, "da-incident", MASH, c["child_id"]))
    if doc["risk"] == "high":
        out.add((key, "da-incident-urgent", MASH, ""))
    return out


def received_tuple(p, register):
    """What a delivered payload says it is, as expected_for's tuples."""
    inc = p.get("incident", {})
    key = "%s/%s" % (inc.get("force"), inc.get("reference"))
    kind, rid = p.get("kind"), p.get("recipient", {}).get("id")
    if kind == "da-incident" and rid.startswith("school:"):
        ch = p.get("child", {})
        hits = [c["child_id"] for c in register
                if (c["given_name"], c["family_name"], c["dob"]) ==
                (ch.get("given_name"), ch.get("family_name"), ch.get("dob"))]
        return (key, kind, rid, hits[0] if len(hits) == 1 else "?")
    if kind == "da-incident":
        return (key, kind, rid, p.get("register_child_id", "?"))
    if kind == "unmatched-child":
        ch = p.get("child", {})
        return (key, kind, rid, "%s %s" % (ch.get("given_name"), ch.get("family_name")))
    return (key, kind, rid, "")


def body_digest(q, cross_instance):
    """A request's body as compared between repeats. Across instances
    (R6) the same notification is created by each daemon that processed
    the incident, each at its own time: the bodies then differ in
    created_at and scheduled_for only."""
    if not cross_instance:
        return q["body_sha256"]
    p = json.loads(q["body"])
    p.pop("created_at", None)
    p.pop("scheduled_for", None)
    return json.dumps(p, sort_keys=True)


def verify_chain(db, instance):
    """The audit chain of one store, by an independent implementation of
    interfaces.md "Audit record". Returns (records, problem or None)."""
    conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
    prev = "0" * 64
    n = 0
    for seq, record in conn.execute("SELECT seq, record FROM audit ORDER BY seq"):
        n += 1
        r = json.loads(record)
        if r.get("seq") != n or seq != n:
            return n, "record %d carries seq %s" % (n, r.get("seq"))
        if r.get("prev") != prev:
            return n, "record %d: prev is not the hash of record %d" % (n, n - 1)
        if instance and r.get("instance") != instance:
            return n, "record %d: instance %s" % (n, r.get("instance"))
        h = r.pop("hash")
        canon = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if hashlib.sha256((prev + "\n" + canon).encode()).hexdigest() != h:
            return n, "record %d: hash does not verify" % n
        prev = h
    return n, None


def cmd_account(args):
    register = load_world(args.dir)
    label = (" (%s)" % args.label) if args.label else ""
    results = []

    def report(name, good, detail=""):
        results.append(good)
        print("%s %s%s%s" % ("ok" if good else "not ok", name, label,
                             (": " + detail) if detail and not good else ""))

    # What was produced, as the topic holds it.
    sent = {}
    with open(args.sent) as f:
        for line in f:
            if line.strip():
                key, value = line.rstrip("\n").split("\t", 1)
                sent[key] = json.loads(value)
    expected = set()
    for doc in sent.values():
        expected |= expected_for(doc, register)

    # What the receiver saw.
    attempts = []
    with open(args.received) as f:
        for line in f:
            if line.strip():
                attempts.append(json.loads(line))
    # A delivery is a request the receiver accepted (2xx); a 503 answered
    # while it was "down" is an attempt only.
    requests = [q for q in attempts if 200 <= q.get("code", 200) < 300]
    by_key = {}
    misdirected = []
    seen = {}
    bad_key = 0
    for q in requests:
        by_key.setdefault(q["idempotency_key"], []).append(q)
    for k, qs in by_key.items():
        p = json.loads(qs[0]["body"])
        if p.get("notification_id") != k:
            bad_key += 1
        rid = p.get("recipient", {}).get("id", "")
        path_rid = qs[0]["path"].lstrip("/").replace("/", ":")
        t = received_tuple(p, register)
        if rid != path_rid or t not in expected:
            misdirected.append((k, rid, path_rid, t[1]))
        seen.setdefault(t, set()).add(k)
    repeats = len(requests) - len(by_key)
    every_attempt = {}
    for q in attempts:
        every_attempt.setdefault(q["idempotency_key"], []).append(q)
    changed = [k for k, qs in every_attempt.items()
               if len({body_digest(q, args.cross_instance) for q in qs}) != 1 or
               len({q["path"] for q in qs}) != 1]
    lost = sorted(expected - set(seen))
    doubled = [t for t, ks in seen.items() if len(ks) > 1]

    # What the stores hold.
    store_ids, undelivered, dead = set(), [], 0
    chains = []
    for spec in args.db:
        db, _, instance = spec.partition(":")
        conn = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=30)
        for nid, state in conn.execute("SELECT id, state FROM notifications"):
            store_ids.add(nid)
            if state not in ("delivered", "acknowledged"):
                undelivered.append((nid, state))
        dead += conn.execute("SELECT count(*) FROM dead_letters").fetchone()[0]
        conn.close()
        if not args.quiet:
            chains.append((instance or db, verify_chain(db, instance)))
    store_lost = sorted(store_ids - set(by_key))
    unknown = sorted(set(by_key) - store_ids)
    if args.quiet:
        # Drained: everything called for and everything stored received.
        return 0 if not lost and not undelivered and not store_lost and store_ids else 1

    print("# sent %d incidents; expected %d notifications; delivered %d; requests %d; "
          "repeats %d; lost %d; misdirected %d%s"
          % (len(sent), len(expected), len(by_key), len(requests), repeats, len(lost),
             len(misdirected), label))
    report("incidents were produced while the daemon ran", len(sent) > 0)
    report("every notification the incidents call for (from the register) was received",
           not lost, "%d lost, e.g. %s" % (len(lost), lost[:3]))
    report("every notification in the store%s was delivered and received"
           % ("s" if len(args.db) > 1 else ""),
           not undelivered and not store_lost and len(store_ids) > 0,
           "%d not delivered %s, %d never received %s"
           % (len(undelivered), undelivered[:3], len(store_lost), store_lost[:3]))
    report("the notifications in the stores are exactly those the incidents call for",
           len(store_ids) == len(expected) and not unknown,
           "%d in the stores, %d expected, %d received ids unknown to the stores"
           % (len(store_ids), len(expected), len(unknown)))
    report("none reached a wrong recipient or named a child it should not",
           not misdirected, "%d, e.g. %s" % (len(misdirected), misdirected[:3]))
    report("every request's Idempotency-Key is its notification id", bad_key == 0,
           "%d differ" % bad_key)
    report("repeats (%d) and retries carry the same Idempotency-Key, path and body" % repeats,
           not changed,
           "%d keys seen with different bodies" % len(changed))
    report("no child and recipient got two different notifications for one incident",
           not doubled, "%d, e.g. %s" % (len(doubled), doubled[:3]))
    report("nothing was dead-lettered", dead == 0, "%d dead letters" % dead)
    for name, (n, problem) in chains:
        report("the audit chain of %s verifies (%d records, independent check)" % (name, n),
               problem is None and n > 0, problem or "empty")
    return 0 if all(results) else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    w = sub.add_parser("world")
    w.add_argument("dir")
    w.add_argument("--children", type=int, default=40)
    w.add_argument("--seed", type=int, default=11)
    f = sub.add_parser("feed")
    f.add_argument("dir")
    f.add_argument("prefix")
    f.add_argument("stopfile")
    f.add_argument("--interval", type=float, default=0.2)
    f.add_argument("--max", type=int, default=0)
    f.add_argument("--seed", type=int, default=None)
    f.add_argument("--values", action="store_true", help="JSON Lines, no keys (sdatctl publish)")
    f.add_argument("--log", help="append each KEY<TAB>VALUE line written here too")
    a = sub.add_parser("account")
    a.add_argument("dir")
    a.add_argument("--sent", required=True)
    a.add_argument("--received", required=True)
    a.add_argument("--db", action="append", required=True)
    a.add_argument("--label", default="")
    a.add_argument("--quiet", action="store_true",
                   help="print nothing; exit 0 once everything is delivered and received")
    a.add_argument("--cross-instance", action="store_true",
                   help="repeats may come from two daemons (R6)")
    args = ap.parse_args()
    return {"world": cmd_world, "feed": cmd_feed, "account": cmd_account}[args.cmd](args) or 0


if __name__ == "__main__":
    sys.exit(main())
