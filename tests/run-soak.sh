#!/bin/sh
# make soak (quality.md R1, R2 at full length): tests/integration/test_crash.sh
# with SDAT_KILLS kill -9 (default 24) while incidents flow, and
# tests/integration/test_faults.sh with the broker down for SDAT_DOWN_SECONDS
# (default 30). The daemons log at debug level in the text format through
# tests/integration/sdatd-wrapper.sh and their logs are scanned for personal
# data, as in make check. Prints each test's counts; exit 1 on any "not ok"
# or a test that did not finish.
: "${SDAT_BUILD:=build}"
: "${SDAT_KILLS:=24}"
: "${SDAT_DOWN_SECONDS:=30}"
SDAT_IT_LOG_FORMAT=text
SDAT_IT_SCAN_DIR=$(mktemp -d /tmp/sdat-soak-logs-XXXXXX)
export SDAT_BUILD SDAT_KILLS SDAT_DOWN_SECONDS SDAT_IT_LOG_FORMAT SDAT_IT_SCAN_DIR
if [ "$SDAT_KILLS" -lt 20 ]; then
    echo "make soak: SDAT_KILLS=$SDAT_KILLS; R1 asks for at least 20 kills" >&2
    exit 2
fi
passed=0
failed=0
out=$(mktemp)
for t in tests/integration/test_crash.sh tests/integration/test_faults.sh; do
    echo "== $t (kills $SDAT_KILLS, broker down $SDAT_DOWN_SECONDS s)"
    sh "$t" | tee "$out"
    p=$(grep -c '^ok ' "$out")
    f=$(grep -c '^not ok ' "$out")
    passed=$((passed + p))
    failed=$((failed + f))
    if [ "$f" -eq 0 ] && ! tail -n 1 "$out" | grep -q '^# done'; then
        echo "not ok $t did not finish"
        failed=$((failed + 1))
    fi
done
if python3 tests/integration/pii-scan.py "$SDAT_IT_SCAN_DIR"; then
    echo "ok no personal data in the daemons' logs at debug level"
    passed=$((passed + 1))
else
    echo "not ok no personal data in the daemons' logs at debug level"
    failed=$((failed + 1))
fi
rm -rf "$SDAT_IT_SCAN_DIR" "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
