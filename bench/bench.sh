#!/usr/bin/env bash
# make bench: mod_blinkauth measured against the limit — what httpd itself costs a request — side by side in one run,
# contenders alternated; medians and min–max go to bench/results.md and bench/throughput.png.  Not part of make
# test: the figures depend on the machine (and on what else it runs: see the load noted in the results).
#
#  1. The limit: Connect (POST /blink/auth/a-1234) against the no-op handler (bench/mod_bench_noop.c: the same
#     answer's bytes and headers from memory, the same map_to_storage short-cut) and a static file of the same
#     bytes, all from one httpd: wrk, 50 connections, BENCH_LIMIT_SECS (2) seconds each (the first round's each after
#     a BENCH_WARMUP (1) s warm-up), BENCH_LIMIT_ROUNDS rounds (24), each the static file, then the no-op handler and
#     Connect in turn first; once with the default mutex, once with `Mutex file:` (fcntl locks).
#  2. Callback and Disconnect against fast local fakes (bench/fastfake.c): the fakes' own cost (the same upstream
#     requests sent straight to them), the latency through httpd (and the no-op handler's: httpd's own share), and
#     new connections per 1,000 at 50 clients, cold and warm, with httpd's CPU per callback.
#  3. The same callbacks over TLS: the fakes with a certificate of a test CA made here (BlinkAuthCAFile), the
#     handshakes they count (full, resumed) cold, warm, and after every kept connection was closed (reconnect).
#  4. Memory: bytes taken from the request pool per Connect call (bench/poolcount.c, LD_PRELOAD into a
#     single-process httpd), and each child's RSS after a warm-up, BENCH_MEM_CALLS Connect calls and as many more.
#  5. With BENCH_SCALE=1: apps (1, 20, 200 <Location>s, each its own Auth ID: configuration memory per app, Connect
#     to the last one against the no-op handler) and pending flows (10, 10,000, 100,000 in shmcb and in Redis:
#     Connect rate and memory per pending flow).
#  6. With "h2" in BENCH_PARTS (not by default): HTTP/2 or HTTP/1.1 to a TLS upstream (an httpd with mod_http2).
#
# Environment: BENCH_PORT (8801; +1..+3 the fakes, +4 redis, +5 the h2 upstream), BENCH_ROUNDS (3), BENCH_SECS (5: the other parts' wrk runs), BENCH_CB_N (callbacks
# per latency run, 2000), BENCH_CB_N50 (per connection count, 5000), BENCH_MEM_CALLS (100000), BENCH_MUTEXES
# ("default file"), BENCH_KEEPALIVE_REQUESTS (100: the TLS fakes' keep-alive request limit in one run), BENCH_PARTS ("limit flows tls memory", + "scale" with BENCH_SCALE=1), BENCH_SCALE_APPS
# ("1 20 200"), BENCH_SCALE_FLOWS ("10 10000 100000"), BENCH_OUT (bench/results.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
# The limit's rounds and seconds per run: BENCH_LIMIT_ROUNDS, else BENCH_ROUNDS made even (see part_limit), at least 24,
# of BENCH_LIMIT_SECS each. This shared machine's speed drifts within seconds: a ratio of two short runs side by side
# moves more than one of two long runs, but the median of many such pairs moves less (two sections of one run, where
# Connect takes no mutex at all, gave medians 0.94 and 0.87 with 8 rounds of 5 s, 0.91 and 0.90 with 16 of 2 s). Only
# the first round warms up: after it the server is warm, and 24 rounds take the time 16 with warm-ups took.
LIMIT_ROUNDS=${BENCH_LIMIT_ROUNDS:-$(( ROUNDS < 24 ? 24 : ROUNDS + ROUNDS % 2 ))}
LIMIT_SECS=${BENCH_LIMIT_SECS:-2}
SECS=${BENCH_SECS:-5}
# wrk's warm-up before each timed run (in the limit part, the first round's only), in seconds; 0 for none.
WARMUP=${BENCH_WARMUP:-1}
CONNS=50
WRK_THREADS=1
CB_N=${BENCH_CB_N:-2000}
CB_N50=${BENCH_CB_N50:-5000}
MEM_CALLS=${BENCH_MEM_CALLS:-100000}
MUTEXES=${BENCH_MUTEXES:-default file}
PARTS=${BENCH_PARTS:-limit flows tls memory}
[ "${BENCH_SCALE:-0}" = 1 ] && [[ " $PARTS " != *" scale "* ]] && PARTS="$PARTS scale"
SCALE_APPS=${BENCH_SCALE_APPS:-1 20 200}
SCALE_FLOWS=${BENCH_SCALE_FLOWS:-10 10000 100000}
SCALE_QUOTA=${BENCH_SCALE_QUOTA:-20000}
KEEPALIVE=${BENCH_KEEPALIVE_REQUESTS:-100}
REDIS_PORT=$((BENCH_PORT + 4))
H2_PORT=$((BENCH_PORT + 5))
OUT=${BENCH_OUT:-$BENCH_TOP/bench/results.md}
RAW=$BENCH_WORK/raw.txt
HZ=$(getconf CLK_TCK)
REDIS_PID=

die() { echo "bench: $*" >&2; exit 1; }
cleanup() {
    bench_cleanup
    h2_upstream_stop
    [ -n "$REDIS_PID" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
}
trap cleanup EXIT
has_part() { [[ " $PARTS " == *" $1 "* ]]; }

# gnuplot draws the chart; install it from Debian's archive when it is missing.
if ! command -v gnuplot >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        echo "bench: installing gnuplot-nox (apt-get)"
        apt-get install -y -qq gnuplot-nox >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq gnuplot-nox) >/dev/null 2>&1
    fi
    command -v gnuplot >/dev/null || echo "bench: no gnuplot; the table is written, the chart is not" >&2
fi
command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[ -f "$BENCH_MODULE" ] || die "$BENCH_MODULE is missing: run make first"

bench_build_tools || die "cannot build the fakes, the driver and the no-op handler"
cc -O2 -Wall -Wextra -shared -fPIC $(apr-1-config --cppflags --includes) -o "$BENCH_BIN/poolcount.so" \
    "$BENCH_TOP/bench/poolcount.c" -ldl || die "cannot build poolcount.so"
rm -rf "$BENCH_WORK"
bench_write_conf
: >"$RAW"
record() { echo "$*" >>"$RAW"; }
load_now() { cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,; }
record "meta cores=$(nproc) load_start=$(load_now) date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
record "meta cpu=$(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1 | tr ' ' _) mem_mb=$(awk '/MemTotal/ {printf "%d", $2 / 1024}' /proc/meminfo)"
record "meta httpd=$("$HTTPD" -v | sed -n 's/^Server version: //p' | tr ' ' _) wrk=$(wrk -v 2>&1 | head -1 | awk '{print $2}') threads=$WORKER_THREADS servers=$SERVERS tpc=$THREADS_PER_CHILD"
record "meta rounds=$ROUNDS secs=$SECS limit_secs=$LIMIT_SECS warmup=$WARMUP limit_warmup=first conns=$CONNS cb_n=$CB_N cb_n50=$CB_N50 mem_calls=$MEM_CALLS keepalive=$KEEPALIVE parts=${PARTS// /,}"
record "meta curl=$(curl --version | head -1 | awk '{print $2}') openssl=$(openssl version | awk '{print $2}')"

bench_fakes_start || die "the fakes did not start"
bench_httpd_start || die "httpd did not start: $(tail -3 "$BENCH_WORK/logs/error_log")"
bench_connect_once >"$BENCH_WORK/htdocs/connect.json"
size=$(wc -c <"$BENCH_WORK/htdocs/connect.json")
[ "$size" -gt 100 ] || die "Connect did not answer: $(cat "$BENCH_WORK/htdocs/connect.json")"
record "meta body_bytes=$size"
# Restarted: the no-op handler reads the saved answer when httpd reads its configuration.
bench_httpd_stop
bench_httpd_start || die "httpd did not restart"
[ "$(curl -s -X POST -H 'Content-Length: 0' "http://127.0.0.1:$BENCH_PORT/noop/auth/a-1234" | wc -c)" = "$size" ] ||
    die "the no-op handler does not answer the $size bytes (is $BENCH_NOOP built?)"

# The request of a contender as "METHOD PATH".
request_of() {
    case $1 in
    noop) echo "POST /noop/auth/a-1234" ;;
    static) echo "GET /connect.json" ;;
    connect) echo "POST /blink/auth/a-1234" ;;
    connect-app-*) echo "POST /app-${1#connect-app-}/auth/a-${1#connect-app-}" ;;
    esac
}

# The words of list rotated left by n (the order of a round: each contender goes first in turn).
rotated() {
    local n=$1
    shift
    local a=("$@") k
    for k in $(seq 0 $((${#a[@]} - 1))); do echo -n "${a[$(((k + n) % ${#a[@]}))]} "; done
}

# One wrk run; records "wrk SECTION CONTENDER ROUND rps p50_ms p99_ms cpu_us non2xx errors others%".
wrk_run() {
    local section=$1 name=$2 round=$3 method path out c0 c1 b0 b1 n rps p50 p99 non2xx errs others
    read -r method path < <(request_of "$name")
    [ "$WARMUP" = 0 ] ||
        BENCH_COUNT=0 BENCH_METHOD=$method BENCH_PATH=$path wrk -t"$WRK_THREADS" -c"$CONNS" -d"${WARMUP}s" \
            -s "$BENCH_TOP/bench/count.lua" "http://127.0.0.1:$BENCH_PORT" >/dev/null
    c0=$(bench_children_cpu)
    b0=$(busy_ticks)
    out=$( { TIMEFORMAT='%U %S'; time BENCH_COUNT=0 BENCH_METHOD=$method BENCH_PATH=$path wrk -t"$WRK_THREADS" -c"$CONNS" \
             -d"${SECS}s" --latency -s "$BENCH_TOP/bench/count.lua" "http://127.0.0.1:$BENCH_PORT"; } 2>&1)
    b1=$(busy_ticks)
    c1=$(bench_children_cpu)
    # CPU used by everything else on the machine during the run, in % of all cores.
    others=$(awk -v b="$((b1 - b0))" -v h="$((c1 - c0))" -v w="$(tail -1 <<<"$out")" -v hz="$HZ" \
                 -v secs="$SECS" -v cores="$(nproc)" \
                 'BEGIN { split(w, t, " "); o = b - h - (t[1] + t[2]) * hz; if (o < 0) o = 0;
                          printf "%.0f", o * 100 / (secs * hz * cores) }')
    n=$(grep -o '[0-9]* requests in' <<<"$out" | awk '{print $1}')
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
    errs=$(awk '/Socket errors/ {s = 0; for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+,?$/) s += $i; print s}' <<<"$out")
    record "wrk $section $name $round $rps $(ms "$p50") $(ms "$p99") $(((c1 - c0) * 1000000 / HZ / n)) ${non2xx:-0} ${errs:-0} $others"
    # wrk's kinds of socket error ("connect 0, read 1, write 0, timeout 0"), so that a miss says what it was.
    [ "${errs:-0}" -gt 0 ] &&
        record "wrkerr $section $name $round $(sed -n 's/.*Socket errors: //p' <<<"$out" | sed 's/ \([0-9][0-9]*\),\{0,1\}/=\1/g')"
    printf '  %-14s round %d %-14s %9s req/s  p50 %-8s p99 %-8s CPU %4d us/req (other processes: %s%% of the CPU)\n' \
        "$section" "$round" "$name" "$rps" "$p50" "$p99" "$(((c1 - c0) * 1000000 / HZ / n))" "$others"
}

# CPU ticks spent (not idle, not iowait) by the whole machine so far.
busy_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# wrk's latency ("812.00us", "2.31ms", "1.02s") in milliseconds.
ms() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

# One driver run; records "drv KIND ROUND n errors rps p50_us p99_us min_us max_us mean_us cpu_us", cpu_us being
# httpd's children's CPU per iteration (0 for the fakes alone).
drv_run() {
    local kind=$1 round=$2 out c0 c1 n
    shift 2
    c0=$(bench_children_cpu)
    out=$("$BENCH_BIN/driver" "$@") || echo "bench: $kind round $round had errors: $out" >&2
    c1=$(bench_children_cpu)
    n=$(sed -n 's/^n=\([0-9]*\) .*/\1/p' <<<"$out")
    [[ "$kind" == fakes-* || "$kind" == tls-fakes-* ]] && c1=$c0
    record "drv $kind $round $(sed 's/[a-z0-9_]*=//g' <<<"$out") $(((c1 - c0) * 1000000 / HZ / (${n:-0} > 0 ? n : 1)))"
}

# Restarts httpd with the configuration as the environment now says (bench_write_conf).
restart_with() {
    bench_httpd_stop
    bench_write_conf
    bench_httpd_start || die "httpd did not start: $(tail -3 "$BENCH_WORK/logs/error_log")"
}

# 1. Connect, the static file and the no-op handler, per mutex.
# Each round runs the static file first, then the no-op handler and Connect, in turn first: what ran before a run can
# move it (the first run after a restart is cold), and a rotation of three put Connect after the static file and the
# no-op handler after Connect in every round but one. Now the two compared each follow the static file, and each
# other, in half of the LIMIT_ROUNDS (even) rounds.
part_limit() {
    local warm=$WARMUP
    local mutex r c WARMUP
    local SECS=$LIMIT_SECS # what wrk_run times, in this part
    echo "== 1. Connect against the no-op handler and the static file ($size bytes), wrk -c$CONNS, ${SECS}s, $LIMIT_ROUNDS rounds"
    for mutex in $MUTEXES; do
        # blinkauth:info: the start-up line that names the mutexes' mechanism (Connect logs nothing at info).
        BENCH_MUTEX=$mutex BENCH_LOGLEVEL="warn blinkauth:info" restart_with
        record "mutexname $mutex $(grep -o 'locks: [a-z]*' "$BENCH_WORK/logs/error_log" | tail -1 | cut -d' ' -f2)"
        for r in $(seq 1 "$LIMIT_ROUNDS"); do
            WARMUP=$warm
            [ "$r" = 1 ] || WARMUP=0
            for c in static $(rotated $((r - 1)) noop connect); do
                wrk_run "mutex=$mutex" "$c" "$r"
            done
        done
    done
    restart_with
}

# 2. Callback and Disconnect against the plain fakes (and the no-op handler's latency beside them).
part_flows() {
    local r flow c
    echo "== 2. Callback and Disconnect against the fast fakes"
    for r in $(seq 1 "$ROUNDS"); do
        for flow in callback disconnect; do
            for c in $(rotated $((r - 1)) fakes module noop); do
                case $c in
                fakes) drv_run "fakes-$flow" "$r" "fakes-$flow" "$FAKE_PROVIDER_PORT" "$FAKE_BLINK_PORT" 1 "$CB_N" ;;
                module) drv_run "$flow" "$r" "$flow" "$BENCH_PORT" 1 "$CB_N" ;;
                noop) drv_run "noop-$flow" "$r" noop "$BENCH_PORT" 1 "$CB_N" ;;
                esac
            done
            connection_runs "$flow" "$r" ""
        done
        echo "  round $r done"
    done
}

# New connections (and handshakes) of flow at 50 clients: from a cold start (a fresh httpd, the fakes' counters
# zeroed), then as many again on the warm server; with prefix "tls-", also after every kept connection was closed.
connection_runs() {
    local flow=$1 r=$2 prefix=$3
    bench_httpd_stop
    bench_httpd_start || die "httpd did not restart"
    bench_fakes_stats reset >/dev/null
    drv_run "$prefix$flow-c50" "$r" "$flow" "$BENCH_PORT" "$CONNS" "$CB_N50"
    record "conns $prefix$flow $r $CB_N50 $(bench_fakes_stats)"
    bench_fakes_stats reset >/dev/null
    drv_run "$prefix$flow-c50warm" "$r" "$flow" "$BENCH_PORT" "$CONNS" "$CB_N50"
    record "conns $prefix$flow-warm $r $CB_N50 $(bench_fakes_stats)"
    if [ -n "$prefix" ]; then
        # Reconnects spread in time: each connection closes after KEEPALIVE requests.
        curl -s "http://127.0.0.1:$FAKE_CONTROL_PORT/keepalive/$KEEPALIVE" >/dev/null
        bench_fakes_stats reset >/dev/null
        drv_run "$prefix$flow-c50keepalive" "$r" "$flow" "$BENCH_PORT" "$CONNS" "$CB_N50"
        record "conns $prefix$flow-keepalive $r $CB_N50 $(bench_fakes_stats)"
        curl -s "http://127.0.0.1:$FAKE_CONTROL_PORT/keepalive/0" >/dev/null
        # Then all at once: every kept connection closes after its next answer.
        curl -s "http://127.0.0.1:$FAKE_CONTROL_PORT/drop" >/dev/null
        bench_fakes_stats reset >/dev/null
        drv_run "$prefix$flow-c50reconnect" "$r" "$flow" "$BENCH_PORT" "$CONNS" "$CB_N50"
        record "conns $prefix$flow-reconnect $r $CB_N50 $(bench_fakes_stats)"
    fi
}

# 3. Callbacks over TLS: the fakes restarted with a test CA's certificate, the app trusting it.
part_tls() {
    local r c
    echo "== 3. Callbacks over TLS"
    bench_httpd_stop
    bench_fakes_stop
    BENCH_TLS=1
    bench_fakes_start || die "the TLS fakes did not start"
    restart_with
    for r in $(seq 1 "$ROUNDS"); do
        for c in $(rotated $((r - 1)) fakes module noop); do
            case $c in
            fakes) BENCH_TLS_CA=$BENCH_CA_DIR/ca.pem drv_run "tls-fakes-callback" "$r" fakes-callback \
                "$FAKE_PROVIDER_PORT" "$FAKE_BLINK_PORT" 1 "$CB_N" ;;
            module) drv_run "tls-callback" "$r" callback "$BENCH_PORT" 1 "$CB_N" ;;
            noop) drv_run "tls-noop-callback" "$r" noop "$BENCH_PORT" 1 "$CB_N" ;;
            esac
        done
        connection_runs callback "$r" tls-
        echo "  round $r done"
    done
    bench_httpd_stop
    bench_fakes_stop
    BENCH_TLS=0
    bench_fakes_start || die "the fakes did not start"
    restart_with
}

# 4. Memory: the request pool per Connect, and the children's RSS over many calls.
part_memory() {
    local xpid pid out
    echo "== 4. Memory"
    bench_httpd_stop
    LD_PRELOAD=$BENCH_BIN/poolcount.so POOLCOUNT_FILE=$BENCH_WORK/logs/pool.txt "$HTTPD" -X -f "$BENCH_WORK/httpd.conf" &
    xpid=$!
    bench_wait_port "$BENCH_PORT" || die "httpd -X did not start"
    bench_connect_once >/dev/null
    pool_phase connect /blink/auth/a-1234 POST
    pool_phase noop /noop/auth/a-1234 POST
    pool_phase static /connect.json GET
    kill "$xpid"
    wait "$xpid" 2>/dev/null

    # RSS of each child after start and a warm-up, then after MEM_CALLS Connect calls.
    bench_httpd_start || die "httpd did not start"
    bench_wrk_quota 2000 1 "$CONNS" >/dev/null
    for pid in $(bench_children); do record "rss before $pid $(bench_child_mem "$pid")"; done
    out=$(bench_wrk_quota "$MEM_CALLS" 2 "$CONNS")
    record "rsscalls $(sed -n 's/^statuses //p' <<<"$out" | tr ' ' '\n' | sed -n 's/^total=//p;s/^non2xx=//p' | tr '\n' ' ')"
    for pid in $(bench_children); do record "rss after $pid $(bench_child_mem "$pid")"; done
    # And as many calls again: what grows with the number of calls, not with the first ones.
    bench_wrk_quota "$MEM_CALLS" 2 "$CONNS" >/dev/null
    for pid in $(bench_children); do record "rss again $pid $(bench_child_mem "$pid")"; done
}

# Bytes from the request pool: single process, one connection, poolcount.so preloaded.
pool_phase() {
    local name=$1 path=$2 method=$3 file=$BENCH_WORK/logs/pool-$1.txt
    rm -f "$BENCH_WORK/logs/pool.txt"
    BENCH_PATH=$path BENCH_METHOD=$method bench_wrk_quota 2000 1 1 >/dev/null
    sleep 0.2
    mv "$BENCH_WORK/logs/pool.txt" "$file"
    record "pool $name $(awk '{b += $1; c += $2; n++} END {printf "%d %.0f %.1f", n, b / n, c / n}' "$file")"
}

# Private anonymous memory (KB) of httpd's parent.
parent_anon() {
    awk '/^Anonymous:/ {print $2}' "/proc/$(cat "$BENCH_WORK/httpd.pid")/smaps_rollup"
}

# The children's resident memory in all (KB).
children_rss() {
    local pid total=0
    for pid in $(bench_children); do total=$((total + $(ps -o rss= -p "$pid"))); done
    echo "$total"
}

# Connect calls by quota at 50 connections; records "quota SECTION n seconds cpu_us non2xx".
quota_run() {
    local section=$1 n=$2 c0 c1 t0 t1 out
    c0=$(bench_children_cpu)
    t0=$(date +%s.%N)
    out=$(bench_wrk_quota "$n" 1 "$CONNS")
    t1=$(date +%s.%N)
    c1=$(bench_children_cpu)
    record "quota $section $n $(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}') $(((c1 - c0) * 1000000 / HZ / n)) $(sed -n 's/.*non2xx=\([0-9]*\).*/\1/p' <<<"$out")"
}

# 5. Scale: apps, then pending flows.
part_scale() {
    local r n c store cache before mem
    echo "== 5. Scale: apps ($SCALE_APPS) and pending flows ($SCALE_FLOWS)"
    for r in $(seq 1 "$ROUNDS"); do
        for n in $(rotated $((r - 1)) $SCALE_APPS); do
            BENCH_APPS=$n restart_with
            record "appsmem $n $r $(parent_anon) $(children_rss)"
            for c in $(rotated $((r - 1)) noop "connect-app-$n"); do
                [ "$c" = connect-app-1 ] && c=connect
                wrk_run "apps=$n" "$c" "$r"
            done
        done
    done
    # Pending flows: Connects whose start URL a browser opened (bench/driver.c open), awaiting their callbacks; each
    # store sized for the largest count. (A Connect alone keeps nothing in shmcb: its start URL carries it.)
    redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$BENCH_WORK" \
        --daemonize no >"$BENCH_WORK/logs/redis.log" 2>&1 &
    REDIS_PID=$!
    bench_wait_port "$REDIS_PORT" || die "redis-server did not start"
    for store in shmcb redis; do
        for n in $SCALE_FLOWS; do
            if [ "$store" = redis ]; then
                cache="redis:127.0.0.1:$REDIS_PORT"
                redis-cli -p "$REDIS_PORT" flushall >/dev/null
            else
                cache="shmcb:$BENCH_WORK/logs/flows(200000000)"
            fi
            BENCH_CACHE=$cache restart_with
            before=$( [ "$store" = redis ] && redis_used || shm_used)
            "$BENCH_BIN/driver" open "$BENCH_PORT" $((n < CONNS ? n : CONNS)) "$n" >/dev/null
            mem=$( [ "$store" = redis ] && redis_used || shm_used)
            record "flowsmem $store $n $before $mem"
            quota_run "flows=$store:$n" "$SCALE_QUOTA"
            echo "  $store, $n pending: $(tail -1 "$RAW")"
        done
    done
    kill "$REDIS_PID" && wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
    restart_with
}

# An upstream httpd for part_h2 on H2_PORT: TLS (the test CA's certificate), the given Protocols, and the answers
# the callback needs from the provider and the Blink API, from the no-op handler (one server for both).
h2_upstream_start() {
    local protocols=$1 dir=$BENCH_WORK/h2
    mkdir -p "$dir/logs" "$dir/bodies"
    [ "$(id -u)" = 0 ] && chown www-data "$dir/logs"
    printf '%s' '{"access_token":"at-0123456789abcdef0123456789abcdef","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-0123456789abcdef0123456789abcdef"}' >"$dir/bodies/token.json"
    printf '%s' '{"sub":"u-42","email":"user42@example.com","email_verified":true,"name":"User 42"}' >"$dir/bodies/userinfo.json"
    printf '%s' '{"code":"OK","message":"OK","data":{"id":"u-42","email":"user42@example.com","first_name":"User","last_name":"42"}}' >"$dir/bodies/user.json"
    printf '%s' '{"code":"OK","message":"OK","data":[]}' >"$dir/bodies/accounts.json"
    cat >"$dir/httpd.conf" <<CONF
ServerRoot "$dir"
ServerName 127.0.0.1
PidFile "$dir/httpd.pid"
ErrorLog "$dir/logs/error_log"
LogLevel warn
Listen 127.0.0.1:$H2_PORT https
$( [ "$(id -u)" = 0 ] && printf 'User www-data\nGroup www-data' )
LoadModule mpm_event_module $MODDIR/mod_mpm_event.so
LoadModule authz_core_module $MODDIR/mod_authz_core.so
LoadModule socache_shmcb_module $MODDIR/mod_socache_shmcb.so
LoadModule ssl_module $MODDIR/mod_ssl.so
LoadModule http2_module $MODDIR/mod_http2.so
LoadModule bench_noop_module "$BENCH_NOOP"
DefaultRuntimeDir "$dir/logs"
StartServers 2
ServerLimit 4
ThreadsPerChild 50
MaxRequestWorkers 100
KeepAliveTimeout 60
MaxKeepAliveRequests 0
SSLSessionCache shmcb:$dir/logs/ssl_scache(512000)
Protocols $protocols
LogFormat "%H" proto
CustomLog "$dir/logs/access_log" proto
<VirtualHost 127.0.0.1:$H2_PORT>
    SSLEngine on
    SSLCertificateFile "$BENCH_CA_DIR/server.pem"
    SSLCertificateKeyFile "$BENCH_CA_DIR/server.key"
    <Location /token>
        SetHandler bench-noop
        BenchNoopBody "$dir/bodies/token.json"
    </Location>
    <Location /userinfo>
        SetHandler bench-noop
        BenchNoopBody "$dir/bodies/userinfo.json"
    </Location>
    <LocationMatch "^/v2/user/[^/]+$">
        SetHandler bench-noop
        BenchNoopBody "$dir/bodies/user.json"
    </LocationMatch>
    <LocationMatch "^/v2/user/[^/]+/linked-accounts$">
        SetHandler bench-noop
        BenchNoopBody "$dir/bodies/accounts.json"
    </LocationMatch>
</VirtualHost>
CONF
    "$HTTPD" -f "$dir/httpd.conf" -k start && bench_wait_port "$H2_PORT"
}

# Stops part_h2's upstream httpd.
h2_upstream_stop() {
    local pid dir=$BENCH_WORK/h2 i
    [ -s "$dir/httpd.pid" ] || return 0
    pid=$(cat "$dir/httpd.pid")
    "$HTTPD" -f "$dir/httpd.conf" -k stop 2>/dev/null
    for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$dir/httpd.pid"
}

# HTTP/2 against a pool of HTTP/1.1 connections: the callback against an upstream httpd (TLS) that offers h2 (libcurl
# then speaks it: its default for https is CURL_HTTP_VERSION_2TLS) or only http/1.1; latency with one client, httpd's
# CPU per callback at 50 clients, the two alternated.
part_h2() {
    local r proto saved_p=$FAKE_PROVIDER_PORT saved_b=$FAKE_BLINK_PORT
    echo "== 6. HTTP/2 or HTTP/1.1 to an upstream (TLS)"
    bench_httpd_stop
    bench_fakes_stop
    BENCH_TLS=1
    "$BENCH_TOP/tests/lib/test-ca.sh" "$BENCH_CA_DIR" || die "cannot make the test CA"
    FAKE_PROVIDER_PORT=$H2_PORT FAKE_BLINK_PORT=$H2_PORT restart_with
    for r in $(seq 1 "$ROUNDS"); do
        for proto in $(rotated $((r - 1)) h2 http1); do
            h2_upstream_start "$([ "$proto" = h2 ] && echo "h2 http/1.1" || echo "http/1.1")" || die "the upstream httpd did not start"
            # A fresh front httpd: no connection kept from the other protocol's run.
            bench_httpd_stop
            bench_httpd_start || die "httpd did not restart"
            drv_run "$proto-callback-c50" "$r" callback "$BENCH_PORT" "$CONNS" "$CB_N50"
            drv_run "$proto-callback" "$r" callback "$BENCH_PORT" 1 "$CB_N"
            h2_upstream_stop
            record "h2proto $proto $r $(sort "$BENCH_WORK/h2/logs/access_log" | uniq -c | awk '{printf "%s=%s ", $2, $1}')"
            rm -f "$BENCH_WORK/h2/logs/access_log"
        done
    done
    FAKE_PROVIDER_PORT=$saved_p FAKE_BLINK_PORT=$saved_b
    BENCH_TLS=0
    bench_fakes_start || die "the fakes did not start"
    restart_with
}

# KB of shared memory in use on the machine (/proc/meminfo's Shmem): shmcb's segments are shared memory, and the
# kernel gives them a page only when it is first written.
shm_used() {
    awk '/^Shmem:/ {print $2}' /proc/meminfo
}

# Redis's used memory in KB.
redis_used() {
    redis-cli -p "$REDIS_PORT" info memory | awk -F: '/^used_memory:/ {printf "%d", $2 / 1024}'
}

has_part limit && part_limit
has_part flows && part_flows
has_part tls && part_tls
has_part memory && part_memory
has_part scale && part_scale
has_part h2 && part_h2
cleanup
record "meta load_end=$(load_now)"

python3 "$BENCH_TOP/bench/report.py" "$RAW" "$OUT" "$BENCH_TOP/bench/throughput.png"
