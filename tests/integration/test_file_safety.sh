#!/bin/sh
# quality.md S9, end to end: whoever can write the file connector's pickup
# directory plants links (the same user, as a pick-up agent could): a
# recipient's folder that is a link to a directory holding a stand-in
# sdat.db, a link at a notification's final name to a file outside the
# spool, a link at the old predictable temporary name. Nothing is written
# through them (contents and mtimes unchanged), the refused deliveries
# retry with the reason, then fail and escalate with it; the store and its
# state directory made by sdatd under umask 022 are 0700/0600.
. tests/integration/lib.sh

umask 022
start_broker --partitions 1 --topic police.da-incidents --topic sdat.dlq || exit 1

mkdir -p "$T/outside" "$T/fakestate" "$T/spool/la_831_mash"
printf 'readable by the pick-up agent\n' >"$T/outside/secret.txt"
printf 'SQLite format 3 (a stand-in)\n' >"$T/fakestate/sdat.db"
touch -d '2020-01-02 03:04:05' "$T/outside/secret.txt" "$T/fakestate/sdat.db"
fingerprint() { # the planted targets and their directories: names, sizes, mtimes (ns), contents
    (cd "$T" && find outside fakestate -printf '%p %y %s %T@\n' | sort && cat outside/* fakestate/*)
}
fingerprint >"$T/before"

# notification_id (delivery.md): n_ + 32 hex of SHA-256 over KIND, SOURCE,
# VERSION, CHILD, RECIPIENT, DISC joined by NUL bytes.
nid() { python3 -c '
import hashlib, sys
print("n_" + hashlib.sha256("\0".join(sys.argv[1:]).encode()).hexdigest()[:32])' "$@"; }
ID1=$(nid unmatched-child derbyshire/F-1 1 c1 la:831:mash "")
ID3=$(nid unmatched-child derbyshire/F-3 1 c1 la:831:mash "")
ln -s "$T/outside/secret.txt" "$T/spool/la_831_mash/$ID1.json"   # the final name
ln -s "$T/fakestate/sdat.db" "$T/spool/la_831_mash/.$ID3.json.tmp" # the old temporary
ln -s "$T/fakestate" "$T/spool/la_832_mash"                        # a recipient's folder

cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-file-safety";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-file-safety"; };
http = { listen = "127.0.0.1:0"; };
delivery = { concurrency = 4; retry_initial = 0.2; retry_max = 1; circuit_failures = 100;
             escalate_after = 60; give_up_after = 3; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ];
            mash = "la:831:mash"; escalation = "la:831:esc"; },
          { la_code = "832"; name = "Test County"; postcode_districts = [ "NG1" ];
            mash = "la:832:mash"; escalation = "la:832:esc"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "City MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:832:mash"; kind = "mash"; la_code = "832"; name = "County MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:esc"; kind = "escalation"; la_code = "831"; name = "City desk"; connector = "file";
    directory = "$T/esc"; },
  { id = "la:832:esc"; kind = "escalation"; la_code = "832"; name = "County desk";
    connector = "file"; directory = "$T/esc"; }
);
CONF
check "sdatd -t accepts the configuration" "$SDATD" -t -c "$T/sdatd.conf"
sed 's/id = "la:832:esc"/id = ".."/' "$T/sdatd.conf" >"$T/dots.conf"
"$SDATD" -t -c "$T/dots.conf" 2>"$T/dots.err"
check "sdatd -t refuses the recipient id \"..\", naming file, line and key" \
    grep -q "^$T/dots.conf:[0-9]*: recipients.\[3\].id: \"..\" must not start with \".\"" "$T/dots.err"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"

check "sdatd creates the store" wait_for 20 test -s "$T/state/sdat.db"
mode() { stat -c %a "$1"; }
check "the state directory made under umask 022 is 0700 ($(mode "$T/state"))" \
    test "$(mode "$T/state")" = 700
check "sdat.db made under umask 022 is 0600 ($(mode "$T/state/sdat.db"))" \
    test "$(mode "$T/state/sdat.db")" = 600
for f in sdat.db-wal sdat.db-shm sdatd.lock; do
    check "$f is 0600" test "$(mode "$T/state/$f")" = 600
done

incident() { # ID POSTCODE: one unknown child, standard risk: an unmatched-child to the MASH
    printf '{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"%s","version":1,"occurred_at":"2026-03-02T10:00:00Z","reported_at":"2026-03-02T10:00:00Z","location":{"address":"1 Example Street","postcode":"%s"},"risk":"standard","children":[{"ref":"c1","given_name":"Quorra","family_name":"Nobodyfield","dob":"2012-12-12","present":false,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$2" | kcat -P -b "$BS" -t police.da-incidents -k "derbyshire/$1" 2>>"$T/kcat.err"
}
rows() {
    python3 - "$T/state/sdat.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
for row in db.execute(sys.argv[2]):
    print("|".join("" if v is None else str(v) for v in row))
PY
}
field() { # COLUMN INCIDENT: of the incident's unmatched-child notification
    rows "SELECT $1 FROM notifications WHERE source_key = 'derbyshire/$2' AND kind = 'unmatched-child'"
}
state_is() { [ "$(field state "$1")" = "$2" ]; }
incident F-1 "DE22 3XY"
incident F-2 "NG1 1AA"
incident F-3 "DE22 3XY"

check "a link at the old temporary name does not stop the delivery" \
    wait_for 30 state_is F-3 delivered
check "the planted final name is F-1's notification's own" test "$(field id F-1)" = "$ID1"
F3="$T/spool/la_831_mash/$ID3.json"
check "F-3's file is a regular file with its notification" \
    sh -c "test -f '$F3' && ! test -L '$F3' && grep -q '$ID3' '$F3'"
check "a link at the final name: retried, then failed after give_up_after" \
    wait_for 30 state_is F-1 failed
check "a recipient's folder that is a link: retried, then failed after give_up_after" \
    wait_for 30 state_is F-2 failed
detail_of() { rows "SELECT detail FROM attempts WHERE notification_id = '$(field id "$1")' AND n = 1"; }
attempts_of() { field attempts "$1"; }
check "F-1 was retried ($(attempts_of F-1) attempts) with the reason" \
    test "$(attempts_of F-1)" -ge 2 -a "$(detail_of F-1)" = "refused: la_831_mash/$ID1.json exists and is a symbolic link"
check "F-2 was retried ($(attempts_of F-2) attempts) with the reason" \
    test "$(attempts_of F-2)" -ge 2 -a "$(detail_of F-2)" = "refused: the recipient's folder la_832_mash is a symbolic link"
escalated() { # AREA ID REASON-TEXT: a delivery-failed for ID with the reason as last_error
    grep -l "\"failed_notification_id\":\"$2\"" "$T"/esc/la_"$1"_esc/n_*.json 2>/dev/null |
        xargs -r grep -l "\"last_error\":\"$3" | grep -q .
}
ID2=$(field id F-2)
check "F-1 is escalated as failed with the reason" \
    wait_for 30 escalated 831 "$ID1" "refused: la_831_mash/$ID1.json exists and is a symbolic link"
check "F-2 is escalated as failed with the reason" \
    wait_for 30 escalated 832 "$ID2" "refused: the recipient's folder la_832_mash is a symbolic link"
check "the audit log records both as notification.failed" \
    test "$(rows "SELECT count(*) FROM audit WHERE type = 'notification.failed' AND (record LIKE '%$ID1%' OR record LIKE '%$ID2%')")" -eq 2
stop_sdatd
check "SIGTERM exits 0" test "$STOP_RC" -eq 0
fingerprint >"$T/after"
check "nothing was written through a link: the targets' contents and mtimes are unchanged" \
    cmp -s "$T/before" "$T/after"
check "the planted links are still links" \
    sh -c "test -L '$T/spool/la_831_mash/$ID1.json' && test -L '$T/spool/la_832_mash' && test -L '$T/spool/la_831_mash/.$ID3.json.tmp'"
check "no temporary is left behind" \
    test "$(find "$T/spool" "$T/esc" -name '.*' ! -name ".$ID3.json.tmp" | wc -l)" -eq 0
echo "# done"
