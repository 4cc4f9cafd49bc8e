#!/bin/sh
# School calendars end to end: an incident reported on a closure day is held
# for the school's next school day while one reported during a past school
# day is delivered at once; an amendment supersedes the held notification on
# its schedule; SIGHUP reloads the directory without losing the held one and
# a bad directory is refused with the reason; an exhausted calendar goes to
# education safeguarding at once; sdatctl schedule's answers and exit codes.
. tests/integration/lib.sh

start_broker --partitions 2 --topic police.da-incidents --topic sdat.dlq || exit 1

# The calendar is generated around today: one term from 30 days ago to 120
# days ahead, Monday to Friday, today a closure.
python3 - "$T" <<'PY'
import datetime, sys
t = sys.argv[1]
now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
today = now.date()
last = today - datetime.timedelta(days=1)
while last.weekday() >= 5:
    last -= datetime.timedelta(days=1)
d = datetime.timedelta
open(t + "/dates", "w").write("TODAY=%s\nFIRST=%s\nLAST=%s\nNOW=%s\nPAST=%sT10:00:00Z\n" % (
    today, today - d(days=30), today + d(days=120), now.strftime("%Y-%m-%dT%H:%M:%SZ"), last))
PY
. "$T/dates"

write_config() { # CALENDAR_TERMS SCHOOL_NAME
    cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-schedule";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-schedule"; };
http = { listen = "127.0.0.1:0"; }; # any free port: suites may run side by side
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "term"; terms = ( $1 ); closures = [ "$TODAY" ]; },
              { id = "old"; terms = ( [ "2020-09-02", "2020-12-18" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ];
            mash = "la:831:mash"; education_safeguarding = "la:831:edsg"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "$2"; urn = "100001";
    calendar = "term"; connector = "file"; directory = "$T/spool"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Infant"; urn = "100002";
    calendar = "old"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:edsg"; kind = "education_safeguarding"; la_code = "831"; name = "Test EdSG";
    connector = "file"; directory = "$T/spool"; }
);
CONF
}
write_config "[ \"$FIRST\", \"$LAST\" ]" "Test Primary"
check "sdatd -t accepts the generated calendar" "$SDATD" -t -c "$T/sdatd.conf"
"$SDATCTL" -c "$T/sdatd.conf" import children config/demo-children.jsonl >"$T/import.out" 2>&1
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"

# incident ID VERSION REPORTED_AT CIRCUMSTANCES [CHILD_JSON]: one JSON line.
incident() {
    child=${5:-'{"ref":"c1","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","nhs_number":"9990000018","present":true,"resident":true}'}
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":%s,"occurred_at":"%s","reported_at":"%s","location":{"address":"1 Example Street","postcode":"DE22 3XY"},"risk":"medium","children":[%s],"circumstances":"%s","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$2" "$3" "$3" "$child" "$4"
}
produce() { # KEY (the event on standard input)
    kcat -P -b "$BS" -t police.da-incidents -k "$1" 2>>"$T/kcat.err"
}
# rows SQL: the store's answer, one row per line, fields separated by |.
rows() {
    python3 - "$T/state/sdat.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
}
state_of() { rows "SELECT state FROM notifications WHERE source_key = 'derbyshire/$1' AND source_version = $2"; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
duplicate_seen() { grep -q "event.duplicate incident=derbyshire/$1" "$T/sdatd.log"; }

# The expected release comes from the independent oracle (tests/oracle/
# schedule_ref.py, flows.md §3's words), never from the code under test.
held_at=$(python3 tests/oracle/schedule_ref.py --at "$NOW" --calendar \
    "{\"terms\": [[\"$FIRST\", \"$LAST\"]], \"closures\": [\"$TODAY\"]}")
check "the oracle holds today's report (a closure) for a later day's 07:30 London" \
    sh -c "echo '$held_at' | grep -Eqx '[0-9]{4}-[0-9]{2}-[0-9]{2}T0[67]:30:00Z' && test '${held_at%%T*}' \> '$TODAY'"
check "sdatctl schedule answers the oracle's release for today (a closure)" \
    test "$("$SDATCTL" -c "$T/sdatd.conf" schedule --recipient school:100001 --at "$NOW")" = "$held_at"

incident H-1 1 "$NOW" "First account." | produce derbyshire/H-1
check "an incident reported on a closure day creates the school's notification" \
    wait_for 30 grep -q "notification created .*recipient=school:100001 incident=derbyshire/H-1" "$T/sdatd.log"
check "it is held until the next school day's release time" \
    test "$(rows "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', scheduled_ms / 1000, 'unixepoch'), state FROM notifications WHERE source_key = 'derbyshire/H-1'")" = "$held_at|scheduled"

incident P-1 1 "$PAST" "Reported during a past school day." | produce derbyshire/P-1
incident E-1 1 "$PAST" "A school whose calendar ran out." \
    '{"ref":"c1","given_name":"Bramwell","family_name":"Testwood","dob":"2018-09-30","upn":"D831200125002","present":false,"resident":true}' |
    produce derbyshire/E-1
id_of() { rows "SELECT id FROM notifications WHERE source_key = 'derbyshire/$1' AND source_version = $2 AND recipient = '$3'"; }
spooled() { # INCIDENT VERSION RECIPIENT: its file was written
    id=$(id_of "$1" "$2" "$3")
    [ -n "$id" ] && [ -f "$T/spool/$(echo "$3" | tr : _)/$id.json" ]
}
check "beside it, one reported during a past school day is delivered to the school at once" \
    wait_for 30 spooled P-1 1 school:100001
check "the held one is not delivered" sh -c "! test -e '$T/spool/school_100001/$(id_of H-1 1 school:100001).json'"

# school:100002's calendar ran out in 2020: education safeguarding, at once.
wait_for 30 spooled E-1 1 la:831:edsg
edsg=$T/spool/la_831_edsg/$(id_of E-1 1 la:831:edsg).json
check "an exhausted calendar notifies education safeguarding with route_reason calendar-exhausted" \
    python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(d['route_reason']!='calendar-exhausted' or d['recipient']['id']!='la:831:edsg')" "$edsg"
check "and logs a warning naming the calendar" grep -q 'calendar "old" has no school day' "$T/sdatd.log"

# A corrected version while the first is held: superseded, same schedule.
incident H-1 2 "$NOW" "Corrected account." | produce derbyshire/H-1
check "a higher version with a changed account supersedes the held notification" \
    wait_for 30 state_is H-1 1 superseded
check "its replacement keeps the schedule" \
    test "$(rows "SELECT strftime('%Y-%m-%dT%H:%M:%SZ', scheduled_ms / 1000, 'unixepoch'), state, amends FROM notifications WHERE source_key = 'derbyshire/H-1' AND source_version = 2")" = "$held_at|scheduled|"
incident H-1 2 "$NOW" "Corrected account." | produce derbyshire/H-1
check "the same version again is a duplicate" wait_for 30 duplicate_seen H-1

# Reload: the directory changes (a school's name); the held one stays.
write_config "[ \"$FIRST\", \"$LAST\" ]" "Test Primary Renamed"
kill -HUP "$SDATD_PID"
check "SIGHUP reloads the directory" wait_for 10 grep -q "config: reloaded" "$T/sdatd.log"
check "the held notification survives the reload" test "$(state_of H-1 2)" = scheduled
# A bad directory: terms out of order. The old one stays, and the log says why.
write_config "[ \"$LAST\", \"$FIRST\" ]" "Test Primary"
kill -HUP "$SDATD_PID"
check "a calendar whose term ends before it starts is refused on reload, naming the key" \
    wait_for 10 grep -q "calendars.\[0\].terms: term 0 ends before it starts" "$T/sdatd.log"
check "the bad reload keeps the running directory" \
    wait_for 10 grep -q "reload failed; keeping the running configuration" "$T/sdatd.log"
check "the held notification is still scheduled" test "$(state_of H-1 2)" = scheduled
stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0

# sdatctl schedule without the daemon: its exact format and exit codes.
write_config "[ \"2026-09-02\", \"2026-10-23\" ], [ \"2026-11-02\", \"2026-12-18\" ]" "Test Primary"
sched() { "$SDATCTL" -c "$T/sdatd.conf" schedule "$@"; }
check "Friday before half term, across the clock change: the first day of the next term" \
    test "$(sched --recipient school:100001 --at 2026-10-23T18:00:00+01:00)" = "2026-11-02T07:30:00Z"
check "02:00 on a school day: 07:30 that day" \
    test "$(sched --recipient school:100001 --at 2026-11-24T02:00:00Z)" = "2026-11-24T07:30:00Z"
check "after the last term: the basis and calendar-exhausted" \
    test "$(sched --recipient school:100001 --at 2027-01-10T12:00:00Z)" = "2027-01-10T12:00:00Z calendar-exhausted"
check "a recipient that is not a school: the basis" \
    test "$(sched --recipient la:831:mash --at 2026-10-23T18:00:00+01:00)" = "2026-10-23T17:00:00Z"
# flows.md §3: the calendar's zone decides, never the process's TZ.
tz_same=0
for at in 2026-10-23T18:00:00+01:00 2026-11-24T02:00:00Z 2026-11-24T16:30:00Z \
    2027-01-10T12:00:00Z; do
    for zone in Pacific/Auckland America/New_York UTC; do
        want=$(sched --recipient school:100001 --at "$at")
        got=$(TZ=$zone sched --recipient school:100001 --at "$at")
        if [ -n "$want" ] && [ "$got" = "$want" ]; then
            tz_same=$((tz_same + 1))
        else
            echo "# TZ=$zone --at $at: $got, without TZ: $want"
        fi
    done
done
check "TZ=Pacific/Auckland (or New York, or UTC) sdatctl schedule gives the same answers as without" \
    test "$tz_same" -eq 12
check "  (07:30 London, whatever TZ says)" \
    test "$(TZ=Pacific/Auckland sched --recipient school:100001 --at 2026-11-24T02:00:00Z)" = "2026-11-24T07:30:00Z"
sched --recipient school:100001 --at 2026-10-23T18:00:00 >/dev/null 2>&1
check "a date-time without an offset exits 2" test $? -eq 2
sched --recipient school:999999 --at 2026-10-23T18:00:00Z >/dev/null 2>&1
check "an unknown recipient exits 1" test $? -eq 1
echo "# done"
