#!/bin/sh
# The tamper-evident audit log (S5): a register import and incidents
# through the daemon make a chain with keyed checkpoints every 5 records;
# `sdatctl audit verify` passes on it (also beside the running daemon) and
# names the first bad seq when a copy of the store is tampered with (a
# changed field, a deleted, inserted or forged record, two records swapped,
# a rewrite without the key, a checkpoint dropped or out of place, a wrong
# key, records cut from the end against --head); `audit export` is the
# stored text, byte for byte, and an independent implementation
# (tests/integration/audit_chain.py: its own canonical JSON, hashlib,
# hmac) verifies it to the same head; --subject gathers a notification's,
# an incident's and a child's records with the payloads; --since filters.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 2 --topic police.da-incidents || exit 1
PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CHAIN="python3 tests/integration/audit_chain.py"

mkdir -p "$T/keys"
printf 'the audit checkpoint key\n' >"$T/keys/audit"
printf 'another key\n' >"$T/keys/other"
chmod 600 "$T/keys/audit" "$T/keys/other"

# conf FILE STATE_DIR [KEY_FILE]: the configuration (no key without one).
conf() {
    key=""
    [ -n "${3:-}" ] && key="checkpoint_key_file = \"$3\";"
    cat >"$1" <<CONF
state_dir = "$2";
instance_id = "it-audit";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-audit"; };
http = { listen = "127.0.0.1:$PORT"; };
audit = { checkpoint_every = 5; $key };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE1", "DE21", "DE22", "DE23", "DE24" ];
            mash = "la:831:mash"; ehe = "la:831:ehe"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary One"; urn = "100001";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Primary Two"; urn = "100002";
    calendar = "always"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:ehe"; kind = "ehe"; la_code = "831"; name = "Test EHE"; connector = "file";
    directory = "$T/spool"; }
);
CONF
}
conf "$T/sdatd.conf" "$T/state" "$T/keys/audit"
CTL() { "$SDATCTL" -c "$T/sdatd.conf" "$@"; }

CTL import children config/demo-children.jsonl >"$T/import.out" 2>&1
check "the register is imported (its records open the chain)" grep -q "imported 5 children" "$T/import.out"

start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
check "the daemon becomes ready" wait_for 60 ready

# The demo incidents, reported now (so that schools hear at once), and a
# third one: its children match, go unmatched, or are under five. They
# occurred on a fixed date: ages are decided on it, and Delphine (born
# 2022-06-17) must stay under five whenever the test runs.
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
OCCURRED=2026-11-02T20:00:00Z
python3 - "$NOW" config/demo-incidents.jsonl "$OCCURRED" >"$T/incidents.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[2]) if l.strip()]
lines.append(dict(lines[0], incident_id="DEMO-0003"))
for d in lines:
    d["occurred_at"], d["reported_at"] = sys.argv[3], sys.argv[1]
    print(json.dumps(d))
PY
while read -r line; do
    key=$(printf '%s' "$line" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["force"] + "/" + d["incident_id"])')
    printf '%s' "$line" | kcat -P -b "$BS" -t police.da-incidents -k "$key" 2>>"$T/kcat.err"
done <"$T/incidents.jsonl"
delivered() { [ "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM notifications WHERE state = 'delivered'" 2>/dev/null)" -ge 5 ]; }
check "the incidents' notifications are delivered" wait_for 60 delivered

CTL audit verify >"$T/verify-live.out" 2>&1
check "audit verify passes beside the running daemon (read-only)" grep -q '^ok: [0-9]* records, head [0-9a-f]\{64\}$' "$T/verify-live.out"
stop_sdatd
check "the daemon stops" test "$STOP_RC" -eq 0

# ---- The chain as the daemon and the import left it.
N=$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM audit")
HEAD=$(sqlite3 "$T/state/sdat.db" "SELECT hash FROM audit ORDER BY seq DESC LIMIT 1")
CTL audit verify >"$T/verify.out" 2>&1
rc=$?
check "audit verify: exit 0 and exactly \"ok: $N records, head …\" (the store's last hash)" \
    test "$rc" -eq 0 -a "$(cat "$T/verify.out")" = "ok: $N records, head $HEAD"
check "the chain is long enough for the tampering below ($N records)" test "$N" -ge 25
python3 - "$T/state/sdat.db" "$T/keys/audit" <<'PY' && ok "a checkpoint opens the chain and stands at every multiple of 5, each with its HMAC over SEQ:PREV" || notok "a checkpoint opens the chain and stands at every multiple of 5, each with its HMAC over SEQ:PREV"
import hashlib, hmac, json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
key = open(sys.argv[2], "rb").read().rstrip(b"\n")
rows = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit ORDER BY seq")]
for r in rows:
    cp = r["type"] == "checkpoint"
    assert cp == (r["seq"] == 1 or r["seq"] % 5 == 0), r["seq"]
    if cp:
        assert r["detail"] == {"every": 5} and r["subject"] == {}, r
        want = hmac.new(key, ("%d:%s" % (r["seq"], r["prev"])).encode(), hashlib.sha256).hexdigest()
        assert r["mac"] == want, r["seq"]
    else:
        assert "mac" not in r
PY

# ---- Export: the stored text, and an independent verification of it.
CTL audit export >"$T/export.jsonl" 2>"$T/export.err"
check "audit export exits 0" test $? -eq 0
sqlite3 "$T/state/sdat.db" "SELECT record FROM audit ORDER BY seq" >"$T/stored.jsonl"
check "audit export is the stored records byte for byte, one per line" cmp -s "$T/export.jsonl" "$T/stored.jsonl"
$CHAIN verify "$T/export.jsonl" --key "$T/keys/audit" --every 5 >"$T/independent.out" 2>&1
check "an independent implementation (own canonical JSON, hashlib, hmac) verifies the export to the same head" \
    test "$(cat "$T/independent.out")" = "ok: $N records, head $HEAD"
"$SDATCTL" audit verify --file "$T/export.jsonl" >"$T/verify-file.out" 2>&1
check "audit verify --file (no configuration) verifies the export" \
    test "$(cat "$T/verify-file.out")" = "ok: $N records, head $HEAD"
CTL audit verify --file "$T/export.jsonl" --head "$HEAD" >"$T/verify-file-key.out" 2>&1
check "audit verify --file with -c (macs checked) and --head" \
    test "$(cat "$T/verify-file-key.out")" = "ok: $N records, head $HEAD"
CTL audit verify --head "$(printf '%064d' 0)" >"$T/head-wrong.out" 2>&1
rc=$?
check "--head with another hash fails (exit 1) after the last record" \
    test "$rc" -eq 1 -a "$(cut -d: -f1 "$T/head-wrong.out")" = "broken at seq $((N + 1))"

# ---- Tampering, each on a fresh copy of the store.
# tamper: a copy of the store in $T/tamper with its configurations.
tamper() {
    rm -rf "$T/tamper"
    mkdir -p "$T/tamper"
    cp "$T/state/sdat.db" "$T/tamper/sdat.db"
    conf "$T/tamper.conf" "$T/tamper" "$T/keys/audit"
    conf "$T/tamper-nokey.conf" "$T/tamper"
    conf "$T/tamper-other.conf" "$T/tamper" "$T/keys/other"
}
TDB="$T/tamper/sdat.db"
# broken_at NAME SEQ [CONF] [ARGS]: verify exits 1 naming SEQ first.
broken_at() {
    name=$1
    want=$2
    cfg=${3:-$T/tamper.conf}
    shift 2
    [ $# -gt 0 ] && shift
    "$SDATCTL" -c "$cfg" audit verify "$@" >"$T/broken.out" 2>&1
    rc=$?
    got=$(sed -n 's/^broken at seq \([0-9]*\): .*/\1/p' "$T/broken.out")
    if [ "$rc" -eq 1 ] && [ "$got" = "$want" ]; then
        ok "$name: broken at seq $want ($(cut -d: -f2- "$T/broken.out" | sed 's/^ //'))"
    else
        notok "$name: want exit 1 and seq $want, got exit $rc: $(cat "$T/broken.out")"
    fi
}
# K: an ordinary record in the middle (7 is no multiple of 5).
K=7

tamper
sqlite3 "$TDB" "UPDATE audit SET record = replace(record, '\"seq\":$K,', '\"seq\":$K,\"x\":1,') WHERE seq = $K"
broken_at "a record with a field added" $K
tamper
sqlite3 "$TDB" "UPDATE audit SET record = replace(record, '\"instance\":\"it-audit\"', '\"instance\":\"it-audiT\"') WHERE seq = $K"
broken_at "a record with a field changed" $K

tamper
sqlite3 "$TDB" "DELETE FROM audit WHERE seq = $K"
broken_at "a deleted record (the missing seq)" $K

tamper
sqlite3 "$TDB" "UPDATE audit SET seq = -seq - 1 WHERE seq >= $K; UPDATE audit SET seq = -seq WHERE seq < 0;
                INSERT INTO audit(seq, type, record, hash) SELECT $K, type, record, hash FROM audit WHERE seq = $((K - 1))"
broken_at "an inserted copy of a record" $K
tamper
$CHAIN forge "$TDB" $K
broken_at "an inserted well-formed record: the next one no longer fits" $((K + 1))

tamper
sqlite3 "$TDB" "UPDATE audit SET seq = -1 WHERE seq = $K; UPDATE audit SET seq = $K WHERE seq = $((K + 2));
                UPDATE audit SET seq = $((K + 2)) WHERE seq = -1"
broken_at "two records swapped (the first out-of-place position)" $K

tamper
$CHAIN rewrite "$TDB" $K actor '"someone else"'
broken_at "a record changed and every later hash rewritten, without the key: the next checkpoint's mac" 10
"$SDATCTL" -c "$T/tamper-nokey.conf" audit verify >"$T/nokey.out" 2>&1
check "(without the key such a rewrite cannot be told: exit 0)" grep -q "^ok: " "$T/nokey.out"

tamper
$CHAIN rewrite "$TDB" 10 type '"event.accepted"'
broken_at "a checkpoint made an ordinary record (hashes rewritten): one is due there" 10
tamper
$CHAIN rewrite "$TDB" 8 type '"checkpoint"'
$CHAIN rewrite "$TDB" 8 detail '{"every":5}'
$CHAIN rewrite "$TDB" 8 mac "\"$(printf '%064d' 0)\""
broken_at "an ordinary record made a checkpoint out of place" 8 "$T/tamper-nokey.conf"

tamper
broken_at "verified with another checkpoint key: the first checkpoint" 1 "$T/tamper-other.conf"

tamper
sqlite3 "$TDB" "DELETE FROM audit WHERE seq = $N"
"$SDATCTL" -c "$T/tamper.conf" audit verify >"$T/cut.out" 2>&1
check "the last record cut off: the chain alone still verifies" grep -q "^ok: $((N - 1)) records" "$T/cut.out"
broken_at "the last record cut off, against --head" $N "$T/tamper.conf" --head "$HEAD"

# The same breaks in an export file.
tamper
$CHAIN rewrite "$TDB" $K actor '"someone else"'
sqlite3 "$TDB" "SELECT record FROM audit ORDER BY seq" >"$T/tampered.jsonl"
CTL audit verify --file "$T/tampered.jsonl" >"$T/file-tampered.out" 2>&1
check "verify --file with the key names the same first bad seq as the store" \
    grep -q "^broken at seq 10: " "$T/file-tampered.out"
$CHAIN verify "$T/tampered.jsonl" --key "$T/keys/audit" --every 5 >"$T/independent-tampered.out"
check "and so does the independent implementation" grep -q "^broken at seq 10: " "$T/independent-tampered.out"
sed '12d' "$T/stored.jsonl" >"$T/deleted.jsonl"
"$SDATCTL" audit verify --file "$T/deleted.jsonl" >"$T/file-deleted.out" 2>&1
check "verify --file: a line deleted from an export is the missing seq" \
    grep -q "^broken at seq 12: " "$T/file-deleted.out"

# ---- Export for a subject.
NID=$(sqlite3 "$T/state/sdat.db" "SELECT id FROM notifications WHERE state = 'delivered' AND recipient = 'school:100001' ORDER BY created_ms LIMIT 1")
CTL audit export --subject "$NID" >"$T/subject-n.jsonl" 2>"$T/subject-n.err"
check "audit export --subject NOTIFICATION exits 0" test $? -eq 0
python3 - "$T/subject-n.jsonl" "$T/stored.jsonl" "$NID" <<'PY' && ok "--subject on a notification id: its records as stored (created, attempted, delivered) and its payload with its SHA-256" || notok "--subject on a notification id: its records as stored (created, attempted, delivered) and its payload with its SHA-256"
import hashlib, json, sys
sys.path.insert(0, "tests/integration")
from audit_chain import canonical
lines = open(sys.argv[1]).read().splitlines()
stored = set(open(sys.argv[2]).read().splitlines())
nid = sys.argv[3]
records = [l for l in lines if "seq" in json.loads(l)]
others = [json.loads(l) for l in lines if "seq" not in json.loads(l)]
assert records and all(l in stored for l in records), "records byte for byte as stored"
seqs = [json.loads(l)["seq"] for l in records]
assert seqs == sorted(set(seqs))
types = [json.loads(l)["type"] for l in records]
for t in ("notification.created", "delivery.attempted", "notification.delivered"):
    assert t in types, (t, types)
for l in records:
    assert nid in l
(n,) = others
n = n["notification"]
assert n["notification_id"] == nid and n["state"] == "delivered" and n["recipient"] == "school:100001"
assert hashlib.sha256(canonical(n["payload"]).encode()).hexdigest() == n["payload_sha256"]
created = [json.loads(l) for l in records if json.loads(l)["type"] == "notification.created"][0]
assert created["detail"]["payload_sha256"] == n["payload_sha256"]
PY

CTL audit export --subject derbyshire/DEMO-0001 >"$T/subject-i.jsonl" 2>&1
python3 - "$T/subject-i.jsonl" "$T/state/sdat.db" <<'PY' && ok "--subject on an incident key: the records naming it and all its notifications with payloads" || notok "--subject on an incident key: the records naming it and all its notifications with payloads"
import json, sqlite3, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[2], uri=True)
want = {r[0] for r in db.execute("SELECT id FROM notifications WHERE source_key = 'derbyshire/DEMO-0001'")}
got = {l["notification"]["notification_id"] for l in lines if "notification" in l}
assert want and got == want, (want, got)
types = {l["type"] for l in lines if "seq" in l}
assert {"event.accepted", "match.decided", "notification.created"} <= types, types
assert not any("DEMO-0002" in json.dumps(l) for l in lines)
PY

CTL audit export --subject DC-0001 >"$T/subject-c.jsonl" 2>&1
python3 - "$T/subject-c.jsonl" <<'PY' && ok "--subject on a register child id: its register and match records and its school notifications" || notok "--subject on a register child id: its register and match records and its school notifications"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
types = [l["type"] for l in lines if "seq" in l]
assert "register.changed" in types and "match.decided" in types, types
notes = [l["notification"] for l in lines if "notification" in l]
assert any(n["recipient"] == "school:100001" for n in notes), notes
assert not any(n["recipient"] == "school:100002" for n in notes), "another child's school"
PY

CTL audit export --subject nothing-names-this >"$T/subject-none.out" 2>&1
check "--subject that nothing names: exit 1" test $? -eq 1

SINCE=$(sqlite3 "$T/state/sdat.db" "SELECT json_extract(record, '\$.ts') FROM audit WHERE seq = 20")
CTL audit export --since "$SINCE" >"$T/since.jsonl" 2>&1
python3 - "$T/since.jsonl" "$T/stored.jsonl" "$SINCE" <<'PY' && ok "--since keeps the records at or after the time" || notok "--since keeps the records at or after the time"
import json, sys
got = open(sys.argv[1]).read().splitlines()
want = [l for l in open(sys.argv[2]).read().splitlines() if json.loads(l)["ts"] >= sys.argv[3]]
assert got == want and 0 < len(got) < len(open(sys.argv[2]).read().splitlines()), (len(got), len(want))
PY

# ---- Usage and configuration errors.
CTL audit verify --head nothex >/dev/null 2>&1
check "--head that is no hash: usage error (2)" test $? -eq 2
CTL audit export --since yesterday >/dev/null 2>&1
check "--since that is no date-time: usage error (2)" test $? -eq 2
CTL audit >/dev/null 2>&1
check "audit without verify or export: usage error (2)" test $? -eq 2
conf "$T/missing-key.conf" "$T/state" "$T/keys/absent"
"$SDATCTL" -c "$T/missing-key.conf" audit verify >"$T/missing-key.out" 2>&1
check "an unreadable checkpoint key: bad configuration (78)" test $? -eq 78

# ---- Retention with a shortened age (delivery.md "Retention"): with
# payload_days = 1, delivered notifications made to look three days old
# lose their payloads when the daemon starts (retention runs at start and
# daily); show says so, the chain still verifies.
sed 's/^audit = {/retention = { payload_days = 1; };\naudit = {/' "$T/sdatd.conf" >"$T/retention.conf"
OLD=$(sqlite3 "$T/state/sdat.db" "SELECT id FROM notifications WHERE state = 'delivered' ORDER BY id LIMIT 1")
sqlite3 "$T/state/sdat.db" "UPDATE notifications SET created_ms = created_ms - 259200000,
    scheduled_ms = scheduled_ms - 259200000, next_attempt_ms = next_attempt_ms - 259200000,
    delivered_ms = delivered_ms - 259200000 WHERE id = '$OLD'"
start_sdatd "$T/retention.conf" "$T/sdatd-retention.log"
pruned() { [ "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM audit WHERE type = 'retention.pruned' AND json_extract(record, '\$.detail.payloads') >= 1" 2>/dev/null)" -ge 1 ]; }
check "retention at start removes the old payload and audits retention.pruned" wait_for 30 pruned
stop_sdatd
check "  only the old one" test "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM notifications WHERE payload IS NULL")" -eq 1 -a \
    "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM notifications WHERE payload IS NULL AND id = '$OLD'")" -eq 1
"$SDATCTL" -c "$T/retention.conf" show "$OLD" >"$T/show-retained.out" 2>&1
check "sdatctl show says the payload was removed under retention" \
    grep -q "^payload: removed under retention" "$T/show-retained.out"
"$SDATCTL" -c "$T/retention.conf" audit verify >"$T/verify-retained.out" 2>&1
check "the chain still verifies after retention" grep -q '^ok: ' "$T/verify-retained.out"

check "the daemon's log holds no name or date of birth" \
    sh -c "! grep -Eq 'Ashlyn|Bramwell|Testwood|2016-04-12' '$T/sdatd.log'"
echo "# done"
