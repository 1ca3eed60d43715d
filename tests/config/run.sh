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
printf 'a-state-key-of-more-than-32-characters-0123456789\n' >"$work/state-key"
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
LoadModule authz_host_module /usr/lib/apache2/modules/mod_authz_host.so
LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so
LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so
LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule ssl_module /usr/lib/apache2/modules/mod_ssl.so
BASE
    grep -q "LoadModule  *blinkauth_module" <<<"$1" || echo "LoadModule blinkauth_module \"$module\""
    printf '%s\n' "$1"
}

# Runs apache2 -t on body; expects "ok" (and no start-up warning of ours), "warn" (starts, with a warning matching
# a regex: at -t httpd writes start-up messages to stderr, where the error log would have them) or "fail" (with a
# message matching a regex).
check() {
    local name=$1 want=$2 regex=$3 body=$4 out rc
    config "$body" >"$work/httpd.conf"
    out=$(/usr/sbin/apache2 -t -f "$work/httpd.conf" 2>&1); rc=$?
    if [ "$want" = ok ] && [ $rc -eq 0 ] && grep -q "Syntax OK" <<<"$out" && ! grep -q "BLA000" <<<"$out"; then
        pass=$((pass + 1)); echo "ok   $name"
    elif [ "$want" = warn ] && [ $rc -eq 0 ] && grep -q "Syntax OK" <<<"$out" && grep -Eq -- "$regex" <<<"$out"; then
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

# --- Mistakes that used to pass silently: each fails with file:line and the fix, or warns where it may be meant.
check "SetHandler blinkauth in <LocationMatch>" fail "SetHandler blinkauth at .*httpd.conf:[0-9]+ is in <LocationMatch \"\^/blink\">: use <Location" \
    "$(app_with 's|<Location "/blink">|<LocationMatch "^/blink">|; s|</Location>|</LocationMatch>|')"
check "SetHandler blinkauth in <Directory>" fail "SetHandler blinkauth at .*httpd.conf:[0-9]+ is in <Directory .*>: use <Location" \
    "$(app_with "s|<Location \"/blink\">|<Directory \"$work\">|; s|</Location>|</Directory>|")"
check "SetHandler blinkauth in <Location ~ regex>" fail "is in <Location ~ .*>: use <Location" \
    "$(app_with 's|<Location "/blink">|<Location ~ "^/blink">|')"
check "SetHandler blinkauth for the whole server" fail "SetHandler blinkauth at .*httpd.conf:[0-9]+ is in the server's own configuration: use <Location" \
    "SetHandler blinkauth
$(app)"
check "BlinkAuth directives without SetHandler blinkauth" warn "<Location /other> at .*httpd.conf:[0-9]+ has BlinkAuth directives but neither SetHandler blinkauth nor AuthType Blink" \
    "$(app)
<Location /other>
    BlinkAuthID o-1
</Location>"
check "BlinkAuthRedirectURI that is no app's callback" warn "BlinkAuthRedirectURI https://apps.example.com/elsewhere/callback at .*httpd.conf:[0-9]+ is not <Location>/callback of an app on this server \(<Location /blink> answers /blink/callback\)" \
    "$(app_with 's|</Location>|BlinkAuthRedirectURI https://apps.example.com/elsewhere/callback\n</Location>|')"
check "BlinkAuthRedirectURI at the app's callback, another host (a balancer)" ok '' \
    "$(app_with 's|</Location>|BlinkAuthRedirectURI https://balancer.example.com/blink/callback\n</Location>|')"
check "the same BlinkAuthID in two Locations" fail "BlinkAuthID a-1234 is set twice on one server, at .*httpd.conf:[0-9]+ and at .*httpd.conf:[0-9]+" \
    "$(app)
$(app_with 's|"/blink"|"/again"|')"
check "the same BlinkAuthID in two virtual hosts" ok '' "<VirtualHost 127.0.0.1:1>
$(app)
</VirtualHost>
<VirtualHost 127.0.0.2:1>
$(app)
</VirtualHost>"
printf ' s3cret\n' >"$work/blank-secret"
check "a Proxy Secret ending with a blank" fail "BlinkAuthProxySecret: the secret ends with a blank: httpd strips the blanks" \
    "$(app_with 's|"s3cret"|"s3cret "|')"
check "a secret file starting with a blank" fail "BlinkAuthProxySecret: secret file .*blank-secret' starts with a blank" \
    "$(app_with "s|\"s3cret\"|file:$work/blank-secret|")"
for d in BlinkAuthTokenURL BlinkAuthUserInfoURL BlinkAuthRevokeURL BlinkAuthAPIURL; do
    check "http:// $d on a public host" fail "$d: 'http://idp.example/x' would carry secrets, codes or tokens in clear: use https://" \
        "$(app_with "s|</Location>|$d http://idp.example/x\n</Location>|")"
done
check "http:// back-channel URLs on loopback hosts" ok '' \
    "$(app_with 's|</Location>|BlinkAuthTokenURL http://127.0.0.1:8081/token\nBlinkAuthUserInfoURL http://localhost/ui\nBlinkAuthRevokeURL http://[::1]:9/r\nBlinkAuthAPIURL http://127.1.2.3\n</Location>|')"
check "http:// authorize URL on a public host (the browser's, no secret)" ok '' \
    "$(app_with 's|https://idp.example/oauth/authorize|http://idp.example/oauth/authorize|')"

# --- Secrets: relative paths from ServerRoot, two Proxy Secrets while rotating, a program's output.
check "file: relative to ServerRoot" ok '' "$(app_with 's|"s3cret"|file:secret|')"
check "two Proxy Secrets (current, previous)" ok '' "$(app_with 's|"s3cret"|"new-s3cret" file:secret|')"
check "a previous Proxy Secret that is not readable" fail "BlinkAuthProxySecret: cannot read secret file '$work/nope'" \
    "$(app_with 's|"s3cret"|"new-s3cret" file:nope|')"
check "three Proxy Secrets" fail "BlinkAuthProxySecret takes 1-2 arguments" "$(app_with 's|"s3cret"|a b c|')"
printf '#!/bin/sh\necho "from-a-program"\n' >"$work/secret-program"
printf '#!/bin/sh\necho oops >&2\nexit 3\n' >"$work/failing-program"
printf '#!/bin/sh\nexit 0\n' >"$work/silent-program"
chmod 755 "$work/secret-program" "$work/failing-program" "$work/silent-program"
check "exec: a program's output" ok '' "$(app_with "s|\"s3cret\"|exec:$work/secret-program|")"
check "exec: relative to ServerRoot" ok '' "$(app_with 's|file:[^ ]*/secret$|exec:secret-program|')"
check "exec: a program that fails" fail "BlinkAuthAPIToken: secret program '$work/failing-program' failed \(exit status 3\)" \
    "$(app_with 's|file:[^ ]*/secret$|exec:failing-program|')"
check "exec: a program that prints nothing" fail "BlinkAuthProxySecret: the output of secret program '.*silent-program' is empty" \
    "$(app_with 's|"s3cret"|exec:silent-program|')"
check "exec: no such program" fail "BlinkAuthProxySecret: cannot run secret program '$work/none'" \
    "$(app_with 's|"s3cret"|exec:none|')"

# --- Identity and shared devices.
check "BlinkAuthPrompt of an unknown value" fail "BlinkAuthPrompt: 'always' is not login, consent, select_account or none" \
    "$(app_with 's|</Location>|BlinkAuthPrompt always\n</Location>|')"
check "BlinkAuthPrompt login, BlinkAuthMaxAge 300, BlinkAuthMatchEmail, BlinkAuthIssuer" ok '' \
    "$(app_with 's|</Location>|BlinkAuthPrompt login\nBlinkAuthMaxAge 300\nBlinkAuthMatchEmail On\nBlinkAuthVerifiedEmail Off\nBlinkAuthIssuer https://idp.example\nBlinkAuthServiceName "Example CRM"\n</Location>|')"
check "BlinkAuthMaxAge -1" fail "BlinkAuthMaxAge: '-1' is not a whole number of seconds" \
    "$(app_with 's|</Location>|BlinkAuthMaxAge -1\n</Location>|')"
check "BlinkAuthIssuer that is not a URL" fail "BlinkAuthIssuer: 'idp' is not an absolute" \
    "$(app_with 's|</Location>|BlinkAuthIssuer idp\n</Location>|')"
check "BlinkAuthStateKey of 31 characters" fail "BlinkAuthStateKey: the key has 31 characters, fewer than 32" \
    "BlinkAuthStateKey 0123456789012345678901234567890
$(app)"
check "BlinkAuthStateKey from a file" ok '' "BlinkAuthStateKey file:state-key
$(app)"
check "BlinkAuthStateKey in a Location" fail "BlinkAuthStateKey not allowed in <Location> context" \
    "$(app_with 's|</Location>|BlinkAuthStateKey 01234567890123456789012345678901234\n</Location>|')"

# --- The token cache: BlinkAuthTokenKey per app (one key, or the new and the previous), BlinkAuthTokenCache server-wide.
printf 'a-token-key-of-more-than-32-characters-0123456789\n' >"$work/token-key"
check "BlinkAuthTokenKey from a file, BlinkAuthTokenCache shmcb" ok '' "BlinkAuthTokenCache shmcb
$(app_with "s|</Location>|BlinkAuthTokenKey file:$work/token-key\n</Location>|")"
check "BlinkAuthTokenKey new and previous" ok '' \
    "$(app_with "s|</Location>|BlinkAuthTokenKey 0123456789012345678901234567890123 file:token-key\n</Location>|")"
check "BlinkAuthTokenKey of 31 characters" fail "BlinkAuthTokenKey: the key has 31 characters, fewer than 32" \
    "$(app_with 's|</Location>|BlinkAuthTokenKey 0123456789012345678901234567890\n</Location>|')"
check "BlinkAuthTokenKey whose previous key is too short" fail "BlinkAuthTokenKey: the key has 5 characters, fewer than 32" \
    "$(app_with "s|</Location>|BlinkAuthTokenKey file:token-key short\n</Location>|")"
check "three BlinkAuthTokenKeys" fail "BlinkAuthTokenKey takes 1-2 arguments" \
    "$(app_with "s|</Location>|BlinkAuthTokenKey file:token-key file:token-key file:token-key\n</Location>|")"
check "BlinkAuthTokenKey from an unreadable file" fail "BlinkAuthTokenKey: cannot read secret file '/nonexistent/k'" \
    "$(app_with 's|</Location>|BlinkAuthTokenKey file:/nonexistent/k\n</Location>|')"
check "BlinkAuthTokenCache with an unknown provider" fail "BlinkAuthTokenCache: no socache provider 'nosuch': load mod_socache_nosuch" \
    "BlinkAuthTokenCache nosuch:localhost:1
$(app)"
check "BlinkAuthTokenCache in a Location" fail "BlinkAuthTokenCache not allowed in <Location> context" \
    "$(app_with 's|</Location>|BlinkAuthTokenCache shmcb\n</Location>|')"

# The reference configuration documents every directive the module has, and so does the README.
for d in $(grep -o 'AP_INIT_[A-Z0-9]*("[A-Za-z]*"' "$top/glue/cmds.c" | cut -d'"' -f2); do
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

# OpenID Connect discovery: what apache2 -t refuses, and httpd really started against the fake provider.
. "$top/tests/config/discovery.sh"

echo "config: $pass passed, $fail failed"
[ $fail -eq 0 ]
