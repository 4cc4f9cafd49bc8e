# Shared helpers for the integration tests (sourced by sh).
: "${SDAT_BUILD:=build}"
SDATD="$SDAT_BUILD/sdatd"
# Under tests/run-integration.sh: every daemon at debug level in the run's
# log format, its log kept for the personal-data scan.
if [ -n "${SDAT_IT_LOG_FORMAT:-}" ]; then
    SDATD="tests/integration/sdatd-wrapper.sh"
fi
SDATCTL="$SDAT_BUILD/sdatctl"
T=$(mktemp -d /tmp/sdat-it-XXXXXX)
PIDS=""

ok() { echo "ok $*"; }
notok() { echo "not ok $*"; }
# check NAME COMMAND...: runs the command, reports ok/not ok under NAME.
check() {
    name=$1
    shift
    if "$@"; then ok "$name"; else notok "$name"; fi
}

cleanup() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
    [ -n "${SDAT_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# wait_for SECONDS COMMAND...: polls until the command succeeds.
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

# start_broker: a standalone mock cluster; sets BS to its bootstrap address.
# Its standard input is a FIFO held open on fd 3, for fault commands.
start_broker() {
    mkfifo "$T/broker.in"
    exec 3<>"$T/broker.in"
    "$SDATCTL" broker "$@" <"$T/broker.in" >"$T/broker.out" 2>"$T/broker.err" &
    BROKER_PID=$!
    PIDS="$PIDS $BROKER_PID"
    wait_for 10 test -s "$T/broker.out" || { notok "broker started"; return 1; }
    BS=$(head -n 1 "$T/broker.out")
}

# start_sdatd CONFIG LOG: runs the daemon in the background; sets SDATD_PID.
start_sdatd() {
    "$SDATD" -c "$1" 2>>"$2" &
    SDATD_PID=$!
    PIDS="$PIDS $SDATD_PID"
}

# stop_sdatd: SIGTERM and wait; sets STOP_RC to the daemon's exit code.
stop_sdatd() {
    kill -TERM "$SDATD_PID"
    wait "$SDATD_PID"
    STOP_RC=$?
}
