#!/usr/bin/env bash
# Checks of the source tree that no compiler makes: log tags (logtags.py), the README's map of folders (map.py),
# the fault catalogue's references to tests (faults.py), and that each checker still catches what it is for (a copy of the tree with one fault planted per case).
# Prints "lint: N passed, N failed".
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/lint"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
pass=0 fail=0

# Runs a checker; expects it to pass ("clean") or to fail with a line matching a regex.
expect() {
    local name=$1 want=$2 regex=$3 out rc
    shift 3
    out=$("$@" 2>&1); rc=$?
    if { [ "$want" = clean ] && [ $rc -eq 0 ]; } || { [ "$want" = fault ] && [ $rc -ne 0 ] && grep -Eq -- "$regex" <<<"$out"; }; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name (exit $rc, wanted $want /$regex/):"; sed 's/^/     /' <<<"$out"
    fi
}

# A copy of the parts of the tree the checkers read, with sed expression $2 applied to file $1.
planted() {
    rm -rf "$work/tree" && mkdir -p "$work/tree"
    (cd "$top" && tar -cf - mod_blinkauth.c glue routes modules README.md docs conf tests/FAULTS.md tests/t/callback) |
        tar -C "$work/tree" -xf -
    [ -n "$1" ] && sed -i -e "$2" "$work/tree/$1"
    echo "$work/tree"
}

expect "log tags of the tree" clean "" python3 "$here/logtags.py" "$top"
expect "README map of the tree" clean "" python3 "$here/map.py" "$top"
expect "fault catalogue of the tree" clean "" python3 "$here/faults.py" "$top"

expect "a tag used twice is caught" fault "tag BLA00102 is used again" \
    python3 "$here/logtags.py" "$(planted glue/guard.c 's/BLALOGNO(00103)/BLALOGNO(00102)/')"
expect "a warning without a tag is caught" fault "glue/guard.c:[0-9]+: a message at warn or above has no BLALOGNO" \
    python3 "$here/logtags.py" "$(planted glue/guard.c 's/BLALOGNO(00104) //')"
expect "a tag written out is caught" fault "BLA00105 written out" \
    python3 "$here/logtags.py" "$(planted glue/guard.c 's/BLALOGNO(00105) "/"BLA00105: /')"
expect "a route's line without the log context is caught" fault "routes/start.c:[0-9]+: ap_log_rerror without the log context" \
    python3 "$here/logtags.py" "$(planted routes/start.c 's/BLINKAUTH_RLOG(APLOG_INFO, /ap_log_rerror(APLOG_MARK, APLOG_INFO, /')"
expect "a warning without a tag through BLINKAUTH_RLOG is caught" fault "routes/start.c:[0-9]+: a message at warn or above has no BLALOGNO" \
    python3 "$here/logtags.py" "$(planted routes/start.c 's/BLALOGNO(00702) //')"
expect "a tag in the docs that no code logs is caught" fault "README.md:[0-9]+: BLA00999 is named here but no code logs it" \
    python3 "$here/logtags.py" "$(planted README.md '$a BLA00999 is gone')"
expect "a tag outside the listed ranges is caught" fault "BLA00501 is in no range" \
    python3 "$here/logtags.py" "$(planted README.md '/^| `BLA005xx`/d')"
expect "a folder missing from the README map is caught" fault "routes/ is in the repository but not in README.md's Layout" \
    python3 "$here/map.py" "$(planted README.md '/^routes\//d')"
expect "a fault row naming a missing test is caught" fault 'tests/FAULTS.md:[0-9]+: t/callback/callback.t has no test "Update refused' \
    python3 "$here/faults.py" "$(planted tests/t/callback/callback.t 's/Update refused: Blink keeps/Update refused: Blink held/')"

echo "lint: $pass passed, $fail failed"
[ $fail -eq 0 ]
