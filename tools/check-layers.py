#!/usr/bin/env python3
"""make check-layers: the parts of daemon/ against the Makefile's table.

The table comes in as arguments (the Makefile writes it once):
  --layer P=A B   the parts P uses directly (what they use, P may use too)
  --uses P=L M    the restricted libraries P may use
  --headers L=H…  the headers of restricted library L

Checks, each breach one line "FILE:LINE: what": exit 1 if any.
  1. #include "Q/H.h" from part P: Q is P, or Q is below P and H is Q's
     public header (Q.h, Q-t.h; and outbox/connector.h, the connector
     contract); #include "H.h" names a file beside the includer.
  2. #include <H> of a restricted library P does not use.
  3. No file includes main/ or ctl/ from another part.
  4. The symbols each part's library (and sdatd's and sdatctl's objects)
     needs: another part's only if the table allows it, a restricted
     library's only if P uses it.
  5. No include cycle between headers.
  6. decide/ does no I/O: its library calls nothing that opens, reads or
     writes a file or socket, reads the clock or the environment, or logs.
"""
import argparse
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')
# Restricted libraries' symbol prefixes (libconfig's are config_*, which the
# project's own config part also uses: only those no project library
# defines are counted).
PREFIXES = {
    "sqlite3": ("sqlite3_",),
    "rdkafka": ("rd_kafka_",),
    "curl": ("curl_",),
    "microhttpd": ("MHD_",),
    "gnutls": ("gnutls_",),
    "libconfig": ("config_",),
}
# What decide/ may not call: files, sockets, the clock, the environment,
# randomness, logging and secrets.
DECIDE_IO = {
    "fopen", "fopen64", "open", "open64", "openat", "read", "write", "pread", "pwrite",
    "fread", "fwrite", "fgets", "fputs", "fprintf", "printf", "puts", "putchar", "stat",
    "fstat", "lstat", "opendir", "readdir", "mkdir", "unlink", "rename", "socket",
    "connect", "send", "recv", "time", "clock_gettime", "gettimeofday", "getenv",
    "secure_getenv", "getrandom", "rand", "random", "sdat_time_now_ms",
    "sdat_time_mono_ms", "sdat_log_write", "sdat_secret_read", "sqlite3_open_v2",
}
PUBLIC_EXTRA = {"outbox": {"connector.h"}}


def parse_table(items):
    table = {}
    for item in items:
        name, _, value = item.partition("=")
        table[name] = value.split()
    return table


def closure(layers, part):
    seen, todo = set(), list(layers.get(part, []))
    while todo:
        p = todo.pop()
        if p not in seen:
            seen.add(p)
            todo.extend(layers.get(p, []))
    return seen


def part_of(path):
    bits = path.split(os.sep)
    if bits[0] == "daemon" and len(bits) > 2:
        return bits[1]
    if bits[0] == "connectors":
        return "connectors"
    return None


def sources(parts):
    for top in ("daemon", "connectors"):
        for root, _, files in os.walk(top):
            for f in sorted(files):
                if f.endswith((".c", ".h")):
                    path = os.path.join(root, f)
                    if part_of(path) in parts:
                        yield path


def check_includes(path, part, allowed, uses, headers, breaches):
    restricted = {h: lib for lib, hs in headers.items() for h in hs}
    here = os.path.dirname(path)
    with open(path, encoding="utf-8", errors="replace") as f:
        for n, line in enumerate(f, 1):
            m = INCLUDE.match(line)
            if not m:
                continue
            kind, name = m.groups()
            where = f"{path}:{n}"
            if kind == "<":
                lib = restricted.get(name)
                if lib and lib not in uses.get(part, []):
                    breaches.append(f"{where}: includes <{name}> ({lib}), which the {part} part "
                                    f"may not use (USES_{part}: {' '.join(uses.get(part, [])) or 'none'})")
                continue
            if "/" not in name:
                if not os.path.exists(os.path.join(here, name)):
                    breaches.append(f"{where}: includes \"{name}\", which is not beside it "
                                    f"(another part's header is included as \"PART/{name}\")")
                continue
            target, header = name.split("/", 1)
            if part == "connectors":
                if target == "outbox" and header == "connector.h":
                    continue
                if target == "util" and header in ("util.h", "util-t.h"):
                    continue
                if target == "transfer":  # the connectors' shared libcurl transfer loop
                    continue
                breaches.append(f"{where}: includes \"{name}\"; a connector sees only "
                                f"\"outbox/connector.h\" and \"util/util.h\"")
                continue
            if target in ("main", "ctl") and target != part:
                breaches.append(f"{where}: includes \"{name}\"; nothing includes {target}/")
                continue
            if target == part:
                continue
            if target not in allowed:
                breaches.append(f"{where}: includes \"{name}\", but {part} may not use {target} "
                                f"(LAYER_{part}: {' '.join(LAYERS.get(part, [])) or 'none'})")
                continue
            public = {f"{target}.h", f"{target}-t.h"} | PUBLIC_EXTRA.get(target, set())
            if header not in public:
                breaches.append(f"{where}: includes \"{name}\", which is internal to {target} "
                                f"(its public headers: {', '.join(sorted(public))})")


def resolve(path, name):
    """The file a quoted #include names, as the compiler finds it."""
    beside = os.path.join(os.path.dirname(path), name)
    if os.path.exists(beside):
        return os.path.normpath(beside)
    for top in ("daemon", "connectors"):
        candidate = os.path.join(top, name)
        if os.path.exists(candidate):
            return os.path.normpath(candidate)
    return None


def check_cycles(paths, breaches):
    """No file reaches itself through quoted #include lines (a cycle
    between headers, inside a part or across parts)."""
    graph = {}
    for path in paths:
        edges = []
        with open(path, encoding="utf-8", errors="replace") as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if m and m.group(1) == '"':
                    target = resolve(path, m.group(2))
                    if target:
                        edges.append((target, n))
        graph[os.path.normpath(path)] = edges
    state = {}

    def visit(node, stack):
        state[node] = "open"
        for target, line in graph.get(node, []):
            if state.get(target) == "open":
                loop = stack[stack.index(target):] + [target] if target in stack else [target]
                breaches.append(f"{node}:{line}: an include cycle: {' -> '.join(loop)}")
            elif target not in state:
                visit(target, stack + [target])
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])


def nm(args):
    out = subprocess.run(["nm", *args], capture_output=True, text=True, check=False).stdout
    return out.splitlines()


def symbols(paths):
    """Defined and undefined global symbols of archives or objects, with the
    member each comes from."""
    defined, undefined = {}, []
    for path in paths:
        member = path
        for line in nm(["-A", path]):
            # "archive:member: ADDR T name" or "file: U name"
            head, _, rest = line.rpartition(": ")
            fields = rest.split()
            if len(fields) < 2:
                continue
            kind, name = fields[-2], fields[-1]
            member = head.split(":")[-1] if ":" in head else head
            if kind == "U":
                undefined.append((member, name))
            elif kind.isupper() and kind not in "N":
                defined.setdefault(name, member)
    return defined, undefined


def source_of(member, part):
    """The source file of an object file name, for the message."""
    stem = os.path.splitext(os.path.basename(member))[0]
    tops = ["connectors"] if part == "connectors" else [os.path.join("daemon", part)]
    for top in tops:
        for root, _, files in os.walk(top):
            if stem + ".c" in files:
                return os.path.join(root, stem + ".c")
    return member


def check_symbols(build, parts, allowed_of, uses, breaches):
    libs = {p: os.path.join(build, "lib", f"libsdat-{p}.a") for p in parts
            if os.path.exists(os.path.join(build, "lib", f"libsdat-{p}.a"))}
    objdir = os.path.join(build, "obj", "daemon")
    for prog in ("main", "ctl"):
        d = os.path.join(objdir, prog)
        if os.path.isdir(d):
            libs[prog] = [os.path.join(d, f) for f in sorted(os.listdir(d)) if f.endswith(".o")]
    owner = {}
    for p, path in libs.items():
        defined, _ = symbols(path if isinstance(path, list) else [path])
        for name in defined:
            owner.setdefault(name, p)
    for p, path in libs.items():
        _, undefined = symbols(path if isinstance(path, list) else [path])
        allowed = allowed_of[p] | {p}
        if p == "connectors":
            allowed = allowed | {"outbox"}  # checked by name below
        for member, name in sorted(set(undefined)):
            member = source_of(member, p)
            q = owner.get(name)
            if q is not None:
                if q not in allowed:
                    breaches.append(f"{member}: calls {name} ({q}), but {p} may not use {q}")
                elif p == "connectors" and q == "outbox" and not name.startswith("sdat_connector_"):
                    breaches.append(f"{member}: calls {name} (outbox); a connector sees only "
                                    f"the connector contract")
                if p == "decide" and name in DECIDE_IO:
                    breaches.append(f"{member}: calls {name}: decide/ does no I/O")
                continue
            for lib, prefixes in PREFIXES.items():
                if name.startswith(prefixes) and lib not in uses.get(p, []):
                    breaches.append(f"{member}: calls {name} ({lib}), which the {p} part may "
                                    f"not use")
            if p == "decide" and name in DECIDE_IO:
                breaches.append(f"{member}: calls {name}: decide/ does no I/O (no files, "
                                f"clock, environment or log)")


def main():
    global LAYERS
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build")
    ap.add_argument("--layer", action="append", default=[])
    ap.add_argument("--uses", action="append", default=[])
    ap.add_argument("--headers", action="append", default=[])
    ap.add_argument("--no-symbols", action="store_true",
                    help="only the sources' #include lines (before anything is built)")
    args = ap.parse_args()
    LAYERS = parse_table(args.layer)
    uses = parse_table(args.uses)
    headers = parse_table(args.headers)
    parts = list(LAYERS)
    allowed_of = {p: closure(LAYERS, p) for p in parts}
    for p in parts:
        if p in allowed_of[p]:
            print(f"Makefile: LAYER_{p}: {p} depends on itself (a cycle)", file=sys.stderr)
            return 1
    breaches = []
    for path in sources(parts):
        p = part_of(path)
        check_includes(path, p, allowed_of[p], uses, headers, breaches)
    check_cycles(list(sources(parts)), breaches)
    for top in ("daemon",):
        for entry in sorted(os.listdir(top)):
            if os.path.isdir(os.path.join(top, entry)) and entry not in parts:
                breaches.append(f"{top}/{entry}/: a folder that is not a part of the table")
    if not args.no_symbols:
        check_symbols(args.build, parts, allowed_of, uses, breaches)
    for b in breaches:
        print(b, file=sys.stderr)
    n_files = sum(1 for _ in sources(parts))
    if breaches:
        print(f"check-layers: {len(breaches)} breach(es) of the layers in {n_files} files",
              file=sys.stderr)
        return 1
    what = "#include lines" if args.no_symbols else "#include lines and library symbols"
    print(f"check-layers: ok, {len(parts)} parts, {n_files} files ({what}), no breach")
    return 0


LAYERS = {}
if __name__ == "__main__":
    sys.exit(main())
