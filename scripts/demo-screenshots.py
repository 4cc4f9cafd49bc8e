#!/usr/bin/python3
"""The README's screenshots of the console, from a demo kept running.

  make demo KEEP=1
  scripts/demo-screenshots.py URL TOKEN [OUTDIR]

URL and TOKEN are the ones `make demo KEEP=1` printed. Starts Debian's
chromium headless (tests/integration/ack_browser.py), logs in as "Demo
Operator", and saves today's page and the top of the first review item (down
to the matcher's explanation), 1024 px wide, as OUTDIR/console-today.png and
OUTDIR/console-review.png (OUTDIR: docs). Then it logs in again as "Demo
DSL" with Demo Academy's token (narrowed to the school; the demo keeps it in
SDAT_DEMO_DIR/demo/school-100003.token, SDAT_DEMO_DIR being build unless
set) and saves the school's inbox as OUTDIR/console-inbox.png, and renders
the HTML part of the email the school received in link mode
(SDAT_DEMO_DIR/demo/mail/email-link.html) as OUTDIR/email-link.png. It
needs Debian's python3 (for python3-websocket, which make deps installs),
as its first line says. Opening the review item writes a record.viewed
audit record, as it would for a person. The browser runs in a temporary
profile and is stopped at the end.
"""
import base64
import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "tests", "integration"))
from ack_browser import browser_tab  # noqa: E402

WIDTH = 1024
MAX_HEIGHT = 1200


def shot(tab, path, until="body"):
    # The page down to the end of the element `until` and a margin, not the
    # empty rest of the window.
    height = tab.js("Math.ceil((document.querySelector(%s) || document.body)"
                    ".getBoundingClientRect().bottom + window.scrollY)" % json.dumps(until))
    height = min(max(int(height or 0) + 16, 300), MAX_HEIGHT)
    png = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                   clip={"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1})
    with open(path, "wb") as f:
        f.write(base64.b64decode(png["data"]))


def login(tab, base, name, token):
    tab.call("Network.clearBrowserCookies")
    tab.load(base + "/console/login")
    for selector, text in (("#name", name), ("#token", token)):
        tab.js("document.querySelector(%s).focus()" % json.dumps(selector))
        tab.call("Input.insertText", text=text)
    tab.backlog = []
    tab.js("document.querySelector('#login').submit()")
    tab.event("Page.loadEventFired")


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit("usage: demo-screenshots.py URL TOKEN [OUTDIR]")
    base = sys.argv[1].rstrip("/")
    if base.endswith("/console"):
        base = base[: -len("/console")]
    token = sys.argv[2]
    out = sys.argv[3] if len(sys.argv) == 4 else "docs"
    inputs = os.path.join(os.environ.get("SDAT_DEMO_DIR") or "build", "demo")
    with open(os.path.join(inputs, "school-100003.token"), encoding="ascii") as f:
        school_token = f.read().strip()
    email_html = os.path.abspath(os.path.join(inputs, "mail", "email-link.html"))
    if not os.path.exists(email_html):
        sys.exit("%s is missing (make demo writes it)" % email_html)
    # Chromium's helpers may still be writing to the profile as it stops.
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as profile:
        with browser_tab(profile, ("Page", "Network", "Runtime")) as tab:
            tab.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=800,
                     deviceScaleFactor=1, mobile=False)
            login(tab, base, "Demo Operator", token)
            if not tab.js("document.querySelector('#counts') !== null"):
                sys.exit("the login did not reach today's page (wrong URL or token?)")
            shot(tab, os.path.join(out, "console-today.png"))
            tab.load(base + "/console/reviews")
            href = tab.js("(document.querySelector('#reviews tbody a') || {}).href || null")
            if not href:
                sys.exit("no review item to show (make demo KEEP=1 publishes one)")
            tab.load(href)
            # Down to the matcher's explanation: the whole page (each
            # candidate's weights, then the decision form) is over 200 KB.
            shot(tab, os.path.join(out, "console-review.png"), until="#explanation")
            # The school's DSL: the token narrowed to Demo Academy lands on
            # the school's inbox.
            login(tab, base, "Demo DSL", school_token)
            if not tab.js("document.querySelector('#inbox tbody tr') !== null"):
                sys.exit("the school's login did not reach its inbox with a notification")
            shot(tab, os.path.join(out, "console-inbox.png"))
            # The email the school received, as a mail client shows its
            # HTML part (no remote resources: nothing else is loaded).
            tab.load("file://" + email_html)
            shot(tab, os.path.join(out, "email-link.png"))
    print("wrote %s" % ", ".join(os.path.join(out, name) for name in (
        "console-today.png", "console-review.png", "console-inbox.png", "email-link.png")))


if __name__ == "__main__":
    main()
