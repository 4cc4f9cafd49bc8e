#!/bin/sh
# Runs each tests/integration/test_*.sh against the built binaries in
# $SDAT_BUILD, twice: with every daemon logging at debug level in the text
# format, then in the JSON format (tests/integration/sdatd-wrapper.sh). Each
# test prints "ok NAME" / "not ok NAME" lines; after each pass the daemons'
# logs are scanned for personal data from the test data (quality.md S3)
# and for sanitizer reports (make check-asan),
# and at the end the audit types found in the tests' stores are checked
# against interfaces.md's list.
# SDAT_IT_FORMATS narrows the passes ("text", "json"). One closing count
# line for the whole run: passed, failed and skipped (a line "skip: WHY",
# or "ok NAME # SKIP WHY", is neither a pass nor a failure, and each is
# listed again at the end so that it is seen). SDAT_IT_NO_SKIP=1 (CI's
# plain run, as root: every test can run there) makes any skip a failure.
: "${SDAT_BUILD:=build}"
: "${SDAT_IT_FORMATS:=text json}"
export SDAT_BUILD
passed=0
failed=0
skipped=0
skips=$(mktemp)
out=$(mktemp)
SDAT_IT_AUDIT_TYPES=$(mktemp)
export SDAT_IT_AUDIT_TYPES
for format in $SDAT_IT_FORMATS; do
    SDAT_IT_LOG_FORMAT=$format
    SDAT_IT_SCAN_DIR=$(mktemp -d /tmp/sdat-it-logs-XXXXXX)
    export SDAT_IT_LOG_FORMAT SDAT_IT_SCAN_DIR
    for t in tests/integration/test_*.sh; do
        echo "== $t (daemon logs: debug, $format)"
        sh "$t" | tee "$out"
        rc=$?
        p=$(grep '^ok ' "$out" | grep -vc ' # SKIP')
        f=$(grep -c '^not ok ' "$out")
        s=$(grep -E '^skip: |^ok .* # SKIP' "$out" | tee -a "$skips" | wc -l)
        skipped=$((skipped + s))
        passed=$((passed + p))
        failed=$((failed + f))
        if [ "$f" -eq 0 ] && ! tail -n 1 "$out" | grep -q '^# done'; then
            echo "not ok $t did not finish (exit $rc)"
            failed=$((failed + 1))
        fi
    done
    if python3 tests/integration/pii-scan.py "$SDAT_IT_SCAN_DIR"; then
        echo "ok no personal data in the daemons' $format logs at debug level"
        passed=$((passed + 1))
    else
        echo "not ok no personal data in the daemons' $format logs at debug level"
        failed=$((failed + 1))
    fi
    # Under make check-asan a sanitizer's report ends up in a daemon's log
    # (a daemon killed on purpose never reports, one that exits does).
    reports=$(grep -l -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' \
        "$SDAT_IT_SCAN_DIR"/*.log 2>/dev/null | wc -l)
    if [ "$reports" -eq 0 ]; then
        echo "ok no sanitizer report in the daemons' $format logs"
        passed=$((passed + 1))
    else
        echo "not ok no sanitizer report in the daemons' $format logs ($reports logs have one)"
        grep -h -A12 -E 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' "$SDAT_IT_SCAN_DIR"/*.log |
            head -n 60
        failed=$((failed + 1))
    fi
    rm -rf "$SDAT_IT_SCAN_DIR"
done
# Every audit type of interfaces.md is emitted by some test's daemon or
# sdatctl (issue 9): the types are collected from each test's stores.
missing=""
for type in event.accepted event.rejected event.stale event.duplicate child.out-of-scope \
    match.decided review.created review.decided notification.created notification.superseded \
    notification.cancelled delivery.attempted notification.delivered notification.failed \
    notification.escalated notification.acknowledged lookup.served register.changed dlq.replayed \
    notification.resent notification.redirected notification.withdrawn retention.pruned \
    config.loaded checkpoint; do
    grep -qx "$type" "$SDAT_IT_AUDIT_TYPES" || missing="$missing $type"
done
if [ -z "$missing" ]; then
    echo "ok the suite's audit logs hold every audit type of interfaces.md"
    passed=$((passed + 1))
else
    echo "not ok the suite's audit logs hold every audit type of interfaces.md (missing:$missing)"
    failed=$((failed + 1))
fi
if [ "$skipped" -gt 0 ]; then
    echo "# skipped:"
    sed 's/^/#   /' "$skips"
fi
if [ "$skipped" -gt 0 ] && [ "${SDAT_IT_NO_SKIP:-0}" = 1 ]; then
    echo "not ok no test skipped (SDAT_IT_NO_SKIP=1: this environment can run them all)"
    failed=$((failed + 1))
fi
rm -f "$out" "$SDAT_IT_AUDIT_TYPES" "$skips"
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
