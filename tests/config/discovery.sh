# Sourced by tests/config/run.sh (its check, app_with, $work, $module, pass and fail): BlinkAuthProviderMetadataURL.
# First what apache2 -t must refuse or accept (it never reads the metadata), then httpd really started on loopback
# against the fake provider: the start-up fetch, the cache file, a start that must fail, a graceful restart, and the
# background refresh of each child (with BLINKAUTH_TEST_DISCOVERY_REFRESH_SECONDS, a setting for tests only).

# --- apache2 -t
check "metadata URL over http:// to a public host" fail \
    "BlinkAuthProviderMetadataURL: 'http://idp.example/.well-known/openid-configuration' would carry secrets, codes or tokens in clear: use https://" \
    "$(app_with 's|</Location>|BlinkAuthProviderMetadataURL http://idp.example/.well-known/openid-configuration\n</Location>|')"
check "metadata URL that is not /.well-known/openid-configuration" fail \
    "BlinkAuthProviderMetadataURL: 'https://idp.example/metadata.json' is not a metadata URL: its path must end in /.well-known/openid-configuration" \
    "$(app_with 's|</Location>|BlinkAuthProviderMetadataURL https://idp.example/metadata.json\n</Location>|')"
check "only the metadata URL, no authorize and token URLs (nothing fetched at -t)" ok '' \
    "$(app_with '/BlinkAuthAuthorizeURL/d; /BlinkAuthTokenURL/d; s|</Location>|BlinkAuthProviderMetadataURL https://idp.example/.well-known/openid-configuration\n</Location>|')"
check "neither the token URL nor the metadata URL" fail \
    "lacks BlinkAuthTokenURL \(or BlinkAuthProviderMetadataURL\), which every Blink app needs" \
    "$(app_with '/BlinkAuthTokenURL/d')"

# --- httpd really started
dwork="$work/discovery"
mkdir -p "$dwork/run"
dport=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
provider_pid=""

# Reports one assertion: name, then a command that succeeds when it holds; prints what to look at when not.
expect() {
    local name=$1; shift
    if "$@"; then
        pass=$((pass + 1)); echo "ok   $name"
    else
        fail=$((fail + 1)); echo "FAIL $name"; tail -n 5 "$dwork/error_log" 2>/dev/null | sed 's/^/     /'
    fi
}

# A loopback port nothing listens on.
unused_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# Starts the fake provider (on port $1, or any); sets provider_pid and provider (its URL).
provider_start() {
    rm -f "$dwork/provider.port"
    python3 "$top/tests/fakes/fake_provider.py" --port "${1:-0}" --port-file "$dwork/provider.port" \
        --log "$dwork/provider.log" --client-id c --client-secret s &
    provider_pid=$!
    for _ in $(seq 1 100); do [ -s "$dwork/provider.port" ] && break; sleep 0.1; done
    provider="http://127.0.0.1:$(cat "$dwork/provider.port")"
}

# Stops the fake provider this script started.
provider_stop() {
    [ -n "$provider_pid" ] && kill "$provider_pid" 2>/dev/null && wait "$provider_pid" 2>/dev/null
    provider_pid=""
}

# How many times the fake provider was asked for its metadata since it started (or was reset).
metadata_reads() {
    curl -s "$provider/_control/requests?route=discovery" | python3 -c 'import json, sys; print(len(json.load(sys.stdin)))'
}

# Waits up to 10 seconds until the fake provider was asked for its metadata $1 times.
reads_reach() {
    local i
    for i in $(seq 1 100); do [ "$(metadata_reads)" = "$1" ] && return 0; sleep 0.1; done
    return 1
}

# Writes the configuration of one app that has only the metadata URL $1 (and the Blink settings).
start_config() {
    cat >"$dwork/httpd.conf" <<CONF
ServerRoot "$dwork"
ServerName 127.0.0.1
Listen 127.0.0.1:$dport
PidFile "$dwork/httpd.pid"
DefaultRuntimeDir "$dwork/run"
ErrorLog "$dwork/error_log"
LogLevel info
LoadModule mpm_event_module /usr/lib/apache2/modules/mod_mpm_event.so
LoadModule authz_core_module /usr/lib/apache2/modules/mod_authz_core.so
LoadModule socache_shmcb_module /usr/lib/apache2/modules/mod_socache_shmcb.so
LoadModule blinkauth_module "$module"
$([ "$(id -u)" = 0 ] && printf 'User www-data\nGroup www-data')
StartServers 2
<Location "/blink">
    SetHandler blinkauth
    BlinkAuthID                  a-1234
    BlinkAuthProxySecret         "s3cret"
    BlinkAuthAPIToken            t
    BlinkAuthClientID            c
    BlinkAuthClientSecret        s
    BlinkAuthProviderMetadataURL $1
    BlinkAuthTimeout             2
</Location>
CONF
}

# apache2 -k start of that configuration; its output in start_out, its status in start_rc.
httpd_start() {
    : >"$dwork/error_log"
    start_out=$(/usr/sbin/apache2 -k start -f "$dwork/httpd.conf" 2>&1); start_rc=$?
    [ $start_rc -eq 0 ] || return 0
    for _ in $(seq 1 100); do
        curl -s -o /dev/null "http://127.0.0.1:$dport/" && return 0
        sleep 0.1
    done
}

# Stops the httpd this script started, by its pid; prints how many seconds it took to end.
httpd_stop() {
    local pid began=$SECONDS
    pid=$(cat "$dwork/httpd.pid" 2>/dev/null) || { echo 0; return; }
    /usr/sbin/apache2 -k stop -f "$dwork/httpd.conf" >/dev/null 2>&1 || kill -TERM "$pid" 2>/dev/null
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    echo $((SECONDS - began))
}

# Blink's Connect to the app, then its start URL opened as a browser would: prints the provider's authorization URL
# the start URL sends the browser to (empty when there is none).
connect_url() {
    local start
    start=$(curl -s -X POST -H 'blink-auth-proxysecret: s3cret' -H 'blink-auth-userid: u-1' \
        "http://127.0.0.1:$dport/blink/auth/a-1234" |
        python3 -c 'import json, sys; print(json.load(sys.stdin).get("data", {}).get("authorization_url", ""))' 2>/dev/null)
    [ -n "$start" ] && curl -s -o /dev/null -w '%{redirect_url}' "$start"
}

# Waits up to $1 seconds until the error log matches the regex $2.
log_shows() {
    local i
    for i in $(seq 1 $(($1 * 10))); do grep -Eq -- "$2" "$dwork/error_log" && return 0; sleep 0.1; done
    return 1
}

# Waits up to 15 seconds until 6 Connects in a row (reaching any child) answer an authorization URL starting with $1.
connects_use() {
    local i n=0
    for i in $(seq 1 150); do
        case "$(connect_url)" in "$1"*) n=$((n + 1)); [ $n -ge 6 ] && return 0 ;; *) n=0 ;; esac
        sleep 0.1
    done
    return 1
}

trap 'httpd_stop >/dev/null; provider_stop; rm -rf "$work"' EXIT

# A refused metadata URL and no cached copy: httpd does not start, and the error log names the app, URL and why.
refused="http://127.0.0.1:$(unused_port)/.well-known/openid-configuration"
start_config "$refused"
httpd_start
expect "start: refused metadata URL, no cached copy: apache2 -k start fails (exit $start_rc${start_out:+: $start_out})" \
    test $start_rc -ne 0 -a ! -e "$dwork/httpd.pid"
expect "start: the error log says which app, which URL and why" grep -Eq \
    "BLA00603: discovery: <Location /blink> \(BlinkAuth directives at .*httpd.conf:[0-9]+\): cannot read BlinkAuthProviderMetadataURL $refused: provider metadata \(GET $refused\): .* after [0-9]+ ms \([12] attempts?\); and no cached copy at $dwork/run/blinkauth-discovery-[A-Za-z0-9_-]{43}\.json .*httpd does not start" \
    "$dwork/error_log"

# The provider up: read once for both passes of the start, kept in the runtime directory; not at all by apache2 -t.
provider_start
url="$provider/.well-known/openid-configuration"
cache="$dwork/run/blinkauth-discovery-$(printf '%s' "$url" | openssl dgst -sha256 -binary | basenc --base64url | tr -d '=').json"
start_config "$url"
/usr/sbin/apache2 -t -f "$dwork/httpd.conf" >/dev/null 2>&1
expect "configtest: Syntax OK without reading the metadata" test "$(metadata_reads)" = 0
httpd_start
expect "start: the provider up: started" test $start_rc -eq 0 -a -s "$dwork/httpd.pid"
expect "start: the metadata read once for the two passes of the start" test "$(metadata_reads)" = 1
expect "start: logged with the endpoints" grep -q \
    "BLA00601: discovery: <Location /blink> .*provider metadata (GET $url) answered HTTP 200 in [0-9]* ms; authorization endpoint $provider/authorize, token endpoint $provider/token" \
    "$dwork/error_log"
expect "start: a copy in the runtime directory, named after the URL's SHA-256" \
    python3 -c 'import json, sys; sys.exit(json.load(open(sys.argv[1]))["issuer"] != sys.argv[2])' "$cache" "$provider"
expect "Connect: the authorization URL is the discovered endpoint" test "$(connect_url | cut -d'?' -f1)" = "$provider/authorize"
/usr/sbin/apache2 -k graceful -f "$dwork/httpd.conf" >/dev/null 2>&1
expect "graceful restart: the metadata read again" reads_reach 2
httpd_stop >/dev/null

# The provider down, a cached copy: httpd starts with a warning and uses the copy.
provider_stop
provider_port=${provider##*:}
httpd_start
expect "start: the provider down, a cached copy: started (exit $start_rc${start_out:+: $start_out})" \
    test $start_rc -eq 0 -a -s "$dwork/httpd.pid"
expect "start: the warning names the app, the URL, the error and the copy" grep -Eq \
    "\[blinkauth:warn\] .*BLA00602: discovery: <Location /blink> .*: cannot read BlinkAuthProviderMetadataURL $url: provider metadata \(GET $url\): .* after [0-9]+ ms \([12] attempts?\); using the copy cached at $cache on [0-9]{4}-" \
    "$dwork/error_log"
expect "Connect: the endpoint from the cached copy" test "$(connect_url | cut -d'?' -f1)" = "$provider/authorize"
httpd_stop >/dev/null

# The provider down and a cached copy that is not metadata: httpd does not start.
cp "$cache" "$dwork/cache.good"
printf '<html>oops</html>' >"$cache"
httpd_start
expect "start: the provider down, an unusable cached copy: apache2 -k start fails" test $start_rc -ne 0 -a ! -e "$dwork/httpd.pid"
expect "start: the error log says the copy is unusable" grep -q \
    "BLA00603: .*cannot read BlinkAuthProviderMetadataURL $url: .*; and the cached copy is unusable: the document is not JSON" \
    "$dwork/error_log"
cp "$dwork/cache.good" "$cache"

# Each child refreshes the metadata in the background (every second here); a refresh that fails keeps what it had.
provider_start "$provider_port"
export BLINKAUTH_TEST_DISCOVERY_REFRESH_SECONDS=1
httpd_start
unset BLINKAUTH_TEST_DISCOVERY_REFRESH_SECONDS
expect "refresh: the test-only interval is announced" grep -q \
    "BLA00609: discovery: metadata refreshed every 1 s, as BLINKAUTH_TEST_DISCOVERY_REFRESH_SECONDS says: a setting for tests only" \
    "$dwork/error_log"
expect "refresh: Connect uses the metadata read at start-up" connects_use "$provider/authorize?response_type=code&"
curl -s -H 'Content-Type: application/json' -d '{"authorization_endpoint":"{base}/authorize?v=2"}' \
    "$provider/_control/metadata" >/dev/null
expect "refresh: every child picks up the provider's new authorization endpoint" \
    connects_use "$provider/authorize?v=2&response_type=code&"
expect "refresh: logged" log_shows 5 "BLA00606: discovery: <Location /blink> .*: refreshed: provider metadata \(GET $url\) answered HTTP 200"
curl -s -H 'Content-Type: application/json' -d '{"issuer":"https://evil.example"}' "$provider/_control/metadata" >/dev/null
expect "refresh: metadata that fails the checks is refused with a warning" log_shows 5 \
    "\[blinkauth:warn\] .*BLA00605: discovery: <Location /blink> .*: refreshing BlinkAuthProviderMetadataURL $url failed: .*issuer 'https://evil.example' is not '$provider'.*; the metadata read before stays in use"
expect "refresh: and the last good metadata stays in use" connects_use "$provider/authorize?v=2&response_type=code&"
provider_stop
expect "refresh: a provider that went away: a warning" log_shows 5 "BLA00605: .*provider metadata \(GET $url\): .* after [0-9]+ ms \([12] attempts?\)"
expect "refresh: the last good metadata still in use" connects_use "$provider/authorize?v=2&response_type=code&"
took=$(httpd_stop)
expect "stop: the children and their refresh threads end at once ($took s)" test "$took" -le 5
expect "no child crashed" bash -c "! grep -Eq 'exit signal|Segmentation|AH00050|AH00051' '$dwork/error_log'"
