#!/bin/sh
# CP-IS attendances through the daemon (flows.md §2): an attendance produced
# to health.attendances is answered on health.cpis-responses (keyed by the
# attendance key) and the local authority's cpis recipient receives one
# cpis-access file; the same attendance again is answered again and notifies
# nobody twice; an invalid NHS number on the topic is dead-lettered (stage
# schema). Over HTTP, POST /v1/cpis/attendances answers 200 with the
# response (not produced to the topic), 403 for a token whose ods_codes do
# not cover the body's ods_code, 400 for an invalid NHS number (the detail
# names the field, never the value). No NHS number reaches the log.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 2 --topic health.attendances --topic health.cpis-responses \
    --topic sdat.dlq || exit 1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN="ed-$(openssl rand -hex 16)"
TOKEN_RTG="rtg-$(openssl rand -hex 16)"
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-cpis";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-cpis"; };
http = { listen = "127.0.0.1:$PORT"; metrics_public = true;
         tokens = ( { name = "ed-any"; sha256 = "$(digest "$TOKEN")"; roles = [ "lookup", "operator" ]; },
                    { name = "ed-rtg"; sha256 = "$(digest "$TOKEN_RTG")"; roles = [ "lookup" ];
                      ods_codes = [ "RTG" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22", "DE23" ];
            mash = "la:831:mash"; cpis = "la:831:cpis"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:cpis"; kind = "cpis"; la_code = "831"; name = "Test CP-IS"; connector = "file";
    directory = "$T/spool"; }
);
CONF
# F-M flags a second child (9990000026) for the same LA: its attendances are
# the markers that show the LA's queue has passed an earlier notification.
printf '%s\n' '{"schema":"council.cpis-flag/1","flag_id":"F-1","la_code":"831","nhs_number":"9990000018","type":"CPP","start_date":"2025-01-01","la_name":"Test City","contact":{"office_phone":"01000 000010","out_of_hours_phone":"01000 000011"}}' \
    '{"schema":"council.cpis-flag/1","flag_id":"F-M","la_code":"831","nhs_number":"9990000026","type":"CPP","start_date":"2025-01-01","la_name":"Test City","contact":{"office_phone":"01000 000010","out_of_hours_phone":"01000 000011"}}' \
    >"$T/flags.jsonl"
"$SDATCTL" -c "$T/sdatd.conf" import flags "$T/flags.jsonl" >"$T/import-flags.out" 2>&1
check "two CP-IS flags are imported" grep -q "imported 2 flags" "$T/import-flags.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
# attendance ID NHS_NUMBER [ODS_CODE]: one health.attendance/1 line.
attendance() {
    printf '{"schema":"health.attendance/1","attendance_id":"%s","ods_code":"%s","setting":"emergency-department","arrived_at":"%s","patient":{"nhs_number":"%s","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12"}}\n' \
        "$1" "${3:-RTG}" "$NOW" "$2"
}
produce() { # ID NHS_NUMBER
    attendance "$1" "$2" | kcat -P -b "$BS" -t health.attendances -k "RTG/$1" 2>>"$T/kcat.err"
}
# The notification id delivery.md fixes for a cpis-access (KIND, SOURCE,
# VERSION, CHILD, RECIPIENT, DISC joined by NUL bytes).
access_id() { # ATTENDANCE_KEY RECIPIENT FLAG_ID
    python3 -c 'import hashlib, sys
print("n_" + hashlib.sha256("\0".join(["cpis-access", sys.argv[1], "1", "", sys.argv[2], sys.argv[3]]).encode()).hexdigest()[:32])' "$1" "$2" "$3"
}
# What health.cpis-responses holds: KEY<TAB>VALUE lines (kcat -C -e reads
# the topic from its beginning to its end).
responses() { kcat -C -b "$BS" -t health.cpis-responses -o beginning -e -q -f '%k\t%s\n' 2>/dev/null; }
responses_for() { # KEY COUNT: at least COUNT responses keyed KEY
    [ "$(responses | awk -F '\t' -v k="$1" '$1 == k' | wc -l)" -ge "$2" ]
}
not_answered() { ! responses | awk -F '\t' '{ print $1 }' | grep -qx "$1"; }
spool_count() { find "$T/spool/la_831_cpis" -name 'n_*.json' 2>/dev/null | wc -l; }
# The cpis-access files and the notifications in the store for one attendance.
files_for() { grep -l "\"key\":\"$1\"" "$T"/spool/la_831_cpis/n_*.json 2>/dev/null | wc -l; }
rows_for() {
    sqlite3 "file:$T/state/sdat.db?mode=ro" \
        "SELECT count(*) FROM notifications WHERE source_key = '$1' AND kind = 'cpis-access'"
}
# marker ID [http]: an attendance of the marker child (flag F-M), on the
# topic or over HTTP, and its cpis-access file delivered to the same LA.
# The LA's file connector is synchronous and the outbox starts due
# notifications in next_attempt_ms order, so once the marker's file exists
# every notification for the LA created before the marker is a file too.
marker() {
    if [ "${2:-}" = http ]; then
        post "$TOKEN" "$(attendance "$1" 9990000026)" >/dev/null
    else
        produce "$1" 9990000026
    fi
    wait_for 30 test -f "$T/spool/la_831_cpis/$(access_id "RTG/$1" la:831:cpis F-M).json"
}

# 1. From the topic: answered on the topic, the LA told once.
produce IT-1 9990000018
check "the attendance is answered on health.cpis-responses, keyed by the attendance key" \
    wait_for 30 responses_for RTG/IT-1 1
responses | awk -F '\t' '$1 == "RTG/IT-1" { print $2; exit }' >"$T/response.json"
check "  with sdat.cpis-response/1: the attendance, the active flag, no earlier access" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["schema"] == "sdat.cpis-response/1" and d["attendance"] == "RTG/IT-1" and d["nhs_number"] == "9990000018" and [f["flag_id"] for f in d["flags"]] == ["F-1"] and d["accesses"] == []))' "$T/response.json"
NID=$(access_id RTG/IT-1 la:831:cpis F-1)
delivered() { [ -f "$T/spool/la_831_cpis/$NID.json" ]; }
check "the LA's cpis recipient receives the cpis-access file ($NID)" wait_for 30 delivered
check "  a cpis-access naming the attendance, the flag and the patient's NHS number" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["kind"] == "cpis-access" and d["attendance"]["key"] == "RTG/IT-1" and [f["flag_id"] for f in d["flags"]] == ["F-1"] and d["patient"]["nhs_number"] == "9990000018" and d["recipient"]["id"] == "la:831:cpis"))' \
    "$T/spool/la_831_cpis/$NID.json"

# 2. The same attendance again.
produce IT-1 9990000018
check "the same attendance again is answered again" wait_for 15 responses_for RTG/IT-1 2
# The answer is produced only after the transaction holding the decision
# has committed: what the store holds for RTG/IT-1 now is final.
check "  and the store holds one notification for it, not two" test "$(rows_for RTG/IT-1)" -eq 1
# The marker is produced after the second answer was seen, so it is created
# after any second notification for RTG/IT-1 and delivered after it.
check "  a later attendance of another flagged child reaches the LA (the marker)" marker IT-M1
check "  and the LA is not told twice (one file)" test "$(files_for RTG/IT-1)" -eq 1

# 3. An invalid NHS number on the topic.
produce IT-BAD 9990000017
dead() { "$SDATCTL" -c "$T/sdatd.conf" dlq --json 2>/dev/null | grep -q '"stage":"schema"'; }
check "an invalid NHS number on the topic is dead-lettered (stage schema)" wait_for 30 dead
"$SDATCTL" -c "$T/sdatd.conf" dlq --json >"$T/dlq.json" 2>&1
check "  from health.attendances, naming the field and not the value" \
    python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1]) if l.strip()]; sys.exit(not any(r["topic"] == "health.attendances" and r["stage"] == "schema" and "/patient/nhs_number" in r["error"] and "9990000017" not in r["error"] for r in rows))' "$T/dlq.json"
# The dead letter commits with every other effect of the event: an answer
# would have been audited (lookup.served) in that same transaction.
served_for() {
    sqlite3 "file:$T/state/sdat.db?mode=ro" \
        "SELECT count(*) FROM audit WHERE type = 'lookup.served' AND json_extract(record, '\$.subject.attendance') = '$1'"
}
check "  and is not answered: no lookup.served for it (the same query finds IT-1's two)" \
    test "$(served_for RTG/IT-BAD)" -eq 0 -a "$(served_for RTG/IT-1)" -eq 2
check "  nor on the topic" not_answered RTG/IT-BAD

# 4. Over HTTP.
post() { # TOKEN BODY: prints the status; the body in $T/body
    curl -s -o "$T/body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
        -H "Content-Type: application/json" --data "$2" "http://127.0.0.1:$PORT/v1/cpis/attendances"
}
check "POST /v1/cpis/attendances answers 200" test "$(post "$TOKEN" "$(attendance IT-H 9990000018)")" = 200
check "  with the response: the attendance, the flag, the earlier access from the topic" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["schema"] == "sdat.cpis-response/1" and d["attendance"] == "RTG/IT-H" and [f["flag_id"] for f in d["flags"]] == ["F-1"] and len(d["accesses"]) == 1 and d["accesses"][0]["ods_code"] == "RTG"))' "$T/body"
HID=$(access_id RTG/IT-H la:831:cpis F-1)
hdelivered() { [ -f "$T/spool/la_831_cpis/$HID.json" ]; }
check "  and the LA is told of it too" wait_for 30 hdelivered
check "the same attendance over HTTP again is 200" test "$(post "$TOKEN" "$(attendance IT-H 9990000018)")" = 200
check "  with the same accesses" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["attendance"] == "RTG/IT-H" and len(d["accesses"]) == 1))' "$T/body"
# A 200 is sent only after the attendance's transaction has committed.
check "  and the store holds one notification for it, not two" test "$(rows_for RTG/IT-H)" -eq 1
# Posted after the second 200: created, and delivered, after any second one.
check "  a later attendance of another flagged child reaches the LA (the marker)" marker IT-M2 http
check "  and nobody is told twice (one file for it, four in all with the markers)" \
    test "$(files_for RTG/IT-H)" -eq 1 -a "$(spool_count)" -eq 4
check "an HTTP attendance is answered in the body, not on the topic" not_answered RTG/IT-H
check "a token narrowed to RTG may post RTG's attendance (200)" \
    test "$(post "$TOKEN_RTG" "$(attendance IT-R 9990000034)")" = 200
check "  but another organisation's is 403" \
    test "$(post "$TOKEN_RTG" "$(attendance IT-X 9990000018 RXX)")" = 403
check "  (no file for it)" test ! -f "$T/spool/la_831_cpis/$(access_id RXX/IT-X la:831:cpis F-1).json"
check "an invalid NHS number over HTTP is 400" test "$(post "$TOKEN" "$(attendance IT-BAD2 9990000017)")" = 400
check "  naming the field, not the value" \
    sh -c "grep -q '/patient/nhs_number' '$T/body' && ! grep -q 9990000017 '$T/body'"
check "a 403 comes before the schema's 400 (RXX with an invalid NHS number)" \
    test "$(post "$TOKEN_RTG" "$(attendance IT-Y 9990000017 RXX)")" = 403
check "the lookup role is required (no token: 401)" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -X POST --data '{}' "http://127.0.0.1:$PORT/v1/cpis/attendances")" = 401

stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
check "the daemon's log holds no NHS number, name or date of birth" \
    sh -c "! grep -Eq '9990000018|9990000026|9990000034|9990000017|Ashlyn|Testwood|2016-04-12' '$T/sdatd.log'"
python3 - "$T/state/sdat.db" <<'PY' && ok "each answer is audited as lookup.served with the asker and the attendance, never the number" || notok "each answer is audited as lookup.served with the asker and the attendance, never the number"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'lookup.served'")]
by_att = {}
for r in recs:
    by_att.setdefault(r["subject"].get("attendance"), []).append(r)
assert len(by_att.get("RTG/IT-1", [])) == 2, by_att.keys()
assert {r["actor"] for r in by_att["RTG/IT-1"]} == {"RTG"}
assert {r["actor"] for r in by_att["RTG/IT-H"]} == {"ed-any"}
for r in recs:
    assert "9990000018" not in json.dumps(r), r
    assert len(r["detail"]["nhs_number_hmac"]) == 64
PY
echo "# done"
