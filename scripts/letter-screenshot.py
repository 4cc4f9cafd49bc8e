#!/usr/bin/python3
"""A picture of the letter a person reads (delivery.md "What a person reads").

  scripts/letter-screenshot.py [LETTER.html [OUT.png]]

Opens LETTER.html (tests/golden/letters/da-incident-full.html, the school's
Operation Encompass letter as the renderer writes it) in Debian's chromium
headless and saves it, 720 px wide and as long as it is, as OUT.png
(docs/letter-da-incident.png). The golden letter is synthetic and
test_letter keeps it equal to the renderer's output: after a change to the
wording, `SDAT_UPDATE_GOLDEN=1 build/tests/test_letter --jobs 1`, then this.
It uses tests/integration/letter_browser.py (as test_letter_browser.sh
does) and needs python3-websocket (make deps). The browser runs in a
temporary profile and is stopped at the end.
"""
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests", "integration"))
from ack_browser import browser_tab  # noqa: E402
from letter_browser import png_facts, screenshot  # noqa: E402


def main():
    if len(sys.argv) > 3:
        sys.exit("usage: letter-screenshot.py [LETTER.html [OUT.png]]")
    letter = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        HERE, "..", "tests", "golden", "letters", "da-incident-full.html")
    out = sys.argv[2] if len(sys.argv) > 2 else os.path.join(HERE, "..", "docs",
                                                             "letter-da-incident.png")
    with tempfile.TemporaryDirectory() as profile:
        with browser_tab(profile, ("Page", "Network", "Runtime")) as tab:
            screenshot(tab, letter, out)
    facts = png_facts(out)
    if not facts.get("decoded") or not 0.01 <= facts["other_share"] <= 0.6:
        sys.exit("%s does not look like a letter: %s" % (out, facts))
    print("wrote %s (%dx%d)" % (os.path.normpath(out), facts["width"], facts["height"]))


if __name__ == "__main__":
    main()
