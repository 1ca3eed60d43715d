#!/usr/bin/env bash
# make test: every suite, in order; a summary line per suite and a total at the end.
# Exits non-zero when any suite fails. Logs of each suite: tests/out/<suite>.log
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p tests/out
total_pass=0 total_fail=0 failed_suites=()

# Counts "passed failed" in a suite's log: its own "name: N passed, N failed" line when it prints
# one (it may wrap another runner), else whatever runner printed it.
count() {
    local log=$1 p=0 f=0 line own
    own=$(grep -E '^[a-z0-9-]+: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
    if [ -n "$own" ]; then
        read -r p f < <(sed -E 's/^[a-z0-9-]+: ([0-9]+) passed, ([0-9]+) failed.*/\1 \2/' <<<"$own")
        echo "$p $f"
        return
    fi
    while read -r line; do
        if [[ $line =~ Checks:\ ([0-9]+),\ Failures:\ ([0-9]+),\ Errors:\ ([0-9]+) ]]; then
            p=$((p + BASH_REMATCH[1] - BASH_REMATCH[2] - BASH_REMATCH[3])); f=$((f + BASH_REMATCH[2] + BASH_REMATCH[3]))
        elif [[ $line =~ ^Files=[0-9]+,\ Tests=([0-9]+) ]]; then
            p=$((p + BASH_REMATCH[1]))
        elif [[ $line =~ ([0-9]+)/[0-9]+\ subtests\ failed ]]; then
            p=$((p - BASH_REMATCH[1])); f=$((f + BASH_REMATCH[1]))
        fi
    done <"$log"
    echo "$p $f"
}

# Runs one suite, showing its output, and adds up its counts.
suite() {
    local name=$1; shift
    local log="tests/out/$name.log" rc p f
    echo "=== $name: $*"
    "$@" 2>&1 | tee "$log"; rc=${PIPESTATUS[0]}
    read -r p f < <(count "$log")
    [ $rc -ne 0 ] && [ "$f" -eq 0 ] && f=1   # a suite that died without counting still fails
    total_pass=$((total_pass + p)); total_fail=$((total_fail + f))
    [ $rc -ne 0 ] && failed_suites+=("$name")
    echo "=== $name: $p passed, $f failed (exit $rc)"
}

suite lint tests/lint/run.sh
suite unit make --no-print-directory test-unit
suite config tests/config/run.sh
suite apache tests/run-apache-tests.sh
# Further suites, each a tests/<name>/run.sh that prints "<name>: N passed, N failed".
for extra in tests/install/run.sh tests/fuzz/run.sh tests/valgrind/run.sh tests/asan/run.sh tests/tokencache/run.sh tests/multi/run.sh tests/prom/run.sh tests/sandbox/run.sh tests/e2e/run.sh; do
    [ -x "$extra" ] && suite "$(basename "$(dirname "$extra")")" "$extra"
done

echo
[ ${#failed_suites[@]} -gt 0 ] && echo "failed suites: ${failed_suites[*]}"
echo "total: $total_pass passed, $total_fail failed"
[ ${#failed_suites[@]} -eq 0 ] && [ $total_fail -eq 0 ]
