#!/usr/bin/env bash
# Configurations httpd must refuse (apache2 -t), each with the message an operator needs,
# and a few it must accept. One case a line in the table at the bottom.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
module="$top/.libs/mod_blinkauth.so"
pass=0 fail=0
export BLINK_TEST_SECRET=from-the-environment
: >"$work/empty-secret"
printf 'from-a-file\n' >"$work/secret"
ln -s /usr/lib/apache2/modules "$work/modules"

# The directives of one complete app; a case edits them with sed expressions.
app() {
    cat <<APP
<Location "/blink">
    SetHandler blinkauth
    BlinkAuthID            a-1234
    BlinkAuthProxySecret   "s3cret"
    BlinkAuthAPIToken      file:$work/secret
    BlinkAuthClientID      my-client
    BlinkAuthAuthorizeURL  https://idp.example/oauth/authorize
    BlinkAuthTokenURL      https://idp.example/oauth/token
</Location>
APP
}

# Writes a whole httpd configuration: the base, then the given body (which may load the module itself).
# ServerRoot has httpd's usual modules/ folder, so "LoadModule x modules/mod_x.so" works as on a stock layout.
config() {
    cat <<BASE
ServerRoot "$work"
ServerName localhost
PidFile "$work/httpd.pid"
ErrorLog "$work/error_log"
Listen 127.0.0.1:1
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
BASE
    grep -q "LoadModule  *blinkauth_module" <<<"$1" || echo "LoadModule blinkauth_module \"$module\""
    printf '%s\n' "$1"
}

# Runs apache2 -t on body; expects "ok" or "fail" and, for fail, a message matching a regex.
check() {
    local name=$1 want=$2 regex=$3 body=$4 out rc
    config "$body" >"$work/httpd.conf"
    out=$(/usr/sbin/apache2 -t -f "$work/httpd.conf" 2>&1); rc=$?
    if [ "$want" = ok ] && [ $rc -eq 0 ] && grep -q "Syntax OK" <<<"$out"; then
        pass=$((pass + 1)); echo "ok   $name"
    elif [ "$want" = fail ] && [ $rc -ne 0 ] && grep -Eq -- "$regex" <<<"$out"; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name (rc=$rc, wanted $want /$regex/):"; sed 's/^/     /' <<<"$out"
    fi
}

# One app with sed expression(s) applied to its directives.
app_with() { app | sed -e "$1"; }

line='line [0-9]+ of .*httpd.conf'
check "complete app" ok '' "$(app)"
check "secrets from file: and \${VAR}" ok '' "$(app_with 's|"s3cret"|${BLINK_TEST_SECRET}|')"
check "missing BlinkAuthTokenURL" fail "lacks BlinkAuthTokenURL.*httpd.conf:[0-9]+|httpd.conf:[0-9]+.*lacks BlinkAuthTokenURL" \
    "$(app_with '/BlinkAuthTokenURL/d')"
check "missing BlinkAuthID" fail "<Location \/blink> \(BlinkAuth directives at .*httpd.conf:[0-9]+\) lacks BlinkAuthID" "$(app_with '/BlinkAuthID /d')"
check "missing BlinkAuthProxySecret" fail "lacks BlinkAuthProxySecret" "$(app_with '/BlinkAuthProxySecret/d')"
check "ftp:// authorize URL" fail "BlinkAuthAuthorizeURL: 'ftp://x/a' is not an absolute http.*|$line" \
    "$(app_with 's|https://idp.example/oauth/authorize|ftp://x/a|')"
check "relative token URL" fail "BlinkAuthTokenURL: '/token' is not an absolute" "$(app_with 's|https://idp.example/oauth/token|/token|')"
check "URL without host" fail "has no host" "$(app_with 's|https://idp.example/oauth/token|https:///token|')"
check "redirect URI with a fragment" fail "BlinkAuthRedirectURI: .*#fragment" \
    "$(app_with 's|</Location>|BlinkAuthRedirectURI https://a.example/cb#x\n</Location>|')"
check "state timeout 0" fail "BlinkAuthStateTimeout: '0' is not a whole number of seconds from 1 to 86400" \
    "$(app_with 's|</Location>|BlinkAuthStateTimeout 0\n</Location>|')"
check "timeout 301" fail "BlinkAuthTimeout: '301' is not a whole number of seconds from 1 to 300" \
    "$(app_with 's|</Location>|BlinkAuthTimeout 301\n</Location>|')"
check "timeout abc" fail "BlinkAuthTimeout: 'abc'" "$(app_with 's|</Location>|BlinkAuthTimeout abc\n</Location>|')"
check "unreadable secret file" fail "BlinkAuthProxySecret: cannot read secret file '/nonexistent/x'" \
    "$(app_with 's|"s3cret"|file:/nonexistent/x|')"
check "empty secret file" fail "BlinkAuthClientSecret: secret file .* is empty" \
    "$(app_with "s|</Location>|BlinkAuthClientSecret file:$work/empty-secret\n</Location>|")"
check "Auth ID with a slash" fail "BlinkAuthID: 'a/b' is not an Auth ID" "$(app_with 's|a-1234|a/b|')"
check "CA file missing" fail "BlinkAuthCAFile: '/nonexistent.pem' is not a readable file" \
    "$(app_with 's|</Location>|BlinkAuthCAFile /nonexistent.pem\n</Location>|')"
check "unknown cache provider" fail "BlinkAuthCache: no socache provider 'nosuch': load mod_socache_nosuch" \
    "BlinkAuthCache nosuch
$(app)"
check "cache inside a Location" fail "BlinkAuthCache not allowed in <Location> context" \
    "$(app_with 's|</Location>|BlinkAuthCache shmcb\n</Location>|')"
check "shared values outside, app inside" ok '' "<Location /apps>
    BlinkAuthProxySecret s
    BlinkAuthAPIToken t
    BlinkAuthClientID c
    BlinkAuthAuthorizeURL https://idp.example/a
    BlinkAuthTokenURL https://idp.example/t
</Location>
<Location /apps/one>
    SetHandler blinkauth
    BlinkAuthID one
</Location>"
check "second app incomplete" fail "<Location /other> .*lacks BlinkAuthClientID" "$(app)
<Location /other>
    SetHandler blinkauth
    BlinkAuthID b-1
    BlinkAuthProxySecret x
    BlinkAuthAPIToken y
</Location>"

# The reference configuration documents every directive the module has, and so does the README.
for d in $(grep -o 'AP_INIT_TAKE1("[A-Za-z]*"' "$top/glue/cmds.c" | cut -d'"' -f2); do
    for doc in conf/blinkauth.conf README.md; do
        if grep -q "$d" "$top/$doc"; then
            pass=$((pass + 1))
        else
            fail=$((fail + 1)); echo "FAIL $d is not documented in $doc"
        fi
    done
done
echo "ok   every directive documented in conf/blinkauth.conf and README.md"

# The example in conf/blinkauth.conf, uncommented, is a valid configuration.
example=$(sed -n '/^# <Location "\/blink">/,/^# <\/Location>/p' "$top/conf/blinkauth.conf" | sed 's/^# \{0,1\}//' |
          sed "s|file:/etc/apache2/secrets/[a-z-]*|file:$work/secret|")
check "the example of conf/blinkauth.conf" ok '' "$example"

# Every apache code block of README.md and docs/, as a reader would paste it (tests/config/doc_blocks.py says
# which machine-specific paths it adapts), in a real configuration with a test certificate for TLS.
"$top/tests/lib/test-ca.sh" "$work/tls" || fail=$((fail + 1))
blocks=$(python3 "$top/tests/config/doc_blocks.py" "$top" "$work/doc" "$module" "$work/tls/server.pem" \
         "$work/tls/server.key") || blocks=0
if [ "${blocks:-0}" -lt 1 ]; then
    fail=$((fail + 1)); echo "FAIL no apache code block found in README.md and docs/"
fi
for i in $(seq 1 "${blocks:-0}"); do
    check "the apache block at $(cat "$work/doc/$i.where")" ok '' "$(cat "$work/doc/$i.conf")"
done

echo "config: $pass passed, $fail failed"
[ $fail -eq 0 ]
