#!/bin/sh
# Replays every fuzz seed (tests/fuzz/seeds/TARGET/) and, for each event
# target, the malformed corpus of its topic, through the fuzz targets' entry
# points built with a plain driver. A crash, abort or sanitizer report fails make check.
set -eu
bin=$1
total=0
for seeds in tests/fuzz/seeds/*/; do
    name=$(basename "$seeds")
    case $name in
    config) target=config ;;
    *) target=event-$name ;;
    esac
    set -- "$seeds"*
    case $name in
    police.da-incident) set -- "$@" tests/corpus/malformed/* tests/corpus/valid-incident.json ;;
    health.attendance) set -- "$@" tests/corpus/malformed-topics/health.attendances/* ;;
    council.child) set -- "$@" tests/corpus/malformed-topics/council.children/* ;;
    council.cpis-flag) set -- "$@" tests/corpus/malformed-topics/council.cpis-flags/* ;;
    esac
    if ! out=$("$bin/replay-$target" "$@" 2>&1); then
        printf '%s\n' "$out" >&2
        echo "fuzz seeds: replay-$target failed" >&2
        exit 1
    fi
    total=$((total + $#))
done
echo "fuzz seeds: $total inputs replayed through $(ls tests/fuzz/seeds | wc -l) targets, no crash"
