#!/usr/bin/env python3
"""A scripted HTTPS webhook receiver for tests/integration/test_webhook.sh.

Binds 127.0.0.1 on a free port, writes the port to --port-file, and answers
every request (HTTP/1.1, keep-alive) with the next entry of --script, the last
entry repeating; while --down-file names a file that exists, every request
is answered 503 instead (a receiver that is down, for the reliability
tests). An entry is CODE[;retry-after=VALUE][;sleep=SECONDS], where
VALUE is sent as it is, or "date+N" for the HTTP date N seconds from now. A 3xx
answer carries a Location on the same server. Each request is logged to --log
as one JSON line: method, path, the sdat headers, the body (text, base64 and
sha256), the TCP peer port (to see connection reuse), the client
certificate's subject when --client-ca asks for one, and the status code
answered.
"""
import argparse
import base64
import email.utils
import hashlib
import http.server
import json
import os
import socket
import ssl
import sys
import threading
import time


def parse_script(text):
    entries = []
    for item in text.split(","):
        parts = item.strip().split(";")
        entry = {"code": int(parts[0]), "retry_after": None, "sleep": 0.0}
        for option in parts[1:]:
            name, _, value = option.partition("=")
            if name == "retry-after":
                entry["retry_after"] = value
            elif name == "sleep":
                entry["sleep"] = float(value)
            else:
                raise SystemExit("https_receiver: unknown script option %r" % name)
        entries.append(entry)
    return entries


def linger(tls):
    """Closes after a failed handshake as real servers do: FIN, then read
    what the client still sends, so that the close does not reset the
    connection and destroy the alert just sent (the client's reason)."""
    try:
        socket.socket.shutdown(tls, socket.SHUT_WR)
        tls.settimeout(2)
        while socket.socket.recv(tls, 65536):
            pass
    except OSError:
        pass
    finally:
        tls.close()


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def __init__(self, address, context, script, log, down_file=None):
        super().__init__(address, Handler)
        self.context = context
        self.script = script
        self.down_file = down_file
        self.next = 0
        self.lock = threading.Lock()
        self.log = log

    def finish_request(self, request, client_address):
        # No Nagle: headers and body go in separate writes, and a delayed
        # ACK would add 40 ms to every answer. The TLS handshake runs in the
        # request's thread, not the accept loop.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        tls = self.context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        try:
            tls.do_handshake()
        except (ssl.SSLError, OSError) as e:
            sys.stderr.write("https_receiver: TLS handshake failed: %s\n" % e)
            linger(tls)
            return
        try:
            super().finish_request(tls, client_address)
        finally:
            try:
                tls.close()
            except OSError:
                pass

    def take(self):
        if self.down_file and os.path.exists(self.down_file):
            return {"code": 503, "retry_after": None, "sleep": 0.0}
        with self.lock:
            entry = self.script[min(self.next, len(self.script) - 1)]
            self.next += 1
            return entry

    def record(self, line):
        with self.lock:
            self.log.write(json.dumps(line, sort_keys=True) + "\n")
            self.log.flush()


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        self.answer()

    def do_GET(self):
        self.answer()

    def answer(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length) if length else b""
        peer = self.connection.getpeercert()
        subject = None
        if peer:
            subject = ",".join("%s=%s" % kv for rdn in peer.get("subject", ()) for kv in rdn)
        entry = self.server.take()
        self.server.record({
            "method": self.command,
            "path": self.path,
            "http_version": self.request_version,
            "idempotency_key": self.headers.get("Idempotency-Key"),
            "signature": self.headers.get("Sdat-Signature"),
            "attempt": self.headers.get("Sdat-Attempt"),
            "user_agent": self.headers.get("User-Agent"),
            "content_type": self.headers.get("Content-Type"),
            "expect": self.headers.get("Expect"),
            "body": body.decode("utf-8", "replace"),
            "body_b64": base64.b64encode(body).decode(),
            "body_sha256": hashlib.sha256(body).hexdigest(),
            "peer_port": self.client_address[1],
            "client_subject": subject,
            "code": entry["code"],
            "time": time.time(),
        })
        if entry["sleep"]:
            time.sleep(entry["sleep"])
        reply = b'{"received":true}\n'
        try:
            self.send_response(entry["code"])
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            if entry["retry_after"] is not None:
                value = entry["retry_after"]
                if value.startswith("date+"):
                    value = email.utils.formatdate(time.time() + float(value[5:]), usegmt=True)
                self.send_header("Retry-After", value)
            if 300 <= entry["code"] <= 399:
                self.send_header("Location", "https://127.0.0.1:%d/moved" %
                                 self.server.server_address[1])
            self.end_headers()
            self.wfile.write(reply)
            self.wfile.flush()
        except OSError:
            self.close_connection = True


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--client-ca", help="require client certificates from this CA")
    ap.add_argument("--script", default="201")
    ap.add_argument("--log", required=True)
    ap.add_argument("--port", type=int, default=0, help="bind this port (default: a free one)")
    ap.add_argument("--down-file", help="answer 503 while this file exists")
    args = ap.parse_args()

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(args.cert, args.key)
    context.set_alpn_protocols(["http/1.1"])
    if args.client_ca:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(args.client_ca)

    log = open(args.log, "a", buffering=1)
    server = Server(("127.0.0.1", args.port), context, parse_script(args.script), log,
                    args.down_file)
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % server.server_address[1])
    os.rename(tmp, args.port_file)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
