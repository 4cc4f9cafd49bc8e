#!/bin/sh
# The systemd-credentials layout outside the unit (issue 25, OPERATING.md
# "Secrets"): a configuration whose secrets are "$CREDENTIALS_DIRECTORY/keys_NAME"
# (the unit's LoadCredential=keys:/etc/sdat/keys). sdatd -t checks it from
# the keys folder itself with --keys DIR; sdatctl's commands that read only
# the store need none of the secrets; import and audit verify read the
# checkpoint key they need, with --keys.
. tests/integration/lib.sh

KEYS="$T/keys"
mkdir -p "$KEYS" "$T/state"
for k in ack audit 112233; do
    head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$KEYS/$k"
    chmod 600 "$KEYS/$k"
done
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-creds";
kafka = { bootstrap_servers = "127.0.0.1:9"; group_id = "sdatd-it"; };
http = { listen = "127.0.0.1:0"; ack_key_file = "\$CREDENTIALS_DIRECTORY/keys_ack"; };
audit = { checkpoint_key_file = "\$CREDENTIALS_DIRECTORY/keys_audit"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "test"; terms = ( [ "2026-09-01", "2026-12-18" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE1" ]; mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:112233"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "112233";
    calendar = "test"; connector = "webhook"; url = "https://127.0.0.1:9/hook";
    secret_file = "\$CREDENTIALS_DIRECTORY/keys_112233"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; }
);
CONF
unset CREDENTIALS_DIRECTORY

"$SDATD" -t -c "$T/sdatd.conf" >"$T/t-plain.out" 2>&1
rc=$?
check "outside the unit, sdatd -t cannot read the credentials (78) and names each key" \
    sh -c "[ $rc -eq 78 ] && grep -q 'http.ack_key_file' '$T/t-plain.out' &&
        grep -q 'audit.checkpoint_key_file' '$T/t-plain.out' && grep -q 'recipients.\[0\].secret_file' '$T/t-plain.out'"
"$SDATD" -t --keys "$KEYS" -c "$T/sdatd.conf" >"$T/t-keys.out" 2>&1
check "sdatd -t --keys DIR checks them from the keys folder (0)" test $? -eq 0
chmod 640 "$KEYS/112233"
"$SDATD" -t --keys "$KEYS" -c "$T/sdatd.conf" >"$T/t-mode.out" 2>&1
rc=$?
check "  and still refuses a key readable by its group (78), naming it without its content" \
    sh -c "[ $rc -eq 78 ] && grep -q 'secret_file: .*keys_112233.* readable by group' '$T/t-mode.out' &&
        ! grep -qF '$(cat "$KEYS/112233")' '$T/t-mode.out'"
chmod 600 "$KEYS/112233"
# The binary itself: refused before any logging, its usage is no log line.
"$SDAT_BUILD/sdatd" --keys "$KEYS" -c "$T/sdatd.conf" >"$T/run-keys.out" 2>&1
check "sdatd --keys without -t is refused (78): the daemon reads its own credentials" test $? -eq 78

"$SDATCTL" -c "$T/sdatd.conf" import children config/demo-children.jsonl >"$T/import0.out" 2>&1
rc=$?
check "sdatctl import children signs audit checkpoints: without the key it says which one" \
    sh -c "[ $rc -ne 0 ] && grep -q 'audit.checkpoint_key_file' '$T/import0.out' && ! grep -q 'keys_ack\|keys_112233' '$T/import0.out'"
"$SDATCTL" --keys "$KEYS" -c "$T/sdatd.conf" import children config/demo-children.jsonl >"$T/import.out" 2>&1
check "  and with --keys DIR it imports (and reads no other secret)" \
    grep -q "imported 5 children" "$T/import.out"
for cmd in "notifications" "reviews" "dlq" "audit export"; do
    # shellcheck disable=SC2086 # the command's words
    "$SDATCTL" -c "$T/sdatd.conf" $cmd >"$T/reader.out" 2>&1
    check "sdatctl $cmd needs none of the secrets (exit 0)" test $? -eq 0
done
"$SDATCTL" -c "$T/sdatd.conf" status >"$T/status.out" 2>&1
check "sdatctl status loads it too (exit 1: no daemon, not 78)" \
    sh -c "[ $? -eq 1 ] && grep -q '^daemon  *unreachable' '$T/status.out'"
"$SDATCTL" -c "$T/sdatd.conf" audit verify >"$T/verify-plain.out" 2>&1
rc=$?
check "sdatctl audit verify without the checkpoint key says which key it cannot read" \
    sh -c "[ $rc -ne 0 ] && grep -q 'audit.checkpoint_key_file' '$T/verify-plain.out'"
"$SDATCTL" --keys "$KEYS" -c "$T/sdatd.conf" audit verify >"$T/verify-keys.out" 2>&1
check "sdatctl --keys DIR audit verify reads it and verifies the chain (exit 0)" \
    sh -c "[ $? -eq 0 ] && grep -q '^ok: ' '$T/verify-keys.out'"
echo "# done"
