#!/bin/sh
# R6 (quality.md): two daemons, each with its own store and instance_id, in
# one consumer group on a 3-broker mock cluster, while incidents flow. The
# receiver is down (503) for a while, so that notifications are pending when
# one daemon (A) is killed with SIGKILL: its partitions move to the other
# (B), which processes the incidents produced after the kill; A's pending
# notifications, which only A's store holds, wait for A; an operator asking
# B about one of them gets 404, A answers for it. When A returns it delivers
# them. Nothing is lost (every incident notified by one daemon or the
# other; across instances the guarantee is at least once, so a repeat may
# carry another created_at but the same id and content), and each audit
# chain verifies.
. tests/integration/lib.sh
. tests/integration/reliability.sh
# A commits its offsets every second: incidents whose notifications are
# pending when it is killed are then A's alone (B does not consume them again).
REL_KAFKA_EXTRA=', ( "auto.commit.interval.ms", "1000" )'

start_broker --brokers 3 --partitions 4 --topic police.da-incidents --topic council.children \
    --topic council.cpis-flags --topic health.attendances --topic sdat.dlq || exit 1
check "the mock cluster has 3 brokers" test "$(echo "$BS" | tr ',' '\n' | grep -c .)" -eq 3
rel_setup || { notok "the receiver and the register are set up"; exit 1; }
PA=$(free_port)
PB=$(free_port)
while [ "$PB" = "$PA" ]; do PB=$(free_port); done
rel_conf "$T/a.conf" "$T/state-a" it-a "$PA" sdatd-it-failover
rel_conf "$T/b.conf" "$T/state-b" it-b "$PB" sdatd-it-failover
check "the register is imported into A's store" rel_import "$T/a.conf"
check "and into B's" rel_import "$T/b.conf"

start_sdatd "$T/a.conf" "$T/a.log"
A_PID=$SDATD_PID
start_sdatd "$T/b.conf" "$T/b.log"
B_PID=$SDATD_PID
check "A becomes ready" wait_for 120 ready "$PA"
check "B becomes ready" wait_for 120 ready "$PB"

# partitions PORT: how many partitions of the incident topic the daemon has.
partitions() {
    curl -s --max-time 5 "http://127.0.0.1:$1/metrics" |
        grep -c '^sdat_consumer_lag{.*topic="police.da-incidents"'
}
split() { [ "$(partitions "$PA")" -ge 1 ] && [ "$(partitions "$PB")" -ge 1 ] &&
    [ $(($(partitions "$PA") + $(partitions "$PB"))) -eq 4 ]; }
check "the group splits the 4 partitions between A and B" wait_for 60 split
echo "# partitions: A $(partitions "$PA"), B $(partitions "$PB")"
notified() { # DB: how many notifications the store holds
    n=$(sqlite3 "file:$1?mode=ro" "SELECT count(*) FROM notifications" 2>/dev/null)
    echo "${n:-0}"
}
both_notify() {
    [ "$(notified "$T/state-a/sdat.db")" -gt 0 ] && [ "$(notified "$T/state-b/sdat.db")" -gt 0 ]
}

rel_produce_start R6A 0.2
check "both daemons process incidents" wait_for 60 both_notify
# The receiver goes down: notifications pile up pending in both stores,
# and A commits the offsets of the incidents behind them.
touch "$T/receiver.down"
sleep 5 # not an absence check: notifications pile up while the receiver is down
SDATD_PID=$A_PID
kill9_sdatd
check "A is killed with SIGKILL (exit $STOP_RC)" test "$STOP_RC" -eq 137
rel_produce_stop
mv "$T/fed.tsv" "$T/fed-before.tsv"

all_to_b() { [ "$(partitions "$PB")" -eq 4 ]; }
check "A's partitions move to B" wait_for 60 all_to_b
rel_produce_start R6B 0.2
sleep 6 # not an absence check: B alone takes incidents for a while
rel_produce_stop
rm -f "$T/receiver.down"
# B alone: every incident produced after the kill is notified by B.
after_kill_by_b() {
    python3 "$RELY" account "$T" --sent "$T/fed.tsv" --received "$T/recv.log" \
        --db "$T/state-b/sdat.db" --quiet 2>/dev/null
}
check "B notifies every incident produced after the kill ($(fed_count)), on all partitions" \
    wait_slowly 120 after_kill_by_b
mv "$T/fed.tsv" "$T/fed-after.tsv"
cat "$T/fed-before.tsv" "$T/fed-after.tsv" >"$T/fed.tsv"

# A's pending notifications: undelivered in A's store and unknown to B's.
sqlite3 "file:$T/state-a/sdat.db?mode=ro" \
    "SELECT id FROM notifications WHERE state NOT IN ('delivered', 'acknowledged') ORDER BY id" \
    >"$T/a-pending.txt"
sqlite3 "file:$T/state-b/sdat.db?mode=ro" "SELECT id FROM notifications ORDER BY id" >"$T/b-ids.txt"
comm -23 "$T/a-pending.txt" "$T/b-ids.txt" >"$T/a-only.txt"
a_only=$(grep -c . "$T/a-only.txt")
check "A was killed with notifications pending that only its store holds ($a_only)" \
    test "$a_only" -gt 0
delivered() { # IDFILE: how many of the ids listed were accepted (2xx) by the receiver
    python3 - "$T/recv.log" "$1" <<'PY'
import json, sys
ok = {q["idempotency_key"] for q in map(json.loads, open(sys.argv[1]))
      if 200 <= q.get("code", 200) < 300}
print(sum(1 for line in open(sys.argv[2]) if line.strip() in ok))
PY
}
all_delivered() { [ "$(delivered "$1")" -eq "$(grep -c . "$1")" ]; }
first=$(head -n 1 "$T/a-only.txt")
check "while A is down, none of its pending notifications is delivered" \
    test "$(delivered "$T/a-only.txt")" -eq 0
status() { # PORT ID: the operator API's status for that notification
    curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" \
        "http://127.0.0.1:$1/v1/notifications/$2"
}
check "B answers 404 for a notification that A owns" test "$(status "$PB" "$first")" = 404

start_sdatd "$T/a.conf" "$T/a.log"
A_PID=$SDATD_PID
check "A becomes ready again" wait_for 120 ready "$PA"
check "A answers 200 for its own notification" test "$(status "$PA" "$first")" = 200
check "when A returns, its pending notifications are delivered ($a_only)" \
    wait_slowly 120 all_delivered "$T/a-only.txt"
check "everything is delivered by one daemon or the other" \
    rel_drained 180 "$T/state-a/sdat.db" "$T/state-b/sdat.db"
check "the group has A and B again" wait_for 60 split
SDATD_PID=$A_PID
stop_sdatd
check "A stops with exit 0" test "$STOP_RC" -eq 0
SDATD_PID=$B_PID
stop_sdatd
check "B stops with exit 0" test "$STOP_RC" -eq 0
check "the incident topic holds every incident fed ($(fed_count))" rel_sent
rel_account --db "$T/state-a/sdat.db:it-a" --db "$T/state-b/sdat.db:it-b" --cross-instance \
    --label "A killed and restarted"
if "$SDATCTL" -h 2>&1 | grep -q "audit verify"; then
    "$SDATCTL" -c "$T/a.conf" audit verify >"$T/verify-a.out" 2>&1
    check "sdatctl audit verify passes for A" test $? -eq 0
    "$SDATCTL" -c "$T/b.conf" audit verify >"$T/verify-b.out" 2>&1
    check "sdatctl audit verify passes for B" test $? -eq 0
fi
check "no name, date of birth or NHS number of the register in the daemons' logs" \
    rel_log_clean "$T/a.log" "$T/b.log"
echo "# done"
