#!/usr/bin/env bash
# The Apache::Test suite: the module as built, loaded into Debian's httpd, against the fakes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/fakes.sh"
fakes_start "$top/tests/out"

cd "$top/tests"
user_args=()
if [ "$(id -u)" = 0 ]; then
    # httpd drops to www-data; it must be able to read the tree and write t/logs.
    user_args=(-user www-data -group www-data)
    mkdir -p t/logs && chown -R www-data:www-data t/logs
fi
rc=0
perl t/TEST.PL -apxs "$(command -v apxs)" -httpd /usr/sbin/apache2 -httpd_conf "$top/tests/t/conf/base.conf" \
    "${user_args[@]}" "$@" || rc=$?
perl t/TEST.PL -stop >/dev/null 2>&1 || true
exit $rc
