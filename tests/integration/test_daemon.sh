#!/bin/sh
# The daemon as systemd and an operator see it: readiness and stopping
# notifications on $NOTIFY_SOCKET, SIGHUP reload that keeps the old
# configuration when the new one is bad, the embedded broker's address
# file, sdatctl validate's verdicts and exit codes, and
# config/sdatd.conf.example passing -t with its files created.
. tests/integration/lib.sh

cat >"$T/sdatd.conf" <<CONF
state_dir = "$T/state";
instance_id = "it2";
log_level = "info";
kafka = { embedded = true; };
http = { listen = "127.0.0.1:0"; }; # any free port: suites may run side by side
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; mash = "la:831:mash"; } );
recipients = ( { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH";
                 connector = "file"; directory = "$T/spool"; } );
CONF

# A datagram socket standing in for systemd's notification socket.
python3 - "$T/notify.sock" "$T/notify.log" <<'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(60)
with open(sys.argv[2], "a") as log:
    try:
        while True:
            log.write(s.recv(4096).decode() + "\n")
            log.flush()
    except socket.timeout:
        pass
PY
PIDS="$PIDS $!"
wait_for 10 test -S "$T/notify.sock" || notok "notification socket created"

NOTIFY_SOCKET="$T/notify.sock" WATCHDOG_USEC=400000 "$SDATD" -c "$T/sdatd.conf" 2>"$T/sdatd.log" &
SDATD_PID=$!
PIDS="$PIDS $SDATD_PID"
check "READY=1 is sent once the daemon consumes" wait_for 30 grep -qx "READY=1" "$T/notify.log"
check "WATCHDOG=1 is sent when systemd's watchdog is on" wait_for 10 grep -qx "WATCHDOG=1" "$T/notify.log"
check "the embedded broker's address is written to STATE_DIR/bootstrap.servers" \
    grep -q "^127.0.0.1:[0-9]" "$T/state/bootstrap.servers"

sed -i 's/log_level = "info";/log_level = "debug";/' "$T/sdatd.conf"
sed -i 's|name = "Test MASH";|name = "Renamed MASH";|' "$T/sdatd.conf"
kill -HUP "$SDATD_PID"
check "SIGHUP reloads the configuration" wait_for 10 grep -q "config: reloaded" "$T/sdatd.log"
check "the reload names the keys that changed, in table order" \
    grep -q "config: reloaded; changed: log_level, recipients.\[0\]$" "$T/sdatd.log"
check "the reload never logs a changed value" sh -c "! grep -q 'Renamed' '$T/sdatd.log'"
# TLS files are read when the listener starts: a SIGHUP warns and keeps
# the running (plain HTTP) listener. Synthetic files: -t checks that they
# exist and that the key is private; they are never loaded.
echo "synthetic certificate" >"$T/tls.pem"
echo "synthetic key" >"$T/tls.key"
chmod 600 "$T/tls.key"
sed -i "s|listen = \"127.0.0.1:0\";|listen = \"127.0.0.1:0\"; tls_cert = \"$T/tls.pem\"; tls_key = \"$T/tls.key\";|" \
    "$T/sdatd.conf"
kill -HUP "$SDATD_PID"
check "a changed http.tls_cert is warned about as restart-only" \
    wait_for 10 grep -q "http.tls_cert: changed; restart-only, ignoring" "$T/sdatd.log"
check "a changed http.tls_key is warned about as restart-only" \
    grep -q "http.tls_key: changed; restart-only, ignoring" "$T/sdatd.log"
check "a reload that changes only restart-only keys says nothing changed" \
    wait_for 10 grep -q "config: reloaded; changed: nothing" "$T/sdatd.log"
check "the listener still answers plain HTTP after the TLS keys changed" \
    curl -sf "http://127.0.0.1:$(sed -n 's/.*http: listening on .* port=\([0-9]*\).*/\1/p' "$T/sdatd.log" | head -n 1)/healthz" -o /dev/null
sed -i 's/instance_id = "it2";/instance_id = "it3";/' "$T/sdatd.conf"
kill -HUP "$SDATD_PID"
check "a changed restart-only key is logged and ignored" \
    wait_for 10 grep -q "instance_id: changed; restart-only, ignoring" "$T/sdatd.log"
echo 'colour = "blue";' >>"$T/sdatd.conf"
kill -HUP "$SDATD_PID"
check "a bad new file keeps the running configuration" \
    wait_for 10 grep -q "reload failed; keeping the running configuration" "$T/sdatd.log"
check "the daemon still runs after a bad reload" kill -0 "$SDATD_PID"
stop_sdatd
check "SIGTERM after reloads exits 0" test "$STOP_RC" -eq 0
check "STOPPING=1 is sent on shutdown" grep -qx "STOPPING=1" "$T/notify.log"

check "sdatd -V prints the version" sh -c "'$SDATD' -V | grep -q '^sdatd [0-9]'"
"$SDATD" -c "$T/missing.conf" 2>/dev/null
check "a missing configuration file exits 78" test $? -eq 78

# sdatctl validate: one verdict per non-blank line, blank lines counted.
{
    sed -n 1p config/demo-incidents.jsonl
    echo
    echo '{"schema":"police.da-incident/1","force":"x"}'
    sed -n 1p config/demo-incidents.jsonl | sed 's/"nhs_number": "9990000018"/"nhs_number": "9990000017"/'
    echo 'not json'
} >"$T/validate.jsonl"
"$SDATCTL" validate "$T/validate.jsonl" >"$T/validate.out"
check "sdatctl validate exits 1 when a line is invalid" test $? -eq 1
python3 - "$T/validate.out" <<'PY' && ok "sdatctl validate prints the specified verdicts" || notok "sdatctl validate prints the specified verdicts"
import json, sys
v = [json.loads(l) for l in open(sys.argv[1])]
assert [x["line"] for x in v] == [1, 3, 4, 5], v
assert v[0] == {"line": 1, "valid": True}, v[0]
assert v[1]["valid"] is False and v[1]["errors"][0]["path"] == "", v[1]
assert v[2] == {"line": 4, "valid": True, "warnings": [{"path": "/children/0/nhs_number", "message": v[2]["warnings"][0]["message"]}]}, v[2]
assert v[3]["valid"] is False and v[3]["errors"][0]["path"] == "" and "JSON" in v[3]["errors"][0]["message"], v[3]
PY
sed -n 1p config/demo-incidents.jsonl | "$SDATCTL" validate >/dev/null
check "sdatctl validate exits 0 when every line is valid (standard input)" test $? -eq 0
sed -n 1p config/demo-incidents.jsonl | "$SDATCTL" validate --schema council.child/1 >"$T/forced.out"
check "validate --schema reports a differing schema field at /schema" grep -q '"path":"/schema"' "$T/forced.out"

# config/sdatd.conf.example passes -t once the files it names exist
# (interfaces.md): its paths moved into the temp dir, its secret files
# created private, its Kafka CA a real PEM from scripts/test-ca.sh.
X="$T/example"
mkdir -p "$X/etc/keys" "$X/spool" "$X/lib" "$X/ca"
sed -e "s|/etc/sdat|$X/etc|g" -e "s|/var/spool/sdat|$X/spool|g" -e "s|/var/lib/sdat|$X/lib|g" \
    config/sdatd.conf.example >"$X/sdatd.conf"
check "the example names no path outside the moved directories" \
    sh -c "! grep -Eq '\"/(etc|var)/' '$X/sdatd.conf'"
grep -o "$X/etc/[^\"]*" "$X/sdatd.conf" | sort -u >"$X/files" # also in "@file:PATH"
sh scripts/test-ca.sh "$X/ca"
while read -r f; do
    case $f in
    *.pem) cp "$X/ca/ca.pem" "$f" ;;
    *) printf 'synthetic-secret-%s\n' "$(openssl rand -hex 8)" >"$f" && chmod 600 "$f" ;;
    esac
done <"$X/files"
check "the example names its secret files and a CA file ($(wc -l <"$X/files") files)" \
    sh -c "grep -q '/keys/' '$X/files' && grep -q '\.pem\$' '$X/files'"
"$SDATD" -t -c "$X/sdatd.conf" >"$X/t.out" 2>&1
check "config/sdatd.conf.example passes sdatd -t when its files exist" test $? -eq 0
chmod 640 "$(grep /keys/ "$X/files" | head -n 1)"
"$SDATD" -t -c "$X/sdatd.conf" >"$X/t-bad.out" 2>&1
check "  (and -t does check them: a group-readable secret file exits 78)" test $? -eq 78
# Its matching thresholds are the documented defaults (sdatd.conf(5), made
# from the configuration table) or stricter: nothing auto-matches.
python3 - "$X/sdatd.conf" "$SDAT_BUILD/man/sdatd.conf.5" <<'PY' && ok "the example's matching thresholds are the documented defaults or stricter" || notok "the example's matching thresholds are the documented defaults or stricter"
import re, sys
conf = open(sys.argv[1]).read()
man = open(sys.argv[2]).read()
group = re.search(r"^matching\s*=\s*\{(.*?)\};", conf, re.S | re.M).group(1)
group = re.sub(r"#[^\n]*", "", group)
for key in ("match_threshold", "review_threshold", "match_margin", "unplaced_threshold"):
    default = float(re.search(r"matching\.%s\\fR = (-?[0-9.]+)" % key, man).group(1))
    m = re.search(r"\b%s\s*=\s*(-?[0-9.]+)\s*;" % key, group)
    value = float(m.group(1)) if m else default
    assert value >= default, (key, value, default)
    print("# %s = %s (default %s)" % (key, value, default))
PY
# -t reports every problem in one pass, each at its key's line (issue 25):
# a dangling reference does not hide the connectors' problems, and a
# connector reports all of its own, not only its first.
B="$T/several"
mkdir -p "$B"
echo "synthetic-webhook-secret" >"$B/webhook.key"
chmod 644 "$B/webhook.key"
echo "synthetic certificate" >"$B/client.pem"
cat >"$B/sdatd.conf" <<CONF
state_dir = "$B/state";
kafka = { embedded = true; }; http = { listen = "127.0.0.1:0"; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C"; review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
# line 4
areas = ( { la_code = "831"; name = "Test City"; mash = "la:831:nosuch"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH";
    connector = "webhook";
    url = "http://mash.example.org/hook";
    secret_file = "$B/webhook.key";
    client_cert = "$B/client.pem"; },
  { id = "la:831:ehe"; kind = "ehe"; la_code = "831"; name = "Test EHE";
    connector = "smtp";
    url = "smtp://mail.example.org";
    from = "nobody";
    to = [ "ehe@example.org", "not an address" ];
    content = "summary"; }
);
CONF
"$SDATD" -t -c "$B/sdatd.conf" >"$B/t.out" 2>&1
rc=$?
check "sdatd -t exits 78 for a configuration with several problems" test "$rc" -eq 78
python3 - "$B/sdatd.conf" "$B/t.out" <<'PY' && ok "one -t run lists every problem, each as FILE:LINE: KEY at its key's line" || { notok "one -t run lists every problem, each as FILE:LINE: KEY at its key's line"; sed 's/^/# /' "$B/t.out"; }
import sys
conf, out = sys.argv[1], open(sys.argv[2]).read()
want = {
    (5, "areas.[0].mash"),                  # a dangling reference (the core)
    (9, "recipients.[0].url"),              # http:// (the webhook connector)
    (10, "recipients.[0].secret_file"),     # readable by group (the core, from the key table)
    (7, "recipients.[0].client_key"),       # absent, with client_cert: its recipient's line
    (15, "recipients.[1].from"),            # the smtp connector, three of its keys
    (16, "recipients.[1].to"),
    (17, "recipients.[1].content"),
}
got = set()
for line in out.splitlines():  # FILE:LINE: KEY: MESSAGE
    assert line.startswith(conf + ":"), line
    number, key, _ = line[len(conf) + 1:].split(": ", 2)
    got.add((int(number), key))
assert got == want, "missing %s, unexpected %s" % (sorted(want - got), sorted(got - want))
assert "synthetic" not in out, "a secret's contents appeared"
print("# %d problems in one run" % len(got))
PY

echo "# done"
