#!/bin/sh
# make bench: every benchmark in turn (validation, audit records, P6,
# matching quality and P4, then P5, P1, P2, P3, P7), a summary of P1–P7 against quality.md's targets,
# and the run recorded in docs/PERFORMANCE.md between its "bench:run"
# markers (BENCH_DOC; empty: not written). Each script also runs alone; see
# its head for its settings.
set -eu
: "${SDAT_BUILD:=build}"
: "${BENCH_DOC=docs/PERFORMANCE.md}"
export SDAT_BUILD
export BENCH_P1_INCIDENTS="${BENCH_P1_INCIDENTS:-20000}"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/sdat-bench-all-XXXXXX")
trap 'rm -rf "$OUT"' EXIT
export BENCH_RESULTS="$OUT/results"
: >"$BENCH_RESULTS"

started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "bench: $started, $(nproc) cores, $cpu, load average $load0"

# step NAME COMMAND...: runs one benchmark, its output shown and kept.
# A benchmark that fails is reported and the others still run.
step() {
    name=$1
    shift
    echo "== $name"
    if "$@" 2>&1; then :; else echo "bench: $name failed (exit $?)"; fi | tee "$OUT/$name.out"
}
step validate sh bench/run.sh "$SDAT_BUILD/bench/bench_validate"
step audit "$SDAT_BUILD/bench/bench_audit" tests/fuzz/seeds/sdat.audit-record/*.json
step deliver sh bench/deliver.sh
step match sh bench/match.sh
step startup sh bench/startup.sh
step pipeline sh bench/pipeline.sh
step lookup sh bench/lookup.sh
step attendance sh bench/attendance.sh
step console sh bench/console.sh
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# The figures of the scripts that do not write results themselves.
p6=$(sed -n 's/.*through the outbox: *\([0-9]*\)\/s.*/\1/p' "$OUT/deliver.out")
p6ref=$(sed -n 's/.*connector alone (no store): *\([0-9]*\)\/s.*/\1/p' "$OUT/deliver.out")
p4=$(grep 'latency per child' "$OUT/match.out" | tail -n 1 |
    sed -n 's/.*p50 \([0-9]*\) us, p99 \([0-9]*\) us.*/\1 \2/p')
p4big=$(sed -n 's/.*latency against the \([0-9]*\)-child register.*/\1/p' "$OUT/match.out")
get() { awk -F '\t' -v k="$1" '$1 == k { v = $2 } END { print v }' "$BENCH_RESULTS"; }

# The summary: one line per figure, its target, the ratio and a verdict.
summary() {
    awk -F '\t' -v p4="$p4" -v p4big="${p4big:-100000}" -v p6="$p6" -v p6ref="$p6ref" \
        -v children="${BENCH_CHILDREN:-1000000}" '
    { r[$1] = $2 }
    function div(a, b) { return b + 0 != 0 ? a / b : 0 }
    function row(id, what, fig, target, ratio, ok) {
        printf "| %s | %s | %s | %s | %s | %s |\n", id, what, fig, target, ratio, ok ? "met" : "**missed**"
    }
    END {
        print "| id | what | figure | target | ratio | |"
        print "| --- | --- | --- | --- | --- | --- |"
        row("P1", sprintf("%d incidents (2 children, %d B) through sdatd, %s-child register", r["p1.incidents"], r["p1.size"], children),
            sprintf("%.0f incidents/s", r["p1.rate"]), "≥ 20,000/s", sprintf("%.4f × target", div(r["p1.rate"], 20000)), r["p1.rate"] >= 20000)
        row("P1", "… beside a plain jansson parse of the same messages", sprintf("parse %.0f/s", r["p1.parse"]), "≥ 0.5 × parse",
            sprintf("%.4f × parse", div(r["p1.rate"], r["p1.parse"])), r["p1.parse"] && r["p1.rate"] >= 0.5 * r["p1.parse"])
        row("P1", "… beside `kcat -C -e` reading the topic", sprintf("kcat %.0f/s", r["p1.kcat"]), "≥ 0.25 × kcat",
            sprintf("%.4f × kcat", div(r["p1.rate"], r["p1.kcat"])), r["p1.kcat"] && r["p1.rate"] >= 0.25 * r["p1.kcat"])
        row("P2", "GET /v1/cpis/flags/… (wrk " r["p2.wrk"] ")", sprintf("%.0f req/s, p99 %.2f ms", r["p2.rps"], r["p2.p99"]),
            "≥ 20,000/s, p99 ≤ 5 ms", sprintf("%.3f × target; %.3f × nginx", div(r["p2.rps"], 20000), div(r["p2.rps"], r["p2.nginx_rps"])),
            r["p2.rps"] >= 20000 && r["p2.p99"] != "" && r["p2.p99"] <= 5 && r["p2.failed"] == 0)
        row("P2", sprintf("nginx, one worker, a static file of %d B (reference)", r["p2.answer"]),
            sprintf("%.0f req/s, p99 %.2f ms", r["p2.nginx_rps"], r["p2.nginx_p99"]), "", "", 1)
        p3 = r["p3.p99"]
        row("P3", sprintf("attendance → response on the topic, %d/s for %d s", r["p3.rate"], r["p3.seconds"]),
            sprintf("p50 %s ms, p99 %s ms; %d of the responses missing", r["p3.p50"], p3, r["p3.missing"]),
            "p99 ≤ 50 ms", p3 == "inf" || p3 == "" ? "—" : sprintf("%.2f × limit", p3 / 50), p3 != "inf" && p3 != "" && p3 + 0 <= 50)
        split(p4, l, " ")
        row("P4", sprintf("matching one police child, %d-child register", p4big), sprintf("p50 %s µs, p99 %s µs", l[1], l[2]),
            "p99 ≤ 1 ms", sprintf("%.2f × limit", div(l[2], 1000)), l[2] != "" && l[2] <= 1000)
        row("P5", sprintf("`sdatctl import children`, %d records", r["p5.import_records"]), sprintf("%.1f s", r["p5.import_s"]),
            "≤ 60 s", sprintf("%.2f × limit", div(r["p5.import_s"], 60)), r["p5.import_s"] != "" && r["p5.import_s"] <= 60)
        row("P5", "start until the store is open and everything set up", sprintf("%.3f s", r["p5.start_s"]), "≤ 3 s",
            sprintf("%.3f × limit", div(r["p5.start_s"], 3)), r["p5.start_s"] != "" && r["p5.start_s"] <= 3)
        row("P5", "… until /readyz (group assignment, reported apart)", sprintf("%.1f s", r["p5.ready_s"]), "", "", 1)
        row("P5", "resident memory once ready", sprintf("%d MiB", r["p5.rss_mib"]), "≤ 512 MiB",
            sprintf("%.2f × limit", div(r["p5.rss_mib"], 512)), r["p5.rss_mib"] != "" && r["p5.rss_mib"] <= 512)
        row("P6", "webhook deliveries through the outbox", sprintf("%.0f/s", p6), "≥ 2,000/s",
            sprintf("%.2f × target; %.2f × the connector alone", div(p6, 2000), div(p6, p6ref)), p6 != "" && p6 >= 2000)
        split("today:GET /console/ (today);notifications:GET /console/notifications (the first 50);one:GET /console/notifications/ID", pages, ";")
        for (i = 1; i <= 3; i++) {
            split(pages[i], pg, ":")
            k = "p7." pg[1]
            row("P7", sprintf("%s, %d notifications (wrk %s)", pg[2], r["p7.notifications"], r["p7.wrk"]),
                sprintf("%.0f req/s, p99 %.2f ms", r[k ".rps"], r[k ".p99"]), "p99 ≤ 50 ms",
                r[k ".p99"] == "" ? "—" : sprintf("%.2f × limit", r[k ".p99"] / 50),
                r[k ".p99"] != "" && r[k ".p99"] <= 50 && r[k ".failed"] == 0)
        }
        row("P7", "GET /v1/notifications/ID, the same ids (reference)",
            sprintf("%.0f req/s, p99 %.2f ms", r["p7.api.rps"], r["p7.api.p99"]), "",
            sprintf("the page: %.3f × its req/s", r["p7.api_ratio"]), 1)
    }' "$BENCH_RESULTS"
}
echo "== summary (quality.md targets)"
summary | tee "$OUT/summary.md"
echo "bench: load average at the start $load0, at the end $load1"

[ -n "$BENCH_DOC" ] || exit 0
[ -f "$BENCH_DOC" ] || { echo "bench: $BENCH_DOC not found; not recorded" >&2; exit 0; }
{
    echo "Recorded by \`make bench\` (bench/all.sh) on $started."
    echo
    echo "- Machine: $(nproc) cores, $cpu; $(uname -sr). Load average (1, 5, 15 min) before the run:"
    echo "  $load0 (much above 0.2: something else was running), at its end $load1."
    echo "- Build: \`$(cc --version | head -n 1)\`, \`-O2 -g\`; SQLite $(sqlite3 --version | cut -d' ' -f1)," \
        "librdkafka $("$SDAT_BUILD/sdatd" -V | sed -n 's/.*librdkafka \([^)]*\)).*/\1/p'), $(nginx -v 2>&1 | sed 's/.*: //'), $(wrk -v 2>&1 | head -n 1 | cut -d' ' -f1-2)."
    echo "- Command: \`make bench\` with BENCH_SEED=${BENCH_SEED:-3} BENCH_CHILDREN=${BENCH_CHILDREN:-1000000}" \
        "BENCH_FLAGS=${BENCH_FLAGS:-100000} BENCH_P1_INCIDENTS=$BENCH_P1_INCIDENTS" \
        "BENCH_WRK='${BENCH_WRK:--t2 -c32 -d20s}' BENCH_P3_RATE=${BENCH_P3_RATE:-200} BENCH_P3_SECONDS=${BENCH_P3_SECONDS:-30}" \
        "BENCH_CONSOLE_NOTIFICATIONS=${BENCH_CONSOLE_NOTIFICATIONS:-100000} BENCH_CONSOLE_WRK='${BENCH_CONSOLE_WRK:--t2 -c8 -d10s}'."
    echo
    cat "$OUT/summary.md"
    echo
    echo "The run's own lines:"
    echo
    echo '```'
    cat "$OUT/startup.out" "$OUT/pipeline.out" "$OUT/lookup.out" "$OUT/attendance.out" "$OUT/console.out"
    echo '```'
} >"$OUT/run.md"
awk -v run="$OUT/run.md" '
    /<!-- bench:run:begin -->/ { print; while ((getline line < run) > 0) print line; skip = 1; next }
    /<!-- bench:run:end -->/ { skip = 0 }
    !skip' "$BENCH_DOC" >"$OUT/doc" && cat "$OUT/doc" >"$BENCH_DOC"
echo "bench: recorded in $BENCH_DOC"
