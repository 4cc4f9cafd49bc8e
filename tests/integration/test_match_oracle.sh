#!/bin/sh
# Matching's decision against an independent oracle (issue 26, item 1):
# tests/oracle/match_ref.py decides from flows.md §4 and docs/MATCHING.md's
# words (levels and weights, the identifier rule and its margin, the score
# rule's margin and margin by evidence, the agreement rule, the unplaced
# threshold, the sibling guard, age-only reviews); tests/oracle/
# match_cases.py generates thousands of small registers around a household
# (twins alike and unlike, triplets, like-named siblings, a cousin under
# the same roof, a namesake elsewhere, a twin living apart) and the
# officer's slips (nicknames, middle names, typos, a spelling near two
# names, the other twin's name or NHS number, swapped or missing dates of
# birth, ages a year or two out, no address) with thresholds and margins
# around their defaults; sdat_match_decide answers each through
# tests/helpers/match-drive, and every answer must be the oracle's.
. tests/integration/lib.sh

DRIVE="$SDAT_BUILD/tests/match-drive"

python3 tests/oracle/match_compare.py "$DRIVE" >"$T/compare.out" 2>&1
rc=$?
cat "$T/compare.out"
cases=$(sed -n 's/^# \([0-9]*\) cases .*/\1/p' "$T/compare.out")
check "the generated table has at least 5,000 cases (it has ${cases:-none})" \
    test "${cases:-0}" -ge 5000
check "sdat_match_decide agrees with the oracle on every case" test "$rc" -eq 0
echo "# done"
