#!/bin/sh
# The walking skeleton end to end: a standalone broker (sdatctl broker), the
# register imported, incidents produced by kcat (an independent Kafka
# client), notifications written by the file connector, a clean stop, a
# restart that neither repeats nor loses anything, dead letters with their
# headers, an audit chain verified by an independent implementation, and no
# personal data in the daemon's log.
. tests/integration/lib.sh

start_broker --partitions 4 --topic police.da-incidents --topic sdat.dlq || exit 1

cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it1";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it"; };
http = { listen = "127.0.0.1:0"; }; # any free port: suites may run side by side
lawful_basis = { da_incident = "Test basis: Domestic Abuse Act 2021 s49A";
                 da_incident_urgent = "Test basis B"; unmatched_child = "Test basis C";
                 review_needed = "Test basis D"; cpis_access = "Test basis E";
                 delivery_failed = "Test basis F"; withdrawn = "Test basis G"; };
calendars = ( { id = "test"; terms = ( [ "2026-09-01", "2026-12-18" ], [ "2027-01-05", "2027-07-23" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE1", "DE21", "DE22", "DE23", "DE24" ];
            mash = "la:831:mash"; ehe = "la:831:ehe"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary One"; urn = "100001";
    calendar = "test"; connector = "file"; directory = "$T/spool"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Primary Two"; urn = "100002";
    calendar = "test"; minimal = true; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:ehe"; kind = "ehe"; la_code = "831"; name = "Test EHE"; connector = "file";
    directory = "$T/spool"; }
);
CONF

check "sdatd -t accepts the test configuration" "$SDATD" -t -c "$T/sdatd.conf"

"$SDATCTL" -c "$T/sdatd.conf" import children config/demo-children.jsonl >"$T/import.out" 2>&1
check "sdatctl import children loads the register" grep -q "imported 5 children, rejected 0" "$T/import.out"

produce() { # KEY VALUE: one message through kcat
    printf '%s' "$2" | kcat -P -b "$BS" -t police.da-incidents -k "$1" 2>>"$T/kcat.err"
}
line() { sed -n "${1}p" config/demo-incidents.jsonl; }

start_sdatd "$T/sdatd.conf" "$T/sdatd1.log"
produce derbyshire/DEMO-0001 "$(line 1)"
produce not-json '{"schema": "police.da-incident/1", truncated'
produce derbyshire/WRONG-KEY "$(line 2)"

school1() { ls "$T"/spool/school_100001/n_*.json >/dev/null 2>&1; }
school2() { ls "$T"/spool/school_100002/n_*.json >/dev/null 2>&1; }
check "a matched child's notification reaches its school through the file connector" wait_for 60 school1
check "a child matched by UPN reaches its own school" wait_for 30 school2

python3 - "$T" <<'PY' && ok "school payloads are minimised, from the register, with deterministic ids" || notok "school payloads are minimised, from the register, with deterministic ids"
import glob, hashlib, json, sys
t = sys.argv[1]
def nid(*parts):
    return "n_" + hashlib.sha256(b"\0".join(p.encode() for p in parts)).hexdigest()[:32]
(f1,) = glob.glob(t + "/spool/school_100001/n_*.json")
p = json.load(open(f1))
assert p["schema"] == "sdat.notification/1" and p["kind"] == "da-incident", p
assert p["notification_id"] == nid("da-incident", "derbyshire/DEMO-0001", "1", "c1", "school:100001", ""), p["notification_id"]
assert f1.endswith(p["notification_id"] + ".json")
assert p["recipient"] == {"id": "school:100001", "name": "Test Primary One"}
assert p["child"] == {"given_name": "Ashlyn", "family_name": "Testwood", "dob": "2016-04-12", "upn": "F831200025001"}, p["child"]
assert set(p["incident"]) == {"force", "reference", "occurred_at", "present", "resident", "spoken_to", "voice", "circumstances"}, p["incident"]
assert p["incident"]["reference"] == "DEMO-0001"
assert "location" not in p and "risk" not in p["incident"] and "id" not in p["officer"]
assert p["lawful_basis"].startswith("Test basis")
(f2,) = glob.glob(t + "/spool/school_100002/n_*.json")
m = json.load(open(f2))
# A minimal recipient: names and dob, incident date, presence, reference, officer.
assert m["child"] == {"given_name": "Bramwell", "family_name": "Testwood", "dob": "2018-09-30"}, m["child"]
assert set(m["incident"]) == {"force", "reference", "occurred_at", "present"}, m["incident"]
PY

dlq_has() { # STAGE: the DLQ topic holds a message with that stage header
    kcat -C -b "$BS" -t sdat.dlq -e -q -f '%h\n' 2>/dev/null | grep -q "sdat-stage=$1"
}
check "a message that is not JSON is dead-lettered with stage parse" wait_for 30 dlq_has parse
check "a message whose key differs from its value's is dead-lettered with stage key" wait_for 30 dlq_has key
kcat -C -b "$BS" -t sdat.dlq -e -q -f '%h\n' 2>/dev/null >"$T/dlq.headers"
# An oversized event: dead-lettered as its first 64 KiB with its original size.
python3 -c 'import sys; sys.stdout.write("{\"pad\": \"" + "x" * 1100000 + "\"}")' >"$T/big.json"
kcat -P -b "$BS" -t police.da-incidents -k big -X message.max.bytes=2000000 "$T/big.json" 2>>"$T/kcat.err"
check "an oversized event is dead-lettered with stage size" wait_for 30 dlq_has size
kcat -C -b "$BS" -t sdat.dlq -e -q -f '%h %S\n' 2>/dev/null | grep "sdat-stage=size" >"$T/dlq.size"
check "it keeps its first 64 KiB and names its original size" \
    grep -q "sdat-original-size=1100011 65536$" "$T/dlq.size"
"$SDATCTL" -c "$T/sdatd.conf" publish --topic police.da-incidents --tombstone derbyshire/GONE >/dev/null
tombstone_dead() { kcat -C -b "$BS" -t sdat.dlq -e -q -f '%k %h\n' 2>/dev/null | grep -q "^derbyshire/GONE .*sdat-stage=parse"; }
check "a tombstone on an event topic is dead-lettered under its key" wait_for 30 tombstone_dead
check "dead letters carry their source topic and offset" grep -q "sdat-source-topic=police.da-incidents.*sdat-source-offset=" "$T/dlq.headers"

"$SDATCTL" -c "$T/sdatd.conf" import children config/demo-children.jsonl >"$T/import2.out" 2>&1
check "import refuses to run while the daemon holds the store (exit 1)" test $? -eq 1
check "import names why it refused" grep -q "in use by a running sdatd" "$T/import2.out"

stop_sdatd
check "SIGTERM stops the daemon with exit 0" test "$STOP_RC" -eq 0

echo "rtt 1 5" >&3
check "sdatctl broker applies a fault command from standard input" \
    wait_for 10 grep -q "ok: rtt 1 5" "$T/broker.err"
echo "rtt 1 0" >&3

# While the daemon is down: the same incident again, and a new one.
produce derbyshire/DEMO-0001 "$(line 1)"
line 2 >"$T/incident2.jsonl"
"$SDATCTL" -c "$T/sdatd.conf" publish --topic police.da-incidents "$T/incident2.jsonl" >"$T/publish.out"
check "sdatctl publish produces with the configured connection" grep -q "published 1 messages" "$T/publish.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd2.log"
mash_two() { [ "$(ls "$T"/spool/la_831_mash/n_*.json 2>/dev/null | wc -l)" -ge 2 ]; }
check "an incident published while the daemon was down is processed after it starts" wait_for 60 mash_two
duplicate_audited() {
    sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM audit WHERE type = 'event.duplicate'" | grep -qx 1
}
check "the same incident re-consumed is audited as a duplicate" wait_for 30 duplicate_audited
# Version 2 with the same content changes nothing; version 1 after it is
# stale. A person of 19 in an incident is out of scope: audited, not told.
variant() { # VERSION INCIDENT_ID ADULT
    line 1 | python3 -c 'import json,sys
d = json.load(sys.stdin)
d["version"], d["incident_id"] = int(sys.argv[1]), sys.argv[2]
if sys.argv[3] == "adult":
    d["children"] = [{"ref": "a1", "given_name": "Grownia", "family_name": "Elderfield", "age": 19,
                      "present": True, "resident": True}]
print(json.dumps(d))' "$@"
}
produce derbyshire/DEMO-0001 "$(variant 2 DEMO-0001 no)"
produce derbyshire/DEMO-0001 "$(variant 1 DEMO-0001 no)"
produce derbyshire/DEMO-0009 "$(variant 1 DEMO-0009 adult)"
audited() { [ "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM audit WHERE type = '$1'")" -ge 1 ]; }
check "a lower version after a higher one is audited as event.stale" wait_for 30 audited event.stale
check "a person of 19 is audited as child.out-of-scope" wait_for 30 audited child.out-of-scope
check "  and nobody is told about DEMO-0009" test \
    "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM notifications WHERE source_key = 'derbyshire/DEMO-0009'")" -eq 0
stop_sdatd
check "SIGTERM stops the restarted daemon with exit 0" test "$STOP_RC" -eq 0
check "the re-consumed incident created no second notification" test \
    "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM notifications WHERE source_key = 'derbyshire/DEMO-0001'")" -eq 2
check "exactly one file per school notification" test "$(ls "$T"/spool/school_100001 | wc -l)" -eq 1

python3 - "$T" <<'PY' && ok "MASH receives the unmatched child and the under-five routing" || notok "MASH receives the unmatched child and the under-five routing"
import glob, json, sys
kinds = {}
for f in glob.glob(sys.argv[1] + "/spool/la_831_mash/n_*.json"):
    p = json.load(open(f))
    kinds.setdefault(p["kind"], []).append(p)
(u,) = kinds["unmatched-child"]
assert u["child"]["family_name"] == "Visitorchild" and u["incident"]["risk"] == "high"
(d,) = kinds["da-incident"]
assert d["route_reason"] == "under-five" and d["register_child_id"] == "DC-0004", d
PY

sqlite3 "$T/state/sdat.db" "SELECT record FROM audit ORDER BY seq" >"$T/audit.jsonl"
python3 - "$T/audit.jsonl" <<'PY' && ok "the audit chain verifies with an independent implementation" || notok "the audit chain verifies with an independent implementation"
import hashlib, json, sys
def no_decimals(text):  # interfaces.md: audit records hold no non-integer numbers
    raise ValueError("non-integer number %s in an audit record" % text)
prev = "0" * 64
types = set()
for i, line in enumerate(open(sys.argv[1]), 1):
    r = json.loads(line, parse_float=no_decimals, parse_constant=no_decimals)
    assert r["seq"] == i and r["prev"] == prev and r["instance"] == "it1", (i, r)
    h = r.pop("hash")
    canon = json.dumps(r, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert hashlib.sha256((prev + "\n" + canon).encode()).hexdigest() == h, i
    prev = h
    types.add(r["type"])
need = {"config.loaded", "register.changed", "event.accepted", "event.rejected", "match.decided",
        "notification.created", "delivery.attempted", "notification.delivered", "event.duplicate"}
assert need <= types, need - types
PY

# The audit mirror: every record acknowledged by the broker is on the audit
# topic under INSTANCE/SEQ with the stored bytes; none is pending after a
# clean stop.
kcat -C -b "$BS" -t sdat.audit -e -q -f '%k\t%s\n' >"$T/mirror.tsv" 2>>"$T/kcat.err"
sqlite3 "$T/state/sdat.db" "SELECT seq FROM audit_unmirrored" >"$T/unmirrored.txt"
python3 - "$T/audit.jsonl" "$T/mirror.tsv" "$T/unmirrored.txt" <<'PY' && ok "the audit topic holds every record by seq (sdat.audit, key INSTANCE/SEQ)" || notok "the audit topic holds every record by seq (sdat.audit, key INSTANCE/SEQ)"
import sys
stored = [l.rstrip("\n") for l in open(sys.argv[1])]
mirrored = {}
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    inst, seq = key.split("/")
    assert inst == "it1", key
    mirrored.setdefault(int(seq), set()).add(value)
pending = [int(l) for l in open(sys.argv[3]) if l.strip()]
assert not pending, pending
assert set(mirrored) == set(range(1, len(stored) + 1)), sorted(set(range(1, len(stored) + 1)) ^ set(mirrored))[:10]
for seq, values in mirrored.items():
    assert values == {stored[seq - 1]}, seq
PY

# No personal data from the test data in the daemon's log at debug level.
python3 - "$T" <<'PY' && ok "no name, date of birth, NHS number, UPN or postcode in the daemon's log" || notok "no name, date of birth, NHS number, UPN or postcode in the daemon's log"
import json, sys
t = sys.argv[1]
log = open(t + "/sdatd1.log").read() + open(t + "/sdatd2.log").read()
assert "delivered id=n_" in log
words = set()
for f in ("config/demo-children.jsonl", "config/demo-incidents.jsonl"):
    for line in open(f):
        d = json.loads(line)
        people = d.get("children", [d])
        for c in people:
            for k in ("given_name", "family_name", "dob", "nhs_number", "upn"):
                if k in c:
                    words.add(c[k])
        for pc in (d.get("address", {}).get("postcode"), d.get("location", {}).get("postcode")):
            if pc:
                words.add(pc)
found = [w for w in words if w in log]
assert not found, found
PY

# Configuration errors: FILE:LINE: KEY: message and exit 78.
bad() { # NAME FILE EXPECTED-PATTERN
    "$SDATD" -t -c "$2" 2>"$T/bad.err"
    rc=$?
    if [ "$rc" -eq 78 ] && grep -q "$3" "$T/bad.err"; then ok "$1"; else notok "$1 (exit $rc: $(cat "$T/bad.err"))"; fi
}
sed 's/^log_level = "debug";/log_level = "debug"; colour = "blue";/' "$T/sdatd.conf" >"$T/unknown.conf"
bad "an unknown key exits 78 naming file, line and key" "$T/unknown.conf" "^$T/unknown.conf:3: colour:"
sed 's/^instance_id = "it1";/instance_id = 7;/' "$T/sdatd.conf" >"$T/type.conf"
bad "a wrong type exits 78 naming file, line and key" "$T/type.conf" "^$T/type.conf:2: instance_id:"
sed 's/mash = "la:831:mash"; ehe/mash = "la:831:nosuch"; ehe/' "$T/sdatd.conf" >"$T/dangling.conf"
bad "a recipient id that does not exist exits 78 naming the key" "$T/dangling.conf" "^$T/dangling.conf:[0-9]*: areas.\[0\].mash:"
# One pass reports every problem, each at its key's line: an http:// webhook
# URL is not hidden by a dangling reference, nor a secret's mode (line 5,
# not line 1) by either, and the webhook connector reports its missing
# secret_file as well as its URL (at the recipient's line: it is absent).
echo "synthetic" >"$T/ack.key"
chmod 644 "$T/ack.key"
sed -e "s|calendar = \"test\"; connector = \"file\"; directory = \"$T/spool\"; },|calendar = \"test\"; connector = \"webhook\"; url = \"http://school.example/hook\"; },|" \
    -e "s|listen = \"127.0.0.1:0\"; };|listen = \"127.0.0.1:0\"; ack_key_file = \"$T/ack.key\"; };|" \
    "$T/dangling.conf" >"$T/several.conf"
"$SDATD" -t -c "$T/several.conf" 2>"$T/several.err"
check "sdatd -t reports a dangling reference, an http:// URL, no secret_file and a key's mode in one pass" \
    sh -c "grep -q '^$T/several.conf:12: areas.\[0\].mash: recipient' '$T/several.err' &&
           grep -q '^$T/several.conf:16: recipients.\[0\].url: must be an https:// URL' '$T/several.err' &&
           grep -q '^$T/several.conf:15: recipients.\[0\].secret_file: is required' '$T/several.err' &&
           grep -q '^$T/several.conf:5: http.ack_key_file: .* readable by group or others' '$T/several.err' &&
           [ \$(wc -l <'$T/several.err') -eq 4 ]"
echo "# done"
