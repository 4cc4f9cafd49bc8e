#!/bin/sh
# The restore drill (issue 25 item 8; docs/OPERATING.md "Backup, restore and
# upgrade"): `sdatctl backup` while the daemon runs and delivers, more
# incidents and a register record after it (the window the backup does not
# hold), a clean stop, the store replaced by the backup exactly as the
# document says (sdat.db replaced, its -wal and -shm removed, the consumer
# group rewound: here by the documented new kafka.group_id, since the mock
# cluster has no kafka-consumer-groups tool), one more incident while it is
# down, and a start. Then: the register carries on from the backup's
# positions (the record after the backup is read again, the one before it
# is not), every incident is processed (the window's ones again, under the
# same notification ids), the ones the backup held are not delivered again,
# the spool holds one file per notification id of the store and no other,
# and `sdatctl audit verify` passes. Also: the copy is 0600, verified, and
# a second backup to the same file is refused (exit 1).
. tests/integration/lib.sh
. tests/integration/reliability.sh

unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 2 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags || exit 1

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"
# conf GROUP: the configuration with that consumer group.
conf() {
    cat <<CONF
state_dir = "$T/state";
instance_id = "it-backup";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "$1"; };
http = { listen = "127.0.0.1:$PORT"; public_url = "$URL"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22", "DE23" ];
            mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "100001";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; }
);
CONF
}
conf sdatd-it-backup >"$T/sdatd.conf"
CTL() { "$SDATCTL" -c "$T/sdatd.conf" "$@"; }
cat >"$T/children.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"BK-1","la_code":"831","nhs_number":"9990000018","given_name":"Ashlyn","family_name":"Testwood","dob":"2016-04-12","education":[{"urn":"100001","start":"2025-09-01"}]}
JSONL
CTL import children "$T/children.jsonl" >"$T/import.out" 2>&1
check "the register is imported" grep -q "imported 1 children" "$T/import.out"

# child ID NHS GIVEN FAMILY DOB: a register record on council.children.
child() {
    printf '{"schema":"council.child/1","child_id":"%s","la_code":"831","nhs_number":"%s","given_name":"%s","family_name":"%s","dob":"%s","education":[{"urn":"100001","start":"2025-09-01"}]}\n' \
        "$@" | kcat -P -b "$BS" -t council.children -k "$1" 2>>"$T/kcat.err"
}
# The incident date is fixed (ages and school places are decided on it, so
# no answer changes as the years pass); reported now, so that each school's
# notification is due at once on the always-open calendar.
OCCURRED=2026-11-02T20:00:00Z
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
incident() { # ID NHS GIVEN FAMILY DOB
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"1 Example Street","postcode":"DE22 3XY"},"risk":"medium","children":[{"ref":"c1","given_name":"%s","family_name":"%s","dob":"%s","nhs_number":"%s","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test","phone":"01000 000000"}}\n' \
        "$1" "$OCCURRED" "$NOW" "$3" "$4" "$5" "$2" |
        kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1" 2>>"$T/kcat.err"
}
# delivered ID...: each incident has a school notification and every
# notification of it is delivered.
delivered() {
    CTL notifications --json --limit 1000 2>/dev/null | python3 -c 'import json, sys
want = set("derbyshire/" + i for i in sys.argv[1:])
school, pending = set(), False
for line in sys.stdin:
    n = json.loads(line)
    if n["incident"] in want:
        pending |= n["state"] != "delivered"
        if n["recipient"] == "school:100001":
            school.add(n["incident"])
sys.exit(1 if pending or school != want else 0)' "$@"
}
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/readyz")" = 200 ]; }
# register_changes CHILD: the register.changed records naming CHILD.
register_changes() {
    sqlite3 "file:$T/state/sdat.db?mode=ro" \
        "SELECT count(*) FROM audit WHERE type = 'register.changed' AND record LIKE '%\"$1\"%'"
}
# spool_listing: "ID INODE MTIME" per delivered file, sorted.
spool_listing() {
    find "$T/spool" -type f -name 'n_*.json' -printf '%f %i %T@\n' | sed 's/\.json / /' | sort
}

start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
check "the daemon becomes ready" wait_for 60 ready

# --- before the backup: two incidents delivered, a register record read -------
# A register record is read by its own consumer: the incident that needs
# it is published once it is applied (else it is unmatched, rightly).
applied() { [ "$(register_changes "$1")" -ge 1 ]; }
child BK-2 9990000085 Bramwell Exampleby 2018-09-30
check "a register record from the topic is applied" wait_for 60 applied BK-2
incident BB-1 9990000018 Ashlyn Testwood 2016-04-12
incident BB-2 9990000085 Bramwell Exampleby 2018-09-30
check "the incidents before the backup are delivered (one of them for a child from the topic)" \
    wait_for 60 delivered BB-1 BB-2
check "the register record before the backup was applied once" test "$(register_changes BK-2)" -eq 1

# --- the backup, while the daemon runs ------------------------------------------
CTL backup "$T/backup.db" >"$T/backup.out" 2>"$T/backup.err"
rc=$?
check "sdatctl backup beside the running daemon exits 0 and says how many pages" \
    sh -c "[ $rc -eq 0 ] && grep -Eqx 'backup: [1-9][0-9]* pages, $T/backup.db' '$T/backup.out'"
check "  the copy is the owner's only (0600)" test "$(stat -c %a "$T/backup.db")" = 600
check "  the copy passes integrity_check" \
    test "$(sqlite3 "file:$T/backup.db?mode=ro" 'PRAGMA integrity_check')" = ok
check "  the copy is one file, not in WAL mode (nothing beside it)" \
    sh -c "[ \"\$(sqlite3 '$T/backup.db' 'PRAGMA journal_mode')\" = delete ] && ! [ -e '$T/backup.db-wal' ]"
cksum <"$T/backup.db" >"$T/backup.sum"
CTL backup "$T/backup.db" >"$T/backup2.out" 2>"$T/backup2.err"
rc=$?
check "a second backup to the same file is refused: exit 1, the file untouched" \
    sh -c "[ $rc -eq 1 ] && grep -q 'exists' '$T/backup2.err' && cksum <'$T/backup.db' | cmp -s - '$T/backup.sum'"
"$SDATCTL" -c "$T/sdatd.conf" backup >/dev/null 2>&1
check "sdatctl backup without FILE is a usage error (exit 2)" test $? -eq 2

# --- the window: processed by the daemon, not in the backup ----------------------
child BK-3 9990000093 Corwin Samplesby 2017-01-20
check "a register record after the backup is applied" wait_for 60 applied BK-3
incident BW-1 9990000018 Ashlyn Testwood 2016-04-12
incident BW-2 9990000093 Corwin Samplesby 2017-01-20
check "the incidents after the backup are delivered (one for the child read after it)" \
    wait_for 60 delivered BW-1 BW-2
stop_sdatd
check "SIGTERM stops the daemon with exit 0" test "$STOP_RC" -eq 0
spool_listing >"$T/spool.before"
grep -c . "$T/spool.before" | sed 's/^/# files delivered before the restore: /'

# --- the restore, as docs/OPERATING.md says ----------------------------------------
mkdir "$T/replaced"
mv "$T/state/sdat.db" "$T/replaced/" &&
    for f in sdat.db-wal sdat.db-shm; do [ ! -e "$T/state/$f" ] || mv "$T/state/$f" "$T/replaced/"; done &&
    install -m 0600 "$T/backup.db" "$T/state/sdat.db"
check "the backup is in place as the store (0600)" test "$(stat -c %a "$T/state/sdat.db")" = 600
check "the restored store does not hold the window's register record" \
    test "$(register_changes BK-3)" -eq 0
conf sdatd-it-backup-restored >"$T/sdatd.conf"
# One more while it is down.
incident BA-1 9990000018 Ashlyn Testwood 2016-04-12
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
check "the restored daemon becomes ready" wait_for 60 ready
check "every incident is delivered after the restore: the window's again, and the one while down" \
    wait_for 90 delivered BB-1 BB-2 BW-1 BW-2 BA-1
check "the register carries on from the backup's positions: the record after it is read again" \
    test "$(register_changes BK-3)" -eq 1
check "  and the record before it is not (1 register.changed for it, as before)" \
    test "$(register_changes BK-2)" -eq 1
stop_sdatd
check "SIGTERM stops the restored daemon with exit 0" test "$STOP_RC" -eq 0

spool_listing >"$T/spool.after"
sqlite3 "file:$T/state/sdat.db?mode=ro" "SELECT id FROM notifications ORDER BY id" >"$T/store.ids"
cut -d' ' -f1 "$T/spool.after" >"$T/spool.ids"
check "the spool holds one file per notification id of the store, and no other ($(grep -c . "$T/store.ids") ids)" \
    cmp -s "$T/store.ids" "$T/spool.ids"
# The notifications the backup held were not delivered again (the same
# file, untouched); the window's were, under their ids (replaced files).
held=$(sqlite3 "file:$T/backup.db?mode=ro" "SELECT id FROM notifications WHERE state = 'delivered'" | sort)
untouched() {
    for id in $held; do
        grep -q "^$id " "$T/spool.before" && grep "^$id " "$T/spool.before" | cmp -s - "$T/spool.after.$id" || return 1
    done
}
for id in $held; do grep "^$id " "$T/spool.after" >"$T/spool.after.$id"; done
check "the notifications the backup held as delivered are not delivered again ($(echo "$held" | grep -c .))" \
    untouched
check "every file delivered before the restore is a notification of the restored store (the window's recreated under the same ids)" \
    sh -c "cut -d' ' -f1 '$T/spool.before' | comm -23 - '$T/store.ids' | grep -q . && exit 1 || exit 0"
CTL audit verify >"$T/verify.out" 2>&1
check "sdatctl audit verify passes after the restore ($(cat "$T/verify.out"))" grep -q '^ok: ' "$T/verify.out"
echo "# done"
