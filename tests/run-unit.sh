#!/bin/sh
# Runs each Criterion unit-test binary; prints one closing count line.
passed=0
failed=0
for t in "$@"; do
    if "$t" --jobs 1; then
        passed=$((passed + 1))
    else
        echo "FAILED: $t" >&2
        failed=$((failed + 1))
    fi
done
echo "unit suites: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
