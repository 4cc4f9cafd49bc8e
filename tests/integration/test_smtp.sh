#!/bin/sh
# The smtp connector against a real SMTP server (aiosmtpd) on loopback, with
# certificates made for the run: a STARTTLS delivery is done and the message
# carries the specified Subject, Message-ID, the letter a person reads as
# multipart/alternative (text and HTML that a real parser reads, with no
# image, script or remote resource) and the JSON as an attachment byte for
# byte; content = "link" sends no personal data, only the console link;
# smtps works; a server without STARTTLS, an
# untrusted certificate or the wrong host name is a retry with nothing sent;
# AUTH from a password_file works and never shows the password; a refused
# recipient fails and sends nothing; a 451 is a retry; two addresses both
# receive; deliveries run at once; sdatd -t refuses bad smtp keys; and, with
# the daemon itself, a withdrawal's letter names the withdrawn notification
# by id and by the delivery date the outbox found in the store.
. tests/integration/lib.sh
DRIVE="$SDAT_BUILD/tests/connector-drive"
ID=n_5d41402abc4b2a76b9719d911017c592

# aiosmtpd is a Debian package: the system python has it even when another
# python3 comes first on the PATH.
PY=python3
$PY -c 'import aiosmtpd' 2>/dev/null || PY=/usr/bin/python3
if ! $PY -c 'import aiosmtpd' 2>/dev/null; then
    notok "python3-aiosmtpd is installed (scripts/deps.sh)"
    exit 1
fi

# A test CA, a rogue CA, and server certificates for 127.0.0.1/localhost
# (and one for another name) signed by them.
PKI=$T/pki
mkdir -p "$PKI"
new_ca() { # NAME
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/$1.key" -out "$PKI/$1.pem" -subj "/CN=sdat test $1" -days 2 \
        -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
        2>>"$PKI/openssl.err"
}
new_server() { # NAME CA SUBJECT_ALT_NAME
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -keyout "$PKI/$1.key" -out "$PKI/$1.csr" -subj "/CN=$1" 2>>"$PKI/openssl.err"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=%s\n' \
        "$3" >"$PKI/$1.ext"
    openssl x509 -req -in "$PKI/$1.csr" -CA "$PKI/$2.pem" -CAkey "$PKI/$2.key" -CAcreateserial \
        -days 2 -extfile "$PKI/$1.ext" -out "$PKI/$1.pem" 2>>"$PKI/openssl.err"
}
new_ca ca && new_ca rogue &&
    new_server server ca "IP:127.0.0.1,DNS:localhost" &&
    new_server impostor rogue "IP:127.0.0.1,DNS:localhost" &&
    new_server elsewhere ca "DNS:other.example"
check "the test certificates are made" test -s "$PKI/elsewhere.pem"

# start_receiver NAME ARGS...: one aiosmtpd server; its messages in $T/NAME,
# its port in PORT_NAME.
start_receiver() {
    name=$1
    shift
    $PY tests/integration/smtp_receiver.py --port-file "$T/$name.port" --out "$T/$name" "$@" \
        2>"$T/$name.log" &
    PIDS="$PIDS $!"
    if ! wait_for 10 test -s "$T/$name.port"; then
        notok "receiver $name started"
        return 1
    fi
    eval "PORT_$name=$(cat "$T/$name.port")"
}
TLS="--starttls $PKI/server.pem $PKI/server.key"
start_receiver starttls $TLS --reject-rcpt refused@la.test || exit 1
start_receiver smtps --implicit-tls "$PKI/server.pem" "$PKI/server.key" || exit 1
start_receiver plain --no-starttls || exit 1
start_receiver impostor --starttls "$PKI/impostor.pem" "$PKI/impostor.key" || exit 1
start_receiver elsewhere --starttls "$PKI/elsewhere.pem" "$PKI/elsewhere.key" || exit 1
start_receiver auth $TLS --auth "sdat-relay:correct horse battery staple" || exit 1
start_receiver tempfail $TLS --tempfail || exit 1

PASSWORD="correct horse battery staple"
(umask 077 && printf '%s\n' "$PASSWORD" >"$T/password" && printf 'wrong\n' >"$T/wrong-password")

# recipient ID URL [MORE_KEYS]: one smtp recipient of kind mash.
recipient() {
    printf '  { id = "%s"; kind = "mash"; la_code = "831"; name = "Test %s"; connector = "smtp";\n' "$1" "$1"
    printf '    url = "%s"; from = "sdat@sdat.test"; ca_file = "%s"; timeout = 10; %s },\n' \
        "$2" "$PKI/ca.pem" "${3:-to = [ \"mash@la.test\" ];}"
}
write_config() { # FILE (the recipients on standard input)
    {
        cat <<CONF
state_dir = "$T/state";
instance_id = "it-smtp";
kafka = { embedded = true; };
http = { public_url = "https://sdat.test"; };
guidance = { da_incident = "Tell the class teacher <today> & note it."; };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
areas = ( { la_code = "831"; name = "Test City"; mash = "la:831:mash"; } );
recipients = (
CONF
        cat
        echo '  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file"; directory = "'"$T/spool"'"; }'
        echo ');'
    } >"$1"
}
{
    recipient smtp:starttls "smtp://127.0.0.1:$PORT_starttls"
    recipient smtp:link "smtp://127.0.0.1:$PORT_starttls" 'to = [ "dsl@school.test" ]; content = "link";'
    recipient smtp:two "smtp://127.0.0.1:$PORT_starttls" 'to = [ "first@la.test", "second@la.test" ];'
    recipient smtp:refused "smtp://127.0.0.1:$PORT_starttls" 'to = [ "mash@la.test", "refused@la.test" ];'
    recipient smtp:smtps "smtps://127.0.0.1:$PORT_smtps"
    recipient smtp:plain "smtp://127.0.0.1:$PORT_plain"
    recipient smtp:impostor "smtp://127.0.0.1:$PORT_impostor"
    recipient smtp:elsewhere "smtp://127.0.0.1:$PORT_elsewhere"
    recipient smtp:auth "smtp://127.0.0.1:$PORT_auth" \
        "to = [ \"mash@la.test\" ]; username = \"sdat-relay\"; password_file = \"$T/password\";"
    recipient smtp:badauth "smtp://127.0.0.1:$PORT_auth" \
        "to = [ \"mash@la.test\" ]; username = \"sdat-relay\"; password_file = \"$T/wrong-password\";"
    recipient smtp:tempfail "smtp://127.0.0.1:$PORT_tempfail"
    recipient smtp:closed "smtp://127.0.0.1:1"
} | write_config "$T/sdatd.conf"
t_accepts() { "$SDATD" -t -c "$1" >/dev/null 2>"$T/t.err"; }
check "sdatd -t accepts the smtp recipients" t_accepts "$T/sdatd.conf"

# The payload: UTF-8 names and a line far longer than a mail line may be.
LONG=$(printf 'The officer recorded a long account. %.0s' 1 2 3 4 5 6 7 8 9 10 11 12)
printf '{"schema":"sdat.notification/1","notification_id":"%s","kind":"da-incident","recipient":{"id":"smtp:starttls","name":"Test MASH"},"created_at":"2026-11-23T07:30:00Z","scheduled_for":"2026-11-23T07:30:00Z","lawful_basis":"A","child":{"given_name":"Zoë","family_name":"Ångström-Testwood","dob":"2016-04-12"},"incident":{"force":"derbyshire","reference":"INC-1","occurred_at":"2026-11-22T21:00:00Z","present":true,"circumstances":"%s"},"officer":{"name":"PC Test","phone":"01632 960000","email":"pc.test@police.test"}}' \
    "$ID" "$LONG" >"$T/payload.json"

# drive NAME RECIPIENT [ID [ATTEMPT [COUNT]]]: connector-drive's lines in
# $T/NAME.out, its standard error in $T/NAME.err, its exit code in DRIVE_RC.
drive() {
    name=$1
    "$DRIVE" "$T/sdatd.conf" "$2" "${3:-$ID}" "$T/payload.json" ${4:-1} ${5:-1} \
        >"$T/$name.out" 2>"$T/$name.err"
    DRIVE_RC=$?
}
result_is() { # NAME RESULT DETAIL_PATTERN
    [ "$DRIVE_RC" -eq 0 ] && grep -Eq "^$2 retry_after_ms=0 detail=$3" "$T/$1.out"
}
received() { # RECEIVER: how many messages it accepted
    ls "$T/$1"/*.eml 2>/dev/null | wc -l
}
never_mailed() { # RECEIVER: no MAIL command ever reached it
    ! test -s "$T/$1/commands.jsonl"
}
# message WHAT EML: one property of a received message.
message() {
    $PY - "$1" "$2" "$T/payload.json" "$ID" <<'PY'
import email, email.policy, email.utils, sys
what, path, payload_path, nid = sys.argv[1:]
raw = open(path, "rb").read()
payload = open(payload_path, "rb").read()
msg = email.message_from_bytes(raw, policy=email.policy.default)
parts = list(msg.walk())
if what == "message-id":
    ok = msg["Message-ID"] == "<%s@sdat>" % nid
elif what == "subject":
    ok = msg["Subject"] == "Safeguarding notification da-incident %s" % nid
elif what == "headers":
    ok = (msg["From"] == "sdat@sdat.test" and msg["To"] == "mash@la.test"
          and email.utils.parsedate_to_datetime(msg["Date"]) is not None
          and msg["MIME-Version"] == "1.0" and msg.get_content_type() == "multipart/mixed")
elif what == "crlf":
    ok = b"\n" not in raw.replace(b"\r\n", b"") and max(len(l) for l in raw.split(b"\r\n")) <= 78
elif what == "text":
    text = [p for p in parts if p.get_content_type() == "text/plain"]
    body = text[0].get_content() if len(text) == 1 else ""
    ok = (len(text) == 1 and text[0].get_content_charset() == "utf-8"
          and text[0]["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
          and "Domestic abuse incident notification for Test smtp:starttls" in body
          and "Child:" in body and "Zoë Ångström-Testwood" in body
          and "22 November 2026 at 21:00" in body and "Present:" in body
          and "Tell the class teacher <today> & note it." in body
          and nid in body and "The officer recorded a long account. " * 12 in body)
elif what == "letter":
    # A letter, not JSON: no braces, no JSON literals, no field names.
    import re
    body = [p for p in parts if p.get_content_type() == "text/plain"][0].get_content()
    ok = (not re.search(r"[{}]|\b(true|false|null)\b", body)
          and not any(k in body for k in ("given_name", "family_name", "occurred_at",
                                          "notification_id", "lawful_basis")))
elif what in ("alternative", "link-alternative"):
    alt = [p for p in parts if p.get_content_type() == "multipart/alternative"]
    subtypes = [p.get_content_type() for p in alt[0].iter_parts()] if len(alt) == 1 else []
    top = msg.get_content_type()
    ok = (subtypes == ["text/plain", "text/html"]
          and top == ("multipart/mixed" if what == "alternative" else "multipart/alternative"))
elif what == "html":
    from html.parser import HTMLParser
    class Strict(HTMLParser):
        bad = []
        tags = []
        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            if tag in ("img", "script", "link", "style", "iframe", "object", "embed", "video",
                       "audio", "source", "form", "base", "meta") and not (
                           tag == "meta" and all(k in ("charset", "name", "content")
                                                 for k, _ in attrs)):
                self.bad.append(tag)
            for k, v in attrs:
                if k in ("src", "srcset", "background", "poster", "data", "action") or (
                        k.startswith("on")) or ("url(" in (v or "")):
                    self.bad.append(k)
                if k == "href" and tag != "a":
                    self.bad.append("href on " + tag)
    html = [p for p in parts if p.get_content_type() == "text/html"][0].get_content()
    parser = Strict()
    parser.feed(html)
    parser.close()
    ok = (not parser.bad and "html" in parser.tags and "body" in parser.tags
          and "h1" in parser.tags and "Zoë Ångström-Testwood" in html
          and "Tell the class teacher &lt;today&gt; &amp; note it." in html
          and "<today>" not in html)
    if not ok:
        print("html: forbidden %s" % parser.bad, file=sys.stderr)
elif what == "link":
    # Nothing of the payload beyond what link mode says (kind, id): every
    # string value, the dates as the letter would write them, in any part
    # or header, decoded or raw.
    import json
    doc = json.loads(payload)
    values = []
    def walk(v, key=""):
        if isinstance(v, dict):
            for k, x in v.items():
                if k not in ("schema", "notification_id", "kind", "recipient", "lawful_basis"):
                    walk(x, k)
        elif isinstance(v, list):
            for x in v:
                walk(x, key)
        elif isinstance(v, str):
            values.append(v)
    walk(doc)
    values += ["12 April 2016", "22 November 2026", "Derbyshire", "Zo", "ngstr", "Testwood"]
    decoded = "\n".join(p.get_content() for p in parts if p.get_content_maintype() == "text")
    everything = (decoded + raw.decode("utf-8", "replace")).lower()
    leaked = [v for v in values if v.lower() in everything]
    url = "https://sdat.test/console/notifications/" + nid
    ok = (len(values) >= 10 and not leaked and url in decoded
          and "Domestic abuse incident notification for Test smtp:link" in decoded
          and "da-incident" not in decoded
          and not [p for p in parts if p.get_content_type() == "application/json"])
    if leaked:
        print("link mode leaked %d payload values" % len(leaked), file=sys.stderr)
elif what == "attachment":
    att = [p for p in parts if p.get_content_type() == "application/json"]
    ok = (len(att) == 1 and att[0].get_content_disposition() == "attachment"
          and att[0].get_filename() == nid + ".json"
          and att[0].get_param("name") == nid + ".json"
          and att[0]["Content-Transfer-Encoding"] == "base64"
          and att[0].get_payload(decode=True) == payload)
else:
    ok = False
if not ok:
    print("message %s: not as expected in %s" % (what, path), file=sys.stderr)
sys.exit(0 if ok else 1)
PY
}
# logged RECEIVER EXPR: a Python expression over the last messages.jsonl line m.
logged() {
    $PY - "$T/$1/messages.jsonl" "$2" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
m = json.loads(lines[-1])
sys.exit(0 if eval(sys.argv[2]) else 1)
PY
}

drive starttls smtp:starttls
check "a STARTTLS delivery is done with SMTP 250" result_is starttls done "SMTP 250$"
check "the server accepted exactly one message" test "$(received starttls)" -eq 1
EML=$T/starttls/0001.eml
check "the message's Message-ID is <ID@sdat>" message message-id "$EML"
check "the subject is exactly \"Safeguarding notification da-incident ID\"" message subject "$EML"
check "From, To, Date, MIME-Version and multipart/mixed are set" message headers "$EML"
check "every line ends in CRLF and none is longer than 78" message crlf "$EML"
check "a text/plain utf-8 part a person can read: the title, labelled fields, local dates, guidance" \
    message text "$EML"
check "the text part is a letter: no braces, true/false/null or field names" message letter "$EML"
check "multipart/alternative holds a text/plain and a text/html part, inside multipart/mixed" \
    message alternative "$EML"
check "the HTML part parses and holds no image, script, style or remote resource, values escaped" \
    message html "$EML"
check "the JSON is an application/json attachment ID.json whose bytes equal the payload" \
    message attachment "$EML"
check "the session used TLS (STARTTLS, TLS 1.2 or later)" \
    logged starttls 'm["tls"] and m["tls_version"] in ("TLSv1.2", "TLSv1.3")'
check "the envelope is the configured from and to" \
    logged starttls 'm["mail_from"] == "sdat@sdat.test" and m["rcpt_tos"] == ["mash@la.test"]'
check "no MAIL command was ever sent in plain text" \
    $PY -c "import json,sys; sys.exit(any(not json.loads(l)['tls'] for l in open(sys.argv[1])))" \
    "$T/starttls/commands.jsonl"

drive link smtp:link
check "content = link: the delivery is done" result_is link done "SMTP 250$"
LINK_EML=$(ls "$T"/starttls/*.eml | tail -n 1)
check "content = link: the message is multipart/alternative, text and HTML, nothing attached" \
    message link-alternative "$LINK_EML"
check "content = link: no personal data of the payload anywhere, and the console link" \
    message link "$LINK_EML"
check "content = link: every line ends in CRLF and none is longer than 78" message crlf "$LINK_EML"
check "content = link: the subject is still the kind and id" message subject "$LINK_EML"

drive two smtp:two
check "two to addresses: done" result_is two done "SMTP 250$"
check "both addresses are in the envelope" \
    logged starttls 'm["rcpt_tos"] == ["first@la.test", "second@la.test"]'
check "and in the To header" \
    grep -q "^To: first@la.test, second@la.test" "$T/starttls/0003.eml"

drive smtps smtp:smtps
check "smtps:// (implicit TLS) is done" result_is smtps done "SMTP 250$"
check "the smtps server received one message, over TLS" \
    sh -c "test $(received smtps) -eq 1 && grep -q '\"tls\": true' '$T/smtps/messages.jsonl'"

drive plain smtp:plain
check "a server that does not offer STARTTLS is a retry with a clear detail" \
    result_is plain retry "STARTTLS not offered"
untouched() { never_mailed "$1" && test "$(received "$1")" -eq 0; }
check "nothing is sent to it: no MAIL command, no message" untouched plain

drive impostor smtp:impostor
check "a certificate from an untrusted CA is a retry naming the certificate problem" \
    result_is impostor retry "SSL certificate problem"
check "nothing is sent to the untrusted server" untouched impostor
drive elsewhere smtp:elsewhere
check "a certificate for another host name is a retry" \
    result_is elsewhere retry ".*(subject name|host name)"
check "nothing is sent to the server with the wrong name" untouched elsewhere

drive auth smtp:auth
check "AUTH with the password_file's password is done" result_is auth done "SMTP 250$"
check "the server saw the configured login over TLS" \
    logged auth 'm["auth_login"] == "sdat-relay" and m["tls"]'
drive badauth smtp:badauth
check "a wrong password (535) is failed" result_is badauth failed "SMTP 535"
check "the password never appears in connector-drive's output" \
    sh -c "! grep -qF '$PASSWORD' '$T/auth.out' '$T/auth.err' '$T/badauth.out' '$T/badauth.err'"

drive refused smtp:refused
check "a recipient refused with 550 is failed" result_is refused failed "SMTP 550"
check "the detail does not name the address" sh -c "! grep -q 'la.test' '$T/refused.out'"
check "nothing is delivered when one recipient is refused" test "$(received starttls)" -eq 3

drive tempfail smtp:tempfail
check "a 451 reply is a retry" result_is tempfail retry "SMTP 451$"
check "nothing is kept by the server that answered 451" test "$(received tempfail)" -eq 0

drive closed smtp:closed
check "a refused connection is a retry" result_is closed retry ".*(connect|Connect)"

drive many smtp:starttls n_many 1 8
check "eight deliveries at once are all done" \
    test "$(grep -c '^done retry_after_ms=0 detail=SMTP 250$' "$T/many.out")" -eq 8
check "each arrives once with its own Message-ID" \
    sh -c "grep -h '^Message-ID: <n_many' '$T'/starttls/*.eml | sort -u | wc -l | grep -qx 8"

# A password_file readable by others: refused, naming the file, never
# showing its contents.
cp "$T/password" "$T/open-password"
chmod 0644 "$T/open-password"
recipient smtp:open "smtp://127.0.0.1:$PORT_auth" \
    "to = [ \"mash@la.test\" ]; username = \"sdat-relay\"; password_file = \"$T/open-password\";" |
    write_config "$T/open.conf"
"$DRIVE" "$T/open.conf" smtp:open "$ID" "$T/payload.json" >"$T/open.out" 2>"$T/open.err"
check "a password_file with mode 0644 is refused (exit 2)" test $? -eq 2
check "the refusal names the file and why" \
    grep -q "password_file: \"$T/open-password\" is readable by group or others" "$T/open.err"
check "the refusal does not show the password" sh -c "! grep -qF '$PASSWORD' '$T/open.out' '$T/open.err'"
"$SDATD" -t -c "$T/open.conf" 2>"$T/open-t.err"
check "sdatd -t refuses it too (exit 78)" test $? -eq 78

# sdatd -t on bad smtp keys: exit 78, the key and the rule.
refused_by_t() { # NAME URL KEYS EXPECTED_TEXT
    recipient smtp:bad "$2" "$3" | write_config "$T/$1.conf"
    "$SDATD" -t -c "$T/$1.conf" 2>"$T/$1.err"
    rc=$?
    [ "$rc" -eq 78 ] && grep -qF "$4" "$T/$1.err"
}
check "sdatd -t refuses an http:// url for an smtp recipient, naming recipients.[0].url" \
    refused_by_t http "http://127.0.0.1:25" 'to = [ "mash@la.test" ];' \
    "recipients.[0].url: must be smtp:// (STARTTLS) or smtps://"
credentials_refused() {
    refused_by_t creds "smtp://user:s3cret@127.0.0.1:25" 'to = [ "mash@la.test" ];' \
        "recipients.[0].url: must not carry credentials" && ! grep -q s3cret "$T/creds.err"
}
check "sdatd -t refuses a url with credentials in it, without showing them" credentials_refused
check "sdatd -t refuses an empty to list" \
    refused_by_t noto "smtp://127.0.0.1:25" 'to = [ ];' "recipients.[0].to: at least one address"
check "sdatd -t refuses a username without a password_file" \
    refused_by_t nopw "smtp://127.0.0.1:25" 'to = [ "mash@la.test" ]; username = "u";' \
    "recipients.[0].password_file: is required with username"
check "sdatd -t refuses a to address that is not one" \
    refused_by_t badto "smtp://127.0.0.1:25" 'to = [ "Mash <mash@la.test>" ];' \
    "recipients.[0].to: \"Mash <mash@la.test>\" is not an address"
check "sdatd -t refuses a content that is neither full nor link" \
    refused_by_t content "smtp://127.0.0.1:25" 'to = [ "mash@la.test" ]; content = "summary";' \
    'recipients.[0].content: "summary" is not full or link'

# The daemon itself, end to end: a school's da-incident goes out by smtp,
# the operator withdraws it, and the withdrawal's letter names it by id and
# by the date it was delivered, which the outbox looked up in the store
# (delivery.md: "by id and date"; the payload carries only the id).
unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
start_broker --partitions 1 --topic police.da-incidents || exit 1
HTTP_PORT=$($PY -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
OPS_TOKEN="ops-$(openssl rand -hex 16)"
(umask 077 && printf '%s\n' "$OPS_TOKEN" >"$T/ops-token")
cat >"$T/daemon.conf" <<CONF
state_dir = "$T/daemon-state";
instance_id = "it-smtp-daemon";
kafka = { bootstrap_servers = "$BS"; group_id = "sdatd-it-smtp"; };
http = { listen = "127.0.0.1:$HTTP_PORT"; public_url = "https://sdat.test";
         tokens = ( { name = "mash-desk"; sha256 = "$(printf '%s' "$OPS_TOKEN" | sha256sum | cut -d' ' -f1)"; roles = [ "operator" ]; } ); };
lawful_basis = { da_incident = "A"; da_incident_urgent = "B"; unmatched_child = "C";
                 review_needed = "D"; cpis_access = "E"; delivery_failed = "F"; withdrawn = "G"; };
calendars = ( { id = "always"; weekdays = [ "mon", "tue", "wed", "thu", "fri", "sat", "sun" ];
                release_time = "00:00"; close_time = "23:59";
                terms = ( [ "2020-01-01", "2035-12-31" ] ); } );
areas = ( { la_code = "831"; name = "Test City"; postcode_districts = [ "DE22" ]; mash = "la:831:mash"; } );
forces = ( { id = "derbyshire"; default_area = "831"; } );
recipients = (
  { id = "school:100001"; kind = "school"; la_code = "831"; name = "Test Primary"; urn = "100001";
    calendar = "always"; connector = "smtp"; url = "smtp://127.0.0.1:$PORT_starttls";
    from = "sdat@sdat.test"; to = [ "dsl@school.test" ]; ca_file = "$PKI/ca.pem"; timeout = 10; },
  { id = "la:831:mash"; kind = "mash"; la_code = "831"; name = "Test MASH"; connector = "file";
    directory = "$T/daemon-spool"; }
);
CONF
printf '%s\n' '{"schema":"council.child/1","child_id":"WD-1","la_code":"831","given_name":"Wren","family_name":"Withdrawood","dob":"2016-05-06","address":{"line1":"9 Example Road","postcode":"DE22 9AA"},"education":[{"urn":"100001","start":"2024-09-01"}]}' >"$T/wd-child.jsonl"
"$SDATCTL" -c "$T/daemon.conf" import children "$T/wd-child.jsonl" >"$T/wd-import.out" 2>&1
check "daemon: the register is imported" grep -q "imported 1 children" "$T/wd-import.out"
start_sdatd "$T/daemon.conf" "$T/daemon.log"
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
printf 'derbyshire/WD-1|{"schema":"police.da-incident/1","force":"derbyshire","incident_id":"WD-1","version":1,"occurred_at":"%s","reported_at":"%s","location":{"address":"9 Example Road","postcode":"DE22 9AA"},"risk":"medium","children":[{"ref":"c1","given_name":"Wren","family_name":"Withdrawood","dob":"2016-05-06","present":true,"resident":true}],"circumstances":"Synthetic.","officer":{"id":"PC-1","name":"PC Test"}}\n' \
    "$NOW" "$NOW" | kcat -P -b "$BS" -t police.da-incidents -K '|' 2>>"$T/kcat.err"
ddb() { sqlite3 "file:$T/daemon-state/sdat.db?mode=ro" "$1" 2>/dev/null; }
school_delivered() { [ "$(ddb "SELECT count(*) FROM notifications WHERE kind = 'da-incident' AND recipient = 'school:100001' AND state = 'delivered'")" = 1 ]; }
check "daemon: the school's notification is delivered by smtp" wait_for 60 school_delivered
WN=$(ddb "SELECT id FROM notifications WHERE kind = 'da-incident' AND recipient = 'school:100001'")
"$SDATCTL" -c "$T/daemon.conf" --url "http://127.0.0.1:$HTTP_PORT" --token-file "$T/ops-token" \
    notification withdraw "$WN" \
    --reason "Sent in error" --by "Test Desk" >"$T/withdraw.out" 2>&1
withdrawal_delivered() { [ "$(ddb "SELECT count(*) FROM notifications WHERE kind = 'withdrawn' AND recipient = 'school:100001' AND state = 'delivered'")" = 1 ]; }
check "daemon: the operator's withdrawal is delivered by smtp" wait_for 60 withdrawal_delivered
check "  its letter (text and HTML) names the withdrawn one by id and by its delivery date in the zone" \
    $PY - "$T/daemon-state/sdat.db" "$WN" "$T/starttls" <<'PY'
import datetime, email, email.policy, glob, sqlite3, sys, zoneinfo
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
nid = sys.argv[2]
ms = db.execute("SELECT delivered_ms FROM notifications WHERE id = ?", (nid,)).fetchone()[0]
at = datetime.datetime.fromtimestamp(ms / 1000, zoneinfo.ZoneInfo("Europe/London"))
want = "Notification %s of %d %s at %s, which sdat sent to you earlier, was sent in error." % (
    nid, at.day, at.strftime("%B %Y"), at.strftime("%H:%M"))
found = False
for path in sorted(glob.glob(sys.argv[3] + "/*.eml")):
    msg = email.message_from_bytes(open(path, "rb").read(), policy=email.policy.default)
    if not msg["Subject"].startswith("Safeguarding notification withdrawn "):
        continue
    parts = {p.get_content_type(): p.get_content() for p in msg.walk()
             if p.get_content_maintype() == "text"}
    found = (want in parts.get("text/plain", "") and want in parts.get("text/html", "")
             and "Notification withdrawn for Test Primary" in parts.get("text/plain", ""))
    if not found:
        print("withdrawal letter: %r not in %s" % (want, path), file=sys.stderr)
sys.exit(0 if found else 1)
PY
echo "# done"
