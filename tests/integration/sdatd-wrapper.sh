#!/bin/sh
# The integration suite's sdatd (lib.sh sets SDATD to this script when
# SDAT_IT_LOG_FORMAT is set, as tests/run-integration.sh does): the real
# daemon at --log-level debug in SDAT_IT_LOG_FORMAT (text or json). Its
# standard error goes through logview.py, which keeps the raw lines in
# SDAT_IT_SCAN_DIR for the personal-data scan and gives the test the text
# form either way. Signals are passed on; the exit code is the daemon's.
real="${SDAT_BUILD:-build}/sdatd"
for a in "$@"; do
    case "$a" in
    -t | -V | -h | --help) exec "$real" "$@" ;;
    esac
done
fifo=$(mktemp -u /tmp/sdatd-log-XXXXXX)
mkfifo "$fifo"
python3 tests/integration/logview.py "$SDAT_IT_LOG_FORMAT" "$SDAT_IT_SCAN_DIR/sdatd.$$.log" <"$fifo" >&2 &
viewer=$!
"$real" --log-level debug --log-format "$SDAT_IT_LOG_FORMAT" "$@" 2>"$fifo" &
child=$!
trap 'kill -HUP $child 2>/dev/null' HUP
trap 'kill -TERM $child 2>/dev/null' TERM
trap 'kill -INT $child 2>/dev/null' INT
while :; do
    wait "$child"
    rc=$?
    kill -0 "$child" 2>/dev/null || break # a trapped signal ended the wait, not the daemon
done
wait "$viewer"
rm -f "$fifo"
exit "$rc"
