#!/usr/bin/python3
"""The HTML letters (delivery.md "What a person reads") as a mail client and
a screen reader get them.

  letter_browser.py PROFILE_DIR SHOTS_DIR LETTER.html...

For each letter (the golden files, tests/golden/letters/*.html) prints one
JSON object, {NAME: facts}, of:

- "markup": what Python's html.parser found wrong with it, [] when nothing:
  a whole document (doctype, <html lang>, <meta charset="utf-8">, a title);
  elements properly nested and closed; exactly one <h1>, first, and no
  heading level skipped; labelled fields as a <dl> of <dt>/<dd> pairs (or a
  table with <th>), and a <dl> in every letter that is not a withdrawal or
  a link-mode letter; no element outside a short list of text elements (so
  no <img>, <script>, <style>, <link>, <iframe>, <form>, <svg>, <base>…);
  no attribute that loads anything (src, srcset, background, action,
  poster, data…), no event handler (on…), no class or id; style only as
  an inline attribute and never with url(), @import or expression(); href
  only on <a>, only https, only to a console page or an acknowledgement
  link, with words to read.
- in Debian's chromium headless (tests/integration/ack_browser.py), the
  letter opened from its file: every URL the browser requested besides the
  file itself, the style sheets it has (0: inline styles only), the <h1>'s
  text, whether the <dt> labels are bold (the inline styles apply), whether
  a 320 px wide window must scroll sideways, and axe-core's result
  (tests/vendor/axe-core).
- a screenshot, 720 px wide, of the whole letter: SHOTS_DIR/NAME.png, and
  for the school's da-incident letter (da-incident-full) the PNG's facts
  (png_facts: its size and how much of it is not background).

scripts/letter-screenshot.py uses screenshot() for docs/letter-da-incident.png.
"""
import base64
import json
import os
import re
import struct
import sys
import zlib
from html.parser import HTMLParser

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ack_browser import browser_tab  # noqa: E402

WIDTH = 720
AXE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vendor", "axe-core",
                   "axe.min.js")
# What a letter may be built of: text, headings, fields, links.
ALLOWED = {"html", "head", "meta", "title", "body", "main", "article", "footer", "header", "section",
           "h1", "h2", "h3", "h4", "p", "br", "dl", "dt", "dd", "table", "caption", "thead",
           "tbody", "tr", "th", "td", "a", "strong", "em", "b", "i", "ul", "ol", "li", "span",
           "div"}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}
# Attributes that make a mail client fetch or run something.
LOADING = {"src", "srcset", "background", "action", "formaction", "poster", "data", "lowsrc",
           "dynsrc", "xlink:href", "ping", "manifest", "codebase", "cite", "longdesc"}
LINK = re.compile(r"^https://[A-Za-z0-9.-]+(:[0-9]+)?/(console/(notifications|reviews)/|ack/)"
                  r"[A-Za-z0-9_?=&;.-]+$")
NOT_CSS = re.compile(r"url\(|@import|expression\(|behavior\s*:|-moz-binding", re.I)


class Markup(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems = []
        self.doctype = False
        self.stack = []
        self.headings = []
        self.lang = None
        self.charset = None
        self.title = ""
        self.dl_items = []   # per <dl>: the sequence of "dt"/"dd"
        self.tables = []     # per <table>: how many <th>
        self.link_words = None
        self.in_title = False

    def problem(self, what):
        if what not in self.problems:
            self.problems.append(what)

    def handle_decl(self, decl):
        self.doctype = self.doctype or decl.lower() == "doctype html"

    def handle_starttag(self, tag, attrs):
        self.start(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.start(tag, attrs)

    def start(self, tag, attrs):
        if tag not in ALLOWED:
            self.problem("element <%s>" % tag)
        names = [k for k, _ in attrs]
        for key, value in attrs:
            value = value or ""
            if key in LOADING:
                self.problem("%s= on <%s>" % (key, tag))
            elif key.startswith("on"):
                self.problem("event handler %s= on <%s>" % (key, tag))
            elif key in ("class", "id"):
                self.problem("%s= on <%s> (a mail client drops the style sheet it needs)"
                             % (key, tag))
            elif key == "style" and NOT_CSS.search(value):
                self.problem("a style that loads or runs something on <%s>" % tag)
            elif key == "href" and tag != "a":
                self.problem("href= on <%s>" % tag)
            elif key == "href" and not LINK.match(value):
                self.problem("a link that is not an https console or acknowledgement link")
            elif key == "http-equiv":
                self.problem("<meta http-equiv>")
        if tag == "html":
            self.lang = dict(attrs).get("lang")
        if tag == "meta" and "charset" in names:
            self.charset = (dict(attrs).get("charset") or "").lower()
        if tag == "title":
            self.in_title = True
        if tag == "a":
            if "href" not in names:
                self.problem("<a> without href")
            self.link_words = ""
        if re.fullmatch(r"h[1-6]", tag):
            level = int(tag[1])
            if not self.headings and level != 1:
                self.problem("the first heading is <%s>, not <h1>" % tag)
            if self.headings and level > max(self.headings) + 1:
                self.problem("<%s> skips a heading level" % tag)
            self.headings.append(level)
        if tag == "dl":
            self.dl_items.append([])
        if tag in ("dt", "dd"):
            if not self.stack or self.stack[-1] != "dl":
                self.problem("<%s> outside a <dl>" % tag)
            elif self.dl_items:
                self.dl_items[-1].append(tag)
        if tag == "table":
            self.tables.append(0)
        if tag == "th" and self.tables:
            self.tables[-1] += 1

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.problem("</%s> does not close the open <%s>"
                         % (tag, self.stack[-1] if self.stack else "nothing"))
            if tag in self.stack:
                while self.stack.pop() != tag:
                    pass
            return
        self.stack.pop()
        if tag == "title":
            self.in_title = False
        if tag == "a":
            if not (self.link_words or "").strip():
                self.problem("a link with no words")
            self.link_words = None

    def handle_data(self, data):
        if self.in_title:
            self.title += data
        if self.link_words is not None:
            self.link_words += data


def check_markup(path):
    name = os.path.basename(path)[:-len(".html")]
    m = Markup()
    m.feed(open(path, encoding="utf-8").read())
    m.close()
    if not m.doctype:
        m.problem("no <!DOCTYPE html>")
    if not m.lang:
        m.problem("no <html lang>")
    if m.charset != "utf-8":
        m.problem("no <meta charset=\"utf-8\">")
    if not m.title.strip():
        m.problem("no <title>")
    if m.stack:
        m.problem("unclosed elements: %s" % " ".join(m.stack))
    if m.headings.count(1) != 1:
        m.problem("%d <h1> headings, not 1" % m.headings.count(1))
    for items in m.dl_items:
        pairs = "".join("t" if i == "dt" else "d" for i in items)
        if not items or not re.fullmatch(r"(td+)+", pairs):
            m.problem("a <dl> that is not label (dt) then value (dd) pairs")
    if any(th == 0 for th in m.tables):
        m.problem("a table without <th> labels")
    fields = not (name.startswith("withdrawn") or name.startswith("link-"))
    if fields and not any(m.dl_items) and not any(m.tables):
        m.problem("no labelled fields (<dl> or a table with <th>)")
    return m.problems


def screenshot(tab, html_path, png_path):
    """Opens the letter at html_path and saves it, 720 px wide and as long
    as it is, as png_path. Returns the document's status (None for a file)."""
    tab.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=900,
             deviceScaleFactor=1, mobile=False)
    tab.load("file://" + os.path.abspath(html_path))
    height = tab.js("Math.ceil(document.documentElement.getBoundingClientRect().height)")
    height = max(int(height or 0), 100)
    png = tab.call("Page.captureScreenshot", format="png", captureBeyondViewport=True,
                   clip={"x": 0, "y": 0, "width": WIDTH, "height": height, "scale": 1})
    with open(png_path, "wb") as f:
        f.write(base64.b64decode(png["data"]))


def png_facts(path):
    """The PNG's width, height and the share of its pixels that differ from
    the top-left one (the background), decoded here (zlib and the five row
    filters) so that a blank or broken image cannot pass."""
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        return {"png": False}
    pos, idat, head = 8, b"", None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            head = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour, _, _, interlace = head
    channels = {2: 3, 6: 4, 0: 1, 4: 2}.get(colour)
    if depth != 8 or not channels or interlace:
        return {"png": True, "width": width, "height": height, "decoded": False}
    raw = zlib.decompress(idat)
    stride = width * channels
    prev = bytearray(stride)
    other = 0
    background = None
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 1:
            for i in range(channels, stride):
                line[i] = (line[i] + line[i - channels]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif kind == 3:
            for i in range(stride):
                left = line[i - channels] if i >= channels else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif kind == 4:
            for i in range(stride):
                a = line[i - channels] if i >= channels else 0
                b, c = prev[i], prev[i - channels] if i >= channels else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        if background is None:
            background = bytes(line[:channels])
        row = bytes(line)
        if row != background * width:
            other += sum(1 for x in range(0, stride, channels)
                         if row[x:x + channels] != background)
        prev = line
    return {"png": True, "width": width, "height": height, "decoded": True,
            "background": list(background), "other_share": other / float(width * height)}


def browse(tab, path, shots, source):
    name = os.path.basename(path)[:-len(".html")]
    url = "file://" + os.path.abspath(path)
    png = os.path.join(shots, name + ".png")
    screenshot(tab, path, png)
    requests = [m["params"]["request"]["url"] for m in tab.backlog
                if m.get("method") == "Network.requestWillBeSent"]
    facts = {
        "requested": [u for u in requests if u != url],
        "stylesheets": tab.js("document.styleSheets.length"),
        "h1": tab.js("[...document.querySelectorAll('h1')].map(h => h.textContent)"),
        "dt_bold": tab.js("[...document.querySelectorAll('dt')].every(d =>"
                          " Number(getComputedStyle(d).fontWeight) >= 600)"),
        "text": tab.js("document.body.innerText"),
        "shot": png,
    }
    tab.call("Runtime.evaluate", expression=source)
    result = tab.call(
        "Runtime.evaluate",
        expression="axe.run(document).then(r => JSON.stringify({ran: true,"
                   " passes: r.passes.length, violations: r.violations.map(v =>"
                   " ({id: v.id, impact: v.impact}))}))",
        awaitPromise=True, returnByValue=True)
    value = result.get("result", {}).get("value")
    facts["axe"] = json.loads(value) if value else {"ran": False}
    tab.call("Emulation.setDeviceMetricsOverride", width=320, height=640,
             deviceScaleFactor=1, mobile=True)
    tab.load(url)
    facts["overflow_320"] = tab.js(
        "document.documentElement.scrollWidth > document.documentElement.clientWidth")
    if name == "da-incident-full":
        facts["png"] = png_facts(png)
    return facts


def main():
    profile, shots, letters = sys.argv[1], sys.argv[2], sys.argv[3:]
    os.makedirs(shots, exist_ok=True)
    seen = {os.path.basename(p)[:-len(".html")]: {"markup": check_markup(p)} for p in letters}
    source = open(AXE, encoding="utf-8").read()
    with browser_tab(profile, ("Page", "Network", "Runtime")) as tab:
        for path in letters:
            seen[os.path.basename(path)[:-len(".html")]].update(browse(tab, path, shots, source))
        print(json.dumps(seen))


if __name__ == "__main__":
    main()
