#!/bin/sh
# Issue 21: the decision workers change who prepares a message, never what
# it does. The same stream of consumed messages (bench/synth/gen.py's
# incidents against its register, with duplicates, amendments, attendances
# and broken messages among them) goes through sdat_engine_process_batch
# (tests/helpers/batch-drive, a fixed clock) four times, each into its own
# copy of one imported store: with no workers (every message prepared on
# the writer, as before the workers existed), with one worker, and with
# three and four workers in other batch sizes. Every run must leave the
# same store to the byte: the same notifications (ids, recipients, payloads
# and their hashes) and the same audit records (types, subjects, details,
# sequence and hash chain), in the same order. The counts show that the
# workers did the work: every message prepared on them and the incidents
# matched there.
. tests/integration/lib.sh

DRIVE="$SDAT_BUILD/tests/batch-drive"
NOW_MS=1794567600000 # 2026-11-12T13:00:00Z
SEED=${SDAT_SEED:-7}
echo "# seed $SEED (SDAT_SEED=$SEED repeats the stream)"

python3 bench/synth/gen.py --seed "$SEED" --children 4000 --police 1600 --flags 300 \
    --out "$T/synth" >/dev/null || { notok "gen.py made the synthetic data"; exit 1; }

# The stream and the configuration's schools (the 40 URNs with most pupils;
# the others are not in the directory, so their children go to the MASH).
python3 - "$T" "$SEED" <<'PY' || { notok "the stream is written"; exit 1; }
import collections, json, random, sys
t, seed = sys.argv[1], int(sys.argv[2])
rnd = random.Random(seed)
register = [json.loads(l) for l in open(f"{t}/synth/register.jsonl")]
police = [json.loads(l) for l in open(f"{t}/synth/police.jsonl")]
flags = [json.loads(l) for l in open(f"{t}/synth/flags.jsonl")]
urns = collections.Counter(s["urn"] for c in register for s in c.get("education", []))
schools = [u for u, _ in urns.most_common(40)]
with open(f"{t}/schools.conf", "w") as f:
    for i, urn in enumerate(schools):
        f.write(f'  {{ id = "school:{urn}"; kind = "school"; la_code = "831"; name = "School {i}";\n'
                f'    urn = "{urn}"; calendar = "term"; minimal = {"true" if i % 3 == 0 else "false"};\n'
                f'    connector = "file"; directory = "{t}/spool"; }},\n')
lines = []
def put(topic, key, value):
    lines.append(f"{topic}\t{key}\t{value}")
def incident(doc, key=None):
    put("police.da-incidents", key if key is not None else f'{doc["force"]}/{doc["incident_id"]}',
        json.dumps(doc, separators=(",", ":")))
by_nhs = [c for c in register if c.get("nhs_number")]
flagged = {f["nhs_number"] for f in flags if f.get("nhs_number")}
for n, doc in enumerate(police):
    incident(doc)
    r = rnd.random()
    if r < 0.04:
        incident(doc)  # the same version again: a duplicate
    elif r < 0.08 and len(doc["children"]) > 1:
        amended = json.loads(json.dumps(doc))
        amended["version"] = doc.get("version", 1) + 1
        amended["children"].pop()  # a child removed by a later version
        incident(amended)
    elif r < 0.10:
        amended = json.loads(json.dumps(doc))
        amended["version"] = doc.get("version", 1) + 1
        amended["risk"] = "high"  # an amendment that makes it urgent
        incident(amended)
    elif r < 0.11:
        put("police.da-incidents", "derbyshire/broken", '{"schema": "police.da-incident/1", "force":')
    elif r < 0.12:
        bad = json.loads(json.dumps(doc))
        del bad["occurred_at"]
        incident(bad)
    elif r < 0.13:
        incident(doc, key="derbyshire/not-its-key")
    elif r < 0.16:
        child = rnd.choice(by_nhs)
        if rnd.random() < 0.5 and flagged:
            nhs = rnd.choice(sorted(flagged))
        else:
            nhs = child["nhs_number"]
        att = {"schema": "health.attendance/1", "attendance_id": f"A{n:06d}", "ods_code": "RTG",
               "setting": "emergency-department", "arrived_at": "2026-11-12T09:30:00Z",
               "patient": {"nhs_number": nhs}}
        put("health.attendances", f"RTG/A{n:06d}", json.dumps(att, separators=(",", ":")))
with open(f"{t}/stream.tsv", "w") as f:
    f.write("\n".join(lines) + "\n")
print(f"# stream: {len(lines)} messages ({len(police)} incidents), {len(schools)} schools")
PY

mkdir -p "$T/spool" "$T/a"
# A key for the lookups' HMACs (else each store makes its own at random)
# and the chain's checkpoints, every 50 records.
printf 'the synthetic audit key\n' >"$T/audit.key" && chmod 600 "$T/audit.key"
cat >"$T/base.conf" <<CONF
instance_id = "it-workers";
audit = { checkpoint_every = 50; checkpoint_key_file = "$T/audit.key"; };
kafka = { embedded = true; };
http = { public_url = "https://sdat.test.invalid"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "term"; terms = ( [ "2026-09-02", "2026-10-23" ], [ "2026-11-02", "2026-12-18" ] ); } );
areas = ( { la_code = "831"; name = "Synthetic City"; postcode_districts = [ "DE" ];
            mash = "la:831:mash"; cpis = "la:831:cpis"; },
          { la_code = "830"; name = "Synthetic Shire"; mash = "la:830:mash"; cpis = "la:830:cpis"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
$(cat "$T/schools.conf")
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "MASH"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:cpis"; kind = "cpis"; la_code = "831"; name = "CP-IS"; connector = "file"; directory = "$T/spool"; },
  { id = "la:830:mash"; kind = "mash"; la_code = "830"; name = "MASH 2"; connector = "file"; directory = "$T/spool"; },
  { id = "la:830:cpis"; kind = "cpis"; la_code = "830"; name = "CP-IS 2"; connector = "file"; directory = "$T/spool"; } );
CONF
conf() { { echo "state_dir = \"$T/$1\";"; cat "$T/base.conf"; } >"$T/$1.conf"; }
conf a
check "the register is imported" sh -c "'$SDATCTL' -c '$T/a.conf' import children '$T/synth/register.jsonl' >/dev/null && '$SDATCTL' -c '$T/a.conf' import flags '$T/synth/flags.jsonl' >/dev/null"
for run in b c d; do
    cp -r "$T/a" "$T/$run" && conf "$run"
done

# run NAME THREADS BATCH: the stream through the engine; its counts kept.
run() {
    "$DRIVE" "$T/$1.conf" "$T/stream.tsv" "$2" "$3" "$NOW_MS" >"$T/$1.out" 2>"$T/$1.err"
}
check "no workers, 256 to a batch" run a 0 256
check "one worker, 64 to a batch" run b 1 64
check "four workers, 256 to a batch" run c 4 256
check "three workers, 17 to a batch" run d 3 17
cat "$T/a.out" "$T/b.out" "$T/c.out" "$T/d.out" | sed 's/^/# /'

# What the workers did: every message prepared on them, the incidents
# matched against the index there, and the index still loaded at the end.
messages=$(wc -l <"$T/stream.tsv")
for run in b c d; do
    line=$(cat "$T/$run.out")
    prepared=$(echo "$line" | sed -n 's/.*workers: \([0-9]*\) prepared.*/\1/p')
    matched=$(echo "$line" | sed -n 's/.* and \([0-9]*\) incidents matched.*/\1/p')
    [ "$prepared" = "$messages" ] && [ "${matched:-0}" -gt 1000 ] &&
        echo "$line" | grep -q "index loaded$" &&
        ok "run $run: all $messages messages prepared on the workers, $matched incidents matched there" ||
        notok "run $run: all $messages messages prepared on the workers ($line)"
done

# The stores, table by table, to the byte.
dump() { sqlite3 "file:$T/$1/sdat.db?mode=ro" .dump >"$T/$1.sql"; }
for run in a b c d; do dump "$run"; done
q() { sqlite3 "file:$T/a/sdat.db?mode=ro" "$1"; }
notes=$(q "SELECT count(*) FROM notifications")
kinds=$(q "SELECT group_concat(kind || '=' || n, ' ') FROM (SELECT kind, count(*) n FROM notifications GROUP BY kind)")
records=$(q "SELECT count(*) FROM audit")
reviews=$(q "SELECT count(*) FROM review_items")
letters=$(q "SELECT count(*) FROM dead_letters")
types=$(q "SELECT count(DISTINCT type) FROM audit")
echo "# reference store: $notes notifications ($kinds), $records audit records of $types types, $reviews review items, $letters dead letters"
[ "$notes" -gt 1000 ] && [ "$reviews" -gt 0 ] && [ "$letters" -gt 0 ] &&
    q "SELECT 1 FROM notifications WHERE kind = 'cpis-access' LIMIT 1" | grep -q 1 &&
    q "SELECT 1 FROM notifications WHERE state IN ('superseded', 'cancelled') LIMIT 1" | grep -q 1 &&
    ok "the stream exercises schools, the MASH, CP-IS, reviews, amendments and dead letters" ||
    notok "the stream exercises schools, the MASH, CP-IS, reviews, amendments and dead letters"
for run in b c d; do
    if cmp -s "$T/a.sql" "$T/$run.sql"; then
        ok "run $run left the same store as the run without workers"
    else
        notok "run $run left the same store as the run without workers"
        cmp "$T/a.sql" "$T/$run.sql" | sed 's/^/# /'
    fi
done
# The issue's terms, said apart: notification ids, recipients and payload
# hashes, and audit types, subjects and details, in order.
acceptance() {
    sqlite3 "file:$T/$1/sdat.db?mode=ro" \
        "SELECT id, recipient, payload_sha256 FROM notifications ORDER BY rowid;
         SELECT seq, type, json_extract(record, '\$.subject'), json_extract(record, '\$.detail')
         FROM audit ORDER BY seq;"
}
acceptance a >"$T/a.acc"
for run in b c d; do
    acceptance "$run" | cmp -s - "$T/a.acc" &&
        ok "run $run: the same notifications and audit records in the same order" ||
        notok "run $run: the same notifications and audit records in the same order"
done
echo "# done"
