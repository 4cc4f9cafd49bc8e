#!/bin/sh
# No starvation without a token (quality.md S10). From one address
# (127.0.0.2) tests/integration/starve.py keeps 1,000 connections open or
# opening for 20 s: 500 idle after a partial request line, 500 trickling one
# byte of headers a second; each one the server closes is replaced a second
# later.
# Meanwhile a client on 127.0.0.1 asks for /healthz, /readyz and a CP-IS
# lookup (with a token), one request a second: every one is answered, in
# under 5 s. The server holds at most 64 connections from the address (the
# per-address limit) and closes those it holds once they have sent no
# complete request headers for 10 s (the header deadline), trickle or not.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
# 1,000 sockets here and the daemon's own: above a common soft limit of 1024.
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ] || ulimit -n 4096
check "enough descriptors for 1,000 connections (ulimit -n $(ulimit -n))" \
    sh -c '[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge 4096 ]'
start_broker --partitions 2 --topic police.da-incidents --topic health.attendances \
    --topic council.children --topic council.cpis-flags --topic health.cpis-responses \
    --topic sdat.dlq --topic sdat.audit || exit 1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN="ed-$(openssl rand -hex 16)"
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-starvation";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-starvation"; };
http = { listen = "127.0.0.1:$PORT";
         tokens = ( { name = "ed-any"; sha256 = "$(digest "$TOKEN")"; roles = [ "lookup" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ];
            mash = "la:831:mash"; cpis = "la:831:cpis"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:cpis"; kind = "cpis"; la_code = "831"; name = "Test CP-IS"; connector = "file";
    directory = "$T/spool"; }
);
CONF
printf '%s\n' '{"schema":"council.cpis-flag/1","flag_id":"F-1","la_code":"831","nhs_number":"9990000018","type":"CPP","start_date":"2025-01-01","la_name":"Test City","contact":{"office_phone":"01000 000010","out_of_hours_phone":"01000 000011"}}' >"$T/flags.jsonl"
"$SDATCTL" -c "$T/sdatd.conf" import flags "$T/flags.jsonl" >"$T/import-flags.out" 2>&1
check "a CP-IS flag is imported" grep -q "imported 1 flags" "$T/import-flags.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready
check "the daemon logs its connection limits and header deadline" \
    grep -q "http: listening on 127.0.0.1:$PORT .*per_address=64 header_deadline_s=10" "$T/sdatd.log"

python3 tests/integration/starve.py --port "$PORT" --token "$TOKEN" --nhs 9990000018 \
    --connections 1000 --duration 20 >"$T/starve.json" 2>"$T/starve.err"
check "the starving client ran (20 s)" test -s "$T/starve.json"
# got EXPR: evaluates EXPR over the summary d (and its requests r).
got() {
    python3 -c "
import json, sys
d = json.load(open('$T/starve.json'))
r = d['requests']
sys.exit(0 if ($1) else 1)"
}
python3 -c "
import json
d = json.load(open('$T/starve.json'))
r = d['requests']
print('# attack: %(opened)d connections opened from 127.0.0.2 (of %(attempted)d kept), '
      'at most %(max_held)d held by the server; closed: %(closed_idle)d idle, '
      '%(closed_trickle)d trickling; longest held: idle %(longest_idle)s s, '
      'trickling %(longest_trickle)s s; oldest still open %(oldest_still_open)s s' % d)
print('# legitimate: %d requests, slowest %.3f s' % (len(r), max([x['seconds'] for x in r] + [0])))
for x in r:
    if x['error'] or x['status'] not in (200,):
        print('#   %s' % json.dumps(x))
" 2>/dev/null
check "all 1,000 connections from one address were opened (the server accepts them)" \
    got "d['opened'] >= 1000 and d['open_errors'] == 0"
check "S10: /healthz stays answered (200 ok, each in under 5 s)" \
    got "[x for x in r if x['kind'] == 'healthz'] and all(x['status'] == 200 and not x['error'] and x['seconds'] < 5 for x in r if x['kind'] == 'healthz')"
check "S10: /readyz stays answered (200, each in under 5 s)" \
    got "[x for x in r if x['kind'] == 'readyz'] and all(x['status'] == 200 and not x['error'] and x['seconds'] < 5 for x in r if x['kind'] == 'readyz')"
check "S10: CP-IS lookups stay answered (200 with the flag, each in under 5 s)" \
    got "[x for x in r if x['kind'] == 'lookup'] and all(x['status'] == 200 and not x['error'] and x['seconds'] < 5 for x in r if x['kind'] == 'lookup')"
check "S10: about one legitimate request a second throughout (at least 15 in 20 s)" got "len(r) >= 15"
check "S10: the server holds at most 64 connections from one address (the rest closed at once)" \
    got "0 < d['max_held'] <= 64"
check "S10: trickling connections are closed by the header deadline (10 s), not kept by the trickle" \
    got "d['reaped_trickle'] > 0 and d['longest_trickle'] < 15"
check "S10: idle connections after a partial request line are closed by the same deadline" \
    got "d['reaped_idle'] > 0 and d['longest_idle'] < 15"
check "S10: no connection from the address is older than the deadline at the end" \
    got "d['oldest_still_open'] < 15"
check "the daemon logs the connections it closed at the deadline (a count, no address)" \
    grep -Eq "http: closed connections=[0-9]+ without a request's headers within 10 s" "$T/sdatd.log"
check "after the attack /healthz answers at once" \
    sh -c "[ \"\$(curl -s -m 5 http://127.0.0.1:$PORT/healthz)\" = ok ]"
check "the daemon is still running" kill -0 "$SDATD_PID"
stop_sdatd
check "sdatd stops with exit 0" test "$STOP_RC" -eq 0
check "no NHS number in the daemon's log" sh -c "! grep -q 9990000018 '$T/sdatd.log'"
echo "# done"
