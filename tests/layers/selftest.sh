#!/bin/sh
# make check-layers has teeth: in a copy of the tree, each planted breach
# of the parts' rules (docs/DESIGN.md "The parts") must fail the build or
# make check-layers, naming the file (and line) of the breach; the clean
# copy must pass. Run by make check.
set -u
# Copies build in their own build/ with the default flags, whatever make
# invoked this (make check-asan passes BUILD and SANITIZE down).
unset MAKEFLAGS MFLAGS MAKELEVEL BUILD SANITIZE CFLAGS
T=$(mktemp -d /tmp/sdat-layers-XXXXXX)
trap 'rm -rf "$T"' EXIT
passed=0
failed=0
ok() { echo "ok $1"; passed=$((passed + 1)); }
notok() { echo "not ok $1"; failed=$((failed + 1)); }

# The tree as it is (with uncommitted changes), without build output.
tar -cf - --exclude=./build --exclude=./.git . | (cd "$T" && tar -xf -)
mk() {
    dir=$1
    shift
    make -C "$dir" -s -j2 --no-print-directory "$@"
}
pristine="$T/pristine"
mkdir "$pristine" && (cd "$T" && tar -cf - --exclude=./pristine . | (cd "$pristine" && tar -xf -))

if mk "$pristine" check-layers >"$T/clean.out" 2>&1; then
    ok "check-layers passes on the tree as it is"
else
    notok "check-layers passes on the tree as it is"
    sed 's/^/# /' "$T/clean.out"
fi

# plant NAME EXPECT-REGEX COMMAND: a copy of the pristine tree (sharing its
# build, so that only what the plant touches is rebuilt) is changed by
# COMMAND (run inside it); make check-layers must fail with EXPECT-REGEX.
plant() {
    name=$1 expect=$2
    shift 2
    copy="$T/$name"
    mkdir "$copy" && (cd "$pristine" && tar -cf - .) | (cd "$copy" && tar -xf -)
    (cd "$copy" && sh -c "$*")
    if mk "$copy" check-layers >"$copy.out" 2>&1; then
        notok "$name: make check-layers fails"
        return
    fi
    if grep -qE "$expect" "$copy.out"; then
        ok "$name: make check-layers fails and says so"
    else
        notok "$name: make check-layers fails and says so"
        sed 's/^/# /' "$copy.out" | tail -n 12
    fi
    rm -rf "$copy"
}

plant sqlite-in-decide \
    '^daemon/decide/route\.c:[0-9]+: includes <sqlite3\.h> \(sqlite3\), which the decide part may not use' \
    "printf '#include <sqlite3.h>\nint sdat_planted(void);\nint sdat_planted(void) { return sqlite3_threadsafe(); }\n' >>daemon/decide/route.c"

# The poison header stops the compiler too, whatever check-layers says.
copy="$T/compile"
mkdir "$copy" && (cd "$pristine" && tar -cf - .) | (cd "$copy" && tar -xf -)
printf '#include <sqlite3.h>\nint sdat_planted(void);\nint sdat_planted(void) { return sqlite3_threadsafe(); }\n' \
    >>"$copy/daemon/decide/route.c"
if mk "$copy" >"$copy.out" 2>&1; then
    notok "make fails on #include <sqlite3.h> in decide/"
elif grep -q 'may not be used in the decide part' "$copy.out"; then
    ok "make fails on #include <sqlite3.h> in decide/, naming the rule"
else
    notok "make fails on #include <sqlite3.h> in decide/, naming the rule"
    sed 's/^/# /' "$copy.out" | tail -n 12
fi
rm -rf "$copy"

plant sqlite-call-without-include \
    '^daemon/decide/route\.c: calls sqlite3_threadsafe \(sqlite3\), which the decide part may not use' \
    "printf 'int sqlite3_threadsafe(void);\nint sdat_planted(void);\nint sdat_planted(void) { return sqlite3_threadsafe(); }\n' >>daemon/decide/route.c"

plant file-io-in-decide \
    '^daemon/decide/route\.c: calls fopen: decide/ does no I/O' \
    "printf '#include <stdio.h>\nint sdat_planted(void);\nint sdat_planted(void) { return fopen(\"/x\", \"r\") != NULL; }\n' >>daemon/decide/route.c"

plant store-from-decide \
    '^daemon/decide/route\.c:[0-9]+: includes "store/store\.h", but decide may not use store' \
    "printf '#include \"store/store.h\"\n' >>daemon/decide/route.c"

plant internal-header-of-another-part \
    '^daemon/engine/jobs\.c:[0-9]+: includes "store/store_internal\.h", which is internal to store' \
    "printf '#include \"store/store_internal.h\"\n' >>daemon/engine/jobs.c"

plant connector-reaches-kafka \
    '^connectors/file/file\.c:[0-9]+: includes "kafka/kafka\.h"; a connector sees only' \
    "printf '#include \"kafka/kafka.h\"\n' >>connectors/file/file.c"

plant main-included \
    '^daemon/http/http\.c:[0-9]+: includes "main/sdatd\.h"; nothing includes main/' \
    "printf '#include \"main/sdatd.h\"\n' >>daemon/http/http.c"

plant include-cycle-in-util \
    'an include cycle: .*daemon/util/(tz|timeutil)\.h' \
    "sed -i 's|#include <stdint.h>|#include <stdint.h>\n#include \"timeutil.h\"|' daemon/util/tz.h &&
     sed -i 's|#include <stdint.h>|#include <stdint.h>\n#include \"tz.h\"|' daemon/util/timeutil.h"

echo "layers self-test: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
