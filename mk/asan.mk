# Sanitizers: make test-asan builds mod_blinkauth with AddressSanitizer + UBSan in a copy of the
# tree (build/asan/tree/, leaving .libs/ alone) and runs the whole Apache::Test suite against Debian's
# httpd with it loaded (libasan and libubsan preloaded by build/asan/apache2). Fails on any test failure
# or sanitizer report. APACHE_TEST_PORT defaults to 8702 there. See tests/asan/run.sh.
.PHONY: test-asan test-valgrind

test-asan:
	@tests/asan/run.sh

# The C unit tests under valgrind (memcheck, no definite leaks). See tests/valgrind/run.sh.
test-valgrind:
	@tests/valgrind/run.sh
