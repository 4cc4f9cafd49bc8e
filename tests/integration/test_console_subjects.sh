#!/bin/sh
# The console's children, audit and inbox pages (console.md): a search of
# the register by each key, always a POST (never in a URL); the subject
# access report with the shares sdatctl audit export --subject has, and its
# record.viewed; the audit page and "verify now"; the auditor's two pages
# (403 elsewhere); a recipient-narrowed ack token's inbox (its recipients
# only) and its "Acknowledge" (notification.acknowledged by the person's
# name, via console; 403 elsewhere); CSRF; escaping; chromium opening the
# report and keeping screenshots; axe-core on every page.
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
ACKALL=$(token ackall)
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-console-subjects";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-console-subjects"; };
http = { listen = "127.0.0.1:$PORT";
         tokens = ( { name = "mash-desk"; sha256 = "$(digest "$OPS")"; roles = [ "operator" ]; },
                    { name = "ig-office"; sha256 = "$(digest "$AUD")"; roles = [ "auditor" ]; },
                    { name = "dsl-100001"; sha256 = "$(digest "$ACK")"; roles = [ "ack" ];
                      recipients = [ "school:100001" ]; },
                    { name = "ack-all"; sha256 = "$(digest "$ACKALL")"; roles = [ "ack" ]; } ); };
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
cat >"$T/children.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"C-1","la_code":"831","given_name":"Ada","family_name":"Quillfeather","dob":"2016-05-05","nhs_number":"9990000018","upn":"B801200005001","address":{"line1":"3 Example Road","postcode":"DE22 1AA"},"education":[{"urn":"100001","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"C-2","la_code":"831","given_name":"Bram","family_name":"Otterly","dob":"2015-02-02","address":{"line1":"9 Example Road","postcode":"DE22 1AB"},"education":[{"urn":"100002","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"C-3","la_code":"831","given_name":"<script>alert(1)</script>","family_name":"Escaper & Co","dob":"2014-03-03","address":{"line1":"1 <b>Tag</b> Lane","postcode":"DE22 1AC"}}
JSONL
"$SDATCTL" -c "$T/sdatd.conf" import children "$T/children.jsonl" >"$T/import.out" 2>&1
check "the register is imported" grep -q "imported 3 children" "$T/import.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
B="http://127.0.0.1:$PORT"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$B/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# The incident date is fixed (ages and school places are decided on it, so
# no answer changes as the years pass); reported now, so that each school's
# notification is due at once on the always-open calendar.
OCCURRED=2026-11-02T20:00:00Z
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
incident() { # ID GIVEN FAMILY DOB POSTCODE
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"Example Road","postcode":"%s"},"risk":"medium","children":[{"ref":"c1","given_name":"%s","family_name":"%s","dob":"%s","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$OCCURRED" "$NOW" "$5" "$2" "$3" "$4" | kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1" 2>>"$T/kcat.err"
}
incident S-1 Ada Quillfeather 2016-05-05 "DE22 1AA"
incident S-2 Ada Quillfeather 2016-05-05 "DE22 1AA"
incident S-3 Bram Otterly 2015-02-02 "DE22 1AB"
check "the matched children's schools receive their notifications (2 for school:100001, 1 for school:100002)" \
    wait_for 60 sh -c "$(command -v find) '$T/spool/school_100001' -name 'n_*.json' 2>/dev/null | grep -c . | grep -qx 2 && $(command -v find) '$T/spool/school_100002' -name 'n_*.json' 2>/dev/null | grep -q ."
ADA_N=$(ls "$T/spool/school_100001" | sed 's/\.json$//' | sort)
ADA_1=$(echo "$ADA_N" | head -1)
ADA_2=$(echo "$ADA_N" | tail -1)
BRAM_N=$(ls "$T/spool/school_100002" | sed 's/\.json$//' | head -1)

login() { # TOKEN NAME JAR -> prints the status
    curl -s -c "$T/jar.$3" -D "$T/h.$3" -o "$T/b.$3" -w '%{http_code}' \
        --data-urlencode "name=$2" --data-urlencode "token=$1" "$B/console/login"
}
cookie() { tr -d '\r' <"$T/h.$1" | grep -i '^set-cookie:' | sed 's/.*sdat_console=\([^;]*\);.*/\1/'; }
get() { # COOKIE PATH -> status, body in $T/last.html
    curl -s -o "$T/last.html" -w '%{http_code}' -b "sdat_console=$1" "$B$2"
}
csrf_of() { grep -o 'name="csrf" value="[0-9a-f]*"' "$T/last.html" | head -1 | sed 's/.*value="//; s/"//'; }
post() { # COOKIE PATH BODY... -> status, body in $T/post.html
    c=$1 p=$2
    shift 2
    curl -s -o "$T/post.html" -D "$T/post.h" -w '%{http_code}' -b "sdat_console=$c" "$@" "$B$p"
}

# ---- the auditor ----
check "an auditor logs in (303)" test "$(login "$AUD" 'I. Governance' aud)" = 303
AV=$(cookie aud)
check "  its landing page (/console/) links to its two pages" \
    sh -c "[ \"\$(curl -s -o '$T/land.html' -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/')\" = 200 ] && grep -q 'href=\"/console/children\"' '$T/land.html' && grep -q 'href=\"/console/audit\"' '$T/land.html'"
check "  reviews and the inbox answer 403 for it" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/reviews')\" = 403 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/inbox')\" = 403 ]"
check "  GET /console/children answers the search form (POST)" \
    sh -c "[ \"\$(curl -s -o '$T/children.html' -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/children')\" = 200 ] && grep -q '<form method=\"post\" action=\"/console/children\" id=\"search\"' '$T/children.html'"
get "$AV" /console/children >/dev/null
ACSRF=$(csrf_of)
search() { # FIELDS... : 0 when C-1 is the one match
    [ "$(post "$AV" /console/children --data "csrf=$ACSRF" "$@")" = 200 ] &&
        grep -q '<table id="children">' "$T/post.html" &&
        [ "$(grep -o 'href="/console/children/[^"]*"' "$T/post.html" | sort -u)" = 'href="/console/children/C-1"' ]
}
check "the search finds C-1 by its child id" search --data-urlencode 'child_id=C-1'
check "  by its NHS number (as people write it)" search --data-urlencode 'nhs_number=999 000 0018'
check "  by its UPN (any case)" search --data-urlencode 'upn=b801200005001'
check "  by family name (any case) with date of birth" \
    search --data-urlencode 'family_name=QUILLFEATHER' --data-urlencode 'dob=2016-05-05'
check "  the wrong date finds nobody" \
    sh -c "[ \"\$(curl -s -o '$T/none.html' -w '%{http_code}' -b 'sdat_console=$AV' --data 'csrf=$ACSRF&family_name=Quillfeather&dob=2016-05-06' '$B/console/children')\" = 200 ] && grep -q 'id=\"no-matches\"' '$T/none.html'"
check "an empty search answers 400 with an error summary naming the first field" \
    sh -c "[ \"\$(curl -s -o '$T/empty.html' -w '%{http_code}' -b 'sdat_console=$AV' --data 'csrf=$ACSRF&child_id=' '$B/console/children')\" = 400 ] && grep -q 'class=\"error-summary\"' '$T/empty.html' && grep -q 'href=\"#child_id\"' '$T/empty.html'"
check "  a family name without a date of birth: the summary names dob" \
    sh -c "[ \"\$(curl -s -o '$T/nodob.html' -w '%{http_code}' -b 'sdat_console=$AV' --data 'csrf=$ACSRF&family_name=Quillfeather' '$B/console/children')\" = 400 ] && grep -q 'href=\"#dob\"' '$T/nodob.html' && grep -q 'value=\"Quillfeather\"' '$T/nodob.html'"
check "  an NHS number that is not 10 digits: the summary names nhs_number" \
    sh -c "[ \"\$(curl -s -o '$T/badnhs.html' -w '%{http_code}' -b 'sdat_console=$AV' --data 'csrf=$ACSRF&nhs_number=12345' '$B/console/children')\" = 400 ] && grep -q 'href=\"#nhs_number\"' '$T/badnhs.html'"
check "a search without the csrf value answers 403" \
    test "$(post "$AV" /console/children --data 'child_id=C-1')" = 403
check "a search by query string is no search: GET ignores it (no personal data in URLs is the only way)" \
    sh -c "curl -s -b 'sdat_console=$AV' '$B/console/children?nhs_number=9990000018' | grep -vq 'id=\"children\"' && ! curl -s -b 'sdat_console=$AV' '$B/console/children?nhs_number=9990000018' | grep -q 'C-1'"

# The subject access report: the register record, then the shares.
"$SDATCTL" -c "$T/sdatd.conf" audit export --subject C-1 >"$T/export.jsonl"
check "the report answers 200 with the register record and table#shares" \
    sh -c "[ \"\$(curl -s -o '$T/subject.html' -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/children/C-1')\" = 200 ] && grep -q '<h1>Subject access report</h1>' '$T/subject.html' && grep -q '9990000018' '$T/subject.html' && grep -q '<table id=\"shares\">' '$T/subject.html'"
$PY - "$T/export.jsonl" "$T/subject.html" <<'PY' && ok "  its shares are exactly the notifications sdatctl audit export --subject lists (what, with whom, why)" || notok "  its shares are exactly the notifications sdatctl audit export --subject lists (what, with whom, why)"
import json, re, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
ns = [l["notification"] for l in lines if "notification" in l]
html = open(sys.argv[2]).read()
table = html.split('<table id="shares">')[1].split("</table>")[0]
rows = re.findall(r"<tr><td>(n_[^<]*)</td>(.*?)</tr>", table)
assert len(ns) >= 2 and sorted(r[0] for r in rows) == sorted(n["notification_id"] for n in ns), (rows, ns)
for n in ns:
    row = dict(rows)[n["notification_id"]]
    assert n["kind"] in row and n["recipient"] in row and "lawful basis: " in row, row
recs = [l for l in lines if "seq" in l]
assert table and len(re.findall(r"<tr><td>\d+</td>", html.split('<table id="records">')[1])) >= len(recs), "records"
PY
check "  the other child's share is not in it" sh -c "! grep -q '$BRAM_N' '$T/subject.html'"
$PY - "$T/state/sdat.db" <<'PY' && ok "opening the report wrote record.viewed (actor the name, subject the child id, what subject, via console)" || notok "opening the report wrote record.viewed (actor the name, subject the child id, what subject, via console)"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit ORDER BY seq")]
v = [r for r in recs if r["type"] == "record.viewed" and r["actor"] == "I. Governance"]
assert len(v) == 1, v
assert v[0]["subject"] == {"child_id": "C-1"} and v[0]["detail"] == {"what": "subject", "via": "console"}, v
PY
check "a child neither in the register nor in the audit log answers 404" \
    test "$(get "$AV" /console/children/NOBODY)" = 404
check "values from the register are escaped in the report and in the search results" \
    sh -c "curl -s -b 'sdat_console=$AV' '$B/console/children/C-3' >'$T/esc.html' && curl -s -b 'sdat_console=$AV' --data 'csrf=$ACSRF&child_id=C-3' '$B/console/children' >>'$T/esc.html' && grep -q '&lt;script&gt;alert(1)&lt;/script&gt;' '$T/esc.html' && grep -q 'Escaper &amp; Co' '$T/esc.html' && grep -q '&lt;b&gt;Tag' '$T/esc.html' && ! grep -q '<script' '$T/esc.html' && ! grep -q '<b>Tag' '$T/esc.html'"

# The audit page.
check "the audit page shows the head, the last checkpoint and no verification yet" \
    sh -c "[ \"\$(curl -s -o '$T/audit.html' -w '%{http_code}' -b 'sdat_console=$AV' '$B/console/audit')\" = 200 ] && grep -q 'id=\"head\">record [0-9]*, hash <code>[0-9a-f]\{64\}' '$T/audit.html' && grep -q 'id=\"checkpoint\">record [0-9]' '$T/audit.html' && grep -q 'not run from the console' '$T/audit.html' && grep -q 'id=\"verify\"' '$T/audit.html'"
check "verify now without the csrf value answers 403 and runs nothing" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$AV' --data '' '$B/console/audit')\" = 403 ] && curl -s -b 'sdat_console=$AV' '$B/console/audit' | grep -q 'not run from the console'"
check "verify now answers 303 to the audit page, which shows a pass with the count and who asked" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$AV' --data 'csrf=$ACSRF' '$B/console/audit')\" = 303 ] && curl -s -b 'sdat_console=$AV' '$B/console/audit' >'$T/verified.html' && grep -q 'data-result=\"pass\">Passed</strong>: [1-9][0-9]* records' '$T/verified.html' && grep -q 'for I. Governance' '$T/verified.html'"

# ---- the school's DSL: a narrowed ack token ----
check "a recipient-narrowed ack token logs in (303) and its landing page is the inbox" \
    sh -c "[ \"\$(curl -s -c /dev/null -D '$T/h.ack' -o /dev/null -w '%{http_code}' --data-urlencode 'name=S. <i>Dsl</i>' --data-urlencode 'token=$ACK' '$B/console/login')\" = 303 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b \"sdat_console=\$(tr -d '\r' <'$T/h.ack' | grep -i '^set-cookie:' | sed 's/.*sdat_console=\([^;]*\);.*/\1/')\" '$B/console/')\" = '303 $B/console/inbox' ]"
KV=$(cookie ack)
check "  the inbox lists its recipient's notifications only (id, kind, created, delivered, acknowledged)" \
    sh -c "[ \"\$(curl -s -o '$T/inbox.html' -w '%{http_code}' -b 'sdat_console=$KV' '$B/console/inbox')\" = 200 ] && grep -q '<table id=\"inbox\">' '$T/inbox.html' && grep -q '$ADA_1' '$T/inbox.html' && grep -q '$ADA_2' '$T/inbox.html' && ! grep -q '$BRAM_N' '$T/inbox.html' && [ \"\$(grep -c '>Acknowledge</button>' '$T/inbox.html')\" = 2 ] && grep -q 'Delivered</th><th scope=\"col\">Acknowledged' '$T/inbox.html'"
check "  the person's name is escaped in the header" sh -c "grep -q 'S. &lt;i&gt;Dsl&lt;/i&gt;' '$T/inbox.html' && ! grep -q '<i>Dsl' '$T/inbox.html'"
get "$KV" /console/inbox >/dev/null
KCSRF=$(csrf_of)
check "  every other page answers 403 for it (reviews, children, a report, audit)" \
    sh -c "for p in /console/reviews /console/children /console/children/C-1 /console/audit; do [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$KV' \"$B\$p\")\" = 403 ] || exit 1; done"
check "  acknowledging another recipient's notification answers 403 and changes nothing" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$KV' --data 'csrf=$KCSRF' '$B/console/inbox/$BRAM_N')\" = 403 ] && curl -s -H 'Authorization: Bearer $OPS' '$B/v1/notifications/$BRAM_N' | grep -q '\"state\": *\"delivered\"'"
check "  an acknowledgement without the csrf value answers 403" \
    test "$(post "$KV" "/console/inbox/$ADA_1" --data '')" = 403
check "  Acknowledge answers 303 to the inbox, which says so and shows when" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code} %{redirect_url}' -b 'sdat_console=$KV' --data 'csrf=$KCSRF' '$B/console/inbox/$ADA_1')\" = '303 $B/console/inbox' ] && curl -s -b 'sdat_console=$KV' '$B/console/inbox' >'$T/inbox2.html' && grep -q 'id=\"outcome\"' '$T/inbox2.html' && [ \"\$(grep -c '>Acknowledge</button>' '$T/inbox2.html')\" = 1 ]"
$PY - "$T/state/sdat.db" "$ADA_1" <<'PY' && ok "  notification.acknowledged is recorded with by = the session's name and via console" || notok "  notification.acknowledged is recorded with by = the session's name and via console"
import json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit ORDER BY seq")]
a = [r for r in recs if r["type"] == "notification.acknowledged"]
assert len(a) == 1, a
assert a[0]["subject"]["notification_id"] == sys.argv[2] and a[0]["actor"] == "S. <i>Dsl</i>", a
assert a[0]["detail"] == {"by": "S. <i>Dsl</i>", "via": "console"}, a
PY
check "an ack token narrowed to no recipient is refused at login (403, no cookie)" \
    sh -c "[ \"\$(curl -s -D '$T/h.all' -o '$T/b.all' -w '%{http_code}' --data-urlencode 'name=A. All' --data-urlencode 'token=$ACKALL' '$B/console/login')\" = 403 ] && ! grep -qi set-cookie '$T/h.all'"
OPS_STATUS=$(login "$OPS" 'O. Curl' ops)
OV=$(cookie ops)
check "an operator may open the children and audit pages too" \
    sh -c "[ '$OPS_STATUS' = 303 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$OV' '$B/console/children')\" = 200 ] && [ \"\$(curl -s -o /dev/null -w '%{http_code}' -b 'sdat_console=$OV' '$B/console/audit')\" = 200 ]"

# ---- the browser, with axe-core ----
if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    notok "the browser test needs chromium and python3-websocket (make deps)"
else
    $PY tests/integration/console_subjects_browser.py "$T/chromium" "$T/screenshots" "$B" \
        "$OPS" "$AUD" "$ACK" Quillfeather 2016-05-05 >"$T/browser.json" 2>"$T/browser.err"
    check "chromium searched, opened the report, verified, acknowledged" test -s "$T/browser.json"
    b() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(0 if eval(sys.argv[2]) else 1)' "$T/browser.json" "$1"; }
    check "  the POST search found C-1 and the report shows its shares" \
        b 'd["match_href"].endswith("/console/children/C-1") and d["subject"]["url"].endswith("/console/children/C-1") and "Shares" in d["subject"]["text"] and "school:100001" in d["subject"]["text"]'
    check "  printed, the report hides the navigation and keeps the shares" \
        b 'd["print"]["header_hidden"] and d["print"]["shares_visible"]'
    check "  and the printed report is kept (subject.pdf)" test -s "$T/screenshots/subject.pdf"
    check "  verify now shows a pass" b 'd["verified"]["url"].endswith("/console/audit") and "Passed" in d["verified"]["text"]'
    check "  the auditor was refused the reviews (403)" b 'd["reviews_as_auditor"] == 403'
    check "  the inbox's Acknowledge acknowledged the second notification" \
        b 'd["inbox_ack_label"] == "Acknowledge" and "acknowledged" in d["acknowledged"]["text"] and d["acknowledged"]["url"].endswith("/console/inbox")'
    check "  no personal data in any URL the browser requested" \
        b 'd["urls"] and not any(w in u for u in d["urls"] for w in ("Quillfeather","2016-05-05","9990000018","B801200005001","Governance","Dsl","Ada"))'
    check "  axe-core ran on every page (results returned, rules passed)" \
        b 'len(d["axe"]) >= 13 and all(a.get("ran") and a["passes"] > 10 for a in d["axe"].values())'
    check "  axe-core: no serious or critical violation on any page" \
        b 'not [(p, v["id"]) for p, a in d["axe"].items() for v in a["violations"] if v["impact"] in ("serious", "critical")]'
    $PY -c 'import json, sys; d = json.load(open(sys.argv[1])); print("# axe-core %s: %s" % (next(iter(d["axe"].values())).get("version"), ", ".join("%s %d passed/%d violations %s" % (p, a["passes"], len(a["violations"]), [v["id"] + ":" + str(v["impact"]) for v in a["violations"]]) for p, a in d["axe"].items())))' "$T/browser.json"
    check "  a screenshot of each page is kept ($T/screenshots)" \
        sh -c "ls '$T/screenshots'/children.png '$T/screenshots'/matches.png '$T/screenshots'/subject.png '$T/screenshots'/audit.png '$T/screenshots'/verified.png '$T/screenshots'/inbox.png >/dev/null"
fi
check "sdatctl audit verify passes" "$SDATCTL" -c "$T/sdatd.conf" audit verify
echo "# done"
