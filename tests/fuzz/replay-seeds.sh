#!/bin/sh
# Replays every fuzz seed (tests/fuzz/seeds/TARGET/) and, for the police
# target, the malformed corpus through the fuzz targets' entry points built
# with a plain driver. A crash, abort or sanitizer report fails make check.
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
    [ "$name" = police.da-incident ] && set -- "$@" tests/corpus/malformed/* tests/corpus/valid-incident.json
    if ! out=$("$bin/replay-$target" "$@" 2>&1); then
        printf '%s\n' "$out" >&2
        echo "fuzz seeds: replay-$target failed" >&2
        exit 1
    fi
    total=$((total + $#))
done
echo "fuzz seeds: $total inputs replayed through $(ls tests/fuzz/seeds | wc -l) targets, no crash"
