#!/usr/bin/env bash
# `make run`: the whole system on loopback, for a person to click through (docs/sandbox.md).
#   - oidc-provider, a real OpenID Connect server with demo login and consent pages
#     (tests/e2e/provider.mjs)                                          port SANDBOX_PROVIDER_PORT (8081)
#   - the fake Blink API and its page of linked accounts with Connect and Disconnect buttons
#     (tests/fakes/fake_blink.py)                                       port SANDBOX_BLINK_PORT (8082)
#   - httpd with the module as built and conf/sandbox.conf.in             port SANDBOX_HTTP_PORT (8080)
# Runs in the foreground until Ctrl-C, then stops every process it started.
# Logs, the generated configuration and the app's BlinkAuthTokenKey (a new random one each start):
# build/sandbox/ (SANDBOX_DIR). Started as root, httpd's children run as www-data: when they cannot
# reach that directory (a checkout under /root), everything they might touch lives in a fresh
# directory under /tmp instead; its logs are copied to build/sandbox/ on exit.
# Prints its banner only once a Connect through httpd answers an authorization_url.
set -uo pipefail
umask 022
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

http_port=${SANDBOX_HTTP_PORT:-8080}
provider_port=${SANDBOX_PROVIDER_PORT:-8081}
blink_port=${SANDBOX_BLINK_PORT:-8082}
blink_user=${SANDBOX_BLINK_USER:-sandbox-user-1}
auth_id=sandbox-app
proxy_secret=sandbox-proxy-secret
api_token=sandbox-api-token
client_id=blink-sandbox
client_secret=sandbox-client-secret
logs=${SANDBOX_DIR:-$top/build/sandbox}
work="$logs"
module="$top/.libs/mod_blinkauth.so"
proxy_url="http://127.0.0.1:$http_port/blink"
provider_url="http://127.0.0.1:$provider_port"
blink_url="http://127.0.0.1:$blink_port"

die() { echo "sandbox: $*" >&2; exit 1; }

# --- what it needs ----------------------------------------------------------------------------
[ -f "$module" ] || die "$module is missing: run make first (make run builds it)"
[ -x /usr/sbin/apache2 ] || die "/usr/sbin/apache2 is missing: run scripts/deps.sh"
command -v node >/dev/null || die "node is missing: scripts/deps.sh run (or apt-get install nodejs npm)"
node_version=$(node --version 2>/dev/null)
node_major=${node_version#v}; node_major=${node_major%%.*}
[[ $node_major =~ ^[0-9]+$ ]] && [ "$node_major" -ge 18 ] \
    || die "node ${node_version:-?} at $(command -v node) is too old: the sandbox needs node >= 18"
command -v python3 >/dev/null || die "python3 is missing: run scripts/deps.sh"
for port in "$http_port" "$provider_port" "$blink_port"; do
    if ss -Hltn "sport = :$port" | grep -q .; then
        die "port $port is taken ($(ss -Hltnp "sport = :$port" | sed 's/.*users://' | head -1)); choose others with SANDBOX_HTTP_PORT, SANDBOX_PROVIDER_PORT, SANDBOX_BLINK_PORT"
    fi
done
if [ ! -f tests/e2e/node_modules/.package-lock.json ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
    command -v npm >/dev/null || die "npm is missing: scripts/deps.sh run (or apt-get install npm)"
    echo "sandbox: npm ci in tests/e2e (oidc-provider), node $node_version"
    (cd tests/e2e && npm ci --prefer-offline --no-audit --no-fund --no-update-notifier --loglevel=error) || die "npm ci failed"
fi

rm -rf "$logs"
mkdir -p "$logs"
if [ "$(id -u)" = 0 ] && ! runuser -u www-data -- test -x "$logs" 2>/dev/null; then
    work=$(mktemp -d /tmp/blinkauth-sandbox.XXXXXX) || die "mktemp failed"
    chmod 755 "$work"
fi

# --- stop everything on the way out -------------------------------------------------------------
pids=()
names=()
# Stops every process this script started: TERM, then KILL after five seconds.
stop_all() {
    trap '' INT TERM PIPE
    local i
    for i in "${!pids[@]}"; do kill -TERM "${pids[$i]}" 2>/dev/null; done
    for i in "${!pids[@]}"; do
        for _ in $(seq 1 50); do kill -0 "${pids[$i]}" 2>/dev/null || break; sleep 0.1; done
        if kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "sandbox: ${names[$i]} did not stop, killing it" >&2
            kill -KILL "${pids[$i]}" 2>/dev/null
        fi
        wait "${pids[$i]}" 2>/dev/null
    done
    pids=()
}

# Keeps the logs of a runtime directory under /tmp in $logs (build/sandbox/), then removes it.
drop_work() {
    [ "$work" = "$logs" ] && return
    cp -p "$work"/*.log "$work/httpd.conf" "$logs/" 2>/dev/null
    rm -rf "$work"
}
trap 'stop_all; drop_work' EXIT
trap 'echo; echo "sandbox: stopping"; exit 0' INT TERM HUP

# start NAME LOG CMD...: runs CMD in the background, its output in $work/LOG.
start() {
    local name=$1 log=$2; shift 2
    "$@" >"$work/$log" 2>&1 &
    pids+=($!)
    names+=("$name")
}

# ready NAME PID URL: waits until URL answers, or says why not.
ready() {
    local name=$1 pid=$2 url=$3 log=$4
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$work/$log" >&2; die "$name exited (log: $work/$log)"; }
        curl -s -o /dev/null --max-time 1 "$url" && return 0
        sleep 0.1
    done
    tail -20 "$work/$log" >&2
    die "$name did not answer at $url (log: $work/$log)"
}

# connect_ready PID: waits for httpd to answer a Connect (Blink's POST auth/<auth id>) with JSON
# holding an authorization_url; any other answer ends the sandbox with the error log's tail.
connect_ready() {
    local pid=$1 answer="" code=000
    for _ in $(seq 1 150); do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$work/httpd.log" "$work/error.log" >&2; die "httpd exited"; }
        answer=$(curl -s --max-time 2 -w '\n%{http_code}' -X POST -H "blink-auth-proxysecret: $proxy_secret" \
                 -H "blink-auth-userid: $blink_user" "$proxy_url/auth/$auth_id")
        code=${answer##*$'\n'}
        [ "$code" != 000 ] && break
        sleep 0.1
    done
    answer=${answer%$'\n'*}
    python3 -c 'import json, sys; sys.exit(not json.loads(sys.argv[1])["data"]["authorization_url"])' \
        "$answer" 2>/dev/null && return 0
    echo "sandbox: POST $proxy_url/auth/$auth_id answered HTTP $code: $(head -c 300 <<<"$answer")" >&2
    echo "sandbox: the last lines of $work/error.log:" >&2
    tail -20 "$work/error.log" >&2
    die "httpd with the module is not ready (expected JSON with an authorization_url)"
}

# --- the external service -------------------------------------------------------------------------
start provider provider.log node tests/e2e/provider.mjs --port "$provider_port" \
    --client-id "$client_id" --client-secret "$client_secret" --redirect-uri "$proxy_url/callback"
ready provider "${pids[-1]}" "$provider_url/.well-known/openid-configuration" provider.log

# --- Blink ----------------------------------------------------------------------------------------
start "fake Blink" fake_blink.log python3 tests/fakes/fake_blink.py --port "$blink_port" \
    --token "$api_token" --auth-id "$auth_id" --verbose \
    --proxy-url "$proxy_url" --proxy-secret "$proxy_secret" --ui-user-id "$blink_user" --ui-action /api/me
ready "fake Blink" "${pids[-1]}" "$blink_url/" fake_blink.log

# --- httpd with the module ------------------------------------------------------------------------
# The key that seals the app's copy of each linked account's tokens: random, readable by root only
# (httpd reads it at start-up, before it drops to www-data).
(umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >"$work/token-key") \
    || die "cannot write $work/token-key"
if_root="# "
[ "$(id -u)" = 0 ] && if_root=""
sed -e "s|@WORK@|$work|g" -e "s|@HTTP_PORT@|$http_port|g" -e "s|@PROVIDER_URL@|$provider_url|g" \
    -e "s|@BLINK_URL@|$blink_url|g" -e "s|@PROXY_URL@|$proxy_url|g" -e "s|@MODULE@|$module|g" \
    -e "s|@APACHE_MODULES@|/usr/lib/apache2/modules|g" -e "s|@IF_ROOT@|$if_root|g" \
    -e "s|@AUTH_ID@|$auth_id|g" -e "s|@PROXY_SECRET@|$proxy_secret|g" -e "s|@API_TOKEN@|$api_token|g" \
    -e "s|@CLIENT_ID@|$client_id|g" -e "s|@CLIENT_SECRET@|$client_secret|g" \
    conf/sandbox.conf.in >"$work/httpd.conf"
if grep -n '@[A-Z_]*@' "$work/httpd.conf"; then die "conf/sandbox.conf.in has a placeholder this script does not fill"; fi
/usr/sbin/apache2 -t -f "$work/httpd.conf" >"$work/configtest.log" 2>&1 || { cat "$work/configtest.log" >&2; die "httpd refused $work/httpd.conf"; }
start httpd httpd.log /usr/sbin/apache2 -f "$work/httpd.conf" -DFOREGROUND
connect_ready "${pids[-1]}"
where="${logs#"$top"/}/"
[ "$work" = "$logs" ] || where="$work/ (copied to $where when it stops)"

cat <<EOF

mod_blinkauth sandbox: everything on 127.0.0.1, logs in $where (httpd: error.log).

  Proxy URL (the app's, as Blink knows it)   $proxy_url
      Auth ID $auth_id, Proxy Secret $proxy_secret
  Fake Blink, linked accounts page           $blink_url/
      Connect / Disconnect there play Blink's proxied calls as Blink user $blink_user
  External service (oidc-provider)           $provider_url/.well-known/openid-configuration
      demo login: any user name and any password, e.g. alice / alice
      (the account's e-mail, which Blink shows, is alice@example.test)

Open $blink_url/ in a browser and click Connect. Or play Blink's Connect click yourself:

  curl -s -X POST -H 'blink-auth-proxysecret: $proxy_secret' -H 'blink-auth-userid: $blink_user' \\
       $proxy_url/auth/$auth_id

and open the authorization_url it returns. The linked accounts Blink holds:

  curl -s $blink_url/_control/accounts

Once connected, "GET /api/me" on that page (or this curl) is Blink acting for the user: the module
passes it to the external service's userinfo endpoint with the user's access token:

  curl -s -H 'blink-auth-proxysecret: $proxy_secret' -H 'blink-auth-userid: $blink_user' \\
       $proxy_url/api/me

Ctrl-C stops everything.
EOF

# Until Ctrl-C, or until one of them stops on its own.
wait -n "${pids[@]}"
for i in "${!pids[@]}"; do
    kill -0 "${pids[$i]}" 2>/dev/null && continue
    echo "sandbox: ${names[$i]} stopped on its own; stopping the rest" >&2
done
exit 1
