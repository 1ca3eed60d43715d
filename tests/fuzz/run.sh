#!/usr/bin/env bash
# make test's fuzz suite, without clang: builds each fuzz target with gcc and tests/fuzz/replay_main.c
# (AddressSanitizer + UBSan when gcc has them, and pool_shim.c so pool allocations are checked too), then
# replays every seed in tests/fuzz/corpus/<name>/ and every kept crash in tests/fuzz/regressions/<name>/,
# one process per file. Ends with "fuzz: N passed, N failed" (one per file); non-zero exit on a failure.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

cc=${REPLAY_CC:-gcc}
if echo 'int main(void) { return 0; }' | "$cc" -x c -fsanitize=address,undefined -o /dev/null - >/dev/null 2>&1; then
    san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
    dir=build/fuzz/replay-asan
    mode="$cc, AddressSanitizer + UBSan"
else
    san=""
    dir=build/fuzz/replay
    mode="$cc, no sanitizers available"
fi
targets=$(ls tests/fuzz/fuzz_*.c | sed 's|tests/fuzz/fuzz_\(.*\)\.c|\1|' | sort)
echo "fuzz: replaying seed corpora and regressions ($mode)"
if ! make --no-print-directory fuzz-replay-build REPLAY_CC="$cc" REPLAY_SAN="$san" REPLAY_DIR="$dir" \
        FUZZ_TARGETS="$(echo $targets)"; then
    echo "fuzz: 0 passed, 1 failed (the replay build failed)"
    exit 1
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
pass=0 fail=0
for t in $targets; do
    tp=0 tf=0
    for f in tests/fuzz/corpus/"$t"/* tests/fuzz/regressions/"$t"/*; do
        [ -f "$f" ] || continue
        if out=$("$dir/fuzz_$t" "$f" 2>&1); then
            tp=$((tp + 1))
        else
            tf=$((tf + 1))
            echo "FAILED: $t $f"
            echo "$out" | head -40 | sed 's/^/    /'
        fi
    done
    if [ $((tp + tf)) -eq 0 ]; then
        echo "FAILED: $t has no seed corpus in tests/fuzz/corpus/$t/"
        tf=1
    fi
    printf '  %-8s %3d files replayed, %d failed\n' "$t" $((tp + tf)) "$tf"
    pass=$((pass + tp)) fail=$((fail + tf))
done
echo "fuzz: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
