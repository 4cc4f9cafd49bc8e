#!/bin/sh
# The kafka connector (delivery.md), driven exactly as the outbox drives it
# (tests/helpers/connector-drive) against the standalone mock cluster and read
# back by an independent consumer (kcat): a delivery is done only when the
# broker acknowledged it; the message has key = the recipient id, headers
# sdat-kind and sdat-notification-id, and the payload's exact bytes; 100
# deliveries at once all arrive; a topic the broker does not know and a
# cluster that does not answer are retries reported within
# message.timeout.ms; no cluster at all fails at init; and
# sdatd -t refuses a kafka recipient without a valid topic.
. tests/integration/lib.sh

DRIVE="$SDAT_BUILD/tests/connector-drive"
TOPIC=school.notifications
RCPT=la:831:mash

start_broker --partitions 2 --topic "$TOPIC" || exit 1

# write_config FILE BOOTSTRAP [PROPERTIES]
write_config() {
    cat >"$1" <<CONF
state_dir = "$T/state";
instance_id = "it-kafka-connector";
kafka = { bootstrap_servers = "$2"; ${3:-} };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; mash = "$RCPT"; ehe = "la:831:ehe"; } );
recipients = ( { id = "$RCPT"; kind = "mash"; la_code = "831"; name = "Test MASH";
                 connector = "kafka"; topic = "$TOPIC"; },
               { id = "la:831:ehe"; kind = "ehe"; la_code = "831"; name = "Test EHE";
                 connector = "kafka"; topic = "no.such.topic"; } );
CONF
}
write_config "$T/sdatd.conf" "$BS"
# A short message.timeout.ms (through kafka.properties) for the failure cases.
write_config "$T/short.conf" "$BS" 'properties = ( ( "message.timeout.ms", "3000" ) );'
write_config "$T/nobroker.conf" "127.0.0.1:1" 'properties = ( ( "message.timeout.ms", "3000" ) );'

# The payload: a notification-like document with non-ASCII bytes and no
# trailing newline (connector-drive drops one).
printf '%s' '{"schema":"sdat.notification/1","notification_id":"n_0123456789abcdef0123456789abcdef","kind":"da-incident","recipient":{"id":"la:831:mash","name":"Test MASH"},"child":{"given_name":"Zoë","family_name":"Ó Briain"},"note":"tab\there, quote \" and backslash \\"}' >"$T/payload.json"
want_sha=$(sha256sum <"$T/payload.json" | cut -d' ' -f1)

# 1. One delivery: done with the partition and offset.
SDAT_BOOTSTRAP_SERVERS="$BS" "$DRIVE" "$T/sdatd.conf" "$RCPT" n_0123456789abcdef0123456789abcdef \
    "$T/payload.json" >"$T/one.out" 2>"$T/one.err"
rc=$?
if [ "$rc" -eq 0 ] && grep -Eqx 'done retry_after_ms=0 detail=partition [01] offset 0' "$T/one.out"; then
    ok "one delivery is done once the broker acknowledged it (partition and offset)"
else
    notok "one delivery is done once the broker acknowledged it (exit $rc: $(cat "$T/one.out" "$T/one.err"))"
fi

kcat -C -b "$BS" -t "$TOPIC" -e -q -J >"$T/one.jsonl" 2>"$T/kcat.err"
python3 - "$T/one.jsonl" "$RCPT" <<'PY' && ok "kcat reads key = recipient id and headers sdat-kind, sdat-notification-id" || notok "kcat reads key = recipient id and headers sdat-kind, sdat-notification-id"
import json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
assert len(msgs) == 1, msgs
m = msgs[0]
assert m["key"] == sys.argv[2], m["key"]
h = m["headers"]
h = dict(zip(h[0::2], h[1::2]))
assert h == {"sdat-kind": "da-incident",
             "sdat-notification-id": "n_0123456789abcdef0123456789abcdef"}, h
PY
got_sha=$(kcat -C -b "$BS" -t "$TOPIC" -e -q -c 1 -f '%s' 2>>"$T/kcat.err" | sha256sum | cut -d' ' -f1)
check "the message value is byte-identical to the payload (sha256)" test "$got_sha" = "$want_sha"

# 2. COUNT=100 deliveries at once through the one shared producer.
SDAT_BOOTSTRAP_SERVERS="$BS" "$DRIVE" "$T/sdatd.conf" "$RCPT" n_batch "$T/payload.json" 1 100 \
    >"$T/batch.out" 2>"$T/batch.err"
rc=$?
done_lines=$(grep -c '^done retry_after_ms=0 detail=partition [01] offset [0-9]*$' "$T/batch.out")
check "100 concurrent deliveries are all done, each reported once" \
    test "$rc" -eq 0 -a "$done_lines" -eq 100 -a "$(wc -l <"$T/batch.out")" -eq 100
kcat -C -b "$BS" -t "$TOPIC" -e -q -J >"$T/all.jsonl" 2>>"$T/kcat.err"
python3 - "$T/all.jsonl" "$RCPT" "$want_sha" <<'PY' && ok "kcat reads back all 100, each once, with its own notification id and the same bytes" || notok "kcat reads back all 100, each once, with its own notification id and the same bytes"
import hashlib, json, sys
msgs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
ids = []
for m in msgs:
    h = dict(zip(m["headers"][0::2], m["headers"][1::2]))
    if h["sdat-notification-id"].startswith("n_batch"):
        ids.append(h["sdat-notification-id"])
        assert m["key"] == sys.argv[2], m
        assert hashlib.sha256(m["payload"].encode()).hexdigest() == sys.argv[3], m
want = ["n_batch"] + ["n_batch-%d" % i for i in range(2, 101)]
assert sorted(ids) == sorted(want), (len(ids), sorted(set(want) - set(ids)))
assert len(msgs) == 101, len(msgs)
PY

# 3. A topic that does not exist. The mock cluster (Metadata v2) creates any
# topic a client asks about, so the broker's answer for a missing topic on a
# cluster without auto-creation, UNKNOWN_TOPIC_OR_PART, is injected into
# every Produce request: the delivery is a retry, reported within
# message.timeout.ms (3 s here), not a hang. (The producer itself never asks
# a broker to create a topic: allow.auto.create.topics=false.)
echo "error 0 3 1000" >&3
wait_for 10 grep -q "ok: error 0 3 1000" "$T/broker.err" || notok "the broker accepted the fault command"
began=$(date +%s)
SDAT_BOOTSTRAP_SERVERS="$BS" "$DRIVE" "$T/short.conf" la:831:ehe n_missing "$T/payload.json" \
    >"$T/missing.out" 2>"$T/missing.err"
rc=$?
took=$(($(date +%s) - began))
if [ "$rc" -eq 0 ] && grep -q '^retry ' "$T/missing.out" && [ "$took" -le 10 ]; then
    ok "a topic the broker does not know is a retry, reported within message.timeout.ms"
else
    notok "a topic the broker does not know is a retry, reported within message.timeout.ms (exit $rc, ${took}s: $(cat "$T/missing.out" "$T/missing.err"))"
fi
echo "# unknown topic: $(cat "$T/missing.out") after ${took}s"

# 4. Nothing listening at the bootstrap address: a retry, not a hang.
began=$(date +%s)
SDAT_BOOTSTRAP_SERVERS=127.0.0.1:1 "$DRIVE" "$T/nobroker.conf" "$RCPT" n_nobroker "$T/payload.json" \
    >"$T/nobroker.out" 2>"$T/nobroker.err"
rc=$?
took=$(($(date +%s) - began))
if [ "$rc" -eq 0 ] && grep -q '^retry ' "$T/nobroker.out" && [ "$took" -le 10 ]; then
    ok "an unreachable cluster is a retry, reported within message.timeout.ms"
else
    notok "an unreachable cluster is a retry, reported within message.timeout.ms (exit $rc, ${took}s: $(cat "$T/nobroker.out"))"
fi

# 5. No cluster at all: init fails and says so.
env -u SDAT_BOOTSTRAP_SERVERS "$DRIVE" "$T/sdatd.conf" "$RCPT" n_none "$T/payload.json" \
    >"$T/none.out" 2>"$T/none.err"
rc=$?
if [ "$rc" -eq 2 ] && grep -q "no Kafka cluster" "$T/none.err"; then
    ok "init without a Kafka cluster fails with a clear error"
else
    notok "init without a Kafka cluster fails with a clear error (exit $rc: $(cat "$T/none.err"))"
fi

# 6. sdatd -t: the topic is required and must be a valid Kafka topic name.
bad() { # NAME FILE EXPECTED-PATTERN
    "$SDATD" -t -c "$2" 2>"$T/bad.err"
    rc=$?
    if [ "$rc" -eq 78 ] && grep -q "$3" "$T/bad.err"; then ok "$1"; else notok "$1 (exit $rc: $(cat "$T/bad.err"))"; fi
}
"$SDATD" -t -c "$T/sdatd.conf" 2>"$T/good.err"
rc=$?
check "sdatd -t accepts kafka recipients with valid topics" test "$rc" -eq 0
sed 's/ topic = "no.such.topic";//' "$T/sdatd.conf" >"$T/notopic.conf"
bad "sdatd -t refuses a kafka recipient without topic (exit 78, recipients.[1].topic)" \
    "$T/notopic.conf" "^$T/notopic.conf:[0-9]*: recipients.\[1\].topic:"
sed 's/topic = "no.such.topic";/topic = "bad topic!";/' "$T/sdatd.conf" >"$T/badtopic.conf"
bad "sdatd -t refuses an invalid Kafka topic name (exit 78, recipients.[1].topic)" \
    "$T/badtopic.conf" "^$T/badtopic.conf:[0-9]*: recipients.\[1\].topic:"
sed 's/topic = "no.such.topic";/topic = "..";/' "$T/sdatd.conf" >"$T/dots.conf"
bad "sdatd -t refuses the topic name \"..\" (exit 78)" \
    "$T/dots.conf" "^$T/dots.conf:[0-9]*: recipients.\[1\].topic:"
echo "# done"
