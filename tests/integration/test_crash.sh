#!/bin/sh
# R1 (quality.md): sdatd killed with SIGKILL at random moments while
# incidents flow and an HTTPS webhook receives. A standalone broker (4
# partitions), a synthetic register whose children go to three schools and
# the MASH, a producer (kcat) that never stops during the kills. After
# SDAT_KILLS kills (3 in make check, 24 in make soak) one last start drains
# everything; then: every notification the incidents call for was received,
# none lost, none to a wrong recipient, repeats only under the same
# Idempotency-Key with the same body, nothing dead-lettered, and the audit
# chain verifies. Prints the counts (kills, sent, delivered, repeats, lost,
# misdirected).
# P8 (quality.md): after each restart that follows a kill, the time from
# the start until consumption resumed, with the daemon's default session
# and static membership (no session property in its configuration), and a
# check that none took longer than 15 s. Resumed means the new process has
# consumed an incident (sdat_events_total on /metrics): /readyz says only
# that partitions are assigned, not that a message has been read from them.
. tests/integration/lib.sh
. tests/integration/reliability.sh

KILLS=${SDAT_KILLS:-3}
SEED=${SDAT_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
REL_SEED=$SEED
echo "# kills $KILLS, seed $SEED (SDAT_SEED=$SEED repeats the kill moments and the incidents)"

start_broker --partitions 4 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags --topic health.attendances --topic sdat.dlq || exit 1
rel_setup || { notok "the receiver and the register are set up"; exit 1; }
HPORT=$(free_port)
REL_KAFKA_SESSION=default rel_conf "$T/sdatd.conf" "$T/state" it-crash "$HPORT"
check "sdatd -t accepts the configuration" "$SDATD" -t -c "$T/sdatd.conf"
check "the synthetic register is imported" rel_import "$T/sdatd.conf"

# The kill moments: a random 0.3-2 s after the daemon became ready (it
# consumes, delivers, commits); every third one after it was started, so
# that some land in its start-up (store open, requeue, group join).
awk -v seed="$SEED" -v n="$KILLS" \
    'BEGIN { srand(seed); for (i = 0; i < n; i++) printf "%.2f\n", 0.3 + rand() * 1.7 }' \
    >"$T/moments"

# consumed: the running daemon has consumed an incident since it started
# (its counters start at zero).
consumed() {
    curl -s --max-time 5 "http://127.0.0.1:$HPORT/metrics" |
        grep -q '^sdat_events_total{.*topic="police.da-incidents".*} [1-9]'
}
now_s() { date +%s.%N; }
# measure_resume N: waits (up to 120 s) until the daemon started at
# $STARTED consumes; prints and keeps the time in $T/resume.
measure_resume() {
    if wait_for 120 consumed; then
        took=$(awk -v a="$STARTED" -v b="$(now_s)" 'BEGIN { printf "%.1f", b - a }')
    else
        took=never
    fi
    echo "# resume after $1: $took s"
    echo "$took" >>"$T/resume"
}
: >"$T/resume"

rel_produce_start R1 0.2
kill_n=0
unready=0
sigkilled=0
while [ "$kill_n" -lt "$KILLS" ]; do
    kill_n=$((kill_n + 1))
    moment=$(sed -n "${kill_n}p" "$T/moments")
    STARTED=$(now_s)
    start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
    if [ $((kill_n % 3)) -ne 0 ]; then
        [ "$kill_n" -gt 1 ] && measure_resume "kill $((kill_n - 1))"
        wait_for 120 ready "$HPORT" || unready=$((unready + 1))
    fi
    sleep "$moment"
    kill9_sdatd
    [ "$STOP_RC" -eq 137 ] && sigkilled=$((sigkilled + 1))
    echo "# kill $kill_n: $(fed_count) incidents fed, $(requests) requests received"
done
check "the daemon became ready before each kill timed from readiness ($unready did not)" \
    test "$unready" -eq 0
check "every kill ended the daemon by SIGKILL ($sigkilled of $KILLS: exit 137)" \
    test "$sigkilled" -eq "$KILLS"

# Incidents keep coming for a moment after the last kill, then stop.
STARTED=$(now_s)
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
measure_resume "kill $KILLS"
check "the daemon is ready after $KILLS kills" wait_for 120 ready "$HPORT"
resumed_in_time() { [ -s "$T/resume" ] && awk '$1 == "never" || $1 > 15 { bad = 1 } END { exit bad }' "$T/resume"; }
check "P8: after every kill consumption resumed within 15 s of the restart ($(paste -sd' ' "$T/resume") s)" \
    resumed_in_time

# A clean restart (issue 25): SIGTERM, then start again while incidents
# still flow. The stopping consumer leaves the group (its log says so), so
# the new one waits out no session. On the mock cluster a group's first join
# still waits 3 s (as group.initial.rebalance.delay.ms on a broker); the
# figure is printed (the target is 5 s from the start), the check is P8's
# bound, as a time asserted under a loaded CI machine would only be noise.
stop_sdatd
check "SIGTERM before the clean restart exits 0" test "$STOP_RC" -eq 0
check "  and the stopping daemon left the consumer group" \
    grep -q "kafka: left the consumer group: partitions revoked, offsets committed" "$T/sdatd.log"
: >"$T/resume"
STARTED=$(now_s)
start_sdatd "$T/sdatd.conf" "$T/sdatd.log"
measure_resume "a clean stop"
check "a clean restart is consuming again within P8's 15 s ($(cat "$T/resume") s; target 5 s)" \
    resumed_in_time
check "  its log says it waited for partitions and how long the assignment took" \
    sh -c 'grep -q "kafka: subscribed as group .* waiting for partition assignment" "$1" &&
        grep -q "kafka: assigned [0-9]* partitions\{0,1\}, [0-9]*\.[0-9] s after waiting began" "$1"' \
    sh "$T/sdatd.log"
grep -o 'assigned [0-9]* partitions*, [0-9.]* s after waiting began' "$T/sdatd.log" | tail -n 1 |
    sed 's/^/# last start: /'
sleep 1 # not an absence check: incidents keep flowing after the last start
rel_produce_stop
check "the incident topic holds every incident fed ($(fed_count))" rel_sent
check "everything is delivered after the last start" rel_drained 240 "$T/state/sdat.db"
stop_sdatd
check "SIGTERM stops the daemon with exit 0" test "$STOP_RC" -eq 0

rel_account --db "$T/state/sdat.db:it-crash" --label "$KILLS kills" | tee "$T/account.out"
no_crash() { ! grep -Eq 'AddressSanitizer|runtime error:|Segmentation fault|Assertion .* failed' "$1"; }
check "the daemon's log shows no crash of its own (sanitizer report, segfault, assertion)" \
    no_crash "$T/sdatd.log"
"$SDATCTL" -c "$T/sdatd.conf" audit verify >"$T/verify.out" 2>&1
check "sdatctl audit verify passes after $KILLS kills" test $? -eq 0
# The audit mirror after the kills: every record of the chain is on the
# audit topic under it-crash/SEQ with its stored bytes (repeats allowed,
# gaps not), and nothing waits after the clean stop.
kcat -C -b "$BS" -t sdat.audit -e -q -f '%k\t%s\n' >"$T/mirror.tsv" 2>>"$T/kcat.err"
sqlite3 "$T/state/sdat.db" "SELECT record FROM audit ORDER BY seq" >"$T/audit.jsonl"
python3 - "$T/audit.jsonl" "$T/mirror.tsv" "$(sqlite3 "$T/state/sdat.db" "SELECT count(*) FROM audit_unmirrored")" <<'PY' && ok "the audit topic holds every record by seq after $KILLS kills (repeats allowed, no gaps)" || notok "the audit topic holds every record by seq after $KILLS kills (repeats allowed, no gaps)"
import sys
stored = open(sys.argv[1]).read().splitlines()
seen, repeats = {}, 0
for line in open(sys.argv[2]):
    key, value = line.rstrip("\n").split("\t", 1)
    inst, seq = key.split("/")
    assert inst == "it-crash", key
    seq = int(seq)
    assert value == stored[seq - 1], seq
    repeats += seq in seen
    seen[seq] = True
assert sys.argv[3] == "0", sys.argv[3]
missing = sorted(set(range(1, len(stored) + 1)) - set(seen))
assert not missing, missing[:10]
print("# audit mirror: %d records, %d repeats" % (len(stored), repeats))
PY
check "no name, date of birth or NHS number of the register in the daemon's log" \
    rel_log_clean "$T/sdatd.log"
echo "# done"
