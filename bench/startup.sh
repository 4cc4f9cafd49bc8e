#!/bin/sh
# make bench, P5 (quality.md):
#  1. `sdatctl import children` of the BENCH_CHILDREN-child register
#     (bench/synth/gen.py, seed BENCH_SEED) into an empty store, timed;
#  2. sdatd started on a copy of the cached store (those children and
#     BENCH_FLAGS CP-IS flags): the time from exec to "main: running" in its
#     log (the store open, the schemas, nicknames, Kafka clients and the
#     HTTP API set up, and the register index loaded: sdatd logs its time),
#     and apart from it the time until /readyz answers
#     200 (the register topics read and the consumer group joined: the mock
#     broker delays a group's first join by about 3 s);
#  3. its resident memory (VmRSS) once ready, and 5 s later;
#  4. the audit mirror's backlog after the import of step 1: sdatd is
#     started on that store for BENCH_P5_MIRROR_SECONDS (20; 0 skips) and the
#     rate at which it sends the import's register.changed records to the
#     audit topic is printed.
set -eu
BENCH_NAME=startup
. bench/lib.sh
MIRROR_SECONDS=${BENCH_P5_MIRROR_SECONDS:-20}

bench_data 175000
bench_config "$W/broker.conf" "$W/broker-state" "127.0.0.1:9"
start_broker 4 "$W/broker.conf"

# 1. The import, into an empty store.
bench_config "$W/import.conf" "$W/import" "$BS"
n=$(wc -l <"$DATA/register.jsonl")
t0=$(now)
"$SDATCTL" -c "$W/import.conf" import children "$DATA/register.jsonl" >"$W/import.out" ||
    die "sdatctl import children failed: $(tail -n 3 "$W/import.out")"
t1=$(now)
import_s=$(calc "$t1 - $t0")
printf 'startup: sdatctl import children: %d records in %.1f s, %.0f records/s   target <= 60 s: %s (%.2f x the limit)\n' \
    "$n" "$import_s" "$(calc "$n / $import_s")" \
    "$(awk -v s="$import_s" 'BEGIN { print s <= 60 ? "met" : "missed" }')" "$(calc "$import_s / 60")"
result p5.import_records "$n"
result p5.import_s "$import_s"

# 2. and 3. Start on the cached store.
bench_config "$W/sdatd.conf" "$W/state" "$BS"
copy_store "$W/state"
# ms since the epoch of a log line's timestamp (2026-11-25T16:20:53.345Z).
log_ms() {
    date -u -d "$(sed -n "/$1/{s/^\([^ ]*\) .*/\1/p;q}" "$W/sdatd.log")" +%s%3N
}
start_sdatd "$W/sdatd.conf" "$W/sdatd.log"
exec_ms=$(calc "int($SDATD_STARTED * 1000)")
wait_for 60 grep -qs 'main: running' "$W/sdatd.log" || die "sdatd did not start: $(tail -n 3 "$W/sdatd.log")"
running_ms=$(log_ms 'main: running')
PORT=$(http_port "$W/sdatd.log")
wait_for 60 curl -fs -o /dev/null "http://127.0.0.1:$PORT/readyz" ||
    die "not ready after 60 s: $(curl -s "http://127.0.0.1:$PORT/readyz")"
ready=$(now)
rss_ready=$(rss_mib "$SDATD_PID")
rss_kib=$(awk '/^VmRSS/ { print $2 }' "/proc/$SDATD_PID/status")
sleep 5
rss_later=$(rss_mib "$SDATD_PID")
stop_sdatd
started_s=$(calc "($running_ms - $exec_ms) / 1000")
ready_s=$(calc "$ready - $SDATD_STARTED")
printf 'startup: sdatd start to "running" (store open, everything set up): %.3f s   target <= 3 s: %s\n' \
    "$started_s" "$(awk -v s="$started_s" 'BEGIN { print s <= 3 ? "met" : "missed" }')"
printf 'startup: start to /readyz 200 (register topics read, group joined): %.1f s (reported apart)\n' \
    "$ready_s"
printf 'startup: resident memory once ready: %s; 5 s later: %s   target <= 512 MiB: %s\n' \
    "$rss_ready" "$rss_later" "$(awk -v k="$rss_kib" 'BEGIN { print k <= 512 * 1024 ? "met" : "missed" }')"
result p5.start_s "$started_s"
result p5.ready_s "$ready_s"
result p5.rss_mib "$(calc "int($rss_kib / 1024)")"

# 4. The audit mirror after an import.
if [ "$MIRROR_SECONDS" -gt 0 ]; then
    backlog=$(sql "$W/import/sdat.db" "SELECT count(*) FROM audit_unmirrored")
    start_sdatd "$W/import.conf" "$W/import.log"
    wait_for 60 grep -qs 'main: running' "$W/import.log" || die "sdatd did not start on the imported store"
    t0=$(now)
    sleep "$MIRROR_SECONDS"
    left=$(sql "$W/import/sdat.db" "SELECT count(*) FROM audit_unmirrored")
    t1=$(now)
    stop_sdatd
    rate=$(calc "($backlog - $left) / ($t1 - $t0)")
    printf 'startup: after the import, the audit mirror sent %d of %d register.changed records in %.0f s: %.0f/s (all of them: about %.0f s)\n' \
        "$((backlog - left))" "$backlog" "$(calc "$t1 - $t0")" "$rate" \
        "$(calc "$rate > 0 ? $backlog / $rate : 0")"
    result p5.mirror_rate "$rate"
fi
