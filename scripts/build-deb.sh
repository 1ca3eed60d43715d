#!/usr/bin/env bash
# make deb: builds build/deb/libapache2-mod-blinkauth_<version>_<arch>.deb with dpkg-buildpackage
# and debhelper (debian/). It builds in a copy of the tree, build/deb/src, because
# dpkg-buildpackage writes into debian/ and puts the .deb in the parent directory.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=build/deb
src=$out/src

# Prints the files of the tree to package, NUL-separated: what git knows or would add.
tree_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
            [ -e "$f" ] && printf '%s\0' "$f"   # skips files deleted but not yet committed
        done
    else
        find . -path ./.git -prune -o -path ./build -prune -o -path ./.libs -prune -o \
            -path '*/node_modules' -prune -o -path ./tests/out -prune -o -path ./debian/.debhelper -prune -o \
            -type f ! -name '*.o' ! -name '*.lo' ! -name '*.slo' ! -name '*.la' ! -name '*.so' -printf '%P\0'
    fi
}

for tool in dpkg-buildpackage dpkg-parsechangelog dh dh_apache2; do
    command -v "$tool" >/dev/null || { echo "deb: $tool missing: make deps (dpkg-dev, debhelper, apache2-dev)"; exit 1; }
done
version=$(sed -n 's/^#define BLINKAUTH_VERSION "\(.*\)"$/\1/p' modules/version.h)
debversion=$(dpkg-parsechangelog -S Version)
if [ "${debversion%-*}" != "$version" ]; then
    echo "deb: debian/changelog is at $debversion, modules/version.h at $version: add a changelog entry (dch -v $version-1, from devscripts)"
    exit 1
fi
deb=$out/libapache2-mod-blinkauth_${debversion}_$(dpkg --print-architecture).deb

rm -rf "$out"
mkdir -p "$src"
tree_files | tar -cf - --null --no-recursion -T - | tar -xf - -C "$src"
echo "deb: dpkg-buildpackage -us -uc -b in $src (log: $out/build.log)"
# noddebs: one package, no -dbgsym .deb next to it. The package build ignores the calling make's flags.
unset MAKEFLAGS MFLAGS MAKELEVEL
if ! (cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:+$DEB_BUILD_OPTIONS }noddebs" \
        dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1; then
    tail -n 40 "$out/build.log"
    echo "deb: dpkg-buildpackage failed; the copy is kept in $src"
    exit 1
fi
rm -rf "$src"
[ -f "$deb" ] || { echo "deb: $deb was not built (see $out/build.log)"; exit 1; }
echo "deb: $deb"
