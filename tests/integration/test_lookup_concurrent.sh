#!/bin/sh
# Many silent CP-IS lookups at once (P2's shape, docs/PERFORMANCE.md): 64
# clients, 256 distinct NHS numbers (one lookup each, GET /v1/cpis/flags and
# POST /v1/cpis/lookups in turn), while the daemon reads on its HTTP threads
# and writes only the lookup.served records, grouped. Each answer names its
# own number and exactly the flags active today for it (none, one, two, or
# one beside an ended plan), and when it arrives its lookup.served record is
# already committed: a separate read-only connection, opened after the
# answer, finds exactly one record with that number's HMAC and the answer's
# flag ids. At the end there are 256 records, one per number, the first
# lookups having created one HMAC key between them, and the chain verifies.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 1 || exit 1

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
TOKEN="lk-$(openssl rand -hex 16)"
digest() { printf '%s' "$1" | sha256sum | cut -d' ' -f1; }
cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-lookup-concurrent";
log_level = "debug";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-lookup-concurrent"; };
http = { listen = "127.0.0.1:$PORT";
         tokens = ( { name = "ed-many"; sha256 = "$(digest "$TOKEN")"; roles = [ "lookup" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ];
            mash = "la:831:mash"; cpis = "la:831:cpis"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "la:831:cpis"; kind = "cpis"; la_code = "831"; name = "Test CP-IS"; connector = "file";
    directory = "$T/spool"; }
);
CONF

# The numbers (valid, in the 999 test range) and their flags; the expected
# answer of each in $T/expected.json.
python3 - "$T/flags.jsonl" "$T/expected.json" <<'PY'
import json, sys
def valid(n):
    digits = [int(c) for c in "%09d" % n]
    check = 11 - sum(d * w for d, w in zip(digits, range(10, 1, -1))) % 11
    check = 0 if check == 11 else check
    return None if check == 10 else "%09d%d" % (n, check)
numbers, n = [], 999100000
while len(numbers) < 256:
    v = valid(n)
    if v:
        numbers.append(v)
    n += 1
contact = {"office_phone": "01000 000010", "out_of_hours_phone": "01000 000011"}
def flag(flag_id, nhs, **dates):
    return dict({"schema": "council.cpis-flag/1", "flag_id": flag_id, "la_code": "831",
                 "nhs_number": nhs, "type": "CPP", "la_name": "Test City", "contact": contact},
                **dates)
expected = {}
with open(sys.argv[1], "w") as out:
    for i, nhs in enumerate(numbers):
        ids = []
        if i % 4 >= 1:
            out.write(json.dumps(flag("F-%03d-a" % i, nhs, start_date="2025-01-01")) + "\n")
            ids.append("F-%03d-a" % i)
        if i % 4 == 2:
            out.write(json.dumps(flag("F-%03d-b" % i, nhs, start_date="2024-06-01")) + "\n")
            ids.append("F-%03d-b" % i)
        if i % 4 == 3:
            out.write(json.dumps(flag("F-%03d-old" % i, nhs, start_date="2020-01-01",
                                      end_date="2021-01-01")) + "\n")
        expected[nhs] = sorted(ids)
json.dump(expected, open(sys.argv[2], "w"))
PY
"$SDATCTL" -c "$T/sdatd.conf" import flags "$T/flags.jsonl" >"$T/import-flags.out" 2>&1
check "the flags of 192 of the 256 numbers are imported (320 flags)" grep -q "imported 320 flags" "$T/import-flags.out"
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
healthy() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/healthz")" = 200 ]; }
check "the daemon answers" wait_for 60 healthy

python3 - "$PORT" "$TOKEN" "$T/state/sdat.db" "$T/expected.json" >"$T/clients.out" 2>&1 <<'PY'
import hashlib, hmac, http.client, json, sqlite3, sys, threading
port, token, db_path, expected = sys.argv[1], sys.argv[2], sys.argv[3], json.load(open(sys.argv[4]))
numbers = sorted(expected)
problems, answered = [], []
lock = threading.Lock()
start = threading.Barrier(64)

def served(nhs):
    """lookup.served records of nhs, from a read-only connection opened now."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
    try:
        key = db.execute("SELECT value FROM meta WHERE key = 'lookup_hmac_key'").fetchone()
        if key is None:
            return None
        mac = hmac.new(key[0].encode(), nhs.encode(), hashlib.sha256).hexdigest()
        return [json.loads(r[0]) for r in db.execute(
            "SELECT record FROM audit WHERE type = 'lookup.served'"
            " AND json_extract(record, '$.detail.nhs_number_hmac') = ?", (mac,))]
    finally:
        db.close()

def client(k):
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=30)
    start.wait()
    for j in range(4):
        nhs = numbers[k * 4 + j]
        headers = {"Authorization": "Bearer " + token}
        if j % 2:
            headers["Content-Type"] = "application/json"
            conn.request("POST", "/v1/cpis/lookups", json.dumps({"nhs_number": nhs}), headers)
        else:
            conn.request("GET", "/v1/cpis/flags/" + nhs, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        # The record must be there as the answer arrives: read it at once.
        records = served(nhs)
        why = None
        if resp.status != 200:
            why = "status %d" % resp.status
        else:
            d = json.loads(body)
            ids = sorted(f["flag_id"] for f in d["flags"])
            if d["nhs_number"] != nhs or "attendance" in d or ids != expected[nhs]:
                why = "a wrong answer"
            elif records is None or len(records) != 1:
                why = "%s lookup.served records when the answer came" % (
                    "no key, no" if records is None else len(records))
            elif records[0]["detail"]["flag_ids"] != [f["flag_id"] for f in d["flags"]]:
                why = "the record's flag ids differ from the answer's"
            elif records[0]["actor"] != "ed-many" or records[0]["detail"]["silent"] is not True:
                why = "the record's actor or silent flag"
        with lock:
            if why:
                problems.append("lookup %d.%d: %s" % (k, j, why))
            else:
                answered.append(nhs)
    conn.close()

threads = [threading.Thread(target=client, args=(k,)) for k in range(64)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print("answered %d, problems %d" % (len(answered), len(problems)))
for p in problems[:10]:
    print(p)
sys.exit(0 if len(answered) == 256 and not problems else 1)
PY
rc=$?
check "64 clients, 256 lookups at once: each answered with its own flags, its lookup.served committed before the answer" \
    test "$rc" -eq 0
[ "$rc" -eq 0 ] || cat "$T/clients.out"

python3 - "$T/state/sdat.db" "$T/expected.json" <<'PY' && ok "256 lookup.served records, one per number, under one HMAC key, never the number" || notok "256 lookup.served records, one per number, under one HMAC key, never the number"
import hashlib, hmac, json, sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
expected = json.load(open(sys.argv[2]))
key = db.execute("SELECT value FROM meta WHERE key = 'lookup_hmac_key'").fetchone()[0]
records = [json.loads(r[0]) for r in db.execute("SELECT record FROM audit WHERE type = 'lookup.served'")]
macs = sorted(r["detail"]["nhs_number_hmac"] for r in records)
want = sorted(hmac.new(key.encode(), n.encode(), hashlib.sha256).hexdigest() for n in expected)
assert macs == want, (len(macs), len(set(macs)))
assert not any(n in json.dumps(r) for r in records for n in expected)
PY
"$SDATCTL" -c "$T/sdatd.conf" audit verify >"$T/verify.out" 2>&1
check "the audit chain verifies beside the running daemon" grep -q '^ok: ' "$T/verify.out"
check "no NHS number in the daemon's log" sh -c "! grep -q '9991000' '$T/sdatd.log'"
stop_sdatd
check "the daemon stops cleanly" test "$STOP_RC" -eq 0
echo "# done"
