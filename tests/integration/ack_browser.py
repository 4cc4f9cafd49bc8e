#!/usr/bin/python3
"""Opens an acknowledgement link in a real browser, as a school's DSL would.

Starts Debian's chromium headless with a fresh profile, drives it over the
Chrome DevTools Protocol (python3-websocket), and prints one JSON object of
what it saw:

  ack_browser.py PROFILE_DIR ACK_URL NAME TAMPERED_URL

- the page at ACK_URL: HTTP status, <html lang>, <title>, <h1>, the text,
  and the accessible names of its text box and button (the accessibility
  tree, as a screen reader gets it);
- after focusing the name field, typing NAME (Input.insertText) and
  clicking the button with the mouse (Input.dispatchMouseEvent at its
  centre): the status of the page the form led to and its text;
- the page at TAMPERED_URL: its status and text.

The browser is this script's own child and is stopped at the end.
"""
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request

import websocket

NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


class Tab:
    def __init__(self, ws_url):
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.last_id = 0
        self.backlog = []

    def call(self, method, **params):
        self.last_id += 1
        mine = self.last_id
        self.ws.send(json.dumps({"id": mine, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mine:
                if "error" in msg:
                    raise RuntimeError("%s: %s" % (method, msg["error"]))
                return msg.get("result", {})
            self.backlog.append(msg)

    def event(self, method, timeout=30):
        for i, msg in enumerate(self.backlog):
            if msg.get("method") == method:
                return self.backlog.pop(i)
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.ws.settimeout(max(0.1, deadline - time.time()))
            msg = json.loads(self.ws.recv())
            if msg.get("method") == method:
                return msg
            self.backlog.append(msg)
        raise TimeoutError(method)

    def js(self, expression):
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def document_status(self):
        """The status of the last document response seen."""
        status = None
        for msg in self.backlog:
            if msg.get("method") == "Network.responseReceived" and \
                    msg["params"].get("type") == "Document":
                status = msg["params"]["response"]["status"]
        self.backlog = [m for m in self.backlog if m.get("method") != "Network.responseReceived"]
        return status

    def load(self, url):
        self.backlog = []
        self.call("Page.navigate", url=url)
        self.event("Page.loadEventFired")
        return self.document_status()

    def page(self):
        return {
            "lang": self.js("document.documentElement.lang"),
            "title": self.js("document.title"),
            "h1": self.js("(document.querySelector('h1') || {}).textContent || null"),
            "text": self.js("document.body.innerText"),
        }

    def accessible_names(self):
        names = {}
        for node in self.call("Accessibility.getFullAXTree").get("nodes", []):
            role = node.get("role", {}).get("value")
            name = node.get("name", {}).get("value")
            if role in ("textbox", "button") and name:
                names.setdefault(role, name)
        return names


def start_browser(profile):
    os.makedirs(profile, exist_ok=True)
    port_file = os.path.join(profile, "DevToolsActivePort")
    if os.path.exists(port_file):
        os.unlink(port_file)
    log = open(os.path.join(profile, "chromium.log"), "w")
    browser = subprocess.Popen(
        ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-proxy-server",
         "--no-first-run", "--disable-extensions", "--user-data-dir=" + profile,
         "--remote-debugging-port=0", "about:blank"],
        stdout=log, stderr=log)
    deadline = time.time() + 60
    while time.time() < deadline:
        if os.path.exists(port_file):
            lines = open(port_file).read().split("\n")
            if len(lines) >= 2 and lines[0].strip():
                return browser, int(lines[0])
        if browser.poll() is not None:
            raise RuntimeError("chromium exited with %s" % browser.returncode)
        time.sleep(0.1)
    browser.kill()
    raise TimeoutError("chromium did not start")


@contextlib.contextmanager
def browser_tab(profile, domains):
    """Headless Chromium on PROFILE (start_browser) and its first page's
    tab with the DevTools DOMAINS enabled; the browser is stopped on the
    way out, whatever happened inside."""
    browser, port = start_browser(profile)
    try:
        targets = json.load(NO_PROXY.open("http://127.0.0.1:%d/json/list" % port, timeout=10))
        tab = Tab([t for t in targets if t.get("type") == "page"][0]["webSocketDebuggerUrl"])
        for domain in domains:
            tab.call(domain + ".enable")
        yield tab
    finally:
        browser.terminate()
        try:
            browser.wait(10)
        except subprocess.TimeoutExpired:
            browser.kill()
            browser.wait()


def main():
    profile, url, name, tampered = sys.argv[1:5]
    with browser_tab(profile, ("Page", "Network", "Accessibility")) as tab:
        seen = {"get_status": tab.load(url)}
        seen.update({"get_" + k: v for k, v in tab.page().items()})
        seen["accessible"] = tab.accessible_names()
        seen["label_for_matches_input"] = tab.js(
            "(() => { const l = document.querySelector('label[for]');"
            " const i = l && document.getElementById(l.htmlFor);"
            " return !!(i && i.tagName === 'INPUT' && i.name === 'by'); })()")

        # A person: focus the field, type, press the button.
        tab.js("document.getElementById('by').focus()")
        tab.call("Input.insertText", text=name)
        box = tab.js("(() => { const r = document.querySelector('button').getBoundingClientRect();"
                     " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()")
        tab.backlog = []
        for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
            tab.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                     button="left" if kind != "mouseMoved" else "none",
                     clickCount=1 if kind != "mouseMoved" else 0)
        tab.event("Page.loadEventFired")
        seen["post_status"] = tab.document_status()
        seen.update({"post_" + k: v for k, v in tab.page().items()})

        seen["tampered_status"] = tab.load(tampered)
        seen.update({"tampered_" + k: v for k, v in tab.page().items()})
        print(json.dumps(seen))


if __name__ == "__main__":
    main()
