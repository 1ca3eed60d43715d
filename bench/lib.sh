# Sourced by bench/bench.sh and bench/load.sh: the benchmark httpd (event MPM + the module as
# built), the fast fakes, and small helpers.  Ports: BENCH_PORT (httpd), +1 provider fake,
# +2 Blink fake, +3 the fakes' control port.

BENCH_TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH_PORT=${BENCH_PORT:-8801}
FAKE_PROVIDER_PORT=$((BENCH_PORT + 1))
FAKE_BLINK_PORT=$((BENCH_PORT + 2))
FAKE_CONTROL_PORT=$((BENCH_PORT + 3))
BENCH_WORK=${BENCH_WORK:-$BENCH_TOP/build/bench}
BENCH_BIN=$BENCH_TOP/build/bench-bin
BENCH_MODULE=${BENCH_MODULE:-$BENCH_TOP/.libs/mod_blinkauth.so}
HTTPD=${HTTPD:-/usr/sbin/apache2}
MODDIR=/usr/lib/apache2/modules
# 2 children × 50 threads: 50 client connections never make every worker busy.  With 2 × 25,
# the event MPM closed kept-alive connections whenever all workers were busy, and wrk counted a
# few hundred "read" socket errors per 10 s run (the static file as well as Connect).
THREADS_PER_CHILD=50
SERVERS=2
WORKER_THREADS=$((THREADS_PER_CHILD * SERVERS))
BENCH_MPM=${BENCH_MPM:-event}            # event (make bench) or worker
BENCH_KEEPALIVE=${BENCH_KEEPALIVE:-On}
# BENCH_TLS=1: the fakes speak TLS with a certificate of a test CA the bench makes (tests/lib/test-ca.sh), and the
# app trusts it through BlinkAuthCAFile.
BENCH_TLS=${BENCH_TLS:-0}
BENCH_CA_DIR=$BENCH_TOP/build/bench-ca
FAKES_PID=

BENCH_NOOP=$BENCH_BIN/noop/.libs/mod_bench_noop.so

# Builds the fast fakes, the callback/Disconnect driver and the no-op handler module (apxs).
bench_build_tools() {
    mkdir -p "$BENCH_BIN/noop"
    cp "$BENCH_TOP/bench/mod_bench_noop.c" "$BENCH_BIN/noop/"
    cc -O2 -Wall -Wextra -pthread -o "$BENCH_BIN/fastfake" "$BENCH_TOP/bench/fastfake.c" -lssl -lcrypto &&
        cc -O2 -Wall -Wextra -pthread -o "$BENCH_BIN/driver" "$BENCH_TOP/bench/driver.c" -lssl -lcrypto &&
        (cd "$BENCH_BIN/noop" && apxs -c -Wc,-Wall -Wc,-Wextra -Wc,-Wno-unused-parameter mod_bench_noop.c \
            >apxs.log 2>&1 || { cat apxs.log >&2; exit 1; })
}

# The scheme of the fakes' URLs.
bench_fake_scheme() {
    [ "$BENCH_TLS" = 1 ] && echo https || echo http
}

# The <Location> of one app at path with Auth ID auth_id, against the fakes.
bench_app_location() {
    local path=$1 auth_id=$2 scheme ca=""
    scheme=$(bench_fake_scheme)
    [ "$BENCH_TLS" = 1 ] && ca="BlinkAuthCAFile            \"$BENCH_CA_DIR/ca.pem\""
    cat <<CONF
    <Location $path>
        SetHandler blinkauth
        BlinkAuthID                $auth_id
        BlinkAuthProxySecret       "bench-proxy-secret"
        BlinkAuthAPIToken          "bench-api-token"
        BlinkAuthAPIURL            $scheme://127.0.0.1:$FAKE_BLINK_PORT
        BlinkAuthClientID          "bench-client"
        BlinkAuthClientSecret      "bench-client-secret"
        BlinkAuthAuthorizeURL      https://idp.example/oauth/authorize
        BlinkAuthTokenURL          $scheme://127.0.0.1:$FAKE_PROVIDER_PORT/token
        BlinkAuthUserInfoURL       $scheme://127.0.0.1:$FAKE_PROVIDER_PORT/userinfo
        BlinkAuthRevokeURL         $scheme://127.0.0.1:$FAKE_PROVIDER_PORT/revoke
        $ca
        BlinkAuthScope             "openid email offline_access"
        BlinkAuthAccountIDClaim    email
        BlinkAuthTimeout           5
    </Location>
CONF
}

# Writes the httpd configuration: one <VirtualHost> serving the app under /blink (Auth ID a-1234), the no-op handler
# under /noop and static files.  BENCH_APPS=N adds apps 2..N under /app-K (Auth ID a-K), after the first;
# BENCH_MUTEX=file puts the flow store's mutexes on fcntl locks (Mutex file:<dir>); BENCH_CACHE sets BlinkAuthCache.
bench_write_conf() {
    local user="" extra="" k
    mkdir -p "$BENCH_WORK/htdocs" "$BENCH_WORK/logs"
    [ "$(id -u)" = 0 ] && user=$'User www-data\nGroup www-data'
    [ "$(id -u)" = 0 ] && chown www-data "$BENCH_WORK/logs"
    if [ "${BENCH_MUTEX:-default}" = file ]; then
        mkdir -p "$BENCH_WORK/locks"
        [ "$(id -u)" = 0 ] && chown www-data "$BENCH_WORK/locks"
        extra="Mutex file:$BENCH_WORK/locks blinkauth-flow"
    fi
    case "${BENCH_CACHE:-}" in
    redis:*) extra+=$'\n'"LoadModule socache_redis_module $MODDIR/mod_socache_redis.so"$'\n'"BlinkAuthCache ${BENCH_CACHE}" ;;
    ?*) extra+=$'\n'"BlinkAuthCache \"${BENCH_CACHE}\"" ;;
    esac
    {
        cat <<CONF
ServerRoot "$BENCH_WORK"
ServerName 127.0.0.1
PidFile "$BENCH_WORK/httpd.pid"
ErrorLog "$BENCH_WORK/logs/error_log"
LogLevel ${BENCH_LOGLEVEL:-warn}
Listen 127.0.0.1:$BENCH_PORT
$user
LoadModule mpm_${BENCH_MPM}_module $MODDIR/mod_mpm_${BENCH_MPM}.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule mime_module $MODDIR/mod_mime.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule blinkauth_module "$BENCH_MODULE"
<IfFile "$BENCH_NOOP">
    LoadModule bench_noop_module "$BENCH_NOOP"
</IfFile>
TypesConfig /etc/mime.types
AddType "application/json; charset=utf-8" .json
DefaultRuntimeDir "$BENCH_WORK/logs"
$extra

StartServers            $SERVERS
# Spare scoreboard slots: during a graceful restart the old children keep theirs while they finish,
# and with ServerLimit = StartServers the new generation had to wait for them (requests > 2 s).
ServerLimit             $((SERVERS * 2))
ThreadsPerChild         $THREADS_PER_CHILD
MaxRequestWorkers       $WORKER_THREADS
MinSpareThreads         10
MaxSpareThreads         $WORKER_THREADS
MaxConnectionsPerChild  0
KeepAlive               $BENCH_KEEPALIVE
MaxKeepAliveRequests    0
KeepAliveTimeout        15
Timeout                 30
# Graceful restarts: let old children finish what they have in hand.
GracefulShutdownTimeout 30

# As Debian's apache2.conf: no .htaccess lookups, nothing outside the DocumentRoot.
<Directory />
    AllowOverride None
    Require all denied
</Directory>

<VirtualHost 127.0.0.1:$BENCH_PORT>
    DocumentRoot "$BENCH_WORK/htdocs"
    <Directory "$BENCH_WORK/htdocs">
        Require all granted
    </Directory>
CONF
        bench_app_location /blink a-1234
        for k in $(seq 2 "${BENCH_APPS:-1}"); do
            bench_app_location "/app-$k" "a-$k"
        done
        cat <<CONF
    # The limit: a handler that answers the bytes of a Connect answer from memory (bench/mod_bench_noop.c), once
    # bench.sh has saved one (it restarts httpd after that).
    <IfFile "$BENCH_WORK/htdocs/connect.json">
        <IfModule bench_noop_module>
            <Location /noop>
                SetHandler bench-noop
                BenchNoopBody "$BENCH_WORK/htdocs/connect.json"
            </Location>
        </IfModule>
    </IfFile>
</VirtualHost>
CONF
    } >"$BENCH_WORK/httpd.conf"
}

# Waits until something answers on a loopback port (up to 10 s).
bench_wait_port() {
    local i
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    echo "nothing listens on 127.0.0.1:$1" >&2
    return 1
}

# Starts httpd (event MPM) and waits for its children.
bench_httpd_start() {
    rm -f "$BENCH_WORK/httpd.pid"
    "$HTTPD" -f "$BENCH_WORK/httpd.conf" -k start || return 1
    bench_wait_port "$BENCH_PORT" || return 1
    sleep 0.5
}

# Stops httpd and waits until its parent is gone.
bench_httpd_stop() {
    local pid i
    [ -s "$BENCH_WORK/httpd.pid" ] || return 0
    pid=$(cat "$BENCH_WORK/httpd.pid")
    "$HTTPD" -f "$BENCH_WORK/httpd.conf" -k stop 2>/dev/null
    for i in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    rm -f "$BENCH_WORK/httpd.pid"
}

# Pids of httpd's children (not the parent).
bench_children() {
    local parent
    parent=$(cat "$BENCH_WORK/httpd.pid" 2>/dev/null) || return 0
    pgrep -P "$parent" | tr '\n' ' '
}

# Starts the fast fakes (with TLS and a fresh test CA when BENCH_TLS=1).
bench_fakes_start() {
    local tls=()
    if [ "$BENCH_TLS" = 1 ]; then
        "$BENCH_TOP/tests/lib/test-ca.sh" "$BENCH_CA_DIR" || return 1
        tls=("$BENCH_CA_DIR/server.pem" "$BENCH_CA_DIR/server.key")
    fi
    "$BENCH_BIN/fastfake" "$FAKE_PROVIDER_PORT" "$FAKE_BLINK_PORT" "$FAKE_CONTROL_PORT" "${tls[@]}" &
    FAKES_PID=$!
    bench_wait_port "$FAKE_CONTROL_PORT"
}

# Stops the fast fakes (by the pid this script started).
bench_fakes_stop() {
    [ -n "$FAKES_PID" ] && kill "$FAKES_PID" 2>/dev/null && wait "$FAKES_PID" 2>/dev/null
    FAKES_PID=
}

# The fakes' counters as "provider_accepts provider_requests blink_accepts blink_requests provider_tls_full
# provider_tls_resumed blink_tls_full blink_tls_resumed".
bench_fakes_stats() {
    curl -s "http://127.0.0.1:$FAKE_CONTROL_PORT/${1:-stats}" |
        python3 -c 'import json,sys; d=json.load(sys.stdin); print(*(d[k] for k in ("provider_accepts", "provider_requests", "blink_accepts", "blink_requests", "provider_tls_full", "provider_tls_resumed", "blink_tls_full", "blink_tls_resumed")))'
}

# Stops everything this script started.
bench_cleanup() {
    bench_httpd_stop
    bench_fakes_stop
}

# One Connect call with curl; prints the body.
bench_connect_once() {
    curl -s -X POST -H 'blink-auth-proxysecret: bench-proxy-secret' -H 'blink-auth-userid: u-42' \
        "http://127.0.0.1:$BENCH_PORT/blink/auth/a-1234"
}

# CPU time (user + system, in clock ticks) used so far by httpd's children.
bench_children_cpu() {
    local pid total=0 t
    for pid in $(bench_children); do
        t=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) && total=$((total + t))
    done
    echo "$total"
}

# Runs wrk with bench/count.lua until QUOTA answers (wrk's own -d would keep it running: a thread
# that stops at its quota does not end wrk); prints wrk's output.
# Usage: bench_wrk_quota QUOTA THREADS CONNS [wrk options...]   (env: BENCH_PATH, BENCH_METHOD)
bench_wrk_quota() {
    local quota=$1 threads=$2 conns=$3 done_dir out pid n
    shift 3
    done_dir=$(mktemp -d)
    out=$(mktemp)
    BENCH_QUOTA=$quota BENCH_THREADS=$threads BENCH_DONE_DIR=$done_dir \
        wrk -t"$threads" -c"$conns" -d3600s "$@" -s "$BENCH_TOP/bench/count.lua" "http://127.0.0.1:$BENCH_PORT" >"$out" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        n=$(find "$done_dir" -type f | wc -l)
        [ "$n" -ge "$threads" ] && kill -INT "$pid" 2>/dev/null
        sleep 0.1
    done
    wait "$pid"
    cat "$out"
    rm -rf "$done_dir" "$out"
}

# A child's resident memory in KB: "RSS ANON", ANON being its private anonymous memory (heap, stacks):
# RSS also counts the pages of shared memory (the flow store) the child has touched so far.
bench_child_mem() {
    echo "$(ps -o rss= -p "$1" | tr -d ' ') $(awk '/^Anonymous:/ {print $2}' "/proc/$1/smaps_rollup" 2>/dev/null)"
}
