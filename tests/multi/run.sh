#!/usr/bin/env bash
# More than one server: two httpd instances, A and B, share flow records through
# httpd's socache providers for Redis and memcached (a Connect made on A, its one-time start URL
# opened on A, its callback on B with the browser's cookie completes; a replay, a simultaneous
# second callback, a callback without the cookie and a flow record altered in Redis are refused);
# with shmcb they cannot; each store is stopped mid-run and started again (503 STORE_UNAVAILABLE,
# then recovery; a callback or start URL meanwhile gets the 503 "again in a moment" page, not the
# expired one); Redis is frozen (a waiting callback completes after SIGCONT; Connects wait on Redis
# side by side, not behind a host-wide lock); with shmcb, a connect survives a graceful restart and
# a stop/start starts cleanly (two shmcb configurations).
# client.py plays the browser: its cookies are kept in a jar file between commands ($CLIENT_JAR).
# Findings and the tuning used here: docs/deployment.md.
# Acting for the user (act.sh): both servers share the token cache in Redis and one BlinkAuthTokenKey; Blink's
# calls on A and B at once with a stale token make one refresh at a provider that rotates refresh tokens and revokes
# the grant when one is used twice; with a token cache of each server's own (shmcb), the server whose refresh is
# refused takes the token the other saved in Blink.
# Starts its own redis-server, memcached, the two fakes and both httpds on free loopback ports,
# and stops every one of them when it ends. Run from the repository root: tests/multi/run.sh
# KEEP=1 keeps the work directory (configurations and logs) for a look afterwards.
# MULTI_PORTS=LOW-HIGH: the ports of Redis, memcached, A and B from that range (the fakes take free ones).
# MULTI_PHASES="redis memcache shmcb restart act": the phases to run (default: all, in that order).
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/multi"
module="$top/.libs/mod_blinkauth.so"
mods=/usr/lib/apache2/modules
httpd=/usr/sbin/apache2
pass=0 fail=0
# The key both servers seal flow records with (BlinkAuthStateKey).
state_key=multi-server-shared-state-key-0123456789abcdef
declare -A PID=()
PORTS=()
ALL_PIDS=()
# The socache providers' tuning on both servers (see docs/deployment.md): idle connections are
# dropped after 1 s, so that none survives a restart of the store to fail requests later.
# MULTI_UNTUNED=1 runs with the providers' defaults instead (15 s), to compare: expect failures.
# RedisTimeout 1, below BlinkAuthTimeout 5, as docs/deployment.md says (though apr_redis does not apply it).
REDIS_TUNING=("RedisConnPoolTTL 1" "RedisTimeout 1")
MEMCACHE_TUNING=("MemcacheConnTTL 1")
[ "${MULTI_UNTUNED:-0}" = 1 ] && REDIS_TUNING=() MEMCACHE_TUNING=()
PHASES=" ${MULTI_PHASES:-redis memcache shmcb restart act} "
# Whether a phase is to run.
phase() { [[ $PHASES == *" $1 "* ]]; }
# 1 while the acting-for-the-user phases run: httpd_conf adds the app's BlinkAuthTokenKey and <Location /blink/me>.
ACT=0

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
note() { echo "note $*"; }
# Counts a check: check NAME CONDITION... (the condition is a command; DETAIL is shown on failure).
check() {
    local name=$1; shift
    if "$@"; then ok "$name"; else bad "$name${DETAIL:+ ($DETAIL)}"; fi
    DETAIL=
}
DETAIL=
client() { python3 "$here/client.py" "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
summary() { echo "multi: $pass passed, $fail failed"; }

for need in "$module" "$httpd" "$mods/mod_socache_redis.so" "$mods/mod_socache_memcache.so"; do
    [ -e "$need" ] || { bad "missing $need (make; scripts/deps.sh)"; summary; exit 1; }
done
for cmd in redis-server redis-cli memcached python3 openssl; do
    command -v "$cmd" >/dev/null || { bad "missing $cmd (scripts/deps.sh)"; summary; exit 1; }
done

started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/blinkauth-multi.XXXXXX")
chmod 755 "$work"
as_root=0
[ "$(id -u)" = 0 ] && as_root=1
# The browser's cookie jar (client.py): the one browser of the suite.
export CLIENT_JAR="$work/cookies.txt"

# Stops one process this script started: TERM, then KILL after a grace period; reaps it.
stop_pid() {
    local name=$1 pid=${PID[$1]:-} i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && { echo "  $name (pid $pid) ignored TERM; killing it" >&2; kill -KILL "$pid" 2>/dev/null; }
    wait "$pid" 2>/dev/null
    unset "PID[$name]"
}

# Stops everything still running (the trap; also the last step of a normal run).
cleanup() {
    local name
    for name in "${!PID[@]}"; do kill -CONT "${PID[$name]}" 2>/dev/null; done   # a stopped Redis too
    for name in A B redis memcached; do stop_pid "$name"; done
    for name in "${!PID[@]}"; do stop_pid "$name"; done
    declare -F fakes_stop >/dev/null && fakes_stop
}
trap 'cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
trap 'exit 130' INT TERM

read -r redis_port memcached_port port_a port_b < <(client ports 4)
PORTS=("$redis_port" "$memcached_port" "$port_a" "$port_b")

# --- the stores: no system configuration, no persistence, loopback only.
start_redis() {
    mkdir -p "$work/redis"
    redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work/redis" \
        --logfile "$work/redis/redis.log" --daemonize no --protected-mode yes --databases 1 \
        </dev/null >/dev/null 2>&1 &
    PID[redis]=$!; ALL_PIDS+=($!)
    client wait-port "$redis_port" 10
}
start_memcached() {
    local user=()
    [ $as_root = 1 ] && user=(-u nobody)
    memcached -l 127.0.0.1 -p "$memcached_port" -U 0 -m 16 "${user[@]}" </dev/null >"$work/memcached.log" 2>&1 &
    PID[memcached]=$!; ALL_PIDS+=($!)
    client wait-port "$memcached_port" 10
}

# --- the fakes (the credentials of tests/lib/fakes.sh); fakes.sh sets an EXIT trap: ours again after.
. "$top/tests/lib/fakes.sh"
fakes_start "$work/fakes" >/dev/null; fakes_rc=$?
trap 'cleanup; [ "${KEEP:-0}" = 1 ] || rm -rf "$work"' EXIT
[ $fakes_rc = 0 ] || { bad "the fakes did not start"; summary; exit 1; }
PORTS+=("$BLINK_FAKE_BLINK_PORT" "$BLINK_FAKE_PROVIDER_PORT")
ALL_PIDS+=("${FAKE_PIDS[@]}")
start_redis || { bad "redis-server did not start on $redis_port"; summary; exit 1; }
start_memcached || { bad "memcached did not start on $memcached_port"; summary; exit 1; }

# --- the two servers: the same app, the redirect URI at B (as if a balancer sent the browser there).
# httpd_conf NAME PORT CACHE [directives...]
httpd_conf() {
    local name=$1 port=$2 cache=$3; shift 3
    local dir="$work/$name"
    mkdir -p "$dir/logs" "$dir/run"
    [ $as_root = 1 ] && chown -R www-data:www-data "$dir/logs" "$dir/run"
    {
        cat <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
PidFile "$dir/run/httpd.pid"
DefaultRuntimeDir "$dir/run"
ErrorLog "$dir/logs/error_log"
LogLevel info blinkauth:debug
Listen 127.0.0.1:$port
StartServers 2
ServerLimit 2
ThreadsPerChild 8
MinSpareThreads 8
MaxSpareThreads 16
MaxRequestWorkers 16
LoadModule mpm_event_module $mods/mod_mpm_event.so
LoadModule authz_core_module $mods/mod_authz_core.so
LoadModule socache_shmcb_module $mods/mod_socache_shmcb.so
LoadModule socache_redis_module $mods/mod_socache_redis.so
LoadModule socache_memcache_module $mods/mod_socache_memcache.so
LoadModule authn_core_module $mods/mod_authn_core.so
LoadModule proxy_module $mods/mod_proxy.so
LoadModule proxy_http_module $mods/mod_proxy_http.so
LoadModule blinkauth_module "$module"
CONF
        [ $as_root = 1 ] && printf 'User www-data\nGroup www-data\n'
        printf '%s\n' "$@"
        cat <<CONF
BlinkAuthCache $cache
# Both servers seal flow records with the same key, or neither could take the other's.
BlinkAuthStateKey "$state_key"
<Location /blink>
    SetHandler blinkauth
    BlinkAuthID                a-1234
    BlinkAuthProxySecret       "s3cret-proxy"
    BlinkAuthAPIToken          "api-token-123"
    BlinkAuthAPIURL            http://127.0.0.1:$BLINK_FAKE_BLINK_PORT
    BlinkAuthClientID          "test client&1"
    BlinkAuthClientSecret      "client-secret"
    BlinkAuthAuthorizeURL      http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/authorize
    BlinkAuthTokenURL          http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/token
    BlinkAuthUserInfoURL       http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/userinfo
    BlinkAuthScope             "openid email"
    BlinkAuthAccountIDClaim    email
    BlinkAuthTimeout           5
    BlinkAuthRedirectURI       http://127.0.0.1:$port_b/blink/callback
CONF
        [ "$ACT" = 1 ] && act_conf
        echo "</Location>"
        [ "$ACT" = 1 ] && act_location
    } >"$dir/httpd.conf"
}

# Starts A and B with the given cache (and extra server directives); both must answer.
servers_start() {
    local name port
    for name in A B; do
        port=$port_a; [ $name = B ] && port=$port_b
        httpd_conf "$name" "$port" "$@"
        "$httpd" -f "$work/$name/httpd.conf" -DFOREGROUND </dev/null >>"$work/$name/logs/stdout" 2>&1 &
        PID[$name]=$!; ALL_PIDS+=($!)
        if ! client wait-port "$port" 15; then
            bad "httpd $name did not start with BlinkAuthCache $1:"
            sed 's/^/     /' "$work/$name/logs/stdout" "$work/$name/logs/error_log" 2>/dev/null | tail -20
            return 1
        fi
    done
}
servers_stop() {
    stop_pid A; stop_pid B
    client wait-closed "$port_a" 10 && client wait-closed "$port_b" 10
}

base_a="http://127.0.0.1:$port_a/blink"
base_b="http://127.0.0.1:$port_b/blink"
accounts() { client count "$BLINK_FAKE_BLINK_PORT" /_control/accounts "user_id=$1"; }
exchanges() { client count "$BLINK_FAKE_PROVIDER_PORT" /_control/requests route=token; }
log_lines() { wc -l <"$work/$1/logs/error_log"; }
# Lines added to a server's error log since line N.
log_since() { tail -n +"$(($2 + 1))" "$work/$1/logs/error_log"; }

# A URL of B's (the redirect URI's origin) on A instead.
on_a() { echo "${1/127.0.0.1:$port_b\//127.0.0.1:$port_a/}"; }
# The state of a callback URL.
state_of() { local s=${1##*[?&]state=}; echo "${s%%&*}"; }
# base64url, unpadded, of standard input.
b64url() { base64 -w0 | tr '+/' '-_' | tr -d '='; }
# The 16 characters of a state's SHA-256 (base64url) that name its cookie.
state_hash() { printf %s "$1" | openssl dgst -sha256 -binary | b64url | cut -c1-16; }
# Whether a Set-Cookie (as client.py prints it, "; " folded to ";") is the plain-http cookie of the
# start URL: blinkauth-<16>=<43>, Path=/blink, HttpOnly, SameSite=Lax, not Secure, not Domain.
cookie_plain() {
    [[ $1 =~ ^blinkauth-[A-Za-z0-9_-]{16}=[A-Za-z0-9_-]{43}\; ]] && [[ ";${1,,};" == *";path=/blink;"* ]] &&
        [[ ";${1,,};" == *";httponly;"* ]] && [[ ";${1,,};" == *";samesite=lax;"* ]] &&
        [[ ";${1,,};" != *";secure;"* ]] && [[ ";${1,,}" != *";domain="* ]]
}
# Blink's Connect on A as USER; sets START (the start URL it answers: at B, the redirect URI's origin).
connect_flow() {
    local user=$1 status ms code
    read -r status ms code START < <(client connect "$base_a" "$user")
    [ "$status" = 200 ] || { DETAIL="connect on A: $status $code"; return 1; }
    [[ $START =~ ^http://127\.0\.0\.1:$port_b/blink/start/[A-Za-z0-9_-]{43,}$ ]] || { DETAIL="start URL $START"; return 1; }
}
# The browser opens START on SERVER (A or B: a balancer may send it to either), keeps the cookie and
# follows the 303 to the provider; sets COOKIE (the Set-Cookie) and CB (where the provider sends it).
open_flow() {
    local on=${1:-A} url=$START status location title
    [ "$on" = A ] && url=$(on_a "$START")
    read -r status location COOKIE title < <(client start "$url")
    [ "$status" = 303 ] || { DETAIL="start URL on $on: $status $title"; return 1; }
    [[ $location == "http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/authorize?"*state=* ]] ||
        { DETAIL="start URL on $on: Location $location"; return 1; }
    # An OpenID Connect scope: the flow has a nonce, made at Connect (a shared store) or at the start URL (shmcb).
    [[ $location =~ [?\&]nonce=[A-Za-z0-9_-]{43}(\&|$) ]] || { DETAIL="start URL on $on: no nonce in $location"; return 1; }
    [[ $COOKIE == blinkauth-* ]] || { DETAIL="start URL on $on: Set-Cookie $COOKIE"; return 1; }
    read -r status CB < <(client authorize "$location")
    [ "$status" = 302 ] || { DETAIL="authorize: $status"; return 1; }
    [[ $CB == "http://127.0.0.1:$port_b/blink/callback?"*state=* ]] || { DETAIL="callback URL $CB"; return 1; }
}
# Connect on A as USER, the start URL opened on SERVER (A by default), through the provider; sets
# START, COOKIE and CB (the callback URL the browser is sent to; its cookie is in the jar).
start_flow() {
    connect_flow "$1" && open_flow "${2:-A}"
}

# Checks what the fake Blink holds for user (want accounts) and that delta codes were exchanged since $before_ex.
check_saved() {
    local what=$1 user=$2 want=$3 delta=$4
    DETAIL="accounts $(accounts "$user"), code exchanges $before_ex -> $(exchanges)"
    check "$what" test "$(accounts "$user") $(exchanges)" = "$want $((before_ex + delta))"
}

# The shared-store cases for one cache: Connect and start URL on A, callback on B, replay on A,
# a callback from another browser, a race.
shared_store_cases() {
    local store=$1 user="u-$1" status ms title before_ex a b race_cb location sc name
    if ! start_flow "$user"; then bad "$store: Connect on A, start URL on A, authorize at the provider ($DETAIL)"; return; fi
    ok "$store: Connect on A answers a start URL at B's origin; opened on A: 303 to the provider, which sends the browser to B"
    DETAIL="Set-Cookie: $COOKIE"
    check "$store: the start URL on A sets the browser's cookie (blinkauth-…, Path=/blink, HttpOnly, SameSite=Lax, not Secure)" \
        cookie_plain "$COOKIE"
    name=${COOKIE%%=*}
    DETAIL="cookie $name, state $(state_of "$CB")"
    check "$store: ... named after the flow's state (blinkauth-<16 characters of its SHA-256>)" \
        test "$name" = "blinkauth-$(state_hash "$(state_of "$CB")")"
    read -r status location sc title < <(client start "$START")
    DETAIL="$status $title, Location $location, Set-Cookie $sc"
    check "$store: the same start URL again, on B: 400 \"This link was already used\", no redirect, no cookie" \
        test "$status $location $sc $title" = "400 - - This link was already used"
    read -r status ms title < <(client get "$CB")
    DETAIL="callback on B: $status $title"
    check "$store: callback on B with the cookie completes the flow started on A (200 Connected)" \
        test "$status $title" = "200 Connected"
    DETAIL="accounts: $(accounts "$user")"
    check "$store: the fake Blink holds the linked account" test "$(accounts "$user")" = 1

    before_ex=$(exchanges)
    read -r status ms title < <(client get "${CB/127.0.0.1:$port_b\//127.0.0.1:$port_a/}")
    DETAIL="replay on A: $status $title"
    check "$store: the same browser replaying the callback on A is told it is already connected (the note is shared)" \
        test "$status $title" = "200 Already connected"
    check_saved "$store: the replay saves nothing and exchanges no code" "$user" 1 0

    other_browser_case "$store"

    # The same callback (with the cookie) brought to A and B at once: exactly one may win. The
    # start URL is opened on B this time, where Connect's answer points.
    if ! start_flow "$user-race" B; then bad "$store: Connect for the race, start URL on B ($DETAIL)"; return; fi
    race_cb=$CB
    before_ex=$(exchanges)
    read -r a b < <(client race "${race_cb/127.0.0.1:$port_b\//127.0.0.1:$port_a/}" "$race_cb")
    DETAIL="A answered $a, B answered $b"
    check "$store: the same callback on A and B at once: one 200, one 400" \
        test "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')" = "200 400 "
    check_saved "$store: ... and exactly one account saved, one code exchanged" "$user-race" 1 1
    if ! connect_flow "$user-start-race"; then bad "$store: Connect for the start URL race ($DETAIL)"; return; fi
    read -r a b c d < <(client race "$(on_a "$START")" "$START" "$(on_a "$START")" "$START")
    DETAIL="answers $a $b $c $d"
    check "$store: the same start URL on A and B at once, twice on each: one 303, three 400" \
        test "$(printf '%s\n' "$a" "$b" "$c" "$d" | sort | tr '\n' ' ')" = "303 400 400 400 "
}

# A callback on B from a browser without the cookie, then with another value of it: the 400
# "another browser" page, nothing saved or exchanged, and the flow is not used up: the browser
# that opened the start URL then completes it.
other_browser_case() {
    local store=$1 user="u-$1-other" status ms title before_ex name other swapped
    if ! start_flow "$user"; then bad "$store: Connect for the other-browser case ($DETAIL)"; return; fi
    before_ex=$(exchanges)
    read -r status ms title < <(CLIENT_JAR='' client get "$CB")
    DETAIL="$status $title"
    check "$store: a callback on B without the cookie gets the 400 \"Not connected: another browser\" page" \
        test "$status $title" = "400 Not connected: another browser"
    # Another browser's jar: the same cookie, with a value of the same shape that is not this flow's.
    name=${COOKIE%%=*} other=AnotherBrowsersValue0123456789abcdefghijklm
    awk -F'\t' -v OFS='\t' -v n="$name" -v v="$other" '$1 == n { $2 = v } 1' "$CLIENT_JAR" >"$work/other-browser.txt"
    swapped=$(awk -F'\t' -v n="$name" -v v="$other" '$1 == n && $2 == v' "$work/other-browser.txt" | wc -l)
    read -r status ms title < <(CLIENT_JAR="$work/other-browser.txt" client get "$CB")
    DETAIL="$status $title; $swapped cookie(s) $name=$other in that jar"
    check "$store: ... with another value of the cookie: the same page" \
        test "$status $title $swapped" = "400 Not connected: another browser 1"
    check_saved "$store: ... neither saves anything nor exchanges the code" "$user" 0 0
    read -r status ms title < <(client get "$CB")
    DETAIL="$status $title"
    check "$store: ... nor uses up the flow: the same callback with the cookie then completes (200 Connected)" \
        test "$status $title" = "200 Connected"
    check_saved "$store: ... one account saved, one code exchanged" "$user" 1 1
}

# The Redis key of a socache id: mod_socache_redis stores id ID of the module's cache (namespace
# "mod_blinkauth") under "mod_blinkauth:<ID in lowercase hex>".
redis_key() { echo "mod_blinkauth:$(printf %s "$1" | od -An -v -tx1 | tr -d ' \n')"; }
# Whether TEXT is a sealed flow record of USER bound to a browser: <43-character seal>.<JSON>.
bound_record_of() { [[ $1 =~ ^[A-Za-z0-9_-]{43}\.\{.*\"user\":\"$2\".*\"browser\":\" ]]; }

# A flow record altered in Redis (its user id changed, its seal kept): the callback with the cookie
# gets the 400 expired page; nothing is saved, no code exchanged, the record is deleted.
tampered_record_case() {
    local user=u-redis-tamper forged=u-redis-forged key value changed now status ms title before_ex lines
    local rcli=(redis-cli -h 127.0.0.1 -p "$redis_port" --raw)
    if ! start_flow "$user"; then bad "redis tamper: Connect and start URL on A ($DETAIL)"; return; fi
    # The module's key is blinkauth:<state>; the provider hex-encodes it under its namespace.
    key=$(redis_key "blinkauth:$(state_of "$CB")")
    value=$("${rcli[@]}" GET "$key")
    DETAIL="GET $key: '${value:0:200}'; keys in Redis: $("${rcli[@]}" KEYS 'mod_blinkauth:*' | head -5 | tr '\n' ' ')"
    check "redis tamper: the flow record is kept under blinkauth:<state> as <seal>.<JSON>, bound to the browser" \
        bound_record_of "$value" "$user"
    [ -n "$value" ] || { bad "redis tamper: no record to alter, the rest of the case skipped"; return; }
    changed=${value/\"user\":\"$user\"/\"user\":\"$forged\"}
    "${rcli[@]}" SET "$key" "$changed" KEEPTTL XX >/dev/null
    now=$("${rcli[@]}" GET "$key")
    DETAIL="GET $key: ${now:0:200}"
    check "redis tamper: the record now names $forged (redis-cli SET … KEEPTTL)" bound_record_of "$now" "$forged"
    DETAIL="seal before ${value%%.*}, after ${now%%.*}"
    check "redis tamper: ... under the seal it had" test "${now%%.*}" = "${value%%.*}"
    before_ex=$(exchanges)
    lines=$(log_lines B)
    read -r status ms title < <(client get "$CB")
    DETAIL="$status $title"
    check "redis tamper: the callback on B, with the cookie, gets the 400 expired page" \
        test "$status $title" = "400 This link has expired"
    DETAIL="accounts $user $(accounts "$user"), $forged $(accounts "$forged"), code exchanges $before_ex -> $(exchanges)"
    check "redis tamper: ... saves nothing for either user id and exchanges no code" \
        test "$(accounts "$user") $(accounts "$forged") $(exchanges)" = "0 0 $before_ex"
    sleep 0.2
    DETAIL=$(log_since B "$lines" | grep BLA | head -2)
    check "redis tamper: ... B's error log says the seal does not verify" \
        grep -q "seal does not verify" <(log_since B "$lines")
    DETAIL="EXISTS $key: $("${rcli[@]}" EXISTS "$key")"
    check "redis tamper: ... and the unusable record is deleted" test "$("${rcli[@]}" EXISTS "$key")" = 0
}

# A start record as every version writes it in a shared store (an earlier one in every store):
# blinkauth:<handle>.start = <seal>.{"state":…,"url":…}, made here by hand in Redis under a handle of
# its own for a flow Connect on A left (its handle's state). B reads it once, binds that flow and
# sends the browser to the record's URL; the start URL A answered for the flow is then spent too.
hand_start_record_case() {
    local user=u-redis-hand handle state old json seal key status location sc title
    local rcli=(redis-cli -h 127.0.0.1 -p "$redis_port" --raw)
    if ! connect_flow "$user"; then bad "start record by hand: Connect on A ($DETAIL)"; return; fi
    handle=${START##*/}
    state=$(printf %s "blinkauth-state:$handle" | openssl dgst -sha256 -binary | b64url)
    DETAIL="EXISTS blinkauth:$handle.start: $("${rcli[@]}" EXISTS "$(redis_key "blinkauth:$handle.start")")"
    check "start record by hand: Connect on A kept a start record under its handle (Redis has no lock around a bind)" \
        test "$("${rcli[@]}" EXISTS "$(redis_key "blinkauth:$handle.start")")" = 1
    old=$(openssl rand 32 | b64url)
    json="{\"state\":\"$state\",\"url\":\"http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/authorize?earlier=1\"}"
    seal=$(printf %s "$json" | openssl dgst -sha256 -mac HMAC \
        -macopt hexkey:"$(printf %s "$state_key" | openssl dgst -sha256 -hex | sed 's/.*= //')" -binary | b64url)
    key=$(redis_key "blinkauth:$old.start")
    "${rcli[@]}" SET "$key" "$seal.$json" EX 60 >/dev/null
    read -r status location sc title < <(client start "http://127.0.0.1:$port_b/blink/start/$old")
    DETAIL="$status $location $sc $title"
    check "start record by hand: its start URL on B: 303 to the URL in the record, with the cookie of the flow" \
        test "$status $location ${sc%%=*}" = \
        "303 http://127.0.0.1:$BLINK_FAKE_PROVIDER_PORT/authorize?earlier=1 blinkauth-$(state_hash "$state")"
    DETAIL="EXISTS $key: $("${rcli[@]}" EXISTS "$key")"
    check "start record by hand: ... read once: it is gone from Redis" test "$("${rcli[@]}" EXISTS "$key")" = 0
    DETAIL="GET: $("${rcli[@]}" GET "$(redis_key "blinkauth:$state")" | cut -c1-200)"
    check "start record by hand: ... and the flow record is bound to the browser" \
        bound_record_of "$("${rcli[@]}" GET "$(redis_key "blinkauth:$state")")" "$user"
    read -r status location sc title < <(client start "$START")
    DETAIL="$status $title"
    check "start record by hand: the start URL A answered for the same flow is spent: the 400 page" \
        test "$status $location" = "400 -"
}

# Redis frozen (SIGSTOP) between a Connect and its callback.  RedisTimeout does not bound the wait
# (httpd 2.4 hands apr_redis microseconds, which apr-util 1.6 reads as seconds): the callback waits
# in Redis's socket; after SIGCONT it completes.  (Redis killed instead: outage_cases, a 503 page.)
frozen_callback_case() {
    local user=u-redis-frozen status ms title job waiting="" i
    if ! start_flow "$user"; then bad "frozen redis: Connect and start URL on A ($DETAIL)"; return; fi
    kill -STOP "${PID[redis]}"
    client get "$CB" >"$work/frozen.out" &
    job=$!
    for i in $(seq 1 40); do
        [ -n "$(ss -Htn state established "( sport = :$redis_port )" | awk '$1 > 0')" ] && { waiting=1; break; }
        sleep 0.05
    done
    [ -n "$waiting" ] && kill -0 "$job" 2>/dev/null &&
        note "frozen redis: the callback waits on Redis (RedisTimeout 1 does not bound it)"
    kill -CONT "${PID[redis]}"
    wait "$job"
    read -r status ms title <"$work/frozen.out"
    DETAIL="$status $title after $ms ms"
    check "frozen redis: after SIGCONT the callback that waited completes (200 Connected, not the expired page)" \
        test "$status $title" = "200 Connected"
    DETAIL="accounts: $(accounts "$user")"
    check "frozen redis: ... and the linked account is saved once" test "$(accounts "$user")" = 1
}

# Redis frozen while three Connects reach A at once: each waits on Redis with its own request (at
# least two requests unread in Redis's sockets at once), not one by one behind a host-wide lock.
no_host_lock_case() {
    local jobs=() most=0 n i
    kill -STOP "${PID[redis]}"
    for i in 1 2 3; do client connect "$base_a" "u-parallel-$i" >/dev/null & jobs+=($!); done
    for i in $(seq 1 40); do
        n=$(ss -Htn state established "( sport = :$redis_port )" | awk '$1 > 0' | wc -l)
        [ "$n" -gt "$most" ] && most=$n
        [ "$most" -ge 2 ] && break
        sleep 0.05
    done
    kill -CONT "${PID[redis]}"
    wait "${jobs[@]}"
    DETAIL="most requests waiting in Redis's sockets at once: $most"
    check "frozen redis: 3 Connects at once wait on Redis side by side, not behind a host-wide lock ($most at once)" \
        test "$most" -ge 2
}

# No child of A or B died of a signal (whole run).
no_crash() {
    local hits
    hits=$(grep -hE "exit signal|Segmentation fault|AH00052|AH00060|seg fault|core dumped" \
        "$work"/A/logs/error_log "$work"/B/logs/error_log 2>/dev/null)
    [ -z "$hits" ] || { DETAIL=$(head -3 <<<"$hits"); return 1; }
}

# The store stops mid-run: Connect fails fast with 503; the store comes back (empty) on the same
# port; how soon do Connects succeed again by themselves?  STORE is redis or memcache.
outage_cases() {
    local store=$1 name=redis port=$redis_port pending_cb worst=0 answers="" wrong="" i base
    local status ms code url title back first_ok="" attempts=0 wait_ms all_ok=1 pending_start location sc
    [ "$store" = memcache ] && { name=memcached; port=$memcached_port; }
    if ! connect_flow "u-$store-unopened"; then bad "$store outage: Connect before the outage ($DETAIL)"; return; fi
    pending_start=$START
    if ! start_flow "u-$store-pending"; then bad "$store outage: Connect before the outage ($DETAIL)"; return; fi
    pending_cb=$CB
    stop_pid "$name"
    client wait-closed "$port" 5 || bad "$store outage: $name still listening after it was stopped"
    for i in 1 2 3 4 5 6; do
        base=$base_a; [ $((i % 2)) = 0 ] && base=$base_b
        read -r status ms code url < <(client connect "$base" "u-$store-outage")
        answers+="$status/$code/${ms}ms "
        [ "${ms:-99999}" -gt "$worst" ] && worst=${ms:-99999}
        [ "$status $code" = "503 STORE_UNAVAILABLE" ] || wrong=1
    done
    DETAIL="$answers"
    check "$store outage: Connect on A and B answers 503 JSON STORE_UNAVAILABLE (6 of 6)" test -z "$wrong"
    DETAIL="$answers"
    check "$store outage: ... without waiting out BlinkAuthTimeout (slowest ${worst} ms of 5 s)" test "$worst" -lt 4000
    read -r status ms title < <(client get "$pending_cb")
    DETAIL="$status $title in $ms ms"
    check "$store outage: a callback answers with the 503 page, not the expired one, without waiting out the timeout ($status: $title)" \
        test "$status $title" = "503 Not connected" -a "${ms:-99999}" -lt 4000
    ms=$(now_ms)
    read -r status location sc title < <(client start "$(on_a "$pending_start")")
    ms=$(($(now_ms) - ms))
    DETAIL="$status $title in $ms ms, Location $location, Set-Cookie $sc"
    check "$store outage: a start URL answers with the 503 page and no redirect, without waiting out the timeout ($status: $title)" \
        test "$status $title" = "503 Not connected" -a "$location $sc" = "- -" -a "$ms" -lt 4000

    "start_$name" || bad "$store outage: $name did not restart on $port"
    back=$(now_ms)
    while [ $(($(now_ms) - back)) -lt 20000 ]; do
        attempts=$((attempts + 1))
        read -r status ms code url < <(client connect "$base_a" "u-$store-outage")
        [ "$status" = 200 ] && { first_ok=$(($(now_ms) - back)); break; }
        sleep 0.25
    done
    DETAIL="no 200 within 20 s"
    check "$store back: Connect on A succeeds again by itself (attempt $attempts, after ${first_ok:-never} ms)" \
        test -n "$first_ok"
    DETAIL="${first_ok:-never} ms"
    check "$store back: ... within the 5 s dead-server retry of apr_${store} plus 2 s" test "${first_ok:-99999}" -lt 7000
    # Every child of both servers has passed its 5 s retry by now: all must work.
    wait_ms=$((7000 - ($(now_ms) - back)))
    [ $wait_ms -gt 0 ] && sleep "$((wait_ms / 1000)).$(printf %03d $((wait_ms % 1000)))"
    answers=""
    for i in 1 2 3 4 5 6 7 8; do
        base=$base_a; [ $((i % 2)) = 0 ] && base=$base_b
        read -r status ms code url < <(client connect "$base" "u-$store-outage")
        answers+="$status "
        [ "$status" = 200 ] || all_ok=0
    done
    DETAIL="$answers"
    check "$store back: 7 s after the store is back, 8 of 8 Connects on A and B succeed" test $all_ok = 1
    if start_flow "u-$store-after"; then
        read -r status ms title < <(client get "$CB")
        DETAIL="$status $title"
        check "$store back: a whole flow (Connect on A, callback on B) works again" test "$status $title" = "200 Connected"
    else
        bad "$store back: Connect on A ($DETAIL)"
    fi
    read -r status ms title < <(client get "$pending_cb")
    DETAIL="$status $title"
    check "$store back: the flow pending during the outage is gone with the store's memory (400 expired)" \
        test "$status $title" = "400 This link has expired"
    read -r status location sc title < <(client start "$pending_start")
    DETAIL="$status $title"
    check "$store back: so is the start URL not opened before the outage (400 already used)" \
        test "$status $title" = "400 This link was already used"
}

# Redis hangs (SIGSTOP: accepts connections, never answers): what does a Connect do?
hung_store_case() {
    local t0 hung i status ms code url
    kill -STOP "${PID[redis]}"
    t0=$(now_ms)
    client connect "$base_a" u-hung >"$work/hung.out" &
    hung=$!
    for i in $(seq 1 30); do kill -0 "$hung" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$hung" 2>/dev/null; then
        note "hung redis: a Connect still waits after $(($(now_ms) - t0)) ms (RedisTimeout does not bound it)"
        kill -CONT "${PID[redis]}"
        wait "$hung"
        read -r status ms code url <"$work/hung.out"
        DETAIL="$status $code after $ms ms"
        check "hung redis: the waiting Connect completes (200) once Redis answers again" test "$status" = 200
    else
        kill -CONT "${PID[redis]}"
        wait "$hung"
        read -r status ms code url <"$work/hung.out"
        DETAIL="$status $code in $ms ms"
        check "hung redis: Connect answers 503 STORE_UNAVAILABLE within BlinkAuthTimeout ($ms ms)" \
            test "$status $code" = "503 STORE_UNAVAILABLE" -a "$ms" -lt 5000
    fi
}

# ===== Redis =====
if phase redis; then
    echo "# redis on 127.0.0.1:$redis_port; A on $port_a, B on $port_b"
    if servers_start "redis:127.0.0.1:$redis_port" "${REDIS_TUNING[@]}"; then
        shared_store_cases redis
        tampered_record_case
        hand_start_record_case
        frozen_callback_case
        no_host_lock_case
        outage_cases redis
        hung_store_case
        check "redis phase: no httpd child died of a signal (error logs)" no_crash
    fi
    servers_stop || bad "httpd A or B still listening after stop"
fi

# ===== memcached =====
if phase memcache; then
    echo "# memcached on 127.0.0.1:$memcached_port"
    if servers_start "memcache:127.0.0.1:$memcached_port" "${MEMCACHE_TUNING[@]}"; then
        shared_store_cases memcache
        outage_cases memcache
        check "memcache phase: no httpd child died of a signal (error logs)" no_crash
    fi
    servers_stop || bad "httpd A or B still listening after stop"
fi

# ===== shmcb on each server: nothing is shared =====
if phase shmcb; then
    echo "# shmcb on each server"
    if servers_start shmcb; then
        user=u-shmcb
        if connect_flow "$user"; then
            read -r status location sc title < <(client start "$START")
            DETAIL="start URL on B: $status $title"
            check "shmcb: the start URL opened on B, as Connect on A answered it, gets the 400 already-used page" \
                test "$status $location $sc $title" = "400 - - This link was already used"
        else
            bad "shmcb: Connect on A ($DETAIL)"
        fi
        if start_flow "$user"; then
            lines=$(log_lines B)
            read -r status ms title < <(client get "$CB")
            DETAIL="callback on B: $status $title"
            check "shmcb: a callback that reaches B gets the 400 expired page" \
                test "$status $title" = "400 This link has expired"
            sleep 0.2
            DETAIL=$(log_since B "$lines" | grep BLA | head -2)
            check "shmcb: B's error log tells the operator to set BlinkAuthCache to a shared store" \
                grep -q "with more than one server, set BlinkAuthCache to a shared store" <(log_since B "$lines")
            read -r status ms title < <(client get "${CB/127.0.0.1:$port_b\//127.0.0.1:$port_a/}")
            DETAIL="callback on A: $status $title"
            check "shmcb: the same callback on A, where the record lives, completes (a sticky balancer would work)" \
                test "$status $title" = "200 Connected"
        else
            bad "shmcb: Connect on A, start URL on A, authorize at the provider ($DETAIL)"
        fi
    fi
    servers_stop || bad "httpd A or B still listening after stop"
fi

# ===== shmcb across restarts: a graceful restart keeps pending connects; a stop/start starts cleanly =====
# The pids of A's children.
children_a() { pgrep -P "$(cat "$work/A/run/httpd.pid")" | sort | tr '\n' ' '; }
# Sends A a graceful restart and waits (10 s at most) until none of its children is of the old generation.
graceful_a() {
    local old new i
    old=$(children_a)
    "$httpd" -f "$work/A/httpd.conf" -k graceful
    for i in $(seq 1 100); do
        sleep 0.1
        new=$(children_a)
        [ -n "$new" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$old" | sort) <(tr ' ' '\n' <<<"$new" | sort) | grep .)" ] &&
            return 0
    done
    DETAIL="children before $old, after $new"
    return 1
}
# restart_cases NAME CACHE: Connect on A, a graceful restart of A, then the start URL and the callback on A.
restart_cases() {
    local name=$1 cache=$2 user="u-restart-$1" status ms title lines
    servers_start "$cache" || return
    DETAIL=$(grep -h "BLA00017" "$work/A/logs/error_log" | head -1)
    check "$name: the flow store is shmcb in 8 shards (BLA00017)" grep -q "BLA00017: flow store: shmcb in 8 shards" \
        "$work/A/logs/error_log"
    if ! connect_flow "$user"; then bad "$name: Connect on A ($DETAIL)"; return; fi
    lines=$(log_lines A)
    check "$name: apache2 -k graceful: a new generation of children serves A" graceful_a
    DETAIL=$(log_since A "$lines" | grep -h "BLA00017" | head -1)
    check "$name: ... with the flow store kept from the last generation (BLA00017)" \
        grep -q "BLA00017: .*kept from the last generation" <(log_since A "$lines")
    START=$(on_a "$START")
    if ! open_flow A; then bad "$name: the start URL of the connect made before the restart ($DETAIL)"; return; fi
    read -r status ms title < <(client get "$(on_a "$CB")")
    DETAIL="callback on A: $status $title"
    check "$name: the connect made before the graceful restart completes after it (200 Connected)" \
        test "$status $title" = "200 Connected"
    servers_stop || bad "$name: A or B still listening after stop"
    servers_start "$cache" || return
    DETAIL=$(grep -hiE "exists|BLA000" "$work/A/logs/error_log" | tail -3)
    check "$name: a stop and a start: A starts cleanly again (no \"File exists\" from a shared memory segment)" \
        test -z "$(grep -i 'file exists' "$work/A/logs/error_log")"
    if start_flow "$user-again"; then
        read -r status ms title < <(client get "$(on_a "$CB")")
        DETAIL="callback on A: $status $title"
        check "$name: ... and a whole flow works on it" test "$status $title" = "200 Connected"
    else
        bad "$name: Connect after the stop and start ($DETAIL)"
    fi
    servers_stop || bad "$name: A or B still listening after stop"
}
if phase restart; then
    echo "# shmcb across restarts"
    restart_cases "shmcb restart" shmcb
    restart_cases "shmcb:path restart" "shmcb:run/flows(512000)"
fi

# ===== acting for the user: two servers, one provider that rotates refresh tokens =====
. "$here/act.sh"
if phase act; then
    act_key
    ACT=1
    echo "# acting for the user: the token cache shared in Redis"
    act_lines="$(cat "$work/A/logs/error_log" 2>/dev/null | wc -l) $(cat "$work/B/logs/error_log" 2>/dev/null | wc -l)"
    if servers_start "redis:127.0.0.1:$redis_port" "BlinkAuthTokenCache redis:127.0.0.1:$redis_port" "${REDIS_TUNING[@]}"; then
        act_shared_cases
    fi
    servers_stop || bad "httpd A or B still listening after stop"
    echo "# acting for the user: a token cache of each server's own (shmcb)"
    if servers_start "redis:127.0.0.1:$redis_port" "BlinkAuthTokenCache shmcb" "${REDIS_TUNING[@]}"; then
        act_own_caches_cases
    fi
    servers_stop || bad "httpd A or B still listening after stop"
    check "act phases: no httpd child died of a signal (error logs)" act_no_crash $act_lines
    ACT=0
fi

check "no httpd child died of a signal in the whole run (error logs)" no_crash

# ===== everything stops =====
cleanup
still=""
for pid in "${ALL_PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && still+="pid $pid "; done
for port in "${PORTS[@]}"; do client wait-closed "$port" 5 || still+="port $port "; done
DETAIL="still running or listening: $still"
check "every process this suite started has stopped; none of its ports is listening" test -z "$still"
echo "# took $(($(date +%s) - started)) s"
summary
[ $fail -eq 0 ]
