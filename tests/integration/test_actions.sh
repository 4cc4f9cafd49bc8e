#!/bin/sh
# The operator's actions and the acknowledgement link through the daemon
# (delivery.md "Operator actions"; interfaces.md): sdatctl notification
# cancel, resend, redirect and withdraw end to end, each file arriving in
# the right recipient's spool and a state that does not allow an action
# refused (409, exit 1); an ack token narrowed to one school gets 403 for
# another school's notification; `sdatctl token new` prints a token whose
# SHA-256 is the digest of the configuration line it prints, and that line
# passes `sdatd -t` and admits the token once the daemon reloads; and a real
# headless browser (Debian's chromium over the DevTools protocol) opens the
# ack_url of a delivered notification, types a name, presses the button,
# sees the confirmation, and the audit log holds notification.acknowledged,
# while a tampered link is refused.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 2 --topic police.da-incidents || exit 1

DAEMON="$SDAT_BUILD/sdatd" # the binary itself for -t: $SDATD may be a logging wrapper
PY=python3
$PY -c 'import websocket' 2>/dev/null || PY=/usr/bin/python3
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
newtoken() { printf '%s' "$(openssl rand -hex 24)"; }
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
OPS=$(newtoken)
NARROW=$(newtoken)
printf '%s\n' "$OPS" >"$T/ops.token" && chmod 600 "$T/ops.token"
printf 'a synthetic acknowledgement key\n' >"$T/ack.key" && chmod 600 "$T/ack.key"
# "later": its term starts in 30 days, so a school on it is told then (a
# notification that stays scheduled); "always": told at once.
FROM=$(date -u -d '+30 days' +%Y-%m-%d)
UNTIL=$(date -u -d '+60 days' +%Y-%m-%d)
# conf EXTRA_TOKENS: the configuration, with more http.tokens entries.
conf() {
    cat <<CONF
state_dir = "$T/state";
instance_id = "it-actions";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-actions"; };
http = { listen = "127.0.0.1:$PORT"; public_url = "$URL"; ack_key_file = "$T/ack.key";
         tokens = ( { name = "mash-desk"; sha256 = "$(digest "$OPS")"; roles = [ "operator", "ack" ]; },
                    { name = "dsl-100002"; sha256 = "$(digest "$NARROW")"; roles = [ "ack" ];
                      recipients = [ "school:100002" ]; }$1 ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); },
              { id = "later"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "$FROM", "$UNTIL" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22", "DE23" ];
            mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "100001";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Infant"; urn = "100002";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "school:100003"; kind = "school"; la_code = "831"; name = "Test Later"; urn = "100003";
    calendar = "later"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; }
);
CONF
}
conf "" >"$T/sdatd.conf"
cat >"$T/children.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"AC-1","la_code":"831","nhs_number":"9990000018","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","education":[{"urn":"100001","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"AC-2","la_code":"831","nhs_number":"9990000085","given_name":"Bramwell","family_name":"Exampleby","dob":"2018-09-30","education":[{"urn":"100003","start":"2025-09-01"}]}
JSONL
"$SDATCTL" -c "$T/sdatd.conf" import children "$T/children.jsonl" >"$T/import.out" 2>&1
check "the register is imported" grep -q "imported 2 children" "$T/import.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
CTL() { "$SDATCTL" -c "$T/sdatd.conf" --token-file "$T/ops.token" "$@"; }
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# The incident date is fixed (ages and school places are decided on it, so
# no answer changes as the years pass); reported now, so that each school's
# notification is due at once on the always-open calendar.
OCCURRED=2026-11-02T20:00:00Z
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
incident() { # ID NHS GIVEN FAMILY DOB
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"1 Example Street","postcode":"DE22 3XY"},"risk":"medium","children":[{"ref":"c1","given_name":"%s","family_name":"%s","dob":"%s","nhs_number":"%s","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test","phone":"01000 000000"}}\n' \
        "$1" "$OCCURRED" "$NOW" "$3" "$4" "$5" "$2" |
        kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1" 2>>"$T/kcat.err"
}
# nid INCIDENT RECIPIENT [STATE]: the id of that incident's notification.
nid() {
    "$SDATCTL" -c "$T/sdatd.conf" notifications --json --limit 1000 2>/dev/null |
        python3 -c 'import json, sys
a = sys.argv[1:]
for line in sys.stdin:
    n = json.loads(line)
    if n["incident"] == "derbyshire/" + a[0] and n["recipient"] == a[1] and (len(a) < 3 or n["state"] == a[2]):
        print(n["notification_id"]); break' "$@"
}
state() { # ID: its state
    "$SDATCTL" -c "$T/sdatd.conf" notifications --json --limit 1000 2>/dev/null |
        python3 -c 'import json, sys
for line in sys.stdin:
    n = json.loads(line)
    if n["notification_id"] == sys.argv[1]: print(n["state"])' "$1"
}
spool() { echo "$T/spool/$(echo "$1" | tr ':' '_')/$2.json"; } # RECIPIENT ID
field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(d.get(sys.argv[2], ""))' "$@"; }
has() { [ -n "$(nid "$@")" ]; }
in_state() { [ "$(state "$1")" = "$2" ]; }

# --- 1. cancel: a notification that waits for its school's term ---------------
incident AC-C1 9990000085 Bramwell Exampleby 2018-09-30
check "a school notification waits for the term (scheduled)" wait_for 30 has AC-C1 school:100003 scheduled
C1=$(nid AC-C1 school:100003)
CTL notification cancel "$C1" --by "A. Operator" >"$T/cancel.out" 2>&1
rc=$?
check "sdatctl notification cancel answers 200 with the state cancelled (exit 0)" \
    sh -c "[ $rc -eq 0 ] && grep -q '\"state\":\"cancelled\"' '$T/cancel.out'"
check "  and the store says cancelled" in_state "$C1" cancelled
CTL notification cancel "$C1" --by "A. Operator" >"$T/cancel2.out" 2>&1
rc=$?
check "cancelling it again is refused: 409, exit 1" sh -c "[ $rc -eq 1 ] && grep -q 409 '$T/cancel2.out'"
CTL notification resend "$C1" --by "A. Operator" >"$T/resend-c.out" 2>&1
rc=$?
check "a cancelled notification is not resent: 409, exit 1" sh -c "[ $rc -eq 1 ] && grep -q 409 '$T/resend-c.out'"
CTL notification cancel n_00000000000000000000000000000000 --by "A. Operator" >"$T/cancel404.out" 2>&1
rc=$?
check "an unknown notification: 404, exit 1" sh -c "[ $rc -eq 1 ] && grep -q 404 '$T/cancel404.out'"
"$SDATCTL" -c "$T/sdatd.conf" notification cancel "$C1" >"$T/usage.out" 2>&1
check "without --by it is a usage error (exit 2)" test $? -eq 2

# --- 2. resend: a delivered notification is delivered again --------------------
incident AC-R1 9990000018 Ashlyn Testwood 2016-04-12
check "a school notification is delivered at once" wait_for 30 has AC-R1 school:100001 delivered
R1=$(nid AC-R1 school:100001)
check "  its file is in the school's spool" test -s "$(spool school:100001 "$R1")"
cp "$(spool school:100001 "$R1")" "$T/r1.first"
rm -f "$(spool school:100001 "$R1")"
CTL notification resend "$R1" --by "A. Operator" >"$T/resend.out" 2>&1
check "sdatctl notification resend answers 200" grep -q '"state":"scheduled"' "$T/resend.out"
check "the same file arrives again" wait_for 30 test -s "$(spool school:100001 "$R1")"
check "  byte for byte (the same id and payload)" cmp -s "$T/r1.first" "$(spool school:100001 "$R1")"
check "  and it is delivered again" wait_for 30 in_state "$R1" delivered
"$SDATCTL" -c "$T/sdatd.conf" show "$R1" --json >"$T/show-r1.json" 2>&1
check "its attempts history is kept (attempts 1 and 2) and the audit shows notification.resent by whom" \
    python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
assert [a["n"] for a in d["attempt_log"]] == [1, 2], d["attempt_log"]
assert any(r["type"] == "notification.resent" and r["actor"] == "A. Operator" for r in d["audit"])' "$T/show-r1.json"

# --- 3. redirect of a pending notification: superseded, the new school told ----
incident AC-D1 9990000085 Bramwell Exampleby 2018-09-30
check "another notification waits for the term" wait_for 30 has AC-D1 school:100003 scheduled
D1=$(nid AC-D1 school:100003)
CTL notification redirect "$D1" school:100002 --by "A. Operator" >"$T/redirect1.out" 2>&1
check "sdatctl notification redirect answers 200: superseded, with the new id" \
    grep -q '"state":"superseded"' "$T/redirect1.out"
D1NEW=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["redirected_to"])' "$T/redirect1.out" 2>/dev/null)
check "the new school receives it at once" wait_for 30 test -s "$(spool school:100002 "$D1NEW")"
check "  a da-incident with the register's names for the child" \
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["kind"] == "da-incident" and d["recipient"]["id"] == "school:100002" and d["child"]["given_name"] == "Bramwell" and "location" not in d["incident"]' "$(spool school:100002 "$D1NEW")"
check "the old one is superseded and its school hears nothing" \
    sh -c "[ \"\$(\"$SDATCTL\" -c '$T/sdatd.conf' notifications --json --limit 1000 | grep '$D1' | grep -c superseded)\" -ge 1 ] && [ ! -e '$(spool school:100003 "$D1")' ]"

# --- 4. redirect of a delivered notification: the MASH told, the school asked to delete
CTL notification redirect "$R1" la:831:mash --by "A. Operator" >"$T/redirect2.out" 2>&1
check "redirecting a delivered one answers 200 with a withdrawal" grep -q '"withdrawal":"n_' "$T/redirect2.out"
R1NEW=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["redirected_to"])' "$T/redirect2.out" 2>/dev/null)
R1W=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["withdrawal"])' "$T/redirect2.out" 2>/dev/null)
check "the MASH receives the payload rebuilt for it (what police sent, the register id)" \
    wait_for 30 python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["register_child_id"] == "AC-1" and d["incident"]["location"]["postcode"] == "DE22 3XY"' "$(spool la:831:mash "$R1NEW")"
check "the first school receives withdrawn naming the notification" \
    wait_for 30 python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["kind"] == "withdrawn" and d["withdraws"] == sys.argv[2] and "child" not in d' "$(spool school:100001 "$R1W")" "$R1"

# --- 5. withdraw -------------------------------------------------------------
incident AC-W1 9990000018 Ashlyn Testwood 2016-04-12
check "a third school notification is delivered" wait_for 30 has AC-W1 school:100001 delivered
W1=$(nid AC-W1 school:100001)
CTL notification withdraw "$W1" --reason "Sent in error." --by "A. Operator" >"$T/withdraw.out" 2>&1
W1W=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["withdrawal"])' "$T/withdraw.out" 2>/dev/null)
check "sdatctl notification withdraw answers 200 and the school receives withdrawn with the reason" \
    wait_for 30 python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); assert d["reason"] == "Sent in error." and d["withdraws"] == sys.argv[2]' "$(spool school:100001 "$W1W")" "$W1"
CTL notification withdraw "$C1" --reason "Sent in error." --by "A. Operator" >"$T/withdraw409.out" 2>&1
rc=$?
check "withdrawing a cancelled (never delivered) one: 409, exit 1" \
    sh -c "[ $rc -eq 1 ] && grep -q 409 '$T/withdraw409.out'"
CTL notification redirect "$W1" school:404 --by "A. Operator" >"$T/redirect400.out" 2>&1
rc=$?
check "redirecting to an unknown recipient: 400, exit 1" sh -c "[ $rc -eq 1 ] && grep -q 400 '$T/redirect400.out'"
python3 - "$T/state/sdat.db" "$C1" "$R1" "$D1" "$W1" <<'PY' && ok "each action is audited with who acted" || notok "each action is audited with who acted"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
want = {"notification.cancelled": sys.argv[2], "notification.resent": sys.argv[3],
        "notification.redirected": sys.argv[4], "notification.withdrawn": sys.argv[5]}
for kind, nid in want.items():
    rows = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = ?", (kind,))]
    mine = [r for r in rows if r["subject"]["notification_id"] == nid]
    assert mine and mine[0]["actor"] == "A. Operator", (kind, rows)
PY

# --- 6. token scopes ---------------------------------------------------------
ack() { # TOKEN ID: the status of POST /v1/notifications/ID/ack
    curl -s -o "$T/ack.body" -w '%{http_code}' -X POST -H "Authorization: Bearer $1" \
        -H 'Content-Type: application/json' --data '{"by":"A. DSL"}' "$URL/v1/notifications/$2/ack"
}
check "an ack token for school:100002 gets 403 for school:100001's notification" \
    test "$(ack "$NARROW" "$W1")" = 403
check "  (it says the token does not cover the recipient)" grep -q 'recipient' "$T/ack.body"
check "  and acknowledges its own school's notification (204)" wait_for 30 sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Authorization: Bearer $NARROW' -H 'Content-Type: application/json' --data '{\"by\":\"B. DSL\"}' '$URL/v1/notifications/$D1NEW/ack')\" = 204 ]"

# --- 7. sdatctl token new ------------------------------------------------------
"$SDATCTL" token new dsl-100001 --role ack --recipient school:100001 >"$T/token.out" 2>"$T/token.err"
check "sdatctl token new exits 0 without a configuration" test $? -eq 0
NEWTOKEN=$(sed -n 1p "$T/token.out")
LINE=$(sed -n 2p "$T/token.out")
check "  the token is 32 random bytes (43 base64url characters)" \
    sh -c "printf '%s' '$NEWTOKEN' | grep -Eqx '[A-Za-z0-9_-]{43}'"
check "  the line's digest is the SHA-256 of the token" \
    sh -c "printf '%s\n' '$LINE' | grep -qF 'sha256 = \"$(digest "$NEWTOKEN")\"'"
check "  a second call makes another token" \
    test "$("$SDATCTL" token new x --role metrics 2>/dev/null | sed -n 1p)" != "$NEWTOKEN"
"$SDATCTL" token new x --role nobody >/dev/null 2>&1
check "  an unknown role is a usage error (exit 2)" test $? -eq 2
"$SDATCTL" token new desk --role operator,ack >"$T/roles.out" 2>/dev/null
check "  --role operator,ack gives both roles" grep -qF 'roles = [ "operator", "ack" ];' "$T/roles.out"
"$SDATCTL" token new desk --role operator --role ack 2>/dev/null | sed -n 2p >"$T/roles2.out"
check "  and so does --role operator --role ack" grep -qF 'roles = [ "operator", "ack" ];' "$T/roles2.out"
"$SDATCTL" token new desk --role operator ack >"$T/roles3.out" 2>"$T/roles3.err"
check "  --role operator ack (a second role without --role) is a usage error (exit 2)" test $? -eq 2
check "  that says how to give two roles and prints no token" \
    sh -c 'grep -qF -- "--role operator,ack" "$1" && test ! -s "$2"' sh "$T/roles3.err" "$T/roles3.out"
"$SDATCTL" -c "$T/sdatd.conf" notifications --state bogus >"$T/state.out" 2>"$T/state.err"
check "sdatctl notifications --state bogus is a usage error (exit 2) naming the states" \
    sh -c 'test "$1" -eq 2 && grep -q "acknowledged" "$2"' sh $? "$T/state.err"
"$SDATCTL" -c "$T/sdatd.conf" notifications --state acknowledged >"$T/state.out" 2>"$T/state.err"
check "  --state acknowledged is accepted (exit 0)" test $? -eq 0
conf ", $LINE" >"$T/with-new-token.conf"
"$DAEMON" -t -c "$T/with-new-token.conf" >"$T/t.out" 2>&1
check "the printed line pasted into http.tokens passes sdatd -t" test $? -eq 0
cp "$T/with-new-token.conf" "$T/sdatd.conf"
kill -HUP "$SDATD_PID"
check "the daemon reloads it" wait_for 10 grep -q "config: reloaded" "$T/sdatd.log"
check "the new token acknowledges its school's notification (204)" test "$(ack "$NEWTOKEN" "$W1")" = 204

# --- 8. the acknowledgement link in a real browser ---------------------------
incident AC-B1 9990000018 Ashlyn Testwood 2016-04-12
check "a notification for the browser is delivered" wait_for 30 has AC-B1 school:100001 delivered
B1=$(nid AC-B1 school:100001)
ACK_URL=$(field "$(spool school:100001 "$B1")" ack_url)
check "its ack_url is PUBLIC_URL/ack/ID?t=HMAC-SHA256(ack key, ID)" \
    test "$ACK_URL" = "$URL/ack/$B1?t=$(printf '%s' "$B1" | openssl dgst -sha256 -hmac 'a synthetic acknowledgement key' -r | cut -d' ' -f1)"
TAMPERED=$(printf '%s' "$ACK_URL" | sed 's/.$/0/')
[ "$TAMPERED" = "$ACK_URL" ] && TAMPERED=$(printf '%s' "$ACK_URL" | sed 's/.$/1/')
if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    notok "the browser test needs chromium and python3-websocket (make deps)"
else
    $PY tests/integration/ack_browser.py "$T/chromium" "$ACK_URL" "A. DSL" "$TAMPERED" \
        >"$T/browser.json" 2>"$T/browser.err"
    check "chromium opened the link, submitted the form and the tampered link" test -s "$T/browser.json"
    b() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/browser.json" "$1"; }
    check "  the page is 200, in English, titled, naming the notification" \
        b 'd["get_status"] == 200 and d["get_lang"] == "en" and d["get_title"] and "'"$B1"'" in d["get_text"]'
    check "  its name field has a label and the button is Acknowledge (accessibility tree)" \
        b 'd["accessible"].get("textbox") == "Your name" and d["accessible"].get("button") == "Acknowledge" and d["label_for_matches_input"]'
    check "  no personal data on the page" \
        b 'not any(w in d["get_text"] + d["post_text"] for w in ("Ashlyn", "Testwood", "2016-04-12", "A. DSL"))'
    check "  typing a name and pressing the button shows the confirmation" \
        b 'd["post_status"] == 200 and "has been acknowledged" in d["post_text"]'
    check "  the tampered link is refused (403)" \
        b 'd["tampered_status"] == 403 and "not valid" in d["tampered_text"] and "'"$B1"'" not in d["tampered_text"]'
    acked() {
        sqlite3 "file:$T/state/sdat.db?mode=ro" \
            "SELECT record FROM audit WHERE type = 'notification.acknowledged'" 2>/dev/null |
            python3 -c 'import json, sys
sys.exit(0 if any(json.loads(l)["subject"]["notification_id"] == sys.argv[1] and json.loads(l)["actor"] == "A. DSL" for l in sys.stdin) else 1)' "$B1"
    }
    check "the audit log holds notification.acknowledged by the name typed" acked
    check "  and the notification is acknowledged" in_state "$B1" acknowledged
fi
status() { curl -s -o "$T/page.html" -w '%{http_code}' "$@"; }
check "POST with an empty name shows the form again (400)" \
    test "$(status -X POST --data 'by=' "$ACK_URL")" = 400
check "  saying what to do" grep -q 'Enter your name' "$T/page.html"
check "a link for an unknown notification with a valid token is 404" \
    test "$(status "$URL/ack/n_00000000000000000000000000000000?t=$(printf '%s' n_00000000000000000000000000000000 | openssl dgst -sha256 -hmac 'a synthetic acknowledgement key' -r | cut -d' ' -f1)")" = 404
check "a link without a token is 403" test "$(status "$URL/ack/$B1")" = 403
check "the pages forbid framing, scripts and referrers" \
    sh -c "curl -s -D - -o /dev/null '$ACK_URL' | grep -qi \"^content-security-policy: default-src 'none'\" && curl -s -D - -o /dev/null '$ACK_URL' | grep -qi '^referrer-policy: no-referrer'"

stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
check "no name, date of birth or token in the daemon's log" \
    sh -c "! grep -Eq 'Ashlyn|Bramwell|Testwood|Exampleby|2016-04-12|A\\. DSL|$OPS|$NEWTOKEN' '$T/sdatd.log'"
echo "# done"
