#!/usr/bin/env python3
"""make mutate: curated mutation testing of the decision code (issue 26).

Each mutant in tests/mutants/mutants.txt is a one-line change at a decision
boundary. They are applied one at a time to a scratch copy of the tree in
build/mutate/tree (the working tree is never written), rebuilt incrementally
(the scratch copy keeps its own build/, so a mutant costs its file's
recompile and the relinking of the tests it is mapped to), and run against
the unit test binaries mapped to it, then, with --integration, against the
mapped integration scripts for the mutants that the unit tests let through.

A mutant is KILLED when a mapped test fails (or times out), SURVIVED when
all pass, EQUIVALENT when it survives and its entry gives a reason why it
cannot be told apart, BROKEN when its original text does not occur exactly
once in its file or the mutant does not compile. The score is killed over
the mutants that count (not broken, not equivalent). The exit status is 0
only when there is no survivor and no broken entry.

Usage: scripts/mutate.py [--short] [--integration] [--only ID,...] [--list FILE]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRATCH = os.path.join(ROOT, "build", "mutate")
TREE = os.path.join(SCRATCH, "tree")
LOGS = os.path.join(SCRATCH, "logs")
DIRTY = os.path.join(SCRATCH, "dirty")  # the file a run left mutated
FIELDS = ("id", "file", "original", "mutant", "bug", "unit", "integration", "short",
          "equivalent")
UNIT_TIMEOUT = 300
INTEGRATION_TIMEOUT = 1200
NICE = ["nice", "-n", "10"]


class ListError(Exception):
    pass


def parse_list(path):
    """Stanzas of `key: value` lines, separated by blank lines; # comments.
    A value is the rest of the line less the blanks around it."""
    mutants, cur = [], None
    with open(path, encoding="utf-8") as f:
        for lineno, raw in enumerate(f, 1):
            line = raw.rstrip("\n")
            if line.startswith("#"):
                continue
            if not line.strip():
                cur = None
                continue
            key, sep, value = line.partition(":")
            key = key.strip()
            if not sep or key not in FIELDS:
                raise ListError(f"{path}:{lineno}: not a `key: value` line with a known key")
            if key == "id":
                cur = {"id": value.strip(), "line": lineno}
                mutants.append(cur)
                continue
            if cur is None:
                raise ListError(f"{path}:{lineno}: {key} before an id")
            if key in cur:
                raise ListError(f"{path}:{lineno}: {key} given twice for {cur['id']}")
            cur[key] = value.strip()
    seen = set()
    for m in mutants:
        for key in ("file", "original", "mutant", "bug", "unit"):
            if not m.get(key):
                raise ListError(f"{path}:{m['line']}: {m['id']} has no {key}")
        if m["id"] in seen:
            raise ListError(f"{path}:{m['line']}: id {m['id']} given twice")
        seen.add(m["id"])
        m["unit"] = m["unit"].split()
        m["integration"] = m.get("integration", "").split()
        m["short"] = m.get("short", "no") == "yes"
    return mutants


def source_files():
    out = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                         cwd=ROOT, check=True, capture_output=True).stdout
    return [p for p in out.decode().split("\0") if p and os.path.isfile(os.path.join(ROOT, p))]


def same_content(a, b):
    try:
        if os.path.getsize(a) != os.path.getsize(b):
            return False
        with open(a, "rb") as fa, open(b, "rb") as fb:
            return fa.read() == fb.read()
    except OSError:
        return False


def sync_tree():
    """Brings the scratch copy to the working tree's content. A new file
    keeps its time (so that a copied build/ stays valid); a changed one
    gets the current time, so that make rebuilds what depends on it."""
    os.makedirs(TREE, exist_ok=True)
    first = not os.path.isdir(os.path.join(TREE, "build"))
    files = source_files()
    now = time.time()
    for rel in files:
        src, dst = os.path.join(ROOT, rel), os.path.join(TREE, rel)
        if os.path.exists(dst) and same_content(src, dst):
            continue
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        if os.path.exists(dst):
            shutil.copyfile(src, dst)
            os.utime(dst, (now, now))
        else:
            shutil.copy2(src, dst)
    keep = set(files)
    for dirpath, dirnames, filenames in os.walk(TREE):
        rel_dir = os.path.relpath(dirpath, TREE)
        if rel_dir == "build" or rel_dir.startswith("build" + os.sep) or rel_dir == ".git":
            dirnames[:] = []
            continue
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in ("build", ".git")]
        for name in filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name))
            if rel not in keep:
                os.remove(os.path.join(dirpath, name))
    # A run stopped while a file was mutated: that file's object may hold
    # the mutant although the file is back to the original, older text.
    if os.path.exists(DIRTY):
        with open(DIRTY, encoding="utf-8") as f:
            for rel in f.read().split():
                p = os.path.join(TREE, rel)
                if os.path.exists(p):
                    os.utime(p, (now, now))
        os.remove(DIRTY)
    if first:
        warm_build()


def warm_build():
    """Seeds the scratch build/ from the working tree's (objects, libraries,
    test binaries, with their times), so that a first run after make check
    compiles nothing it need not."""
    src = os.path.join(ROOT, "build")
    if not os.path.isdir(src):
        return
    for dirpath, dirnames, filenames in os.walk(src):
        rel_dir = os.path.relpath(dirpath, src)
        if rel_dir == ".":
            dirnames[:] = [d for d in dirnames if d not in ("mutate", "asan", "fuzz", "bench-cache")]
        dst_dir = os.path.join(TREE, "build", rel_dir)
        os.makedirs(dst_dir, exist_ok=True)
        for name in filenames:
            s = os.path.join(dirpath, name)
            if os.path.islink(s) or not os.path.isfile(s):
                continue
            shutil.copy2(s, os.path.join(dst_dir, name))


def make(targets, log):
    cmd = NICE + ["make", "--no-print-directory", "-j2"] + targets
    # Not the calling make's job server or command line (make mutate).
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    r = subprocess.run(cmd, cwd=TREE, env=env, stdout=log, stderr=subprocess.STDOUT)
    return r.returncode == 0


def unit_target(name):
    return "build/tests/" + name


def helper_targets():
    helpers = sorted(os.listdir(os.path.join(TREE, "tests", "helpers")))
    return ["build/tests/" + h[:-2] for h in helpers if h.endswith(".c")]


def run_test(kind, name, log):
    """True when the test passes; 'timeout' when it ran out of time."""
    log.write(f"\n=== {kind} {name}\n")
    log.flush()
    if kind == "unit":
        cmd = NICE + [unit_target(name), "--jobs", "1", "--fail-fast"]
        env, limit, scan = None, UNIT_TIMEOUT, None
    else:
        scan = tempfile.mkdtemp(prefix="sdat-mutate-scan.")
        env = dict(os.environ, SDAT_BUILD="build", SDAT_IT_LOG_FORMAT="text",
                   SDAT_IT_SCAN_DIR=scan)
        cmd = NICE + ["sh", "tests/integration/" + name]
        limit = INTEGRATION_TIMEOUT
    # An integration script reports a failure as a "not ok" line and still
    # exits 0 (tests/run-integration.sh counts the lines): it passes only
    # when it exits 0, says "# done" and has no "not ok" line.
    out = tempfile.TemporaryFile(mode="w+", encoding="utf-8", errors="replace")
    try:
        # A group of its own, so that a timeout ends the test's children too.
        p = subprocess.Popen(cmd, cwd=TREE, env=env, stdout=out if scan else log,
                             stderr=subprocess.STDOUT, start_new_session=True)
        try:
            rc = p.wait(timeout=limit)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, 9)
            p.wait()
            return "timeout"
        if not scan:
            return rc == 0
        out.seek(0)
        text = out.read()
        log.write(text)
        lines = text.splitlines()
        return rc == 0 and "# done" in lines and not any(l.startswith("not ok") for l in lines)
    finally:
        out.close()
        if scan:
            shutil.rmtree(scan, ignore_errors=True)


def pristine(rel):
    with open(os.path.join(ROOT, rel), encoding="utf-8") as f:
        return f.read()


def write_tree(rel, text):
    p = os.path.join(TREE, rel)
    with open(p, "w", encoding="utf-8") as f:
        f.write(text)
    now = time.time()
    os.utime(p, (now, now))


def apply(m):
    """The mutated text of m's file, or a reason why the entry is broken."""
    path = os.path.join(ROOT, m["file"])
    if not os.path.isfile(path):
        return None, "no such file"
    text = pristine(m["file"])
    count = text.count(m["original"])
    if count != 1:
        return None, f"the original text occurs {count} times (must be once)"
    if m["original"] == m["mutant"]:
        return None, "the mutant is the original"
    return text.replace(m["original"], m["mutant"]), None


def try_mutant(m, tests, build_targets):
    """(status, detail) for m against tests [(kind, name)], with m applied."""
    mutated, why = apply(m)
    if why:
        return "BROKEN", why
    log_path = os.path.join(LOGS, m["id"] + ".log")
    with open(DIRTY, "w", encoding="utf-8") as f:
        f.write(m["file"] + "\n")
    with open(log_path, "a", encoding="utf-8") as log:
        try:
            write_tree(m["file"], mutated)
            start = log.tell()
            if not make(build_targets, log):
                return "BROKEN", f"the mutant does not compile (see {os.path.relpath(log_path, ROOT)})"
            # CI builds with -Werror: a mutant that warns would not compile there.
            with open(log_path, encoding="utf-8", errors="replace") as f:
                f.seek(start)
                if any(m["file"] in line and "warning:" in line for line in f):
                    return "BROKEN", ("the mutant compiles with a warning (-Werror in CI; see "
                                      f"{os.path.relpath(log_path, ROOT)})")
            for kind, name in tests:
                r = run_test(kind, name, log)
                if r is not True:
                    return "KILLED", name + (" (timeout)" if r == "timeout" else "")
            return "SURVIVED", ""
        finally:
            write_tree(m["file"], pristine(m["file"]))
            os.remove(DIRTY)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--list", default=os.path.join(ROOT, "tests", "mutants", "mutants.txt"))
    ap.add_argument("--short", action="store_true", help="only the entries marked short: yes")
    ap.add_argument("--integration", action="store_true",
                    help="also run the mapped integration scripts on unit-test survivors")
    ap.add_argument("--only", default="", help="comma-separated ids")
    args = ap.parse_args()
    t0 = time.time()
    try:
        mutants = parse_list(args.list)
    except (ListError, OSError) as e:
        print(f"mutate: {e}", file=sys.stderr)
        return 2
    if args.only:
        ids = set(args.only.split(","))
        unknown = ids - {m["id"] for m in mutants}
        if unknown:
            print(f"mutate: no such mutant: {', '.join(sorted(unknown))}", file=sys.stderr)
            return 2
        mutants = [m for m in mutants if m["id"] in ids]
    elif args.short:
        mutants = [m for m in mutants if m["short"]]
    units = sorted({u for m in mutants for u in m["unit"]})
    missing = [u for u in units if not os.path.isfile(os.path.join(ROOT, "tests", "unit", u + ".c"))]
    scripts = sorted({s for m in mutants for s in m["integration"]})
    missing += [s for s in scripts
                if not os.path.isfile(os.path.join(ROOT, "tests", "integration", s))]
    if missing:
        print(f"mutate: mapped tests that do not exist: {', '.join(missing)}", file=sys.stderr)
        return 2

    print(f"mutate: {len(mutants)} mutants; scratch copy {os.path.relpath(TREE, ROOT)}", flush=True)
    sync_tree()
    shutil.rmtree(LOGS, ignore_errors=True)
    os.makedirs(LOGS)

    # The unmutated tree must pass every mapped unit test, or a failure
    # would say nothing about a mutant.
    with open(os.path.join(LOGS, "baseline.log"), "w", encoding="utf-8") as log:
        if not make([unit_target(u) for u in units], log):
            print("mutate: the unmutated tree does not build (build/mutate/logs/baseline.log)")
            return 2
        for u in units:
            if run_test("unit", u, log) is not True:
                print(f"mutate: {u} fails on the unmutated tree (build/mutate/logs/baseline.log)")
                return 2
    print(f"mutate: baseline passes ({len(units)} unit test binaries, "
          f"{time.time() - t0:.0f} s)", flush=True)

    results = {}
    for m in mutants:
        ts = time.time()
        tests = [("unit", u) for u in m["unit"]]
        results[m["id"]] = try_mutant(m, tests, [unit_target(u) for u in m["unit"]])
        status, detail = results[m["id"]]
        if status == "SURVIVED" and args.integration and m["integration"]:
            print(f"  {m['id']:<5} survived the unit tests; integration scripts to follow",
                  flush=True)
        else:
            report(m, status, detail, time.time() - ts)

    later = [m for m in mutants
             if results[m["id"]][0] == "SURVIVED" and args.integration and m["integration"]]
    if later:
        needed = sorted({s for m in later for s in m["integration"]})
        targets = ["all"] + helper_targets()
        with open(os.path.join(LOGS, "baseline.log"), "a", encoding="utf-8") as log:
            if not make(targets, log):
                print("mutate: the unmutated tree does not build (build/mutate/logs/baseline.log)")
                return 2
            for s in needed:
                if run_test("integration", s, log) is not True:
                    print(f"mutate: {s} fails on the unmutated tree "
                          "(build/mutate/logs/baseline.log)")
                    return 2
        print(f"mutate: integration baseline passes ({', '.join(needed)})", flush=True)
        for m in later:
            ts = time.time()
            tests = [("integration", s) for s in m["integration"]]
            results[m["id"]] = try_mutant(m, tests, targets)
            report(m, *results[m["id"]], time.time() - ts)

    killed = [m for m in mutants if results[m["id"]][0] == "KILLED"]
    broken = [m for m in mutants if results[m["id"]][0] == "BROKEN"]
    survived = [m for m in mutants if results[m["id"]][0] == "SURVIVED"]
    equivalent = [m for m in survived if m.get("equivalent")]
    survivors = [m for m in survived if not m.get("equivalent")]
    counted = len(killed) + len(survivors)
    print(f"\nmutation score: {len(killed)}/{counted} killed"
          f" ({len(equivalent)} equivalent, {len(broken)} broken; "
          f"{'unit tests only' if not args.integration else 'unit tests and integration scripts'}"
          f"; {time.time() - t0:.0f} s)")
    for m in equivalent:
        print(f"  equivalent {m['id']}: {m['equivalent']}")
    for m in survivors:
        print(f"  SURVIVOR {m['id']} {m['file']}: {m['bug']}")
    for m in broken:
        print(f"  BROKEN {m['id']} {m['file']}: {results[m['id']][1]}")
    return 1 if survivors or broken else 0


def report(m, status, detail, seconds):
    if status == "SURVIVED" and m.get("equivalent"):
        status, detail = "EQUIVALENT", m["equivalent"]
    elif status == "KILLED" and m.get("equivalent"):
        detail += " (marked equivalent, but killed: the mark is stale)"
    line = f"  {m['id']:<5} {status:<10} {m['file']}"
    if detail:
        line += f": {'by ' if status == 'KILLED' else ''}{detail}"
    print(f"{line}  [{seconds:.0f} s]", flush=True)


if __name__ == "__main__":
    sys.exit(main())
