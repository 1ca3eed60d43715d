#!/usr/bin/env bash
# The install suite, as an admin on Debian does it: (a) `make install`/`make uninstall` with DESTDIR
# stay in the stage; (b) `make deb` + lintian; (c) `apt-get install ./…deb` enables nothing;
# (d) `a2enmod blinkauth` + README's minimal app in Debian's own apache2 answers Connect with its
# one-time start URL, which answers once (303 to the provider, with the browser's cookie);
# (e) `apt-get purge` leaves no file of ours. It changes the system, so it runs only as root when
# CI=true or BLINKAUTH_TEST_INSTALL=1, and puts everything back on exit, even after a failure.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ] || { [ "${CI:-}" != true ] && [ "${BLINKAUTH_TEST_INSTALL:-}" != 1 ]; }; then
    echo "install: skipped (needs root and CI=true or BLINKAUTH_TEST_INSTALL=1)"
    exit 0
fi
cd "$top"
export DEBIAN_FRONTEND=noninteractive
pkg=libapache2-mod-blinkauth
deb=$top/build/deb/${pkg}_$(dpkg-parsechangelog -S Version)_$(dpkg --print-architecture).deb
site=blinkauth-install-test
live=(/usr/lib/apache2/modules/mod_blinkauth.so /etc/apache2/mods-available/blinkauth.load
      /etc/apache2/mods-available/blinkauth.conf)
apt=(apt-get -y -q -o DPkg::Lock::Timeout=300)
tmp=$(mktemp -d)
stage=$tmp/stage
pass=0 fail=0

# Records one check's outcome: check <name> <condition> [<command whose output explains a failure>].
check() {
    if eval "$2"; then pass=$((pass + 1)); echo "ok   $1"; return; fi
    fail=$((fail + 1)); echo "FAIL $1"
    [ -z "${3:-}" ] || eval "$3" 2>&1 | tail -n 30 | sed 's/^/     /'
}

# True when any of the live make-install paths exists.
any_live() {
    local f
    for f in "${live[@]}"; do [ -e "$f" ] && return 0; done
    return 1
}

# Prints a loopback port nothing listens on, from 8090 up.
free_port() {
    local p
    for p in $(seq 8090 8190); do
        (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { echo "$p"; return; }
    done
}

# Prints what this suite may change: apache2's config and state, modules, policy-rc.d, our package.
snapshot() {
    find /etc/apache2 /var/lib/apache2 /usr/lib/apache2/modules /usr/sbin/policy-rc.d 2>/dev/null | sort
    dpkg-query -W -f='${db:Status-Abbrev}\n' "$pkg" 2>/dev/null
}

# True while the apache2 that apache2ctl started runs.
apache_running() {
    local pid
    pid=$(cat /var/run/apache2/apache2.pid 2>/dev/null) && [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# Stops Debian's apache2 (apache2ctl) and waits until it is gone.
apache_stop() {
    local i
    apache_running || return 0
    apache2ctl stop >/dev/null 2>&1
    for i in $(seq 50); do apache_running || return 0; sleep 0.2; done
    return 1
}

# Puts the system back as it was before the suite (idempotent: also the EXIT trap).
restore() {
    apache_stop
    a2dissite -q -f -p "$site" >/dev/null 2>&1
    rm -f "/etc/apache2/sites-available/$site.conf"
    if dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^[a-z][^n]'; then
        "${apt[@]}" purge "$pkg" >>"$tmp/apt.log" 2>&1
    fi
    a2dismod -q -f -p blinkauth >/dev/null 2>&1
    [ "$shmcb_was_enabled" = yes ] || a2dismod -q -f -p socache_shmcb >/dev/null 2>&1
    [ -n "$own_policy" ] && rm -f /usr/sbin/policy-rc.d && own_policy=""
    local d   # the a2enmod/a2dismod state directories that did not exist before, once empty
    for d in $(find /var/lib/apache2 -mindepth 2 -maxdepth 2 -type d); do
        grep -qxF "$d" <<<"$state_dirs" || rmdir "$d" 2>/dev/null
    done
    return 0
}

# Removes the temporary directory after restoring the system.
on_exit() {
    restore
    rm -rf "$tmp"
}

# --- preconditions: a system without mod_blinkauth, with Debian's apache2 stopped.
if dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^[a-z][^n]' \
    || any_live || apache_running; then
    echo "FAIL preconditions: $pkg installed, a live make install, or apache2 running: remove/stop them first"
    echo "install: 0 passed, 1 failed"
    rm -rf "$tmp"
    exit 1
fi
shmcb_was_enabled=no
a2query -q -m socache_shmcb && shmcb_was_enabled=yes
own_policy=""
state_dirs=$(find /var/lib/apache2 -mindepth 2 -maxdepth 2 -type d)
before=$(snapshot)
trap on_exit EXIT
trap "exit 130" INT TERM   # so that the EXIT trap restores the system on Ctrl-C or kill too
if [ ! -e /usr/sbin/policy-rc.d ]; then   # keeps apt from starting or restarting apache2 itself
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=yes
fi

# --- (a) make install / make uninstall with DESTDIR
touch "$tmp/mark"
make --no-print-directory install DESTDIR="$stage" >"$tmp/make.log" 2>&1
staged=$(cd "$stage" 2>/dev/null && find . -type f | sort | tr '\n' ' ')
check "make install DESTDIR stages the .so, blinkauth.load and blinkauth.conf (no .la)" \
    '[ "$staged" = "./etc/apache2/mods-available/blinkauth.conf ./etc/apache2/mods-available/blinkauth.load ./usr/lib/apache2/modules/mod_blinkauth.so " ]'
check "make install DESTDIR touches nothing live" \
    '! any_live && [ -z "$(find /etc/apache2 /usr/lib/apache2 -newer "$tmp/mark")" ]'
mkdir -p "$stage/etc/apache2/mods-enabled"
ln -s ../mods-available/blinkauth.load "$stage/etc/apache2/mods-enabled/blinkauth.load"
check "make uninstall refuses while mods-enabled/blinkauth.load exists" \
    '! make --no-print-directory uninstall DESTDIR="$stage" >"$tmp/make.log" 2>&1 && grep -q "a2dismod blinkauth" "$tmp/make.log"'
rm "$stage/etc/apache2/mods-enabled/blinkauth.load"
make --no-print-directory uninstall DESTDIR="$stage" >"$tmp/make.log" 2>&1
check "make uninstall DESTDIR removes the staged files" '[ -z "$(find "$stage" -type f)" ]'

# --- (b) make deb, lintian
make --no-print-directory deb >"$tmp/deb.log" 2>&1
check "make deb builds ${deb#"$top"/}" '[ -f "$deb" ]' 'cat "$tmp/deb.log"'
lintian --fail-on error "$deb" >"$tmp/lintian.log" 2>&1; lintian_rc=$?
grep -v "running with root privileges" "$tmp/lintian.log" | sed 's/^/     lintian: /'
check "lintian: no errors" '[ $lintian_rc -eq 0 ]'

# --- (c) apt-get install ./…deb enables nothing
"${apt[@]}" install "$deb" >"$tmp/apt.log" 2>&1
check "apt-get install ./…deb" 'dpkg-query -W -f="\${Status}" "$pkg" 2>/dev/null | grep -q "install ok installed"' \
    'cat "$tmp/apt.log"'
check "installing enables nothing (no mods-enabled/blinkauth.load)" \
    '[ ! -e /etc/apache2/mods-enabled/blinkauth.load ] && ! a2query -q -m blinkauth'
files=$(dpkg -L "$pkg" 2>/dev/null)

# --- (d) a2enmod blinkauth, README's minimal app (its <Location>, word for word, with the secret files it names
# made here) in a vhost on a free loopback port, then Connect and its start URL
port=${BLINKAUTH_INSTALL_PORT:-$(free_port)}
app=$(sed -n '/^```apache$/,/^```$/p' "$top/README.md" | sed -n '/<Location "\/blink">/,/<\/Location>/p' | head -40)
mkdir -p "$tmp/secrets"
printf 's3cret\n' >"$tmp/secrets/blink-proxy-secret"
printf 'app-token\n' >"$tmp/secrets/blink-api-token"
printf 'client-secret\n' >"$tmp/secrets/idp-client-secret"
app=$(sed "s|file:/etc/apache2/secrets/|file:$tmp/secrets/|" <<<"$app")
check "README's minimal app has a <Location \"/blink\"> with file: secrets" \
    'grep -q "BlinkAuthAuthorizeURL" <<<"$app" && grep -q "file:$tmp/secrets/blink-proxy-secret" <<<"$app"' \
    'echo "$app"'
cat >"/etc/apache2/sites-available/$site.conf" <<SITE
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    ServerName apps.example.com
    AllowEncodedSlashes NoDecode
$app
</VirtualHost>
SITE
a2enmod -q blinkauth >/dev/null
a2ensite -q "$site" >/dev/null
check "a2enmod blinkauth enables it and socache_shmcb" \
    '[ -e /etc/apache2/mods-enabled/blinkauth.load ] && [ -e /etc/apache2/mods-enabled/socache_shmcb.load ]'
check "apache2ctl configtest" 'apache2ctl configtest >"$tmp/configtest.log" 2>&1' 'cat "$tmp/configtest.log"'
apache2ctl start >"$tmp/start.log" 2>&1
for _ in $(seq 50); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.2; done
check "apache2ctl start (Debian's apache2.conf: ports.conf's port 80 too, and 127.0.0.1:$port)" \
    'apache_running' 'cat "$tmp/start.log"'
url="http://127.0.0.1:$port/blink/auth/a-1234"
out=$(curl -s -w ' %{http_code}' -XPOST -H 'blink-auth-proxysecret: s3cret' -H 'blink-auth-userid: u1' "$url")
code=${out##* } body=${out% *}
# The authorization_url is the app's one-time start URL, at the origin of BlinkAuthRedirectURI.
handle=$(sed -n 's|^.*"authorization_url":"https://apps\.example\.com/blink/start/\([A-Za-z0-9_-]\{43,\}\)".*$|\1|p' <<<"$body")
check "Connect: 200 with an authorization_url at the one-time start URL (https://apps.example.com/blink/start/<handle>)" \
    '[ "$code" = 200 ] && [ -n "$handle" ]' 'echo "got: $out"'
# The browser opens it (here through the local server, as apps.example.com): 303 to the authorize
# endpoint, and the cookie that binds the connect to this browser.
start="http://127.0.0.1:$port/blink/start/$handle"
head1=$(curl -s -D - -o /dev/null -H 'Host: apps.example.com' "$start" | tr -d '\r')
location=$(sed -n 's/^[Ll]ocation: //p' <<<"$head1")
cookies=$(grep -ci '^set-cookie:' <<<"$head1")
cookie=$(sed -n 's/^[Ss]et-[Cc]ookie: //p' <<<"$head1" | head -1)
attrs=";$(cut -s -d';' -f2- <<<"$cookie" | tr -d ' ');" attrs=${attrs,,}
state=$(sed -n 's/^.*[?&]state=\([^&]*\).*$/\1/p' <<<"$location")
check "the start URL (GET, Host: apps.example.com): 303 See Other to the authorize endpoint" \
    '[[ $(head -1 <<<"$head1") == "HTTP/1.1 303 "* ]] && [[ $location == "https://idp.example/oauth/authorize?response_type=code&client_id=my-client&"* ]] && [ -n "$state" ]' \
    'echo "$head1"'
check "... with one Set-Cookie: __Host-blinkauth-<16 characters of the state's SHA-256> (the origin is https)" \
    '[ "$cookies" = 1 ] && [[ $cookie =~ ^__Host-blinkauth-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}\; ]] && [ "${cookie%%=*}" = "__Host-blinkauth-$(printf %s "$state" | openssl dgst -sha256 -binary | base64 | tr "+/" "-_" | cut -c1-16)" ]' \
    'echo "$head1"'
check "... Secure, HttpOnly, SameSite=Lax, Path=/, no Domain" \
    '[[ $attrs == *";secure;"* && $attrs == *";httponly;"* && $attrs == *";samesite=lax;"* && $attrs == *";path=/;"* && $attrs != *";domain="* ]]' \
    'echo "Set-Cookie: $cookie"'
second=$(curl -s -w ' %{http_code}' -H 'Host: apps.example.com' "$start")
check "the same start URL again: 400, \"This link was already used\"" \
    '[ "${second##* }" = 400 ] && grep -q "<title>This link was already used</title>" <<<"$second"' \
    'echo "got: $second"'
check "Connect with a wrong secret: 401" \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" -XPOST -H "blink-auth-proxysecret: x" -H "blink-auth-userid: u1" "$url")" = 401 ]'

# --- (e) stop, apt-get purge: nothing of ours is left
check "apache2ctl stop" 'apache_stop'
"${apt[@]}" purge "$pkg" >"$tmp/apt.log" 2>&1
check "apt-get purge $pkg" '! dpkg -s "$pkg" >/dev/null 2>&1' 'cat "$tmp/apt.log"'
left=""
while IFS= read -r f; do
    [ -n "$f" ] && [ "$f" != /. ] || continue
    if [ -d "$f" ]; then dpkg-query -S "$f" >/dev/null 2>&1 || left+=" $f"   # only shared dirs stay
    elif [ -e "$f" ] || [ -L "$f" ]; then left+=" $f"; fi
done <<<"$files"
check "purge leaves none of the package's $(grep -c . <<<"$files") paths (shared directories aside)" \
    '[ -n "$files" ] && [ -z "$left" ]' 'echo "left:$left"'
check "purge removes mods-enabled/blinkauth.load and the a2enmod state" \
    '[ -z "$(ls -d /etc/apache2/mods-enabled/blinkauth.* /var/lib/apache2/module/*/blinkauth 2>/dev/null)" ]'

# --- the system is as before
restore
after=$(snapshot)
check "the system is as before the suite" '[ "$before" = "$after" ]' \
    'diff <(echo "$before") <(echo "$after")'
echo "install: $pass passed, $fail failed"
[ $fail -eq 0 ]
