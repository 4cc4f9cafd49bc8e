#!/usr/bin/python3
"""The console's children, audit and inbox pages in a real browser, with
axe-core run on every page.

  console_subjects_browser.py PROFILE_DIR SHOTS_DIR BASE_URL OPS AUD ACK FAMILY DOB

Starts Debian's chromium headless (ack_browser.py), then as an auditor
(token AUD): logs in, searches the children by FAMILY and DOB (a POST),
opens the first match's subject access report (also with print media),
opens the audit page and presses "Verify now"; logs out. As the holder of
the narrowed ack token ACK: opens the inbox and presses the first
"Acknowledge". As an operator (OPS): today, the reviews list and its first
item. On every page axe-core (tests/vendor/axe-core/axe.min.js, evaluated
through the DevTools protocol: the console's CSP forbids inline scripts
and Runtime.evaluate is not subject to it) runs; the page's violations and
its count of passed rules are kept, so that a run where axe did not run
cannot pass. Prints one JSON object; screenshots in SHOTS_DIR.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ack_browser import browser_tab  # noqa: E402
from console_browser import click, page_facts, type_into  # noqa: E402

AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vendor", "axe-core",
                   "axe.min.js")


def axe(tab, source):
    """axe-core's result for the page: {ran, passes, violations: [{id, impact, nodes}]}."""
    tab.call("Runtime.evaluate", expression=source)
    result = tab.call(
        "Runtime.evaluate",
        expression="axe.run(document).then(r => JSON.stringify({ran: true,"
                   " version: axe.version, passes: r.passes.length,"
                   " violations: r.violations.map(v => ({id: v.id, impact: v.impact,"
                   " nodes: v.nodes.map(n => n.target.join(' '))}))}))",
        awaitPromise=True, returnByValue=True)
    value = result.get("result", {}).get("value")
    return json.loads(value) if value else {"ran": False, "error": result}


def main():
    profile, shots, base, ops, aud, ack, family, dob = sys.argv[1:9]
    os.makedirs(shots, exist_ok=True)
    source = open(AXE, encoding="utf-8").read()
    urls = []
    seen = {"axe": {}}
    with browser_tab(profile, ("Page", "Network", "Accessibility", "Runtime")) as tab:
        tab.call("Emulation.setDeviceMetricsOverride", width=1024, height=900,
                 deviceScaleFactor=1, mobile=False)

        def requested():
            for m in tab.backlog:
                if m.get("method") == "Network.requestWillBeSent":
                    urls.append(m["params"]["request"]["url"])
            tab.backlog = [m for m in tab.backlog
                           if m.get("method") != "Network.requestWillBeSent"]

        def facts(name, status):
            seen[name] = page_facts(tab, shots, name, status)
            seen["axe"][name] = axe(tab, source)

        def login(token, who):
            tab.load(base + "/console/login")
            type_into(tab, "#name", who)
            type_into(tab, "#token", token)
            status = click(tab, "#login button[type=submit]")
            requested()
            return status

        facts("login", tab.load(base + "/console/login"))
        # ---- the auditor ----
        facts("ig_landing", login(aud, "I. Governance"))
        facts("children", tab.load(base + "/console/children"))
        type_into(tab, "#family_name", family)
        type_into(tab, "#dob", dob)
        status = click(tab, "#search button[type=submit]")
        requested()
        facts("matches", status)
        href = tab.js("(document.querySelector('#children tbody a') || {}).href || null")
        seen["match_href"] = href
        status = click(tab, "#children tbody a")
        requested()
        facts("subject", status)
        tab.call("Emulation.setEmulatedMedia", media="print")
        seen["print"] = {
            "header_hidden": tab.js("getComputedStyle(document.querySelector('header'))"
                                    ".display === 'none'"),
            "shares_visible": tab.js("!!document.querySelector('#shares') &&"
                                     " getComputedStyle(document.querySelector('#shares'))"
                                     ".display !== 'none'"),
        }
        png = tab.call("Page.printToPDF")["data"]
        with open(os.path.join(shots, "subject.pdf"), "wb") as f:
            import base64
            f.write(base64.b64decode(png))
        tab.call("Emulation.setEmulatedMedia", media="")
        facts("audit", tab.load(base + "/console/audit"))
        status = click(tab, "#verify button[type=submit]")
        requested()
        facts("verified", status)
        seen["reviews_as_auditor"] = tab.load(base + "/console/reviews")
        click(tab, "#logout")
        requested()
        # ---- the school's DSL ----
        facts("inbox", login(ack, "S. Dsl"))
        seen["inbox_ack_label"] = tab.js(
            "(document.querySelector('#inbox form.ack button') || {}).textContent || null")
        status = click(tab, "#inbox form.ack button")
        requested()
        facts("acknowledged", status)
        click(tab, "#logout")
        requested()
        # ---- the operator: the first slice's pages ----
        facts("today", login(ops, "O. Operator"))
        facts("reviews", tab.load(base + "/console/reviews"))
        href = tab.js("(document.querySelector('#reviews tbody a') || {}).href || null")
        if href:
            facts("review", tab.load(href))
        facts("op_children", tab.load(base + "/console/children"))
        facts("op_audit", tab.load(base + "/console/audit"))
        requested()
        seen["urls"] = urls
        print(json.dumps(seen))


if __name__ == "__main__":
    main()
