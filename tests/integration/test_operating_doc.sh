#!/bin/sh
# docs/OPERATING.md's command lines, run as written (issue 25): each code
# block of the document is marked run or skip-with-a-reason
# (tests/integration/operating_doc.py reads the marks and fails on a block
# without one), and every line of a run block is run, as the account the
# document names, against a scratch install made by the document's own
# `make install`, with the systemd-credentials layout it recommends
# (key files in /etc/sdat/keys, owned by sdat; the configuration names them
# "$CREDENTIALS_DIRECTORY/keys_NAME"). Each must exit 0. Excused lines are
# printed with their reason, and counted.
#
# What the test changes, mechanically, and nothing else:
# - Paths (operating_doc.py --map): /etc/sdat, /var/lib/sdat,
#   /var/spool/sdat and /var/backups/sdat become the same paths under the
#   scratch root $ROOT; `make install` takes DESTDIR=$ROOT and
#   BUILD=$SDAT_BUILD from the environment; PATH starts with $T/bin (the
#   stand-ins below), then $ROOT/usr/bin and $ROOT/usr/sbin.
# - Example values: https://sdat.mash.example.org is the scratch daemon's
#   URL (http on loopback: TLS is test_operator.sh's); r_… is the next open
#   review item; DC-0042 the twin TW-2; dead letter 42 the one the test made.
# - Stand-ins in $T/bin: `sudo [-u USER]` (CI has no sudo; we are root) runs
#   the command as USER through setpriv; `sdatctl` without -c, --url or
#   SDAT_URL reads $ROOT/etc/sdat/sdatd.conf (its built-in default is the
#   real /etc/sdat/sdatd.conf); `systemd-sysusers` applies the installed
#   sysusers file to this machine (it makes the user sdat, removed at the
#   end if it did not exist); `systemd-tmpfiles` works in --root=$ROOT,
#   where it sees this machine's sdat user; $EDITOR "pastes" the token root
#   handed over.
# - What a person does between lines: "then edit it" writes the test's
#   configuration; the unit's start (`systemctl enable --now`, excused: no
#   systemd as PID 1) is the installed daemon run as sdat with
#   CREDENTIALS_DIRECTORY holding keys_NAME copies of /etc/sdat/keys, as
#   LoadCredential=keys:/etc/sdat/keys does; "add the second line to
#   http.tokens" and "fix the directory (and reload)" edit the configuration
#   and send SIGHUP; the incidents behind the review items and the dead
#   letter are published by the test. The operator account (sdat) has an
#   operator token in $SDAT_TOKEN, as the document's prose says.
#
# It needs root (the accounts sdat and j.smith); one run at a time (the
# account names are fixed). Not root: the whole test is a skip.
. tests/integration/lib.sh

if [ "$(id -u)" -ne 0 ]; then
    echo "skip: test_operating_doc.sh runs OPERATING.md as the accounts it names, which needs root"
    echo "# done"
    exit 0
fi
exec 9>/tmp/sdat-it-operating-doc.lock
flock 9

SRC=$(pwd)
ROOT="$T/root"
BIN="$T/bin"
WORK="$T/work"
chmod 0711 "$T"
mkdir -p "$ROOT" "$BIN" "$WORK" "$T/env" "$T/out" "$T/handover" "$T/creds"
chmod 0755 "$BIN" "$WORK"
chmod 0711 "$T/env" "$T/handover"
# MAKEFLAGS stays: under make check-asan it carries BUILD and SANITIZE, so
# that the document's `make` finds that build up to date (run by hand with a
# sanitized SDAT_BUILD, set SANITIZE as it was built).
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# --- Accounts: sdat (made by the document's systemd-sysusers) and j.smith --
MADE_USERS=""
id sdat >/dev/null 2>&1 || MADE_USERS="sdat"
if ! id j.smith >/dev/null 2>&1; then
    useradd -M -d "$T/home/j.smith" -s /bin/sh -c "sdat integration test" j.smith && MADE_USERS="$MADE_USERS j.smith"
fi
mkdir -p "$T/home/j.smith"
chown j.smith: "$T/home/j.smith"
chmod 0700 "$T/home/j.smith"
opsdoc_cleanup() {
    [ -n "${SDATD_PID:-}" ] && kill "$SDATD_PID" 2>/dev/null && wait "$SDATD_PID" 2>/dev/null
    for u in $MADE_USERS; do
        userdel "$u" 2>/dev/null
        getent group "$u" >/dev/null 2>&1 && groupdel "$u" 2>/dev/null
    done
    cleanup
}
trap opsdoc_cleanup EXIT
trap 'exit 143' TERM INT HUP

# --- Stand-ins -------------------------------------------------------------
cat >"$BIN/sudo" <<'SH'
#!/bin/sh
# sudo [-u USER] COMMAND...: as USER (root by default), through setpriv.
if [ "$1" = -u ]; then
    u=$2
    shift 2
    exec setpriv --reuid="$u" --regid="$(id -g "$u")" --init-groups \
        env HOME="$(getent passwd "$u" | cut -d: -f6)" USER="$u" LOGNAME="$u" "$@"
fi
exec "$@"
SH
cat >"$BIN/sdatctl" <<SH
#!/bin/sh
# sdatctl: the installed one; its default configuration is the scratch root's.
for a in "\$@"; do
    case "\$a" in -c | --url | --url=*) exec "$ROOT/usr/bin/sdatctl" "\$@" ;; esac
done
[ -n "\${SDAT_URL:-}" ] && exec "$ROOT/usr/bin/sdatctl" "\$@"
exec "$ROOT/usr/bin/sdatctl" -c "$ROOT/etc/sdat/sdatd.conf" "\$@"
SH
cat >"$BIN/systemd-sysusers" <<SH
#!/bin/sh
# systemd-sysusers: the installed sysusers.d file, applied to this machine.
exec "$(command -v systemd-sysusers)" "\$@" "$ROOT"/usr/lib/sysusers.d/*.conf
SH
cat >"$BIN/systemd-tmpfiles" <<SH
#!/bin/sh
# systemd-tmpfiles in the scratch root, where this machine's sdat user is.
mkdir -p "$ROOT/etc"
getent passwd sdat >>"$ROOT/etc/passwd"
getent group sdat >>"$ROOT/etc/group"
exec "$(command -v systemd-tmpfiles)" --root="$ROOT" "\$@"
SH
cat >"$BIN/paste-token" <<SH
#!/bin/sh
# \$EDITOR FILE: pastes the token root handed to this account.
cat "$T/handover/\$(id -un)" >"\$1"
SH
chmod 0755 "$BIN"/*
PATH="$BIN:$ROOT/usr/bin:$ROOT/usr/sbin:$PATH"
DESTDIR="$ROOT"
BUILD="$SDAT_BUILD"
export PATH DESTDIR BUILD
printf 'export EDITOR=%s\n' "$BIN/paste-token" >"$T/env/j.smith"
chown j.smith "$T/env/j.smith"

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
OPS_TOKEN="ops-$(openssl rand -hex 16)"
OPS_DIGEST=$(printf '%s' "$OPS_TOKEN" | sha256sum | cut -d' ' -f1)
printf 'export SDAT_TOKEN=%s\n' "$OPS_TOKEN" >"$T/env/sdat.seed"
# The register the document imports (register.jsonl, in the working
# directory): twins at one address, whom an incident cannot tell apart.
cat >"$WORK/register.jsonl" <<'JSONL'
{"schema":"council.child/1","child_id":"TW-1","la_code":"831","given_name":"Fenna","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100001","start":"2025-09-01"}]}
{"schema":"council.child/1","child_id":"TW-2","la_code":"831","given_name":"Fenn","family_name":"Twinsworth","dob":"2017-01-01","address":{"line1":"6 Example Street","postcode":"DE23 6AA"},"education":[{"urn":"100002","start":"2025-09-01"}]}
JSONL
chmod 0644 "$WORK/register.jsonl"

# "then edit it": the test's configuration, in the layout the document
# recommends. EXTRA_TOKENS and FORCES change later, as a person would.
EXTRA_TOKENS=""
FORCES='{ id = "derbyshire"; default_area = "831"; }'
write_conf() {
    cat >"$ROOT/etc/sdat/sdatd.conf" <<CONF
state_dir = "$ROOT/var/lib/sdat";
instance_id = "it-opsdoc";
kafka = { embedded = true; group_id = "sdatd"; };
http = { listen = "127.0.0.1:$PORT"; public_url = "http://127.0.0.1:$PORT";
         ack_key_file = "\$CREDENTIALS_DIRECTORY/keys_ack";
         tokens = ( { name = "mash-desk"; sha256 = "$OPS_DIGEST"; roles = [ "operator" ]; }$EXTRA_TOKENS ); };
audit = { checkpoint_key_file = "\$CREDENTIALS_DIRECTORY/keys_audit"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59"; terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22", "DE23" ]; mash = "la:831:mash"; } );
forces = ( $FORCES );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "100001";
    calendar = "always"; connector = "file"; directory = "$ROOT/var/spool/sdat"; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Infant"; urn = "100002";
    calendar = "always"; connector = "file"; directory = "$ROOT/var/spool/sdat"; },
  { id = "school:112233"; kind = "school"; la_code = "831"; name = "Example Primary"; urn = "112233";
    calendar = "always"; connector = "file"; directory = "$ROOT/var/spool/sdat"; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$ROOT/var/spool/sdat"; }
);
CONF
    chmod 0644 "$ROOT/etc/sdat/sdatd.conf"
}

# as_sdat COMMAND...: as the daemon's account.
as_sdat() { setpriv --reuid=sdat --regid="$(id -g sdat)" --init-groups "$@"; }
reloads() { grep -c 'config: reloaded' "$T/sdatd.log" 2>/dev/null; }
# reload: SIGHUP (systemctl reload's second step) and wait for the log line.
reload() {
    before=$(reloads)
    kill -HUP "$SDATD_PID"
    wait_for 30 sh -c "[ \"\$(grep -c 'config: reloaded' '$T/sdatd.log')\" -gt $before ]"
}
ready() { [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/readyz")" = 200 ]; }
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
incident() { # FORCE ID POSTCODE
    printf '{"schema":"police.da-incident/1","force":"%s","incident_id":"%s","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"6 Example Street","postcode":"%s"},"risk":"medium","children":[{"ref":"c1","given_name":"Fen","family_name":"Twinsworth","dob":"2017-01-01","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
        "$1" "$2" "$NOW" "$NOW" "$3"
}
review_ids() {
    as_sdat "$BIN/sdatctl" reviews --json 2>/dev/null |
        python3 -c 'import json, sys; print(" ".join(json.loads(l)["review_id"] for l in sys.stdin if l.strip()))'
}
three_reviews() { [ "$(review_ids | wc -w)" -ge 3 ]; }
dead_letter() {
    as_sdat "$BIN/sdatctl" dlq --json 2>/dev/null |
        python3 -c 'import json, sys; print(next((str(json.loads(l)["id"]) for l in sys.stdin if l.strip()), ""))'
}
has_dead_letter() { [ -n "$(dead_letter)" ]; }

# wait_secs SECONDS COMMAND...: polls until the command succeeds (each
# try here takes a while: lib.sh's wait_for counts tries).
wait_secs() {
    end=$(($(date +%s) + $1))
    shift
    until "$@"; do
        [ "$(date +%s)" -lt "$end" ] || return 1
        sleep 0.5
    done
}

# start_unit: the unit's start, as sdatd.service does it: the installed
# daemon as sdat, the keys as credentials keys_NAME (owner-only copies).
start_unit() {
    for k in "$ROOT"/etc/sdat/keys/*; do
        install -m 0400 -o sdat -g sdat "$k" "$T/creds/keys_$(basename "$k")"
    done
    chown sdat: "$T/creds"
    chmod 0500 "$T/creds"
    (cd / && exec setpriv --reuid=sdat --regid="$(id -g sdat)" --init-groups \
        env CREDENTIALS_DIRECTORY="$T/creds" "$ROOT/usr/sbin/sdatd" -c "$ROOT/etc/sdat/sdatd.conf") \
        2>>"$T/sdatd.log" &
    SDATD_PID=$!
    check "the daemon (the unit's stand-in) becomes ready" wait_for 90 ready
    # Three incidents about a twin the register cannot tell apart (three
    # review items), and one from a force the directory does not know (a
    # dead letter, stage routing).
    { incident derbyshire R-1 "DE23 6AA"; incident derbyshire R-2 "DE23 6AA"
        incident derbyshire R-3 "DE23 6AA"; incident staffordshire S-1 "ST4 1AA"; } >"$WORK/incidents.jsonl"
    as_sdat "$BIN/sdatctl" --keys "$ROOT/etc/sdat/keys" publish --topic police.da-incidents "$WORK/incidents.jsonl" >"$T/publish.out" 2>&1
    check "the test's incidents are published" test $? -eq 0 || sed 's/^/#   /' "$T/publish.out"
    check "three review items are open" wait_secs 60 three_reviews
    check "one incident is dead-lettered" wait_secs 60 has_dead_letter
    REVIEWS=$(review_ids)
    FIRST_REVIEWS=$REVIEWS
    cp "$T/env/sdat.seed" "$T/env/sdat"
    chown sdat "$T/env/sdat"
}

# --- Hooks: what a person does before or after a line ----------------------
before_line() {
    case "$1" in
    "sdatctl reviews"*)
        [ -n "${SDATD_PID:-}" ] || start_unit
        ;;
    "sdatctl dlq replay"*)
        # "after fixing the directory (and reloading)"
        FORCES='{ id = "derbyshire"; default_area = "831"; }, { id = "staffordshire"; default_area = "831"; }'
        write_conf
        check "  (the directory is fixed and reloaded)" reload
        SDAT_DOC_DLQ=$(dead_letter)
        export SDAT_DOC_DLQ
        ;;
    esac
    # shellcheck disable=SC2016 # the mapped command holds the name itself
    case "$1" in
    *'$SDAT_DOC_REVIEW'*)
        # r_… is the next open review item.
        # shellcheck disable=SC2086 # the ids, one word each
        set -- $REVIEWS
        SDAT_DOC_REVIEW=$1
        shift
        REVIEWS="$*"
        export SDAT_DOC_REVIEW
        ;;
    esac
}
after_line() { # COMMAND OUTPUT
    case "$1" in
    "sudo cp /etc/sdat/sdatd.conf.example"* | "sudo cp $ROOT/etc/sdat/sdatd.conf.example"*)
        write_conf
        ;;
    "sdatctl token new j.smith"*)
        # "give j.smith the first line, add the second to http.tokens" (and
        # reload: systemctl reload is sdatd -t, then SIGHUP)
        head -n 1 "$2" >"$T/handover/j.smith"
        chown j.smith "$T/handover/j.smith"
        chmod 0600 "$T/handover/j.smith"
        EXTRA_TOKENS=", $(sed -n 2p "$2")"
        write_conf
        as_sdat "$ROOT/usr/sbin/sdatd" -t --keys "$ROOT/etc/sdat/keys" -c "$ROOT/etc/sdat/sdatd.conf" \
            >"$T/reload-check.out" 2>&1 && reload
        check "  (j.smith's token is in http.tokens, reloaded)" test $? -eq 0
        ;;
    esac
}

# run_line USER DIR COMMAND OUTPUT: the command in sh as USER, in DIR, with
# what that account exported in its earlier lines (but the SDAT_DOC_ values
# of this line: the test's); its exit code.
run_line() {
    envf="$T/env/$1"
    [ -f "$envf" ] || { : >"$envf" && chown "$1" "$envf"; }
    # shellcheck disable=SC2016 # expanded by the inner shell
    script='f=$1; d=$2; c=$3; . "$f"; cd "$d" || exit 97; eval "$c"; rc=$?; export -p | grep -v "^export SDAT_DOC_" >"$f"; exit $rc'
    if [ "$1" = root ]; then
        sh -c "$script" sh "$envf" "$2" "$3" >"$4" 2>&1
    else
        setpriv --reuid="$1" --regid="$(id -g "$1")" --init-groups \
            env HOME="$(getent passwd "$1" | cut -d: -f6)" USER="$1" LOGNAME="$1" \
            sh -c "$script" sh "$envf" "$2" "$3" >"$4" 2>&1
    fi
}

# --- The plan, from the document ------------------------------------------
# shellcheck disable=SC2016 # $SDAT_DOC_…: expanded when the line runs
python3 tests/integration/operating_doc.py docs/OPERATING.md \
    --map "/etc/sdat=$ROOT/etc/sdat" --map "/var/lib/sdat=$ROOT/var/lib/sdat" \
    --map "/var/spool/sdat=$ROOT/var/spool/sdat" --map "/var/backups/sdat=$ROOT/var/backups/sdat" \
    --map "https://sdat.mash.example.org=http://127.0.0.1:$PORT" \
    --map 'r_…=$SDAT_DOC_REVIEW' --map "DC-0042=TW-2" --map 'dlq replay 42=dlq replay $SDAT_DOC_DLQ' \
    >"$T/plan.tsv"
plan_rc=$?
grep '^error' "$T/plan.tsv" | sed 's/^error\t/# OPERATING.md line /'
check "every code block of OPERATING.md is marked run or skip (with a reason)" test "$plan_rc" -eq 0
[ "$plan_rc" -eq 0 ] || { echo "# done"; exit 0; }
# The marks are checked: a new unmarked block, or a line skip that excuses
# nothing, fails.
# shellcheck disable=SC2016 # Markdown's backquotes
{ cat docs/OPERATING.md; printf '\nNew text.\n\n```sh\nsdatctl status\n```\n'; } >"$T/unmarked.md"
python3 tests/integration/operating_doc.py "$T/unmarked.md" >"$T/unmarked.plan"
check "  and a new code block without a mark fails the test" \
    sh -c "[ $? -eq 1 ] && grep -q '^error.*needs exactly one' '$T/unmarked.plan'"
sed 's|^<!-- test: skip "make deps":|<!-- test: skip "make depz":|' docs/OPERATING.md >"$T/stale.md"
python3 tests/integration/operating_doc.py "$T/stale.md" >"$T/stale.plan"
check "  and so does a line skip that matches no line" \
    sh -c "[ $? -eq 1 ] && grep -q 'no line starts with \"make depz\"' '$T/stale.plan'"

ran=0
excused=0
blocks_run=0
blocks_skipped=0
TAB=$(printf '\t')
while IFS="$TAB" read -r kind n ln a b c; do
    case "$kind" in
    block)
        if [ "$a" = run ]; then
            blocks_run=$((blocks_run + 1))
        else
            blocks_skipped=$((blocks_skipped + 1))
            echo "# excused: block $n (OPERATING.md:$ln): $b"
        fi
        ;;
    excuse)
        excused=$((excused + 1))
        echo "# excused: OPERATING.md:$ln: $b"
        echo "#     ($a)"
        ;;
    line)
        user=$a
        dir=$WORK
        [ "$b" = source ] && dir=$SRC
        cmd=$c
        before_line "$cmd" </dev/null
        out="$T/out/$ln.out"
        run_line "$user" "$dir" "$cmd" "$out" </dev/null
        rc=$?
        ran=$((ran + 1))
        if [ "$rc" -eq 0 ]; then
            ok "OPERATING.md:$ln as $user: $cmd"
        else
            notok "OPERATING.md:$ln as $user: $cmd (exit $rc)"
            tail -n 15 "$out" | sed 's/^/#   /'
        fi
        after_line "$cmd" "$out" </dev/null
        ;;
    esac
done <"$T/plan.tsv"

# What the lines did, beyond their exit codes.
check "the MASH team lead's account cannot read the configuration (the lines above did not need it)" \
    sh -c "! setpriv --reuid=j.smith --regid=\$(id -g j.smith) --init-groups cat '$ROOT/etc/sdat/sdatd.conf' 2>/dev/null"
check "j.smith's token file is theirs, mode 0600" \
    test "$(stat -c '%U %a' "$T/home/j.smith/.sdat-token" 2>/dev/null)" = "j.smith 600"
check "the store is the daemon's (no file in state_dir owned by root)" \
    test -z "$(find "$ROOT/var/lib/sdat" -user root 2>/dev/null)"
check "the backup is a file of mode 0600, the sdat account's" \
    test "$(stat -c '%U %a' "$ROOT/var/backups/sdat/sdat-$(date +%F).db" 2>/dev/null)" = "sdat 600"
open_now=" $(review_ids) "
left=0
for r in $FIRST_REVIEWS; do
    case "$open_now" in *" $r "*) left=$((left + 1)) ;; esac
done
check "the three review items were decided by the lines above ($left left open)" test "$left" -eq 0
echo "# OPERATING.md: $blocks_run blocks run ($ran command lines), $blocks_skipped blocks excused, $excused lines excused"
echo "# done"
