#!/usr/bin/env python3
"""An implementation of the audit chain (interfaces.md "Audit record")
independent of sdat's C code, for tests/integration/test_audit.sh.

  audit_chain.py verify FILE [--key KEYFILE] [--every N]
      Checks an export (JSON Lines) as `sdatctl audit verify --file` does
      and prints the same line: "ok: N records, head HASH" (exit 0) or
      "broken at seq K: REASON" (exit 1).
  audit_chain.py rewrite DB SEQ FIELD (JSON | --delete)
      Sets (or deletes) a top-level field of the record at SEQ in the store
      DB and rewrites every hash and prev from there on, as someone without
      the checkpoint key could.
  audit_chain.py forge DB SEQ
      Inserts a well-formed record at SEQ (the later ones move up by one),
      linked to the record before it, as someone without the key could.

Only the standard library: json for parsing, a canonical writer of its own
(keys sorted by their UTF-8 bytes; only '"', '\\' and U+0000-U+001F
escaped, the latter as \\b \\f \\n \\r \\t or \\u00XX in upper case),
hashlib and hmac.
"""
import hashlib
import hmac
import json
import sqlite3
import sys

ZEROS = "0" * 64
SHORT = {"\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", '"': '\\"', "\\": "\\\\"}


def canonical_string(s):
    out = ['"']
    for ch in s:
        if ch in SHORT:
            out.append(SHORT[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04X" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canonical(v):
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))
        return "{" + ",".join(canonical_string(k) + ":" + canonical(v[k]) for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, str):
        return canonical_string(v)
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int):
        return str(v)
    raise ValueError("audit records hold no non-integer numbers")


def record_hash(record):
    body = dict(record)
    body.pop("hash", None)
    return hashlib.sha256((record["prev"] + "\n" + canonical(body)).encode("utf-8")).hexdigest()


def mac(key, seq, prev):
    return hmac.new(key, ("%d:%s" % (seq, prev)).encode(), hashlib.sha256).hexdigest()


def verify(texts, key=None, every_configured=0):
    """("ok", count, head) or ("broken", seq, reason)."""
    prev = ZEROS
    every = 0  # declared by the last checkpoint
    last_cp, last_mac, mac_seen = 0, False, False
    for i, text in enumerate(texts):
        seq = i + 1
        try:
            r = json.loads(text)
        except ValueError:
            return ("broken", seq, "not JSON")
        if not isinstance(r, dict) or r.get("seq") != seq:
            return ("broken", seq, "seq %r where %d belongs" % (r.get("seq") if isinstance(r, dict) else None, seq))
        if r.get("prev") != prev:
            return ("broken", seq, "prev does not link")
        if r.get("hash") != record_hash(r):
            return ("broken", seq, "hash does not match")
        if r.get("type") == "checkpoint":
            e = r.get("detail", {}).get("every")
            if not isinstance(e, int) or e < 2:
                return ("broken", seq, "checkpoint without every")
            has_mac = "mac" in r
            declares = every == 0 or e != every or has_mac != last_mac
            if not declares and seq % e:
                return ("broken", seq, "checkpoint out of place")
            if has_mac and key is not None and r["mac"] != mac(key, seq, r["prev"]):
                return ("broken", seq, "mac does not verify")
            if not has_mac and key is not None and mac_seen:
                return ("broken", seq, "checkpoint without mac")
            every, last_cp, last_mac, mac_seen = e, seq, has_mac, mac_seen or has_mac
        elif every and seq % every == 0:
            return ("broken", seq, "checkpoint due")
        prev = r["hash"]
    n = len(texts)
    if every_configured:
        if every == 0 and n >= every_configured:
            return ("broken", 1, "no checkpoint")
        if every and every != every_configured:
            return ("broken", last_cp, "last checkpoint declares another interval")
    if key is not None and every and not last_mac:
        return ("broken", last_cp, "last checkpoint without mac")
    return ("ok", n, prev)


def read_key(path):
    data = open(path, "rb").read()
    return data[:-1] if data.endswith(b"\n") else data


def rehash_from(db, seq):
    rows = db.execute("SELECT seq, record FROM audit WHERE seq >= ? ORDER BY seq", (seq,)).fetchall()
    before = db.execute("SELECT hash FROM audit WHERE seq = ?", (seq - 1,)).fetchone()
    prev = before[0] if before else ZEROS
    for s, text in rows:
        r = json.loads(text)
        r["prev"] = prev
        r["hash"] = record_hash(r)
        db.execute("UPDATE audit SET record = ?, hash = ? WHERE seq = ?", (canonical(r), r["hash"], s))
        prev = r["hash"]


def main(argv):
    if len(argv) >= 2 and argv[0] == "verify":
        key, every = None, 0
        args = argv[2:]
        while args:
            if args[0] == "--key":
                key = read_key(args[1])
            elif args[0] == "--every":
                every = int(args[1])
            else:
                raise SystemExit("unknown option " + args[0])
            args = args[2:]
        texts = [l.rstrip("\n") for l in open(argv[1], encoding="utf-8") if l.strip()]
        result = verify(texts, key, every)
        if result[0] == "ok":
            print("ok: %d records, head %s" % result[1:])
            return 0
        print("broken at seq %d: %s" % result[1:])
        return 1
    if len(argv) == 5 and argv[0] == "rewrite":
        db = sqlite3.connect(argv[1])
        seq = int(argv[2])
        (text,) = db.execute("SELECT record FROM audit WHERE seq = ?", (seq,)).fetchone()
        r = json.loads(text)
        if argv[4] == "--delete":
            del r[argv[3]]
        else:
            r[argv[3]] = json.loads(argv[4])
        if argv[3] == "type":
            db.execute("UPDATE audit SET type = ? WHERE seq = ?", (r["type"], seq))
        db.execute("UPDATE audit SET record = ? WHERE seq = ?", (canonical(r), seq))
        rehash_from(db, seq)
        db.commit()
        return 0
    if len(argv) == 3 and argv[0] == "forge":
        db = sqlite3.connect(argv[1])
        seq = int(argv[2])
        (text,) = db.execute("SELECT record FROM audit WHERE seq = ?", (seq - 1,)).fetchone()
        before = json.loads(text)
        db.execute("UPDATE audit SET seq = -seq - 1 WHERE seq >= ?", (seq,))
        db.execute("UPDATE audit SET seq = -seq WHERE seq < 0")
        r = {"seq": seq, "ts": before["ts"], "instance": before["instance"], "type": "event.accepted",
             "actor": "sdatd", "subject": {"incident": "derbyshire/FORGED"}, "detail": {},
             "prev": before["hash"]}
        r["hash"] = record_hash(r)
        db.execute("INSERT INTO audit(seq, type, record, hash) VALUES (?, ?, ?, ?)",
                   (seq, r["type"], canonical(r), r["hash"]))
        db.commit()
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
