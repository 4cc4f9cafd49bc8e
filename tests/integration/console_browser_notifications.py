#!/usr/bin/python3
"""Finds a notification and replays a dead letter in the console, in a real
browser, as a MASH practitioner would.

  console_browser_notifications.py PROFILE_DIR SHOTS_DIR BASE_URL TOKEN NAME INCIDENT

Starts Debian's chromium headless (console_browser.py's helpers), logs in
with NAME and TOKEN, opens the notifications page, types INCIDENT (an
incident key) into the search's "Incident" field and presses "Search",
opens the first notification the list shows, then opens the dead letters
and presses the first "Replay" button. Keeps a screenshot of each page in
SHOTS_DIR and prints one JSON object of what it saw (per page: status,
URL, <h1> count, tables without a caption, controls without an accessible
name in the accessibility tree, text, HTML), plus every URL requested.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ack_browser import browser_tab  # noqa: E402
from console_browser import click, page_facts, type_into  # noqa: E402
from console_subjects_browser import AXE, axe  # noqa: E402


def main():
    profile, shots, base, token, name, incident = sys.argv[1:7]
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

        tab.load(base + "/console/login")
        type_into(tab, "#name", name)
        type_into(tab, "#token", token)
        seen["today"] = page_facts(tab, shots, "n-today", click(tab, "#login button[type=submit]"))
        requested()
        seen["axe"]["today"] = axe(tab, source)
        seen["today_links"] = tab.js(
            "Object.fromEntries([...document.querySelectorAll('#counts div')]"
            ".map(d => [d.querySelector('dd').dataset.count,"
            " (d.querySelector('a') || {}).href || null]))")
        seen["list"] = page_facts(tab, shots, "notifications",
                                  tab.load(base + "/console/notifications"))
        requested()
        seen["axe"]["list"] = axe(tab, source)
        type_into(tab, "#incident", incident)
        seen["found"] = page_facts(tab, shots, "notifications-found",
                                   click(tab, "#search button[type=submit]"))
        requested()
        seen["axe"]["found"] = axe(tab, source)
        seen["found_rows"] = tab.js("document.querySelectorAll('#notifications tbody tr').length")
        seen["notification"] = page_facts(tab, shots, "notification",
                                          click(tab, "#notifications tbody a"))
        requested()
        seen["axe"]["notification"] = axe(tab, source)
        seen["dead_letters"] = page_facts(tab, shots, "dead-letters",
                                          tab.load(base + "/console/dead-letters"))
        requested()
        seen["axe"]["dead_letters"] = axe(tab, source)
        seen["replayed"] = page_facts(tab, shots, "dead-letters-replayed",
                                      click(tab, "#dead-letters form.replay button"))
        requested()
        seen["axe"]["replayed"] = axe(tab, source)
        tab.call("Emulation.setDeviceMetricsOverride", width=320, height=800,
                 deviceScaleFactor=1, mobile=True)
        tab.load(seen["notification"]["url"])
        seen["narrow_overflow"] = tab.js(
            "document.documentElement.scrollWidth > document.documentElement.clientWidth")
        seen["overflowing"] = tab.js(
            "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right"
            " > document.documentElement.clientWidth + 1).map(e => e.tagName + '#' + e.id + '.'"
            " + e.className).slice(0, 10)")
        page_facts(tab, shots, "notification-320px", 200)
        requested()
        seen["urls"] = urls
        print(json.dumps(seen))


if __name__ == "__main__":
    main()
