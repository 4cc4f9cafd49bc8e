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
    # Under tests/run-integration.sh: the audit types this test's stores
    # hold, for the check that the suite emits every type of interfaces.md.
    if [ -n "${SDAT_IT_AUDIT_TYPES:-}" ]; then
        find "$T" -name sdat.db 2>/dev/null | while read -r db; do
            sqlite3 "file:$db?mode=ro" "SELECT DISTINCT type FROM audit" 2>/dev/null
        done >>"$SDAT_IT_AUDIT_TYPES"
    fi
    [ -n "${SDAT_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT

# wait_for SECONDS COMMAND...: polls until the command succeeds. A check that
# something did NOT happen first waits this way for a later positive event
# (a marker processed after the event that must cause nothing, or the store
# state committed with it), never for a fixed sleep; a comment says why the
# marker comes after.
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

# sdatd_pid: the daemon's own process id: under sdatd-wrapper.sh the
# wrapper's sdatd child (a kill -9 must reach the daemon, not the wrapper),
# else SDATD_PID. Empty until the wrapper has started it.
sdatd_pid() {
    if [ "$SDATD" = "tests/integration/sdatd-wrapper.sh" ]; then
        ps -o pid= -o comm= --ppid "$SDATD_PID" 2>/dev/null | awk '$2 == "sdatd" { print $1 }'
    else
        echo "$SDATD_PID"
    fi
}

# kill9_sdatd: SIGKILL to the daemon itself at this moment, then wait for
# it (and its wrapper); sets STOP_RC.
sdatd_has_pid() { [ -n "$(sdatd_pid)" ]; }
kill9_sdatd() {
    wait_for 10 sdatd_has_pid || true
    kill -KILL "$(sdatd_pid)" 2>/dev/null
    wait "$SDATD_PID"
    STOP_RC=$?
}
