#!/bin/sh
# make bench, P2 (quality.md): GET /v1/cpis/flags/NHS_NUMBER over loopback
# against sdatd on a copy of the cached store (BENCH_CHILDREN children,
# BENCH_FLAGS CP-IS flags), with wrk (BENCH_WRK, default -t2 -c32 -d20s
# --latency) and bench/lookup.lua cycling through the NHS numbers that have
# flags; each answer goes after its lookup.served audit record is committed.
# The reference, in the same run with the same wrk command and script: nginx
# (one worker, not a daemon, its own prefix in the run's directory, no
# access log) answering every such path with one static file whose size is
# the mean size of sdatd's answers. BENCH_PROFILE=cpu|trace profiles sdatd
# under wrk (bench/lib.sh).
set -eu
BENCH_NAME=lookup
. bench/lib.sh
WRK_ARGS=${BENCH_WRK:--t2 -c32 -d20s}
command -v wrk >/dev/null || die "wrk is not installed (sh scripts/deps.sh bench)"
command -v nginx >/dev/null || die "nginx is not installed (sh scripts/deps.sh bench)"

bench_data 175000
TOKEN=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
digest=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
tokens="tokens = ( { name = \"bench-lookup\"; sha256 = \"$digest\"; roles = [ \"lookup\" ]; } );"

bench_config "$W/broker.conf" "$W/broker-state" "127.0.0.1:9"
start_broker 4 "$W/broker.conf"
bench_config "$W/sdatd.conf" "$W/state" "$BS" "$tokens"
copy_store "$W/state"
sql "$W/state/sdat.db" "SELECT DISTINCT nhs_number FROM cpis_flags" >"$W/nhs.txt"
nflags=$(sql "$W/state/sdat.db" "SELECT count(*) FROM cpis_flags")
nchildren=$(sql "$W/state/sdat.db" "SELECT count(*) FROM children")
start_sdatd "$W/sdatd.conf" "$W/sdatd.log"
wait_for 60 grep -qs 'http: listening' "$W/sdatd.log" || die "sdatd did not listen: $(tail -n 3 "$W/sdatd.log")"
PORT=$(http_port "$W/sdatd.log")
wait_for 30 curl -fs -o /dev/null "http://127.0.0.1:$PORT/healthz" || die "sdatd did not answer /healthz"

# The mean size of an answer, over the first 200 numbers.
head -n 200 "$W/nhs.txt" | while read -r nhs; do
    curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/cpis/flags/$nhs" | wc -c
done >"$W/sizes"
answer=$(awk '{ n += $1 } END { printf "%.0f", n / NR }' "$W/sizes")
[ "$answer" -gt 0 ] || die "sdatd's answers are empty"
nhs1=$(head -n 1 "$W/nhs.txt")
curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$PORT/v1/cpis/flags/$nhs1" >"$W/one.json"

# wrk_run NAME URL: runs wrk; prints req/s, p99 in ms and the failed count.
wrk_run() {
    # shellcheck disable=SC2086
    BENCH_TOKEN=$TOKEN BENCH_NHS_FILE="$W/nhs.txt" wrk $WRK_ARGS --latency \
        -s bench/lookup.lua "$2" >"$W/wrk-$1.out" 2>&1 || die "wrk failed: $(tail -n 3 "$W/wrk-$1.out")"
    awk '
        /Requests\/sec:/ { rps = $2 }
        $1 == "99%" { v = $2; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                      p99 = v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) bad += $i }
        END { printf "%.0f %.2f %d\n", rps, p99, bad }' "$W/wrk-$1.out"
}

profile_start "$SDATD_PID"
t0=$(now)
# shellcheck disable=SC2046
set -- $(wrk_run sdatd "http://127.0.0.1:$PORT/")
t1=$(now)
profile_stop
[ $# -eq 3 ] || die "wrk against sdatd failed: $(tail -n 3 "$W/wrk-sdatd.out")"
rps=$1 p99=$2 bad=$3
echo "lookup: $nchildren children, $nflags flags; sdatd answers $answer bytes on average"
printf 'lookup: sdatd  %8.0f requests/s, p99 %6.2f ms, %d failed   target >= 20,000/s and p99 <= 5 ms: %.3f x, p99 %s\n' \
    "$rps" "$p99" "$bad" "$(calc "$rps / 20000")" "$(awk -v p="$p99" 'BEGIN { print p <= 5 ? "met" : "missed" }')"
rss=$(rss_mib "$SDATD_PID")
stop_sdatd

# nginx: one worker, in the foreground, from a prefix in the run's directory.
NG="$W/nginx"
mkdir -p "$NG/html" "$NG/tmp"
head -c "$answer" /dev/zero | tr '\0' ' ' >"$NG/html/pad"
{ cat "$W/one.json"; cat "$NG/html/pad"; } | head -c "$answer" >"$NG/html/answer.json"
NPORT=$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$NG/nginx.conf" <<CONF
user $(id -un) $(id -gn);
worker_processes 1;
daemon off;
pid $NG/nginx.pid;
error_log $NG/error.log;
events { worker_connections 1024; }
http {
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path $NG/tmp/body;
    proxy_temp_path $NG/tmp/proxy;
    fastcgi_temp_path $NG/tmp/fastcgi;
    uwsgi_temp_path $NG/tmp/uwsgi;
    scgi_temp_path $NG/tmp/scgi;
    default_type application/json;
    server {
        listen 127.0.0.1:$NPORT;
        root $NG/html;
        location / { try_files /answer.json =404; }
    }
}
CONF
nginx -p "$NG" -c "$NG/nginx.conf" 2>"$NG/stderr" 3>&- &
NGINX_PID=$!
PIDS="$PIDS $NGINX_PID"
wait_for 10 curl -fs -o /dev/null "http://127.0.0.1:$NPORT/v1/cpis/flags/$nhs1" ||
    die "nginx did not start: $(cat "$NG/stderr" "$NG/error.log" 2>/dev/null | tail -n 3)"
# shellcheck disable=SC2046
set -- $(wrk_run nginx "http://127.0.0.1:$NPORT/")
[ $# -eq 3 ] || die "wrk against nginx failed: $(tail -n 3 "$W/wrk-nginx.out")"
nrps=$1 np99=$2 nbad=$3
kill -TERM "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true

printf 'lookup: nginx  %8.0f requests/s, p99 %6.2f ms, %d failed   (reference: one worker, a static file of %d bytes)\n' \
    "$nrps" "$np99" "$nbad" "$answer"
printf 'lookup: sdatd / nginx = %.3f\n' "$(calc "$rps / $nrps")"
echo "lookup: sdatd's resident memory after the run: $rss"
result p2.rps "$rps"
result p2.p99 "$p99"
result p2.failed "$bad"
result p2.answer "$answer"
result p2.nginx_rps "$nrps"
result p2.nginx_p99 "$np99"
result p2.wrk "$WRK_ARGS --latency"
profile_report "$SDATD_PID" "$(calc "$t1 - $t0")"
