#!/usr/bin/env bash
# make test-asan (and make test's asan suite): the module built with AddressSanitizer + UndefinedBehavior-
# Sanitizer (gcc's runtimes), loaded into Debian's httpd, under the whole Apache::Test suite.
#
# The build happens in a copy of the tree, build/asan/tree/, so .libs/mod_blinkauth.so of the normal build
# is never touched; the suite runs there too (its generated config points at that copy's .libs/).
# httpd is started through build/asan/apache2, which preloads libasan and libubsan (an uninstrumented
# httpd cannot dlopen an ASan module otherwise). ASan reports go to tests/t/logs/asan.<pid> in the copy;
# UBSan's (gcc's libubsan ignores log_path next to ASan) to httpd's stderr, which is tests/t/logs/error_log.
# The first report stops that process (halt_on_error) and any report fails the suite.
# Leak detection is on: each httpd process's exit (the children's at shutdown included) runs LeakSanitizer,
# with tests/asan/lsan.supp for httpd's own start-up leak; a leak report is a file like any other (its exit
# code is left alone, so httpd's shutdown is not disturbed). A leak planted in the callback route showed up.
#
# Ends with "asan: N passed, N failed", counting the Apache::Test tests (+1 failure per sanitizer report).
# APACHE_TEST_PORT defaults to 8702 so it can run beside the normal suite.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
export APACHE_TEST_PORT=${APACHE_TEST_PORT:-8702}
out=$top/build/asan
tree=$out/tree
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"

fail_early() {
    echo "asan: $1"
    echo "asan: 0 passed, 1 failed"
    exit 1
}

# 1. A fresh copy of the sources (not the build outputs, logs or generated test config), then the build.
rm -rf "$tree"
mkdir -p "$tree"
tar -C "$top" --exclude=./build --exclude=./.git --exclude=./.libs --exclude='*.lo' --exclude='*.slo' \
    --exclude='*.la' --exclude='*.o' --exclude=./tests/t/logs --exclude=./tests/out --exclude=node_modules \
    --exclude=./tests/t/conf/extra.conf --exclude=./tests/t/conf/httpd.conf \
    --exclude=./tests/t/conf/apache_test_config.pm --exclude=./tests/t/TEST -cf - . | tar -C "$tree" -xf - \
    || fail_early "could not copy the tree to $tree"
echo "asan: building the module with $san in ${tree#"$top"/}"
make -C "$tree" --no-print-directory EXTRA_CFLAGS="$san -g -O1" EXTRA_LDFLAGS="-fsanitize=address,undefined" \
    || fail_early "the sanitizer build failed"
module=$tree/.libs/mod_blinkauth.so
libasan=$(ldd "$module" | awk '/libasan\.so/ {print $3}')
libubsan=$(ldd "$module" | awk '/libubsan\.so/ {print $3}')
[ -n "$libasan" ] && [ -n "$libubsan" ] || fail_early "$module is not linked with libasan and libubsan"
nm -D "$module" | grep __asan_report >/dev/null || fail_early "$module has no ASan instrumentation"

# 2. httpd with the runtimes preloaded; the options travel with it (not into perl or the fakes).
logs=$tree/tests/t/logs
mkdir -p "$logs"
# The children write the sanitizers' reports, so those go where they can reach (tests/lib/runtime.sh).
. "$top/tests/lib/runtime.sh"
reports_dir=$(runtime_dir asan-reports)
cp "$top/tests/asan/lsan.supp" "$reports_dir/lsan.supp"   # read by each child as it exits
[ "$(id -u)" = 0 ] && chown www-data:www-data "$reports_dir"
cat >"$out/apache2" <<WRAP
#!/bin/sh
# Debian's httpd with the ASan and UBSan runtimes the ASan build of mod_blinkauth needs (tests/asan/run.sh).
export LD_PRELOAD="$libasan $libubsan\${LD_PRELOAD:+ \$LD_PRELOAD}"
export LSAN_OPTIONS="exitcode=0:suppressions=$reports_dir/lsan.supp:print_suppressions=0"
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:detect_stack_use_after_return=1:strict_string_checks=1:check_initialization_order=1:log_path=$reports_dir/asan"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
exec /usr/sbin/apache2 "\$@"
WRAP
chmod 755 "$out/apache2"
"$out/apache2" -v >/dev/null 2>&1 || fail_early "httpd does not start with the sanitizer runtimes preloaded"
rm -f "$reports_dir"/asan.*

# 3. The whole Apache::Test suite, exactly as tests/run-apache-tests.sh runs it, with that httpd.
echo "asan: the Apache::Test suite against httpd with the ASan/UBSan module (port $APACHE_TEST_PORT)"
log=$out/suite.log
start=$(date +%s)
# The harness summary is indented and reworded, so make test's counters read only this script's last line.
"$tree/tests/run-apache-tests.sh" -httpd "$out/apache2" 2>&1 | tee "$log" |
    sed -e 's/^/  /' -e 's|\([0-9]\)/\([0-9]*\) subtests failed|\1 of \2 subtests failed|'
rc=${PIPESTATUS[0]}
secs=$(( $(date +%s) - start ))

# Counts: tests run, those that failed, and those a dying test file planned but never ran.
tests=$(sed -n 's/^Files=[0-9]*, Tests=\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/.* \([0-9]*\)\/[0-9]* subtests failed\./\1/p' "$log" | tail -1)
failed=${failed:-0}
pass=$(( ${tests:-0} - failed ))
unrun=$(sed -n 's/.*You planned \([0-9]*\) tests but ran \([0-9]*\)\./\1 \2/p' "$log" | awk '{n += $1 - $2} END {print n + 0}')
failed=$((failed + unrun))
# Sanitizer reports: ASan's files, and UBSan's or any stray ASan report in the error log.
reports=0
for f in $(ls "$reports_dir"/asan.* 2>/dev/null); do
    reports=$((reports + 1))
    echo "asan: sanitizer report ${f#"$top"/}:"
    grep -E 'ERROR|SUMMARY|^ +#[0-9] ' "$f" | head -14 | sed 's/^/    /'
done
inlog=$(grep -cE 'runtime error:|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: (Address|UndefinedBehavior)Sanitizer' \
    "$logs/error_log" 2>/dev/null)
if [ "${inlog:-0}" -gt 0 ]; then
    reports=$((reports + inlog))
    echo "asan: sanitizer report(s) in ${logs#"$top"/}/error_log:"
    grep -E -A12 'runtime error:|ERROR: AddressSanitizer' "$logs/error_log" | head -30 | sed 's/^/    /'
fi
grep -q 'blinkauth' "$logs/error_log" 2>/dev/null || { echo "asan: the module never logged: was it loaded?"; failed=$((failed + 1)); }
if [ -z "$tests" ]; then
    echo "asan: the suite did not run to the end (exit $rc)"
    tests=0 failed=$((failed + 1))
elif [ "$rc" -ne 0 ] && [ "$failed" -eq 0 ] && [ "$reports" -eq 0 ]; then
    failed=1
fi
echo "asan: suite ran in ${secs}s, $reports sanitizer report(s)"
echo "asan: $pass passed, $((failed + reports)) failed"
[ "$rc" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$reports" -eq 0 ]
