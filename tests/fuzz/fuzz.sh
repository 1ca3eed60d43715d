#!/usr/bin/env bash
# make fuzz: runs each libFuzzer target named on the command line (built by mk/fuzz.mk into
# build/fuzz/libfuzzer/) for FUZZ_SECONDS on its seed corpus and kept regressions, and prints for each
# the executions run, the coverage reached and any crash (its input is kept under build/fuzz/crashes/).
# FUZZ_ARGS adds libFuzzer options (e.g. FUZZ_ARGS="-jobs=4 -workers=4"). Non-zero exit on a crash.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
secs=${FUZZ_SECONDS:-60}
mkdir -p build/fuzz/crashes build/fuzz/logs
crashed=() total=0
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
for t in "$@"; do
    bin=build/fuzz/libfuzzer/fuzz_$t
    work=build/fuzz/work/$t
    log=build/fuzz/logs/$t.log
    mkdir -p "$work"
    dict=()
    [ -f "tests/fuzz/dict/$t.dict" ] && dict=(-dict="tests/fuzz/dict/$t.dict")
    dirs=("$work" "tests/fuzz/corpus/$t")
    [ -d "tests/fuzz/regressions/$t" ] && dirs+=("tests/fuzz/regressions/$t")
    echo "=== fuzz $t: $secs s  ($bin ${dict[*]} -max_total_time=$secs ${dirs[*]})"
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
        -artifact_prefix="build/fuzz/crashes/$t-" "${dict[@]}" ${FUZZ_ARGS:-} "${dirs[@]}" >"$log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+/[^ ]+' || true)
    total=$((total + ${execs:-0}))
    if [ $rc -ne 0 ]; then
        crashed+=("$t")
        echo "fuzz $t: CRASH after ${execs:-?} executions (exit $rc); log $log"
        grep -E '^==[0-9]+==ERROR|SUMMARY|fuzz: property|runtime error|Test unit written to' "$log" | head -8 | sed 's/^/    /'
    else
        echo "fuzz $t: ${execs:-?} executions, no crash  [$cov]"
    fi
done
echo "fuzz: $total executions over $# targets, ${#crashed[@]} crashed${crashed:+: ${crashed[*]}}"
[ ${#crashed[@]} -eq 0 ]
