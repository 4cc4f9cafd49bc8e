#!/bin/sh
# The manual pages: each renders (groff and man) without a warning; the built
# sdatd.conf(5) is what the generator makes of the configuration table now,
# lists every key the table holds (the keys `sdatd -t` knows) with its
# default and its reloadability, and no key the table lacks; every key that
# any page names exists; the example in sdatd.conf(5) passes `sdatd -t`;
# sdatd(8) and sdatctl(1) cover every option, command and exit code of
# their programs' usage.
. tests/integration/lib.sh

GEN="$SDAT_BUILD/tools/gen-conf-man"
MANDIR_BUILT="$SDAT_BUILD/man"
DAEMON="$SDAT_BUILD/sdatd" # the binary itself: $SDATD may be a logging wrapper
PAGES="sdatd.8 sdatctl.1 sdatd.conf.5 sdat-receivers.7"

# note FILE: its first lines as comments, to say why a check failed.
note() { sed -n '1,15s/^/# /p' "$1"; }

# checkf NAME FILE COMMAND...: check, and show FILE when it fails.
checkf() {
    name=$1
    file=$2
    shift 2
    if "$@"; then ok "$name"; else notok "$name"; note "$file"; fi
}

# section NAME FILE: the lines of one section of a rendered page.
section() { awk -v name="$1" '$0 == name { f = 1; next } /^[A-Z]/ { f = 0 } f' "$2"; }

# usage_options [FILE]: the options a usage text names, sorted.
usage_options() { grep -oE -- '(^|[ [])--?[A-Za-z][a-z-]*' "$@" | tr -d ' [' | sort -u; }

# page_options: the options that the entries of a rendered OPTIONS section
# name (the tag: up to the first run of spaces that ends it), sorted.
page_options() {
    grep '^       -' | sed 's/^       //; s/   .*//' |
        grep -oE -- '(^|[ ,])--?[A-Za-z][a-z-]*' | tr -d ' ,' | sort -u
}

# compare_options USAGE PAGE: "missing: OPTION" and "stale: OPTION" lines
# (-h and --help may be described without a usage line of their own).
compare_options() {
    comm -23 "$1" "$2" | sed 's/^/missing: /'
    comm -13 "$1" "$2" | grep -vxE -- '-h|--help' | sed 's/^/stale: /'
}

if ! command -v groff >/dev/null 2>&1; then
    notok "groff is installed (Debian: groff-base), to render the pages"
    echo "# done"
    exit 0
fi

for p in $PAGES; do
    check "$p is built in $MANDIR_BUILT" test -s "$MANDIR_BUILT/$p"
done

# -t: tbl for the pages that have tables; -ww: every warning.
for p in $PAGES; do
    groff -t -man -Tutf8 -ww -z "$MANDIR_BUILT/$p" >"$T/$p.warnings" 2>&1
    checkf "$p renders with groff -ww without a warning" "$T/$p.warnings" \
        test ! -s "$T/$p.warnings"
done

if command -v man >/dev/null 2>&1; then
    for p in $PAGES; do
        MANWIDTH=80 man --warnings -l "$MANDIR_BUILT/$p" >"$T/$p.man" 2>"$T/$p.man.err"
        rc=$?
        checkf "$p renders with man -l without a warning" "$T/$p.man.err" \
            test "$rc" -eq 0 -a -s "$T/$p.man" -a ! -s "$T/$p.man.err"
    done
else
    ok "man -l renders the pages # SKIP man (man-db) is not installed"
fi

# Plain text, wide enough that no entry wraps, for the checks below.
for p in $PAGES; do
    groff -t -man -Tutf8 -rLL=250n -P-cbou "$MANDIR_BUILT/$p" >"$T/$p.txt" 2>/dev/null
done

"$GEN" --keys >"$T/keys" 2>"$T/keys.err"
checkf "gen-conf-man --keys lists the configuration table's keys" "$T/keys.err" \
    test -s "$T/keys" -a ! -s "$T/keys.err"
check "the key list has the known keys" \
    grep -qxF "$(printf 'delivery.retry_max\treloadable\t900')" "$T/keys"

"$GEN" man/sdatd.conf.5.in >"$T/sdatd.conf.5.now" 2>&1
check "the built sdatd.conf(5) is the generator's output for the current table" \
    cmp -s "$T/sdatd.conf.5.now" "$MANDIR_BUILT/sdatd.conf.5"
for p in sdatd.8 sdatctl.1 sdat-receivers.7; do
    check "the built $p is man/$p" cmp -s "man/$p" "$MANDIR_BUILT/$p"
done

# Each key of the table against its entry in the KEYS section: the tag line
# "PATH" or "PATH = DEFAULT" (the default as written in the file: quotes,
# brackets and spaces aside, the table's text), then a line that says
# "; reloadable:" or "; restart-only:".
section KEYS "$T/sdatd.conf.5.txt" >"$T/keys.txt"
: >"$T/missing"
: >"$T/wrongdef"
: >"$T/wrongreload"
awk -F '\t' -v missing="$T/missing" -v wrongdef="$T/wrongdef" -v wrongreload="$T/wrongreload" '
    function norm(s) { gsub(/["\[\] ]/, "", s); return s }
    FNR == NR { path[NR] = $1; reload[NR] = $2; def[NR] = $3; n = NR; next }
    /^       [a-z_][a-z0-9_]*(\.[][a-z0-9_N]+)*( = .*)?$/ {
        tag = substr($0, 8); key = tag; value = ""; hasdef = 0
        if (index(tag, " = ")) {
            key = substr(tag, 1, index(tag, " = ") - 1)
            value = substr(tag, index(tag, " = ") + 3); hasdef = 1
        }
        seen[key] = 1; tagdef[key] = hasdef ? norm(value) : ""; tagdefset[key] = hasdef
        cur = key; next
    }
    cur != "" && /^              [^ ]/ { body[cur] = $0; cur = ""; next }
    END {
        for (i = 1; i <= n; i++) {
            k = path[i]
            if (!(k in seen)) { print k > missing; continue }
            if ((def[i] != "") != tagdefset[k] || tagdef[k] != norm(def[i]))
                print k ": page \"" tagdef[k] "\", table \"" def[i] "\"" > wrongdef
            if (index(body[k], "; " reload[i] ":") == 0)
                print k ": not marked " reload[i] > wrongreload
        }
    }' "$T/keys" "$T/keys.txt"
checkf "sdatd.conf(5) lists every key of the configuration table" "$T/missing" \
    test ! -s "$T/missing"
checkf "sdatd.conf(5) gives every key the table's default, and none where it has none" \
    "$T/wrongdef" test ! -s "$T/wrongdef"
checkf "sdatd.conf(5) marks every key reloadable or restart-only as the table does" \
    "$T/wrongreload" test ! -s "$T/wrongreload"

# The other way: every entry of the KEYS section is a key of the table.
cut -f 1 "$T/keys" | sort >"$T/keys.sorted"
grep -E '^       [a-z_][a-z0-9_]*(\.[][a-z0-9_N]+)*( = .*)?$' "$T/keys.txt" |
    sed 's/^       \([^ ]*\).*/\1/' | sort >"$T/entries"
comm -13 "$T/keys.sorted" "$T/entries" >"$T/extra"
checkf "sdatd.conf(5) lists no key that the table does not have" "$T/extra" test ! -s "$T/extra"
uniq -d "$T/entries" >"$T/twice"
checkf "sdatd.conf(5) lists each key once" "$T/twice" test ! -s "$T/twice"

check "sdatd.conf(5): delivery.retry_max defaults to 900" \
    grep -qx '       delivery\.retry_max = 900' "$T/keys.txt"
check "sdatd.conf(5): matching.match_threshold defaults to 18" \
    grep -qx '       matching\.match_threshold = 18' "$T/keys.txt"
check "sdatd.conf(5): http.listen defaults to 127.0.0.1:8080" \
    grep -qx '       http\.listen = "127\.0\.0\.1:8080"' "$T/keys.txt"
grep -A 1 -x '       kafka\.bootstrap_servers' "$T/keys.txt" >"$T/bootstrap.entry"
check "sdatd.conf(5): kafka.bootstrap_servers is restart-only" \
    grep -q '; restart-only:' "$T/bootstrap.entry"
check "sdatd.conf(5): recipients.[N].url is a key of the recipients list" \
    grep -qx '       recipients\.\[N\]\.url' "$T/keys.txt"

# Every key that a page names (in prose, examples and the reference) is a
# key or a group of the table, so that a renamed key cannot live on in the
# text. A list element's index is written [N] or as a number.
cut -f 1 "$T/keys" | awk '{
    print
    p = $0
    while ((i = match(p, /\.[^.]*$/)) > 0) { p = substr(p, 1, i - 1); print p }
}' | sort -u >"$T/known"
sed 's/\..*//' "$T/keys.sorted" | sort -u >"$T/top"
for p in $PAGES; do
    grep -oE '[a-z_][a-z0-9_]*(\.(\[[0-9N]+\]|[a-z_][a-z0-9_]*))+' "$T/$p.txt" |
        sed 's/\[[0-9]*\]/[N]/g' | sort -u |
        awk -F . 'NR == FNR { top[$0] = 1; next } ($1 in top)' "$T/top" - |
        comm -23 - "$T/known" >"$T/$p.unknown"
    checkf "every configuration key named in $p exists" "$T/$p.unknown" test ! -s "$T/$p.unknown"
done

# The example of sdatd.conf(5), with its paths moved into the test's
# directory, passes sdatd -t.
section EXAMPLE "$T/sdatd.conf.5.txt" | sed -n 's/^              //p' |
    sed -e "s|/etc/sdat/keys|$T/keys.d|g" -e "s|/var/spool/sdat|$T/spool|g" \
        -e "s|/var/lib/sdat|$T/state|g" >"$T/example.conf"
mkdir -p "$T/keys.d" "$T/spool"
printf 'example secret\n' >"$T/keys.d/112233"
chmod 600 "$T/keys.d/112233"
"$DAEMON" -t -c "$T/example.conf" >"$T/example.out" 2>&1
rc=$?
checkf "the example in sdatd.conf(5) passes sdatd -t" "$T/example.out" \
    test "$rc" -eq 0 -a -s "$T/example.conf"

# sdatd(8): every option of `sdatd -h` has an entry under OPTIONS; the exit
# codes, signals, environment, files and endpoints are there.
"$DAEMON" -h >"$T/sdatd.usage" 2>&1
usage_options "$T/sdatd.usage" >"$T/sdatd.usage.options"
section OPTIONS "$T/sdatd.8.txt" | page_options >"$T/sdatd.page.options"
compare_options "$T/sdatd.usage.options" "$T/sdatd.page.options" >"$T/sdatd.options.diff"
checkf "sdatd(8) describes the options of sdatd -h, and no other" "$T/sdatd.options.diff" \
    test -s "$T/sdatd.page.options" -a ! -s "$T/sdatd.options.diff"
codes=$(section "EXIT STATUS" "$T/sdatd.8.txt" | sed -n 's/^       \([0-9][0-9]*\) .*/\1/p' |
    tr '\n' ' ')
check "sdatd(8) lists the exit codes 0, 1 and 78" test "$codes" = "0 1 78 "
: >"$T/sdatd.words"
for w in SIGHUP SIGTERM SIGINT NOTIFY_SOCKET WATCHDOG_USEC CREDENTIALS_DIRECTORY \
    /etc/sdat/sdatd.conf /var/lib/sdat READY=1 /healthz /readyz /metrics /v1/reviews /v1/dlq; do
    grep -qF -- "$w" "$T/sdatd.8.txt" || echo "$w" >>"$T/sdatd.words"
done
checkf "sdatd(8) covers the signals, environment, files, readiness and endpoints" \
    "$T/sdatd.words" test ! -s "$T/sdatd.words"

# sdatctl(1): every command of `sdatctl -h` has an entry under COMMANDS that
# shows the options usage gives it; the global options and exit codes too.
"$SDATCTL" -h >"$T/ctl.usage" 2>&1
section COMMANDS "$T/sdatctl.1.txt" | grep '^       [a-z]' >"$T/ctl.entries"
awk '/^commands:/ { f = 1; next } /^[^ ]/ { f = 0 } f && /^  [a-z]/' "$T/ctl.usage" \
    >"$T/ctl.commands"
: >"$T/ctl.missing"
n_commands=0
while read -r cmd second rest; do
    case "$second" in
    *[!a-z]* | "") ;;
    *) cmd="$cmd $second" ;; # a subcommand: dlq replay, review accept
    esac
    n_commands=$((n_commands + 1))
    entry=$(grep -m 1 -E "^       $cmd( |\$)" "$T/ctl.entries")
    if [ -z "$entry" ]; then
        echo "$cmd: no entry" >>"$T/ctl.missing"
        continue
    fi
    for o in $(echo "$second $rest" | grep -oE -- '--[a-z-]+' | sort -u); do
        case "$entry" in *"$o"*) ;; *) echo "$cmd: $o not shown" >>"$T/ctl.missing" ;; esac
    done
done <"$T/ctl.commands"
check "sdatctl -h lists its commands" test "$n_commands" -ge 10
checkf "sdatctl(1) describes every command of sdatctl -h with its options" "$T/ctl.missing" \
    test ! -s "$T/ctl.missing"
head -n 1 "$T/ctl.usage" | usage_options >"$T/ctl.usage.options"
section OPTIONS "$T/sdatctl.1.txt" | page_options >"$T/ctl.page.options"
compare_options "$T/ctl.usage.options" "$T/ctl.page.options" >"$T/ctl.options.diff"
checkf "sdatctl(1) describes the global options of sdatctl -h, and no other" \
    "$T/ctl.options.diff" test -s "$T/ctl.page.options" -a ! -s "$T/ctl.options.diff"
check "sdatctl(1) describes SDAT_TOKEN" grep -q '^       SDAT_TOKEN' "$T/sdatctl.1.txt"
want=$(sed -n 's/^exit codes: //p' "$T/ctl.usage" | grep -oE '(^|, )[0-9]+' | tr -d ', ' |
    tr '\n' ' ')
codes=$(section "EXIT STATUS" "$T/sdatctl.1.txt" | sed -n 's/^       \([0-9][0-9]*\) .*/\1/p' |
    tr '\n' ' ')
check "sdatctl(1) lists the exit codes of sdatctl -h (${want% })" \
    test -n "$want" -a "$codes" = "$want"
check "sdatctl(1) has examples" test -n "$(section EXAMPLES "$T/sdatctl.1.txt")"

echo "# done"
