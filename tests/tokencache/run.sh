#!/usr/bin/env bash
# The token cache in a real httpd: BlinkAuthTokenCache shmcb (copies shared by the children, kept across a graceful
# restart), the per-user refresh lock (the default mutex and fcntl), and BlinkAuthTokenCache redis shared by two
# servers (a copy saved on one is read on the other, not readable in Redis; the refresh lease held by one makes the
# other wait; a copy altered in Redis reads as none; BlinkAuthTokenKey new old reads the old key's copies).
# Until the request logic calls it, mod_tokencache_probe.c (a test-only module, built here) calls the API for us.
# Starts its own redis-server and httpds on TOKENCACHE_PORT (default 8610) to TOKENCACHE_PORT + 3, and stops them.
# KEEP=1 keeps the work directory.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
here="$top/tests/tokencache"
module="$top/.libs/mod_blinkauth.so"
mods=/usr/lib/apache2/modules
httpd=/usr/sbin/apache2
base=${TOKENCACHE_PORT:-8610}
redis_port=$base port_a=$((base + 1)) port_b=$((base + 2)) port_c=$((base + 3))
pass=0 fail=0
declare -A PID=()

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
summary() { echo "tokencache: $pass passed, $fail failed"; }
# check NAME WANT GOT: passes when GOT is WANT.
check() { if [ "$3" = "$2" ]; then ok "$1"; else bad "$1 (wanted '$2', got '$3')"; fi; }

for cmd in apxs redis-server redis-cli curl; do
    command -v "$cmd" >/dev/null || { bad "missing $cmd (scripts/deps.sh)"; summary; exit 1; }
done
[ -e "$module" ] || { bad "missing $module (make)"; summary; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/blinkauth-tokencache.XXXXXX")
chmod 755 "$work"
as_root=0
[ "$(id -u)" = 0 ] && as_root=1

# Stops one process this script started: TERM, then KILL after 10 s.
stop_pid() {
    local pid=${PID[$1]:-} i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    unset "PID[$1]"
}
cleanup() {
    local name
    for name in "${!PID[@]}"; do stop_pid "$name"; done
    [ "${KEEP:-0}" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until something listens on port (up to 10 s).
wait_port() { python3 "$top/tests/multi/client.py" wait-port "$1" 10; }

# The probe module, built against this tree's headers.
mkdir -p "$work/probe"
cp "$here/mod_tokencache_probe.c" "$work/probe/"
if ! (cd "$work/probe" && apxs -c -I"$top/glue" -I"$top/modules" mod_tokencache_probe.c >build.log 2>&1); then
    bad "the probe module does not build:"; sed 's/^/     /' "$work/probe/build.log" | tail -20; summary; exit 1
fi

# The keys: A's, and another for the rotation.
key_old="the-key-of-server-a-with-more-than-32-characters"
key_new="the-key-that-replaces-it-with-more-than-32-chars"

# Writes server NAME's configuration: port, key line, then extra server directives.
httpd_conf() {
    local name=$1 port=$2 keyline=$3 dir="$work/$1"; shift 3
    mkdir -p "$dir/run" "$dir/htdocs" "$dir/locks"
    [ $as_root = 1 ] && chown -R www-data:www-data "$dir"
    {
        cat <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
PidFile "$dir/run/httpd.pid"
DefaultRuntimeDir "$dir/run"
DocumentRoot "$dir/htdocs"
ErrorLog "$dir/error_log"
LogLevel info blinkauth:debug
Listen 127.0.0.1:$port
StartServers 2
ServerLimit 2
ThreadsPerChild 8
MaxRequestWorkers 16
$(for m in mpm_event authz_core socache_shmcb socache_redis; do echo "LoadModule ${m}_module $mods/mod_$m.so"; done)
LoadModule blinkauth_module "$module"
LoadModule tokencache_probe_module "$work/probe/.libs/mod_tokencache_probe.so"
CONF
        [ $as_root = 1 ] && printf 'User www-data\nGroup www-data\n'
        printf '%s\n' "$@"
        cat <<CONF
<Location /blink>
    SetHandler blinkauth
    BlinkAuthID            a-1234
    BlinkAuthProxySecret   s3cret
    BlinkAuthAPIToken      api-token
    BlinkAuthClientID      client
    BlinkAuthAuthorizeURL  https://idp.example/authorize
    BlinkAuthTokenURL      https://idp.example/token
    BlinkAuthTokenCheck    Off
    BlinkAuthTimeout       5
    $keyline
</Location>
<Location /blink/probe>
    SetHandler blinkauth-tokencache-probe
</Location>
CONF
    } >"$dir/httpd.conf"
}

# Starts server NAME on PORT with key line KEYLINE and extra directives; 1 when it does not answer.
start() {
    local name=$1 port=$2
    httpd_conf "$@"
    "$httpd" -f "$work/$name/httpd.conf" -DFOREGROUND </dev/null >>"$work/$name/stdout" 2>&1 &
    PID[$name]=$!
    if ! wait_port "$port" || ! ready "$name" 0; then
        sed 's/^/     /' "$work/$name/stdout" "$work/$name/error_log" 2>/dev/null | tail -20
        return 1
    fi
}
# Waits (up to 10 s) until server NAME's error log has more than N "resuming normal operations" lines: its
# post_config (whose start-up lines the cases read) is done, and the children run.
ready() {
    local i
    for i in $(seq 1 100); do
        [ "$(grep -c 'resuming normal operations' "$work/$1/error_log" 2>/dev/null)" -gt "$2" ] && return 0
        sleep 0.1
    done
    return 1
}
# Stops server NAME.
stop() { stop_pid "$1"; }

# The probe's answer on PORT for the query.
probe() { curl -s --max-time 20 "http://127.0.0.1:$1/blink/probe?$2"; }

# Asks the probe at PORT for op=lock (or lease) of USER until the answer is TIMEUP (another holds it), for 5 s;
# prints that answer, or the last one.
until_held() {
    local port=$1 op=$2 user=$3 i answer
    for i in $(seq 1 50); do
        answer=$(probe "$port" "op=$op&user=$user&wait=0")
        [[ $answer == 70007* ]] && break
        sleep 0.1
    done
    echo "$answer"
}

# Two users whose refresh locks are different stripes: APR's default hash of "a-1234\n<user>" modulo 16.
stripe() {
    python3 -c 'import sys
h = 0
for b in ("a-1234\n" + sys.argv[1]).encode(): h = (h * 33 + b) & 0xffffffff
print(h % 16)' "$1"
}
other=u-3
while [ "$(stripe "$other")" = "$(stripe u-2)" ]; do other="$other-x"; done

# The refresh lock of u-2 on PORT: held by one request, another waiting 0 ms times out, another user is not held
# up, and a request that waits long enough has it once the holder lets go.
lock_cases() {
    local what=$1 port=$2 holder
    probe "$port" "op=lock&user=u-2&wait=0&hold=3000" >"$work/holder.out" &
    holder=$!
    check "$what: while a request holds u-2's refresh lock, another of u-2 does not have it (APR_TIMEUP)" \
        70007 "$(until_held "$port" lock u-2)"
    check "$what: ... while $other (another stripe) has his at once" 0 "$(probe "$port" "op=lock&user=$other&wait=0")"
    check "$what: ... and one that waits up to 10 s has it once the holder let go" 0 \
        "$(probe "$port" "op=lock&user=u-2&wait=10000")"
    wait "$holder"
    check "$what: the holder had it" 0 "$(cat "$work/holder.out")"
}

# --- One server, shmcb.
if start S "$port_a" "BlinkAuthTokenKey \"$key_old\"" "BlinkAuthTokenCache shmcb"; then
    ok "shmcb: httpd starts with BlinkAuthTokenCache shmcb and BlinkAuthTokenKey"
    check "shmcb: the start-up line (BLA00951)" 1 \
        "$(grep -c 'BLA00951: token cache: shmcb in 8 shards of 524288 bytes (new); locks: ' "$work/S/error_log")"
    check "shmcb: enabled for the app, not shared" "1 0" "$(probe "$port_a" op=state)"
    check "shmcb: no copy yet (APR_NOTFOUND)" 70015 "$(probe "$port_a" "op=get&user=u-1")"
    check "shmcb: a copy saved" 0 "$(probe "$port_a" "op=put&user=u-1&at=AT-1&rt=RT-1&exp=1790000000")"
    answers=$(for i in 1 2 3 4 5 6 7 8; do probe "$port_a" "op=get&user=u-1"; done | sort -u)
    check "shmcb: read back by 8 requests (both children): tokens, expiry, synced" "0 AT-1 RT-1 1790000000 1" "$answers"
    check "shmcb: another user has none" 70015 "$(probe "$port_a" "op=get&user=u-9")"
    check "shmcb: dropped" 0 "$(probe "$port_a" "op=remove&user=u-1")"
    check "shmcb: ... then none" 70015 "$(probe "$port_a" "op=get&user=u-1")"
    check "shmcb: ... and dropping it again finds none" 70015 "$(probe "$port_a" "op=remove&user=u-1")"
    lock_cases "shmcb, default mutex" "$port_a"
    check "shmcb: a copy saved before a graceful restart" 0 "$(probe "$port_a" "op=put&user=u-5&at=AT-5")"
    lines=$(wc -l <"$work/S/error_log")
    "$httpd" -f "$work/S/httpd.conf" -k graceful
    ready S 1
    check "shmcb: after the graceful restart, the token cache was kept (BLA00951)" 1 \
        "$(tail -n +"$((lines + 1))" "$work/S/error_log" | grep -c 'BLA00951: .*(kept from the last generation)')"
    check "shmcb: ... and the copy is still read" "0 AT-5 - 0 1" "$(probe "$port_a" "op=get&user=u-5")"
    stop S
else
    bad "shmcb: httpd does not start with BlinkAuthTokenCache shmcb"
fi

# --- fcntl locks (Mutex file:), for the refresh lock and the shmcb store's.
if start F "$port_a" "BlinkAuthTokenKey \"$key_old\"" "Mutex file:$work/F/locks blinkauth-refresh blinkauth-tokens"; then
    check "fcntl: the refresh locks are file locks (BLA00963)" 1 \
        "$(grep -c 'BLA00963: refresh locks: 16, fcntl' "$work/F/error_log")"
    check "fcntl: a copy saved and read" "0 AT-F - 0 1" \
        "$(probe "$port_a" "op=put&user=u-1&at=AT-F" >/dev/null; probe "$port_a" "op=get&user=u-1")"
    lock_cases "fcntl" "$port_a"
    stop F
else
    bad "fcntl: httpd does not start with Mutex file: for blinkauth-refresh and blinkauth-tokens"
fi

# --- No key: no token cache, the refresh lock still there.
if start N "$port_a" "" "BlinkAuthTokenCache shmcb"; then
    check "no key: no token cache made (BLA00953), not enabled" "1 0 0" \
        "$(grep -c 'BLA00953' "$work/N/error_log") $(probe "$port_a" op=state)"
    check "no key: get finds none, put is refused (APR_ENOTIMPL)" "70015 70023" \
        "$(probe "$port_a" "op=get&user=u-1") $(probe "$port_a" "op=put&user=u-1&at=x")"
    check "no key: the refresh lock works" 0 "$(probe "$port_a" "op=lock&user=u-1&wait=100")"
    stop N
else
    bad "no key: httpd does not start"
fi

# --- Two servers sharing Redis; a third with the new key and A's as the previous one.
mkdir -p "$work/redis"
redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no --dir "$work/redis" \
    --logfile "$work/redis/redis.log" --daemonize no </dev/null >/dev/null 2>&1 &
PID[redis]=$!
rcli() { redis-cli -p "$redis_port" "$@"; }
# The ids of Redis keys (one a line, "<namespace>:<hex>"), decoded.
ids() { python3 -c 'import sys
for line in sys.stdin: print(bytes.fromhex(line.strip().split(":", 1)[1]).decode())'; }
if ! wait_port "$redis_port"; then
    bad "redis-server did not start on $redis_port"; summary; exit 1
fi
redis=("BlinkAuthTokenCache redis:127.0.0.1:$redis_port" "RedisConnPoolTTL 1")
if start A "$port_a" "BlinkAuthTokenKey \"$key_old\"" "${redis[@]}" &&
    start B "$port_b" "BlinkAuthTokenKey \"$key_old\"" "${redis[@]}" &&
    start C "$port_c" "BlinkAuthTokenKey \"$key_new\" \"$key_old\"" "${redis[@]}"; then
    ok "redis: three httpds start with BlinkAuthTokenCache redis"
    check "redis: the start-up line (BLA00952)" 1 "$(grep -c 'BLA00952: token cache: redis, which other servers may share' "$work/A/error_log")"
    check "redis: enabled, shared" "1 1" "$(probe "$port_a" op=state)"
    check "redis: a copy saved on A" 0 "$(probe "$port_a" "op=put&user=u-r&at=AT-R&rt=RT-R&exp=1790000001")"
    check "redis: ... read on B" "0 AT-R RT-R 1790000001 1" "$(probe "$port_b" "op=get&user=u-r")"
    # mod_socache_redis keeps a record under "<namespace>:<the id in hex>".
    keys=$(rcli --scan)
    check "redis: one record, under the token cache's namespace" 1 "$(grep -c '^mod_blinkauth-tokens:' <<<"$keys")"
    id=$(ids <<<"$keys")
    check "redis: its id is blinkauth:tok:<43 characters>, no user id in it" "1 0" \
        "$(grep -cE '^blinkauth:tok:[A-Za-z0-9_-]{43}$' <<<"$id") $(grep -c 'u-r' <<<"$id")"
    check "redis: no token readable in the record" 0 "$(rcli get "$(head -1 <<<"$keys")" | grep -cE 'AT-R|RT-R')"
    # The lease: A holds it 3 s; B does not get it at once, then does once A gave it up. A waits for it: B's looking
    # (until_held) takes it for a moment whenever it comes before A's claim.
    probe "$port_a" "op=lease&user=u-r&wait=5000&hold=3000" >"$work/lease.out" &
    holder=$!
    check "redis: while A holds u-r's refresh lease, B does not have it (APR_TIMEUP)" "70007 0" \
        "$(until_held "$port_b" lease u-r)"
    check "redis: ... B has another user's at once" "0 1" "$(probe "$port_b" "op=lease&user=u-other&wait=0")"
    check "redis: ... and B, waiting up to 10 s, has it once A gave it up" "0 1" \
        "$(probe "$port_b" "op=lease&user=u-r&wait=10000")"
    wait "$holder"
    check "redis: A had it" "0 1" "$(cat "$work/lease.out")"
    check "redis: no lease left" 0 "$(rcli --scan --pattern 'lease:*' | wc -l)"
    # Key rotation: C reads A's copy with its previous key, saves under its new one (and drops the old-named copy).
    check "rotation: C (new key, A's as previous) reads A's copy" "0 AT-R RT-R 1790000001 1" \
        "$(probe "$port_c" "op=get&user=u-r")"
    check "rotation: C saves it again under its new key" 0 "$(probe "$port_c" "op=put&user=u-r&at=AT-C")"
    check "rotation: ... C reads that, and A (old key only) finds none" "0 AT-C - 0 1|70015" \
        "$(probe "$port_c" "op=get&user=u-r")|$(probe "$port_a" "op=get&user=u-r")"
    # A record altered in Redis: read as none, logged at info.
    before=$(rcli --scan | sort)
    probe "$port_a" "op=put&user=u-t&at=AT-T" >/dev/null
    tampered=$(comm -13 <(echo "$before") <(rcli --scan | sort) | head -1)
    sealed=$(rcli get "$tampered")
    flipped=A
    [ "${sealed:20:1}" = A ] && flipped=B
    rcli set "$tampered" "${sealed:0:20}$flipped${sealed:21}" >/dev/null
    check "redis: a copy altered in Redis (one character) reads as none on B (APR_NOTFOUND)" 70015 \
        "$(probe "$port_b" "op=get&user=u-t")"
    check "redis: ... logged at info (BLA00954)" 1 \
        "$(grep -c 'BLA00954: token cache: the copy of this user is unusable' "$work/B/error_log")"
    stop A; stop B; stop C
else
    bad "redis: the httpds do not all start with BlinkAuthTokenCache redis"
fi

# No token and no key in any log line.
check "no token or key in the error logs" 0 \
    "$(cat "$work"/*/error_log | grep -cE 'AT-[0-9A-Z]|RT-[0-9A-Z]|the-key-')"
summary
[ $fail -eq 0 ]
