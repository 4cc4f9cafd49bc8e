#!/bin/sh
# The console's notification and dead-letter pages (console.md "Pages"):
# the search (ids and captions, each filter, an invalid filter named in an
# error summary, 50 a page with a "next" cursor), one notification (its
# timeline, payload and audit records; opening it is record.viewed), the
# actions through the API's engine calls (audited with by = the person's
# name and via = console; a 409 shown as a message; 403 without the csrf
# value and nothing changed), escaping of values from the store, dead
# letters with replay, today's counts linking to the lists, no personal
# data in any URL; and chromium headless finding a notification by its
# incident key, opening it and replaying a dead letter.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
start_broker --partitions 1 --topic police.da-incidents --topic sdat.dlq || exit 1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
token() { printf '%s-%s' "$1" "$(openssl rand -hex 16)"; }
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
OPS=$(token ops)
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-console-n";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-console-n"; };
http = { listen = "127.0.0.1:$PORT";
         tokens = ( { name = "mash-desk"; sha256 = "$(digest "$OPS")"; roles = [ "operator" ]; } ); };
lawful_basis = { da_incident = "Children Act 2004 s11"; da_incident_urgent = "B"; unmatched_child = "C";
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
cat >"$T/child.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"AL-1","la_code":"831","given_name":"Adaline","family_name":"Lovelock","dob":"2016-03-04","nhs_number":"9434765919","address":{"line1":"7 Example Road","postcode":"DE22 1AA"},"education":[{"urn":"100001","start":"2024-09-01"}]}
JSONL
"$SDATCTL" -c "$T/sdatd.conf" import children "$T/child.jsonl" >"$T/import.out" 2>&1
check "the register is imported" grep -q "imported 1 children" "$T/import.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
B="http://127.0.0.1:$PORT"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# 56 incidents about the same child: at least 56 school notifications.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
i=1
while [ $i -le 56 ]; do
    printf 'derbyshire/N-%d|{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"N-%d","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"7 Example Road","postcode":"DE22 1AA"},"risk":"medium","children":[{"ref":"c1","given_name":"Adaline","family_name":"Lovelock","dob":"2016-03-04","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        $i $i "$NOW" "$NOW"
    i=$((i + 1))
done >"$T/incidents.txt"
kcat -P -b "$BS" -t police.da-incidents -K '|' <"$T/incidents.txt" 2>>"$T/kcat.err"
# Two events that are not JSON: dead letters.
printf 'derbyshire/BAD-1|{not json\nderbyshire/BAD-2|{not json either\n' |
    kcat -P -b "$BS" -t police.da-incidents -K '|' 2>>"$T/kcat.err"
db() { sqlite3 "file:$T/state/sdat.db?mode=ro" "$1" 2>/dev/null; }
delivered() { [ "$(db "SELECT count(*) FROM notifications WHERE kind = 'da-incident' AND recipient = 'school:100001' AND state = 'delivered'")" -ge 56 ]; }
check "56 incidents are delivered to the child's school" wait_for 60 delivered
dead() { [ "$(db "SELECT count(*) FROM dead_letters")" -ge 2 ]; }
check "the two bad events are dead letters" wait_for 30 dead
KEY3=$(db "SELECT source_key FROM notifications WHERE source_key LIKE '%N-3' LIMIT 1")
N3=$(db "SELECT id FROM notifications WHERE source_key = '$KEY3' AND recipient = 'school:100001'")
TOTAL=$(db "SELECT count(*) FROM notifications")

login() { # NAME -> cookie value
    curl -s -D "$T/login.h" -o /dev/null --data-urlencode "name=$1" --data-urlencode "token=$OPS" \
        "$B/console/login"
    tr -d '\r' <"$T/login.h" | grep -i '^set-cookie:' | sed 's/.*sdat_console=\([^;]*\);.*/\1/'
}
NAME='N. <script>alert(1)</script> Desk'
C=$(login "$NAME")
get() { curl -s -b "sdat_console=$C" -o "$T/page.html" -w '%{http_code}' "$B$1"; }
# has FILE PYTHON-EXPR over h (the HTML) and rows (the ids in table#notifications)
has() {
    $PY - "$@" <<'PY'
import html, re, sys
h = open(sys.argv[1], encoding="utf-8").read()
tbody = re.search(r'<table id="notifications">.*?<tbody>(.*?)</tbody>', h, re.S)
rows = re.findall(r'<tr><td><a href="/console/notifications/([^"]+)">', tbody.group(1)) if tbody else []
nxt = re.search(r'<a id="next" rel="next" href="([^"]+)"', h)
nxt = html.unescape(nxt.group(1)) if nxt else None
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

# ---- the list and its search ----
check "GET /console/notifications: 200, table#notifications with a caption and the seven columns" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o '$T/list.html' -w '%{http_code}' '$B/console/notifications')\" = 200 ]"
check "  id, kind, recipient, state, scheduled for, attempts, acknowledged; the search form's six fields with labels" \
    has "$T/list.html" '"<caption>" in h and all(">%s</th>" % c in h for c in ("Id","Kind","Recipient","State","Scheduled for","Attempts","Acknowledged")) and all(re.search(r"<label for=\"%s\">" % f, h) and re.search(r"name=\"%s\"" % f, h) for f in ("state","kind","recipient","incident","from","to")) and "method=\"get\"" in h'
check "  50 rows a page, newest first, and a next link with a cursor" \
    has "$T/list.html" 'len(rows) == 50 and nxt and "after=" in nxt'
NEXT=$($PY -c 'import html,re,sys; print(html.unescape(re.search(r"<a id=\"next\" rel=\"next\" href=\"([^\"]+)\"", open(sys.argv[1]).read()).group(1)))' "$T/list.html")
get "$NEXT" >/dev/null
cp "$T/page.html" "$T/page2.html"
FIRST=$($PY -c 'import re,sys; print(" ".join(re.findall(r"<tr><td><a href=\"/console/notifications/([^\"]+)\">", open(sys.argv[1]).read())))' "$T/list.html")
check "  the next page holds the rest ($TOTAL in all), none repeated, and no next link" \
    has "$T/page2.html" "len(rows) == $TOTAL - 50 and not set(rows) & set('$FIRST'.split()) and nxt is None"
NEWEST=$(db "SELECT id FROM notifications ORDER BY created_ms DESC, id DESC LIMIT 1")
check "  the first row is the newest notification" has "$T/list.html" "rows[0] == '$NEWEST'"
get "/console/notifications?incident=$(printf '%s' "$KEY3" | sed 's|/|%2F|g')" >/dev/null
check "the incident filter ($KEY3) finds its notifications only" \
    has "$T/page.html" "rows and set(rows) == set('$(db "SELECT group_concat(id, ' ') FROM notifications WHERE source_key = '$KEY3'")'.split())"
get "/console/notifications?state=delivered&kind=da-incident&recipient=school%3A100001&from=2000-01-01&to=2099-12-31" >/dev/null
check "  state, kind, recipient, from and to filter together (50 of the delivered da-incidents, then next)" \
    has "$T/page.html" "len(rows) == 50 and nxt and 'state=delivered' in nxt and 'recipient=school%3A100001' in nxt"
get "/console/notifications?to=2000-01-01" >/dev/null
check "  a date range before any notification finds none" has "$T/page.html" 'rows == [] and "no-notifications" in h'
get "/console/notifications?recipient=school%3A100002" >/dev/null
check "  another recipient has none" has "$T/page.html" 'rows == []'
check "an invalid state answers 400 with an error summary naming the field, not a 500" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o '$T/bad.html' -w '%{http_code}' '$B/console/notifications?state=nonsense&from=2024-13-45')\" = 400 ] && grep -q 'class=\"error-summary\"' '$T/bad.html' && grep -q 'href=\"#state\"' '$T/bad.html' && grep -q 'href=\"#from\"' '$T/bad.html'"
check "  markup in a filter is shown escaped" \
    sh -c "curl -s -b 'sdat_console=$C' '$B/console/notifications?kind=%3Cscript%3E' >'$T/badkind.html'; grep -q 'href=\"#kind\"' '$T/badkind.html' && grep -q 'value=\"&lt;script&gt;\"' '$T/badkind.html' && ! grep -q '<script' '$T/badkind.html'"

# ---- today links to the lists ----
get /console/ >/dev/null
check "today's counts link to the lists: pending, scheduled, failed, unacknowledged to notifications by state; dead_letters to dead letters" \
    has "$T/page.html" 'all(re.search(r"<a href=\"/console/notifications\?state=%s\">[^<]*</a></dt><dd data-count=\"%s\">" % (k, k), h) for k in ("scheduled","pending","failed","unacknowledged")) and re.search(r"<a href=\"/console/dead-letters\">[^<]*</a></dt><dd data-count=\"dead_letters\">2<", h)'
FAILED=$(db "SELECT count(*) FROM notifications WHERE state = 'failed'")
get "/console/notifications?state=failed" >/dev/null
check "  the failed list holds as many as the count" has "$T/page.html" "len(rows) == $FAILED"

# ---- one notification ----
VIEWS0=$(db "SELECT count(*) FROM audit WHERE type = 'record.viewed'")
check "GET /console/notifications/ID: 200 with state, recipient, kind, route reason, lawful basis, schedule" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o '$T/one.html' -w '%{http_code}' '$B/console/notifications/$N3')\" = 200 ]"
check "  the facts, the attempts as an ordered list, the acknowledgement, the audit records, the payload in a <pre>" \
    has "$T/one.html" '"<dd id=\"state\">delivered</dd>" in h and "<dd id=\"recipient\">school:100001</dd>" in h and "<dd id=\"kind\">da-incident</dd>" in h and "id=\"route-reason\"" in h and "<dd id=\"lawful-basis\">Children Act 2004 s11</dd>" in h and "Scheduled for" in h and re.search(r"<ol id=\"attempts\"[^>]*>\s*<li>", h) and "id=\"acknowledged\">Not acknowledged" in h and re.search(r"<table id=\"audit\">\s*<caption>", h) and "notification.created" in h and re.search(r"<pre id=\"payload\"[^>]*>\{\n  ", h) and "&quot;Adaline&quot;" in h'
check "  the letter the recipient reads (decide/letter.h) above the payload, with no inline style" \
    has "$T/one.html" 're.search(r"<section id=\"letter\" class=\"letter\">\s*<article>\s*<h3>Operation Encompass notification for [^<]+</h3>", h) and "<dt>Child</dt><dd>Adaline Lovelock</dd>" in h and h.index("id=\"letter\"") < h.index("<pre id=\"payload\"") and " style=" not in h[h.index("id=\"letter\""):h.index("<pre id=\"payload\"")]'
check "  the forms cancel, resend, redirect (a select of recipients), withdraw, each with a labelled reason and the csrf field" \
    has "$T/one.html" 'all(re.search(r"<form method=\"post\" id=\"%s\" action=\"/console/notifications/[^\"]+/%s\">\s*<input type=\"hidden\" name=\"csrf\" value=\"[0-9a-f]{32}\">" % (a, a), h) and "<label for=\"%s-reason\">" % a in h and "id=\"%s-reason\" name=\"reason\"" % a in h for a in ("cancel","resend","redirect","withdraw")) and re.search(r"<select id=\"redirect-recipient\" name=\"recipient\" required>\s*<option value=\"school:100002\">", h) and "<option value=\"school:100001\">" not in h'
check "  opening it wrote record.viewed (actor = the name, subject = the notification, what = notification, via console, the token's name)" \
    $PY - "$T/state/sdat.db" "$N3" "$NAME" "$VIEWS0" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'record.viewed' ORDER BY seq")]
assert len(recs) == int(sys.argv[4]) + 1, recs
r = recs[-1]
assert r["actor"] == sys.argv[3] and r["subject"]["notification_id"] == sys.argv[2], r
assert r["detail"] == {"what": "notification", "via": "console", "token": "mash-desk"}, r
PY
check "  an unknown notification answers 404" \
    test "$(curl -s -b "sdat_console=$C" -o /dev/null -w '%{http_code}' "$B/console/notifications/n_0000")" = 404
CSRF=$(grep -o 'name="csrf" value="[0-9a-f]*"' "$T/one.html" | head -1 | sed 's/.*value="//; s/"//')

# ---- the actions ----
AUDIT0=$(db "SELECT count(*) FROM audit")
check "a resend without the csrf value answers 403" \
    test "$(curl -s -b "sdat_console=$C" -o "$T/403.html" -w '%{http_code}' --data 'reason=no+csrf' "$B/console/notifications/$N3/resend")" = 403
check "  with a wrong one 403 too" \
    test "$(curl -s -b "sdat_console=$C" -o /dev/null -w '%{http_code}' --data 'csrf=00000000000000000000000000000000&reason=wrong' "$B/console/notifications/$N3/resend")" = 403
check "  and nothing changed: still delivered, no audit record" \
    sh -c "[ \"\$(sqlite3 'file:$T/state/sdat.db?mode=ro' \"SELECT state FROM notifications WHERE id = '$N3'\")\" = delivered ] && [ \"\$(sqlite3 'file:$T/state/sdat.db?mode=ro' 'SELECT count(*) FROM audit')\" = $AUDIT0 ]"
post() { # PATH DATA... -> status and Location in $T/post.h; then the page it leads to in $T/after.html
    p=$1
    shift
    curl -s -b "sdat_console=$C" -D "$T/post.h" -o /dev/null -w '%{http_code}' --data "csrf=$CSRF" "$@" "$B$p"
    curl -s -b "sdat_console=$C" -o "$T/after.html" "$B$p" >/dev/null 2>&1
}
check "cancelling a delivered notification: 303 back to it, the 409 shown as a message in an error summary" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o /dev/null -w '%{http_code} %{redirect_url}' --data 'csrf=$CSRF&reason=Wrong+child' '$B/console/notifications/$N3/cancel')\" = '303 $B/console/notifications/$N3' ] && curl -s -b 'sdat_console=$C' '$B/console/notifications/$N3' >'$T/409.html' && grep -q 'class=\"error-summary\"' '$T/409.html' && grep -q 'only a scheduled one can be cancelled' '$T/409.html'"
check "  the message shows once (it is held in the session, not the URL)" \
    sh -c "curl -s -b 'sdat_console=$C' '$B/console/notifications/$N3' >'$T/409b.html' && ! grep -q 'only a scheduled one can be cancelled' '$T/409b.html'"
check "an action without a reason is refused, naming the reason field" \
    sh -c "curl -s -b 'sdat_console=$C' -o /dev/null --data 'csrf=$CSRF' '$B/console/notifications/$N3/resend' && curl -s -b 'sdat_console=$C' '$B/console/notifications/$N3' | grep -q 'href=\"#resend-reason\"'"
check "resending it with the session's csrf and a reason: the page shows it is scheduled again" \
    sh -c "curl -s -b 'sdat_console=$C' -o /dev/null --data 'csrf=$CSRF&reason=School+lost+it' '$B/console/notifications/$N3/resend' && curl -s -b 'sdat_console=$C' '$B/console/notifications/$N3' >'$T/resent.html' && grep -q 'id=\"outcome\"' '$T/resent.html' && grep -q 'Resent: the notification is now <strong>scheduled' '$T/resent.html'"
redelivered() { [ "$(db "SELECT state FROM notifications WHERE id = '$N3'")" = delivered ]; }
check "  and it is delivered again" wait_for 30 redelivered
N4=$(db "SELECT id FROM notifications WHERE source_key LIKE '%N-4' AND recipient = 'school:100001'")
check "withdrawing another with a reason holding markup: a withdrawal is sent" \
    sh -c "curl -s -b 'sdat_console=$C' -o /dev/null --data 'csrf=$CSRF' --data-urlencode 'reason=Sent in error <script>alert(2)</script>' '$B/console/notifications/$N4/withdraw' && curl -s -b 'sdat_console=$C' '$B/console/notifications/$N4' >'$T/withdrawn.html' && grep -q 'Withdrawal sent: <a href=\"/console/notifications/n_' '$T/withdrawn.html'"
W=$(grep -o 'Withdrawal sent: <a href="/console/notifications/n_[0-9a-f]*' "$T/withdrawn.html" | sed 's|.*/||')
check "  the withdrawal's page shows the reason from the store escaped (payload and audit detail), never as markup" \
    sh -c "curl -s -b 'sdat_console=$C' '$B/console/notifications/$W' >'$T/w.html'; grep -q 'Sent in error &lt;script&gt;alert(2)&lt;/script&gt;' '$T/w.html' && grep -q 'N. &lt;script&gt;alert(1)&lt;/script&gt; Desk' '$T/w.html' && ! grep -q '<script' '$T/w.html'"
check "  its letter names the withdrawn one by id and by the date it was delivered (the store's, in the zone)" \
    $PY - "$T/state/sdat.db" "$N4" "$T/w.html" <<'PY'
import datetime, sqlite3, sys, zoneinfo
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
ms = db.execute("SELECT coalesce(delivered_ms, created_ms) FROM notifications WHERE id = ?",
                (sys.argv[2],)).fetchone()[0]
at = datetime.datetime.fromtimestamp(ms / 1000, zoneinfo.ZoneInfo("Europe/London"))
want = "Notification %s of %d %s at %s, which sdat sent to you earlier, was sent in error." % (
    sys.argv[2], at.day, at.strftime("%B %Y"), at.strftime("%H:%M"))
page = open(sys.argv[3], encoding="utf-8").read()
letter = page[page.index('id="letter"'):page.index('<pre id="payload"')]
sys.exit(0 if want in letter else 1)
PY
N5=$(db "SELECT id FROM notifications WHERE source_key LIKE '%N-5' AND recipient = 'school:100001'")
check "redirecting a third to the other school: the new notification is linked" \
    sh -c "curl -s -b 'sdat_console=$C' -o /dev/null --data 'csrf=$CSRF&recipient=school%3A100002&reason=Moved+school' '$B/console/notifications/$N5/redirect' && curl -s -b 'sdat_console=$C' '$B/console/notifications/$N5' | grep -q 'New notification: <a href=\"/console/notifications/n_'"
check "the actions are audited with by = the session's name and via = console, the reason in the detail" \
    $PY - "$T/state/sdat.db" "$NAME" "$N3" "$N4" "$N5" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit ORDER BY seq")]
name, n3, n4, n5 = sys.argv[2:6]
def one(t, n):
    got = [r for r in recs if r["type"] == t and r["subject"].get("notification_id") == n]
    assert len(got) == 1, (t, got)
    return got[0]
for t, n, reason in (("notification.resent", n3, "School lost it"),
                     ("notification.withdrawn", n4, "Sent in error <script>alert(2)</script>"),
                     ("notification.redirected", n5, "Moved school")):
    r = one(t, n)
    assert r["actor"] == name and r["detail"]["by"] == name, r
    assert r["detail"]["via"] == "console" and r["detail"]["reason"] == reason, r
created = [r for r in recs if r["type"] == "notification.created" and r["actor"] == name]
assert len(created) >= 3 and all(r["detail"]["via"] == "console" for r in created), created
assert not [r for r in recs if r["type"] == "notification.cancelled"], "a refused cancel is not audited"
PY

# ---- dead letters ----
check "GET /console/dead-letters: table#dead-letters with a caption and the columns, a replay form per row with the csrf field" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o '$T/dlq.html' -w '%{http_code}' '$B/console/dead-letters')\" = 200 ] && $PY -c '
import re, sys
h = open(sys.argv[1]).read()
assert re.search(r\"<table id=\\\"dead-letters\\\">\\s*<caption>\", h)
assert all(\">%s</th>\" % c in h for c in (\"Id\", \"Topic\", \"Partition\", \"Offset\", \"Stage\", \"Reason\", \"Received\"))
forms = re.findall(r\"<form method=\\\"post\\\" class=\\\"replay\\\" action=\\\"/console/dead-letters/\\d+/replay\\\">\\s*<input type=\\\"hidden\\\" name=\\\"csrf\\\" value=\\\"[0-9a-f]{32}\\\">\", h)
assert len(forms) == 2 and \"police.da-incidents\" in h, forms
' '$T/dlq.html'"
DL1=$(db "SELECT min(id) FROM dead_letters")
check "a replay without the csrf value answers 403 and replays nothing" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o /dev/null -w '%{http_code}' --data '' '$B/console/dead-letters/$DL1/replay')\" = 403 ] && [ \"\$(sqlite3 'file:$T/state/sdat.db?mode=ro' \"SELECT count(*) FROM audit WHERE type = 'dlq.replayed'\")\" = 0 ]"
check "replaying one: 303 to the list, which shows the outcome (rejected again, a new dead letter)" \
    sh -c "[ \"\$(curl -s -b 'sdat_console=$C' -o /dev/null -w '%{http_code} %{redirect_url}' --data 'csrf=$CSRF' '$B/console/dead-letters/$DL1/replay')\" = '303 $B/console/dead-letters' ] && curl -s -b 'sdat_console=$C' '$B/console/dead-letters' >'$T/replayed.html' && grep -q 'Dead letter $DL1 replayed: <strong>rejected again</strong>' '$T/replayed.html'"
check "  audited as dlq.replayed with by = the session's name and via = console" \
    $PY - "$T/state/sdat.db" "$NAME" "$DL1" <<'PY'
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'dlq.replayed'")]
assert len(recs) == 1 and recs[0]["actor"] == sys.argv[2], recs
assert recs[0]["detail"]["by"] == sys.argv[2] and recs[0]["detail"]["via"] == "console", recs
assert recs[0]["subject"]["dead_letter_id"] == int(sys.argv[3]), recs
PY
check "replaying an unknown dead letter answers 404" \
    test "$(curl -s -b "sdat_console=$C" -o /dev/null -w '%{http_code}' --data "csrf=$CSRF" "$B/console/dead-letters/999999/replay")" = 404

# ---- the browser ----
if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    notok "the browser test needs chromium and python3-websocket (make deps)"
else
    KEY7=$(db "SELECT source_key FROM notifications WHERE source_key LIKE '%N-7' LIMIT 1")
    N7=$(db "SELECT id FROM notifications WHERE source_key = '$KEY7' AND recipient = 'school:100001'")
    DLQ_BEFORE=$(db "SELECT count(*) FROM audit WHERE type = 'dlq.replayed'")
    $PY tests/integration/console_browser_notifications.py "$T/chromium" "$T/screenshots" "$B" \
        "$OPS" "B. Practitioner" "$KEY7" >"$T/browser.json" 2>"$T/browser.err"
    check "chromium logged in, found a notification, opened it and replayed a dead letter" test -s "$T/browser.json"
    b() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/browser.json" "$1"; }
    check "  today's counts link to the lists" \
        b 'd["today_links"]["pending"].endswith("/console/notifications?state=pending") and d["today_links"]["dead_letters"].endswith("/console/dead-letters")'
    check "  the search by incident key ($KEY7) shows its notification only" \
        b 'd["found_rows"] == 1 and "incident=" in d["found"]["url"] and "'"$N7"'" in d["found"]["text"]'
    check "  opening it shows its state, payload and audit records" \
        b 'd["notification"]["url"].endswith("/console/notifications/'"$N7"'") and "delivered" in d["notification"]["text"] and "id=\"payload\"" in d["notification"]["html"] and "notification.created" in d["notification"]["text"]'
    check "  the replay shows its outcome on the dead letters page" \
        b 'd["replayed"]["url"].endswith("/console/dead-letters") and "replayed:" in d["replayed"]["text"]'
    check "  every page: one h1, tables with captions, every control named (accessibility tree), the stylesheet" \
        b 'all(d[p]["h1"] == 1 and d[p]["uncaptioned_tables"] == 0 and not d[p]["unnamed_controls"] and d[p]["stylesheets"] == 1 for p in ("today","list","found","notification","dead_letters","replayed"))'
    check "  the notification reads at 320 px without scrolling sideways" b 'd["narrow_overflow"] is False'
    check "  axe-core ran on every page (results returned, rules passed)" \
        b 'len(d["axe"]) == 6 and all(a.get("ran") and a["passes"] > 10 for a in d["axe"].values())'
    check "  axe-core: no serious or critical violation on any page" \
        b 'not [(p, v["id"]) for p, a in d["axe"].items() for v in a["violations"] if v["impact"] in ("serious", "critical")]'
    $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print("# axe-core: " + ", ".join("%s %d passed/%d violations %s" % (p, a["passes"], len(a["violations"]), [v["id"] + ":" + str(v["impact"]) for v in a["violations"]]) for p, a in d["axe"].items()))' "$T/browser.json"
    check "  no personal data in any URL the browser requested" \
        b 'd["urls"] and not any(w in u for u in d["urls"] for w in ("Adaline","Lovelock","2016-03-04","9434765919","DE22","Practitioner","Example"))'
    check "  a screenshot of each page is kept ($T/screenshots)" \
        sh -c "ls '$T/screenshots'/notifications.png '$T/screenshots'/notifications-found.png '$T/screenshots'/notification.png '$T/screenshots'/dead-letters.png '$T/screenshots'/dead-letters-replayed.png >/dev/null"
    check "  the browser's replay is audited with its name and via console" \
        sh -c "[ \"\$(sqlite3 'file:$T/state/sdat.db?mode=ro' \"SELECT count(*) FROM audit WHERE type = 'dlq.replayed' AND json_extract(record, '\$.actor') = 'B. Practitioner' AND json_extract(record, '\$.detail.via') = 'console'\")\" = 1 ] && [ $DLQ_BEFORE = 1 ]"
fi
check "no personal data in any URL the console's pages link to" \
    sh -c "! cat '$T'/*.html | grep -o 'href=\"[^\"]*\"\|action=\"[^\"]*\"' | grep -E 'Adaline|Lovelock|2016-03-04|9434765919|DE22'"
check "sdatctl audit verify passes" "$SDATCTL" -c "$T/sdatd.conf" audit verify
echo "# done"
