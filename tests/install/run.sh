#!/usr/bin/env bash
# `make install` + `a2enmod blinkauth` into Debian's own apache2, started the Debian way
# (apache2ctl), with the configuration of design.md: it loads and answers Connect.
# It changes the system, so it runs only as root when CI=true or BLINKAUTH_TEST_INSTALL=1.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "$(id -u)" != 0 ] || { [ "${CI:-}" != true ] && [ "${BLINKAUTH_TEST_INSTALL:-}" != 1 ]; }; then
    echo "install: skipped (needs root and CI=true or BLINKAUTH_TEST_INSTALL=1)"
    exit 0
fi
port=${BLINKAUTH_INSTALL_PORT:-8090}
site=/etc/apache2/sites-available/blinkauth-install-test.conf
pass=0 fail=0

# Records one check's outcome.
check() {
    if eval "$2"; then pass=$((pass + 1)); echo "ok   $1"; else fail=$((fail + 1)); echo "FAIL $1"; fi
}

# Puts the system back as it was.
cleanup() {
    apache2ctl stop >/dev/null 2>&1
    a2dissite -q blinkauth-install-test >/dev/null 2>&1
    a2dismod -q blinkauth >/dev/null 2>&1
    rm -f "$site" /etc/apache2/mods-available/blinkauth.load /etc/apache2/mods-available/blinkauth.conf \
        /usr/lib/apache2/modules/mod_blinkauth.so
}
trap cleanup EXIT

make -C "$top" --no-print-directory install >/dev/null 2>&1
cat >"$site" <<SITE
Listen 127.0.0.1:$port
<VirtualHost 127.0.0.1:$port>
    ServerName localhost
    <Location "/blink">
        SetHandler blinkauth
        BlinkAuthID                   a-1234
        BlinkAuthProxySecret          "s3cret"
        BlinkAuthAPIToken             "app-token"
        BlinkAuthAPIURL               https://api.joinblink.com
        BlinkAuthClientID             my-client
        BlinkAuthClientSecret         "client-secret"
        BlinkAuthAuthorizeURL         https://idp.example/oauth/authorize
        BlinkAuthTokenURL             https://idp.example/oauth/token
        BlinkAuthUserInfoURL          https://idp.example/userinfo
        BlinkAuthRevokeURL            https://idp.example/oauth/revoke
        BlinkAuthScope                "openid email offline_access"
        BlinkAuthRedirectURI          https://apps.example.com/blink/callback
        BlinkAuthAccountIDClaim       email
        BlinkAuthStateTimeout         600
        BlinkAuthTimeout              10
        BlinkAuthCAFile               /etc/ssl/certs/ca-certificates.crt
    </Location>
</VirtualHost>
SITE
a2enmod -q blinkauth >/dev/null
a2ensite -q blinkauth-install-test >/dev/null
check "a2enmod blinkauth enables socache_shmcb too" '[ -e /etc/apache2/mods-enabled/socache_shmcb.load ]'
check "apache2ctl configtest" 'apache2ctl configtest >/dev/null 2>&1'
apache2ctl start >/dev/null 2>&1; sleep 1
out=$(curl -s -XPOST -H 'blink-auth-proxysecret: s3cret' -H 'blink-auth-userid: u1' "http://127.0.0.1:$port/blink/auth/a-1234")
check "Connect answers with an authorization URL" \
    'grep -q "\"authorization_url\":\"https://idp.example/oauth/authorize?response_type=code&client_id=my-client&" <<<"$out"'
check "a wrong secret gets 401" \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" -XPOST -H "blink-auth-proxysecret: x" "http://127.0.0.1:$port/blink/auth/a-1234")" = 401 ]'
echo "install: $pass passed, $fail failed"
[ $fail -eq 0 ]
