#!/usr/bin/env python3
"""make demo: the email Demo Academy receives in link mode, as it arrived.

  demo-email.py MAILDIR PUBLIC_URL RECIPIENT DAEMON_LOG

MAILDIR is tests/integration/smtp_receiver.py's --out directory. Prints the
message's header as received and its plain-text part, and says how many
parts it had. Checks that it arrived over STARTTLS (and that no MAIL
command came in clear), that it is multipart/alternative with a text and an
HTML part and nothing attached, and that both parts carry the link
PUBLIC_URL/console/notifications/ID to the notification the daemon's log
says it delivered to RECIPIENT, whose id is the Message-ID's. Writes the
HTML part to MAILDIR/email-link.html (scripts/demo-screenshots.py renders
it) and the header with every decoded text part to MAILDIR/scan/email.log,
for tests/integration/pii-scan.py. Exits 1, saying why, when a check fails.
"""
import email
import email.policy
import json
import os
import re
import sys


def fail(why):
    print("demo-email.py: " + why, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: demo-email.py MAILDIR PUBLIC_URL RECIPIENT DAEMON_LOG")
    maildir, public_url, recipient, log = sys.argv[1:]
    public_url = public_url.rstrip("/")
    try:
        records = [json.loads(line) for line in open(os.path.join(maildir, "messages.jsonl"))]
        commands = [json.loads(line) for line in open(os.path.join(maildir, "commands.jsonl"))]
    except OSError as e:
        fail("no message arrived: %s" % e)
    if len(records) != 1:
        fail("%d messages arrived, not 1" % len(records))
    m = records[0]
    if not m["tls"] or m["tls_version"] not in ("TLSv1.2", "TLSv1.3"):
        fail("the message did not arrive over STARTTLS (TLS %s)" % m["tls_version"])
    if not all(c["tls"] for c in commands):
        fail("a MAIL command was sent in clear")
    raw = open(os.path.join(maildir, m["file"]), "rb").read()
    msg = email.message_from_bytes(raw, policy=email.policy.default)
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii", "replace").replace("\r\n", "\n")
    print("   envelope: from %s to %s; over STARTTLS (%s), %d bytes" % (
        m["mail_from"], ", ".join(m["rcpt_tos"]), m["tls_version"], len(raw)))
    print("   --- the header, as received:")
    print("\n".join("   " + line for line in head.split("\n")))

    leaves = [p for p in msg.walk() if not p.is_multipart()]
    types = [p.get_content_type() for p in leaves]
    attached = [p for p in leaves if p.get_content_disposition() == "attachment"]
    print("   --- it has %d parts (%s: %s)%s; the plain-text part, decoded:" % (
        len(leaves), msg.get_content_type(), " and ".join(types),
        "" if attached else ", nothing attached"))
    if msg.get_content_type() != "multipart/alternative" or types != ["text/plain", "text/html"]:
        fail("not multipart/alternative of text/plain and text/html: %s %s"
             % (msg.get_content_type(), types))
    if attached:
        fail("link mode attached %d parts" % len(attached))
    text = leaves[0].get_content()
    html = leaves[1].get_content()
    print("\n".join("   " + line for line in text.rstrip("\n").split("\n")))
    print("   ---")

    with open(os.path.join(maildir, "email-link.html"), "w", encoding="utf-8") as f:
        f.write(html)
    os.makedirs(os.path.join(maildir, "scan"), exist_ok=True)
    with open(os.path.join(maildir, "scan", "email.log"), "w", encoding="utf-8") as f:
        f.write(head + "\n\n" + text + "\n" + html + "\n")

    # The link, in both parts, to the notification this message is.
    mid = re.fullmatch(r"<(n_[0-9a-f]+)@sdat>", str(msg["Message-ID"]).strip())
    if not mid:
        fail("Message-ID %r is not <notification_id@sdat>" % msg["Message-ID"])
    nid = mid.group(1)
    link = "%s/console/notifications/%s" % (public_url, nid)
    if link not in text or 'href="%s"' % link not in html:
        fail("the link %s is not in both parts" % link)
    delivered = re.compile(r"delivered id=%s recipient=%s " % (nid, re.escape(recipient)))
    if not any(delivered.search(line) for line in open(log, encoding="utf-8", errors="replace")):
        fail("the daemon's log has no delivery of %s to %s" % (nid, recipient))
    print("   it links to %s (the notification delivered to %s)" % (link, recipient))
    print("   HTML part: %s" % os.path.join(maildir, "email-link.html"))


if __name__ == "__main__":
    main()
