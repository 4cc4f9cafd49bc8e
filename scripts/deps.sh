#!/bin/sh
# Installs the Debian packages sdat needs to build, test and run its demo,
# when any is missing. Needs root or sudo only when something is missing.
set -eu
# prometheus: promtool, for make check-rules (config/sdat.rules.yml).
# chromium and python3-websocket: the headless-browser tests of the
# acknowledgement page (tests/integration/test_actions.sh), the console and
# the HTML letters (test_letter_browser.sh, scripts/letter-screenshot.py).
pkgs="build-essential pkg-config librdkafka-dev libcurl4-openssl-dev libjansson-dev
libconfig-dev libcriterion-dev libsqlite3-dev libmicrohttpd-dev libssl-dev tzdata
kcat sqlite3 python3 python3-aiosmtpd python3-prometheus-client openssl ca-certificates
systemd strace procps man-db groff-base chromium python3-websocket prometheus"
# `deps.sh fuzz`: also clang and its libFuzzer runtime, for `make fuzz`.
[ "${1:-}" = fuzz ] && pkgs="$pkgs clang libclang-rt-dev"
# `deps.sh bench`: also what `make bench` drives or compares against: wrk
# and nginx (P2), curl, and perf for its BENCH_PROFILE option.
[ "${1:-}" = bench ] && pkgs="$pkgs wrk nginx-light curl linux-perf"
missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
        missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
    sudo=""
elif command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
else
    echo "deps: missing packages:$missing; run as root or install sudo" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# shellcheck disable=SC2086
$sudo apt-get install -y -qq --no-install-recommends $missing
