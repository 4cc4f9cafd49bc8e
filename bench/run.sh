#!/bin/sh
# make bench: runs each benchmark program in turn and prints its figures,
# headed by the date and the machine, for the record in docs/BENCHMARKS.md.
set -eu
echo "bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, $(uname -m), $(cc --version | head -1)"
for b in "$@"; do
    echo "== $(basename "$b")"
    "$b"
done
