#!/usr/bin/env bash
# The sandbox suite: `make run` (scripts/run-sandbox.sh) started as a person starts it and clicked
# through in headless Chromium by sandbox.test.mjs, then stopped with Ctrl-C (SIGINT). Uses the npm
# packages of tests/e2e (installed from its lock file when missing). Ports: SANDBOX_TEST_PORT
# (default 18080) and the next two. Output ends with "sandbox: N passed, N failed"; logs and a
# screenshot: tests/out/sandbox/.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)

fail() { echo "sandbox: $*" >&2; echo "sandbox: 0 passed, 1 failed"; exit 1; }

command -v node >/dev/null || fail "node is missing: apt-get install nodejs npm (or run scripts/deps.sh)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "${CHROMIUM:-/usr/bin/chromium} is missing: apt-get install chromium (scripts/deps.sh does it)"
[ -f "$top/.libs/mod_blinkauth.so" ] || fail ".libs/mod_blinkauth.so is missing: run make first"
if [ ! -f "$top/tests/e2e/node_modules/.package-lock.json" ]; then
    echo "sandbox: npm ci (tests/e2e/package-lock.json)"
    (cd "$top/tests/e2e" && npm ci --prefer-offline --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
fi

# In the background and waited for, so that a signal reaches the trap at once; the test stops the
# sandbox itself, and the sandbox script stops what it started.
node "$top/tests/sandbox/sandbox.test.mjs" &
node_pid=$!
trap 'kill -INT "$node_pid" 2>/dev/null' INT TERM HUP
wait "$node_pid"
