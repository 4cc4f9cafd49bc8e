#!/bin/sh
# make bench, P6: sets up a local HTTPS receiver (keep-alive; a CA made for
# this run) and runs bench_deliver against it.
set -eu
: "${SDAT_BUILD:=build}"
: "${BENCH_DELIVERIES:=5000}"
T=$(mktemp -d /tmp/sdat-bench-deliver-XXXXXX)
trap 'kill $rpid 2>/dev/null || true; rm -rf "$T"' EXIT
rpid=
sh scripts/test-ca.sh "$T"
printf 'bench-secret\n' >"$T/secret"
chmod 600 "$T/secret"
python3 tests/integration/https_receiver.py --port-file "$T/port" --log /dev/null \
    --cert "$T/server.pem" --key "$T/server.key" --script 201 2>"$T/recv.err" &
rpid=$!
i=0
until [ -s "$T/port" ]; do
    i=$((i + 1))
    [ "$i" -lt 100 ] || { echo "receiver did not start" >&2; exit 1; }
    sleep 0.1
done
mkdir -p "$T/state"
cat >"$T/bench.conf" <<CONF
state_dir = "$T/state";
instance_id = "bench";
kafka = { embedded = true; };
delivery = { concurrency = 16; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Bench City"; mash = "la:831:mash"; } );
recipients = ( { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Bench MASH";
                 connector = "webhook"; url = "https://127.0.0.1:$(cat "$T/port")/hook";
                 secret_file = "$T/secret"; ca_file = "$T/ca.pem"; } );
CONF
echo "receiver: tests/integration/https_receiver.py (Python, threads, HTTP/1.1 keep-alive)"
"$SDAT_BUILD/bench/bench_deliver" "$T/bench.conf" la:831:mash "$BENCH_DELIVERIES"
