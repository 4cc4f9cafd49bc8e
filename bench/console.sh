#!/bin/sh
# make bench, P7 (quality.md): console pages over loopback with the P2
# store (BENCH_CHILDREN children, BENCH_FLAGS flags) plus about
# BENCH_CONSOLE_NOTIFICATIONS notifications made over BENCH_CONSOLE_DAYS
# days, one logged-in session, wrk (BENCH_CONSOLE_WRK, default -t2 -c8
# -d10s; --latency always added) with the session's cookie:
#
#   today            GET /console/              (counts over every notification)
#   notifications    GET /console/notifications (the first 50, newest first)
#   one              GET /console/notifications/ID, ID cycling through
#                    BENCH_CONSOLE_IDS notifications (the first by id: a
#                    spread over the days) with bench/console.lua; each
#                    view appends its record.viewed audit record, which the
#                    page then lists, so one ID alone would time a page
#                    growing by thousands of rows
#
# and, in the same run with the same wrk command and the same ids, the
# API's own answer about the same notifications (GET /v1/notifications/ID,
# operator token): the reference. Figures and ratios are printed (and the
# p99 beside quality.md's 50 ms); nothing asserts a time.
#
# The notifications are made once and cached beside the register's store
# (bench/lib.sh) by bench_console_fill: gen.py's police incidents through
# the engine on a simulated clock spread over the days, delivered,
# failed, acknowledged and escalated through the store's and engine's
# own functions (see its head). The MASH and CP-IS recipients have
# ack_within = 1 day, so that "unacknowledged" means something.
#
#   BENCH_CONSOLE_NOTIFICATIONS (100000)  BENCH_CONSOLE_DAYS (30)
#   BENCH_CONSOLE_CHILDREN (BENCH_CHILDREN, 1000000): a smaller register to try it
#   BENCH_CONSOLE_WRK (-t2 -c8 -d10s)  BENCH_CONSOLE_IDS (5000)
#   BENCH_CONSOLE_PAGES (today notifications one api): which, in this order
set -eu
BENCH_NAME=console
# shellcheck disable=SC2034 # read by bench/lib.sh
[ -z "${BENCH_CONSOLE_CHILDREN:-}" ] || BENCH_CHILDREN=$BENCH_CONSOLE_CHILDREN
. bench/lib.sh
N=${BENCH_CONSOLE_NOTIFICATIONS:-100000}
DAYS=${BENCH_CONSOLE_DAYS:-30}
WRK_ARGS=${BENCH_CONSOLE_WRK:--t2 -c8 -d10s}
NIDS=${BENCH_CONSOLE_IDS:-5000}
PAGES=${BENCH_CONSOLE_PAGES:-today notifications one api}
FILL="$SDAT_BUILD/bench/bench_console_fill"
command -v wrk >/dev/null || die "wrk is not installed (sh scripts/deps.sh bench)"
[ -x "$FILL" ] || die "$FILL is not built (make BUILD=$SDAT_BUILD $FILL)"

# console_config FILE STATE_DIR BOOTSTRAP [HTTP_KEYS]: bench_config with
# acknowledgements due within a day at every recipient.
console_config() {
    bench_config "$1" "$2" "$3" "${4:-}"
    sed -i 's/kind = "\(mash\|cpis\)";/kind = "\1"; ack_within = 86400;/' "$1"
}

bench_data 175000
CSTORE="$STORE-console-n$N-d$DAYS"
if [ ! -e "$CSTORE/complete" ]; then
    echo "$BENCH_NAME: making $N notifications over $DAYS days in $CSTORE (once)" >&2
    rm -rf "$CSTORE.tmp"
    mkdir -p "$CSTORE.tmp"
    cp "$STORE/sdat.db" "$CSTORE.tmp/sdat.db"
    [ ! -s "$STORE/sdat.db-wal" ] || cp "$STORE/sdat.db-wal" "$CSTORE.tmp/sdat.db-wal"
    console_config "$W/fill.conf" "$CSTORE.tmp" "127.0.0.1:9"
    t0=$(now)
    "$FILL" "$W/fill.conf" "$DATA/police-p175000.jsonl" "$N" "$DAYS" >"$W/fill.out" ||
        die "bench_console_fill failed"
    t1=$(now)
    echo "$BENCH_NAME: $(cat "$W/fill.out") in $(printf %.0f "$(calc "$t1 - $t0")") s" >&2
    # As bench_data: a daemon that had run would have mirrored these.
    sqlite3 "$CSTORE.tmp/sdat.db" "DELETE FROM audit_unmirrored; PRAGMA wal_checkpoint(TRUNCATE);" \
        >/dev/null || die "cannot prepare the cached store"
    touch "$CSTORE.tmp/complete"
    rm -rf "$CSTORE"
    mv "$CSTORE.tmp" "$CSTORE"
fi
# Migrated once by this build, as bench_data does for the register's store.
console_config "$W/migrate.conf" "$CSTORE" "127.0.0.1:9"
"$SDATCTL" -c "$W/migrate.conf" import children /dev/null >/dev/null ||
    die "cannot open the cached store $CSTORE with this build"
sqlite3 "$CSTORE/sdat.db" "DELETE FROM audit_unmirrored; PRAGMA wal_checkpoint(TRUNCATE);" >/dev/null

TOKEN=bench-$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
digest=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
tokens="tokens = ( { name = \"bench-console\"; sha256 = \"$digest\"; roles = [ \"operator\" ]; } );"
bench_config "$W/broker.conf" "$W/broker-state" "127.0.0.1:9"
start_broker 4 "$W/broker.conf"
console_config "$W/sdatd.conf" "$W/state" "$BS" "$tokens"
STORE=$CSTORE
copy_store "$W/state"
DB="$W/state/sdat.db"
nchildren=$(sql "$DB" "SELECT count(*) FROM children")
nnotes=$(sql "$DB" "SELECT count(*) FROM notifications")
states=$(sql "$DB" "SELECT group_concat(state || ' ' || n, ', ') FROM
    (SELECT state, count(*) AS n FROM notifications GROUP BY state ORDER BY n DESC)")
span=$(sql "$DB" "SELECT printf('%.1f', (max(created_ms) - min(created_ms)) / 86400000.0)
    FROM notifications")
naudit=$(sql "$DB" "SELECT max(seq) FROM audit")
sql "$DB" "SELECT id FROM notifications ORDER BY id LIMIT $NIDS" >"$W/ids.txt"
ID=$(head -n 1 "$W/ids.txt")
start_sdatd "$W/sdatd.conf" "$W/sdatd.log"
wait_for 60 grep -qs 'http: listening' "$W/sdatd.log" || die "sdatd did not listen: $(tail -n 3 "$W/sdatd.log")"
PORT=$(http_port "$W/sdatd.log")
U="http://127.0.0.1:$PORT"
wait_for 30 curl -fs -o /dev/null "$U/healthz" || die "sdatd did not answer /healthz"

# One session: log in once, keep the cookie.
curl -s -o /dev/null -D "$W/login.h" --data-urlencode "name=Bench Operator" \
    --data-urlencode "token=$TOKEN" "$U/console/login"
COOKIE=$(sed -n 's/^[Ss]et-[Cc]ookie: *\(sdat_console=[^;]*\).*/\1/p' "$W/login.h" | tr -d '\r')
[ -n "$COOKIE" ] || die "the login set no cookie: $(head -n 1 "$W/login.h")"

# wrk_run NAME PATH HEADER: runs wrk on PATH, or with bench/console.lua on
# PATH followed by each id of ids.txt when PATH ends in "/ID"; prints req/s,
# p50 and p99 in ms, and the failed count (non-2xx answers and socket
# errors).
wrk_run() {
    first=$2
    case $2 in */ID) first=${2%ID}$ID ;; esac
    code=$(curl -s -o "$W/page-$1" -w '%{http_code}' -H "$3" "$U$first")
    [ "$code" = 200 ] || die "GET $first answered $code, not 200"
    case $2 in
    */ID)
        # shellcheck disable=SC2086
        BENCH_IDS_FILE="$W/ids.txt" BENCH_PREFIX=${2%ID} BENCH_HEADER=$3 \
            wrk $WRK_ARGS --latency -s bench/console.lua "$U/" >"$W/wrk-$1.out" 2>&1 ||
            die "wrk failed: $(tail -n 3 "$W/wrk-$1.out")"
        ;;
    *)
        # shellcheck disable=SC2086
        wrk $WRK_ARGS --latency -H "$3" "$U$2" >"$W/wrk-$1.out" 2>&1 ||
            die "wrk failed: $(tail -n 3 "$W/wrk-$1.out")"
        ;;
    esac
    awk '
        function ms(s,  v, u) { v = s; u = s; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
                                return v * (u == "us" ? 0.001 : u == "s" ? 1000 : u == "m" ? 60000 : 1) }
        /Requests\/sec:/ { rps = $2 }
        $1 == "50%" { p50 = ms($2) }
        $1 == "99%" { p99 = ms($2) }
        /Non-2xx or 3xx responses:/ { bad += $NF }
        /Socket errors:/ { for (i = 3; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) bad += $i }
        END { printf "%.0f %.2f %.2f %d\n", rps, p50, p99, bad }' "$W/wrk-$1.out"
}

echo "console: $nchildren children; $nnotes notifications created over $span days ($states);" \
    "$naudit audit records; wrk $WRK_ARGS --latency, one session; $(wc -l <"$W/ids.txt") ids"
profile_start "$SDATD_PID"
t0=$(now)
for name in $PAGES; do
    case $name in
    today) path=/console/ ;;
    notifications) path=/console/notifications ;;
    one) path=/console/notifications/ID ;;
    api) path=/v1/notifications/ID ;;
    *) die "BENCH_CONSOLE_PAGES: today, notifications, one, api" ;;
    esac
    header="Cookie: $COOKIE"
    [ "$name" != api ] || header="Authorization: Bearer $TOKEN"
    # shellcheck disable=SC2046
    set -- $(wrk_run "$name" "$path" "$header")
    [ $# -eq 4 ] || die "wrk against $path failed: $(tail -n 3 "$W/wrk-$name.out")"
    eval "rps_$name=$1 p50_$name=$2 p99_$name=$3 bad_$name=$4"
    size=$(wc -c <"$W/page-$name")
    case $name in
    api) what="API  GET /v1/notifications/ID (reference, JSON)" verdict="" ;;
    *)
        what="P7   GET $path ($name)"
        verdict=$(awk -v p="$3" -v b="$4" 'BEGIN { print p <= 50 && b == 0 ? "PASS" : "MISS" }')
        verdict="  p99 <= 50 ms: $verdict"
        ;;
    esac
    printf 'console: %-52s %7.0f req/s, p50 %6.2f ms, p99 %6.2f ms, %d failed, %d bytes%s\n' \
        "$what" "$1" "$2" "$3" "$4" "$size" "$verdict"
    result "p7.$name.rps" "$1"
    result "p7.$name.p50" "$2"
    result "p7.$name.p99" "$3"
    result "p7.$name.failed" "$4"
done
t1=$(now)
profile_stop
# shellcheck disable=SC2154 # set by eval above
[ -z "${rps_one:-}" ] || [ -z "${rps_api:-}" ] || printf 'console: the notification page / the API on the same ids: %.3f × its req/s, %.2f × its p50, %.2f × its p99\n' \
    "$(calc "$rps_one / $rps_api")" "$(calc "$p50_one / $p50_api")" "$(calc "$p99_one / $p99_api")"
[ -z "${rps_one:-}" ] || [ -z "${rps_api:-}" ] || result p7.api_ratio "$(calc "$rps_one / $rps_api")"
viewed=$(sql "$DB" "SELECT count(*) FROM audit WHERE type = 'record.viewed'")
echo "console: $viewed record.viewed audit records written by the run; sdatd's resident memory $(rss_mib "$SDATD_PID")"
stop_sdatd
result p7.children "$nchildren"
result p7.notifications "$nnotes"
result p7.days "$span"
result p7.wrk "$WRK_ARGS --latency"
profile_report "$SDATD_PID" "$(calc "$t1 - $t0")"
