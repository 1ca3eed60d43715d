#!/usr/bin/env bash
# More than one server: two httpd instances, A and B, share flow records through
# httpd's socache providers for Redis and memcached (a callback on B completes a Connect made on
# A; a replay or a simultaneous second callback is refused); with shmcb they cannot; each store
# is stopped mid-run and started again (503 STORE_UNAVAILABLE, then recovery); Redis is frozen.
# Findings and the tuning used here: docs/deployment.md.
# Starts its own redis-server, memcached, the two fakes and both httpds on free loopback ports,
# and stops every one of them when it ends. Run from the repository root: tests/multi/run.sh
# KEEP=1 keeps the work directory (configurations and logs) for a look afterwards.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/multi"
module="$top/.libs/mod_blinkauth.so"
mods=/usr/lib/apache2/modules
httpd=/usr/sbin/apache2
pass=0 fail=0
declare -A PID=()
PORTS=()
ALL_PIDS=()
# The socache providers' tuning on both servers (see docs/deployment.md): idle connections are
# dropped after 1 s, so that none survives a restart of the store to fail requests later.
# MULTI_UNTUNED=1 runs with the providers' defaults instead (15 s), to compare: expect failures.
REDIS_TUNING=("RedisConnPoolTTL 1")
MEMCACHE_TUNING=("MemcacheConnTTL 1")
[ "${MULTI_UNTUNED:-0}" = 1 ] && REDIS_TUNING=() MEMCACHE_TUNING=()

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
for cmd in redis-server memcached python3; do
    command -v "$cmd" >/dev/null || { bad "missing $cmd (scripts/deps.sh)"; summary; exit 1; }
done

started=$(date +%s)
work=$(mktemp -d "${TMPDIR:-/tmp}/blinkauth-multi.XXXXXX")
chmod 755 "$work"
as_root=0
[ "$(id -u)" = 0 ] && as_root=1

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
LoadModule blinkauth_module "$module"
CONF
        [ $as_root = 1 ] && printf 'User www-data\nGroup www-data\n'
        printf '%s\n' "$@"
        cat <<CONF
BlinkAuthCache $cache
# Both servers seal flow records with the same key, or neither could take the other's.
BlinkAuthStateKey "multi-server-shared-state-key-0123456789abcdef"
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
    BlinkAuthAccountIDClaim    email
    BlinkAuthTimeout           5
    BlinkAuthRedirectURI       http://127.0.0.1:$port_b/blink/callback
</Location>
CONF
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

# Connect on A as USER, through the provider; sets CB (the callback URL the browser is sent to).
start_flow() {
    local user=$1 status ms code url
    read -r status ms code url < <(client connect "$base_a" "$user")
    [ "$status" = 200 ] || { DETAIL="connect on A: $status $code"; return 1; }
    read -r status CB < <(client authorize "$url")
    [ "$status" = 302 ] || { DETAIL="authorize: $status"; return 1; }
    [[ $CB == "http://127.0.0.1:$port_b/blink/callback?"*state=* ]] || { DETAIL="callback URL $CB"; return 1; }
}

# The shared-store cases for one cache: Connect on A, callback on B, replay on A, a race.
shared_store_cases() {
    local store=$1 user="u-$1" status ms title before_ex a b race_cb
    if ! start_flow "$user"; then bad "$store: Connect on A and authorize at the provider ($DETAIL)"; return; fi
    ok "$store: Connect on A, the provider sends the browser to B"
    read -r status ms title < <(client get "$CB")
    DETAIL="callback on B: $status $title"
    check "$store: callback on B completes the flow started on A (200 Connected)" \
        test "$status $title" = "200 Connected"
    DETAIL="accounts: $(accounts "$user")"
    check "$store: the fake Blink holds the linked account" test "$(accounts "$user")" = 1

    before_ex=$(exchanges)
    read -r status ms title < <(client get "${CB/127.0.0.1:$port_b\//127.0.0.1:$port_a/}")
    DETAIL="replay on A: $status $title"
    check "$store: replaying the callback on A gets the 400 expired page" \
        test "$status $title" = "400 This link has expired"
    DETAIL="accounts $(accounts "$user"), code exchanges $before_ex -> $(exchanges)"
    check "$store: the replay saves nothing and exchanges no code" \
        test "$(accounts "$user") $(exchanges)" = "1 $before_ex"

    # Two browsers bring the same callback to A and B at once: exactly one may win.
    if ! start_flow "$user-race"; then bad "$store: Connect for the race ($DETAIL)"; return; fi
    race_cb=$CB
    before_ex=$(exchanges)
    read -r a b < <(client race "${race_cb/127.0.0.1:$port_b\//127.0.0.1:$port_a/}" "$race_cb")
    DETAIL="A answered $a, B answered $b"
    check "$store: the same callback on A and B at once: one 200, one 400" \
        test "$(printf '%s\n' "$a" "$b" | sort | tr '\n' ' ')" = "200 400 "
    DETAIL="accounts $(accounts "$user-race"), code exchanges $before_ex -> $(exchanges)"
    check "$store: ... and exactly one account saved, one code exchanged" \
        test "$(accounts "$user-race") $(exchanges)" = "1 $((before_ex + 1))"
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
    local status ms code url title back first_ok="" attempts=0 wait_ms all_ok=1
    [ "$store" = memcache ] && { name=memcached; port=$memcached_port; }
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
    check "$store outage: ... promptly (slowest ${worst} ms; BlinkAuthTimeout is 5 s)" test "$worst" -lt 1000
    read -r status ms title < <(client get "$pending_cb")
    DETAIL="$status $title in $ms ms"
    check "$store outage: a callback answers at once, with a page ($status: $title)" \
        test \( "$status" = 400 -o "$status" = 503 \) -a "${ms:-99999}" -lt 1000

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
echo "# redis on 127.0.0.1:$redis_port; A on $port_a, B on $port_b"
if servers_start "redis:127.0.0.1:$redis_port" "${REDIS_TUNING[@]}"; then
    shared_store_cases redis
    outage_cases redis
    hung_store_case
    check "redis phase: no httpd child died of a signal (error logs)" no_crash
fi
servers_stop || bad "httpd A or B still listening after stop"

# ===== memcached =====
echo "# memcached on 127.0.0.1:$memcached_port"
if servers_start "memcache:127.0.0.1:$memcached_port" "${MEMCACHE_TUNING[@]}"; then
    shared_store_cases memcache
    outage_cases memcache
    check "memcache phase: no httpd child died of a signal (error logs)" no_crash
fi
servers_stop || bad "httpd A or B still listening after stop"

# ===== shmcb on each server: nothing is shared =====
echo "# shmcb on each server"
if servers_start shmcb; then
    user=u-shmcb
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
        bad "shmcb: Connect on A and authorize at the provider ($DETAIL)"
    fi
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
