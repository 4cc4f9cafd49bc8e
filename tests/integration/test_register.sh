#!/bin/sh
# The register fed by its compacted topics (issue 4, acceptance 5): a child
# upserted, changed and tombstoned through council.children is matched,
# re-routed and gone; positions are kept in the store, so a restart does
# not read the topic again and a child published while the daemon was down
# is applied after it; an invalid record is dead-lettered; CP-IS flags are
# stored from their topic and from sdatctl import; sdatctl match explains.
. tests/integration/lib.sh

start_broker --partitions 2 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags --topic sdat.dlq || exit 1
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-register";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-register"; };
http = { listen = "127.0.0.1:0"; }; # any free port: suites may run side by side
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "test"; terms = ( [ "2026-09-01", "2026-12-18" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ]; mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "One"; urn = "100001"; calendar = "test";
    connector = "file"; directory = "$T/spool"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Two"; urn = "100002"; calendar = "test";
    connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "MASH"; connector = "file";
    directory = "$T/spool"; } );
CONF
db() { sqlite3 "$T/state/sdat.db" "$1"; }
child() { # ID GIVEN URN
    printf '{"schema":"council.child/1","child_id":"%s","la_code":"831","given_name":"%s","family_name":"Quillfeather","dob":"2016-04-12","address":{"postcode":"DE22 3XY"},"education":[{"urn":"%s","start":"2025-09-01"}]}' "$1" "$2" "$3"
}
publish_child() { child "$1" "$2" "$3" | kcat -P -b "$BS" -t council.children -k "$1"; }
incident() { # ID: a child named Rowan Quillfeather, no identifier
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","occurred_at":"2026-11-20T22:14:00Z","reported_at":"2026-11-20T23:05:00Z","location":{"address":"1 Synthetic Street","postcode":"DE22 3XY"},"risk":"medium","children":[{"given_name":"Rowan","family_name":"Quillfeather","dob":"2016-04-12","present":true,"resident":true}],"officer":{"id":"PC-1","name":"PC Test"}}\n' "$1"
}
publish_incident() { incident "$1" | kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1"; }
files() { ls "$T"/spool/"$1"/n_*.json 2>/dev/null | wc -l; }
has_files() { [ "$(files "$1")" -ge "$2" ]; }
changes() { db "SELECT count(*) FROM audit WHERE type = 'register.changed'" 2>/dev/null || echo 0; }
changes_at_least() { [ "$(changes)" -ge "$1" ]; }

start_sdatd "$T/sdatd.conf" "$T/sdatd1.log"
publish_child C1 Rowan 100001
check "a child published on council.children is applied and audited" wait_for 60 changes_at_least 1
publish_incident INC-1
check "an incident child matches the topic-fed child and reaches its school" \
    wait_for 60 has_files school_100001 1
publish_child C1 Rowan 100002
check "a changed child is applied" wait_for 30 changes_at_least 2
publish_incident INC-2
check "after the change the next incident goes to the child's new school" \
    wait_for 60 has_files school_100002 1
"$SDATCTL" -c "$T/sdatd.conf" publish --topic council.children --tombstone C1 </dev/null \
    >"$T/publish.out" 2>&1
count_is() { [ "$(db "SELECT count(*) FROM $1" 2>/dev/null || echo -1)" -eq "$2" ]; }
check "a tombstone removes the child" wait_for 30 count_is children 0
publish_incident INC-3
check "after the tombstone the child is unmatched and goes to the MASH" \
    wait_for 60 has_files la_831_mash 1
# The MASH's file is written after the incident's transaction committed
# every notification of it: the store's answer is final. A school's would
# be due no later than the MASH's and is written by the same kind of
# synchronous queue in next_attempt_ms order, so its file would exist too.
check "no school was told about the third incident" \
    test "$(db "SELECT count(*) FROM notifications WHERE source_key = 'derbyshire/INC-3' AND recipient LIKE 'school:%'")" -eq 0 \
    -a "$(files school_100001)" -eq 1 -a "$(files school_100002)" -eq 1
db "SELECT record FROM audit WHERE type = 'register.changed'" >"$T/changes.jsonl"
python3 - "$T/changes.jsonl" <<'PY' && ok "register.changed records hold ids only: upsert, upsert, delete" || notok "register.changed records hold ids only: upsert, upsert, delete"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["detail"]["change"] for r in recs] == ["upsert", "upsert", "delete"], recs
for r in recs:
    assert r["subject"] == {"child_id": "C1"} and r["detail"]["source"] == "topic", r
    assert "Rowan" not in json.dumps(r) and "Quillfeather" not in json.dumps(r)
PY
printf '{"schema":"council.child/1","child_id":"BAD1","la_code":"831","given_name":"X","family_name":"Y","dob":"2016-02-30"}' |
    kcat -P -b "$BS" -t council.children -k BAD1
printf '{"schema":"council.cpis-flag/1","flag_id":"F1","la_code":"831","nhs_number":"9990000018","type":"CPP","start_date":"2026-01-01","la_name":"Test","contact":{"office_phone":"01000 000000","out_of_hours_phone":"01000 000001"}}' |
    kcat -P -b "$BS" -t council.cpis-flags -k F1
rejected() { [ "$(db "SELECT count(*) FROM dead_letters WHERE topic = 'council.children' AND stage = 'schema'")" -eq 1 ]; }
check "an invalid child on council.children is dead-lettered at stage schema" wait_for 30 rejected
check "a CP-IS flag from council.cpis-flags is stored" \
    wait_for 30 count_is cpis_flags 1
stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0

before=$(changes)
positions=$(db "SELECT count(*) FROM register_positions")
check "the register topics' positions are kept in the store" test "$positions" -ge 1
publish_child C2 Rowan 100001 # while the daemon is down
start_sdatd "$T/sdatd.conf" "$T/sdatd2.log"
check "a child published while the daemon was down is applied after it starts" \
    wait_for 60 count_is "children WHERE child_id = 'C2'" 1
# The marker: the store's positions reach the end of every register
# partition. A position is committed with the records read up to it, so
# whatever the restart read (from the kept positions or, wrongly, from the
# beginning) is applied by then.
ends() { # TOPIC PARTITION NEXT_OFFSET for each partition holding records
    for topic in council.children council.cpis-flags; do
        kcat -C -b "$BS" -t "$topic" -o beginning -e -q -f '%t %p %o\n' 2>/dev/null
    done | awk '{ next_offset[$1 " " $2] = $3 + 1 } END { for (k in next_offset) print k, next_offset[k] }' | sort
}
positions_at_end() {
    at_end=$(ends)
    [ -n "$at_end" ] &&
        [ "$(db "SELECT topic || ' ' || partition || ' ' || next_offset FROM register_positions" | sort)" = "$at_end" ]
}
check "  and the restarted daemon's positions reach the end of the register topics" \
    wait_for 30 positions_at_end
check "the restart did not read the register topic again (one more change, not all)" \
    test "$(changes)" -eq $((before + 1))
check "the restarted daemon says the register is current" \
    wait_for 30 grep -q "register is current" "$T/sdatd2.log"

# sdatctl match reads the store beside the running daemon.
incident INC-4 >"$T/incident.jsonl"
"$SDATCTL" -c "$T/sdatd.conf" match "$T/incident.jsonl" >"$T/match.out" 2>"$T/match.err"
check "sdatctl match exits 0 beside the running daemon" test $? -eq 0
python3 - "$T/match.out" <<'PY' && ok "sdatctl match prints the decision with candidates, field levels and weights" || notok "sdatctl match prints the decision with candidates, field levels and weights"
import json, sys
(o,) = [json.loads(l) for l in open(sys.argv[1])]
assert o["incident"] == "derbyshire/INC-4" and o["child"] == 0, o
assert o["decision"] == "match" and o["rule"] == "score" and o["child_id"] == "C2", o
float(o["score"])
c = o["candidates"][0]
assert c["child_id"] == "C2" and set(c["fields"]) >= {"given_name", "family_name", "dob", "postcode"}, c
assert c["fields"]["given_name"] == {"level": "exact", "weight": c["fields"]["given_name"]["weight"]}
float(c["fields"]["dob"]["weight"])
assert set(o["thresholds"]) == {"match", "review", "margin"}
PY
stop_sdatd

printf '%s\n%s\n' \
    '{"schema":"council.cpis-flag/1","flag_id":"F2","la_code":"831","nhs_number":"9990000085","type":"LAC","start_date":"2026-02-01","la_name":"Test","contact":{"office_phone":"1","out_of_hours_phone":"2"}}' \
    '{"schema":"council.cpis-flag/1","flag_id":"F3","la_code":"831","nhs_number":"123","type":"LAC","start_date":"2026-02-01","la_name":"Test","contact":{"office_phone":"1","out_of_hours_phone":"2"}}' \
    >"$T/flags.jsonl"
"$SDATCTL" -c "$T/sdatd.conf" import flags "$T/flags.jsonl" >"$T/import.out" 2>"$T/import.err"
check "sdatctl import flags exits 1 when a line is rejected" test $? -eq 1
check "sdatctl import flags reports the rejected line by number" grep -q "^line 2: /nhs_number" "$T/import.err"
check "sdatctl import flags stores the valid flag" \
    test "$(db "SELECT count(*) FROM cpis_flags")" -eq 2
# Positions are kept per cluster id: on a rebuilt cluster (a new mock
# broker) an offset from the old one means nothing, so the topics are read
# from their beginning, and an incident published before the daemon
# started waits until the register is current. C2 moves to school 100002
# on the new cluster at an offset below the old cluster's position.
# The mock cluster's id is made from heap addresses, which are the same in
# every process under AddressSanitizer (make check-asan), so the old
# cluster's positions are first moved to an id that no mock cluster has, as
# a rebuilt real cluster's id always differs from the old one.
kill "$BROKER_PID"
wait "$BROKER_PID" 2>/dev/null
exec 3>&-
db "UPDATE register_positions SET cluster = 'old-cluster'"
rm -f "$T/broker.in" "$T/broker.out"
start_broker --partitions 2 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags --topic sdat.dlq || exit 1
sed -i "s|bootstrap_servers = \"[^\"]*\"|bootstrap_servers = \"$BS\"|" "$T/sdatd.conf"
publish_child C2 Rowan 100002
publish_incident INC-9
start_sdatd "$T/sdatd.conf" "$T/sdatd3.log"
check "the daemon names the cluster" wait_for 30 grep -q "cluster id" "$T/sdatd3.log"
check "on a new cluster the register is read from its beginning: the incident goes to the child's new school" \
    wait_for 60 has_files school_100002 2
# As for the third incident: the new school's file means INC-9's decision
# is committed (the store's answer is final) and any file due with it written.
check "  and not to the old one" \
    test "$(db "SELECT count(*) FROM notifications WHERE source_key = 'derbyshire/INC-9' AND recipient = 'school:100001'")" -eq 0 \
    -a "$(files school_100001)" -eq 1
check "the positions are kept under each cluster id" \
    test "$(db "SELECT count(DISTINCT cluster) FROM register_positions")" -eq 2
stop_sdatd
echo "# done"
