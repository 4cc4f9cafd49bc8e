#!/usr/bin/python3
"""Uses the console in a real browser, as a MASH practitioner would.

  console_browser.py PROFILE_DIR SHOTS_DIR BASE_URL TOKEN NAME CHOICE REASON

Starts Debian's chromium headless (as ack_browser.py does), then: opens
the login page, types NAME and TOKEN and presses "Log in"; reads today's
counts; opens the reviews list and its first item; chooses the candidate
CHOICE, types REASON and presses the button; reads the list it returns to;
presses "Log out"; opens /console/ again. Keeps a screenshot of each page in
SHOTS_DIR and prints one JSON object of what it saw: per page its status,
URL, <h1> count, tables without a caption, form controls without an
accessible name (the accessibility tree, as a screen reader gets it), and
every URL the browser requested.
"""
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ack_browser import browser_tab  # noqa: E402

CONTROLS = ("textbox", "radio", "checkbox", "combobox", "button")


def page_facts(tab, shots, name, status):
    png = tab.call("Page.captureScreenshot", format="png")["data"]
    with open(os.path.join(shots, name + ".png"), "wb") as f:
        f.write(base64.b64decode(png))
    unnamed = []
    for node in tab.call("Accessibility.getFullAXTree").get("nodes", []):
        role = node.get("role", {}).get("value")
        if role in CONTROLS and not node.get("ignored") and not node.get("name", {}).get("value"):
            unnamed.append(role)
    return {
        "status": status,
        "url": tab.js("location.href"),
        "h1": tab.js("document.querySelectorAll('h1').length"),
        "h1_text": tab.js("(document.querySelector('h1') || {}).textContent || null"),
        "uncaptioned_tables": tab.js(
            "[...document.querySelectorAll('table')].filter(t => !t.caption).length"),
        "unnamed_controls": unnamed,
        "text": tab.js("document.body.innerText"),
        "html": tab.js("document.documentElement.outerHTML"),
        "stylesheets": tab.js("document.styleSheets.length"),
    }


def click(tab, selector):
    box = tab.js("(() => { const e = document.querySelector(%s); if (!e) return null;"
                 " e.scrollIntoView({block: 'center'});"
                 " const r = e.getBoundingClientRect();"
                 " return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()"
                 % json.dumps(selector))
    if not box:
        raise RuntimeError("no element " + selector)
    tab.backlog = [m for m in tab.backlog if m.get("method") == "Network.requestWillBeSent"]
    for kind in ("mouseMoved", "mousePressed", "mouseReleased"):
        tab.call("Input.dispatchMouseEvent", type=kind, x=box["x"], y=box["y"],
                 button="left" if kind != "mouseMoved" else "none",
                 clickCount=1 if kind != "mouseMoved" else 0)
    tab.event("Page.loadEventFired")
    return tab.document_status()


def type_into(tab, selector, text):
    tab.js("document.querySelector(%s).focus()" % json.dumps(selector))
    tab.call("Input.insertText", text=text)


def main():
    profile, shots, base, token, name, choice, reason = sys.argv[1:8]
    os.makedirs(shots, exist_ok=True)
    from console_subjects_browser import AXE, axe  # here: it imports this module
    source = open(AXE, encoding="utf-8").read()
    urls = []
    seen = {}
    with browser_tab(profile, ("Page", "Network", "Accessibility", "Runtime")) as tab:
        tab.call("Emulation.setDeviceMetricsOverride", width=1024, height=900,
                 deviceScaleFactor=1, mobile=False)

        def requested():
            for m in tab.backlog:
                if m.get("method") == "Network.requestWillBeSent":
                    urls.append(m["params"]["request"]["url"])
            tab.backlog = [m for m in tab.backlog
                           if m.get("method") != "Network.requestWillBeSent"]

        seen["login"] = page_facts(tab, shots, "login", tab.load(base + "/console/login"))
        type_into(tab, "#name", name)
        type_into(tab, "#token", token)
        status = click(tab, "#login button[type=submit]")
        requested()
        seen["today"] = page_facts(tab, shots, "today", status)
        seen["counts"] = tab.js("Object.fromEntries([...document.querySelectorAll("
                                "'#counts dd[data-count]')].map(d => [d.dataset.count,"
                                " Number(d.textContent)]))")
        seen["reviews"] = page_facts(tab, shots, "reviews", tab.load(base + "/console/reviews"))
        requested()
        href = tab.js("(document.querySelector('#reviews tbody a') || {}).href || null")
        seen["review_href"] = href
        seen["review"] = page_facts(tab, shots, "review", tab.load(href))
        requested()
        seen["axe_review"] = axe(tab, source)
        tab.js("document.querySelector('#decide input[name=child_id][value=%s]').click()"
               % json.dumps(choice))
        type_into(tab, "#reason", reason)
        status = click(tab, "#decide button[type=submit]")
        requested()
        seen["decided"] = page_facts(tab, shots, "decided", status)
        # 320 px wide: the decided list still fits (no horizontal scroll of the page).
        tab.call("Emulation.setDeviceMetricsOverride", width=320, height=800,
                 deviceScaleFactor=1, mobile=True)
        tab.load(base + "/console/")
        seen["narrow_overflow"] = tab.js(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth")
        page_facts(tab, shots, "today-320px", 200)
        tab.call("Emulation.setDeviceMetricsOverride", width=1024, height=900,
                 deviceScaleFactor=1, mobile=False)
        status = click(tab, "#logout")
        requested()
        seen["logged_out"] = page_facts(tab, shots, "logged-out", status)
        seen["after_logout"] = page_facts(tab, shots, "after-logout",
                                          tab.load(base + "/console/"))
        requested()
        seen["urls"] = urls
        print(json.dumps(seen))


if __name__ == "__main__":
    main()
