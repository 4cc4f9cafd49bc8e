#!/bin/sh
# make fuzz: runs each libFuzzer target for FUZZ_TIME seconds (default 60).
# The working corpus grows in BUILD/corpus/TARGET (the repository's seeds
# are read, never written); a crash leaves BUILD/artifacts/TARGET-crash-…
# and fails the run.
set -u
build=$1
shift
time=${FUZZ_TIME:-60}
failed=0
LSAN_OPTIONS="suppressions=$PWD/tests/fuzz/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export LSAN_OPTIONS
for target in "$@"; do
    case $target in
    config) seeds=tests/fuzz/seeds/config; extra="" ;;
    event-police.da-incident) seeds=tests/fuzz/seeds/police.da-incident; extra=tests/corpus/malformed ;;
    event-*) seeds=tests/fuzz/seeds/${target#event-}; extra="" ;;
    esac
    mkdir -p "$build/corpus/$target" "$build/artifacts"
    echo "== fuzz $target for ${time}s"
    # shellcheck disable=SC2086
    if "$build/fuzz/fuzz-$target" -max_total_time="$time" -max_len=65536 -timeout=10 \
        -rss_limit_mb=2048 -dict=tests/fuzz/json.dict -print_final_stats=1 \
        -artifact_prefix="$build/artifacts/$target-" \
        "$build/corpus/$target" "$seeds" $extra >"$build/fuzz-$target.log" 2>&1; then
        grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' "$build/fuzz-$target.log" |
            tr '\n' ' '
        echo "(corpus $(ls "$build/corpus/$target" | wc -l) inputs)"
    else
        tail -40 "$build/fuzz-$target.log"
        echo "fuzz $target: FAILED, see $build/fuzz-$target.log and $build/artifacts/" >&2
        failed=1
    fi
done
[ "$failed" -eq 0 ] && echo "fuzz: all targets ran ${time}s without a crash"
exit "$failed"
