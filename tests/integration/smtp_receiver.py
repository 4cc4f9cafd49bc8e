#!/usr/bin/env python3
"""A real SMTP server (aiosmtpd) on loopback for tests/integration/test_smtp.sh.

    smtp_receiver.py --port-file FILE --out DIR
                     [--starttls CERT KEY | --implicit-tls CERT KEY | --no-starttls]
                     [--auth USER:PASSWORD] [--reject-rcpt ADDRESS] [--tempfail]

Listens on 127.0.0.1 on a free port and writes the port to FILE once it
accepts connections. --starttls offers STARTTLS and refuses mail before it;
--no-starttls never offers it; --implicit-tls is TLS from the first byte
(smtps). --auth requires AUTH (PLAIN or LOGIN) with that user and password,
only over TLS. --reject-rcpt answers 550 to that recipient; --tempfail
answers 451 to the message itself.

Into DIR: each accepted message as NNNN.eml (the bytes as received), one
JSON line per accepted message in messages.jsonl (file, envelope from and
to, whether TLS was active, the TLS version, the AUTH login), and one JSON
line per MAIL command in commands.jsonl (whether TLS was active), so a test
can tell that nothing was ever sent in plain text.
"""
import argparse
import asyncio
import json
import os
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def tls_of(server):
    obj = server.transport.get_extra_info("ssl_object") if server.transport else None
    return (obj is not None), (obj.version() if obj is not None else None)


class Handler:
    def __init__(self, args):
        self.out = args.out
        self.reject = {a.lower() for a in args.reject_rcpt}
        self.tempfail = args.tempfail
        self.count = 0

    def log(self, name, record):
        with open(os.path.join(self.out, name), "a") as f:
            f.write(json.dumps(record) + "\n")

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        tls, _ = tls_of(server)
        self.log("commands.jsonl", {"command": "MAIL", "tls": tls})
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.reject:
            return "550 5.1.1 Mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.tempfail:
            return "451 4.3.0 Temporary failure, try again later"
        self.count += 1
        name = "%04d.eml" % self.count
        with open(os.path.join(self.out, name), "wb") as f:
            f.write(envelope.original_content)
        tls, version = tls_of(server)
        login = getattr(session.auth_data, "login", None) if session.authenticated else None
        if isinstance(login, bytes):
            login = login.decode("utf-8", "replace")
        self.log("messages.jsonl", {
            "file": name,
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "tls": tls,
            "tls_version": version,
            "auth_login": login,
        })
        return "250 2.0.0 Accepted"


def make_authenticator(user, password):
    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword)
              and auth_data.login == user.encode()
              and auth_data.password == password.encode())
        if not ok:
            return AuthResult(success=False, handled=False)  # aiosmtpd answers 535
        return AuthResult(success=True, auth_data=auth_data)
    return authenticate


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port-file", required=True)
    p.add_argument("--out", required=True)
    mode = p.add_mutually_exclusive_group(required=True)
    mode.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    mode.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    mode.add_argument("--no-starttls", action="store_true")
    p.add_argument("--auth", metavar="USER:PASSWORD")
    p.add_argument("--reject-rcpt", action="append", default=[], metavar="ADDRESS")
    p.add_argument("--tempfail", action="store_true")
    args = p.parse_args()
    os.makedirs(args.out, exist_ok=True)

    def tls_context(cert, key):
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.load_cert_chain(cert, key)
        return ctx

    handler = Handler(args)
    params = {"hostname": "mx.test", "ident": "sdat test receiver"}
    if args.starttls:
        params["tls_context"] = tls_context(*args.starttls)
        params["require_starttls"] = True
    if args.auth:
        user, _, password = args.auth.partition(":")
        params["authenticator"] = make_authenticator(user, password)
        params["auth_required"] = True
        # With implicit TLS aiosmtpd does not know the session is encrypted.
        params["auth_require_tls"] = not args.implicit_tls
    server_ssl = tls_context(*args.implicit_tls) if args.implicit_tls else None

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    server = loop.run_until_complete(loop.create_server(
        lambda: SMTP(handler, loop=loop, **params), "127.0.0.1", 0, ssl=server_ssl))
    port = server.sockets[0].getsockname()[1]
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % port)
    os.rename(tmp, args.port_file)
    try:
        loop.run_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
