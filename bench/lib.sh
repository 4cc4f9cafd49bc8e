# Shared by bench/pipeline.sh, lookup.sh, attendance.sh and startup.sh
# (sourced by sh). The data all comes from bench/synth/gen.py; the store
# with its register (BENCH_CHILDREN children, BENCH_FLAGS CP-IS flags) is
# imported once and kept under $SDAT_BUILD/bench-cache, keyed on the seed
# and sizes, so that a second run starts at once.
: "${SDAT_BUILD:=build}"
: "${BENCH_SEED:=3}"
: "${BENCH_CHILDREN:=1000000}"
: "${BENCH_FLAGS:=100000}"
: "${BENCH_CACHE:=$SDAT_BUILD/bench-cache}"
: "${PYTHON:=python3}"
SDATD="$SDAT_BUILD/sdatd"
SDATCTL="$SDAT_BUILD/sdatctl"
W=$(mktemp -d "${TMPDIR:-/tmp}/sdat-bench-XXXXXX")
PIDS=""

bench_cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "${BENCH_KEEP:-}" ] || rm -rf "$W"
}
trap bench_cleanup EXIT
trap 'exit 1' INT TERM HUP PIPE

die() {
    echo "$BENCH_NAME: $*" >&2
    exit 1
}
now() { date +%s.%N; }
# wait_for SECONDS COMMAND...: polls every 0.1 s until the command succeeds.
wait_for() {
    limit=$1
    shift
    i=0
    while [ "$i" -lt $((limit * 10)) ]; do
        if "$@"; then return 0; fi
        sleep 0.1
        i=$((i + 1))
    done
    return 1
}
# calc EXPR: awk arithmetic, printed in full (never in e-notation).
calc() {
    awk "BEGIN { x = ($1); if (x == int(x)) printf \"%.0f\\n\", x; else printf \"%.6f\\n\", x }"
}
# result KEY VALUE: one figure for bench/all.sh's summary and docs/PERFORMANCE.md.
result() {
    [ -z "${BENCH_RESULTS:-}" ] || printf '%s\t%s\n' "$1" "$2" >>"$BENCH_RESULTS"
}
# sql DB QUERY: a read beside the running daemon (WAL).
sql() { sqlite3 -readonly "$1" "$2"; }
# rss_mib PID: resident memory now, and its anonymous and file parts.
rss_mib() {
    awk '/^VmRSS|^RssAnon|^RssFile/ { v[$1] = $2 } END {
        printf "%.0f MiB (anonymous %.0f, file-backed %.0f)", v["VmRSS:"] / 1024,
            v["RssAnon:"] / 1024, v["RssFile:"] / 1024 }' "/proc/$1/status"
}

# bench_config FILE STATE_DIR BOOTSTRAP [HTTP_KEYS] [KAFKA_KEYS]: a daemon
# configuration for the synthetic data: the register's authority (831, every
# DE district) and the flags' second one (830), each with a MASH and a CP-IS
# recipient on the connector BENCH_CONNECTOR: kafka (topic sdat.bench-out,
# the default) or file (STATE_DIR/../spool). The HTTP API listens on a
# port of the system's choosing (http_port reads it from the log).
bench_config() {
    mkdir -p "$2"
    case ${BENCH_CONNECTOR:-kafka} in
    kafka) out='connector = "kafka"; topic = "sdat.bench-out";' ;;
    file)
        mkdir -p "$2/../spool"
        out="connector = \"file\"; directory = \"$2/../spool\";"
        ;;
    *) die "BENCH_CONNECTOR: kafka or file" ;;
    esac
    cat >"$1" <<CONF
state_dir = "$2";
instance_id = "bench";
log_level = "info";
kafka = { bootstrap_servers = "$3"; ${5:-} };
http = { listen = "127.0.0.1:0"; ${4:-} };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Bench City"; postcode_districts = [ "DE" ];
            mash = "la:831:mash"; cpis = "la:831:cpis"; },
          { la_code = "830"; name = "Bench Shire"; mash = "la:830:mash"; cpis = "la:830:cpis"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Bench City MASH";
    $out },
  { id = "la:831:cpis"; kind = "cpis"; la_code = "831"; name = "Bench City CP-IS";
    $out },
  { id = "la:830:mash"; kind = "mash"; la_code = "830"; name = "Bench Shire MASH";
    $out },
  { id = "la:830:cpis"; kind = "cpis"; la_code = "830"; name = "Bench Shire CP-IS";
    $out } );
CONF
}

# start_broker PARTITIONS CONFIG: a standalone mock cluster with every
# configured topic and sdat.bench-out at PARTITIONS partitions; sets BS.
# Its standard input is a FIFO that only this shell holds open (fd 3), so
# that the broker ends with the shell however the shell ends.
start_broker() {
    mkfifo "$W/broker.in"
    exec 3<>"$W/broker.in"
    "$SDATCTL" -c "$2" broker --partitions "$1" --topic sdat.bench-out <"$W/broker.in" \
        >"$W/broker.out" 2>"$W/broker.err" 3>&- &
    BROKER_PID=$!
    PIDS="$PIDS $BROKER_PID"
    wait_for 10 test -s "$W/broker.out" || die "the broker did not start"
    # shellcheck disable=SC2034 # read by the scripts that source this file
    BS=$(head -n 1 "$W/broker.out")
}

# start_sdatd CONFIG LOG: sets SDATD_PID and SDATD_STARTED (date +%s.%N).
start_sdatd() {
    # shellcheck disable=SC2034 # read by the scripts that source this file
    SDATD_STARTED=$(now)
    "$SDATD" -c "$1" 2>>"$2" 3>&- &
    SDATD_PID=$!
    PIDS="$PIDS $SDATD_PID"
}
stop_sdatd() {
    kill -TERM "$SDATD_PID" 2>/dev/null || true
    wait "$SDATD_PID" 2>/dev/null || true
}
# http_port LOG: the port the daemon logged it listens on.
http_port() {
    sed -n 's/.*http: listening on .* port=\([0-9]*\).*/\1/p' "$1" | tail -n 1
}

# bench_data POLICE: the synthetic set in $BENCH_CACHE/sSEED-cCHILDREN/
# (register.jsonl, flags-fFLAGS.jsonl, police-pPOLICE.jsonl from one gen.py
# run: the register is the same for any POLICE) and the imported store
# (children and flags) in its store-fFLAGS/; sets DATA and STORE. The
# import's register.changed audit records are marked as mirrored, as a
# daemon that has run since the import would have left them, so that no
# benchmark also times the mirroring of a million audit records.
bench_data() {
    DATA="$BENCH_CACHE/s$BENCH_SEED-c$BENCH_CHILDREN"
    STORE="$DATA/store-f$BENCH_FLAGS"
    police=$1
    mkdir -p "$DATA"
    if [ ! -s "$DATA/register.jsonl" ] || [ ! -s "$DATA/police-p$police.jsonl" ] ||
        [ ! -s "$DATA/flags-f$BENCH_FLAGS.jsonl" ]; then
        echo "$BENCH_NAME: generating the synthetic set (seed $BENCH_SEED, $BENCH_CHILDREN children," \
            "$police incidents, $BENCH_FLAGS flags) in $DATA" >&2
        rm -rf "$DATA/gen.tmp"
        "$PYTHON" bench/synth/gen.py --seed "$BENCH_SEED" --children "$BENCH_CHILDREN" \
            --police "$police" --flags "$BENCH_FLAGS" --out "$DATA/gen.tmp" ||
            die "bench/synth/gen.py failed"
        [ -s "$DATA/register.jsonl" ] || mv "$DATA/gen.tmp/register.jsonl" "$DATA/register.jsonl"
        mv "$DATA/gen.tmp/police.jsonl" "$DATA/police-p$police.jsonl"
        [ -s "$DATA/flags-f$BENCH_FLAGS.jsonl" ] ||
            mv "$DATA/gen.tmp/flags.jsonl" "$DATA/flags-f$BENCH_FLAGS.jsonl"
        rm -rf "$DATA/gen.tmp"
    fi
    if [ ! -e "$STORE/complete" ]; then
        echo "$BENCH_NAME: importing the register into $STORE (once)" >&2
        rm -rf "$STORE.tmp"
        bench_config "$W/import.conf" "$STORE.tmp" "127.0.0.1:9"
        t0=$(now)
        "$SDATCTL" -c "$W/import.conf" import children "$DATA/register.jsonl" >/dev/null ||
            die "sdatctl import children failed"
        t1=$(now)
        "$SDATCTL" -c "$W/import.conf" import flags "$DATA/flags-f$BENCH_FLAGS.jsonl" >/dev/null ||
            die "sdatctl import flags failed"
        sqlite3 "$STORE.tmp/sdat.db" "DELETE FROM audit_unmirrored; PRAGMA wal_checkpoint(TRUNCATE);" \
            >/dev/null || die "cannot prepare the cached store"
        calc "$t1 - $t0" >"$STORE.tmp/import-children-seconds"
        touch "$STORE.tmp/complete"
        rm -rf "$STORE"
        mv "$STORE.tmp" "$STORE"
    fi
    # A store cached by an older build: migrated once here (an import of
    # nothing opens it as its writer), so that no benchmark times a
    # migration; a migration's own audit backlog is cleared as above.
    bench_config "$W/migrate.conf" "$STORE" "127.0.0.1:9"
    "$SDATCTL" -c "$W/migrate.conf" import children /dev/null >/dev/null ||
        die "cannot open the cached store $STORE with this build"
    if [ "$(sqlite3 "$STORE/sdat.db" "SELECT count(*) FROM audit_unmirrored")" -gt 0 ]; then
        sqlite3 "$STORE/sdat.db" "DELETE FROM audit_unmirrored; PRAGMA wal_checkpoint(TRUNCATE);" \
            >/dev/null
    fi
}

# copy_store STATE_DIR: a private copy of the cached store to run a daemon
# on, written out to the disk before the daemon starts: otherwise the
# daemon's first checkpoint fsync flushes the copy's 1.7 GB of dirty pages
# and one request or batch waits half a second for cp, not for sdatd.
copy_store() {
    mkdir -p "$1"
    cp "$STORE/sdat.db" "$1/sdat.db"
    [ ! -s "$STORE/sdat.db-wal" ] || cp "$STORE/sdat.db-wal" "$1/sdat.db-wal"
    sync "$1"/sdat.db*
}

# profile_start PID, profile_stop, profile_report PID SECONDS: with
# BENCH_PROFILE=cpu (or 1), a CPU profile of the process (perf record, DWARF
# call graphs): self time by library and by function, then sdatd's
# functions inclusive of their callees; with BENCH_PROFILE=trace, the system
# calls of its main thread by total time (perf trace -s): where it waits.
PERF_PID=
profile_start() {
    case ${BENCH_PROFILE:-} in
    1 | cpu) perf record -F 199 --call-graph dwarf,16384 -p "$1" -o "$W/perf.data" 2>"$W/perf.err" 3>&- & ;;
    trace) perf trace -s -p "$1" -o "$W/perf.trace" 2>"$W/perf.err" 3>&- & ;;
    '') return 0 ;;
    *) die "BENCH_PROFILE: cpu or trace" ;;
    esac
    PERF_PID=$!
    PIDS="$PIDS $PERF_PID"
}
profile_stop() {
    [ -n "$PERF_PID" ] || return 0
    kill -INT "$PERF_PID" 2>/dev/null || true
    wait "$PERF_PID" 2>/dev/null || true
}
profile_report() {
    p="$BENCH_NAME:  "
    pct='^ +[0-9.]+%'
    case ${BENCH_PROFILE:-} in
    1 | cpu)
        echo "$BENCH_NAME: CPU profile of sdatd (perf record, cpu-clock, every thread), self time by library:"
        perf report -i "$W/perf.data" --stdio --no-children --sort dso -g none 2>/dev/null |
            grep -E "$pct" | head -n 8 | sed "s/^/$p/"
        echo "$BENCH_NAME: self time by function:"
        perf report -i "$W/perf.data" --stdio --no-children --sort dso,symbol -g none 2>/dev/null |
            grep -E "$pct" | head -n 20 | sed "s/ *- *- *\$//; s/^/$p/"
        echo "$BENCH_NAME: inclusive of callees (sdatd's functions, and where the libraries are entered):"
        perf report -i "$W/perf.data" --stdio --children --sort symbol -g none 2>/dev/null |
            grep -E "$pct" |
            grep -E 'sdat_|handle_message|update_gauges|run_lookup|sqlite3_step|json_loadb|regexec|fdatasync' |
            head -n 30 | sed "s/ *- *- *\$//; s/^/$p/"
        ;;
    trace)
        echo "$BENCH_NAME: sdatd's main thread, system calls by total time over $(printf %.1f "$2") s" \
            "(perf trace -s: calls, errors, total ms, min, avg, max, stddev):"
        awk -v tid="$1" '
            /^ [^ ].* \([0-9]+\), [0-9]+ events/ { on = index($0, "(" tid ")") > 0; next }
            on && /^   [a-z_0-9]+ +[0-9]+ / { print }' "$W/perf.trace" |
            sort -k4 -n -r | head -n 8 | sed "s/^/$p/"
        ;;
    esac
}
