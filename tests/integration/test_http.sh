#!/bin/sh
# The HTTP API (interfaces.md "HTTP API") served by tests/helpers/http-drive:
# the real server over a real store, with the writer loop reduced to
# running jobs. The role matrix (quality.md S2): every endpoint served ×
# no token, an unknown token, a malformed Authorization header, each role and
# all roles; only the listed role passes, 401 and 403 exactly. Then the order
# of checks (404/405, 401, 403, 413, 400), readiness, metrics_public and a
# token reload, acknowledgement, the notification view, review decisions,
# the dead-letter list and replay, TLS and client certificates. No request
# path reaches the log.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
DRIVE="$SDAT_BUILD/tests/http-drive"

# --- Tokens, configuration, register, events --------------------------------
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
for role in lookup ack operator metrics all narrow; do
    eval "TOK_$role=tok-$role-$(openssl rand -hex 12)"
done
# conf FILE STATE_DIR METRICS_PUBLIC [EXTRA_HTTP_KEYS]
conf() {
    cat >"$1" <<CONF
state_dir = "$2";
instance_id = "it-http";
log_level = "debug";
kafka = { embedded = true; };
http = {
  listen = "127.0.0.1:0";
  public_url = "https://sdat.test.invalid";
  metrics_public = $3;
  $4
  tokens = (
    { name = "t-lookup"; sha256 = "$(digest "$TOK_lookup")"; roles = [ "lookup" ]; },
    { name = "t-ack"; sha256 = "$(digest "$TOK_ack")"; roles = [ "ack" ]; },
    { name = "t-operator"; sha256 = "$(digest "$TOK_operator")"; roles = [ "operator" ]; },
    { name = "t-metrics"; sha256 = "$(digest "$TOK_metrics")"; roles = [ "metrics" ]; },
    { name = "t-all"; sha256 = "$(digest "$TOK_all")"; roles = [ "lookup", "ack", "operator", "metrics" ]; },
    { name = "t-narrow"; sha256 = "$(digest "$TOK_narrow")"; roles = [ "ack" ]; recipients = [ "school:100001" ]; }
  );
};
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
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Infants"; urn = "100002";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; }
);
CONF
}
conf "$T/sdatd.conf" "$T/state" false
mkdir -p "$T/state" "$T/spool"

# A child with an NHS number (matched by it), and twins at one address for
# whom the police give a misspelt given name and no NHS number (a review).
cat >"$T/children.jsonl" <<'EOF'
{"schema":"council.child/1","child_id":"T-1","la_code":"831","nhs_number":"9990000018","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","address":{"line1":"1 Example Street","postcode":"DE22 3XY"},"education":[{"urn":"100002","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"T-6","la_code":"831","given_name":"Fenna","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100001","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"T-7","la_code":"831","nhs_number":"9990000204","given_name":"Fenn","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100002","start":"2025-09-01"}]}
EOF
# Occurred on a fixed date (ages are decided on it); reported now.
OCCURRED=2026-11-02T20:00:00Z
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cat >"$T/events.jsonl" <<EOF
{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"H-1","version":1,"occurred_at":"$OCCURRED","reported_at":"$NOW","location":{"address":"6 Example Street","postcode":"DE23 6AA"},"risk":"medium","children":[{"ref":"c1","given_name":"Fen","family_name":"Twinsworth","dob":"2017-01-01","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}
this line is not JSON
{"schema":"police.da-incident/1","force":"otherforce","incident_id":"H-2","version":1,"occurred_at":"$OCCURRED","reported_at":"$NOW","location":{"address":"1 Nowhere","postcode":"ZE9 9ZZ"},"risk":"medium","children":[{"ref":"c1","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}
EOF
"$SDATCTL" -c "$T/sdatd.conf" import children "$T/children.jsonl" >"$T/import.out" 2>&1
check "the register is imported" grep -q "imported 3 children" "$T/import.out"
# CP-IS flags on T-1's NHS number: a plan active now, one ended, and a
# looked-after-child flag from another local authority starting a year from
# today (LATER), so that a lookup for today (no "at") has the same answer
# whenever the test runs; LATER_AT is a date on which it is active.
LATER=$(date -u -d '+1 year' +%Y-%m-%d)
LATER_AT=$(date -u -d '+2 years' +%Y-%m-%d)
cat >"$T/flags.jsonl" <<EOF
{"schema":"council.cpis-flag/1","flag_id":"F-CPP","la_code":"831","nhs_number":"9990000018","type":"CPP","start_date":"2025-01-01","la_name":"Test City","contact":{"office_phone":"01000 000010","out_of_hours_phone":"01000 000011"}}
{"schema":"council.cpis-flag/1","flag_id":"F-OLD","la_code":"831","nhs_number":"9990000018","type":"CPP","start_date":"2020-01-01","end_date":"2021-01-01","la_name":"Test City","contact":{"office_phone":"01000 000010","out_of_hours_phone":"01000 000011"}}
{"schema":"council.cpis-flag/1","flag_id":"F-LAC","la_code":"832","nhs_number":"9990000018","type":"LAC","start_date":"$LATER","la_name":"Other Shire","contact":{"office_phone":"01000 000020","out_of_hours_phone":"01000 000021"}}
EOF
"$SDATCTL" -c "$T/sdatd.conf" import flags "$T/flags.jsonl" >"$T/import-flags.out" 2>&1
check "the CP-IS flags are imported" grep -q "imported 3" "$T/import-flags.out"

# drive NAME CONFIG [ARGS...]: starts http-drive; sets DPID and PORT.
drive() {
    name=$1 config=$2
    shift 2
    rm -f "$T/$name.port"
    "$DRIVE" "$config" --port-file "$T/$name.port" "$@" 2>>"$T/$name.log" &
    DPID=$!
    PIDS="$PIDS $DPID"
    wait_for 10 test -s "$T/$name.port" || { notok "$name started"; return 1; }
    PORT=$(cat "$T/$name.port")
}
drive main "$T/sdatd.conf" --seed --ingest "$T/events.jsonl" || exit 1
MAIN_PID=$DPID
BASE="http://127.0.0.1:$PORT"

# req METHOD PATH AUTH [CURL ARGS...]: prints the status; the body is in
# $T/body and the headers in $T/headers. AUTH: - for none, else the whole
# Authorization header value.
req() {
    m=$1 p=$2 auth=$3
    shift 3
    if [ "$auth" = - ]; then
        curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" "$@" "$BASE$p"
    else
        curl -s -o "$T/body" -D "$T/headers" -w '%{http_code}' -X "$m" -H "Authorization: $auth" \
            "$@" "$BASE$p"
    fi
}
# expect NAME WANT METHOD PATH AUTH [CURL ARGS...]
expect() {
    name=$1 want=$2
    shift 2
    got=$(req "$@")
    if [ "$got" = "$want" ]; then ok "$name"; else notok "$name (got $got)"; fi
}
body_has() { python3 -c "import json,sys; d=json.load(open('$T/body')); sys.exit(0 if ($1) else 1)"; }
error_json() {
    grep -qi '^content-type: application/json' "$T/headers" &&
        body_has 'isinstance(d, dict) and isinstance(d.get("error"), str) and isinstance(d.get("detail"), str)'
}

# --- The role matrix ---------------------------------------------------------
# endpoint rows: ROLE METHOD PATH PASS_STATUS BODY ("-" for none). A pass
# that reaches the endpoint answers PASS_STATUS (a 400 for a body that is
# checked after the roles, so that nothing is changed).
cat >"$T/matrix" <<'EOF'
metrics GET /metrics 200 -
ack POST /v1/notifications/n_http_scheduled/ack 400 {}
operator GET /v1/notifications/n_http_delivered_2 200 -
operator POST /v1/notifications/n_http_delivered_2/cancel 400 {}
operator POST /v1/notifications/n_http_delivered_2/resend 400 {}
operator POST /v1/notifications/n_http_delivered_2/redirect 400 {}
operator POST /v1/notifications/n_http_delivered_2/withdraw 400 {}
operator GET /v1/reviews 200 -
operator GET /v1/reviews/r_none 404 -
operator POST /v1/reviews/r_none 400 {}
operator GET /v1/dlq 200 -
operator POST /v1/dlq/999999/replay 400 not-json
lookup POST /v1/cpis/lookups 400 {}
lookup GET /v1/cpis/flags/1234567890 400 -
lookup POST /v1/cpis/attendances 400 {}
none GET /healthz 200 -
none GET /readyz 503 -
EOF
matrix_bad=0
while read -r role method path pass body; do
    set --
    [ "$body" = - ] || set -- --data "$body" -H "Content-Type: application/json"
    for who in none unknown malformed lookup ack operator metrics all; do
        case $who in
        none) auth=- ;;
        unknown) auth="Bearer tok-unknown-$(openssl rand -hex 8)" ;;
        malformed) auth="Basic dXNlcjpwYXNz" ;;
        *) eval "auth=\"Bearer \$TOK_$who\"" ;;
        esac
        if [ "$role" = none ]; then
            want=$pass
        elif [ "$who" = none ] || [ "$who" = unknown ] || [ "$who" = malformed ]; then
            want=401
        elif [ "$who" = all ] || [ "$who" = "$role" ]; then
            want=$pass
        else
            want=403
        fi
        got=$(req "$method" "$path" "$auth" "$@")
        if [ "$got" = "$want" ] && { [ "$want" = 200 ] || [ "$path" = /readyz ] || error_json; }; then
            ok "S2 $method $path ($role) with $who: $want"
        else
            notok "S2 $method $path ($role) with $who: want $want, got $got"
            matrix_bad=$((matrix_bad + 1))
        fi
    done
done <"$T/matrix"
check "S2: the whole matrix passed" test "$matrix_bad" -eq 0
expect "401 carries WWW-Authenticate: Bearer" 401 GET /v1/reviews -
check "  (the header)" grep -qi '^www-authenticate: bearer' "$T/headers"
expect "an empty Bearer token is 401" 401 GET /v1/reviews "Bearer "
expect "a token with the wrong case of scheme still counts (Bearer is case-insensitive)" 200 \
    GET /v1/reviews "bearer $TOK_operator"

# --- Routes and the order of checks -----------------------------------------
expect "an unknown path is 404, before any token check" 404 GET /v1/nothing -
check "  as JSON {error, detail}" error_json
expect "a wrong method on a known path is 405, before any token check" 405 DELETE /v1/reviews -
check "  with Allow: GET" grep -qi '^allow: GET' "$T/headers"
expect "PUT /v1/reviews/ID is 405" 405 PUT /v1/reviews/r_x "Bearer $TOK_operator"
check "  with Allow: GET, POST" grep -qi '^allow: GET, POST' "$T/headers"
for m in GET POST; do
    expect "$m /ack/ID without http.ack_key_file is 404 (an HTML page)" 404 "$m" \
        "/ack/n_http_delivered_1?t=0000" -
    check "  (text/html, saying links are not enabled)" \
        sh -c "grep -qi '^content-type: text/html' '$T/headers' && grep -q 'not enabled' '$T/body'"
done
head -c 66560 /dev/zero | tr '\0' 'x' >"$T/big"
expect "a 65 KiB body without a token is 401 (401 before 413)" 401 \
    POST /v1/notifications/n_http_delivered_1/ack - --data-binary "@$T/big"
expect "a 65 KiB body with the wrong role is 403 (403 before 413)" 403 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_operator" --data-binary "@$T/big"
expect "a 65 KiB body with the ack role is 413 (413 before 400)" 413 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" --data-binary "@$T/big"
check "  as JSON" error_json
expect "a 65 KiB chunked body (no Content-Length) is 413" 413 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" \
    -H "Transfer-Encoding: chunked" --data-binary "@$T/big"
head -c 65536 /dev/zero | tr '\0' ' ' >"$T/edge"
expect "exactly 64 KiB is read (then 400: not a JSON object)" 400 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" --data-binary "@$T/edge"
expect "a body that is not JSON is 400" 400 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" --data 'by=someone'
expect "by longer than 200 characters is 400" 400 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" \
    --data "{\"by\":\"$(head -c 201 /dev/zero | tr '\0' 'y')\"}"
expect "200 characters of by (multi-byte) pass the check (a 409: not delivered)" 409 \
    POST /v1/notifications/n_http_scheduled/ack "Bearer $TOK_ack" \
    --data "{\"by\":\"$(python3 -c 'print("é" * 200)')\"}"
# by takes what the acknowledgement form takes: text without control
# characters, not only spaces (each would pass to a 409 on n_http_scheduled).
for by in 'A.\u0007DSL' 'A.\u000aDSL' 'A.\u001bDSL' 'A.\u0085DSL' '   '; do
    expect "API ack: by \"$by\" is 400, as on the form" 400 \
        POST /v1/notifications/n_http_scheduled/ack "Bearer $TOK_ack" --data "{\"by\":\"$by\"}"
done
expect "API ack: by with spaces around a name passes the check (a 409: not delivered)" 409 \
    POST /v1/notifications/n_http_scheduled/ack "Bearer $TOK_ack" --data '{"by":"  A. DSL\t"}'
# The operator's by (actions, review decisions, replays) takes no control
# character either: each is checked before anything is looked up or changed.
for by in 'Op\u0007' 'Op\u000a2026-01-01 info delivered' 'Op\u0085'; do
    expect "operator cancel: by \"$by\" is 400" 400 \
        POST /v1/notifications/n_http_delivered_2/cancel "Bearer $TOK_operator" --data "{\"by\":\"$by\"}"
    expect "review decision: by \"$by\" is 400 (not 404)" 400 \
        POST /v1/reviews/r_none "Bearer $TOK_operator" --data "{\"decision\":\"reject\",\"by\":\"$by\"}"
    expect "dead-letter replay: by \"$by\" is 400 (not 404)" 400 \
        POST /v1/dlq/999999/replay "Bearer $TOK_operator" --data "{\"by\":\"$by\"}"
done
expect "review decision: a plain by passes the check (404: no such item)" 404 \
    POST /v1/reviews/r_none "Bearer $TOK_operator" --data '{"decision":"reject","by":"Op"}'
# raw REQUEST: sends bytes as they are; prints the status line's code.
raw() {
    python3 - "$PORT" "$1" <<'PY'
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=10)
s.sendall(sys.argv[2].encode().decode("unicode_escape").encode("latin-1"))
data = b""
while True:
    chunk = s.recv(4096)
    if not chunk:
        break
    data += chunk
print(data.split(b" ", 2)[1].decode() if data.startswith(b"HTTP/") else "none")
PY
}
ack_with_lengths() { # LENGTH LENGTH
    raw "POST /v1/notifications/n_http_scheduled/ack HTTP/1.1\r\nHost: t\r\nConnection: close\r\nAuthorization: Bearer $TOK_ack\r\nContent-Type: application/json\r\nContent-Length: $1\r\nContent-Length: $2\r\n\r\n{\"by\":\"A. DSL\"}"
}
check "two different Content-Length headers are 400" test "$(ack_with_lengths 15 2)" = 400
check "  either way round" test "$(ack_with_lengths 2 15)" = 400
check "  (the same Content-Length twice is read as one: 409, not delivered)" \
    test "$(ack_with_lengths 15 15)" = 409
check "the server still answers after those bodies" sh -c "[ \"\$(curl -s '$BASE/healthz')\" = ok ]"

# --- Health, readiness, metrics ---------------------------------------------
expect "GET /healthz is 200" 200 GET /healthz -
check "  with the text ok" sh -c "[ \"\$(cat '$T/body')\" = ok ]"
expect "GET /readyz before any report is 503" 503 GET /readyz -
check "  {ready:false, reasons:[starting]}" body_has 'd == {"ready": False, "reasons": ["starting"]}'
# readyz_says COND: /readyz's body satisfies the Python condition on d (the
# signals below are handled asynchronously: wait for their effect).
readyz_says() {
    curl -s "$BASE/readyz" >"$T/readyz.poll" 2>/dev/null &&
        python3 -c "import json,sys; d=json.load(open('$T/readyz.poll')); sys.exit(0 if ($1) else 1)" 2>/dev/null
}
reloads() { grep -c "http: configuration reloaded" "$T/main.log"; }
reloads_at_least() { [ "$(reloads)" -ge "$1" ]; }
kill -USR2 "$MAIN_PID"
wait_for 10 readyz_says 'd.get("reasons") == ["register not current", "broker unreachable"]'
expect "GET /readyz with the register behind and the broker down is 503" 503 GET /readyz -
check "  naming both reasons" \
    body_has 'd["ready"] is False and d["reasons"] == ["register not current", "broker unreachable"]'
kill -USR1 "$MAIN_PID"
wait_for 10 readyz_says 'd.get("ready") is True'
expect "GET /readyz when all is well is 200" 200 GET /readyz -
check "  {ready:true}" body_has 'd == {"ready": True}'
expect "GET /metrics with the metrics role is 200" 200 GET /metrics "Bearer $TOK_metrics"
check "  as Prometheus text 0.0.4" grep -qi '^content-type: text/plain; version=0.0.4' "$T/headers"
conf "$T/sdatd.conf" "$T/state" true
reloaded=$(reloads)
kill -HUP "$MAIN_PID"
# The reload is logged after the new configuration is in place.
wait_for 10 reloads_at_least $((reloaded + 1))
expect "after a reload with metrics_public = true, /metrics needs no token" 200 GET /metrics -
expect "  and ignores an unknown one" 200 GET /metrics "Bearer nobody"
check "the reload was logged" grep -q "http: configuration reloaded tokens=6" "$T/main.log"
OLD_OPERATOR=$TOK_operator
TOK_operator="tok-operator-$(openssl rand -hex 12)"
conf "$T/sdatd.conf" "$T/state" true
reloaded=$(reloads)
kill -HUP "$MAIN_PID"
wait_for 10 reloads_at_least $((reloaded + 1))
expect "after a reload with a new operator token, the old one is 401" 401 GET /v1/reviews \
    "Bearer $OLD_OPERATOR"
expect "  and the new one passes" 200 GET /v1/reviews "Bearer $TOK_operator"

# --- Acknowledgement and the notification view --------------------------------
expect "ack of a delivered notification is 204" 204 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" --data '{"by":"A. DSL"}'
expect "ack again is 204" 204 \
    POST /v1/notifications/n_http_delivered_1/ack "Bearer $TOK_ack" --data '{"by":"A. DSL"}'
expect "ack of a scheduled notification is 409" 409 \
    POST /v1/notifications/n_http_scheduled/ack "Bearer $TOK_ack" --data '{"by":"A. DSL"}'
expect "ack of an unknown notification is 404" 404 \
    POST /v1/notifications/n_nothing/ack "Bearer $TOK_ack" --data '{"by":"A. DSL"}'
expect "ack without by is 400" 400 \
    POST /v1/notifications/n_http_delivered_2/ack "Bearer $TOK_ack" --data '{}'
expect "a token narrowed to school:100001 cannot ack school:100002's notification (403)" 403 \
    POST /v1/notifications/n_http_other/ack "Bearer $TOK_narrow" --data '{"by":"A. DSL"}'
cp "$T/body" "$T/body-other"
expect "  and gets the same 403 for an id that is no notification at all (no existence oracle)" \
    403 POST /v1/notifications/n_nothing/ack "Bearer $TOK_narrow" --data '{"by":"A. DSL"}'
check "  with the same body" cmp -s "$T/body" "$T/body-other"
expect "  even with a body too big (403 before 413)" 403 \
    POST /v1/notifications/n_http_other/ack "Bearer $TOK_narrow" --data-binary "@$T/big"
expect "  but acks its own (204)" 204 \
    POST /v1/notifications/n_http_delivered_2/ack "Bearer $TOK_narrow" --data '{"by":"B. DSL"}'
expect "GET /v1/notifications/ID is 200 for an operator" 200 \
    GET /v1/notifications/n_http_delivered_1 "Bearer $TOK_operator"
check "  with its fields, state acknowledged, attempts oldest first and the payload" body_has '
    set(d) == {"notification_id","kind","recipient","state","scheduled_for","attempts","payload"}
    and d["state"] == "acknowledged" and d["recipient"] == "school:100001"
    and [a["outcome"] for a in d["attempts"]] == ["retry", "done"]
    and all(len(a["at"]) == 24 and a["at"].endswith("Z") for a in d["attempts"])
    and len(d["scheduled_for"]) == 24 and d["payload"]["schema"] == "sdat.notification/1"'
expect "GET /v1/notifications of an unknown id is 404" 404 \
    GET /v1/notifications/n_nothing "Bearer $TOK_operator"
python3 - "$T/state/sdat.db" >"$T/ack-audit" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(db.execute("SELECT count(*) FROM audit WHERE type = 'notification.acknowledged'").fetchone()[0])
PY
check "each acknowledgement is audited once (two notifications)" test "$(cat "$T/ack-audit")" = 2

# --- Reviews -------------------------------------------------------------------
expect "GET /v1/reviews lists the open item" 200 GET /v1/reviews "Bearer $TOK_operator"
check "  with both twins as candidates, names and dates of birth from the register" body_has '
    len(d) == 1 and d[0]["state"] == "open" and d[0]["incident"] == "derbyshire/H-1"
    and d[0]["child"] == "c1" and d[0]["decided_by"] is None and d[0]["decided_at"] is None
    and sorted(c["child_id"] for c in d[0]["candidates"]) == ["T-6", "T-7"]
    and all(c["family_name"] == "Twinsworth" and c["dob"] == "2017-01-01"
            and isinstance(c["score"], str) for c in d[0]["candidates"])'
RID=$(python3 -c "import json; print(json.load(open('$T/body'))[0]['review_id'])")
expect "GET /v1/reviews/ID is the item" 200 GET "/v1/reviews/$RID" "Bearer $TOK_operator"
check "  the same item" body_has "d['review_id'] == '$RID' and len(d['candidates']) == 2"
expect "accept with an unknown register child is 400" 400 POST "/v1/reviews/$RID" \
    "Bearer $TOK_operator" --data '{"decision":"accept","child_id":"T-404","by":"A. Operator"}'
expect "accept without child_id is 400" 400 POST "/v1/reviews/$RID" \
    "Bearer $TOK_operator" --data '{"decision":"accept","by":"A. Operator"}'
expect "an unknown decision is 400" 400 POST "/v1/reviews/$RID" \
    "Bearer $TOK_operator" --data '{"decision":"maybe","by":"A. Operator"}'
expect "deciding an unknown item is 404" 404 POST /v1/reviews/r_nothing \
    "Bearer $TOK_operator" --data '{"decision":"reject","by":"A. Operator"}'
expect "accept with T-7 is 200" 200 POST "/v1/reviews/$RID" \
    "Bearer $TOK_operator" --data '{"decision":"accept","child_id":"T-7","by":"A. Operator"}'
check "  with the notifications created" body_has "
    d['review_id'] == '$RID' and d['decision'] == 'accept' and len(d['notifications']) >= 1
    and all(n.startswith('n_') for n in d['notifications'])"
NID=$(python3 -c "import json; print(json.load(open('$T/body'))['notifications'][0])")
expect "  one of which the operator can read" 200 GET "/v1/notifications/$NID" "Bearer $TOK_operator"
expect "deciding it again is 409" 409 POST "/v1/reviews/$RID" \
    "Bearer $TOK_operator" --data '{"decision":"reject","by":"A. Operator"}'
expect "the decided item shows who and when" 200 GET "/v1/reviews/$RID" "Bearer $TOK_operator"
check "  (accepted by A. Operator, T-7)" body_has '
    d["state"] == "accepted" and d["decided_by"] == "A. Operator"
    and d["register_child_id"] == "T-7" and d["decided_at"].endswith("Z")'
expect "and the open list is empty" 200 GET /v1/reviews "Bearer $TOK_operator"
check "  ([])" body_has 'd == []'

# --- Dead letters --------------------------------------------------------------
expect "GET /v1/dlq lists the rejected events" 200 GET /v1/dlq "Bearer $TOK_operator"
check "  a parse and a routing dead letter with their fields" body_has '
    [x["stage"] for x in d] == ["parse", "routing"]
    and all(set(x) == {"id","stage","error","topic","partition","offset","at"} for x in d)
    and d[0]["topic"] == "police.da-incidents" and d[1]["offset"] == 2'
DL=$(python3 -c "import json; print(json.load(open('$T/body'))[1]['id'])")
expect "GET /v1/dlq?since=a future time is 200" 200 GET "/v1/dlq?since=2099-01-01T00:00:00Z" \
    "Bearer $TOK_operator"
check "  and empty" body_has 'd == []'
expect "GET /v1/dlq?since=not-a-date is 400" 400 GET "/v1/dlq?since=yesterday" "Bearer $TOK_operator"
expect "replaying the routing dead letter is 200" 200 POST "/v1/dlq/$DL/replay" \
    "Bearer $TOK_operator" --data '{"by":"A. Operator"}'
check "  with the outcome: dead-lettered again at stage routing" body_has '
    d["outcome"] == "dead-lettered" and d["stage"] == "routing" and d["dead_letter_id"] > 0'
expect "replay without a body is 200 too" 200 POST "/v1/dlq/$DL/replay" "Bearer $TOK_operator"
expect "replaying an unknown dead letter is 404" 404 POST /v1/dlq/999999/replay \
    "Bearer $TOK_operator"
expect "a dead-letter id that is not a number is 404" 404 POST /v1/dlq/abc/replay \
    "Bearer $TOK_operator"

# --- CP-IS lookups (silent) -------------------------------------------------------
expect "POST /v1/cpis/lookups answers 200" 200 POST /v1/cpis/lookups "Bearer $TOK_lookup" \
    -H "Content-Type: application/json" --data '{"nhs_number":"9990000018"}'
check "  an sdat.cpis-response/1 with only the flag active today" \
    body_has 'd["schema"] == "sdat.cpis-response/1" and [f["flag_id"] for f in d["flags"]] == ["F-CPP"] and d["accesses"] == [] and d["flags"][0]["contact"]["office_phone"] == "01000 000010"'
expect "GET /v1/cpis/flags/NHS?at=$LATER_AT answers for that date" 200 \
    GET "/v1/cpis/flags/9990000018?at=$LATER_AT" "Bearer $TOK_lookup"
check "  the ended plan is not active, the later looked-after flag of another LA is" \
    body_has '[f["flag_id"] for f in d["flags"]] == ["F-CPP", "F-LAC"] and {f["la_code"] for f in d["flags"]} == {"831", "832"}'
expect "a date before any flag: no flags" 200 GET "/v1/cpis/flags/9990000018?at=2019-06-01" "Bearer $TOK_lookup"
check "  (flags: [])" body_has 'd["flags"] == []'
expect "an invalid NHS number is 400" 400 POST /v1/cpis/lookups "Bearer $TOK_lookup" \
    -H "Content-Type: application/json" --data '{"nhs_number":"9990000017"}'
check "  and the detail does not repeat it" sh -c "! grep -q 9990000017 '$T/body'"
expect "a bad date is 400" 400 GET "/v1/cpis/flags/9990000018?at=2031-13-01" "Bearer $TOK_lookup"
python3 - "$T/state/sdat.db" <<'PY' && ok "each lookup is audited as lookup.served with an HMAC of the NHS number, never the number; nobody is notified" || notok "each lookup is audited as lookup.served with an HMAC of the NHS number, never the number; nobody is notified"
import json, re, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'lookup.served'")]
assert len(recs) >= 3, len(recs)
hmacs = {r["detail"]["nhs_number_hmac"] for r in recs}
assert len(hmacs) == 1 and re.fullmatch("[0-9a-f]{64}", hmacs.pop())
assert all(r["actor"] == "t-lookup" and r["detail"]["silent"] is True for r in recs)
assert not any("9990000018" in json.dumps(r) for r in recs)
n = db.execute("SELECT count(*) FROM notifications WHERE kind = 'cpis-access'").fetchone()[0]
assert n == 0, n
PY
python3 - "$T/state/sdat.db" >"$T/accesses" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(db.execute("SELECT count(*) FROM accesses").fetchone()[0])
PY
check "silent lookups are not recorded as accesses (flows.md §2)" test "$(cat "$T/accesses")" = 0

# --- Logs ----------------------------------------------------------------------
check "requests are logged at debug with the route name and status" \
    grep -q "http: POST review-decide status=200 duration_ms=" "$T/main.log"
check "no request path or query reaches the log" \
    sh -c "! grep -E '/v1/|/ack/|/healthz|since=|9990000018' '$T/main.log'"
check "no token reaches the log" sh -c "! grep -F -e '$TOK_ack' -e '$TOK_operator' '$T/main.log'"
kill -TERM "$MAIN_PID"
wait "$MAIN_PID"
check "http-drive stops cleanly on SIGTERM" test $? -eq 0

# --- TLS and client certificates -------------------------------------------------
ossl() { openssl "$@" 2>>"$T/openssl.err"; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" && chmod 600 "$1"; }
ca() {
    newkey "$T/$1.key" &&
        ossl req -x509 -new -key "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=sdat http $1" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
leaf() { # NAME CA USAGE [SAN]
    newkey "$T/$1.key" &&
        ossl req -new -key "$T/$1.key" -out "$T/$1.csr" -subj "/CN=sdat http $1" &&
        {
            echo "basicConstraints=CA:FALSE"
            echo "extendedKeyUsage=$3"
            [ -z "${4:-}" ] || echo "subjectAltName=$4"
        } >"$T/$1.ext" &&
        ossl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" -CAcreateserial \
            -out "$T/$1.pem" -days 2 -extfile "$T/$1.ext"
}
ca ca && leaf server ca serverAuth "IP:127.0.0.1" && ca clientca && leaf client clientca clientAuth &&
    ca otherca && leaf stranger otherca clientAuth
check "openssl makes a server certificate and client certificates for this run" \
    test -s "$T/server.pem" -a -s "$T/client.pem" -a -s "$T/stranger.pem"

mkdir -p "$T/state-tls"
conf "$T/tls.conf" "$T/state-tls" false "tls_cert = \"$T/server.pem\"; tls_key = \"$T/server.key\";"
# With a checkpoint key, lookup.served's HMAC of the NHS number is keyed
# with it: the file's bytes less one trailing newline (interfaces.md).
printf 'synthetic audit key %s\n' "$(openssl rand -hex 8)" >"$T/audit.key"
chmod 600 "$T/audit.key"
echo "audit = { checkpoint_key_file = \"$T/audit.key\"; };" >>"$T/tls.conf"
drive tls "$T/tls.conf" || exit 1
TLS_PID=$DPID
check "TLS: a lookup over https is 200" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$T/ca.pem' -H 'Authorization: Bearer $TOK_lookup' --data '{\"nhs_number\":\"9990000018\"}' https://127.0.0.1:$PORT/v1/cpis/lookups)\" = 200 ]"
python3 - "$T/state-tls/sdat.db" "$T/audit.key" <<'PY' && ok "lookup.served holds HMAC-SHA256(checkpoint key, NHS number)" || notok "lookup.served holds HMAC-SHA256(checkpoint key, NHS number)"
import hashlib, hmac, json, sqlite3, sys
key = open(sys.argv[2], "rb").read()
key = key[:-1] if key.endswith(b"\n") else key
want = hmac.new(key, b"9990000018", hashlib.sha256).hexdigest()
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
recs = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'lookup.served'")]
assert len(recs) == 1, len(recs)
assert recs[0]["detail"]["nhs_number_hmac"] == want, (recs[0]["detail"], want)
PY
check "TLS: GET /healthz over https with the test CA is 200" \
    sh -c "[ \"\$(curl -s --cacert '$T/ca.pem' https://127.0.0.1:$PORT/healthz)\" = ok ]"
check "TLS: an operator request over https passes" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$T/ca.pem' -H 'Authorization: Bearer $TOK_operator' https://127.0.0.1:$PORT/v1/reviews)\" = 200 ]"
check "TLS: plain http is not served" sh -c "! curl -s -m 5 http://127.0.0.1:$PORT/healthz | grep -q ok"
check "TLS: a client that does not trust the CA refuses" \
    sh -c "! curl -s -m 5 https://127.0.0.1:$PORT/healthz"
kill -TERM "$TLS_PID"
wait "$TLS_PID"
chmod 644 "$T/server.key"
check "TLS: a server key readable by others is refused at start" \
    sh -c "! '$DRIVE' '$T/tls.conf' --port-file '$T/refused.port' 2>'$T/refused.err' && grep -q 'http.tls_key' '$T/refused.err'"
chmod 600 "$T/server.key"

mkdir -p "$T/state-mtls"
conf "$T/mtls.conf" "$T/state-mtls" false \
    "tls_cert = \"$T/server.pem\"; tls_key = \"$T/server.key\"; client_ca = \"$T/clientca.pem\";"
drive mtls "$T/mtls.conf" || exit 1
MTLS_PID=$DPID
check "mTLS: a client certificate from client_ca is served (200)" \
    sh -c "[ \"\$(curl -s --cacert '$T/ca.pem' --cert '$T/client.pem' --key '$T/client.key' https://127.0.0.1:$PORT/healthz)\" = ok ]"
check "mTLS: no client certificate is refused" \
    sh -c "! curl -s -m 5 --cacert '$T/ca.pem' https://127.0.0.1:$PORT/healthz | grep -q ok"
check "mTLS: a client certificate from another CA is refused" \
    sh -c "! curl -s -m 5 --cacert '$T/ca.pem' --cert '$T/stranger.pem' --key '$T/stranger.key' https://127.0.0.1:$PORT/healthz | grep -q ok"
check "mTLS: the token check still applies (401 without a token)" \
    sh -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' --cacert '$T/ca.pem' --cert '$T/client.pem' --key '$T/client.key' https://127.0.0.1:$PORT/v1/reviews)\" = 401 ]"
kill -TERM "$MTLS_PID"
wait "$MTLS_PID"

# --- The same server inside sdatd, against a mock Kafka cluster ---------------
start_broker --partitions 2 --topic police.da-incidents --topic health.attendances \
    --topic council.children --topic council.cpis-flags --topic health.cpis-responses \
    --topic sdat.dlq --topic sdat.audit || exit 1
HPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$T/state-d"
conf "$T/daemon.conf" "$T/state-d" false
sed -i -e "s|listen = \"127.0.0.1:0\";|listen = \"127.0.0.1:$HPORT\";|" \
    -e "s|kafka = { embedded = true; };|kafka = { bootstrap_servers = \"$BS\"; group_id = \"sdatd-it-http\"; };|" \
    "$T/daemon.conf"
check "sdatd -t accepts the configuration" sh -c "'$SDATD' -t -c '$T/daemon.conf' 2>/dev/null"
"$SDATCTL" -c "$T/daemon.conf" import children "$T/children.jsonl" >>"$T/import.out" 2>&1
start_sdatd "$T/daemon.conf" "$T/sdatd.log"
BASE="http://127.0.0.1:$HPORT"
healthy() { [ "$(curl -s "$BASE/healthz")" = ok ]; }
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")" = 200 ]; }
check "sdatd serves /healthz on http.listen" wait_for 20 healthy
check "sdatd's /readyz turns 200 once consuming" wait_for 60 ready
check "the daemon logs the port it serves" grep -q "http: listening on 127.0.0.1:$HPORT" "$T/sdatd.log"
# A fixed past date: on the always-open calendar the school is told at once.
PAST=2026-11-02T10:00:00Z
printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"HD-1","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"1 Example Street","postcode":"DE22 3XY"},"risk":"medium","children":[{"ref":"c1","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","nhs_number":"9990000018","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
    "$PAST" "$PAST" | kcat -P -b "$BS" -t police.da-incidents -k derbyshire/HD-1 2>>"$T/kcat.err"
school_id() {
    python3 - "$T/state-d/sdat.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
row = db.execute("SELECT id FROM notifications WHERE source_key = 'derbyshire/HD-1'"
                 " AND recipient = 'school:100002' AND state = 'delivered'").fetchone()
print(row[0] if row else "")
PY
}
delivered() { [ -n "$(school_id)" ]; }
check "an incident for T-1 is delivered to school:100002 by the daemon" wait_for 60 delivered
SID=$(school_id)
expect "sdatd: the operator reads the delivered notification" 200 GET "/v1/notifications/$SID" \
    "Bearer $TOK_operator"
check "  (delivered, one attempt done)" body_has \
    'd["state"] == "delivered" and [a["outcome"] for a in d["attempts"]][-1:] == ["done"]'
expect "sdatd: the narrowed ack token cannot acknowledge another school's notification" 403 \
    POST "/v1/notifications/$SID/ack" "Bearer $TOK_narrow" --data '{"by":"A. DSL"}'
expect "sdatd: the school's DSL acknowledges it (204)" 204 \
    POST "/v1/notifications/$SID/ack" "Bearer $TOK_ack" --data '{"by":"A. DSL"}'
expect "sdatd: then it reads acknowledged" 200 GET "/v1/notifications/$SID" "Bearer $TOK_operator"
check "  (state acknowledged)" body_has 'd["state"] == "acknowledged"'
expect "sdatd: /metrics with the metrics role is Prometheus text" 200 GET /metrics \
    "Bearer $TOK_metrics"
check "  (with HELP lines)" grep -q '^# HELP ' "$T/body"
stop_sdatd
check "sdatd stops with exit 0 while serving HTTP" test "$STOP_RC" -eq 0
check "no request path, name or NHS number in the daemon's log" \
    sh -c "! grep -Eq '/v1/|Ashlyn|Testwood|9990000018|2016-04-12' '$T/sdatd.log'"
echo "# done"
