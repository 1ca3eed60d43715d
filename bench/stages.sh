#!/usr/bin/env bash
# bench/stages.sh REV...: what each change bought — the module of each revision built in a throw-away worktree, then
# Connect against the no-op handler on each of them, the revisions in a rotated order every round (a fresh httpd each
# time), and the instructions of one Connect from callgrind (deterministic, so a noisy machine cannot blur them).
# Prints one line per revision: median (min–max) of Connect/no-op requests/s and httpd CPU per request, and the
# instructions per Connect and per no-op request.  Not run by make bench: for bench/notes.md.
# Environment: BENCH_PORT (8801), STAGES_ROUNDS (3), STAGES_SECS (5), STAGES_CALLGRIND (1; 0 skips it).
set -uo pipefail
BENCH_WORK=${BENCH_WORK:-$(cd "$(dirname "$0")/.." && pwd)/build/stages/work}
. "$(dirname "$0")/lib.sh"

ROUNDS=${STAGES_ROUNDS:-3}
SECS=${STAGES_SECS:-5}
DIR=$BENCH_TOP/build/stages
RAW=$DIR/raw.txt
[ $# -ge 1 ] || { echo "usage: bench/stages.sh REV..." >&2; exit 2; }
trap bench_cleanup EXIT
bench_build_tools || exit 1
mkdir -p "$DIR"
: >"$RAW"

# The module of revision rev, built once into $DIR/<commit>.so; prints its path.
module_of() {
    local commit so tree
    commit=$(git -C "$BENCH_TOP" rev-parse --short "$1") || return 1
    so=$DIR/$commit.so
    if [ ! -f "$so" ]; then
        tree=$DIR/tree-$commit
        git -C "$BENCH_TOP" worktree add -q --detach "$tree" "$commit" &&
            make -C "$tree" >"$DIR/$commit.log" 2>&1 && cp "$tree/.libs/mod_blinkauth.so" "$so"
        git -C "$BENCH_TOP" worktree remove --force "$tree"
    fi
    [ -f "$so" ] && echo "$so"
}

# Instructions per request of method path on a single-process httpd under callgrind: the difference between a run of
# 500 requests and one of 2,500, over 2,000.
instructions() {
    local method=$1 path=$2 n a b
    for n in 500 2500; do
        rm -f "$DIR/cg.out"
        touch "$DIR/cg.out"
        [ "$(id -u)" = 0 ] && chown www-data "$DIR/cg.out"
        valgrind --tool=callgrind --callgrind-out-file="$DIR/cg.out" "$HTTPD" -X -f "$BENCH_WORK/httpd.conf" \
            >"$DIR/callgrind.log" 2>&1 &
        local vpid=$!
        bench_wait_port "$BENCH_PORT" >/dev/null
        BENCH_METHOD=$method BENCH_PATH=$path bench_wrk_quota "$n" 1 1 >/dev/null
        kill "$vpid"
        wait "$vpid"
        b=$(callgrind_annotate "$DIR/cg.out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
        [ "$n" = 500 ] && a=$b
    done
    echo $(((b - a) / 2000))
}

# One timed wrk run of method path; prints "rps cpu_us".
timed() {
    local c0 c1 out n
    c0=$(bench_children_cpu)
    out=$(BENCH_COUNT=0 BENCH_METHOD=$1 BENCH_PATH=$2 wrk -t1 -c50 -d"${SECS}s" -s "$BENCH_TOP/bench/count.lua" \
        "http://127.0.0.1:$BENCH_PORT")
    c1=$(bench_children_cpu)
    n=$(grep -o '[0-9]* requests in' <<<"$out" | awk '{print $1}')
    echo "$(awk '/Requests\/sec/ {print $2}' <<<"$out") $(((c1 - c0) * 1000000 / $(getconf CLK_TCK) / n))"
}

declare -A so
for rev in "$@"; do
    so[$rev]=$(module_of "$rev") || { echo "stages: cannot build $rev" >&2; exit 1; }
done
rm -rf "$BENCH_WORK"
bench_write_conf
BENCH_MODULE=${so[$1]} bench_httpd_start || exit 1
bench_connect_once >"$BENCH_WORK/htdocs/connect.json"
bench_httpd_stop
revs=("$@")
for r in $(seq 1 "$ROUNDS"); do
    for k in $(seq 0 $((${#revs[@]} - 1))); do
        rev=${revs[$(((k + r - 1) % ${#revs[@]}))]}
        BENCH_MODULE=${so[$rev]} bench_write_conf
        bench_httpd_start || exit 1
        BENCH_COUNT=0 wrk -t1 -c50 -d2s -s "$BENCH_TOP/bench/count.lua" "http://127.0.0.1:$BENCH_PORT" >/dev/null
        if [ $((r % 2)) = 1 ]; then
            noop=$(timed POST /noop/auth/a-1234); connect=$(timed POST /blink/auth/a-1234)
        else
            connect=$(timed POST /blink/auth/a-1234); noop=$(timed POST /noop/auth/a-1234)
        fi
        echo "run $rev $r $noop $connect" | tee -a "$RAW"
        bench_httpd_stop
    done
done
if [ "${STAGES_CALLGRIND:-1}" = 1 ]; then
    for rev in "$@"; do
        BENCH_MODULE=${so[$rev]} bench_write_conf
        echo "instructions $rev $(instructions POST /blink/auth/a-1234) $(instructions POST /noop/auth/a-1234)" |
            tee -a "$RAW"
    done
fi
python3 - "$RAW" "$@" <<'PY'
import statistics, sys
raw, revs = sys.argv[1], sys.argv[2:]
runs, ins = {}, {}
for line in open(raw):
    f = line.split()
    if f[0] == "run":
        runs.setdefault(f[1], []).append(tuple(map(float, f[3:7])))
    elif f[0] == "instructions":
        ins[f[1]] = (int(f[2]), int(f[3]))
def span(xs, fmt):
    return (fmt + " (" + fmt + "–" + fmt + ")") % (statistics.median(xs), min(xs), max(xs)) if xs else "n/a"
print("| revision | Connect / no-op requests/s | Connect / no-op httpd CPU | Connect CPU µs | instructions per Connect "
      "(per no-op request) |")
print("|---|---|---|---|---|")
for rev in revs:
    rs = runs.get(rev, [])
    print("| %s | %s | %s | %s | %s |" % (
        rev, span([c / n for n, _, c, _ in rs], "%.3f"), span([cc / nc for _, nc, _, cc in rs], "%.2f"),
        span([cc for _, _, _, cc in rs], "%.0f"), "%d (%d)" % ins[rev] if rev in ins else "n/a"))
PY
