#!/bin/sh
# make bench, P3 (quality.md): health.attendance/1 events published at
# BENCH_P3_RATE (200) a second for BENCH_P3_SECONDS (30), keyed
# ODS_CODE/ATTENDANCE_ID, to sdatd on a copy of the cached store
# (BENCH_CHILDREN children, BENCH_FLAGS CP-IS flags); bench_attendance times
# each one from the moment it is handed to its producer to the moment its
# sdat.cpis-response/1 is readable on health.cpis-responses. Half the
# patients have CP-IS flags (so their local authority is notified too), half
# are register children without any. The daemon is ready (consumer group
# joined, /readyz) before the first attendance is sent, and the first
# BENCH_P3_WARMUP (3) seconds' attendances are sent but not counted.
#
# The mock broker holds a fetch that finds no data for the consumer's whole
# fetch.wait.max.ms (librdkafka's default: 500 ms) even if data arrives
# meanwhile, where a Kafka broker answers as soon as the data is there; the
# daemon is therefore given fetch.wait.max.ms = 10 here (BENCH_P3_FETCH_WAIT;
# empty for the daemon's own default), as bench_attendance's consumer is.
set -eu
BENCH_NAME=attendance
. bench/lib.sh
RATE=${BENCH_P3_RATE:-200}
SECONDS_=${BENCH_P3_SECONDS:-30}
WARMUP=${BENCH_P3_WARMUP:-3}
FETCH_WAIT=${BENCH_P3_FETCH_WAIT-10}

bench_data 175000
bench_config "$W/broker.conf" "$W/broker-state" "127.0.0.1:9"
start_broker 4 "$W/broker.conf"
props=
[ -z "$FETCH_WAIT" ] || props="properties = ( ( \"fetch.wait.max.ms\", \"$FETCH_WAIT\" ) );"
bench_config "$W/sdatd.conf" "$W/state" "$BS" "" "$props"
copy_store "$W/state"
sql "$W/state/sdat.db" "SELECT nhs_number FROM cpis_flags ORDER BY flag_id LIMIT 5000" >"$W/flagged"
sql "$W/state/sdat.db" "SELECT nhs_number FROM children WHERE nhs_number IS NOT NULL AND
    nhs_number NOT IN (SELECT nhs_number FROM cpis_flags) LIMIT 5000" >"$W/unflagged"
paste -d '\n' "$W/flagged" "$W/unflagged" | grep . >"$W/nhs.txt"
start_sdatd "$W/sdatd.conf" "$W/sdatd.log"
wait_for 60 grep -qs 'http: listening' "$W/sdatd.log" || die "sdatd did not start: $(tail -n 3 "$W/sdatd.log")"
PORT=$(http_port "$W/sdatd.log")
wait_for 60 curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" ||
    die "sdatd not ready after 60 s: $(curl -s "http://127.0.0.1:$PORT/readyz")"
responses0=$(sql "$W/state/sdat.db" "SELECT count(*) FROM accesses")

profile_start "$SDATD_PID"
t0=$(now)
"$SDAT_BUILD/bench/bench_attendance" "$BS" "$W/nhs.txt" "$RATE" "$SECONDS_" "$WARMUP" \
    >"$W/p3.out" ||
    die "bench_attendance: $(cat "$W/p3.out")"
t1=$(now)
profile_stop
sed 's/^/  /' "$W/p3.out" | sed 's/^  attendance:/attendance:/'
stats=$(sed -n 's/.*p50 \([0-9.inf]*\) ms, p90 \([0-9.inf]*\) ms, p99 \([0-9.inf]*\) ms, max \([0-9.inf]*\) ms.*/\1 \2 \3 \4/p' "$W/p3.out")
[ -n "$stats" ] || die "no round trips: $(cat "$W/p3.out")"
# shellcheck disable=SC2086
set -- $stats
p50=$1 p99=$3 max=$4
missing=$(sed -n 's/.*responses, \([0-9-]*\) missing.*/\1/p' "$W/p3.out")
accesses=$(($(sql "$W/state/sdat.db" "SELECT count(*) FROM accesses") - responses0))
notified=$(sql "$W/state/sdat.db" "SELECT count(*) FROM notifications WHERE kind = 'cpis-access'")
dead=$(sql "$W/state/sdat.db" "SELECT count(*) FROM dead_letters")
unsent=$(sql "$W/state/sdat.db" "SELECT count(*) FROM cpis_responses")
if [ "$p99" = inf ]; then
    verdict="missed: more than 1 % of the responses never came"
else
    verdict=$(awk -v p="$p99" 'BEGIN { printf "%s (%.2f x the limit)", p <= 50 ? "met" : "missed", p / 50 }')
fi
echo "attendance: p50 $p50 ms, p99 $p99 ms at $RATE/s   target p99 <= 50 ms: $verdict"
echo "attendance: $accesses accesses recorded, $notified cpis-access notifications, $dead dead letters," \
    "$unsent responses still in the store unsent (daemon's fetch.wait.max.ms: ${FETCH_WAIT:-librdkafka default})"
result p3.rate "$RATE"
result p3.seconds "$SECONDS_"
result p3.p50 "$p50"
result p3.p99 "$p99"
result p3.max "$max"
result p3.missing "$missing"
result p3.unsent "$unsent"
result p3.fetch_wait "${FETCH_WAIT:-default}"
stop_sdatd
profile_report "$SDATD_PID" "$(calc "$t1 - $t0")"
