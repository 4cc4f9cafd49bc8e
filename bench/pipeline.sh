#!/bin/sh
# make bench, P1 (quality.md): police incidents with two children each
# (about 1.1 KB; bench/synth/gen.py's, chosen and sized by
# bench/synth/select.py) produced with their keys to police.da-incidents on
# a standalone mock broker, enough partitions that it trims nothing; then
# sdatd starts on a copy of the cached store (BENCH_CHILDREN children,
# BENCH_FLAGS flags) and consumes them: validation, matching, routing,
# scheduling, the store, offsets. Its rate is the incidents in the store
# over the time from the first to the last one stored (the store's own
# updated_ms stamps; the run ends when every incident is in the store or
# dead-lettered); the time the consumer group then takes to commit every
# offset is printed beside it. The references, on the same messages in the
# same run: a plain jansson parse (bench_parse) and `kcat -C -e` reading the
# topic (best of three).
#
#   BENCH_P1_INCIDENTS (50000)   incidents
#   BENCH_PROFILE=cpu (or 1)     also a CPU profile of sdatd while it consumes
#                                (perf record, DWARF call graphs)
#   BENCH_PROFILE=trace          instead, the main thread's system calls by
#                                total time (perf trace -s: where it waits)
#   BENCH_CONNECTOR=kafka|file   the MASH and CP-IS recipients' connector
set -eu
BENCH_NAME=pipeline
. bench/lib.sh
N=${BENCH_P1_INCIDENTS:-50000}
TOPIC=police.da-incidents
# About 30 % of gen.py's incidents have exactly two children; one set of
# 175,000 serves any N up to 50,000 (it is generated once, with the register).
police=175000
[ "$N" -le 50000 ] || police=$((N * 7 / 2))
# The mock broker keeps about 5 MiB per partition: at most ~2,500 incidents
# of 1.1 KB each in one, with room for an uneven spread of keys.
parts=$((N / 2500 + 1))
[ "$parts" -ge 16 ] || parts=16

bench_data "$police"
"$PYTHON" bench/synth/select.py --children 2 --size 1100 --count "$N" \
    "$DATA/police-p$police.jsonl" >"$W/incidents.jsonl" || die "not enough two-child incidents"
size=$(awk '{ n += length($0) + 1 } END { printf "%.0f", n / NR }' "$W/incidents.jsonl")

bench_config "$W/broker.conf" "$W/broker-state" "127.0.0.1:9"
start_broker "$parts" "$W/broker.conf"
bench_config "$W/sdatd.conf" "$W/state" "$BS"
t0=$(now)
"$SDATCTL" -c "$W/sdatd.conf" publish --topic "$TOPIC" "$W/incidents.jsonl" >/dev/null ||
    die "sdatctl publish failed"
t1=$(now)
echo "pipeline: $N incidents, two children each, $size bytes on average, produced with keys to" \
    "$TOPIC ($parts partitions) in $(printf %.1f "$(calc "$t1 - $t0")") s"

# Reference 1: a plain jansson parse of the same messages.
parse=$("$SDAT_BUILD/bench/bench_parse" "$W/incidents.jsonl" | sed -n 's/.*, \([0-9]*\)\/s.*/\1/p')
[ -n "$parse" ] || die "bench_parse failed"

# Reference 2: kcat reading the whole topic; its count also shows that the
# broker trimmed nothing.
kbest=
for _ in 1 2 3; do
    t0=$(now)
    got=$(kcat -C -b "$BS" -t "$TOPIC" -o beginning -e -q -X fetch.wait.max.ms=10 | wc -l)
    t1=$(now)
    [ "$got" -eq "$N" ] || die "kcat read $got of $N messages: it failed, or the broker trimmed the topic"
    k=$(calc "$N / ($t1 - $t0)")
    kbest=$(calc "(${kbest:-0} > $k) ? ${kbest:-0} : $k")
done

# The daemon, on a private copy of the cached store.
copy_store "$W/state"
start_sdatd "$W/sdatd.conf" "$W/sdatd.log"
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$SDATD_PID/stat"; }
hz=$(getconf CLK_TCK)
count=0 last=-1 still=0 cpu0='' w0=''
while [ "$count" -lt "$N" ]; do
    kill -0 "$SDATD_PID" 2>/dev/null || die "sdatd exited; see its log: $(tail -n 3 "$W/sdatd.log")"
    sleep 1
    # Every incident ends in the store, as itself or as a dead letter.
    count=$(sql "$W/state/sdat.db" "SELECT (SELECT count(*) FROM incidents) +
        (SELECT count(*) FROM dead_letters WHERE topic = '$TOPIC')" 2>/dev/null || echo "$count")
    if [ -z "$cpu0" ] && [ "$count" -gt 0 ]; then
        cpu0=$(cpu_ticks) w0=$(now)
        profile_start "$SDATD_PID"
    fi
    if [ "$count" -eq "$last" ]; then
        still=$((still + 1))
        [ "$still" -lt 120 ] || die "no progress for 120 s at $count of $N incidents"
    else
        still=0 last=$count
    fi
done
cpu1=$(cpu_ticks) w1=$(now)
profile_stop
span=$(sql "$W/state/sdat.db" "SELECT min(updated_ms) || ' ' || max(updated_ms) FROM incidents")
first=${span% *} lastms=${span#* }
offsets=$("$SDAT_BUILD/bench/bench_offsets" "$BS" sdatd "$TOPIC" 60 || true)
at=$(echo "$offsets" | sed -n 's/.* at_ms \([0-9]*\)$/\1/p')
rss=$(rss_mib "$SDATD_PID")
dead=$(sql "$W/state/sdat.db" "SELECT count(*) FROM dead_letters")
notes=$(sql "$W/state/sdat.db" "SELECT count(*) FROM notifications")
stop_sdatd

rate=$(calc "($N - 1) * 1000 / ($lastms - $first)")
busy=$(calc "($cpu1 - $cpu0) / $hz / ($w1 - $w0)")
printf 'pipeline: sdatd          %8.0f incidents/s  (first to last stored: %.1f s)  target >= 20,000/s: %.3f x target\n' \
    "$rate" "$(calc "($lastms - $first) / 1000")" "$(calc "$rate / 20000")"
printf 'pipeline: jansson parse  %8.0f /s           sdatd / parse = %.4f  (aim >= 0.5)\n' \
    "$parse" "$(calc "$rate / $parse")"
printf 'pipeline: kcat -C -e     %8.0f /s           sdatd / kcat  = %.4f  (aim >= 0.25)\n' \
    "$kbest" "$(calc "$rate / $kbest")"
if [ -n "$at" ]; then
    echo "pipeline: every offset committed $(calc "$at - $lastms") ms after the last incident was stored"
else
    echo "pipeline: offsets: $offsets"
fi
printf 'pipeline: sdatd used %.2f CPU cores while consuming (user + system); RSS at the end %s\n' \
    "$busy" "$rss"
echo "pipeline: $notes notifications created, $dead dead letters"
result p1.incidents "$N"
result p1.size "$size"
result p1.partitions "$parts"
result p1.rate "$rate"
result p1.parse "$parse"
result p1.kcat "$kbest"
result p1.busy "$busy"
result p1.commit_ms "$( [ -n "$at" ] && calc "$at - $lastms" || echo '?')"
result p1.dead "$dead"

profile_report "$SDATD_PID" "$(calc "$w1 - $w0")"
