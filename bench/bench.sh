#!/usr/bin/env bash
# make bench: mod_blinkauth measured side by side, in one run, contenders alternated,
# BENCH_ROUNDS rounds (default 3); medians and min–max go to bench/results.md and
# bench/throughput.png.  Not part of make test: the figures depend on the machine.
#
#  1. Connect (POST /blink/auth/a-1234) against a static JSON file of the same size from the same
#     <VirtualHost>: wrk, 50 connections, BENCH_SECS seconds each (default 10, after a 2 s warm-up).
#  2. The callback against fast local fakes (bench/fastfake.c): the fakes' own cost per callback
#     (the same upstream requests sent straight to them), the callback's latency through httpd,
#     the difference = what the module adds; then new TCP connections per upstream per 1,000
#     callbacks at 50 concurrent clients, counted by the fakes: from a cold start, then warm.
#  3. Disconnect the same way.
#  4. Memory: bytes taken from the request pool per Connect call (bench/poolcount.c, LD_PRELOAD
#     into a single-process httpd), and each child's RSS (and private anonymous memory) after a
#     warm-up, after 100,000 Connect calls, and after 100,000 more.
#
# Environment: BENCH_PORT (8801; +1..+3 for the fakes), BENCH_ROUNDS, BENCH_SECS, BENCH_CB_N
# (callbacks per latency run, 3000), BENCH_CB_N50 (callbacks per connection count, 5000),
# BENCH_MEM_CALLS (100000), BENCH_OUT (bench/results.md).
set -uo pipefail
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-3}
SECS=${BENCH_SECS:-10}
CONNS=50
WRK_THREADS=1
CB_N=${BENCH_CB_N:-3000}
CB_N50=${BENCH_CB_N50:-5000}
MEM_CALLS=${BENCH_MEM_CALLS:-100000}
OUT=${BENCH_OUT:-$BENCH_TOP/bench/results.md}
RAW=$BENCH_WORK/raw.txt
HZ=$(getconf CLK_TCK)

die() { echo "bench: $*" >&2; exit 1; }
trap bench_cleanup EXIT

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

bench_build_tools || die "cannot build the fakes and the driver"
cc -O2 -Wall -Wextra -shared -fPIC $(apr-1-config --cppflags --includes) -o "$BENCH_BIN/poolcount.so" \
    "$BENCH_TOP/bench/poolcount.c" -ldl || die "cannot build poolcount.so"
rm -rf "$BENCH_WORK"
bench_write_conf
: >"$RAW"
record() { echo "$*" >>"$RAW"; }
record "meta cores=$(nproc) load_start=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,) date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
record "meta httpd=$("$HTTPD" -v | sed -n 's/^Server version: //p' | tr ' ' _) wrk=$(wrk -v 2>&1 | head -1 | awk '{print $2}') threads=$WORKER_THREADS servers=$SERVERS tpc=$THREADS_PER_CHILD"
record "meta rounds=$ROUNDS secs=$SECS conns=$CONNS cb_n=$CB_N cb_n50=$CB_N50 mem_calls=$MEM_CALLS"

bench_fakes_start || die "the fakes did not start"
bench_httpd_start || die "httpd did not start: $(tail -3 "$BENCH_WORK/logs/error_log")"
bench_connect_once >"$BENCH_WORK/htdocs/connect.json"
size=$(wc -c <"$BENCH_WORK/htdocs/connect.json")
[ "$size" -gt 100 ] || die "Connect did not answer: $(cat "$BENCH_WORK/htdocs/connect.json")"
record "meta body_bytes=$size"

# One wrk run; records "wrk CONTENDER ROUND rps p50_ms p99_ms cpu_us non2xx errors".
wrk_run() {
    local name=$1 round=$2 lua=$3 out c0 c1 n rps p50 p99 non2xx errs
    wrk -t"$WRK_THREADS" -c"$CONNS" -d2s -s "$lua" "http://127.0.0.1:$BENCH_PORT" >/dev/null
    c0=$(bench_children_cpu)
    b0=$(busy_ticks)
    out=$( { TIMEFORMAT='%U %S'; time wrk -t"$WRK_THREADS" -c"$CONNS" -d"${SECS}s" --latency -s "$lua" \
             "http://127.0.0.1:$BENCH_PORT"; } 2>&1)
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
    record "wrk $name $round $rps $(ms "$p50") $(ms "$p99") $(((c1 - c0) * 1000000 / HZ / n)) ${non2xx:-0} ${errs:-0} $others"
    printf '  round %d %-8s %9s req/s  p50 %-8s p99 %-8s (other processes: %s%% of the CPU)\n' \
        "$round" "$name" "$rps" "$p50" "$p99" "$others"
}

# CPU ticks spent (not idle, not iowait) by the whole machine so far.
busy_ticks() {
    awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat
}

# wrk's latency ("812.00us", "2.31ms", "1.02s") in milliseconds.
ms() {
    awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n = n; else if (v ~ /s$/) n *= 1000; printf "%.3f", n }'
}

# One driver run; records "drv KIND ROUND n errors rps p50_us p99_us".
drv_run() {
    local kind=$1 round=$2 out
    shift 2
    out=$("$BENCH_BIN/driver" "$@") || echo "bench: $kind round $round had errors: $out" >&2
    record "drv $kind $round $(sed 's/[a-z0-9_]*=//g' <<<"$out")"
}

echo "== 1. Connect vs static file ($size bytes), wrk -c$CONNS, ${SECS}s, $ROUNDS rounds"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="static connect"; else order="connect static"; fi
    for c in $order; do
        wrk_run "$c" "$r" "$BENCH_TOP/bench/$c.lua"
    done
done

echo "== 2-3. Callback and Disconnect against the fast fakes"
for r in $(seq 1 "$ROUNDS"); do
    if [ $((r % 2)) = 1 ]; then order="fakes module"; else order="module fakes"; fi
    for flow in callback disconnect; do
        for c in $order; do
            if [ "$c" = fakes ]; then
                drv_run "fakes-$flow" "$r" "fakes-$flow" "$FAKE_PROVIDER_PORT" "$FAKE_BLINK_PORT" 1 "$CB_N"
            else
                drv_run "$flow" "$r" "$flow" "$BENCH_PORT" 1 "$CB_N"
            fi
        done
        # New connections from a cold start: a fresh httpd, the fakes' counters zeroed.
        bench_httpd_stop
        bench_httpd_start || die "httpd did not restart"
        bench_fakes_stats reset >/dev/null
        drv_run "$flow-c50" "$r" "$flow" "$BENCH_PORT" "$CONNS" "$CB_N50"
        record "conns $flow $r $CB_N50 $(bench_fakes_stats)"
        # Then as many again on the warm server: the steady state.
        bench_fakes_stats reset >/dev/null
        drv_run "$flow-c50warm" "$r" "$flow" "$BENCH_PORT" "$CONNS" "$CB_N50"
        record "conns $flow-warm $r $CB_N50 $(bench_fakes_stats)"
    done
    echo "  round $r done"
done

echo "== 4. Memory"
bench_httpd_stop
# Bytes from the request pool: single process, one connection, poolcount.so preloaded.
pool_phase() {
    local name=$1 path=$2 method=$3 file=$BENCH_WORK/logs/pool-$1.txt
    rm -f "$BENCH_WORK/logs/pool.txt"
    BENCH_PATH=$path BENCH_METHOD=$method bench_wrk_quota 2000 1 1 >/dev/null
    sleep 0.2
    mv "$BENCH_WORK/logs/pool.txt" "$file"
    record "pool $name $(awk '{b += $1; c += $2; n++} END {printf "%d %.0f %.1f", n, b / n, c / n}' "$file")"
}
LD_PRELOAD=$BENCH_BIN/poolcount.so POOLCOUNT_FILE=$BENCH_WORK/logs/pool.txt "$HTTPD" -X -f "$BENCH_WORK/httpd.conf" &
xpid=$!
bench_wait_port "$BENCH_PORT" || die "httpd -X did not start"
bench_connect_once >/dev/null
pool_phase connect /blink/auth/a-1234 POST
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
bench_cleanup
record "meta load_end=$(cut -d' ' -f1-3 /proc/loadavg | tr ' ' ,)"

python3 "$BENCH_TOP/bench/report.py" "$RAW" "$OUT" "$BENCH_TOP/bench/throughput.png"
