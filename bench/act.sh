#!/usr/bin/env bash
# make bench-act: what acting for the user costs. An action with a fresh token (GET /blink/api/me:
# AuthType Blink, Require blink-linked-account, ProxyPass to a fast local backend) against plain
# mod_proxy (GET /plain/me: the same ProxyPass, no auth) to the same backend, in the same server,
# side by side in one run with wrk, contenders alternated within each of BENCH_ROUNDS rounds:
#   - at 1 connection (no queueing): the p50 the action adds (target < 1 ms);
#   - at 50 connections: the throughput ratio action/plain, httpd CPU per request.
# Twice: with BlinkAuthTokenKey (the token from our sealed copy: no Blink call per action) and
# without (a List User Linked Accounts call per action to the fast Blink fake). Then memory, in a
# fresh httpd for each contender (plain mod_proxy first, as the baseline; then actions with the token
# store; one child of 25 threads, 10 connections): RSS after a 20,000-request warm-up, then after each
# of BENCH_MEM_BATCHES batches of BENCH_MEM_CALLS requests: growth per request (target: none; the
# median batch after the first is judged, as a jump now and then of a thread's allocator is not
# growth per request). Writes bench/act-results.md (bench/act_report.py) with `uptime` at the start
# and the end. Not part of make test: no figure here is asserted by a suite.
#
# Environment: BENCH_PORT (8801; +1 provider fake, +2 Blink fake, +3 the fakes' control port, +4 the
# backend), BENCH_ROUNDS (5), BENCH_SECS (5), BENCH_MEM_CALLS (100000), BENCH_MEM_BATCHES (4),
# BENCH_ACT_OUT (bench/act-results.md), BENCH_WORK (build/bench-act).
set -uo pipefail
BENCH_WORK=${BENCH_WORK:-$(cd "$(dirname "$0")/.." && pwd)/build/bench-act}
. "$(dirname "$0")/lib.sh"

ROUNDS=${BENCH_ROUNDS:-5}
SECS=${BENCH_SECS:-5}
MEM_CALLS=${BENCH_MEM_CALLS:-100000}
MEM_BATCHES=${BENCH_MEM_BATCHES:-4}
MEM_WARMUP=20000
# One child of MEM_THREADS threads (lib.sh keeps MinSpareThreads 10 idle: fewer would start a second child).
MEM_THREADS=25
MEM_CONNS=10
OUT=${BENCH_ACT_OUT:-$BENCH_TOP/bench/act-results.md}
BACKEND_PORT=$((BENCH_PORT + 4))
RAW=$BENCH_WORK/act-raw.txt
HZ=$(getconf CLK_TCK)
ACT_PATH=/blink/api/me
PLAIN_PATH=/plain/me

die() { echo "bench-act: $*" >&2; exit 1; }
trap bench_cleanup EXIT

command -v wrk >/dev/null || die "wrk is missing (apt-get install wrk)"
[ -f "$BENCH_MODULE" ] || die "$BENCH_MODULE is missing: run make first"
bench_build_tools || die "cannot build the fakes"
rm -rf "$BENCH_WORK"
mkdir -p "$BENCH_WORK"
: >"$RAW"
record() { echo "$*" >>"$RAW"; }

# Writes lib.sh's configuration plus mod_proxy, the action's and the plain proxy's <Location>s, and
# (with "key") the app's BlinkAuthTokenKey.
write_conf() {
    local mode=$1 conf=$BENCH_WORK/httpd.conf
    bench_write_conf
    [ "$mode" = key ] && (umask 077 && python3 -c 'import secrets; print(secrets.token_urlsafe(48))' >"$BENCH_WORK/token-key")
    python3 - "$conf" "$mode" "$BACKEND_PORT" "$BENCH_WORK/token-key" <<'PY'
import sys
path, mode, backend, key = sys.argv[1:5]
conf = open(path).read()
load = 'LoadModule blinkauth_module'
timeout = "        BlinkAuthTimeout           5\n"
assert load in conf and timeout in conf and "</VirtualHost>" in conf, "bench/lib.sh's configuration changed"
conf = conf.replace(load, "LoadModule authn_core_module /usr/lib/apache2/modules/mod_authn_core.so\n"
                    "LoadModule proxy_module /usr/lib/apache2/modules/mod_proxy.so\n"
                    "LoadModule proxy_http_module /usr/lib/apache2/modules/mod_proxy_http.so\n" + load, 1)
if mode == "key":
    conf = conf.replace(timeout, timeout + "        BlinkAuthTokenKey          file:%s\n" % key, 1)
locations = """    <Location /blink/api>
        AuthType Blink
        Require blink-linked-account
        ProxyPass "http://127.0.0.1:{0}/v1"
    </Location>
    <Location /plain>
        ProxyPass "http://127.0.0.1:{0}/v1"
    </Location>
</VirtualHost>""".format(backend)
conf = conf.replace("</VirtualHost>", locations, 1)
open(path, "w").write(conf)
PY
}

# Starts the fast fakes with the backend listener.
fakes_start() {
    "$BENCH_BIN/fastfake" "$FAKE_PROVIDER_PORT" "$FAKE_BLINK_PORT" "$FAKE_CONTROL_PORT" "$BACKEND_PORT" &
    FAKES_PID=$!
    bench_wait_port "$BACKEND_PORT"
}

# The fakes' counters as "provider_requests blink_requests backend_requests backend_bearer" (and zeroes them
# with "reset").
fakes_counts() {
    curl -s "http://127.0.0.1:$FAKE_CONTROL_PORT/${1:-stats}" | python3 -c 'import json, sys
d = json.load(sys.stdin)
print(d["provider_requests"], d["blink_requests"], d["backend_requests"], d["backend_bearer"])'
}

# One action with curl: must be a 200 with the backend's body, having reached the backend with a Bearer token.
act_once() {
    local answer before after
    before=$(fakes_counts | awk '{print $4}')
    answer=$(curl -s -w ' %{http_code}' -H 'blink-auth-proxysecret: bench-proxy-secret' -H 'blink-auth-userid: u-42' \
        "http://127.0.0.1:$BENCH_PORT$ACT_PATH")
    after=$(fakes_counts | awk '{print $4}')
    [[ $answer == *'"plan":"bench"'*' 200' ]] && [ "$after" -gt "$before" ] ||
        die "GET $ACT_PATH answered: $answer (backend requests with a Bearer token: $before -> $after); $(tail -3 "$BENCH_WORK/logs/error_log")"
}

# One wrk run of a contender; records
# "wrk MODE CONTENDER CONNS ROUND rps p50_us p99_us cpu_us non2xx socket_errors provider blink backend bearer".
wrk_run() {
    local mode=$1 name=$2 conns=$3 round=$4 path c0 c1 out n rps p50 p99 non2xx errs
    path=$PLAIN_PATH
    [ "$name" = act ] && path=$ACT_PATH
    BENCH_METHOD=GET BENCH_PATH=$path wrk -t1 -c"$conns" -d2s -s "$BENCH_TOP/bench/count.lua" \
        "http://127.0.0.1:$BENCH_PORT" >/dev/null
    fakes_counts reset >/dev/null
    c0=$(bench_children_cpu)
    out=$(BENCH_METHOD=GET BENCH_PATH=$path wrk -t1 -c"$conns" -d"${SECS}s" -s "$BENCH_TOP/bench/count.lua" \
        "http://127.0.0.1:$BENCH_PORT")
    c1=$(bench_children_cpu)
    n=$(sed -n 's/^requests=\([0-9]*\) .*/\1/p' <<<"$out")
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    p50=$(sed -n 's/^latency_us p50=\([0-9]*\) .*/\1/p' <<<"$out")
    p99=$(sed -n 's/^latency_us .* p99=\([0-9]*\) .*/\1/p' <<<"$out")
    non2xx=$(sed -n 's/^statuses .* non2xx=\([0-9]*\) .*/\1/p' <<<"$out")
    errs=$(sed -n 's/^socket_errors //p' <<<"$out" | tr ' ' '\n' | awk -F= '{s += $2} END {print s + 0}')
    [ -n "$n" ] && [ "$n" -gt 0 ] || die "wrk gave no result for $path: $out"
    record "wrk $mode $name $conns $round $rps $p50 $p99 $(((c1 - c0) * 1000000 / HZ / n)) $non2xx $errs $n $(fakes_counts)"
    printf '  %-5s round %d c%-3s %-5s %9s req/s  p50 %6s us  p99 %6s us  non-2xx %s\n' \
        "$mode" "$round" "$conns" "$name" "$rps" "$p50" "$p99" "$non2xx"
}

record "meta cores=$(nproc) date=$(date -u +%Y-%m-%dT%H:%M:%SZ) rounds=$ROUNDS secs=$SECS mem_calls=$MEM_CALLS mem_batches=$MEM_BATCHES mem_warmup=$MEM_WARMUP mem_threads=$MEM_THREADS mem_conns=$MEM_CONNS"
record "meta httpd=$("$HTTPD" -v | sed -n 's/^Server version: //p' | tr ' ' _) wrk=$(wrk -v 2>&1 | head -1 | awk '{print $2}') servers=$SERVERS tpc=$THREADS_PER_CHILD"
record "uptime start $(uptime)"

fakes_start || die "the fakes did not start"
for mode in key nokey; do
    echo "== $mode: action ($ACT_PATH) vs plain mod_proxy ($PLAIN_PATH), $ROUNDS rounds, ${SECS}s each"
    write_conf "$mode" || die "cannot write the configuration"
    bench_httpd_start || die "httpd did not start: $(tail -3 "$BENCH_WORK/logs/error_log")"
    act_once
    for r in $(seq 1 "$ROUNDS"); do
        if [ $((r % 2)) = 1 ]; then order="plain act"; else order="act plain"; fi
        for conns in 1 50; do
            for c in $order; do wrk_run "$mode" "$c" "$conns" "$r"; done
        done
    done
    bench_httpd_stop
done

echo "== memory: $MEM_BATCHES x $MEM_CALLS requests, plain mod_proxy then actions with the token store, a fresh httpd each"
# One child of a few threads: every worker thread's allocator fills up during the warm-up, so that what grows
# later grows with the requests.
SERVERS=1 THREADS_PER_CHILD=$MEM_THREADS WORKER_THREADS=$MEM_THREADS
write_conf key || die "cannot write the configuration"
for name in plain act; do
    path=$PLAIN_PATH
    [ "$name" = act ] && path=$ACT_PATH
    bench_httpd_start || die "httpd did not start"
    act_once
    BENCH_PATH=$path BENCH_METHOD=GET bench_wrk_quota "$MEM_WARMUP" 2 "$MEM_CONNS" >/dev/null
    for pid in $(bench_children); do record "rss $name 0 $pid $(bench_child_mem "$pid")"; done
    for batch in $(seq 1 "$MEM_BATCHES"); do
        fakes_counts reset >/dev/null
        out=$(BENCH_PATH=$path BENCH_METHOD=GET bench_wrk_quota "$MEM_CALLS" 2 "$MEM_CONNS")
        record "memcalls $name $batch $(sed -n 's/^statuses total=\([0-9]*\) 2xx=[0-9]* non2xx=\([0-9]*\).*/\1 \2/p' <<<"$out") $(fakes_counts)"
        for pid in $(bench_children); do record "rss $name $batch $pid $(bench_child_mem "$pid")"; done
        echo "  $name batch $batch: RSS KB $(for pid in $(bench_children); do bench_child_mem "$pid" | cut -d' ' -f1; done | tr '\n' ' ')"
    done
    bench_httpd_stop
done
bench_cleanup
record "uptime end $(uptime)"

python3 "$BENCH_TOP/bench/act_report.py" "$RAW" "$OUT"
