#!/bin/sh
# Runs each tests/integration/test_*.sh against the built binaries in
# $SDAT_BUILD, twice: with every daemon logging at debug level in the text
# format, then in the JSON format (tests/integration/sdatd-wrapper.sh). Each
# test prints "ok NAME" / "not ok NAME" lines; after each pass the daemons'
# logs are scanned for personal data from the test data (quality.md S3).
# SDAT_IT_FORMATS narrows the passes ("text", "json"). One closing count
# line for the whole run.
: "${SDAT_BUILD:=build}"
: "${SDAT_IT_FORMATS:=text json}"
export SDAT_BUILD
passed=0
failed=0
out=$(mktemp)
for format in $SDAT_IT_FORMATS; do
    SDAT_IT_LOG_FORMAT=$format
    SDAT_IT_SCAN_DIR=$(mktemp -d /tmp/sdat-it-logs-XXXXXX)
    export SDAT_IT_LOG_FORMAT SDAT_IT_SCAN_DIR
    for t in tests/integration/test_*.sh; do
        echo "== $t (daemon logs: debug, $format)"
        sh "$t" | tee "$out"
        rc=$?
        p=$(grep -c '^ok ' "$out")
        f=$(grep -c '^not ok ' "$out")
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
    rm -rf "$SDAT_IT_SCAN_DIR"
done
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
