#!/usr/bin/env python3
"""Turns the raw figures of bench/bench.sh into the table (printed), bench/results.md and the chart.

usage: report.py RAW RESULTS_MD CHART_PNG
RAW lines (written by bench.sh):
  meta key=value ...
  wrk CONTENDER ROUND rps p50_ms p99_ms cpu_us non2xx socket_errors
  drv KIND ROUND n errors rps p50_us p99_us min_us max_us mean_us
  conns FLOW ROUND callbacks provider_accepts provider_requests blink_accepts blink_requests
  pool NAME requests bytes_per_request allocations_per_request
  rss before|after PID KB
  rsscalls TOTAL NON2XX
"""
import os
import statistics
import subprocess
import sys
import tempfile


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def span(xs, fmt="{:.0f}"):
    """'median (min–max)' of xs."""
    if not xs:
        return "n/a"
    return (fmt + " ({}–{})").format(med(xs), fmt.format(min(xs)), fmt.format(max(xs)))


def verdict(ok):
    return "**met**" if ok else "**NOT met**"


def main(raw_path, out_path, png_path):
    meta, wrk, drv, conns, pool, rss, rsscalls = {}, {}, {}, {}, {}, {"before": {}, "after": {}, "again": {}}, None
    for line in open(raw_path):
        f = line.split()
        if not f:
            continue
        if f[0] == "meta":
            meta.update(kv.split("=", 1) for kv in f[1:])
        elif f[0] == "wrk":
            wrk.setdefault(f[1], {})[int(f[2])] = dict(zip(
                ("rps", "p50", "p99", "cpu", "non2xx", "errors", "others"), map(float, f[3:10])))
        elif f[0] == "drv" and len(f) >= 11:
            drv.setdefault(f[1], {})[int(f[2])] = dict(zip(
                ("n", "errors", "rps", "p50", "p99", "min", "max", "mean"), map(float, f[3:11])))
        elif f[0] == "conns":
            conns.setdefault(f[1], {})[int(f[2])] = dict(zip(
                ("n", "prov_acc", "prov_req", "blink_acc", "blink_req"), map(float, f[3:8])))
        elif f[0] == "pool":
            pool[f[1]] = dict(zip(("requests", "bytes", "allocs"), map(float, f[2:5])))
        elif f[0] == "rss":
            rss[f[1]][f[2]] = (int(f[3]), int(f[4]) if len(f) > 4 else 0)
        elif f[0] == "rsscalls":
            rsscalls = [int(x) for x in f[1:3]]

    threads = int(meta.get("threads", 50))
    rounds = sorted(wrk.get("connect", {}))
    L = []
    L.append("## Results\n")
    L.append("Measured %s on %s cores (a shared machine: load average %s at the start, which counts this "
             "bench's own threads too; what other processes took during each wrk run is in the table).  "
             "%s, event MPM (%s children × %s threads = %d worker threads), wrk %s, %s rounds, contenders "
             "alternated within each round.\n" % (
                 meta.get("date"), meta.get("cores"), meta.get("load_start", "?").replace(",", " "),
                 meta.get("httpd", "").replace("_", " "), meta.get("servers"), meta.get("tpc"), threads,
                 meta.get("wrk"), meta.get("rounds")))

    # 1. Connect vs static.
    s, c = wrk.get("static", {}), wrk.get("connect", {})
    ratio = {k: [c[r][k] / s[r][k] for r in rounds if r in s and s[r][k] > 0] for k in ("rps", "p50", "p99", "cpu")}
    L.append("### 1. Connect against a static file of the same size (%s bytes), same VirtualHost\n" % meta.get("body_bytes"))
    L.append("wrk -t1 -c%s, %s s per run after a 2 s warm-up. Median (min–max) of %d rounds; the ratio is "
             "Connect/static within each round (adjacent runs), then its median.\n" % (
                 meta.get("conns"), meta.get("secs"), len(rounds)))
    L.append("| contender | requests/s | p50 latency ms | p99 latency ms | httpd CPU µs/request | non-2xx, socket errors | other processes' CPU % |")
    L.append("|---|---|---|---|---|---|---|")
    for name, d in (("static JSON file", s), ("Connect (POST /blink/auth/a-1234)", c)):
        vals = lambda k: [d[r].get(k, 0) for r in rounds if r in d]
        L.append("| %s | %s | %s | %s | %s | %d, %d | %s |" % (
            name, span(vals("rps")), span(vals("p50"), "{:.2f}"), span(vals("p99"), "{:.2f}"),
            span(vals("cpu")), sum(vals("non2xx")), sum(vals("errors")), span(vals("others"))))
    L.append("| **Connect/static** | **%s** | %s | **%s** | %s | | |" % (
        span(ratio["rps"], "{:.3f}"), span(ratio["p50"], "{:.2f}"), span(ratio["p99"], "{:.2f}"),
        span(ratio["cpu"], "{:.2f}")))
    ok_rps, ok_p99 = med(ratio["rps"]) >= 0.95, med(ratio["p99"]) <= 1.5
    L.append("\nTargets: throughput ≥ 0.95 of static: %s (median %.3f); p99 ≤ 1.5× static: %s (median %.2f×).\n" % (
        verdict(ok_rps), med(ratio["rps"]), verdict(ok_p99), med(ratio["p99"])))

    # 2-3. Callback and Disconnect.
    ok_flows = True
    for num, flow, calls in (("2", "callback", "POST /token, GET /userinfo, POST the linked account to Blink"),
                             ("3", "disconnect", "GET + DELETE the linked account at Blink, 2 × POST /revoke")):
        fk, mk, cn = drv.get("fakes-" + flow, {}), drv.get(flow, {}), conns.get(flow, {})
        c50 = drv.get(flow + "-c50", {})
        rs = sorted(mk)
        added50 = [mk[r]["p50"] - fk[r]["p50"] for r in rs if r in fk]
        cw = conns.get(flow + "-warm", {})
        per_k = lambda key, d=cn: [d[r][key] * 1000 / d[r]["n"] for r in sorted(d)]
        title = "Callback (GET /blink/callback after its own Connect and start URL)" if flow == "callback" else \
            "Disconnect (DELETE /blink/linked-accounts/la-1)"
        L.append("### %s. %s against the fast fakes\n" % (num, title))
        L.append("Upstream calls per %s: %s.  Latency: one client, %s %ss in a row per round, keep-alive; "
                 "the fakes' own cost is the same requests sent straight to them by the same driver.  "
                 "Connections: a fresh httpd, %s %ss from %s concurrent clients, TCP connections counted by "
                 "the fakes as they accept them (so the cold start's are included).\n" % (
                     flow, calls, meta.get("cb_n"), flow, meta.get("cb_n50"), flow, meta.get("conns")))
        L.append("| | p50 µs | p99 µs |")
        L.append("|---|---|---|")
        L.append("| fakes alone (their own cost) | %s | %s |" % (
            span([fk[r]["p50"] for r in rs if r in fk]), span([fk[r]["p99"] for r in rs if r in fk])))
        L.append("| %s through httpd + mod_blinkauth | %s | %s |" % (
            flow, span([mk[r]["p50"] for r in rs]), span([mk[r]["p99"] for r in rs])))
        L.append("| **added by httpd + the module** | **%s** | (p99s of separate runs do not subtract) |" % span(added50))
        L.append("")
        L.append("| at %s clients | per round, median (min–max) |" % meta.get("conns"))
        L.append("|---|---|")
        ups = (("provider (token + userinfo)", "prov_acc"), ("Blink API", "blink_acc")) if flow == "callback" else \
            (("Blink API", "blink_acc"), ("provider (revoke)", "prov_acc"))
        for name, key in ups:
            L.append("| new TCP connections to the %s per 1,000 %ss: cold start (first %s) / warm (next %s) | **%s** / **%s** |" % (
                name, flow, meta.get("cb_n50"), meta.get("cb_n50"), span(per_k(key), "{:.1f}"), span(per_k(key, cw), "{:.1f}")))
        worst = max(per_k("prov_acc") + per_k("blink_acc") + per_k("prov_acc", cw) + per_k("blink_acc", cw) or [0])
        L.append("| upstream requests per %s (provider, Blink) | %s, %s |" % (
            flow, span([cn[r]["prov_req"] / cn[r]["n"] for r in sorted(cn)], "{:.2f}"),
            span([cn[r]["blink_req"] / cn[r]["n"] for r in sorted(cn)], "{:.2f}")))
        L.append("| %ss/s (cold run) | %s |" % (flow, span([c50[r]["rps"] for r in sorted(c50)])))
        L.append("| %s p50 / p99 µs (queueing on 2 cores included) | %s / %s |" % (
            flow, span([c50[r]["p50"] for r in sorted(c50)]), span([c50[r]["p99"] for r in sorted(c50)])))
        errors = sum(d["errors"] for d in list(mk.values()) + list(c50.values()) + list(fk.values()) +
                     list(drv.get(flow + "-c50warm", {}).values()))
        L.append("| failed %ss (any non-200) | %d |" % (flow, errors))
        ok_c, ok_l = worst <= threads, med(added50) < 1000
        ok_flows = ok_flows and ok_c and ok_l and errors == 0
        L.append("\nTargets: new connections per 1,000 ≤ %d worker threads: %s (worst round, worst upstream: %.1f); "
                 "added latency < 1 ms at p50: %s (median %.0f µs).\n" % (
                     threads, verdict(ok_c), worst, verdict(ok_l), med(added50)))

    # 4. Memory.
    L.append("### 4. Memory\n")
    L.append("| | |")
    L.append("|---|---|")
    if "connect" in pool:
        L.append("| bytes taken from the request pool per Connect call (whole request: httpd core + module) | **%.0f** (%.0f allocations; %d calls) |" % (
            pool["connect"]["bytes"], pool["connect"]["allocs"], pool["connect"]["requests"]))
    if "static" in pool:
        L.append("| the same for the static file GET | %.0f (%.0f allocations) |" % (pool["static"]["bytes"], pool["static"]["allocs"]))
        L.append("| so the module's own share per Connect call | ≈ %.0f bytes |" % (pool["connect"]["bytes"] - pool["static"]["bytes"]))
    calls = int(meta.get("mem_calls", 0))
    L.append("| child RSS (private anonymous memory) in KB: after a 2,000-call warm-up → after %s Connect calls → after %s more | |" % (
        "{:,}".format(calls), "{:,}".format(calls)))
    for pid, before in sorted(rss["before"].items()):
        after, again = rss["after"].get(pid), rss["again"].get(pid)
        if after is None or again is None:
            L.append("| child %s | %d (%d) → **gone** |" % (pid, before[0], before[1]))
            continue
        L.append("| child %s | %d (%d) → %d (%d) → **%d (%d)**: %+.1f%% over the last %s |" % (
            pid, before[0], before[1], after[0], after[1], again[0], again[1],
            (again[0] - after[0]) * 100.0 / after[0], "{:,}".format(calls)))
    if rsscalls:
        L.append("| Connect calls answered in that run, non-2xx | %d, %d |" % tuple(rsscalls))
    L.append("")
    text = "\n".join(L)

    notes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    notes = open(notes_path).read() if os.path.exists(notes_path) else ""
    head = ("# mod_blinkauth benchmarks\n\n"
            "Command: `make bench` (bench/bench.sh; `BENCH_ROUNDS`, `BENCH_SECS` … to vary).  "
            "Generated by bench/report.py from that run; the notes at the end are bench/notes.md.\n\n"
            "![throughput](throughput.png)\n\n")
    with open(out_path, "w") as f:
        f.write(head + text + "\n" + notes)
    print(text)
    chart(png_path, wrk, drv, rounds, meta)
    return 0 if (ok_rps and ok_p99 and ok_flows) else 1


def chart(png_path, wrk, drv, rounds, meta):
    """One bar per contender: median requests/s with its min–max."""
    rows = []
    for label, vals in (
        ("static file\\n(GET, %s B)" % meta.get("body_bytes", "?"), [wrk.get("static", {})[r]["rps"] for r in rounds if r in wrk.get("static", {})]),
        ("Connect\\n(POST /auth/<id>)", [wrk.get("connect", {})[r]["rps"] for r in rounds]),
        ("callback\\n(+ its Connect\\nand start URL;\\n3 upstream calls)", [d["rps"] for d in drv.get("callback-c50warm", {}).values()]),
        ("Disconnect\\n(4 upstream calls)", [d["rps"] for d in drv.get("disconnect-c50warm", {}).values()]),
    ):
        if vals:
            rows.append((label, med(vals), min(vals), max(vals), 0x999999 if label.startswith("static") else 0x4C72B0))
    if not rows or subprocess.call(["sh", "-c", "command -v gnuplot >/dev/null"]) != 0:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as dat:
        for i, (label, m, lo, hi, colour) in enumerate(rows):
            dat.write('%d "%s" %.0f %.0f %.0f %d\n' % (i, label, m, lo, hi, colour))
    script = """
set terminal pngcairo size 900,560 font "DejaVu Sans,11" noenhanced
set output '%s'
set title "mod_blinkauth, event MPM, %s cores: requests/s at %s connections\\n(median of %d rounds; error bars: min–max; callback and Disconnect against local fakes)"
set ylabel "requests per second"
set yrange [0:*]
set grid ytics
set boxwidth 0.6
set style fill solid 0.85 border -1
set xtics nomirror
set bmargin 5
unset key
plot '%s' using 1:3:6:xtic(2) with boxes lc rgb variable, \\
     '' using 1:3:4:5 with yerrorbars lc rgb "black" pt 0 lw 1.5, \\
     '' using 1:5:(sprintf("%%.0f", $3)) with labels offset 0,1 font ",11"
""" % (png_path, meta.get("cores", "?"), meta.get("conns", "50"), len(rounds), dat.name)
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    os.unlink(dat.name)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
