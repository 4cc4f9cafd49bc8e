#!/bin/sh
# make demo: the daemon on its embedded default. Imports a small synthetic
# register, starts sdatd with an in-process Kafka-protocol broker and the
# file connector, publishes sample police incidents with sdatctl publish,
# waits until the notifications are delivered, shows one, shows one held
# for the next school day, answers an emergency department's attendance
# from a CP-IS flag and tells the local authority, prints the email one
# school (Demo Academy) receives in link mode from a local SMTP server and
# checks that it holds no personal data and links to the console, stops,
# and prints a subject access report for one child and the audit chain's
# verification.
#
# SDAT_DEMO_KEEP=1 (make demo KEEP=1; empty, 0 or no: not kept): instead of stopping, the daemon and
# the receiver keep running for the console: the twins' incident is
# published (a review item), an operator token is made for this run (its
# digest goes into the generated build/demo/demo.conf, the token itself only
# to the terminal) and the console's URL is printed, with Demo Academy's
# login (its token, narrowed to the school, is in a file every run makes).
# `scripts/demo.sh stop` (make demo-stop) stops them; a new run stops a
# kept one first.
# SDAT_DEMO_DIR (default build) holds the demo's state, spool and inputs;
# SDAT_DEMO_PORT (default 8080) is the HTTP listener's port on 127.0.0.1.
set -eu
: "${SDAT_BUILD:=build}"
: "${SDAT_DEMO_DIR:=build}"
: "${SDAT_DEMO_PORT:=8080}"
: "${SDAT_DEMO_KEEP:=}"
case $SDAT_DEMO_KEEP in 0 | no) SDAT_DEMO_KEEP= ;; esac
SDATD="$SDAT_BUILD/sdatd"
SDATCTL="$SDAT_BUILD/sdatctl"
STATE=$SDAT_DEMO_DIR/demo-state
SPOOL=$SDAT_DEMO_DIR/demo-spool
INPUTS=$SDAT_DEMO_DIR/demo
KEPT=$SDAT_DEMO_DIR/demo-kept.pids

# stop_kept: stops the daemon and receiver a KEEP run left (their ids are in
# $KEPT), each only while its command line is still the demo's.
stop_kept() {
    [ -f "$KEPT" ] || return 0
    while read -r what kp; do
        case "$what:$(tr '\0' ' ' <"/proc/$kp/cmdline" 2>/dev/null || true)" in
        sdatd:*sdatd\ -c\ *demo.conf* | receiver:*https_receiver.py* | \
            smtp-receiver:*smtp_receiver.py*)
            kill -TERM "$kp" 2>/dev/null || true
            i=0
            while kill -0 "$kp" 2>/dev/null && [ "$i" -lt 300 ]; do
                i=$((i + 1))
                sleep 0.1
            done
            echo "   stopped the kept demo's $what (process $kp)"
            ;;
        esac
    done <"$KEPT"
    rm -f "$KEPT"
}
if [ "${1:-}" = stop ]; then
    [ -f "$KEPT" ] || { echo "no demo is kept running ($KEPT is missing)"; exit 0; }
    stop_kept
    exit 0
fi
stop_kept

rm -rf "$STATE" "$SPOOL" "$INPUTS"
mkdir -p "$STATE" "$INPUTS"
echo "== checking the demo configuration"
"$SDATD" -t -c config/demo.conf
# The MASH's notifications go by webhook to a local HTTPS receiver (the
# tests' receiver, with a certificate authority made for this run); Demo
# Academy's by email, in link mode, to a local SMTP server with STARTTLS
# (the tests' aiosmtpd server, the same certificate authority); the other
# schools' to the file outbox.
echo "== starting a local HTTPS receiver for the MASH's webhook (log: $INPUTS/receiver.log)"
sh scripts/test-ca.sh "$INPUTS"
openssl rand -hex 24 >"$INPUTS/webhook.secret"
chmod 600 "$INPUTS/webhook.secret"
python3 tests/integration/https_receiver.py --port-file "$INPUTS/receiver.port" \
    --log "$INPUTS/receiver.log" --cert "$INPUTS/server.pem" --key "$INPUTS/server.key" \
    --script 201 </dev/null >"$INPUTS/receiver.out" 2>"$INPUTS/receiver.err" &
receiver_pid=$!
trap 'kill $receiver_pid 2>/dev/null || true' EXIT
# aiosmtpd is Debian's python3-aiosmtpd: the system python has it even when
# another python3 comes first on the PATH.
PY=python3
$PY -c 'import aiosmtpd' 2>/dev/null || PY=/usr/bin/python3
echo "== starting a local SMTP server with STARTTLS for Demo Academy's email (messages in $INPUTS/mail)"
$PY tests/integration/smtp_receiver.py --port-file "$INPUTS/smtp.port" --out "$INPUTS/mail" \
    --starttls "$INPUTS/server.pem" "$INPUTS/server.key" </dev/null >"$INPUTS/smtp.out" 2>"$INPUTS/smtp.err" &
smtp_pid=$!
trap 'kill $receiver_pid $smtp_pid 2>/dev/null || true' EXIT
i=0
until [ -s "$INPUTS/receiver.port" ] && [ -s "$INPUTS/smtp.port" ]; do
    i=$((i + 1))
    if [ "$i" -ge 100 ] || ! kill -0 "$smtp_pid" 2>/dev/null; then
        echo "the receivers did not start:" >&2
        cat "$INPUTS/receiver.err" "$INPUTS/smtp.err" >&2
        exit 1
    fi
    sleep 0.1
done
# The school calendar and the incidents' times are set around today, so
# that the demo shows the same on any day (scripts/demo-inputs.py).
now=$(python3 scripts/demo-inputs.py "$INPUTS" "$(cat "$INPUTS/receiver.port")" "$(cat "$INPUTS/smtp.port")")
CONF=$INPUTS/demo.conf
# This run's directories and port (the defaults leave it as it is); the
# listener stays on loopback: the console refuses plain HTTP elsewhere.
# The links (acknowledgement, the email's) point at it.
PUBLIC_URL=http://127.0.0.1:$SDAT_DEMO_PORT
sed -i -e "s|\"build/demo-state\"|\"$STATE\"|" -e "s|\"build/demo-spool\"|\"$SPOOL\"|g" \
    -e "s|listen = \"127.0.0.1:8080\"|listen = \"127.0.0.1:$SDAT_DEMO_PORT\"|" \
    -e "s|public_url = \"http://127.0.0.1:8080\"|public_url = \"$PUBLIC_URL\"|" "$CONF"
grep -q "listen = \"127.0.0.1:$SDAT_DEMO_PORT\"; public_url = \"$PUBLIC_URL\"" "$CONF" ||
    { echo "$CONF: the HTTP listener and public_url are not 127.0.0.1:$SDAT_DEMO_PORT" >&2; exit 1; }
# Demo Academy's DSL reads the email's link in the console with a token of
# role ack narrowed to the school: the token into a file of mode 0600 (as
# sdatctl says a holder should keep it), its digest into the configuration.
SCHOOL_TOKEN=$INPUTS/school-100003.token
made=$(umask 077 && "$SDATCTL" token new demo-academy-dsl --role ack --recipient school:100003 2>/dev/null)
(umask 077 && printf '%s\n' "$made" | sed -n 1p >"$SCHOOL_TOKEN")
line=$(printf '%s\n' "$made" | sed -n 2p)
sed -i "s|^http = { listen = |http = { tokens = ( $line ); listen = |" "$CONF"
"$SDATD" -t -c "$CONF"
echo "== importing the synthetic register (config/demo-children.jsonl)"
"$SDATCTL" -c "$CONF" import children config/demo-children.jsonl
echo "== importing twins, Fennimore and Fenwicka Larkspur (config/demo-twins.jsonl)"
"$SDATCTL" -c "$CONF" import children config/demo-twins.jsonl
echo "== importing a CP-IS flag (config/demo-flags.jsonl: a child protection plan)"
"$SDATCTL" -c "$CONF" import flags config/demo-flags.jsonl

echo "== starting sdatd (embedded broker; schools by the file connector and one by email, the MASH by webhook); log in $STATE/sdatd.log"
"$SDATD" -c "$CONF" </dev/null >/dev/null 2>"$STATE/sdatd.log" &
pid=$!
trap 'kill $pid $receiver_pid $smtp_pid 2>/dev/null || true' EXIT
i=0
until [ -s "$STATE/bootstrap.servers" ]; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
        echo "sdatd did not start:" >&2
        cat "$STATE/sdatd.log" >&2
        exit 1
    fi
    sleep 0.1
done
echo "   embedded broker at $(cat "$STATE/bootstrap.servers")"
wait_log() { # PATTERN COUNT
    i=0
    while [ "$(grep -c "$1" "$STATE/sdatd.log" || true)" -lt "$2" ]; do
        i=$((i + 1))
        if [ "$i" -gt 600 ]; then
            echo "timed out waiting for \"$1\"; the daemon's log:" >&2
            cat "$STATE/sdatd.log" >&2
            exit 1
        fi
        sleep 0.1
    done
}

echo "== publishing sample incidents (config/demo-incidents.jsonl, reported on the last weekday at 10:00 UTC)"
"$SDATCTL" -c "$CONF" publish --topic police.da-incidents "$INPUTS/incidents.jsonl"

# Two schools (incident 1), and the MASH: an under-five child, an unmatched
# child and the urgent copy of a high-risk incident (incident 2).
echo "== waiting for the 5 notifications to be delivered"
wait_log 'delivered id=' 5

# The register changes through its compacted topic; a third incident names
# the new child with a misspelt given name, half of a hyphenated family name
# and the day and month swapped: a scored match, to her school.
echo "== publishing a new register child on council.children (config/demo-register-update.jsonl)"
"$SDATCTL" -c "$CONF" publish --topic council.children config/demo-register-update.jsonl
wait_log 'register: upsert child_id=DC-0006' 1
echo "== how the third incident's child matches (sdatctl match config/demo-incident-3.jsonl):"
"$SDATCTL" -c "$CONF" match "$INPUTS/incident-3.jsonl" | python3 -m json.tool
# Twins: a child written "Fenn" is near Fennimore and not far from
# Fenwicka; with a twin in the house only a given name that names one and
# rules out the other is a match (the sibling guard, docs/MATCHING.md).
echo "== twins (sdatctl match config/demo-incident-twins.jsonl): \"Fenn\" goes to a person, \"Fenwicka\" is matched"
"$SDATCTL" -c "$CONF" match config/demo-incident-twins.jsonl | python3 -c '
import json, sys
for line in sys.stdin:
    d = json.loads(line)
    print("   child %d: %s (%s)%s%s" % (d["child"], d["decision"], d["reason"],
          " -> " + d["child_id"] if d["child_id"] else "",
          "; candidates " + ", ".join(c["child_id"] + (" (sibling)" if c.get("sibling") else "")
                                     for c in d["candidates"]) if d.get("sibling_guard") else ""))'
echo "== publishing it (config/demo-incident-3.jsonl) and waiting for the 6th delivery (to her school, Demo Academy, by email)"
"$SDATCTL" -c "$CONF" publish --topic police.da-incidents "$INPUTS/incident-3.jsonl"
wait_log 'delivered id=' 6

# Reported now, on a day the school is closed: the school is told at the
# release time of its next school day, not in the night.
echo "== publishing an incident reported now ($now; config/demo-incident-held.jsonl)"
"$SDATCTL" -c "$CONF" publish --topic police.da-incidents "$INPUTS/incident-held.jsonl"
wait_log 'notification created .*incident=derbyshire/DEMO-0004' 1
echo "== held for the school's next school day (today is a closure in the demo calendar):"
grep 'notification created .*incident=derbyshire/DEMO-0004' "$STATE/sdatd.log"
echo "   sdatctl schedule --recipient school:100001 --at $now:"
echo "   $("$SDATCTL" -c "$CONF" schedule --recipient school:100001 --at "$now")"
sleep 1
if [ "$(grep -c 'delivered id=' "$STATE/sdatd.log")" -ne 6 ]; then
    echo "the held notification was delivered at once" >&2
    exit 1
fi

# CP-IS: an emergency department asks about a child; the answer goes back
# on health.cpis-responses at once and the local authority that owns the
# plan is told of the attendance.
arrived=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf '{"schema":"health.attendance/1","attendance_id":"DEMO-ED-1","ods_code":"RTG01","setting":"emergency-department","arrived_at":"%s","patient":{"nhs_number":"9990000085"}}\n' \
    "$arrived" >"$INPUTS/attendance.jsonl"
echo "== publishing an attendance at an emergency department (health.attendances, key RTG01/DEMO-ED-1)"
"$SDATCTL" -c "$CONF" publish --topic health.attendances "$INPUTS/attendance.jsonl"
wait_log 'delivered id=' 7
echo "== the answer on health.cpis-responses (read with kcat):"
timeout 30 kcat -C -b "$(cat "$STATE/bootstrap.servers")" -t health.cpis-responses -o beginning -c 1 \
    -f 'key %k: %s\n' 2>/dev/null
echo "== and the local authority's CP-IS team is told ($SPOOL/la_831_cpis):"
python3 -m json.tool "$(find "$SPOOL/la_831_cpis" -name 'n_*.json' | head -n 1)"
sleep 1
if [ "$(grep -c 'delivered id=' "$STATE/sdatd.log")" -ne 7 ]; then
    echo "the held notification was delivered at once" >&2
    exit 1
fi

echo "== delivered notifications (file connector, $SPOOL):"
find "$SPOOL" -name 'n_*.json' | sort
echo "== delivered by webhook to the MASH's HTTPS receiver (signed; one line per request):"
python3 - "$INPUTS/receiver.log" "$INPUTS/webhook.secret" <<'PY'
import base64, hashlib, hmac, json, sys
secret = open(sys.argv[2], "rb").read().rstrip(b"\n")
for line in open(sys.argv[1]):
    r = json.loads(line)
    body = base64.b64decode(r["body_b64"])
    sig = dict(p.split("=", 1) for p in r["signature"].split(","))
    ok = hmac.new(secret, sig["t"].encode() + b"." + body, hashlib.sha256).hexdigest() == sig["v1"]
    doc = json.loads(body)
    print("   POST %s Idempotency-Key=%s kind=%s signature=%s" % (
        r["path"], r["idempotency_key"], doc["kind"], "valid" if ok else "INVALID"))
PY
first=$(find "$SPOOL/school_100001" -name 'n_*.json' | head -n 1)
echo "== one of them, as the school's DSL receives it ($first):"
python3 -m json.tool "$first"
# Demo Academy's: an email in link mode, which holds no personal data (the
# tests' scan for the synthetic data's names, dates of birth, NHS numbers,
# UPNs and postcodes finds none) and links to the notification in the
# console, where the school's DSL reads it with the school's token.
echo "== Demo Academy's, by email in link mode, exactly as the school receives it ($INPUTS/mail):"
python3 scripts/demo-email.py "$INPUTS/mail" "$PUBLIC_URL" school:100003 "$STATE/sdatd.log"
echo "== checking the email for personal data (tests/integration/pii-scan.py over its header and decoded parts):"
if ! python3 tests/integration/pii-scan.py "$INPUTS/mail/scan" >"$INPUTS/mail/scan.out"; then
    sed 's/^/   /' "$INPUTS/mail/scan.out" >&2
    echo "Demo Academy's email holds personal data" >&2
    exit 1
fi
sed 's/^/   /' "$INPUTS/mail/scan.out"
echo "== the daemon's log (ids only, no personal data):"
cat "$STATE/sdatd.log"
if [ -n "$SDAT_DEMO_KEEP" ]; then
    # For the console: the twins' incident, whose "Fenn" waits for a person
    # (a review item, with the twin among the candidates).
    echo "== KEEP: publishing the twins' incident (config/demo-incident-twins.jsonl)" \
        "for the console's review queue"
    "$SDATCTL" -c "$CONF" publish --topic police.da-incidents "$INPUTS/incident-twins.jsonl"
    wait_log 'review created .*incident=derbyshire/DEMO-0005' 1
    echo "== KEEP: sdatd keeps running; the store is $STATE/sdat.db"
else
    kill -TERM "$pid"
    wait "$pid"
    kill "$receiver_pid" "$smtp_pid" 2>/dev/null || true
    trap - EXIT
    echo "== sdatd stopped cleanly; the store is $STATE/sdat.db"
fi
# What an information governance officer answers a subject access request
# from: every audit record about the child and what each notification
# shared (sdatctl audit export --subject; the full JSON Lines are in
# $INPUTS/subject-DC-0001.jsonl).
echo "== subject access report for register child DC-0001 (sdatctl audit export --subject DC-0001):"
"$SDATCTL" -c "$CONF" audit export --subject DC-0001 >"$INPUTS/subject-DC-0001.jsonl"
python3 - "$INPUTS/subject-DC-0001.jsonl" <<'PY'
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "notification" in d:
        n = d["notification"]
        shared = sorted(k for k in (n.get("payload") or {}) if k not in ("schema", "ack_url"))
        print("   shared %s (%s, %s) with %s: %s" % (n["notification_id"], n["kind"],
              n.get("state", "?"), n.get("recipient", "?"), ", ".join(shared)))
    else:
        s = d["subject"]
        about = s.get("recipient") or s.get("incident") or s.get("child_id") or ""
        print("   seq %-4d %s %-24s %s %s" % (d["seq"], d["ts"], d["type"], about,
              d["detail"].get("lawful_basis", "")))
PY
"$SDATCTL" -c "$CONF" audit verify
URL=http://127.0.0.1:$SDAT_DEMO_PORT/console/
if [ -z "$SDAT_DEMO_KEEP" ]; then
    echo "== to keep the daemon running and look at it in the web console: make demo KEEP=1"
    exit 0
fi

# An operator token for this run: its digest goes into the generated
# configuration (under $INPUTS, not a tracked file) and the daemon reloads;
# the token itself is printed once below and kept nowhere.
made=$("$SDATCTL" token new demo-console --role operator 2>/dev/null)
token=$(printf '%s\n' "$made" | sed -n 1p)
line=$(printf '%s\n' "$made" | sed -n 2p)
sed -i "s|^http = { tokens = ( |http = { tokens = ( $line, |" "$CONF"
"$SDATD" -t -c "$CONF"
kill -HUP "$pid"
wait_log 'configuration reloaded tokens=2' 1
# The login page answers 200 (not the 503 of a listener that is neither
# loopback nor TLS).
code=$(python3 - "${URL}login" <<'PY'
import sys, urllib.error, urllib.request
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
try:
    print(opener.open(sys.argv[1], timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)
PY
)
if [ "$code" != 200 ]; then
    echo "the console's login page answered $code" >&2
    exit 1
fi
echo "sdatd $pid" >"$KEPT"
echo "receiver $receiver_pid" >>"$KEPT"
echo "smtp-receiver $smtp_pid" >>"$KEPT"
trap - EXIT
# sdatctl reaches the API by --url (here the same as http.public_url).
STATUS="$SDATCTL -c $CONF --url http://127.0.0.1:$SDAT_DEMO_PORT status"
STOP="make demo-stop (or: sh scripts/demo.sh stop)"
[ "$SDAT_DEMO_DIR" = build ] || STOP="SDAT_DEMO_DIR=$SDAT_DEMO_DIR sh scripts/demo.sh stop"
echo "== $STATUS (compare \"today\" with the console's counts):"
$STATUS || echo "(sdatctl status exits 1 while the daemon is not ready: try it again in a moment)"
cat <<EOF
== the demo keeps running (sdatd process $pid, the MASH's receiver $receiver_pid,
   Demo Academy's SMTP server $smtp_pid), on loopback only
   console: $URL
   name:    any name, as the audit log should show it (e.g. Demo Operator)
   token:   $token
   (an operator token made for this run of a loopback-only demo daemon: a
   demo secret, shown only here; only its digest is in $CONF)
   compare: $STATUS
   stop:    $STOP
== Demo Academy's DSL: the school's inbox and the notification its email links to
   login:      $URL (as the school, it opens ${URL}inbox)
   name:       any name (e.g. Demo DSL)
   token file: $SCHOOL_TOKEN
   (role ack, narrowed to school:100003: the inbox and the school's
   notifications only; every other console page answers 403)
   email:      $INPUTS/mail (its HTML part: $INPUTS/mail/email-link.html)
EOF
