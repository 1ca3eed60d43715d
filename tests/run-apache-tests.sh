#!/usr/bin/env bash
# The Apache::Test suite: the module as built, loaded into Debian's httpd, against the fakes.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
. "$top/tests/lib/fakes.sh"
. "$top/tests/lib/runtime.sh"
# What httpd's children read (the document root, the test CA) lives where they can reach it.
run=$(runtime_dir apache)
fakes_start "$run/fakes"

cd "$top/tests"
# Under a <Directory> that denies all (extra.conf.in): the module's routes must not see it.
mkdir -p "$run/htdocs/walled/auth"
user_args=()
if [ "$(id -u)" = 0 ]; then
    # httpd drops to www-data; t/logs is written by the parent, and by the children only through it.
    user_args=(-user www-data -group www-data)
    mkdir -p t/logs && chown -R www-data:www-data t/logs
fi
rc=0
perl t/TEST.PL -apxs "$(command -v apxs)" -httpd /usr/sbin/apache2 -httpd_conf "$top/tests/t/conf/base.conf" \
    -documentroot "$run/htdocs" "${user_args[@]}" "$@" || rc=$?
perl t/TEST.PL -stop >/dev/null 2>&1 || true
exit $rc
