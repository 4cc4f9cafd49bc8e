#!/bin/sh
# The console (console.md) in a real browser and with curl: log in with a
# name and a token, see today's counts, open a review and decide it (audited
# with the person's name and via console, and the view as record.viewed),
# log out; be refused without a session (303), without the CSRF value (403,
# nothing changed), with a wrong token (401), after 5 failures a minute
# (429), the operator's pages for an ack or auditor token (403); console.md's headers and
# cookie attributes; escaping of a value the store holds; no personal data
# in any URL; 503 on a plain-HTTP listener that is not loopback.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
start_broker --partitions 1 --topic police.da-incidents --topic sdat.dlq || exit 1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token() { printf '%s-%s' "$1" "$(openssl rand -hex 16)"; }
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
OPS=$(token ops)
AUD=$(token aud)
ACK=$(token ack)
conf() { # LISTEN
    cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-console";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-console"; };
http = { listen = "$1"; console_idle = 900;
         tokens = ( { name = "mash-desk"; sha256 = "$(digest "$OPS")"; roles = [ "operator" ]; },
                    { name = "ig-office"; sha256 = "$(digest "$AUD")"; roles = [ "auditor" ]; },
                    { name = "dsl-100001"; sha256 = "$(digest "$ACK")"; roles = [ "ack" ];
                      recipients = [ "school:100001" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22", "DE23" ];
            mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
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
conf "127.0.0.1:$PORT"
cat >"$T/twins.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"TW-1","la_code":"831","given_name":"Fenna","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100001","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"TW-2","la_code":"831","given_name":"Fenn","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100002","start":"2025-09-01"}]}
JSONL
"$SDATCTL" -c "$T/sdatd.conf" import children "$T/twins.jsonl" >"$T/import.out" 2>&1
check "the register is imported" grep -q "imported 2 children" "$T/import.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
B="http://127.0.0.1:$PORT"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# The incident date is fixed (ages and school places are decided on it, so
# no answer changes as the years pass); reported now, so that each school's
# notification is due at once on the always-open calendar.
OCCURRED=2026-11-02T20:00:00Z
# The always-open calendar closes at 23:59 (close_time cannot be 24:00): a
# report in that minute is released the next day at 00:00, after the
# checks' waits, so a run that reaches this line then waits it out.
while [ "$(date -u +%H%M)" = 2359 ]; do sleep 1; done
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
incident() { # ID
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"6 Example Street","postcode":"DE23 6AA"},"risk":"medium","children":[{"ref":"c1","given_name":"Fen","family_name":"Twinsworth","dob":"2017-01-01","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$OCCURRED" "$NOW" | kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1" 2>>"$T/kcat.err"
}
incident R-1
incident R-2
open_reviews() { [ "$("$SDATCTL" -c "$T/sdatd.conf" reviews --json 2>/dev/null | grep -c review_id)" -eq 2 ]; }
check "two ambiguous children raise two review items" wait_for 30 open_reviews
REVIEW2=$("$SDATCTL" -c "$T/sdatd.conf" reviews --json | $PY -c 'import json,sys; print([json.loads(l) for l in sys.stdin][1]["review_id"])')

# ---- curl: headers, the login's answers ----
CSP="default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
curl -s -D "$T/login.h" -o "$T/login.html" "$B/console/login"
hdr() { tr -d '\r' <"$1" | grep -i "^$2: " | head -1 | cut -d' ' -f2-; }
check "GET /console/login answers 200 with the form" \
    sh -c "head -1 '$T/login.h' | grep -q ' 200' && grep -q 'name=\"name\"' '$T/login.html' && grep -q 'name=\"token\"' '$T/login.html'"
check "  Content-Security-Policy exactly as console.md" test "$(hdr "$T/login.h" Content-Security-Policy)" = "$CSP"
check "  nosniff, no-referrer, no-store" sh -c "[ '$(hdr "$T/login.h" X-Content-Type-Options)' = nosniff ] && [ '$(hdr "$T/login.h" Referrer-Policy)' = no-referrer ] && [ '$(hdr "$T/login.h" Cache-Control)' = no-store ]"
CSS=$(grep -o '/console/static/console-[0-9a-f]*\.css' "$T/login.html" | head -1)
curl -s -D "$T/css.h" -o "$T/css.css" "$B$CSS"
check "the stylesheet is served under its hash ($CSS), no-store and the same CSP like every console response" \
    sh -c "[ -n '$CSS' ] && head -1 '$T/css.h' | grep -q ' 200' && grep -qi '^cache-control: no-store' '$T/css.h' && [ \"\$(sha256sum '$T/css.css' | cut -c1-16)\" = \"\$(echo '$CSS' | sed 's/.*console-//; s/\.css//')\" ] && grep -qi 'Content-Security-Policy' '$T/css.h' && grep -q ':focus' '$T/css.css'"
code() { curl -s -o "$T/last.html" -D "$T/last.h" -w '%{http_code}' "$@"; }
check "a page without a session answers 303 to /console/login" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' '$B/console/reviews')\" = '303 $B/console/login' ]"
check "a wrong token answers 401 with the form and 'Name or token not recognised'" \
    sh -c "[ \"\$(curl -s -D '$T/wrong.h' -o '$T/wrong.html' -w '%{http_code}' --data-urlencode 'name=A. Person' --data-urlencode 'token=nope' '$B/console/login')\" = 401 ] && grep -q 'Name or token not recognised' '$T/wrong.html' && grep -q 'name=\"token\"' '$T/wrong.html'"
login() { # TOKEN NAME -> cookie jar $T/jar.$3, prints the status
    curl -s -c "$T/jar.$3" -D "$T/h.$3" -o "$T/b.$3" -w '%{http_code}' \
        --data-urlencode "name=$2" --data-urlencode "token=$1" "$B/console/login"
}
LOGIN_STATUS=$(login "$OPS" 'C. Curl' ops)
check "an operator token logs in: 303 to /console/" \
    sh -c "[ '$LOGIN_STATUS' = 303 ] && tr -d '\r' <'$T/h.ops' | grep -qx 'Location: /console/'"
COOKIE=$(tr -d '\r' <"$T/h.ops" | grep -i '^set-cookie:' | cut -d' ' -f2-)
VALUE=$(printf '%s' "$COOKIE" | sed 's/^sdat_console=\([^;]*\);.*/\1/')
check "  the cookie is sdat_console, 256 random bits, HttpOnly, SameSite=Strict, Path=/console/, not Secure on plain loopback" \
    sh -c "printf '%s' '$COOKIE' | grep -q '^sdat_console=[0-9a-f]\{64\};' && printf '%s' '$COOKIE' | grep -q '; HttpOnly' && printf '%s' '$COOKIE' | grep -q '; SameSite=Strict' && printf '%s' '$COOKIE' | grep -q '; Path=/console/' && ! printf '%s' '$COOKIE' | grep -q Secure"
check "  the 401 did not set a cookie" sh -c "test -s '$T/wrong.h' && ! grep -qi set-cookie '$T/wrong.h'"
CSRF=$(curl -s -b "sdat_console=$VALUE" "$B/console/reviews/$REVIEW2" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
check "  the review page carries a 128-bit csrf field" sh -c "printf '%s' '$CSRF' | grep -q '^[0-9a-f]\{32\}$'"
check "a decision without the csrf value answers 403" \
    test "$(code -b "sdat_console=$VALUE" --data 'child_id=TW-1&reason=no+csrf' "$B/console/reviews/$REVIEW2")" = 403
check "  with a wrong csrf value 403 too" \
    test "$(code -b "sdat_console=$VALUE" --data "csrf=00000000000000000000000000000000&child_id=TW-1&reason=wrong" "$B/console/reviews/$REVIEW2")" = 403
check "  and the item is still open" sh -c "'$SDATCTL' -c '$T/sdatd.conf' reviews --json | grep -q '$REVIEW2'"
check "a decision without a reason answers 400 with an error summary naming the field" \
    sh -c "[ \"\$(curl -s -o '$T/noreason.html' -w '%{http_code}' -b 'sdat_console=$VALUE' --data 'csrf=$CSRF&child_id=TW-1' '$B/console/reviews/$REVIEW2')\" = 400 ] && grep -q 'error-summary' '$T/noreason.html' && grep -q 'href=\"#reason\"' '$T/noreason.html'"
# Decided by a name with markup: the store holds it (decided_by) and the
# item's page shows it escaped.
EVIL='D. <script>alert(1)</script> Evil'
login "$OPS" "$EVIL" evil >/dev/null
EV=$(tr -d '\r' <"$T/h.evil" | grep -i '^set-cookie:' | sed 's/.*sdat_console=\([^;]*\);.*/\1/')
ECSRF=$(curl -s -b "sdat_console=$EV" "$B/console/reviews/$REVIEW2" | grep -o 'name="csrf" value="[0-9a-f]*"' | head -1 | sed 's/.*value="//; s/"//')
check "the escaped name is shown in the header, never as markup" \
    sh -c "curl -s -b 'sdat_console=$EV' '$B/console/' >'$T/evil.html'; grep -q 'D. &lt;script&gt;alert(1)&lt;/script&gt; Evil' '$T/evil.html' && ! grep -q '<script' '$T/evil.html'"
check "  a decision with the session's csrf answers 303 to /console/reviews" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b 'sdat_console=$EV' --data 'csrf=$ECSRF&child_id=none&reason=Not+one+of+ours' '$B/console/reviews/$REVIEW2')\" = '303 $B/console/reviews' ]"
check "  the decided item's page shows who decided (from the store) escaped" \
    sh -c "curl -s -b 'sdat_console=$EV' '$B/console/reviews/$REVIEW2' >'$T/decided2.html'; grep -q 'rejected by D. &lt;script&gt;' '$T/decided2.html' && ! grep -q '<script' '$T/decided2.html'"
AUD_STATUS=$(login "$AUD" 'I. Governance' aud)
AV=$(tr -d '\r' <"$T/h.aud" | grep -i '^set-cookie:' | sed 's/.*sdat_console=\([^;]*\);.*/\1/')
check "the auditor logs in (303), and the operator's pages answer 403" \
    sh -c "[ '$AUD_STATUS' = 303 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/reviews')\" = 403 ]"
ACK_STATUS=$(login "$ACK" 'S. Dsl' ack)
KV=$(tr -d '\r' <"$T/h.ack" | grep -i '^set-cookie:' | sed 's/.*sdat_console=\([^;]*\);.*/\1/')
check "a recipient-narrowed ack token logs in (303; its inbox: test_console_subjects.sh), and the reviews answer 403" \
    sh -c "[ '$ACK_STATUS' = 303 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$KV' '$B/console/reviews')\" = 403 ]"
check "a name with a control character is refused (400)" \
    test "$(code --data-urlencode "name=$(printf 'A\001B')" --data-urlencode "token=$OPS" "$B/console/login")" = 400
check "an unknown console page answers 404 with console.md's headers" \
    sh -c "[ \"\$(curl -s -o /dev/null -D '$T/404.h' -w '%{http_code}' '$B/console/nowhere')\" = 404 ] && grep -qi '^content-security-policy: default-src' '$T/404.h'"

# ---- the browser ----
if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    notok "the browser test needs chromium and python3-websocket (make deps)"
else
    $PY tests/integration/console_browser.py "$T/chromium" "$T/screenshots" "$B" "$OPS" \
        "A. Practitioner" TW-2 "Same school as the referral" >"$T/browser.json" 2>"$T/browser.err"
    check "chromium logged in, decided a review and logged out" test -s "$T/browser.json"
    b() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/browser.json" "$1"; }
    check "  logging in lands on today with the seven counts (1 open review)" \
        b 'd["today"]["url"].endswith("/console/") and set(d["counts"]) == {"reviews","scheduled","pending","failed","unacknowledged","dead_letters","circuits_open"} and d["counts"]["reviews"] == 1'
    check "  the reviews list has table#reviews with one row" \
        b '"/console/reviews/" in (d["review_href"] or "") and "<table id=\"reviews\">" in d["reviews"]["html"]'
    check "  the item shows the candidates and the explanation, and form#decide" \
        b '"TW-1" in d["review"]["text"] and "TW-2" in d["review"]["text"] and "Agreement" in d["review"]["text"] and "id=\"decide\"" in d["review"]["html"]'
    check "  deciding returns to the list with the notification created" \
        b 'd["decided"]["url"].endswith("/console/reviews") and "Notifications created: n_" in d["decided"]["text"]'
    check "  every page: one h1, tables with captions, every control named, the stylesheet loaded" \
        b 'all(d[p]["h1"] == 1 and d[p]["uncaptioned_tables"] == 0 and not d[p]["unnamed_controls"] and d[p]["stylesheets"] == 1 for p in ("login","today","reviews","review","decided","logged_out"))'
    check "  today reads at 320 px without scrolling sideways" b 'd["narrow_overflow"] is False'
    check "  axe-core on a review item (the field-by-field explanation and the decide form): it ran, no serious or critical violation" \
        b 'd["axe_review"].get("ran") and d["axe_review"]["passes"] > 10 and not [v for v in d["axe_review"]["violations"] if v["impact"] in ("serious", "critical")]'
    check "  logging out lands on the login page, and /console/ then asks to log in" \
        b 'd["logged_out"]["url"].endswith("/console/login") and d["after_logout"]["url"].endswith("/console/login")'
    check "  no personal data in any URL the browser requested" \
        b 'd["urls"] and not any(w in u for u in d["urls"] for w in ("Twinsworth","Fenn","2017-01-01","Practitioner","DE23","Same"))'
    check "  a screenshot of each page is kept ($T/screenshots)" \
        sh -c "ls '$T/screenshots'/login.png '$T/screenshots'/today.png '$T/screenshots'/review.png '$T/screenshots'/decided.png >/dev/null"
    $PY - "$T/state/sdat.db" <<'PY' && ok "the decision is audited with the person's name, via console and the reason; the view as record.viewed" || notok "the decision is audited with the person's name, via console and the reason; the view as record.viewed"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit ORDER BY seq")]
dec = [r for r in recs if r["type"] == "review.decided" and r["actor"] == "A. Practitioner"]
assert len(dec) == 1, dec
d = dec[0]["detail"]
assert d["via"] == "console" and d["reason"] == "Same school as the referral" and d["register_child_id"] == "TW-2", d
views = [r for r in recs if r["type"] == "record.viewed" and r["actor"] == "A. Practitioner"]
assert views and views[0]["detail"]["what"] == "review" and views[0]["subject"]["review_id"] == dec[0]["subject"]["review_id"], views
PY
    check "the chosen child's school receives the notification" \
        wait_for 30 sh -c "[ -n \"\$(find '$T/spool/school_100002' -name 'n_*.json' 2>/dev/null)\" ]"
fi
check "logging out with curl (the session's csrf) answers 303 to the login and clears the cookie" \
    sh -c "[ \"\$(curl -s -o /dev/null -D '$T/out.h' -w '%{http_code}' -b 'sdat_console=$VALUE' --data 'csrf=$CSRF' '$B/console/logout')\" = 303 ] && grep -qi '^set-cookie: sdat_console=;' '$T/out.h'"
check "  the old cookie then answers 303 to /console/login" \
    test "$(curl -s -o /dev/null -w '%{http_code}' -b "sdat_console=$VALUE" "$B/console/")" = 303
check "sdatctl audit verify passes" "$SDATCTL" -c "$T/sdatd.conf" audit verify

# ---- the rate limit (last: it locks out this address for a minute) ----
for i in 1 2 3 4 5; do
    curl -s -o /dev/null --data 'name=X&token=wrong' "$B/console/login"
done
check "more than 5 failures a minute from one address answer 429, even with the right token" \
    test "$(code --data-urlencode 'name=X' --data-urlencode "token=$OPS" "$B/console/login")" = 429

# ---- a plain-HTTP listener off loopback ----
stop_sdatd
conf "0.0.0.0:$PORT"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
check "the daemon restarts on 0.0.0.0" wait_for 60 ready
check "there the console answers 503 with a page that says why" \
    sh -c "[ \"\$(curl -s -o '$T/503.html' -w '%{http_code}' '$B/console/login')\" = 503 ] && grep -q 'in clear' '$T/503.html'"
check "  and the API is still served" ready
echo "# done"
