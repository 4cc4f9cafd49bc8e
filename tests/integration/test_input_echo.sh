#!/bin/sh
# quality.md S8, input never steers output: events whose property names,
# keys and values carry a child's name, date of birth and NHS number (all
# synthetic) and newlines that would forge a log line are published with
# kcat (tombstones with sdatctl publish) and dead-lettered (stages parse, schema, key); none of those bytes
# reaches the daemon's log (text or JSON, SDAT_IT_LOG_FORMAT), the audit
# table, the dead-letter topic's headers, GET /v1/dlq or sdatctl dlq, while
# each dead letter's value (and key) is still the original message. A
# register tombstone whose key is no id is dead-lettered at stage key and
# the daemon carries on. sdatctl show prints an acknowledgement's `by`,
# which the API lets hold a newline, on one line.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 2 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags --topic sdat.dlq || exit 1
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
OPS=$(openssl rand -hex 24)
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-echo";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-echo"; };
http = { listen = "127.0.0.1:$PORT";
         tokens = ( { name = "mash-desk"; sha256 = "$(digest "$OPS")"; roles = [ "operator", "ack" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ]; mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = ( { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH";
                 connector = "file"; directory = "$T/spool"; } );
CONF
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# The synthetic child whose data must not leak (the personal-data scan of
# tests/run-integration.sh reads these pairs too):
# {"given_name":"Ada","family_name":"Quillbrook","dob":"2015-03-04","nhs_number":"9434765919"}
# The messages, one file each, written by Python (bytes kcat sends as they
# are). FORGED is a property name, a key and a value.
python3 - "$T" <<'PY'
import json, os, sys
t = sys.argv[1]
forged = "Ada Quillbrook 2015-03-04 9434765919\n2026-01-01T00:00:00Z info delivered"
base = json.load(open("tests/corpus/valid-incident.json"))
def incident(n, **change):
    d = json.loads(json.dumps(base))
    d["incident_id"] = "ECHO-%d" % n
    d.update(change)
    return d
def write(name, data):
    with open(os.path.join(t, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else json.dumps(data).encode())
# Schema: an unknown property named after the child, at the top and in a child.
d = incident(1)
d[forged] = "Ada Quillbrook"
d["children"][0][forged] = {"dob": "2015-03-04"}
write("m1-schema-name.json", d)
# Schema: the child's data in values that break a pattern, a format, an enum.
d = incident(2, risk=forged, incident_id=forged)
d["children"][0].update({"dob": forged, "nhs_number": "9434765919\n", "given_name": 7})
d["location"]["postcode"] = forged
write("m2-schema-values.json", d)
# Parse: a duplicate key named after the child (jansson quotes it "near").
write("m3-parse-duplicate.json",
      b'{"schema":"police.da-incident/1","' + forged.encode("unicode_escape") +
      b'":1,"' + forged.encode("unicode_escape") + b'":2}')
# Parse: cut inside a string holding the child's data, and raw bytes.
write("m4-parse-cut.json", b'{"schema":"' + forged.encode() + b'\n')
write("m5-parse-bytes.json", b'{"' + forged.encode() + b'\xff\x1b[2J":1}')
# Key: a valid incident under a key that is the child's data.
write("m6-key.json", incident(6))
# A valid incident, for the check that the daemon carries on.
write("valid.json", incident(9))
PY
FORGED=$(printf 'Ada Quillbrook 2015-03-04 9434765919\n2026-01-01T00:00:00Z info delivered')
for m in m1-schema-name m2-schema-values m3-parse-duplicate m4-parse-cut m5-parse-bytes; do
    kcat -P -b "$BS" -t police.da-incidents -k derbyshire/ECHO "$T/$m.json" 2>>"$T/kcat.err"
done
kcat -P -b "$BS" -t police.da-incidents -k "$FORGED" "$T/m6-key.json" 2>>"$T/kcat.err"
# Register tombstones (null values) whose keys are the child's data: kcat
# sends no empty message, so sdatctl publish does.
"$SDATCTL" -c "$T/sdatd.conf" publish --topic council.children --tombstone "$FORGED" \
    --tombstone "C-1 Ada Quillbrook 2015-03-04" </dev/null >"$T/publish.out" 2>&1
check "the tombstones are published" grep -q "published 2 messages" "$T/publish.out"
WANT=8
dlq_count() { kcat -C -b "$BS" -t sdat.dlq -e -q -f 'x\n' 2>/dev/null | wc -l; }
dlq_at_least() { [ "$(dlq_count)" -ge "$1" ]; }
check "the $WANT messages are dead-lettered" wait_for 60 dlq_at_least $WANT
kcat -P -b "$BS" -t police.da-incidents -k derbyshire/ECHO-9 "$T/valid.json" 2>>"$T/kcat.err"
delivered() { ls "$T"/spool/la_831_mash/n_*.json >/dev/null 2>&1; }
check "the daemon carries on: a valid incident published after them is delivered" \
    wait_for 60 delivered
check "the daemon is still running" kill -0 "$SDATD_PID"

# leaks FILE: whether FILE holds any piece of the child's data or the
# forged line's text.
leaks() { grep -a -q -e Quillbrook -e 9434765919 -e 2015-03-04 -e 'info delivered' "$1"; }
notleaks() { ! leaks "$1"; }

# The stages: two schema, three parse, three key (one incident, two tombstones).
kcat -C -b "$BS" -t sdat.dlq -e -q -f '%h\n--end--\n' 2>/dev/null >"$T/dlq.headers"
python3 - "$T/dlq.headers" <<'PY' && ok "the dead letters are at stages schema 2, parse 3, key 3" || notok "the dead letters are at stages schema 2, parse 3, key 3"
import collections, re, sys
stages = collections.Counter(re.findall(r"sdat-stage=([a-z]+)", open(sys.argv[1]).read()))
assert stages == {"schema": 2, "parse": 3, "key": 3}, stages
PY
check "no piece of the child's data in the dead letters' headers (sdat-error ...)" \
    notleaks "$T/dlq.headers"
check "every dead letter has an sdat-error header" \
    test "$(grep -a -c 'sdat-error=.' "$T/dlq.headers")" -eq $WANT
kcat -C -b "$BS" -t sdat.dlq -e -q -f '%s\n' 2>/dev/null >"$T/dlq.values"
kcat -C -b "$BS" -t sdat.dlq -e -q -f '%k\n' 2>/dev/null >"$T/dlq.keys"
check "each dead letter's value is the original message, byte for byte" python3 -c '
import sys
t, values = sys.argv[1], open(sys.argv[1] + "/dlq.values", "rb").read()
for m in ("m1-schema-name", "m2-schema-values", "m3-parse-duplicate", "m4-parse-cut",
          "m5-parse-bytes", "m6-key"):
    assert open("%s/%s.json" % (t, m), "rb").read() in values, m' "$T"
check "the dead letters of the wrong keys keep them as their keys" python3 -c '
import sys
keys = open(sys.argv[1], "rb").read()
for k in (b"Ada Quillbrook 2015-03-04 9434765919\n2026-01-01T00:00:00Z info delivered",
          b"C-1 Ada Quillbrook 2015-03-04"):
    assert keys.count(k) >= 1, k
assert keys.count(b"Ada Quillbrook 2015-03-04 9434765919\n") == 2' "$T/dlq.keys"

# The log, as the test sees it and, under tests/run-integration.sh, as
# written (the JSON lines).
check "no piece of the child's data in the daemon's log" notleaks "$T/sdatd.log"
check "no forged line in the daemon's log" sh -c "! grep -a -q '^2026-01-01T00:00:00Z' '$T/sdatd.log'"
check "the log says why the events were rejected (stage and pointer)" \
    grep -q 'stage=schema: /children/0: has a property that is not allowed' "$T/sdatd.log"
check "the log says a tombstone's key is no id" \
    grep -q 'stage=key: a register record needs its id as the message key' "$T/sdatd.log"
if [ -n "${SDAT_IT_LOG_FORMAT:-}" ]; then
    RAW="$SDAT_IT_SCAN_DIR/sdatd.$SDATD_PID.log"
    check "no piece of the child's data in the daemon's log as written ($SDAT_IT_LOG_FORMAT)" \
        notleaks "$RAW"
    check "every line as written parses in its format ($SDAT_IT_LOG_FORMAT)" \
        sh -c "! grep -a -q -e '^UNPARSABLE: ' -e '^2026-01-01T00:00:00Z' '$RAW'"
fi

# The audit table (never pruned).
sqlite3 "file:$T/state/sdat.db?mode=ro" "SELECT record FROM audit" >"$T/audit.txt"
check "eight event.rejected records" \
    test "$(grep -c '"type":"event.rejected"' "$T/audit.txt")" -eq $WANT
check "no piece of the child's data in the audit table" notleaks "$T/audit.txt"
check "no register change from the tombstones" sh -c "! grep -q register.changed '$T/audit.txt'"

# The API and sdatctl.
curl -s -H "Authorization: Bearer $OPS" "$URL/v1/dlq" >"$T/api.dlq"
check "GET /v1/dlq lists the eight" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
rows = d if isinstance(d, list) else next(v for v in d.values() if isinstance(v, list))
sys.exit(len(rows) != 8)' "$T/api.dlq"
check "no piece of the child's data in GET /v1/dlq" notleaks "$T/api.dlq"
"$SDATCTL" -c "$T/sdatd.conf" dlq >"$T/ctl.dlq" 2>"$T/ctl.err"
"$SDATCTL" -c "$T/sdatd.conf" dlq --json >>"$T/ctl.dlq" 2>>"$T/ctl.err"
cat "$T/ctl.err" >>"$T/ctl.dlq"
check "no piece of the child's data in sdatctl dlq (table and --json)" notleaks "$T/ctl.dlq"
check "sdatctl dlq prints a header and one line per dead letter" \
    test "$("$SDATCTL" -c "$T/sdatd.conf" dlq 2>/dev/null | wc -l)" -eq $((WANT + 1))

# An acknowledgement's `by` is the operator's text. The API refuses a
# control character in it, as the console's form does (a newline could forge
# a line wherever the name is printed); sdatctl show prints names through the
# log's escaper (tests/unit/test_log.c) for records written before that.
NID=$(basename "$(ls "$T"/spool/la_831_mash/n_*.json | head -n 1)" .json)
BY='A. Operator\n2026-01-01T00:00:00Z info forged'
status=$(curl -s -o "$T/ack.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $OPS" \
    -H 'Content-Type: application/json' -d "{\"by\":\"$BY\"}" "$URL/v1/notifications/$NID/ack")
check "an acknowledgement by a name with a newline is refused (400)" test "$status" = 400
check "  (it names /by)" grep -q '/by' "$T/ack.out"
status=$(curl -s -o "$T/ack.out" -w '%{http_code}' -X POST -H "Authorization: Bearer $OPS" \
    -H 'Content-Type: application/json' -d '{"by":"A. Operator"}' "$URL/v1/notifications/$NID/ack")
check "the same notification is acknowledged by a plain name (204)" test "$status" = 204
acked() {
    "$SDATCTL" -c "$T/sdatd.conf" show "$NID" >"$T/show.out" 2>&1 &&
        grep -q notification.acknowledged "$T/show.out"
}
check "sdatctl show lists the acknowledgement" wait_for 30 acked
check "sdatctl show names who acknowledged" grep -q -F 'by A. Operator' "$T/show.out"
check "the refused name reached no record" sh -c "! grep -q 'forged' '$T/show.out'"

stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
echo "# done"
