#!/bin/sh
# make check-rules: the shipped alert rules parse (promtool check rules),
# fire and stay quiet as their unit tests say (promtool test rules), and
# name only metrics the daemon exports (daemon/util/metrics.c).
set -u
rc=0
promtool check rules config/sdat.rules.yml || rc=1
promtool test rules tests/prometheus/sdat.rules.test.yml || rc=1
for m in $(grep -oE 'sdat_[a-z_]+' config/sdat.rules.yml | sort -u); do
    grep -q "\"$m\"" daemon/util/metrics.c || { echo "check-rules: $m is not a metric sdatd exports" >&2; rc=1; }
done
[ "$rc" -eq 0 ] && echo "check-rules: ok"
exit "$rc"
