#!/bin/sh
# The school schedule against an independent oracle (issue 26, item 1):
# tests/oracle/schedule_ref.py computes flows.md §3 from the spec's words;
# tests/oracle/schedule_cases.py generates thousands of cases (weekends,
# terms, closures with the report time on the closure day itself, release
# and close times, London's DST changes with report times in the skipped and
# repeated hours, every boundary minute, the 60-day horizon and the end of
# the last term); sdat_schedule_school answers each through
# tests/helpers/schedule-drive, and every answer must be the oracle's. A
# sample of the same cases goes through sdatctl schedule with a generated
# configuration, so the harness's calendars are the configuration's.
. tests/integration/lib.sh

DRIVE="$SDAT_BUILD/tests/schedule-drive"

python3 tests/oracle/schedule_compare.py "$DRIVE" --sdatctl-sample "$T" >"$T/compare.out" 2>&1
rc=$?
cat "$T/compare.out"
cases=$(sed -n 's/^# \([0-9]*\) cases .*/\1/p' "$T/compare.out")
check "the generated table has at least 5,000 cases (it has ${cases:-none})" \
    test "${cases:-0}" -ge 5000
check "sdat_schedule_school agrees with the oracle on every generated case" test "$rc" -eq 0

# The same cases through sdatctl schedule: one school per sampled calendar.
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-schedule-oracle";
kafka = { bootstrap_servers = "127.0.0.1:9"; group_id = "sdatd-it-schedule-oracle"; };
http = { listen = "127.0.0.1:0"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ];
            mash = "la:831:mash"; education_safeguarding = "la:831:edsg"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
CONF
cat "$T/calendars.conf" >>"$T/sdatd.conf"
cat >>"$T/sdatd.conf" <<CONF
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:edsg"; kind = "education_safeguarding"; la_code = "831"; name = "Test EdSG";
    connector = "file"; directory = "$T/spool"; }
);
CONF
check "sdatd -t accepts the sampled calendars" "$SDATD" -t -c "$T/sdatd.conf"
n=0
same=0
while read -r recipient at want_time want_flag; do
    want=$want_time${want_flag:+ $want_flag}
    got=$("$SDATCTL" -c "$T/sdatd.conf" schedule --recipient "$recipient" --at "$at" 2>&1)
    n=$((n + 1))
    if [ "$got" = "$want" ]; then
        same=$((same + 1))
    elif [ $((n - same)) -le 5 ]; then
        echo "# sdatctl schedule --recipient $recipient --at $at: $got; oracle: $want"
    fi
done <"$T/sample.txt"
check "sdatctl schedule gives the oracle's answer on each of $n sampled cases" \
    test "$n" -ge 20 -a "$same" -eq "$n"
echo "# done"
