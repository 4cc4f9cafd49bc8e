#!/usr/bin/env python3
"""A client without a token trying to starve the HTTP API (quality.md S10).

From ATTACK_ADDRESS (default 127.0.0.2: all of 127/8 is loopback on Linux,
so the legitimate client on 127.0.0.1 is another address) it keeps N
connections open or opening: half idle after a partial request line, half
trickling one byte of headers a second, never finishing; a connection the
server closes is replaced a second later. Meanwhile a legitimate client on
127.0.0.1 asks for /healthz, /readyz and a CP-IS lookup (with a token) in
turn, one request a second. After DURATION seconds it prints one JSON
object with what it saw; the test decides.
"""
import argparse
import http.client
import json
import selectors
import socket
import threading
import time


def legit(port, token, nhs, stop, results):
    """One request a second, in turn; each with a 10 s timeout."""
    kinds = ["healthz", "readyz", "lookup"]
    i = 0
    while not stop.is_set():
        kind = kinds[i % len(kinds)]
        i += 1
        t0 = time.monotonic()
        status, err = None, None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            if kind == "lookup":
                body = json.dumps({"nhs_number": nhs})
                conn.request("POST", "/v1/cpis/lookups", body=body,
                             headers={"Authorization": "Bearer " + token,
                                      "Content-Type": "application/json"})
            else:
                conn.request("GET", "/" + kind)
            resp = conn.getresponse()
            data = resp.read()
            status = resp.status
            if kind == "healthz" and data != b"ok":
                err = "body %r" % data[:40]
            if kind == "lookup" and status == 200:
                doc = json.loads(data)
                if doc.get("schema") != "sdat.cpis-response/1" or not doc.get("flags"):
                    err = "not a cpis-response with flags"
            conn.close()
        except OSError as e:
            err = type(e).__name__ + ": " + str(e)
        results.append({"kind": kind, "status": status, "error": err,
                        "seconds": round(time.monotonic() - t0, 3)})
        rest = 1.0 - (time.monotonic() - t0)
        if rest > 0:
            stop.wait(rest)


class Attacker:
    def __init__(self, address, port, n):
        self.address, self.port, self.n = address, port, n
        self.sel = selectors.DefaultSelector()  # epoll: no FD_SETSIZE limit
        self.conns = {}  # socket -> {"kind", "opened", "sent"}
        self.lifetimes = {"idle": [], "trickle": []}
        self.opened = 0
        self.open_errors = 0
        self.max_held = 0
        self.reopen = []  # (when, kind): a closed connection is replaced a second later

    def open(self, kind):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.settimeout(5)
            s.bind((self.address, 0))
            s.connect(("127.0.0.1", self.port))
            s.setblocking(False)
            s.send(b"GET /healthz HTT" if kind == "idle" else b"GET /healthz HTTP/1.1\r\n")
        except OSError:
            s.close()
            self.open_errors += 1
            return
        self.opened += 1
        self.conns[s] = {"kind": kind, "opened": time.monotonic(), "sent": 0}
        self.sel.register(s, selectors.EVENT_READ)

    def closed(self, s, now):
        c = self.conns.pop(s)
        self.sel.unregister(s)
        s.close()
        self.lifetimes[c["kind"]].append(now - c["opened"])
        return c["kind"]

    def drain(self, timeout):
        """Notices the connections the server closed; replaces them."""
        replace = []
        for key, _ in self.sel.select(timeout):
            s = key.fileobj
            try:
                data = s.recv(4096)
            except OSError:
                data = b""
            if not data:  # closed (or an answer, which a partial request never gets)
                replace.append(self.closed(s, time.monotonic()))
        now = time.monotonic()
        self.reopen += [(now + 1, kind) for kind in replace]
        due = [kind for when, kind in self.reopen if when <= now]
        self.reopen = [(when, kind) for when, kind in self.reopen if when > now]
        for kind in due:
            self.open(kind)

    def trickle(self):
        now = time.monotonic()
        for s, c in list(self.conns.items()):
            if c["kind"] != "trickle":
                continue
            try:
                s.send(b"X-Slow: a\r\n"[c["sent"] % 11:c["sent"] % 11 + 1])
                c["sent"] += 1
            except OSError:
                self.reopen.append((now + 1, self.closed(s, now)))

    def held(self, older_than):
        """Connections open for more than older_than seconds: the server holds them."""
        now = time.monotonic()
        return sum(1 for c in self.conns.values() if now - c["opened"] > older_than)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--nhs", required=True)
    ap.add_argument("--attack-address", default="127.0.0.2")
    ap.add_argument("--connections", type=int, default=1000)
    ap.add_argument("--duration", type=float, default=20)
    args = ap.parse_args()

    a = Attacker(args.attack_address, args.port, args.connections)
    for i in range(args.connections):
        a.open("idle" if i % 2 == 0 else "trickle")
    stop = threading.Event()
    results = []
    t = threading.Thread(target=legit, args=(args.port, args.token, args.nhs, stop, results))
    t.start()
    start = time.monotonic()
    next_trickle = start + 1
    while time.monotonic() - start < args.duration:
        a.drain(0.1)
        if time.monotonic() >= next_trickle:
            a.trickle()
            next_trickle += 1
        a.drain(0)
        # Held = open for over 3 s: one the server refuses is closed at once
        # (milliseconds on a quiet machine, but a loaded one may leave it in
        # the accept queue for a second or more), one it holds stays until
        # the 10 s header deadline.
        a.max_held = max(a.max_held, a.held(3.0))
    stop.set()
    t.join()
    now = time.monotonic()
    still_open = [now - c["opened"] for c in a.conns.values()]
    print(json.dumps({
        "attempted": args.connections,
        "opened": a.opened,
        "open_errors": a.open_errors,
        "max_held": a.max_held,
        "closed_idle": len(a.lifetimes["idle"]),
        "closed_trickle": len(a.lifetimes["trickle"]),
        "longest_idle": round(max(a.lifetimes["idle"] + [0]), 3),
        "longest_trickle": round(max(a.lifetimes["trickle"] + [0]), 3),
        "reaped_idle": sum(1 for x in a.lifetimes["idle"] if x >= 5),
        "reaped_trickle": sum(1 for x in a.lifetimes["trickle"] if x >= 5),
        "oldest_still_open": round(max(still_open + [0]), 3),
        "requests": results,
    }))


if __name__ == "__main__":
    main()
