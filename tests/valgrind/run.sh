#!/usr/bin/env bash
# make test's valgrind suite: every C unit test binary (tests/unit/check_*.c) under memcheck, in one
# process (CK_FORK=no, so the tests run where valgrind watches), failing on any memory error or definite
# leak. Ends with "valgrind: N passed, N failed" (one per binary); non-zero exit on a failure.
# Each binary's full valgrind output: tests/out/valgrind/<binary>.log
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

if ! command -v valgrind >/dev/null; then
    echo "valgrind: not installed (apt-get install valgrind)"
    echo "valgrind: 0 passed, 1 failed"
    exit 1
fi
bins=$(ls tests/unit/check_*.c | sed 's|tests/unit/\(.*\)\.c|build/unit/\1|')
if ! make --no-print-directory $bins >/dev/null; then
    make --no-print-directory $bins
    echo "valgrind: 0 passed, 1 failed (the unit tests did not build)"
    exit 1
fi

mkdir -p tests/out/valgrind
pass=0 fail=0
for bin in $bins; do
    name=$(basename "$bin")
    log=tests/out/valgrind/$name.log
    start=$(date +%s)
    CK_FORK=no valgrind --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=1 \
        --show-leak-kinds=definite --track-origins=yes --num-callers=30 --log-file="$log" "$bin" \
        >"$log.out" 2>&1
    rc=$?
    secs=$(( $(date +%s) - start ))
    # Check's "Checks: N, Failures: N" is reworded, so make test's counters read only the last line.
    checks=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 checks, \2 failures, \3 errors/p' \
        "$log.out" | tail -1)
    errors=$(sed -n 's/.*ERROR SUMMARY: \([0-9]*\) errors.*/\1/p' "$log" | tail -1)
    definite=$(sed -n 's/.*definitely lost: \([0-9,]*\) bytes.*/\1/p' "$log" | tail -1)
    if [ $rc -eq 0 ]; then
        pass=$((pass + 1))
        printf '  ok      %-16s %3ss  %s; valgrind: %s errors, %s bytes definitely lost\n' "$name" "$secs" \
            "${checks:-no Check summary}" "${errors:-0}" "${definite:-0}"
    else
        fail=$((fail + 1))
        printf '  FAILED  %-16s %3ss  exit %d: %s; valgrind: %s errors, %s bytes definitely lost (log %s)\n' "$name" \
            "$secs" "$rc" "${checks:-no Check summary}" "${errors:-?}" "${definite:-?}" "$log"
        grep -E ':[A-Za-z]+:[^:]*:[0-9]+:' "$log.out" | grep -v ':P:' | head -10 | sed 's/^/      /'
        grep -E 'Invalid|uninitialised|definitely lost in|Mismatched|overlap' -A8 "$log" | head -40 | sed 's/^/      /'
    fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
