# Shared by the reliability tests (quality.md R1, R2, R5, R6), sourced after
# lib.sh: a recording HTTPS receiver standing for every school and the MASH,
# a synthetic register, a directory whose calendars are always open, a
# producer of incidents that runs in the background, and the accounting
# (tests/integration/reliability.py).
RELY=tests/integration/reliability.py
# Loopback only: no proxy from the environment.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

# rel_setup: a CA made for this run, the signing secret, an operator token
# (TOKEN, in $T/token; its digest in DIGEST), the receiver (its
# port in RPORT; every request recorded in $T/recv.log with the code
# answered; 503 to all while $T/receiver.down exists) and the register
# ($T/register.jsonl, $T/world.json).
rel_setup() {
    sh scripts/test-ca.sh "$T" || return 1
    printf 'whsec-%s\n' "$(openssl rand -hex 16)" >"$T/secret" && chmod 600 "$T/secret"
    TOKEN="ops-$(openssl rand -hex 16)"
    printf '%s\n' "$TOKEN" >"$T/token" && chmod 600 "$T/token"
    DIGEST=$(printf '%s' "$TOKEN" | sha256sum | cut -d' ' -f1)
    # A tenth of a second per answer (8 deliveries in flight at once): a
    # kill often lands while some are in flight, and they are repeated.
    python3 tests/integration/https_receiver.py --port-file "$T/recv.port" --log "$T/recv.log" \
        --cert "$T/server.pem" --key "$T/server.key" \
        --script "201;sleep=${REL_RECEIVER_SLEEP:-0.1}" --down-file "$T/receiver.down" \
        2>>"$T/recv.err" &
    PIDS="$PIDS $!"
    wait_for 10 test -s "$T/recv.port" || return 1
    RPORT=$(cat "$T/recv.port")
    python3 "$RELY" world "$T" --children "${REL_CHILDREN:-40}"
}

# free_port: a TCP port free on loopback at this moment.
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])'
}

# rel_conf FILE STATE_DIR INSTANCE HTTP_PORT [GROUP]: a daemon's configuration.
# Three schools and the MASH on webhooks (one receiver, a path each);
# calendars open all day every day, so that a school's notification is due
# at once at any hour. The short consumer session lets a group notice a
# killed member within seconds instead of 45. REL_KAFKA_SESSION=default
# leaves the session to the daemon's defaults (the crash test measures
# them). REL_KAFKA_EXTRA adds properties: ', ( "NAME", "VALUE" )'.
rel_conf() {
    rel_props='( "session.timeout.ms", "3000" ), ( "heartbeat.interval.ms", "300" )'
    rel_extra=${REL_KAFKA_EXTRA:-}
    if [ "${REL_KAFKA_SESSION:-}" = default ]; then
        rel_props=""
        rel_extra=${rel_extra#*,}
    fi
    cat >"$1" <<CONF
state_dir = "$2";
instance_id = "$3";
log_level = "info";
kafka = { bootstrap_servers = "$BS"; group_id = "${5:-sdatd-it-reliability}";
          properties = ( $rel_props $rel_extra ); };
http = { listen = "127.0.0.1:$4";
         tokens = ( { name = "ops"; sha256 = "$DIGEST"; roles = [ "operator", "metrics" ]; } ); };
delivery = { concurrency = 8; retry_initial = 0.2; retry_max = 2; circuit_failures = 50; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE21", "DE22" ];
            mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary One"; urn = "100001";
    calendar = "always"; connector = "webhook"; url = "https://127.0.0.1:$RPORT/school/100001";
    secret_file = "$T/secret"; ca_file = "$T/ca.pem"; timeout = 10; },
  { id = "school:100002"; kind = "school"; la_code = "831"; name = "Test Primary Two"; urn = "100002";
    calendar = "always"; connector = "webhook"; url = "https://127.0.0.1:$RPORT/school/100002";
    secret_file = "$T/secret"; ca_file = "$T/ca.pem"; timeout = 10; },
  { id = "school:100003"; kind = "school"; la_code = "831"; name = "Test Academy Three"; urn = "100003";
    calendar = "always"; connector = "webhook"; url = "https://127.0.0.1:$RPORT/school/100003";
    secret_file = "$T/secret"; ca_file = "$T/ca.pem"; timeout = 10; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "webhook";
    url = "https://127.0.0.1:$RPORT/la/831/mash"; secret_file = "$T/secret"; ca_file = "$T/ca.pem";
    timeout = 10; }
);
CONF
}

# rel_import CONF: the register into that configuration's store.
rel_import() {
    "$SDATCTL" -c "$1" import children "$T/register.jsonl" >"$T/import.out" 2>&1 &&
        grep -q "imported ${REL_CHILDREN:-40} children, rejected 0" "$T/import.out"
}

# rel_produce_start PREFIX INTERVAL [MAX]: incidents flow in the background,
# one every INTERVAL seconds (MAX of them, or until rel_produce_stop), through
# one long-running producer; each line fed is kept in $T/fed.tsv. REL_SEED
# makes the incidents repeatable. The producer is kcat (an independent
# client), or with REL_PRODUCER=sdatctl `sdatctl publish` (an idempotent
# librdkafka producer that waits for a broker that is down: kcat terminates
# when all brokers are down).
rel_produce_start() {
    rm -f "$T/feed.stop"
    if [ "${REL_PRODUCER:-kcat}" = sdatctl ]; then
        python3 "$RELY" feed "$T" "$1" "$T/feed.stop" --interval "$2" --max "${3:-0}" \
            ${REL_SEED:+--seed "$REL_SEED"} --values --log "$T/fed.tsv" |
            "$SDATCTL" -c "$T/sdatd.conf" publish --topic police.da-incidents \
                >>"$T/publish.out" 2>>"$T/publish.err" &
    else
        python3 "$RELY" feed "$T" "$1" "$T/feed.stop" --interval "$2" --max "${3:-0}" \
            ${REL_SEED:+--seed "$REL_SEED"} --log "$T/fed.tsv" |
            kcat -P -b "$BS" -t police.da-incidents -K "$(printf '\t')" 2>>"$T/kcat.err" &
    fi
    FEED_PID=$!
    PIDS="$PIDS $FEED_PID"
}
rel_produce_stop() {
    touch "$T/feed.stop"
    wait "$FEED_PID"
}
fed_count() { n=$(grep -c . "$T/fed.tsv" 2>/dev/null); echo "${n:-0}"; }
# requests: how many the receiver has recorded; some_requests N: at least N.
requests() { n=$(grep -c . "$T/recv.log" 2>/dev/null); echo "${n:-0}"; }
some_requests() { [ "$(requests)" -ge "$1" ]; }

# readyz PORT: the body of /readyz; ready PORT: it answers 200.
readyz() { curl -s --max-time 5 "http://127.0.0.1:$1/readyz"; }
ready() {
    [ "$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" = 200 ]
}

# rel_sent: the incident topic read back by kcat into $T/sent.tsv; ok when
# it holds exactly what was fed (the producer lost nothing; a repeat by the
# producer would be harmless and is not counted).
rel_sent() {
    kcat -C -b "$BS" -t police.da-incidents -e -q -f '%k\t%s\n' 2>>"$T/kcat.err" >"$T/sent.tsv"
    [ "$(sort -u "$T/sent.tsv" | md5sum)" = "$(sort -u "$T/fed.tsv" | md5sum)" ]
}

# wait_slowly SECONDS COMMAND...: wait_for for commands that start Python,
# polled every second instead of ten times a second.
wait_slowly() {
    slow_limit=$1
    shift
    slow_n=0
    while [ "$slow_n" -lt "$slow_limit" ]; do
        if "$@"; then return 0; fi
        sleep 1
        slow_n=$((slow_n + 1))
    done
    return 1
}

# rel_drained SECONDS DB...: waits (polling every second) until every
# incident fed has been notified to its recipients and every notification
# in the stores has been delivered and received.
rel_drained() {
    drain_limit=$1
    shift
    DRAIN_DBS=""
    for db in "$@"; do DRAIN_DBS="$DRAIN_DBS --db $db"; done
    wait_slowly "$drain_limit" rel_drained_now
}
rel_drained_now() {
    # shellcheck disable=SC2086 # one word per --db
    python3 "$RELY" account "$T" --sent "$T/fed.tsv" --received "$T/recv.log" $DRAIN_DBS --quiet \
        2>/dev/null
}

# rel_account [ACCOUNT OPTIONS]: the final accounting against what the
# topic holds; prints the counts and an ok/not ok line per property.
rel_account() {
    python3 "$RELY" account "$T" --sent "$T/sent.tsv" --received "$T/recv.log" "$@"
}

# rel_log_clean LOG...: no name, date of birth or NHS number of this run's
# synthetic register, and no stranger's name, in the daemons' logs (the
# suite's scan knows only the data written in the test files).
rel_log_clean() {
    python3 - "$T/world.json" "$@" <<'PY'
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, "tests/integration")
import reliability
words = set(reliability.STRANGER_GIVEN + reliability.STRANGER_FAMILY)
for c in json.load(open(sys.argv[1]))["children"]:
    words |= {c["given_name"], c["family_name"], c["dob"], c["nhs_number"]}
found = set()
for path in sys.argv[2:]:
    text = open(path, errors="replace").read()
    found |= {w for w in words if w in text}
sys.exit(1 if found else 0)
PY
}
