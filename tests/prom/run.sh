#!/usr/bin/env bash
# The counters under load and through a real Prometheus: httpd (event MPM, 2 children, the module as built) with
# SetHandler blinkauth-status, the fast fakes of bench/, and Debian's prometheus scraping the status location every
# second. Checks:
#   - LOAD Connects from wrk (50,000 at 50 connections, both children) move connects_total{outcome="ok"} by exactly
#     the number of 2xx Connect answers in the server's access log, and by wrk's count of 2xx plus at most one
#     request in flight per connection when wrk stopped;
#   - CALLBACKS whole connects (bench/driver: Connect, start URL, callback through the fakes) move callbacks
#     connected, starts ok and the token endpoint's 2xx calls by exactly that many;
#   - `apache2 -k graceful` keeps every counter (read before and after, new children);
#   - Prometheus scraped the target (up == 1), its latest sample equals what the handler says, and
#     resets() over the run is 0: the graceful restart did not reset a counter;
#   - /health answers 200, and 503 naming the flow store when the store fails.
# Ports: PROM_SUITE_PORT (httpd; +1..+3 the fakes; default 8861), Prometheus on a free loopback port.
# Prints "prom: N passed, N failed". KEEP=1 keeps build/prom (configuration, logs, Prometheus' data).
set -uo pipefail
export BENCH_PORT=${PROM_SUITE_PORT:-8861}
top=$(cd "$(dirname "$0")/../.." && pwd)
export BENCH_WORK=$top/build/prom
. "$top/bench/lib.sh"
LOAD=${PROM_LOAD:-50000}
CALLBACKS=${PROM_CALLBACKS:-200}
pass=0 fail=0 PROM_PID=
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
# check NAME WANT GOT
check() { if [ "$2" = "$3" ]; then ok "$1 ($3)"; else bad "$1: wanted $2, got $3"; fi; }

cleanup() {
    bench_cleanup
    [ -n "$PROM_PID" ] && kill "$PROM_PID" 2>/dev/null && wait "$PROM_PID" 2>/dev/null
    [ "${KEEP:-0}" = 1 ] || rm -rf "$BENCH_WORK/prometheus"
}
trap cleanup EXIT
finish() {
    echo "prom: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}

for tool in wrk prometheus curl python3; do
    command -v "$tool" >/dev/null || { bad "$tool is missing (scripts/deps.sh test installs it)"; finish; }
done
[ -f "$BENCH_MODULE" ] || { bad "$BENCH_MODULE is missing: run make first"; finish; }
rm -rf "$BENCH_WORK"
bench_build_tools || { bad "cannot build the fast fakes"; finish; }
bench_write_conf
cat >>"$BENCH_WORK/httpd.conf" <<CONF
LoadModule authz_host_module $MODDIR/mod_authz_host.so
LogFormat "%>s %P %m %U" load
CustomLog "$BENCH_WORK/logs/access_log" load
<Location /blinkauth-status>
    SetHandler blinkauth-status
    Require ip 127.0.0.1
</Location>
CONF

# One sample of the handler's Prometheus text: metric name with its labels as written, e.g.
# 'blinkauth_connects_total{auth_id="a-1234",outcome="ok"}'; "none" when absent.
sample() {
    curl -s "http://127.0.0.1:$BENCH_PORT/blinkauth-status?format=prometheus" |
        awk -v want="$1" '$1 == want { print $2; found = 1 } END { if (!found) print "none" }'
}
# The value of a PromQL query's first result (instant vector or scalar), "none" when it has none.
promql() {
    curl -s --get "http://127.0.0.1:$PROM_PORT/api/v1/query" --data-urlencode "query=$1" |
        python3 -c 'import json, sys
d = json.load(sys.stdin)["data"]
r = d["result"]
print(r[1] if d["resultType"] == "scalar" else (r[0]["value"][1] if r else "none"))'
}

# What Prometheus holds for a series once it equals want (it scrapes every second), or its last value after 20 s.
prom_sees() {
    local seen=none
    for _ in $(seq 1 100); do
        seen=$(promql "$1")
        [ "$seen" = "$2" ] && break
        sleep 0.2
    done
    echo "$seen"
}

OK_CONNECTS='blinkauth_connects_total{auth_id="a-1234",outcome="ok"}'
CONNECTED='blinkauth_callbacks_total{auth_id="a-1234",outcome="connected"}'
STARTS='blinkauth_starts_total{auth_id="a-1234",outcome="ok"}'
TOKEN_2XX='blinkauth_upstream_requests_total{endpoint="token",class="2xx"}'

bench_fakes_start || { bad "the fast fakes did not start"; finish; }
bench_httpd_start || { bad "httpd did not start: $(tail -3 "$BENCH_WORK/logs/error_log")"; finish; }

# Prometheus on a free loopback port, scraping the status location every second.
PROM_PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
mkdir -p "$BENCH_WORK/prometheus"
cat >"$BENCH_WORK/prometheus/prometheus.yml" <<YML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: blinkauth
    metrics_path: /blinkauth-status
    static_configs:
      - targets: ['127.0.0.1:$BENCH_PORT']
YML
prometheus --config.file="$BENCH_WORK/prometheus/prometheus.yml" --storage.tsdb.path="$BENCH_WORK/prometheus/data" \
    --web.listen-address="127.0.0.1:$PROM_PORT" >"$BENCH_WORK/prometheus/log" 2>&1 &
PROM_PID=$!
bench_wait_port "$PROM_PORT" || { bad "prometheus did not start: $(tail -3 "$BENCH_WORK/prometheus/log")"; finish; }

check "health: 200 with the flow store answering" '200 {"status":"ok"}' \
    "$(curl -s -w '%{http_code}' -o "$BENCH_WORK/health" "http://127.0.0.1:$BENCH_PORT/blinkauth-status/health") $(cat "$BENCH_WORK/health")"

# Prometheus has scraped the handler once before anything runs, so that increase() later spans the whole run.
check "Prometheus: it scrapes the status handler before the run" 1 "$(prom_sees 'up{job="blinkauth"}' 1)"

# --- LOAD Connects across both children: the counter moves by the 2xx wrk counted
before=$(sample "$OK_CONNECTS")
bench_wrk_quota "$LOAD" 2 50 >"$BENCH_WORK/wrk.txt"
read -r total ok2xx non2xx < <(awk '/^statuses/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); s[kv[1]] += kv[2] } }
    END { print s["total"] + 0, s["2xx"] + 0, s["non2xx"] + 0 }' "$BENCH_WORK/wrk.txt")
sleep 0.5 # the answers to requests in flight when wrk stopped are sent and logged
after=$(sample "$OK_CONNECTS")
logged=$(awk '$1 ~ /^2/ && $3 == "POST" && $4 == "/blink/auth/a-1234"' "$BENCH_WORK/logs/access_log" | wc -l)
echo "     wrk: $total answers, $ok2xx 2xx, $non2xx other; access log: $logged Connects answered 2xx;" \
    "connects ok $before -> $after"
[ "$ok2xx" -ge "$LOAD" ] && [ "$non2xx" -eq 0 ] && ok "wrk: $ok2xx Connects answered 2xx, none other" ||
    bad "wrk: $ok2xx 2xx and $non2xx other for $LOAD"
check "connects ok moved by the Connects the server answered 2xx (its access log)" "$logged" "$((after - before))"
# wrk stops (SIGINT at its quota) with up to one request in flight per connection: the server answers those, wrk
# does not count them.
in_flight=$((after - before - ok2xx))
[ "$in_flight" -ge 0 ] && [ "$in_flight" -le 50 ] &&
    ok "connects ok moved by the 2xx wrk counted, plus $in_flight in flight when it stopped (at most 50)" ||
    bad "connects ok moved by $((after - before)), wrk counted $ok2xx 2xx"
check "both children answered Connects" 2 \
    "$(awk '$1 ~ /^2/ && $3 == "POST" { print $2 }' "$BENCH_WORK/logs/access_log" | sort -u | wc -l)"

# --- whole connects through the fakes (Connect, start URL, callback)
c0=$(sample "$CONNECTED") s0=$(sample "$STARTS") t0=$(sample "$TOKEN_2XX")
out=$("$BENCH_BIN/driver" callback "$BENCH_PORT" 4 "$CALLBACKS")
echo "     driver: $out"
check "driver: $CALLBACKS callbacks without error" "n=$CALLBACKS errors=0" "$(grep -o 'n=[0-9]* errors=[0-9]*' <<<"$out")"
check "callbacks connected moved by $CALLBACKS" "$CALLBACKS" "$(($(sample "$CONNECTED") - c0))"
check "starts ok moved by $CALLBACKS" "$CALLBACKS" "$(($(sample "$STARTS") - s0))"
check "token endpoint 2xx calls moved by $CALLBACKS" "$CALLBACKS" "$(($(sample "$TOKEN_2XX") - t0))"

# --- a graceful restart keeps the counters
kept_connects=$(sample "$OK_CONNECTS") kept_connected=$(sample "$CONNECTED") old_kids=$(bench_children)
check "Prometheus: it scraped connects ok before the restart" "$kept_connects" "$(prom_sees "$OK_CONNECTS" "$kept_connects")"
"$HTTPD" -f "$BENCH_WORK/httpd.conf" -k graceful
for _ in $(seq 1 100); do
    new_kids=$(bench_children)
    [ -n "$new_kids" ] && [ -z "$(comm -12 <(tr ' ' '\n' <<<"$old_kids" | grep . | sort) <(tr ' ' '\n' <<<"$new_kids" | grep . | sort))" ] && break
    sleep 0.1
done
[ "$new_kids" != "$old_kids" ] && ok "graceful restart: new children ($old_kids -> $new_kids)" || bad "no new children after the graceful restart"
check "graceful restart: connects ok kept" "$kept_connects" "$(sample "$OK_CONNECTS")"
check "graceful restart: callbacks connected kept" "$kept_connected" "$(sample "$CONNECTED")"
start_connect() { curl -s -o /dev/null -w '%{http_code}' -X POST -H 'blink-auth-proxysecret: bench-proxy-secret' \
    -H 'blink-auth-userid: u-42' "http://127.0.0.1:$BENCH_PORT/blink/auth/a-1234"; }
check "after the restart, a Connect adds one" "200 $((kept_connects + 1))" "$(start_connect) $(sample "$OK_CONNECTS")"

# --- Prometheus: it scraped the handler, sees the same number, and saw no reset
final=$(sample "$OK_CONNECTS")
seen=$(prom_sees "$OK_CONNECTS" "$final")
check "Prometheus: the target is up" 1 "$(promql 'up{job="blinkauth"}')"
check "Prometheus: its latest connects ok is the handler's" "$final" "$seen"
check "Prometheus: the callbacks it ran" "$kept_connected" "$(promql "$CONNECTED")"
check "Prometheus: no counter reset over the run (graceful restart included)" 0 \
    "$(promql "sum(resets(blinkauth_connects_total[5m]))")"
# increase() over the whole run finds the whole connects and the Connects the suite made (it extrapolates to the
# window's edges, so it may say more, never fewer).
for series in "$CONNECTED:$CALLBACKS" "$OK_CONNECTS:$LOAD"; do
    grew=$(promql "increase(${series%:*}[5m])")
    check "Prometheus: increase() of ${series%:*} finds the ${series##*:} the suite ran" yes \
        "$(awk -v g="$grew" -v n="${series##*:}" 'BEGIN { print (g != "none" && g + 0.5 >= n) ? "yes" : "no (" g ")" }')"
done

# --- health: 503 naming the flow store when it fails (memcached at a port where nothing listens)
bench_httpd_stop
sed -i "s|^LoadModule blinkauth_module.*|LoadModule socache_memcache_module $MODDIR/mod_socache_memcache.so\n&\nBlinkAuthCache memcache:127.0.0.1:1|" \
    "$BENCH_WORK/httpd.conf"
if bench_httpd_start; then
    code=$(curl -s -w '%{http_code}' -o "$BENCH_WORK/health" "http://127.0.0.1:$BENCH_PORT/blinkauth-status/health")
    check "health: 503 naming the flow store when it refuses the probe" "503 unavailable flow store" \
        "$code $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["status"], d["failing"])' "$BENCH_WORK/health")"
else
    bad "httpd with a memcached store that does not answer did not start: $(tail -1 "$BENCH_WORK/logs/error_log")"
fi
finish
