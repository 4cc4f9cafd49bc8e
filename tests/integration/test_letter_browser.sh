#!/bin/sh
# The HTML letters (delivery.md "What a person reads") checked for real:
# every golden letter (tests/golden/letters/*.html, which test_letter
# compares byte for byte with what the renderer writes) read by Python's
# html.parser (semantic markup, inline styles only, no images, scripts,
# style sheets or remote resources, links only to the console or an
# acknowledgement) and opened in Debian's chromium headless (nothing
# requested, axe-core finds nothing, no sideways scroll at 320 px), with a
# screenshot of each kept in $T/letters (SDAT_KEEP=1 keeps it) and the
# school's da-incident letter's PNG decoded and found to be a letter, not a
# blank page. tests/integration/letter_browser.py does the reading.
. tests/integration/lib.sh

unset http_proxy https_proxy HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
PY=python3
[ -x /usr/bin/python3 ] && PY=/usr/bin/python3
LETTERS=tests/golden/letters

# The checker finds what it is for: each of these broken letters has the
# problem named beside it (so that "no problems" below means something).
cat >"$T/bad.py" <<'PY'
import os, sys
sys.path.insert(0, "tests/integration")
from letter_browser import check_markup
good = open("tests/golden/letters/da-incident-full.html", encoding="utf-8").read()
bad = {
    "element <img>": good.replace("<h1", '<img alt="" width="1"><h1', 1),
    "element <script>": good.replace("</article>", "<script>1</script></article>", 1),
    "element <style>": good.replace("<title>", "<style>p{}</style><title>", 1),
    "element <link>": good.replace("<title>", '<link rel="x"><title>', 1),
    "src= on <p>": good.replace("<p ", '<p src="https://example.invalid/x" ', 1),
    "a link that is not an https console or acknowledgement link":
        good.replace("https://sdat.demo.invalid/ack/", "http://sdat.demo.invalid/ack/", 1),
    "class= on <p> (a mail client drops the style sheet it needs)":
        good.replace("<p ", '<p class="x" ', 1),
    "a style that loads or runs something on <h1>":
        good.replace('<h1 style="', '<h1 style="background:url(https://example.invalid/t);', 1),
    "event handler onclick= on <a>": good.replace("<a ", '<a onclick="x()" ', 1),
    "2 <h1> headings, not 1": good.replace("</article>", "<h1>again</h1></article>", 1),
    "a <dl> that is not label (dt) then value (dd) pairs":
        good.replace("</dl>", "<dt>a label with no value</dt></dl>", 1),
    "no <html lang>": good.replace(' lang="en-GB"', "", 1),
    "no labelled fields (<dl> or a table with <th>)":
        good.replace("<dl", "<div").replace("</dl>", "</div>"),
}
failed = 0
for problem, html in sorted(bad.items()):
    path = os.path.join(sys.argv[1], "bad.html")
    open(path, "w", encoding="utf-8").write(html)
    found = check_markup(path)
    if problem not in found:
        print("not found: %s (found %s)" % (problem, found), file=sys.stderr)
        failed += 1
sys.exit(1 if failed else 0)
PY
check "the markup check finds images, scripts, style sheets, remote links, handlers, broken fields" \
    $PY "$T/bad.py" "$T"
# ...and a blank screenshot is found blank.
check "the PNG check finds a blank page blank" $PY -c '
import struct, sys, zlib
sys.path.insert(0, "tests/integration")
from letter_browser import png_facts
def chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
rows = b"".join(b"\x01" + b"\xff\xff\xff" + bytes(3 * 719) for _ in range(400))
png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 720, 400, 8, 2, 0, 0, 0))
       + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
open(sys.argv[1], "wb").write(png)
f = png_facts(sys.argv[1])
sys.exit(0 if f["decoded"] and f["width"] == 720 and f["other_share"] == 0 else 1)
' "$T/blank.png"

n=$(ls "$LETTERS"/*.html | wc -l)
check "the golden letters are all there: every kind full and minimal, and link mode ($n)" \
    test "$n" -ge 18

if ! command -v chromium >/dev/null 2>&1 || ! $PY -c 'import websocket' 2>/dev/null; then
    notok "the letter browser test needs chromium and python3-websocket (make deps)"
else
    $PY tests/integration/letter_browser.py "$T/chromium" "$T/letters" "$LETTERS"/*.html \
        >"$T/letters.json" 2>"$T/letters.err"
    check "chromium opened every golden letter" test -s "$T/letters.json"
    [ -s "$T/letters.json" ] || tail -n 20 "$T/letters.err"
    # l NAME EXPRESSION: EXPRESSION about d, the facts of letter NAME.
    l() { $PY -c 'import json, sys; d = json.load(open(sys.argv[1]))[sys.argv[2]]; ok = eval(sys.argv[3]); print(json.dumps(d.get("markup")), file=sys.stderr) if not ok else None; sys.exit(0 if ok else 1)' "$T/letters.json" "$1" "$2"; }
    for f in "$LETTERS"/*.html; do # (not $name: check sets it)
        letter=$(basename "$f" .html)
        check "$letter: a whole document, one h1, labelled fields, inline styles only, no image, script, style sheet or link but https console/ack ones" \
            l "$letter" 'd["markup"] == []'
        check "$letter: chromium requests nothing beyond the letter, and has no style sheet" \
            l "$letter" 'd["requested"] == [] and d["stylesheets"] == 0'
        check "$letter: the heading is the letter's title, field labels are bold (the inline styles apply)" \
            l "$letter" 'len(d["h1"]) == 1 and " for " in d["h1"][0] and d["dt_bold"] and d["text"].startswith(d["h1"][0])'
        check "$letter: axe-core finds no violation (a screen reader reads it)" \
            l "$letter" 'd["axe"]["ran"] and d["axe"]["passes"] > 5 and d["axe"]["violations"] == []'
        check "$letter: 320 px wide (a phone) it does not scroll sideways" \
            l "$letter" 'd["overflow_320"] is False'
    done
    check "the school's da-incident letter is kept as a screenshot ($T/letters/da-incident-full.png)" \
        test -s "$T/letters/da-incident-full.png"
    check "  a PNG 720 px wide and as long as a letter" \
        l da-incident-full 'd["png"]["png"] and d["png"]["width"] == 720 and 400 <= d["png"]["height"] <= 4000'
    check "  not blank: between 1% and 60% of it is not the white background" \
        l da-incident-full 'd["png"]["decoded"] and d["png"]["background"][:3] == [255, 255, 255] and 0.01 <= d["png"]["other_share"] <= 0.6'
    check "  it shows the letter: title, child, what to do, the acknowledgement link" \
        l da-incident-full '"Operation Encompass notification for Demo Primary School" in d["text"] and "Ashlyn Testwood" in d["text"] and "What to do now" in d["text"] and "Acknowledge" in d["text"]'
fi
echo "# done"
