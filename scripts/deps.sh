#!/usr/bin/env bash
# Installs, from Debian's archive, whatever the build, the tests and the sandbox need and this
# machine lacks. Quiet when everything is there. Needs root (or sudo) only when it installs.
set -euo pipefail

packages=(
    # build
    gcc make pkg-config apache2-dev libjansson-dev libcurl4-openssl-dev libssl-dev
    # run and test
    apache2 check valgrind curl openssl python3 libapache2-mod-perl2 libwww-perl libjson-perl chromium
    # shared flow stores (issue 8)
    redis-server memcached
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" = 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# policy-rc.d keeps the packages' own services (apache2, redis, memcached) from starting:
# the tests start their own instances on loopback.
if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null
    $sudo chmod 755 /usr/sbin/policy-rc.d
    trap '$sudo rm -f /usr/sbin/policy-rc.d' EXIT
fi
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
