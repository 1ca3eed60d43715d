#!/usr/bin/env bash
# The end-to-end suite: oidc-provider + the fake Blink + httpd with the module as built + headless
# Chromium. Installs the npm packages from the committed lock file when needed, runs
# e2e.test.mjs, and ends every process it started. Output ends with "e2e: N passed, N failed".
# Screenshots and logs: tests/out/e2e/.  Works as root and with no network but loopback (once
# node_modules is installed; `npm ci` needs the npm registry).
# E2E_PORTS=LOW-HIGH (e.g. 8680-8699): the loopback ports httpd, the act provider and its backend listen
# on, taken in order from that range; without it, ports the system hands out. (The fake Blink, the in-process
# provider and Chromium always take one the system hands out.)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out="$top/tests/out/e2e"
mkdir -p "$out"

fail() { echo "e2e: $*" >&2; echo "e2e: 0 passed, 1 failed"; exit 1; }

command -v node >/dev/null || fail "node is missing: apt-get install nodejs npm (or run scripts/deps.sh)"
node_version=$(node --version 2>/dev/null)
node_major=${node_version#v}; node_major=${node_major%%.*}
[[ $node_major =~ ^[0-9]+$ ]] && [ "$node_major" -ge 18 ] \
    || fail "node ${node_version:-?} at $(command -v node) is too old: tests/e2e needs node >= 18 (package.json engines)"
[ -x "${CHROMIUM:-/usr/bin/chromium}" ] || fail "${CHROMIUM:-/usr/bin/chromium} is missing: apt-get install chromium (scripts/deps.sh does it); playwright-core downloads no browser here"
[ -x /usr/sbin/apache2 ] || fail "/usr/sbin/apache2 is missing: apt-get install apache2"
[ -f "$top/.libs/mod_blinkauth.so" ] || fail ".libs/mod_blinkauth.so is missing: run make first"

# npm ci when node_modules is missing or older than the lock file (npm writes its own copy of the
# lock into node_modules/.package-lock.json on every install).
cd "$here"
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "e2e: npm ci (tests/e2e/package-lock.json)"
    npm ci --prefer-offline --no-audit --no-fund --loglevel=error >"$out/npm.log" 2>&1 || { cat "$out/npm.log"; fail "npm ci failed"; }
fi

# version NAME: the installed version of an npm package of this suite.
version() { node -p "require('./node_modules/$1/package.json').version" 2>/dev/null || echo "?"; }
echo "e2e: node $node_version ($(command -v node)), npm $(npm --version 2>/dev/null), oidc-provider $(version oidc-provider)," \
     "playwright-core $(version playwright-core), $("${CHROMIUM:-/usr/bin/chromium}" --version 2>/dev/null)"

# e2e.test.mjs stops what it starts; if it dies anyway, end each process it recorded.
node_pid=""
cleanup() {
    local pid what
    trap '' PIPE    # a reader that went away (| head) must not stop the cleanup half-way
    if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
        kill -TERM "$node_pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$node_pid" 2>/dev/null
    fi
    if [ -f "$out/pids" ]; then
        while read -r pid what; do
            if kill -0 "$pid" 2>/dev/null; then
                echo "e2e: stopping leftover $what ($pid)" >&2
                kill -TERM "$pid" 2>/dev/null; sleep 0.5; kill -KILL "$pid" 2>/dev/null
            fi
        done <"$out/pids"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# In the background and waited for, so that a signal reaches the trap at once.
node e2e.test.mjs 2> >(grep -v '^oidc-provider \(WARNING\|NOTICE\)' >&2) &
node_pid=$!
wait "$node_pid"
rc=$?
node_pid=""
exit $rc
