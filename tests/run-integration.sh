#!/bin/sh
# Runs each tests/integration/test_*.sh against the built binaries in
# $SDAT_BUILD; each prints "ok NAME" / "not ok NAME" lines. One closing
# count line for the whole run.
: "${SDAT_BUILD:=build}"
export SDAT_BUILD
passed=0
failed=0
out=$(mktemp)
for t in tests/integration/test_*.sh; do
    echo "== $t"
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
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
