#!/usr/bin/env bash
# Installs, from Debian's archive, what a profile needs and this machine lacks; quiet when
# everything is there.
#   scripts/deps.sh run     `make run`: build, httpd, python3, curl, node (the sandbox)
#   scripts/deps.sh test    `make test` (the default): everything, Chromium and the rest included
# Installs as root, or with sudo when `sudo -n` works; otherwise prints the one apt-get line an
# administrator should run and exits 1. Node comes from Debian (nodejs, 18.x on Debian 12) when
# there is none; a newer node already on PATH is used as it is.
# BLINKAUTH_DEPS_EXTRA="pkg ..." adds packages to the check (to test this script).
set -euo pipefail

profile=${1:-test}
node_major=18    # tests/e2e/package.json: "engines": {"node": ">=18"}

build=(gcc make pkg-config apache2-dev libjansson-dev libcurl4-openssl-dev libssl-dev)
run=(apache2 python3 curl iproute2)
test=(check valgrind openssl libapache2-mod-perl2 libwww-perl libjson-perl chromium
      redis-server memcached          # shared flow stores for more than one server
      prometheus wrk                  # tests/prom: promtool, a real Prometheus scraping the counters, load
      build-essential dpkg-dev debhelper lintian)   # the Debian package (debian/, make deb)
case $profile in
    run) packages=("${build[@]}" "${run[@]}") ;;
    test) packages=("${build[@]}" "${run[@]}" "${test[@]}") ;;
    *) echo "usage: $0 [run|test]" >&2; exit 2 ;;
esac
read -ra extra <<<"${BLINKAUTH_DEPS_EXTRA:-}"
packages+=("${extra[@]}")

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

# Node: Debian's nodejs and npm when there is no node; stop when the node on PATH is too old.
if ! command -v node >/dev/null; then
    echo "deps: node: none on PATH; tests/e2e and the sandbox need node >= $node_major (Debian 12's nodejs is 18.x)" >&2
    missing+=(nodejs npm)
else
    found=$(node --version 2>/dev/null || echo unknown)
    major=${found#v}; major=${major%%.*}
    if ! [[ $major =~ ^[0-9]+$ ]] || [ "$major" -lt "$node_major" ]; then
        echo "deps: node: found $found at $(command -v node); tests/e2e and the sandbox need node >= $node_major" >&2
        echo "deps: put a newer node first on PATH, or remove that one so that Debian's nodejs is installed" >&2
        exit 1
    fi
    command -v npm >/dev/null || missing+=(npm)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

# Root installs; others use sudo only when it needs no password; else ask an administrator.
sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        sudo="sudo -n"
    else
        echo "deps: missing for make $profile: ${missing[*]} (no root, no password-less sudo)" >&2
        echo "deps: ask an administrator to run: sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# policy-rc.d keeps the packages' own services (apache2, redis, memcached, prometheus on 9090) from starting:
# the tests and the sandbox start their own instances on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
if ! { $sudo apt-get update -qq && $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }; then
    echo "deps: apt-get failed; install them by hand: ${sudo:+sudo }apt-get install -y ${missing[*]}" >&2
    exit 1
fi
