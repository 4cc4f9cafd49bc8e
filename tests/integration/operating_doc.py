#!/usr/bin/env python3
"""The command lines of docs/OPERATING.md, for tests/integration/test_operating_doc.sh.

Every code block of the document (fenced, or indented by four spaces) must
be marked by HTML comments on the lines just above it:

    <!-- test: run [as USER] [in source] -->
        run each command line of the block, as USER (default root), in the
        source tree or (default) the test's scratch working directory;
    <!-- test: skip: REASON -->
        the whole block is excused (a configuration fragment, a log excerpt,
        a command that needs what the test machine has not);
    <!-- test: skip "PREFIX": REASON -->
        within a run block, the lines that start with PREFIX are excused;
        each such marker must excuse at least one line.

A block without a marker, or a marker without its block, is an error: the
document cannot gain an untested command unnoticed. A command line's
trailing comment "# as USER" (e.g. "# as root: ...") runs that line and
the block's following lines as USER. A trailing backslash continues a line.
Every command is expected to exit 0.

The plan is printed as tab-separated lines:
    block  N  LINE  run|skip  REASON
    line   N  LINE  USER  DIR  COMMAND     (a command to run, mapped)
    excuse N  LINE  REASON  COMMAND        (a command excused)
and errors as "error LINE MESSAGE" (exit 1).

The mapping (--map FROM=TO, applied in one pass, longest FROM first) turns
the document's paths and example values into the scratch install's; it is
the only change made to a command.
"""
import re
import sys

MARK = re.compile(r"^\s*<!--\s*test:\s*(.*?)\s*-->\s*$")
FENCE = re.compile(r"^(\s*)(```+)\s*([A-Za-z0-9_-]*)\s*$")
AS_USER = re.compile(r"#\s*as\s+([A-Za-z0-9._-]+)\b")


def blocks(lines):
    """Yields (first line number, fence language or None, [(lineno, text)], markers)."""
    i = 0
    pending = []  # markers seen just above, with their line numbers
    while i < len(lines):
        line = lines[i]
        m = MARK.match(line)
        if m:
            pending.append((i + 1, m.group(1)))
            i += 1
            continue
        f = FENCE.match(line)
        if f:
            indent, ticks = f.group(1), f.group(2)
            body = []
            j = i + 1
            while j < len(lines) and not re.match(r"^\s*" + ticks + r"\s*$", lines[j]):
                body.append((j + 1, lines[j][len(indent):] if lines[j].startswith(indent) else lines[j]))
                j += 1
            yield i + 1, f.group(3) or "", body, pending
            pending = []
            i = j + 1
            continue
        # An indented code block: four spaces after a blank line, not inside
        # a list item's continuation (this document indents those by 2-3).
        above = lines[i - 1] if i else ""
        if line.startswith("    ") and line.strip() and (not above.strip() or MARK.match(above)):
            body = []
            j = i
            while j < len(lines) and (lines[j].startswith("    ") or not lines[j].strip()):
                if lines[j].strip() == "" and (j + 1 >= len(lines) or not lines[j + 1].startswith("    ")):
                    break
                body.append((j + 1, lines[j][4:]))
                j += 1
            yield i + 1, None, body, pending
            pending = []
            i = j
            continue
        if line.strip():
            if pending:
                # A marker must be directly above its block.
                for ln, _ in pending:
                    yield ln, "orphan", [], []
                pending = []
        i += 1
    for ln, _ in pending:
        yield ln, "orphan", [], []


def commands(body):
    """The command lines of a block: comments and blank lines dropped,
    continuations joined. Yields (lineno, text)."""
    cur, start = "", None
    for ln, text in body:
        if start is None:
            if not text.strip() or text.lstrip().startswith("#"):
                continue
            start = ln
        if text.rstrip().endswith("\\"):
            cur += text.rstrip()[:-1] + " "
            continue
        yield start, (cur + text).strip()
        cur, start = "", None
    if start is not None:
        yield start, cur.strip()


def mapper(pairs):
    if not pairs:
        return lambda s: s
    table = dict(pairs)
    rx = re.compile("|".join(re.escape(k) for k in sorted(table, key=len, reverse=True)))
    return lambda s: rx.sub(lambda m: table[m.group(0)], s)


def main(argv):
    doc, pairs = None, []
    args = iter(argv[1:])
    for a in args:
        if a == "--map":
            k, _, v = next(args).partition("=")
            pairs.append((k, v))
        else:
            doc = a
    lines = open(doc, encoding="utf-8").read().split("\n")
    mapped = mapper(pairs)
    out, errors = [], []
    n = 0
    for start, lang, body, markers in blocks(lines):
        if lang == "orphan":
            errors.append(f"error\t{start}\ta test marker with no code block just below it")
            continue
        n += 1
        whole = [m for _, m in markers if not m.startswith('skip "')]
        parts = [m for _, m in markers if m.startswith('skip "')]
        if len(whole) != 1:
            errors.append(f"error\t{start}\tcode block {n} needs exactly one <!-- test: run ... --> "
                          f"or <!-- test: skip: REASON --> marker above it (found {len(whole)})")
            continue
        mark = whole[0]
        if mark.startswith("skip:"):
            reason = mark[5:].strip()
            if not reason or parts:
                errors.append(f"error\t{start}\tcode block {n}: a skipped block needs a reason and no line skips")
                continue
            out.append(f"block\t{n}\t{start}\tskip\t{reason}")
            for ln, cmd in commands(body):
                out.append(f"excuse\t{n}\t{ln}\t{reason}\t{cmd}")
            if not body:
                errors.append(f"error\t{start}\tcode block {n} is empty")
            continue
        rm = re.fullmatch(r"run(?:\s+as\s+([A-Za-z0-9._-]+))?(\s+in\s+source)?", mark)
        if not rm:
            errors.append(f"error\t{start}\tcode block {n}: unknown marker \"{mark}\"")
            continue
        user = rm.group(1) or "root"
        where = "source" if rm.group(2) else "work"
        skips = []
        for m in parts:
            sm = re.fullmatch(r'skip "([^"]+)":\s*(.+)', m)
            if not sm:
                errors.append(f"error\t{start}\tcode block {n}: bad line skip \"{m}\"")
                continue
            skips.append([sm.group(1), sm.group(2), 0])
        out.append(f"block\t{n}\t{start}\trun\tas {user}")
        for ln, cmd in commands(body):
            am = AS_USER.search(cmd)
            if am:
                user = am.group(1)
            hit = next((s for s in skips if cmd.startswith(s[0])), None)
            if hit:
                hit[2] += 1
                out.append(f"excuse\t{n}\t{ln}\t{hit[1]}\t{cmd}")
            else:
                out.append(f"line\t{n}\t{ln}\t{user}\t{where}\t{mapped(cmd)}")
        for prefix, _, used in skips:
            if not used:
                errors.append(f"error\t{start}\tcode block {n}: no line starts with \"{prefix}\"")
    print("\n".join(out + errors))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
