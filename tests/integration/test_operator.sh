#!/bin/sh
# The operator's side through the daemon: an ambiguous child raises a review
# that `sdatctl review accept` sends to the chosen child's school (and the
# audit says who decided); an incident dead-lettered for want of an area is
# replayed with `sdatctl dlq replay` after the directory is fixed and
# delivered; /metrics parses as Prometheus text and its counters move;
# /readyz turns 503 when the broker goes down and 200 when it returns;
# sdatctl lookup answers a silent CP-IS lookup; sdatctl finds the API by
# --url, else http.public_url, else http.listen (https with --ca-file), with
# the token from --token-file or SDAT_TOKEN.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 2 --topic police.da-incidents --topic sdat.dlq || exit 1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN="ops-$(openssl rand -hex 16)"
printf '%s\n' "$TOKEN" >"$T/token" && chmod 600 "$T/token"
DIGEST=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
# conf FORCES: the directory, with the forces given.
conf() {
    cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-operator";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-operator"; };
http = { listen = "127.0.0.1:$PORT"; metrics_public = false;
         tokens = ( { name = "mash-desk"; sha256 = "$DIGEST"; roles = [ "operator", "metrics", "lookup" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22", "DE23" ];
            mash = "la:831:mash"; } );
forces = ( $1 );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "100001";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Infant"; urn = "100002";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; }
);
CONF
}
conf '{ id = "derbyshire"; default_area = "831"; }'
# Twins at one address: the same family name, date of birth and postcode.
cat >"$T/twins.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"TW-1","la_code":"831","given_name":"Fenna","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100001","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"TW-2","la_code":"831","given_name":"Fenn","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100002","start":"2025-09-01"}]}
JSONL
"$SDATCTL" -c "$T/sdatd.conf" import children "$T/twins.jsonl" >"$T/import.out" 2>&1
check "the twins are imported" grep -q "imported 2 children" "$T/import.out"
printf '%s\n' '{"schema":"council.cpis-flag/1","flag_id":"F-1","la_code":"831","nhs_number":"9990000018","type":"CPP","start_date":"2025-01-01","la_name":"Test City","contact":{"office_phone":"01000 000010","out_of_hours_phone":"01000 000011"}}' >"$T/flags.jsonl"
"$SDATCTL" -c "$T/sdatd.conf" import flags "$T/flags.jsonl" >"$T/import-flags.out" 2>&1
check "a CP-IS flag is imported" grep -q "imported 1 flags" "$T/import-flags.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
CTL() { "$SDATCTL" -c "$T/sdatd.conf" --token-file "$T/token" "$@"; }
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# The incident date is fixed (ages and school places are decided on it, so
# no answer changes as the years pass); reported now, so that each school's
# notification is due at once on the always-open calendar.
OCCURRED=2026-11-02T20:00:00Z
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
incident() { # FORCE ID POSTCODE
    printf '{"schema":"police.da-incident/1","force":"%s","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"6 Example Street","postcode":"%s"},"risk":"medium","children":[{"ref":"c1","given_name":"Fen","family_name":"Twinsworth","dob":"2017-01-01","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$2" "$OCCURRED" "$NOW" "$3" | kcat -P -b "$BS" -t police.da-incidents -k "$1/$2" 2>>"$T/kcat.err"
}

# 1. Review: the misspelt twin cannot be told apart; a person decides.
incident derbyshire R-1 "DE23 6AA"
has_review() { [ -n "$(CTL reviews --json 2>/dev/null)" ]; }
check "an ambiguous child raises a review item (sdatctl reviews)" wait_for 30 has_review
CTL reviews --json >"$T/store.reviews"
REVIEW=$(CTL reviews --json | python3 -c 'import json,sys; print(json.loads(sys.stdin.readline())["review_id"])')
check "the review lists both twins as candidates" \
    sh -c "'$SDATCTL' -c '$T/sdatd.conf' reviews --json | grep -q TW-1 && '$SDATCTL' -c '$T/sdatd.conf' reviews --json | grep -q TW-2"
# A person's own account, which cannot read /etc/sdat: --url (or SDAT_URL)
# and a token file, and no configuration is read (-c names none that exists).
PERSON() { "$SDATCTL" -c "$T/none/sdatd.conf" --token-file "$T/token" "$@"; }
PERSON --url "http://127.0.0.1:$PORT" reviews --json >"$T/person.reviews" 2>"$T/person.err"
person_rc=$?
review_ids() { python3 -c 'import json, sys; print(sorted(json.loads(l)["review_id"] for l in open(sys.argv[1])))' "$1"; }
check "sdatctl --url reviews reads no configuration (exit 0) and lists the items the store holds" \
    test "$person_rc" -eq 0 -a -s "$T/person.reviews" -a \
    "$(review_ids "$T/person.reviews" 2>&1)" = "$(review_ids "$T/store.reviews" 2>&1)"
SDAT_URL="http://127.0.0.1:$PORT" PERSON reviews >"$T/person.table" 2>>"$T/person.err"
check "  and SDAT_URL stands in for --url (the table names the review item)" \
    grep -q "^$REVIEW " "$T/person.table"
check "no school is told before a person decides" test -z "$(find "$T/spool" -path '*school_*' -name 'n_*.json' 2>/dev/null)"
CTL review accept "$REVIEW" TW-2 --by "A. Operator" >"$T/accept.out" 2>&1
check "sdatctl review accept answers with the new notification" grep -q '"notifications":\["n_' "$T/accept.out"
school_file() { [ -n "$(find "$T/spool/school_100002" -name 'n_*.json' 2>/dev/null)" ]; }
check "the chosen child's school receives it" wait_for 30 school_file
check "the other twin's school receives nothing" test -z "$(find "$T/spool/school_100001" -name 'n_*.json' 2>/dev/null)"
CTL review reject "$REVIEW" --by "B. Operator" >"$T/again.out" 2>&1
again_rc=$?
check "a second decision is refused (409, exit 1)" sh -c "[ $again_rc -eq 1 ] && grep -q 409 '$T/again.out'"
python3 - "$T/state/sdat.db" "$REVIEW" <<'PY' && ok "the audit shows who decided" || notok "the audit shows who decided"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
rows = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'review.decided'")]
mine = [r for r in rows if r["subject"].get("review_id") == sys.argv[2]]
assert len(mine) == 1, mine
assert mine[0]["actor"] == "A. Operator" and mine[0]["detail"]["by"] == "A. Operator"
assert mine[0]["detail"]["register_child_id"] == "TW-2"
PY
NID=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["notifications"][0])' "$T/accept.out")
"$SDATCTL" -c "$T/sdatd.conf" show "$NID" >"$T/show.out" 2>&1
check "sdatctl show lists the notification's audit trail" \
    sh -c "grep -q 'notification.created' '$T/show.out' && grep -q 'notification.delivered' '$T/show.out'"

# 2. A dead letter fixed by the directory and replayed.
incident otherforce X-1 "ZE9 9ZZ"
dead() { "$SDATCTL" -c "$T/sdatd.conf" dlq --json 2>/dev/null | grep -q '"stage":"routing"'; }
check "an incident from an unknown force at an unknown postcode is dead-lettered (routing)" wait_for 30 dead
DLID=$("$SDATCTL" -c "$T/sdatd.conf" dlq --json | python3 -c 'import json,sys; print([json.loads(l) for l in sys.stdin if "routing" in l][0]["id"])')
dlq_routing() {
    kcat -C -b "$BS" -t sdat.dlq -e -q -f '%k %h\n' 2>/dev/null >"$T/dlq.headers"
    grep -q '^otherforce/X-1 .*sdat-stage=routing' "$T/dlq.headers"
}
check "  and on the dead-letter topic under its key with the header sdat-stage: routing" \
    wait_for 30 dlq_routing
# Replayed before the directory is fixed: rejected again, a new dead
# letter; the replay exits 1 and the listing says where it went.
CTL dlq replay "$DLID" --by "A. Operator" >"$T/replay0.out" 2>"$T/replay0.err"
check "a replay rejected again exits 1 and names the new dead letter" \
    sh -c "[ $? -eq 1 ] && grep -q '\"outcome\":\"dead-lettered\"' '$T/replay0.out' && grep -q 'rejected again, as dead letter' '$T/replay0.err'"
DLID2=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["dead_letter_id"])' "$T/replay0.out")
"$SDATCTL" -c "$T/sdatd.conf" dlq --json >"$T/dlq0.json" 2>&1
check "  sdatctl dlq --json shows the first as replayed and dead-lettered again as the second" \
    python3 -c 'import json, sys
rows = {r["id"]: r for r in map(json.loads, open(sys.argv[1]))}
first, second = rows[int(sys.argv[2])], rows[int(sys.argv[3])]
assert first["replayed"]["outcome"] == "dead-lettered" and first["replayed"]["dead_letter_id"] == second["id"], first
assert second["replayed"] is None and second["stage"] == "routing", second' "$T/dlq0.json" "$DLID" "$DLID2"
"$SDATCTL" -c "$T/sdatd.conf" dlq >"$T/dlq0.txt" 2>&1
check "  and the table says so (REPLAYED: again as the second)" \
    grep -q "^$DLID .* again as $DLID2 " "$T/dlq0.txt"
conf '{ id = "derbyshire"; default_area = "831"; }, { id = "otherforce"; default_area = "831"; }'
kill -HUP "$SDATD_PID"
check "the fixed directory is reloaded" wait_for 10 grep -q "config: reloaded" "$T/sdatd.log"
CTL dlq replay "$DLID2" --by "A. Operator" >"$T/replay.out" 2>&1
check "sdatctl dlq replay processes it (exit 0)" \
    sh -c "[ $? -eq 0 ] && grep -q '\"outcome\":\"processed\"' '$T/replay.out'"
"$SDATCTL" -c "$T/sdatd.conf" dlq >"$T/dlq1.txt" 2>&1
check "  and sdatctl dlq shows it processed" grep -q "^$DLID2 .* processed 20" "$T/dlq1.txt"
mash_file() { [ -n "$(find "$T/spool/la_831_mash" -name 'n_*.json' -newer "$T/replay.out" 2>/dev/null)" ] || grep -q "incident=otherforce/X-1" "$T/sdatd.log"; }
check "and it is notified" wait_for 30 mash_file

# 3. Metrics: Prometheus text that moves.
metric() { # NAME_WITH_LABELS: its value, read by Python's Prometheus parser
    curl -s -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/metrics" >"$T/metrics.txt"
    PY=python3
    $PY -c 'import prometheus_client' 2>/dev/null || PY=/usr/bin/python3
    $PY - "$T/metrics.txt" "$1" <<'PY'
import sys
from prometheus_client.parser import text_string_to_metric_families
want = sys.argv[2]
total = 0.0
for fam in text_string_to_metric_families(open(sys.argv[1]).read()):
    for s in fam.samples:
        key = s.name + "{" + ",".join('%s="%s"' % kv for kv in sorted(s.labels.items())) + "}"
        if key == want:
            total += s.value
print(int(total))
PY
}
check "/metrics needs the metrics role" \
    test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/metrics")" = 401
before=$(metric 'sdat_events_total{outcome="accepted",topic="police.da-incidents"}')
check "/metrics parses as Prometheus text and counts accepted incidents ($before)" test "$before" -ge 1
incident derbyshire R-2 "DE23 6AA"
moved() { [ "$(metric 'sdat_events_total{outcome="accepted",topic="police.da-incidents"}')" -gt "$before" ]; }
check "the counter moves as incidents flow" wait_for 30 moved
check "match decisions are counted" test "$(metric 'sdat_match_decisions_total{decision="review"}')" -ge 1
check "audit records are counted" test "$(metric 'sdat_audit_records_total{}')" -ge 5

# 4. A silent CP-IS lookup through the daemon.
CTL lookup 9990000018 >"$T/lookup.out" 2>&1
check "sdatctl lookup answers with the active flag (sdat.cpis-response/1)" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d["schema"] == "sdat.cpis-response/1" and [f["flag_id"] for f in d["flags"]] == ["F-1"]))' "$T/lookup.out"
CTL lookup 9990000018 --at 2024-06-01 >"$T/lookup-old.out" 2>&1
check "sdatctl lookup --at a date before the plan: no flags" grep -q '"flags":\[\]' "$T/lookup-old.out"
CTL lookup 123 >"$T/lookup-bad.out" 2>&1
check "an invalid NHS number is refused (400, exit 1)" grep -q 400 "$T/lookup-bad.out"
check "the daemon's log does not hold the NHS number" sh -c "! grep -q 9990000018 '$T/sdatd.log'"

# 4b. How sdatctl reaches the daemon (interfaces.md "sdatctl"): --url, else
# http.public_url, else http.listen; the token from --token-file or
# SDAT_TOKEN; --ca-file for a private CA.
DEAD=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
found_flag() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not [f["flag_id"] for f in d["flags"]] == ["F-1"])' "$1"; }
SDAT_TOKEN="$TOKEN" "$SDATCTL" -c "$T/sdatd.conf" lookup 9990000018 >"$T/env-token.out" 2>"$T/env-token.err"
check "SDAT_TOKEN stands in for --token-file" found_flag "$T/env-token.out"
"$SDATCTL" -c "$T/sdatd.conf" lookup 9990000018 >/dev/null 2>"$T/no-token.err"
check "  (without either the daemon answers 401, exit 1)" \
    sh -c "[ $? -eq 1 ] && grep -q 401 '$T/no-token.err'"
CTL status >"$T/status.out" 2>"$T/status.err"
check "sdatctl status exits 0 with the daemon ready, as a table" \
    sh -c "[ $? -eq 0 ] && grep -q '^daemon  *ready$' '$T/status.out' && grep -q '^notifications  *scheduled [0-9]' '$T/status.out'"
check "  with the consumer's lag (the token has the metrics role) and the register's size" \
    sh -c "grep -q '^consumer lag  *[0-9][0-9]* messages$' '$T/status.out' && grep -q '^register  *[0-9][0-9]* children$' '$T/status.out'"
CTL status --json >"$T/status.json" 2>>"$T/status.err"
check "  and --json gives readiness, lag, counts, pending and last errors" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["daemon"]["ready"] is True and isinstance(d["consumer_lag"], int), d
assert set(d["notifications"]) >= {"scheduled", "delivered", "failed"} and "count" in d["pending"], d
assert isinstance(d["last_errors"], list), d' "$T/status.json"
CTL --url "http://127.0.0.1:1" status >"$T/status-dead.out" 2>"$T/status-dead.err"
check "sdatctl status exits 1 when the daemon cannot be reached, and says so" \
    sh -c "[ $? -eq 1 ] && grep -q '^daemon  *unreachable' '$T/status-dead.out'"
CTL --url "http://127.0.0.1:1" lookup 9990000018 >/dev/null 2>"$T/url-dead.err"
check "--url wins over http.listen (a dead --url fails with exit 1)" \
    sh -c "[ $? -eq 1 ] && grep -q 'cannot reach the daemon at http://127.0.0.1:1' '$T/url-dead.err'"
sed -e "s|listen = \"127.0.0.1:$PORT\";|listen = \"127.0.0.1:$DEAD\";|" "$T/sdatd.conf" >"$T/dead-listen.conf"
"$SDATCTL" -c "$T/dead-listen.conf" --token-file "$T/token" --url "http://127.0.0.1:$PORT/" \
    lookup 9990000018 >"$T/url-live.out" 2>&1
check "--url reaches the daemon when http.listen does not" found_flag "$T/url-live.out"
sed -e "s|listen = \"127.0.0.1:$PORT\";|listen = \"127.0.0.1:$DEAD\"; public_url = \"http://127.0.0.1:$PORT\";|" \
    "$T/sdatd.conf" >"$T/public-url.conf"
"$SDATCTL" -c "$T/public-url.conf" --token-file "$T/token" lookup 9990000018 >"$T/public-url.out" 2>&1
check "http.public_url wins over http.listen" found_flag "$T/public-url.out"
sed -e "s|listen = \"127.0.0.1:$PORT\";|listen = \"127.0.0.1:$PORT\"; public_url = \"http://127.0.0.1:$DEAD\";|" \
    "$T/sdatd.conf" >"$T/public-dead.conf"
"$SDATCTL" -c "$T/public-dead.conf" --token-file "$T/token" lookup 9990000018 >/dev/null 2>"$T/public-dead.err"
check "  (a dead public_url fails even with a live listen, exit 1)" \
    sh -c "[ $? -eq 1 ] && grep -q 'cannot reach the daemon at http://127.0.0.1:$DEAD' '$T/public-dead.err'"
# A TLS listener (the API server of tests/helpers/http-drive) with a
# certificate from a CA made for this run: https from http.listen.
mkdir -p "$T/tls" "$T/state-tls"
sh scripts/test-ca.sh "$T/tls"
TLSPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sed -e "s|state_dir = \"$T/state\";|state_dir = \"$T/state-tls\";|" \
    -e "s|kafka = { bootstrap_servers = \"$BS\"; group_id = \"sdatd-it-operator\"; };|kafka = { embedded = true; };|" \
    -e "s|listen = \"127.0.0.1:$PORT\";|listen = \"127.0.0.1:$TLSPORT\"; tls_cert = \"$T/tls/server.pem\"; tls_key = \"$T/tls/server.key\";|" \
    "$T/sdatd.conf" >"$T/tls.conf"
"$SDAT_BUILD/tests/http-drive" "$T/tls.conf" --port-file "$T/tls.port" 2>>"$T/http-drive.log" &
DRIVE_PID=$!
PIDS="$PIDS $DRIVE_PID"
check "a TLS API server starts" wait_for 10 test -s "$T/tls.port"
"$SDATCTL" -c "$T/tls.conf" --token-file "$T/token" --ca-file "$T/tls/ca.pem" \
    lookup 9990000018 >"$T/tls.out" 2>&1
check "--ca-file: sdatctl reaches a TLS listener over https (200)" \
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d["schema"] != "sdat.cpis-response/1")' "$T/tls.out"
"$SDATCTL" -c "$T/tls.conf" --token-file "$T/token" lookup 9990000018 >/dev/null 2>"$T/tls-noca.err"
check "  without --ca-file the certificate is not trusted (exit 1)" \
    sh -c "[ $? -eq 1 ] && grep -q 'cannot reach the daemon at https://127.0.0.1:$TLSPORT' '$T/tls-noca.err'"
kill -TERM "$DRIVE_PID"
wait "$DRIVE_PID"

# 5. Readiness follows the broker.
echo "down 1" >&3
unready() { curl -s "http://127.0.0.1:$PORT/readyz" >"$T/readyz.json"; grep -q 'broker unreachable' "$T/readyz.json"; }
check "/readyz turns 503 with a reason when the broker goes down" wait_for 60 unready
check "the status is 503" test "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 503
echo "up 1" >&3
check "and 200 when it returns" wait_for 60 ready
stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
check "no name or date of birth in the daemon's log" \
    sh -c "! grep -Eq 'Fenna|Twinsworth|2017-01-01' '$T/sdatd.log'"
echo "# done"
