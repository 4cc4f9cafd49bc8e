#!/bin/sh
# Routing against an independent oracle (issue 26, item 1):
# tests/oracle/route_ref.py computes flows.md §1's incident area and routing
# table from the spec's words; tests/oracle/route_cases.py generates
# thousands of cases (postcodes in districts and sectors, prefix traps like
# S4/S40, no area and the force's default, unknown forces, matched children
# of configured and unconfigured areas, spells current, ended, starting and
# ending on the report date, at schools in and out of the directory, dual
# registration, EHE, under five by a day either side of the fifth birthday
# and on 29 February, review and none); sdat_route_incident_area and
# sdat_route_child answer each through tests/helpers/route-drive, and every
# answer must be the oracle's.
. tests/integration/lib.sh

DRIVE="$SDAT_BUILD/tests/route-drive"

python3 tests/oracle/route_compare.py "$DRIVE" >"$T/compare.out" 2>&1
rc=$?
cat "$T/compare.out"
cases=$(sed -n 's/^# \([0-9]*\) cases .*/\1/p' "$T/compare.out")
check "the generated table has at least 5,000 cases (it has ${cases:-none})" \
    test "${cases:-0}" -ge 5000
check "sdat_route_incident_area and sdat_route_child agree with the oracle on every case" \
    test "$rc" -eq 0
echo "# done"
