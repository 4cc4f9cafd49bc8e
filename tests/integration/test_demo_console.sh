#!/bin/sh
# make demo KEEP=1 (issue 20, "Try it"): the demo from a fresh directory
# ends with the daemon kept running on loopback, and prints the console's
# URL and an operator token made for the run (written to no file); logging
# in with them shows today's counts, which match `sdatctl status` and the
# store; a new run stops the kept one first and, without KEEP, ends as
# before with a line saying how to keep it. No process is left.
# Issue 24 step 6: Demo Academy's notification arrives by email over
# STARTTLS at the demo's local SMTP server, in link mode: no personal data
# of the synthetic register or incidents, the console link to it; the
# school's token (ack, narrowed to it), whose file the run prints, opens
# the school's inbox and no operator page.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
D=$T/demo-dir
mkdir -p "$D"
CONF=$D/demo/demo.conf
URL=http://127.0.0.1:$PORT
demo() { # [KEEP]
    SDAT_BUILD=$SDAT_BUILD SDAT_DEMO_DIR=$D SDAT_DEMO_PORT=$PORT SDAT_DEMO_KEEP=$1 \
        sh scripts/demo.sh
}
# Whatever happens, the kept demo is stopped before lib.sh's cleanup.
trap 'SDAT_DEMO_DIR=$D sh scripts/demo.sh stop >/dev/null 2>&1; cleanup' EXIT
# The daemon's log, for the suite's personal-data scan.
keep_log() {
    if [ -n "${SDAT_IT_SCAN_DIR:-}" ] && [ -f "$D/demo-state/sdatd.log" ]; then
        cp "$D/demo-state/sdatd.log" "$SDAT_IT_SCAN_DIR/demo-console.$$.$1.log"
    fi
}
# demo_procs: the processes whose command line names the demo's directory.
demo_procs() {
    for f in /proc/[0-9]*/cmdline; do
        case "$({ tr '\0' ' ' <"$f"; } 2>/dev/null)" in
        *"$D/"*) echo "${f%/cmdline}" ;;
        esac
    done
    return 0
}

# --- make passes KEEP on ---------------------------------------------------------
check "make demo KEEP=1 runs scripts/demo.sh with SDAT_DEMO_KEEP=1" \
    sh -c "make -n demo KEEP=1 BUILD='$SDAT_BUILD' 2>/dev/null | grep -q 'SDAT_DEMO_KEEP=1 sh scripts/demo.sh\$'"
check "make demo-stop runs scripts/demo.sh stop" \
    sh -c "make -n demo-stop 2>/dev/null | grep -q 'sh scripts/demo.sh stop\$'"

# --- 1. the demo, kept ----------------------------------------------------------
demo 1 >"$T/keep.out" 2>"$T/keep.err"
rc=$?
keep_log keep
check "the demo with KEEP=1 exits 0" test "$rc" -eq 0
[ "$rc" -eq 0 ] || { tail -n 30 "$T/keep.err" "$T/keep.out"; }
check "  it still shows the usual demo (7 deliveries, the audit chain verified)" \
    sh -c "grep -q '^ok: [0-9]* records, head ' '$T/keep.out' &&
           [ \"\$(grep -c 'delivered id=' '$D/demo-state/sdatd.log')\" -ge 7 ]"
# What a person reads off the terminal: the URL, the token, the command
# to compare with.
CONSOLE=$(sed -n 's/^   console: //p' "$T/keep.out")
TOKEN=$(sed -n 's/^   token:   //p' "$T/keep.out")
COMPARE=$(sed -n 's/^   compare: //p' "$T/keep.out")
check "  it prints the console's URL on loopback ($CONSOLE)" test "$CONSOLE" = "$URL/console/"
check "  and an operator token (32 random bytes, 43 base64url characters)" \
    sh -c "printf '%s' '$TOKEN' | grep -Eqx '[A-Za-z0-9_-]{43}'"
check "  it says the token is a demo secret for a loopback-only daemon" \
    grep -q "a loopback-only demo daemon: a" "$T/keep.out"
check "  and how to stop it" \
    grep -q "   stop:    SDAT_DEMO_DIR=$D sh scripts/demo.sh stop" "$T/keep.out"
check "the token is written to no file (the demo's directory, the repository's tracked files)" \
    sh -c "! grep -rqF '$TOKEN' '$D' && ! git grep -qF '$TOKEN'"
DIGEST=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
check "only its digest is in the generated configuration, with the operator role" \
    grep -qF "name = \"demo-console\"; sha256 = \"$DIGEST\"; roles = [ \"operator\" ]" "$CONF"
check "the demo's HTTP listener is on 127.0.0.1:PORT" grep -q "listen = \"127.0.0.1:$PORT\"" "$CONF"
SDATD_KEPT=$(sed -n 's/^sdatd //p' "$D/demo-kept.pids" 2>/dev/null)
RECEIVER_KEPT=$(sed -n 's/^receiver //p' "$D/demo-kept.pids" 2>/dev/null)
SMTP_KEPT=$(sed -n 's/^smtp-receiver //p' "$D/demo-kept.pids" 2>/dev/null)
check "the daemon, the MASH's receiver and the school's SMTP server keep running after the script has ended" \
    sh -c "[ -n '$SDATD_KEPT' ] && [ -n '$RECEIVER_KEPT' ] && [ -n '$SMTP_KEPT' ] &&
           kill -0 '$SDATD_KEPT' && kill -0 '$RECEIVER_KEPT' && kill -0 '$SMTP_KEPT'"

# --- 2. logging in shows today's counts, as sdatctl status and the store -------
code=$(curl -s -c "$T/cookies" -o /dev/null -w '%{http_code} %{redirect_url}' \
    --data-urlencode "name=Demo Operator" --data-urlencode "token=$TOKEN" "${CONSOLE}login")
check "logging in at the printed URL with the printed token answers 303 to /console/ ($code)" \
    test "$code" = "303 $CONSOLE"
check "  with the session cookie" grep -q 'sdat_console' "$T/cookies"
code=$(curl -s -c "$T/bad-cookies" -o /dev/null -w '%{http_code}' \
    --data-urlencode "name=Demo Operator" --data-urlencode "token=x$TOKEN" "${CONSOLE}login")
check "  (another token is refused: 401)" test "$code" = 401
code=$(curl -s -b "$T/cookies" -o "$T/today.html" -w '%{http_code}' "$CONSOLE")
check "today's page answers 200" test "$code" = 200
check "  the command to compare with is sdatctl status on the demo's configuration" \
    test "$COMPARE" = "$SDATCTL -c $CONF --url $URL status"
$COMPARE --json >"$T/status.json" 2>"$T/status.err"
rc=$?
check "that sdatctl status exits 0 and finds the daemon ready" \
    sh -c "test $rc -eq 0 && grep -q '\"ready\": *true' '$T/status.json'"
python3 - "$T/today.html" "$T/status.json" "$D/demo-state/sdat.db" >"$T/compare.out" 2>&1 <<'PY'
import json, re, sqlite3, sys
html = open(sys.argv[1], encoding="utf-8").read()
counts = {k: int(v) for k, v in re.findall(r'<dd data-count="([a-z_]+)">(\d+)</dd>', html)}
today = json.load(open(sys.argv[2]))["today"]
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[3], uri=True)
q = lambda sql: db.execute(sql).fetchone()[0]
keys = ("reviews", "scheduled", "pending", "failed", "unacknowledged", "dead_letters")
for k in keys:
    if counts.get(k) != today.get(k):
        sys.exit("%s: console %s, sdatctl status %s" % (k, counts.get(k), today.get(k)))
store = {
    "reviews": q("SELECT count(*) FROM review_items WHERE state = 'open'"),
    "scheduled+pending": q("SELECT count(*) FROM notifications"
                           " WHERE state IN ('scheduled', 'delivering')"),
    "failed": q("SELECT count(*) FROM notifications WHERE state = 'failed'"),
    "dead_letters": q("SELECT count(*) FROM dead_letters"),
}
console = dict(counts, **{"scheduled+pending": counts["scheduled"] + counts["pending"]})
for k, v in store.items():
    if console[k] != v:
        sys.exit("%s: console %s, store %s" % (k, console[k], v))
# The demo's own: the twins' "Fenn" waits for a person, the incident
# reported today on a closure waits for the next school day.
if counts["reviews"] != 1 or counts["scheduled"] != 1 or counts["failed"] != 0:
    sys.exit("not the demo's counts: %s" % counts)
print(json.dumps(counts, sort_keys=True))
PY
check "the console's counts equal sdatctl status's \"today\" and the store (reviews 1, scheduled 1)" \
    test $? -eq 0
cat "$T/compare.out"

# --- 3. Demo Academy's email, in link mode, and the school's token --------------
MAIL=$D/demo/mail
check "one message arrived at the demo's SMTP server, over STARTTLS (TLS 1.2 or later), to the school's DSL" \
    python3 -c "
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
c = [json.loads(l) for l in open(sys.argv[2])]
sys.exit(not (len(m) == 1 and m[0]['tls'] and m[0]['tls_version'] in ('TLSv1.2', 'TLSv1.3')
              and m[0]['rcpt_tos'] == ['dsl@academy.demo.invalid'] and c and all(x['tls'] for x in c)))
" "$MAIL/messages.jsonl" "$MAIL/commands.jsonl"
EML=$(find "$MAIL" -name '*.eml' 2>/dev/null | sort | head -n 1)
# The message as the school received it, decoded here (not the demo's own
# copy): the header and every part, for the personal-data scan; and the
# notification id its link names.
mkdir -p "$T/email-scan"
NID=$(python3 - "$EML" "$T/email-scan/email.log" "$URL" <<'PY'
import email, email.policy, re, sys
raw = open(sys.argv[1], "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
parts = [p for p in msg.walk() if not p.is_multipart()]
with open(sys.argv[2], "w", encoding="utf-8") as f:
    f.write(raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace") + "\n")
    for p in parts:
        f.write(p.get_content() + "\n")
ids = {m.group(1) for p in parts
       for m in re.finditer(re.escape(sys.argv[3]) + r"/console/notifications/(n_[0-9a-f]+)",
                            p.get_content())}
if (msg.get_content_type() == "multipart/alternative" and len(ids) == 1
        and [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
        and str(msg["Message-ID"]) == "<%s@sdat>" % next(iter(ids))):
    print(ids.pop())
PY
)
check "it is link mode: text and HTML, nothing attached, both linking to $URL/console/notifications/ID ($NID)" \
    test -n "$NID"
check "  ID is the notification the store has delivered to school:100003" \
    sh -c "[ \"\$(sqlite3 'file:$D/demo-state/sdat.db?mode=ro' \
        \"SELECT recipient || ' ' || state FROM notifications WHERE id = '$NID'\")\" = 'school:100003 delivered' ]"
python3 tests/integration/pii-scan.py "$T/email-scan" >"$T/email-scan.out" 2>&1
check "the email holds no personal data of the synthetic data (pii-scan.py over its decoded parts)" \
    test $? -eq 0
cat "$T/email-scan.out"
# The suite's own scan looks at it too.
[ -z "${SDAT_IT_SCAN_DIR:-}" ] || cp "$T/email-scan/email.log" "$SDAT_IT_SCAN_DIR/demo-email.$$.log"
check "the demo printed the email: its header, that it had 2 parts, and its link" \
    sh -c "grep -q '^   Message-ID: <$NID@sdat>' '$T/keep.out' &&
           grep -q 'it has 2 parts (multipart/alternative: text/plain and text/html)' '$T/keep.out' &&
           grep -q '^   it links to $URL/console/notifications/$NID ' '$T/keep.out'"
SCHOOL_TOKEN_FILE=$(sed -n 's/^   token file: //p' "$T/keep.out")
check "the demo printed the school's login: the console's URL and its token's file ($SCHOOL_TOKEN_FILE)" \
    sh -c "grep -q '^   login:      $URL/console/ ' '$T/keep.out' &&
           [ '$SCHOOL_TOKEN_FILE' = '$D/demo/school-100003.token' ] &&
           [ \"\$(stat -c %a '$SCHOOL_TOKEN_FILE')\" = 600 ]"
SCHOOL_TOKEN=$(cat "$SCHOOL_TOKEN_FILE" 2>/dev/null)
SCHOOL_DIGEST=$(printf '%s' "$SCHOOL_TOKEN" | sha256sum | cut -d' ' -f1)
check "  its digest is configured with role ack narrowed to school:100003" \
    grep -qF "name = \"demo-academy-dsl\"; sha256 = \"$SCHOOL_DIGEST\"; roles = [ \"ack\" ]; recipients = [ \"school:100003\" ]" "$CONF"
code=$(curl -s -c "$T/school-cookies" -o /dev/null -w '%{http_code}' \
    --data-urlencode "name=Demo DSL" --data-urlencode "token=$SCHOOL_TOKEN" "${CONSOLE}login")
check "the school's token logs in to the console ($code)" test "$code" = 303
code=$(curl -s -b "$T/school-cookies" -o /dev/null -w '%{http_code} %{redirect_url}' "$CONSOLE")
check "  today's page (/console/) is not the school's: it answers 303 to its inbox ($code)" \
    test "$code" = "303 ${CONSOLE}inbox"
code=$(curl -s -b "$T/school-cookies" -o "$T/inbox.html" -w '%{http_code}' "${CONSOLE}inbox")
check "  /console/inbox answers 200 and lists the emailed notification" \
    sh -c "[ '$code' = 200 ] && grep -q '<table id=\"inbox\">' '$T/inbox.html' && grep -q '$NID' '$T/inbox.html'"
check "  each inbox row opens its notification" \
    grep -q "<a href=\"/console/notifications/$NID\">$NID</a>" "$T/inbox.html"
code=$(curl -s -b "$T/school-cookies" -o "$T/school-n.html" -w '%{http_code}' "$URL/console/notifications/$NID")
check "  the email's link opens for it: the letter the school reads, with an Acknowledge button ($code)" \
    sh -c "[ '$code' = 200 ] && grep -q '<section id=\"letter\"' '$T/school-n.html' &&
           grep -q 'Demo Academy' '$T/school-n.html' &&
           grep -q 'action=\"/console/inbox/$NID\"' '$T/school-n.html' &&
           ! grep -q 'id=\"cancel\"\\|id=\"payload\"' '$T/school-n.html'"
check "  and the audit log says the school's reader viewed it (record.viewed by Demo DSL, the school's token)" \
    sh -c "'$SDATCTL' -c '$CONF' audit export | grep '\"record.viewed\"' | grep '$NID' |
           grep '\"actor\":\"Demo DSL\"' | grep -q '\"token\":\"demo-academy-dsl\"'"
OTHER=$(sqlite3 "file:$D/demo-state/sdat.db?mode=ro" \
    "SELECT id FROM notifications WHERE recipient = 'school:100001' LIMIT 1")
code=$(curl -s -b "$T/school-cookies" -o /dev/null -w '%{http_code}' "$URL/console/notifications/$OTHER")
check "  another school's notification answers 403 ($code)" \
    sh -c "[ -n '$OTHER' ] && [ '$code' = 403 ]"
code=$(curl -s -b "$T/school-cookies" -o /dev/null -w '%{http_code}' "$URL/console/notifications/n_00000000000000000000000000000000")
check "  and so does an id that is no notification (no probing for ids: $code)" test "$code" = 403
for page in reviews notifications dead-letters children audit; do
    code=$(curl -s -b "$T/school-cookies" -o /dev/null -w '%{http_code}' "$CONSOLE$page")
    check "  the operator's /console/$page answers 403 ($code)" test "$code" = 403
done

# --- 4. a new run stops the kept one; without KEEP it ends as before ------------
demo "" >"$T/plain.out" 2>"$T/plain.err"
rc=$?
keep_log plain
check "a run without KEEP exits 0" test "$rc" -eq 0
check "  it first stopped the kept daemon and receiver" \
    sh -c "grep -q \"stopped the kept demo's sdatd (process $SDATD_KEPT)\" '$T/plain.out' &&
           grep -q \"stopped the kept demo's receiver (process $RECEIVER_KEPT)\" '$T/plain.out' &&
           grep -q \"stopped the kept demo's smtp-receiver (process $SMTP_KEPT)\" '$T/plain.out' &&
           ! kill -0 '$SDATD_KEPT' 2>/dev/null && ! kill -0 '$RECEIVER_KEPT' 2>/dev/null &&
           ! kill -0 '$SMTP_KEPT' 2>/dev/null"
check "  it stops its daemon as before (sdatd stopped cleanly)" \
    grep -q '^== sdatd stopped cleanly' "$T/plain.out"
check "  it emailed the school again and checked the email (no personal data found)" \
    sh -c "grep -q '^   it links to $URL/console/notifications/n_' '$T/plain.out' &&
           grep -q '^   log scan: 1 daemon logs, .* 0 found' '$T/plain.out'"
check "  its last line says how to keep the daemon running with the console" \
    sh -c "tail -n 1 '$T/plain.out' | grep -q 'make demo KEEP=1'"
check "  and it prints no token" sh -c "! grep -q 'token:' '$T/plain.out'"
out=$(SDAT_DEMO_DIR=$D sh scripts/demo.sh stop)
check "scripts/demo.sh stop then finds nothing kept" \
    sh -c "printf '%s\n' '$out' | grep -q '^no demo is kept running'"
check "no process of the demo is left" test -z "$(demo_procs)"
echo "# done"
