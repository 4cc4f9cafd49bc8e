#!/bin/sh
# sdatctl import children (issue 21, P5): an import into an empty store is
# one bulk load (keys sorted in, indexes built after the rows) and an
# import into a store that already holds children is upserts in batches;
# both give the same children, blocking keys, name counts, indexes and
# sdatctl match decisions, and both reject the same bad lines (counted,
# exit 1) while keeping the others. All data from bench/synth/gen.py.
. tests/integration/lib.sh

python3 bench/synth/gen.py --seed 11 --children 1500 --police 150 --flags 0 --out "$T/gen" \
    >/dev/null || { notok "bench/synth/gen.py makes the synthetic set"; exit 1; }
conf() { # NAME: a configuration with its own state directory
    cat >"$T/$1.conf" <<CONF
state_dir = "$T/$1";
instance_id = "it-import";
log_level = "debug";
kafka = { bootstrap_servers = "127.0.0.1:9"; };
http = { listen = "127.0.0.1:0"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Bench City"; postcode_districts = [ "DE" ];
            mash = "la:831:mash"; cpis = "la:831:cpis"; },
          { la_code = "830"; name = "Bench Shire"; mash = "la:830:mash"; cpis = "la:830:cpis"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "City MASH"; connector = "file"; directory = "$T/spool"; },
  { id = "la:831:cpis"; kind = "cpis"; la_code = "831"; name = "City CP-IS"; connector = "file"; directory = "$T/spool"; },
  { id = "la:830:mash"; kind = "mash"; la_code = "830"; name = "Shire MASH"; connector = "file"; directory = "$T/spool"; },
  { id = "la:830:cpis"; kind = "cpis"; la_code = "830"; name = "Shire CP-IS"; connector = "file"; directory = "$T/spool"; } );
CONF
}
# The register with, midway, a line that is not JSON, one that fails the
# schema, and a child written again with another family name and
# postcode (its earlier keys must go).
python3 - "$T/gen/register.jsonl" "$T/register.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
again = json.loads(lines[10])
again["family_name"] = "Quillfeather-Hale"
again.setdefault("address", {})["postcode"] = "DE1 1AB"
bad = json.loads(lines[20])
del bad["dob"]
out = lines[:700] + ['{"schema": "council.child/1", "child_id": '] + [json.dumps(bad)] + lines[700:] + [json.dumps(again)]
open(sys.argv[2], "w").write("\n".join(out) + "\n")
PY
head -n 1 "$T/register.jsonl" >"$T/first.jsonl"

# a: into an empty store (the bulk load).
conf a
"$SDATCTL" -c "$T/a.conf" import children "$T/register.jsonl" >"$T/a.out" 2>"$T/a.err"
check "an import into an empty store exits 1 when lines were rejected" test $? -eq 1
check "... and counts them" grep -q "^imported 1501 children, rejected 2 lines" "$T/a.out"
check "... naming each by its number" sh -c "grep -q '^line 701: not valid JSON' '$T/a.err' && grep -q '^line 702: ' '$T/a.err'"

# b: the same into a store that already holds a child (upserts).
conf b
"$SDATCTL" -c "$T/b.conf" import children "$T/first.jsonl" >"$T/b1.out" 2>&1
check "a one-child import into an empty store succeeds" test $? -eq 0
"$SDATCTL" -c "$T/b.conf" import children "$T/register.jsonl" >"$T/b.out" 2>"$T/b.err"
check "an import into a store with children exits 1 when lines were rejected" test $? -eq 1
check "... and counts them alike" grep -q "^imported 1501 children, rejected 2 lines" "$T/b.out"
check "... with the same messages" cmp -s "$T/a.err" "$T/b.err"

rows() { # NAME: the register's rows and indexes (updated_ms left out)
    sqlite3 "$T/$1/sdat.db" "
        SELECT child_id, la_code, nhs_number, upn, dob, postcode, doc, given_norm, family_norm,
               other_given, other_family, uprn FROM children ORDER BY child_id;
        SELECT * FROM child_keys ORDER BY key, child_id;
        SELECT * FROM family_names ORDER BY name;
        SELECT * FROM given_names ORDER BY name;
        SELECT type, name, sql FROM sqlite_master WHERE tbl_name IN ('children', 'child_keys')
               ORDER BY name;"
}
rows a >"$T/a.rows"
rows b >"$T/b.rows"
check "both stores hold the same children, blocking keys, name counts and indexes" \
    cmp -s "$T/a.rows" "$T/b.rows"
check "... 1500 children" test "$(sqlite3 "$T/a/sdat.db" "SELECT count(*) FROM children")" -eq 1500
check "... the child written again has only its last keys" test \
    "$(sqlite3 "$T/a/sdat.db" "SELECT count(*) FROM child_keys WHERE postcode = 'DE1 1AB'")" -gt 0
check "... and every key row carries its child's columns" test "$(sqlite3 "$T/a/sdat.db" \
    "SELECT count(*) FROM child_keys k JOIN children c USING (child_id) WHERE k.postcode IS NOT c.postcode
     OR k.family_norm <> c.family_norm OR k.given_norm <> c.given_norm OR k.dob <> c.dob")" -eq 0
check "... and the bulk load left every index of the schema" test \
    "$(sqlite3 "$T/a/sdat.db" "SELECT count(*) FROM sqlite_master WHERE name IN ('children_nhs', 'children_upn', 'children_dob', 'child_keys_child')")" -eq 4
check "the imported store is sound" test "$(sqlite3 "$T/a/sdat.db" "PRAGMA integrity_check")" = ok
check "every import's record is audited" test \
    "$(sqlite3 "$T/a/sdat.db" "SELECT count(*) FROM audit WHERE type = 'register.changed'")" -eq 1501
"$SDATCTL" -c "$T/a.conf" audit verify >"$T/verify.out" 2>&1
check "the audit chain of the bulk load verifies" test $? -eq 0

"$SDATCTL" -c "$T/a.conf" match "$T/gen/police.jsonl" >"$T/a.match" 2>"$T/a.match.err"
check "sdatctl match runs on the bulk-loaded store" test $? -eq 0
"$SDATCTL" -c "$T/b.conf" match "$T/gen/police.jsonl" >"$T/b.match" 2>"$T/b.match.err"
check "sdatctl match gives the same decisions on both stores" cmp -s "$T/a.match" "$T/b.match"
check "... and some of them are matches" grep -q '"decision":"match"' "$T/a.match"
echo "# done"
