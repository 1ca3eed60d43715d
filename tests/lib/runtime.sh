# Sourced by the test runners: where to keep what httpd's children read or write at run time (document root,
# CA files, sanitizer reports). As root, httpd drops to www-data, which may not search the checkout's path (a
# clone under /root, mode 700): then that place is a folder under /tmp instead of tests/out.
# Usage: . tests/lib/runtime.sh; dir=$(runtime_dir NAME)

# Prints a folder for run-time files of NAME, one that httpd's children can reach, made and emptied.
runtime_dir() {
    local name=$1 top base
    top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    base="$top/tests/out"
    mkdir -p "$base"
    if [ "$(id -u)" = 0 ] && ! runuser -u www-data -- test -x "$base" 2>/dev/null; then
        base="${TMPDIR:-/tmp}/blinkauth-tests-$(id -u)"
        echo "note: www-data cannot reach $top; files httpd's children read go to $base/$name" >&2
    fi
    rm -rf "${base:?}/$name"
    mkdir -p "$base/$name"
    chmod 755 "$base" "$base/$name"
    echo "$base/$name"
}
