#!/bin/sh
# Delivery through the daemon, end to end, with real receivers on loopback:
# a school on an HTTPS webhook (a CA made for this run), the MASH on a Kafka
# topic read back by kcat, escalation into a file outbox. Shortened timers
# stand for the night: 500s then success (same Idempotency-Key and body on
# every attempt), a 404 (failed at once, escalated once), a receiver down
# for a while (attempts bounded by the circuit, one late escalation, then
# delivered when it returns).
. tests/integration/lib.sh

start_broker --partitions 2 --topic police.da-incidents --topic sdat.dlq --topic mash.notifications || exit 1

sh scripts/test-ca.sh "$T"
check "a test CA and a server certificate are made for this run" test -s "$T/server.pem"
SECRET="whsec-$(openssl rand -hex 16)"
printf '%s\n' "$SECRET" >"$T/secret" && chmod 600 "$T/secret"

# receiver SCRIPT [PORT]: the school's HTTPS receiver; sets PORT and RPID.
receiver() {
    rm -f "$T/recv.port"
    python3 tests/integration/https_receiver.py --port-file "$T/recv.port" --log "$T/recv.log" \
        --cert "$T/server.pem" --key "$T/server.key" --script "$1" --port "${2:-0}" \
        2>>"$T/recv.err" &
    RPID=$!
    PIDS="$PIDS $RPID"
    wait_for 10 test -s "$T/recv.port" || { notok "receiver started"; return 1; }
    PORT=$(cat "$T/recv.port")
}
receiver "500,500,201;sleep=0" || exit 1

# A fixed past date (a Monday): ages are decided on it (Quorra, born
# 2012-12-12, stays under 18 whenever the test runs) and on the always-open
# calendar the school is told at once.
PAST=2026-11-02T10:00:00Z
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-delivery";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-delivery"; };
http = { listen = "127.0.0.1:0"; }; # any free port: suites may run side by side
delivery = { concurrency = 8; retry_initial = 0.2; retry_max = 1; circuit_failures = 3;
             escalate_after = 4; give_up_after = 600; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ];
            mash = "la:831:mash"; escalation = "la:831:esc"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "100001";
    calendar = "always"; connector = "webhook"; url = "https://127.0.0.1:$PORT/sdat";
    secret_file = "$T/secret"; ca_file = "$T/ca.pem"; timeout = 5; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "kafka";
    topic = "mash.notifications"; },
  { id = "la:831:esc"; kind = "escalation"; la_code = "831"; name = "Test escalation desk";
    connector = "file"; directory = "$T/spool"; }
);
CONF
check "sdatd -t accepts webhook, kafka and file recipients" "$SDATD" -t -c "$T/sdatd.conf"
"$SDATCTL" -c "$T/sdatd.conf" import children config/demo-children.jsonl >"$T/import.out" 2>&1
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"

incident() { # ID: Ashlyn (school:100001) and an unknown child (the MASH), high risk
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"1 Example Street","postcode":"DE22 3XY"},"risk":"high","children":[{"ref":"c1","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","nhs_number":"9990000018","present":true,"resident":true},{"ref":"c2","given_name":"Quorra","family_name":"Nobodyfield","dob":"2012-12-12","present":false,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$PAST" "$PAST" | kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1" 2>>"$T/kcat.err"
}
rows() {
    python3 - "$T/state/sdat.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
}
school_state() { rows "SELECT state FROM notifications WHERE source_key = 'derbyshire/$1' AND recipient = 'school:100001'"; }
school_is() { [ "$(school_state "$1")" = "$2" ]; }
requests() { grep -c . "$T/recv.log" 2>/dev/null || echo 0; }

# 1. 500, 500, then 201: delivered after backoff, the same key and body.
incident D-1
check "500s then success: the school's notification is delivered after backoff" \
    wait_for 60 school_is D-1 delivered
python3 - "$T/recv.log" "$SECRET" "$(rows "SELECT id FROM notifications WHERE source_key = 'derbyshire/D-1' AND recipient = 'school:100001'")" <<'PY' &&
import base64, hashlib, hmac, json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mine = [l for l in lines if l["idempotency_key"] == sys.argv[3]]
assert len(mine) == 3, "attempts seen: %d" % len(mine)
assert len({l["body_sha256"] for l in mine}) == 1, "the body changed between attempts"
assert [l["attempt"] for l in mine] == ["1", "2", "3"], [l["attempt"] for l in mine]
for l in mine:
    sig = dict(p.split("=", 1) for p in l["signature"].split(","))
    body = base64.b64decode(l["body_b64"])
    want = hmac.new(sys.argv[2].encode(), ("%s." % sig["t"]).encode() + body, hashlib.sha256).hexdigest()
    assert sig["v1"] == want, "bad signature"
    doc = json.loads(body)
    assert doc["notification_id"] == sys.argv[3] and doc["kind"] == "da-incident"
    assert "location" not in doc["incident"] and "risk" not in doc["incident"], "not minimised"
PY
ok "every attempt carried the same Idempotency-Key and body and a valid signature" ||
    notok "every attempt carried the same Idempotency-Key and body and a valid signature"
check "the MASH's notifications arrive on their Kafka topic (read by kcat)" \
    wait_for 30 sh -c "[ \"\$(kcat -C -b '$BS' -t mash.notifications -e -q -f '%k %h\n' 2>/dev/null | grep -c '^la:831:mash .*sdat-kind=')\" -ge 2 ]"
kcat -C -b "$BS" -t mash.notifications -e -q -f '%h\n' 2>/dev/null >"$T/mash.headers"
check "the Kafka notifications carry their kind and id headers" \
    sh -c "grep -q 'sdat-kind=unmatched-child' '$T/mash.headers' && grep -q 'sdat-kind=da-incident-urgent' '$T/mash.headers' && grep -q 'sdat-notification-id=n_' '$T/mash.headers'"

# 2. 404: failed at once, escalated once.
kill "$RPID"; wait "$RPID" 2>/dev/null
receiver "404" "$PORT" || exit 1
incident D-2
check "a 404 fails the notification at once" wait_for 30 school_is D-2 failed
failed_id=$(rows "SELECT id FROM notifications WHERE source_key = 'derbyshire/D-2' AND recipient = 'school:100001'")
esc_failed() { grep -l "\"failed_notification_id\":\"$failed_id\"" "$T"/spool/la_831_esc/n_*.json 2>/dev/null | wc -l; }
esc_failed_is() { [ "$(esc_failed)" -eq "$1" ]; }
check "and escalates it as failed to the area's escalation recipient" wait_for 30 esc_failed_is 1
# That it is escalated exactly once and never retried is checked in 3.,
# after a later escalation (the marker) has gone through the same queue.

# 3. The receiver goes down: the circuit bounds the attempts, one late
#    escalation, delivered when it returns.
kill "$RPID"; wait "$RPID" 2>/dev/null
incident D-3
late_id() { rows "SELECT id FROM notifications WHERE source_key = 'derbyshire/D-3' AND recipient = 'school:100001'"; }
esc_late() {
    id=$(late_id)
    [ -n "$id" ] || { echo 0; return; }
    grep -l "\"failed_notification_id\":\"$id\"" "$T"/spool/la_831_esc/n_*.json 2>/dev/null |
        xargs -r grep -l '"reason":"late"' | wc -l
}
esc_late_is() { [ "$(esc_late)" -eq "$1" ]; }
check "an undelivered notification is escalated as late after escalate_after" wait_for 30 esc_late_is 1
# Not an absence check: the receiver stays down a while longer, so that
# the attempts the circuit allows can be counted over about 10 s.
sleep 6
attempts=$(rows "SELECT attempts FROM notifications WHERE id = '$(late_id)'")
# 10+ seconds down with retry_max 1 s: without a circuit, 0.2 s doubling
# gives ~15 attempts; with it, 3 failures then about one probe a second.
check "the circuit opened and logged it" grep -q "circuit open recipient=school:100001" "$T/sdatd.log"
check "attempts while down are bounded by the circuit ($attempts in ~10 s)" test "$attempts" -le 16
# D-3's late escalation (the marker) is made by a scan escalate_after (4 s)
# after D-3 was due, D-3 being produced after D-2 failed, and goes through
# the same synchronous file queue: a second escalation of D-2 (made when it
# failed or by any scan before) would have been written first, and a retry
# of D-2 (due within retry_max, 1 s) started first.
failed_escalations() { rows "SELECT count(*) FROM notifications WHERE kind = 'delivery-failed' AND source_key = 'derbyshire/D-2'"; }
check "the 404 (2.) was escalated exactly once: one file" esc_failed_is 1
check "  and one escalation in the store" test "$(failed_escalations)" -eq 1
check "a failed notification is not retried (failed after one attempt, one request)" \
    test "$(rows "SELECT state || ' ' || attempts FROM notifications WHERE id = '$failed_id'")" = "failed 1" \
    -a "$(grep -c "$failed_id" "$T/recv.log")" -eq 1
receiver "201" "$PORT" || exit 1
check "when the receiver returns the notification is delivered" wait_for 30 school_is D-3 delivered
# Delivered, D-3 is never late again: the store's escalations of it are
# final. Once every escalation in the store is delivered (each is written
# before it is marked so), the files are final too.
late_escalations() { rows "SELECT count(*) FROM notifications WHERE kind = 'delivery-failed' AND source_key = 'derbyshire/D-3'"; }
esc_drained() { [ "$(rows "SELECT count(*) FROM notifications WHERE recipient = 'la:831:esc' AND state <> 'delivered'")" -eq 0 ]; }
check "still one late escalation in the store, across the whole time down" test "$(late_escalations)" -eq 1
check "  every escalation is delivered" wait_for 30 esc_drained
check "  and one late escalation file" esc_late_is 1
check "and the circuit closes" wait_for 10 grep -q "circuit closed recipient=school:100001" "$T/sdatd.log"
stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
check "no name, date of birth or NHS number in the daemon's log" \
    sh -c "! grep -Eq 'Ashlyn|Testwood|Quorra|Nobodyfield|2016-04-12|9990000018' '$T/sdatd.log'"
echo "# done"
