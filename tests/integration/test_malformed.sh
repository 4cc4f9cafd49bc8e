#!/bin/sh
# The malformed-input corpus (tests/corpus/malformed/, quality.md R4): each
# case, published four times by kcat, lands in the dead-letter topic with
# the stage its name gives and a reason (four rounds), and so do the invalid
# register records and attendances (tests/corpus/malformed-topics/TOPIC/) on
# the compacted council topics and health.attendances; a wrong key and a missing key are
# dead-lettered at stage key; the daemon keeps running, a valid incident
# published after the corpus is still delivered, and its resident memory
# after rounds 2-4 is within 10 % of what it was after round 1.
. tests/integration/lib.sh

start_broker --partitions 4 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags --topic health.attendances --topic sdat.dlq || exit 1
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-corpus";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-corpus"; };
http = { listen = "127.0.0.1:0"; }; # any free port: suites may run side by side
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ]; mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = ( { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH";
                 connector = "file"; directory = "$T/spool"; } );
CONF
# Under AddressSanitizer (make check-asan) freed memory is held in a
# quarantine that grows the resident set by design; without it the resident
# set measures the program again. LeakSanitizer still checks for leaks.
ASAN_OPTIONS="quarantine_size_mb=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" start_sdatd "$T/sdatd.conf" "$T/sdatd.log"

valid() { # N: a valid incident with id CORPUS-VALID-N (no register: unmatched, to the MASH)
    python3 -c 'import json,sys; d=json.load(open("tests/corpus/valid-incident.json")); d["incident_id"]="CORPUS-VALID-"+sys.argv[1]; print(json.dumps(d))' "$1"
}
mash_files_at_least() { [ "$(ls "$T"/spool/la_831_mash/n_*.json 2>/dev/null | wc -l)" -ge "$1" ]; }
valid 1 | kcat -P -b "$BS" -t police.da-incidents -k derbyshire/CORPUS-VALID-1
check "a valid incident is delivered before the corpus" wait_for 60 mash_files_at_least 1
rss() { awk '/^VmRSS/ { print $2 }' "/proc/$SDATD_PID/status"; }
dlq_at_least() { [ "$(kcat -C -b "$BS" -t sdat.dlq -e -q -f 'x\n' 2>/dev/null | wc -l)" -ge "$1" ]; }
topic_cases=tests/corpus/malformed-topics
cases=$(($(ls tests/corpus/malformed/*.bin | wc -l) + $(ls $topic_cases/*/*.bin | wc -l)))
publish_round() {
    kcat -P -b "$BS" -t police.da-incidents -k corpus tests/corpus/malformed/*.bin 2>>"$T/kcat.err"
    # Each schema's invalid fields on its own (compacted) topic.
    for topic in council.children council.cpis-flags health.attendances; do
        kcat -P -b "$BS" -t "$topic" -k corpus "$topic_cases/$topic"/*.bin 2>>"$T/kcat.err"
    done
    valid 9 | kcat -P -b "$BS" -t police.da-incidents -k derbyshire/WRONG
    valid 9 | kcat -P -b "$BS" -t police.da-incidents
}
# Round 1 warms the caches; the resident memory is compared across rounds 2-4.
publish_round
check "the first round of the corpus is dead-lettered" wait_for 90 dlq_at_least $((cases + 2))
before=$(rss)
for round in 2 3 4; do
    publish_round
done
expected=$((4 * (cases + 2)))
check "every corpus case is dead-lettered ($expected messages)" wait_for 90 dlq_at_least "$expected"

kcat -C -b "$BS" -t sdat.dlq -e -q -f '%h\n' 2>/dev/null >"$T/dlq.headers"
python3 - "$T/dlq.headers" tests/corpus/malformed $topic_cases/* <<'PY' && ok "each stage count matches the corpus and every dead letter has a reason" || notok "each stage count matches the corpus and every dead letter has a reason"
import collections, os, sys
want = collections.Counter()
for d in sys.argv[2:]:
    for name in os.listdir(d):
        want[name.split("-")[1]] += 4
want["key"] += 8
got = collections.Counter()
for line in open(sys.argv[1]):
    h = dict(kv.split("=", 1) for kv in line.strip().split(",sdat-") if "=" in kv)
    h = {("sdat-" + k if not k.startswith("sdat-") else k): v for k, v in h.items()}
    assert h.get("sdat-error"), line
    got[h["sdat-stage"]] += 1
assert got == want, (got, want)
PY

valid 2 | kcat -P -b "$BS" -t police.da-incidents -k derbyshire/CORPUS-VALID-2
check "a valid incident published after the corpus is still delivered" wait_for 60 mash_files_at_least 2
check "the daemon kept running through the corpus" kill -0 "$SDATD_PID"
after=$(rss)
echo "# resident memory before ${before} kB, after ${after} kB"
check "resident memory after the corpus is within 10 % of before" \
    test $((after * 100)) -le $((before * 110))
rejected=$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM audit WHERE type = 'event.rejected'")
check "every dead letter is audited as event.rejected" test "$rejected" -eq "$expected"

# sdatctl dlq reads the store beside the running daemon.
"$SDAT_BUILD/sdatctl" -c "$T/sdatd.conf" dlq --json >"$T/dlq.jsonl" 2>"$T/dlq.err"
check "sdatctl dlq --json exits 0 beside the running daemon" test $? -eq 0
python3 - "$T/dlq.jsonl" "$expected" <<'PY' && ok "sdatctl dlq --json lists every dead letter with id, stage, error, topic, partition, offset, at and replayed (none yet)" || notok "sdatctl dlq --json lists every dead letter with id, stage, error, topic, partition, offset, at and replayed (none yet)"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == int(sys.argv[2]), len(rows)
for r in rows:
    assert set(r) == {"id", "stage", "error", "topic", "partition", "offset", "at", "replayed"}, r
    assert r["replayed"] is None, r
    assert r["topic"] in ("police.da-incidents", "council.children", "council.cpis-flags",
                          "health.attendances"), r
    assert r["error"] and r["at"].endswith("Z"), r
    assert r["stage"] in ("parse", "size", "schema", "key", "routing"), r
assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
PY
"$SDAT_BUILD/sdatctl" -c "$T/sdatd.conf" dlq >"$T/dlq.txt" 2>"$T/dlq.err"
check "sdatctl dlq prints a table with a header and one row per dead letter" \
    test "$(sed -n '1s/ .*//p' "$T/dlq.txt")" = ID -a "$(($(wc -l <"$T/dlq.txt") - 1))" -eq "$expected"
"$SDAT_BUILD/sdatctl" -c "$T/sdatd.conf" dlq --json --since 2999-01-01T00:00:00Z >"$T/dlq.late"
check "sdatctl dlq --since a later time lists none" test ! -s "$T/dlq.late"
"$SDAT_BUILD/sdatctl" -c "$T/sdatd.conf" dlq --since yesterday >/dev/null 2>&1
check "sdatctl dlq --since without a date-time is a usage error (exit 2)" test $? -eq 2
stop_sdatd
check "SIGTERM after the corpus exits 0" test "$STOP_RC" -eq 0
echo "# done"
