#!/bin/sh
# The webhook connector against a real HTTPS receiver on loopback
# (tests/integration/https_receiver.py), driven by connector-drive exactly as
# the outbox drives it: a signed POST whose body, Idempotency-Key and
# signature a receiver can check; 2xx done, 408/429/5xx and transport errors
# retried (with Retry-After honoured), 3xx and other 4xx failed; TLS
# verification always on, an extra CA only adding trust, mTLS; secrets that
# are refused when readable by others and never printed; many concurrent
# deliveries over few reused connections.
. tests/integration/lib.sh

# Loopback only: no proxy from the environment.
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
DRIVE="$SDAT_BUILD/tests/connector-drive"
RECEIVER=tests/integration/https_receiver.py
RID=la:831:hook

# --- Certificates and secrets, made for this run ---------------------------
ossl() { openssl "$@" 2>>"$T/openssl.err"; }
newkey() { ossl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" && chmod 600 "$1"; }
# ca NAME: a self-signed CA certificate NAME.pem and key NAME.key.
ca() {
    newkey "$T/$1.key" &&
        ossl req -x509 -new -key "$T/$1.key" -out "$T/$1.pem" -days 2 -subj "/CN=sdat test $1" \
            -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
}
# leaf NAME CA USAGE [SAN]: NAME.pem/NAME.key signed by CA.
leaf() {
    newkey "$T/$1.key" &&
        ossl req -new -key "$T/$1.key" -out "$T/$1.csr" -subj "/CN=sdat test $1" &&
        {
            echo "basicConstraints=CA:FALSE"
            echo "extendedKeyUsage=$3"
            [ -z "${4:-}" ] || echo "subjectAltName=$4"
        } >"$T/$1.ext" &&
        ossl x509 -req -in "$T/$1.csr" -CA "$T/$2.pem" -CAkey "$T/$2.key" -CAcreateserial \
            -out "$T/$1.pem" -days 2 -extfile "$T/$1.ext"
}
ca ca && leaf server ca serverAuth "IP:127.0.0.1,DNS:localhost" &&
    leaf wrongname ca serverAuth "DNS:wrong.example" &&
    ca clientca && leaf client clientca clientAuth &&
    newkey "$T/untrusted.key" &&
    ossl req -x509 -new -key "$T/untrusted.key" -out "$T/untrusted.pem" -days 2 \
        -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1,DNS:localhost"
check "openssl makes the test CA, server, wrong-name, untrusted and client certificates" \
    test -s "$T/server.pem" -a -s "$T/wrongname.pem" -a -s "$T/untrusted.pem" -a -s "$T/client.pem"

SECRET="whsec-$(openssl rand -hex 16)"
SECRET_NEXT="whsec-next-$(openssl rand -hex 16)"
printf '%s\n' "$SECRET" >"$T/secret" && chmod 600 "$T/secret"
printf '%s\n' "$SECRET_NEXT" >"$T/secret.next" && chmod 600 "$T/secret.next"
printf '%s\n' "$SECRET" >"$T/secret.open" && chmod 644 "$T/secret.open"
cp "$T/client.key" "$T/client.key.open" && chmod 644 "$T/client.key.open"

# The body: a notification-like document with non-ASCII text, no newline.
printf '%s' '{"schema":"sdat.notification/1","notification_id":"n_0123456789abcdef0123456789abcdef","kind":"da-incident","recipient":{"id":"la:831:hook","name":"Test MASH"},"incident":{"circumstances":"Zoë said \"no\" – twice; a\\nb"}}' \
    >"$T/payload.json"

# --- Helpers ---------------------------------------------------------------
# receiver NAME [OPTIONS...]: starts one; sets PORT. Its log is $T/NAME.log.
# (Variables here are prefixed: lib.sh's check keeps its test's name in $name.)
receiver() {
    r_name=$1
    shift
    : >"$T/$r_name.log"
    python3 "$RECEIVER" --port-file "$T/$r_name.port" --log "$T/$r_name.log" "$@" \
        2>"$T/$r_name.recv.err" &
    PIDS="$PIDS $!"
    wait_for 10 test -s "$T/$r_name.port" || { notok "receiver $r_name started"; return 1; }
    PORT=$(cat "$T/$r_name.port")
}
# conf NAME URL [KEY = VALUE; ...]: a configuration with the one webhook recipient.
conf() {
    cat >"$T/$1.conf" <<CONF
state_dir = "$T/state";
instance_id = "it-webhook";
kafka = { embedded = true; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; mash = "la:831:mash"; } );
recipients = (
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/spool"; },
  { id = "$RID"; kind = "other"; la_code = "831"; name = "Test hook"; connector = "webhook";
    url = "$2"; ${3:-} }
);
CONF
}
# drive NAME ID [ATTEMPT [COUNT]]: one connector-drive run with $T/NAME.conf;
# stdout in $T/NAME.out, stderr in $T/NAME.err, exit code in DRIVE_RC.
drive() {
    "$DRIVE" "$T/$1.conf" "$RID" "$2" "$T/payload.json" "${3:-1}" "${4:-1}" \
        >"$T/$1.out" 2>"$T/$1.err"
    DRIVE_RC=$?
}
# reported NAME EXTENDED-REGEX: the drive's only line matches.
reported() {
    [ "$DRIVE_RC" -eq 0 ] && [ "$(wc -l <"$T/$1.out")" -eq 1 ] && grep -Eqx "$2" "$T/$1.out"
}
requests() { wc -l <"$T/$1.log"; }
SECRETS="secret_file = \"$T/secret\"; ca_file = \"$T/ca.pem\";"

# Checks the receiver's log: signatures recomputed with hmac, the exact body.
cat >"$T/verify.py" <<'PY'
import base64, hashlib, hmac, json, sys, time

def file_bytes(path):
    b = open(path, "rb").read()
    return b[:-1] if b.endswith(b"\n") else b  # one trailing newline is not content

def entries(path):
    return [json.loads(line) for line in open(path)]

def verify(e, payload, secrets):
    fields = e["signature"].split(",")
    assert fields[0].startswith("t="), e["signature"]
    t = fields[0][2:]
    assert t.isdigit() and abs(int(t) - time.time()) < 300, t
    v1 = [f[3:] for f in fields[1:] if f.startswith("v1=")]
    assert len(v1) == len(fields) - 1 == len(secrets), e["signature"]
    body = base64.b64decode(e["body_b64"])
    assert body == payload, "body differs"
    for got, secret in zip(v1, secrets):
        want = hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()
        assert got == want, "signature does not verify"

mode, log = sys.argv[1], entries(sys.argv[2])
if mode == "signed":  # LOG PAYLOAD ID ATTEMPT SECRET_FILE...
    payload, nid, attempt = file_bytes(sys.argv[3]), sys.argv[4], sys.argv[5]
    assert len(log) == 1, len(log)
    e = log[0]
    verify(e, payload, [file_bytes(p) for p in sys.argv[6:]])
    assert e["method"] == "POST" and e["path"] == "/hooks/sdat?tenant=831", e["path"]
    assert e["idempotency_key"] == nid, e["idempotency_key"]
    assert e["attempt"] == attempt, e["attempt"]
    assert e["content_type"] == "application/json", e["content_type"]
    assert e["user_agent"].startswith("sdatd/") and len(e["user_agent"]) > 6, e["user_agent"]
    assert e["expect"] is None, e["expect"]
    assert e["body_sha256"] == hashlib.sha256(payload).hexdigest()
elif mode == "same":  # LOG ID: two attempts, one key, one body
    assert len(log) == 2, len(log)
    assert [e["idempotency_key"] for e in log] == [sys.argv[3]] * 2
    assert [e["attempt"] for e in log] == ["1", "2"], [e["attempt"] for e in log]
    assert log[0]["body_b64"] == log[1]["body_b64"]
elif mode == "reuse":  # LOG COUNT PAYLOAD SECRET_FILE: COUNT distinct deliveries
    count, payload, secret = int(sys.argv[3]), file_bytes(sys.argv[4]), file_bytes(sys.argv[5])
    assert len(log) == count, len(log)
    assert len({e["idempotency_key"] for e in log}) == count
    for e in log:
        verify(e, payload, [secret])
    ports = {e["peer_port"] for e in log}
    print(len(ports))
else:
    sys.exit("verify.py: unknown mode")
PY
verify() { python3 "$T/verify.py" "$@" 2>>"$T/verify.err"; }

# A harness that calls the connector directly, as the outbox would:
#   harness init URL SECRET [NEXT [CERT KEY]]  init alone: "init ok" or the error
#   harness shared URL SECRET CA_FILE          two recipients on one event loop
cat >"$T/harness.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "outbox/outbox.h"

struct tally {
    int calls, done;
};
static void on_done(struct sdat_delivery *d, enum sdat_delivery_result result, void *opaque)
{
    struct tally *t = opaque;
    (void)d;
    t->calls++;
    t->done += result == SDAT_DELIVERY_DONE;
}
static const char payload[] = "{\"schema\":\"sdat.notification/1\"}";
static struct sdat_delivery d[64];
static char ids[64][32];
static int used;
static void start(const struct sdat_connector_ops *ops, void *ctx, const char *prefix,
                  struct tally *t)
{
    snprintf(ids[used], sizeof ids[used], "%s-%d", prefix, used);
    d[used] = (struct sdat_delivery){.notification_id = ids[used], .kind = "da-incident",
                                     .recipient_id = "x", .payload = payload,
                                     .payload_len = sizeof payload - 1, .attempt = 1};
    if (ops->start(ctx, &d[used++], on_done, t) < 0) {
        printf("start failed\n");
    }
}
static void drain(const struct sdat_connector_ops *ops, void *x, void *y, struct tally *a,
                  int a_want, struct tally *b, int b_want)
{
    for (int i = 0; i < 200 && (a->calls < a_want || b->calls < b_want); i++) {
        ops->poll(i % 2 ? x : y, 100);
    }
}
/* A webhook recipient's keys, set through the connector's own key table
 * (outbox/connector.h), as the configuration would. */
static void set(const struct sdat_connector_ops *ops, void *conf, const char *name,
                const char *value)
{
    for (const struct sdat_key *k = ops->keys->keys; k->name; k++) {
        if (strcmp(k->name, name) == 0 && k->type == SDAT_KEY_STRING) {
            *(const char **)((char *)conf + k->offset) = value;
        } else if (strcmp(k->name, name) == 0 && k->type == SDAT_KEY_NUMBER) {
            *(double *)((char *)conf + k->offset) = atof(value);
        }
    }
}
int main(int argc, char **argv)
{
    const struct sdat_connector_ops *ops = sdat_connector_find("webhook");
    struct sdat_connector_env env = {.user_agent = "sdatd/test"};
    /* The recipient's keys live as long as the program (no leak to report
     * under make check-asan). */
    static max_align_t conf_space[64];
    if (ops->keys->size > sizeof conf_space) {
        printf("the webhook's keys do not fit the harness\n");
        return 2;
    }
    void *conf = conf_space;
    set(ops, conf, "url", argv[2]);
    set(ops, conf, "secret_file", argv[3]);
    set(ops, conf, "timeout", "15");
    struct sdat_connector_recipient r = {.id = "la:831:hook-a", .conf = conf};
    void *a = NULL, *b = NULL;
    char err[512] = "";
    if (strcmp(argv[1], "init") == 0) {
        set(ops, conf, "secret_file_next", argc > 4 && argv[4][0] ? argv[4] : NULL);
        set(ops, conf, "client_cert", argc > 6 ? argv[5] : NULL);
        set(ops, conf, "client_key", argc > 6 ? argv[6] : NULL);
        int rc = ops->init(&env, &r, &a, err, sizeof err);
        printf("init %s: %s\n", rc < 0 ? "refused" : "ok", err);
        ops->destroy(a);
        return rc < 0 ? 2 : 0;
    }
    set(ops, conf, "ca_file", argv[4]);
    struct sdat_connector_recipient rb = r;
    rb.id = "la:831:hook-b";
    struct tally ta = {0, 0}, tb = {0, 0}, tc = {0, 0};
    if (ops->init(&env, &r, &a, err, sizeof err) < 0 ||
        ops->init(&env, &rb, &b, err, sizeof err) < 0) {
        printf("init: %s\n", err);
        return 2;
    }
    /* One started on A and completed by B's poll, then the reverse. */
    start(ops, a, "n_a", &ta);
    drain(ops, b, b, &ta, 1, &tb, 0);
    start(ops, b, "n_b", &tb);
    drain(ops, a, a, &ta, 1, &tb, 1);
    /* Ten on each at once, polled through either. */
    for (int i = 0; i < 10; i++) {
        start(ops, a, "n_a", &ta);
        start(ops, b, "n_b", &tb);
    }
    drain(ops, a, b, &ta, 11, &tb, 11);
    /* Three in flight on B, then B destroyed: never reported. */
    for (int i = 0; i < 3; i++) {
        start(ops, b, "n_abandoned", &tb);
    }
    ops->destroy(b);
    for (int i = 0; i < 5; i++) {
        ops->poll(a, 50);
    }
    ops->destroy(a);
    /* The last context gone, a new one builds the shared loop again. */
    if (ops->init(&env, &r, &a, err, sizeof err) < 0) {
        printf("init again: %s\n", err);
        return 2;
    }
    start(ops, a, "n_c", &tc);
    drain(ops, a, a, &tc, 1, &tc, 0);
    ops->destroy(a);
    printf("a %d/%d b %d/%d again %d/%d\n", ta.done, ta.calls, tb.done, tb.calls, tc.done,
           tc.calls);
    return 0;
}
C
# (make check-asan's library needs the sanitizers' run time too.)
san=
if nm "$SDAT_BUILD/lib/libsdat-util.a" 2>/dev/null | grep -q __asan_; then
    san=-fsanitize=address,undefined
fi
# shellcheck disable=SC2046,SC2086
${CC:-cc} -std=c11 -D_GNU_SOURCE -Idaemon $san -o "$T/harness" "$T/harness.c" \
    -Wl,--start-group "$SDAT_BUILD"/lib/libsdat-*.a -Wl,--end-group $(pkg-config --libs rdkafka jansson libconfig sqlite3 libcrypto libcurl) \
    -lpthread -lm 2>"$T/harness.cc.err"
check "the connector harness builds against the library" test -x "$T/harness"

# --- Configuration checks (sdatd -t) ----------------------------------------
conf valid "https://127.0.0.1:9/hooks/sdat" "$SECRETS"
check "sdatd -t accepts a webhook recipient with an https URL and a private secret" \
    sh -c "'$SDATD' -t -c '$T/valid.conf' >'$T/valid.t.out' 2>&1"
# t78 NAME URL KEYS MESSAGE: sdatd -t exits 78 with that message.
t78() {
    conf "$1" "$2" "$3"
    "$SDATD" -t -c "$T/$1.conf" >"$T/$1.t.out" 2>&1
    [ $? -eq 78 ] && grep -qF "$4" "$T/$1.t.out"
}
check "an http:// URL is refused by sdatd -t (78), naming recipients.[1].url" \
    t78 plain "http://127.0.0.1:9/hooks/sdat" "$SECRETS" "recipients.[1].url: must be an https:// URL"
check "a recipient without secret_file is refused by sdatd -t (78)" \
    t78 nosecret "https://127.0.0.1:9/" "" "recipients.[1].secret_file: is required"
check "client_cert without client_key is refused by sdatd -t (78)" \
    t78 halfmtls "https://127.0.0.1:9/" "$SECRETS client_cert = \"$T/client.pem\";" \
    "recipients.[1].client_key: is required with client_cert"
check "a secret file readable by others is refused by sdatd -t (78), naming the file" \
    t78 opensecret "https://127.0.0.1:9/" "secret_file = \"$T/secret.open\";" \
    "recipients.[1].secret_file: \"$T/secret.open\" is readable by group or others"

# --- A delivery, signed ------------------------------------------------------
receiver ok --cert "$T/server.pem" --key "$T/server.key" --script 201
conf ok "https://127.0.0.1:$PORT/hooks/sdat?tenant=831" "$SECRETS"
drive ok n_0123456789abcdef0123456789abcdef 3
check "a 201 is done (detail HTTP 201)" reported ok "done retry_after_ms=0 detail=HTTP 201"
check "the receiver got the exact body, Idempotency-Key, Sdat-Attempt 3, User-Agent sdatd/… and a signature that verifies over \"<t>.<body>\"" \
    verify signed "$T/ok.log" "$T/payload.json" n_0123456789abcdef0123456789abcdef 3 "$T/secret"

receiver rotate --cert "$T/server.pem" --key "$T/server.key" --script 204
conf rotate "https://127.0.0.1:$PORT/hooks/sdat?tenant=831" \
    "$SECRETS secret_file_next = \"$T/secret.next\";"
drive rotate n_rotation 1
check "with secret_file_next a 204 is done" reported rotate "done retry_after_ms=0 detail=HTTP 204"
check "with secret_file_next the signature carries two v1= values, each verifying with its secret" \
    verify signed "$T/rotate.log" "$T/payload.json" n_rotation 1 "$T/secret" "$T/secret.next"

# The receivers' guide (docs/RECEIVING.md, sdat-receivers(7)): its Python
# example and its openssl line, taken from the document itself, check these
# real deliveries, and refuse a changed body, a wrong secret and an old one.
example() {
    awk -v want="<!-- receivers-example: $1 -->" '$0 == want { f = 1; next }
        /^<!-- \/receivers-example -->/ { f = 0 } f && !/^```/' docs/RECEIVING.md
}
example python >"$T/guide.py"
example openssl >"$T/guide-openssl.sh"
python3 - "$T" <<'PY'
import base64, json, sys
t = sys.argv[1]
for name in ("ok", "rotate"):
    e = json.loads(open("%s/%s.log" % (t, name)).readline())
    open("%s/%s.body" % (t, name), "wb").write(base64.b64decode(e["body_b64"]))
    open("%s/%s.sig" % (t, name), "w").write(e["signature"])
    changed = bytearray(base64.b64decode(e["body_b64"]))
    changed[-2] ^= 1
    open("%s/%s.changed" % (t, name), "wb").write(bytes(changed))
    stamp = e["signature"].split(",")[0][2:]
    open("%s/%s.t" % (t, name), "w").write(stamp)
PY
# quiet COMMAND...: the example prints "verified" or "refused"; kept aside.
quiet() { "$@" >>"$T/guide.out" 2>&1; }
guide() { python3 "$T/guide.py" "$1" "$(cat "$T/$2.sig")" "$3"; }
check "the guide's Python example is in docs/RECEIVING.md" grep -q sdat_signature_ok "$T/guide.py"
check "the guide's Python example verifies a real delivery" quiet guide "$T/secret" ok "$T/ok.body"
check "  and both signatures of a delivery during a rotation (old and new secret)" \
    quiet sh -c 'python3 "$1/guide.py" "$1/secret" "$(cat "$1/rotate.sig")" "$1/rotate.body" &&
        python3 "$1/guide.py" "$1/secret.next" "$(cat "$1/rotate.sig")" "$1/rotate.body"' \
    sh "$T"
check "  and refuses the body with one bit changed" \
    quiet sh -c '! python3 "$1/guide.py" "$1/secret" "$(cat "$1/ok.sig")" "$1/ok.changed"' sh "$T"
printf 'another secret\n' >"$T/secret.wrong"
check "  and refuses another secret" quiet sh -c '! python3 "$1/guide.py" "$1/secret.wrong" "$(cat "$1/ok.sig")" "$1/ok.body"' \
    sh "$T"
# Signed here with the secret for a chosen t: a minute old passes, ten
# minutes old is refused (the guide's tolerance is five).
signed_at() {
    python3 -c 'import hashlib, hmac, sys, time
secret = open(sys.argv[1], "rb").read().rstrip(b"\n")
t = str(int(time.time()) - int(sys.argv[3]))
body = open(sys.argv[2], "rb").read()
print("t=%s,v1=%s" % (t, hmac.new(secret, t.encode() + b"." + body, hashlib.sha256).hexdigest()))' \
        "$T/secret" "$T/ok.body" "$1"
}
check "  and accepts a signature made a minute ago" \
    quiet python3 "$T/guide.py" "$T/secret" "$(signed_at 60)" "$T/ok.body"
check "  and refuses one made ten minutes ago (outside its five minutes' tolerance)" \
    quiet sh -c '! python3 "$1/guide.py" "$1/secret" "$2" "$1/ok.body"' sh "$T" "$(signed_at 600)"
# In $T, where the secret is the file "secret" as the guide names it.
(cd "$T" && cp ok.body body.json && T=$(cat ok.t) && export T && sh guide-openssl.sh) \
    >"$T/guide-openssl.out" 2>&1
check "the guide's openssl line prints the delivery's v1 value" \
    sh -c 'grep -qxE "[0-9a-f]{64}" "$1" && grep -q "v1=$(cat "$1")" "$2"' sh "$T/guide-openssl.out" "$T/ok.sig"

receiver again --cert "$T/server.pem" --key "$T/server.key" --script 200
conf again "https://127.0.0.1:$PORT/x" "$SECRETS"
drive again n_same 1
cp "$T/again.out" "$T/again.1.out"
drive again n_same 2
check "the same notification on attempts 1 and 2 is done twice" \
    sh -c "grep -q '^done' '$T/again.1.out' && grep -q '^done' '$T/again.out'"
check "… with one Idempotency-Key, a byte-identical body, and Sdat-Attempt 1 then 2" \
    verify same "$T/again.log" n_same

# --- TLS ---------------------------------------------------------------------
receiver untrusted --cert "$T/untrusted.pem" --key "$T/untrusted.key" --script 201
conf untrusted "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS"
drive untrusted n_untrusted 1
check "an untrusted server certificate (with ca_file set) is a retry with a TLS detail" \
    reported untrusted "retry retry_after_ms=0 detail=TLS: .*certificate.*"
check "… and the receiver logged no request: nothing was sent in clear" \
    test "$(requests untrusted)" -eq 0
conf noca "https://127.0.0.1:$(cat "$T/ok.port")/hooks/sdat" "secret_file = \"$T/secret\";"
drive noca n_noca 1
check "without ca_file the test CA is not trusted: a retry with a TLS detail" \
    reported noca "retry retry_after_ms=0 detail=TLS: .*certificate.*"
conf localhost "https://localhost:$(cat "$T/ok.port")/hooks/sdat?tenant=831" "$SECRETS"
drive localhost n_localhost 1
check "a name in the certificate's subjectAltName (https://localhost/) is done" \
    reported localhost "done retry_after_ms=0 detail=HTTP 201"
receiver wrongname --cert "$T/wrongname.pem" --key "$T/wrongname.key" --script 201
conf wrongname "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS"
drive wrongname n_wrongname 1
check "a certificate from the trusted CA for another host name is a retry with a TLS detail" \
    reported wrongname "retry retry_after_ms=0 detail=TLS: .*name.*"
check "… and the receiver logged no request" test "$(requests wrongname)" -eq 0

receiver mtls --cert "$T/server.pem" --key "$T/server.key" --client-ca "$T/clientca.pem" --script 201
conf mtls-none "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS"
drive mtls-none n_mtls_none 1
check "a receiver requiring client certificates refuses a recipient without one: retry, TLS detail" \
    reported mtls-none "retry retry_after_ms=0 detail=TLS: .*(alert|certificate).*"
check "… and logged no request" test "$(requests mtls)" -eq 0
conf mtls "https://127.0.0.1:$PORT/hooks/sdat" \
    "$SECRETS client_cert = \"$T/client.pem\"; client_key = \"$T/client.key\";"
drive mtls n_mtls 1
check "with client_cert and client_key the mTLS receiver accepts: done" \
    reported mtls "done retry_after_ms=0 detail=HTTP 201"
check "… and saw the client certificate" grep -q '"client_subject": "commonName=sdat test client"' "$T/mtls.log"

# --- Status codes ---------------------------------------------------------------
# status NAME SCRIPT EXPECTED-LINE: one delivery against a receiver answering SCRIPT.
status() {
    receiver "$1" --cert "$T/server.pem" --key "$T/server.key" --script "$2" &&
        conf "$1" "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS" &&
        drive "$1" "n_$1" 1 &&
        reported "$1" "$3"
}
check "500 is a retry" status s500 500 "retry retry_after_ms=0 detail=HTTP 500"
check "503 with Retry-After: 7 is a retry after 7000 ms" \
    status s503 "503;retry-after=7" "retry retry_after_ms=7000 detail=HTTP 503"
check "429 with Retry-After as an HTTP date 30 s ahead is a retry after about 30 s" \
    status s429 "429;retry-after=date+30" "retry retry_after_ms=(2[5-9]|30|31)[0-9]{3} detail=HTTP 429"
check "408 is a retry" status s408 408 "retry retry_after_ms=0 detail=HTTP 408"
check "404 has failed for good" status s404 404 "failed retry_after_ms=0 detail=HTTP 404"
check "301 has failed for good" status s301 301 "failed retry_after_ms=0 detail=HTTP 301"
check "… and its Location was not followed (one request)" test "$(requests s301)" -eq 1

# --- Transport ---------------------------------------------------------------------
CLOSED=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
conf refused "https://127.0.0.1:$CLOSED/hooks/sdat" "$SECRETS"
drive refused n_refused 1
check "a refused connection (a closed port) is a retry with a connect detail" \
    reported refused "retry retry_after_ms=0 detail=connect: .*"
receiver slow --cert "$T/server.pem" --key "$T/server.key" --script "201;sleep=4"
conf slow "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS timeout = 1;"
began=$(date +%s)
drive slow n_slow 1
took=$(($(date +%s) - began))
check "a receiver slower than timeout = 1 is a retry with a timeout detail" \
    reported slow "retry retry_after_ms=0 detail=timeout: .*"
check "… reported within 3 s" test "$took" -le 3

# --- Secrets -------------------------------------------------------------------------
conf open "https://127.0.0.1:$(cat "$T/ok.port")/hooks/sdat" "secret_file = \"$T/secret.open\"; ca_file = \"$T/ca.pem\";"
drive open n_open 1
check "a secret file with mode 0644: connector-drive exits 2 naming the file" \
    sh -c "test $DRIVE_RC -eq 2 && grep -qF '\"$T/secret.open\" is readable by group or others' '$T/open.err'"
conf openkey "https://127.0.0.1:$(cat "$T/ok.port")/hooks/sdat" \
    "$SECRETS client_cert = \"$T/client.pem\"; client_key = \"$T/client.key.open\";"
drive openkey n_openkey 1
check "a client key with mode 0644: connector-drive exits 2 naming the file" \
    sh -c "test $DRIVE_RC -eq 2 && grep -qF '\"$T/client.key.open\" is readable by group or others' '$T/openkey.err'"
# The configuration loader refuses those files before any connector runs;
# init checks again (a mode can change before a reload): the harness calls
# init directly with a recipient the loader never saw.
: >"$T/empty" && chmod 600 "$T/empty"
# init_says NAME EXIT TEXT ARGS...: init's exit code and message.
init_says() {
    i_name=$1 i_rc=$2 i_text=$3
    shift 3
    "$T/harness" init "$@" >"$T/$i_name.out" 2>"$T/$i_name.err"
    [ $? -eq "$i_rc" ] && grep -qF "$i_text" "$T/$i_name.out"
}
H="https://127.0.0.1:9/"
check "init accepts private secret, next secret and client key files" \
    init_says init-ok 0 "init ok" "$H" "$T/secret" "$T/secret.next" "$T/client.pem" "$T/client.key"
check "init refuses a secret_file with mode 0644, naming the file" \
    init_says init-open 2 "secret_file: \"$T/secret.open\" is readable by group or others" \
    "$H" "$T/secret.open"
check "init refuses a secret_file_next with mode 0644, naming the file" \
    init_says init-opennext 2 "secret_file_next: \"$T/secret.open\" is readable by group or others" \
    "$H" "$T/secret" "$T/secret.open"
check "init refuses a client_key with mode 0644, naming the file" \
    init_says init-openkey 2 "client_key: \"$T/client.key.open\" is readable by group or others" \
    "$H" "$T/secret" "" "$T/client.pem" "$T/client.key.open"
check "init refuses an empty secret" \
    init_says init-empty 2 "secret_file: \"$T/empty\" is empty" "$H" "$T/empty"
check "init refuses an http:// URL" \
    init_says init-plain 2 "url: must be an https:// URL" "http://127.0.0.1:9/" "$T/secret"
check "no secret's content appears in any output" \
    sh -c "! cat '$T'/*.out '$T'/*.err '$T'/*.t.out | grep -qF -e '$SECRET' -e '$SECRET_NEXT' -e 'PRIVATE KEY'"

# --- Concurrency and connection reuse ----------------------------------------------
receiver many --cert "$T/server.pem" --key "$T/server.key" --script 200
conf many "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS"
drive many n_many 1 200
check "200 concurrent deliveries to one receiver are all done" \
    test "$DRIVE_RC" -eq 0 -a "$(grep -c '^done retry_after_ms=0 detail=HTTP 200$' "$T/many.out")" -eq 200
connections=$(verify reuse "$T/many.log" 200 "$T/payload.json" "$T/secret")
echo "# webhook: 200 requests over ${connections:-?} TCP connections"
check "… over far fewer TCP connections than requests (at most 16: reused)" \
    test "${connections:-999}" -le 16

receiver shared --cert "$T/server.pem" --key "$T/server.key" --script 200
"$T/harness" shared "https://127.0.0.1:$PORT/hooks/sdat" "$T/secret" "$T/ca.pem" \
    >"$T/shared.out" 2>"$T/shared.err"
# (b 11/11: the 3 abandoned on B are not among its reports.)
check "two recipients share one event loop: either's poll completes the other's deliveries, each reported once; those in flight when a context is destroyed never; a context made after the last one was destroyed works" \
    grep -qx "a 11/11 b 11/11 again 1/1" "$T/shared.out"
same_port() {
    python3 - "$T/shared.log" <<'PY'
import json, sys
log = [json.loads(line) for line in open(sys.argv[1])]
first = {e["idempotency_key"]: e["peer_port"] for e in log}
sys.exit(first.get("n_a-0") is None or first.get("n_a-0") != first.get("n_b-1"))
PY
}
check "… and the second recipient reused the first one's connection to the same host" same_port

receiver bench --cert "$T/server.pem" --key "$T/server.key" --script 200
conf bench "https://127.0.0.1:$PORT/hooks/sdat" "$SECRETS"
drive bench n_bench 1 2000
python3 - "$T/bench.err" "$T/bench.out" <<'PY'
import re, sys
m = re.search(r"(\d+) deliveries in (\d+) ms", open(sys.argv[1]).read())
done = sum(1 for line in open(sys.argv[2]) if line.startswith("done"))
if m:
    n, ms = int(m.group(1)), max(int(m.group(2)), 1)
    print("# webhook: %d deliveries (%d done) in %d ms: %.0f deliveries/s" % (n, done, ms, n * 1000.0 / ms))
else:
    print("# webhook: no timing line from connector-drive")
PY
echo "# done"
