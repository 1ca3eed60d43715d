#!/usr/bin/env python3
"""Turns the raw figures of bench/bench.sh into the tables (printed), bench/results.md and the chart.

usage: report.py RAW RESULTS_MD CHART_PNG
RAW lines (written by bench.sh):
  meta key=value ...
  mutexname MUTEX MECHANISM
  wrk SECTION CONTENDER ROUND rps p50_ms p99_ms cpu_us non2xx socket_errors others_pct
  wrkerr SECTION CONTENDER ROUND connect=N read=N write=N timeout=N  (only after a run with socket errors)
  drv KIND ROUND n errors rps p50_us p99_us min_us max_us mean_us cpu_us
  conns FLOW ROUND n provider_accepts provider_requests blink_accepts blink_requests
        provider_tls_full provider_tls_resumed blink_tls_full blink_tls_resumed
  pool NAME requests bytes_per_request allocations_per_request
  rss before|after|again PID RSS_KB ANON_KB
  rsscalls TOTAL NON2XX
  appsmem APPS ROUND PARENT_ANON_KB CHILDREN_RSS_KB
  flowsmem STORE PENDING BEFORE_KB AFTER_KB
  quota SECTION n seconds cpu_us non2xx
  h2proto h2|http1 ROUND PROTOCOL=REQUESTS ...
Exits 1 when a target of section 1 (Connect against the no-op handler) is not met.
"""
import os
import statistics
import subprocess
import sys
import tempfile

TARGET_RPS, TARGET_CPU, TARGET_P99 = 0.90, 1.10, 1.5


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def span(xs, fmt="{:.0f}"):
    """'median (min–max)' of xs."""
    if not xs:
        return "n/a"
    return (fmt + " ({}–{})").format(med(xs), fmt.format(min(xs)), fmt.format(max(xs)))


def verdict(ok):
    return "**met**" if ok else "**NOT met**"


def parse(raw_path):
    d = {"meta": {}, "mutexname": {}, "wrk": {}, "wrkerr": {}, "drv": {}, "conns": {}, "pool": {}, "appsmem": {},
         "flowsmem": {}, "quota": {}, "h2proto": {}, "rss": {"before": {}, "after": {}, "again": {}}, "rsscalls": None}
    for line in open(raw_path):
        f = line.split()
        if not f:
            continue
        kind = f[0]
        if kind == "meta":
            d["meta"].update(kv.split("=", 1) for kv in f[1:])
        elif kind == "mutexname":
            d["mutexname"][f[1]] = f[2] if len(f) > 2 else "?"
        elif kind == "wrk":
            d["wrk"].setdefault(f[1], {}).setdefault(f[2], {})[int(f[3])] = dict(zip(
                ("rps", "p50", "p99", "cpu", "non2xx", "errors", "others"), map(float, f[4:11])))
        elif kind == "wrkerr":
            d["wrkerr"].setdefault(f[1], []).append((f[2], int(f[3]), [kv.replace("=", " ") for kv in f[4:]
                                                                        if not kv.endswith("=0")]))
        elif kind == "drv" and len(f) >= 11:
            d["drv"].setdefault(f[1], {})[int(f[2])] = dict(zip(
                ("n", "errors", "rps", "p50", "p99", "min", "max", "mean", "cpu"), map(float, f[3:12])))
        elif kind == "conns":
            d["conns"].setdefault(f[1], {})[int(f[2])] = dict(zip(
                ("n", "prov_acc", "prov_req", "blink_acc", "blink_req", "prov_full", "prov_resumed", "blink_full",
                 "blink_resumed"), map(float, f[3:12])))
        elif kind == "pool":
            d["pool"][f[1]] = dict(zip(("requests", "bytes", "allocs"), map(float, f[2:5])))
        elif kind == "rss":
            d["rss"][f[1]][f[2]] = (int(f[3]), int(f[4]) if len(f) > 4 else 0)
        elif kind == "rsscalls":
            d["rsscalls"] = [int(x) for x in f[1:3]]
        elif kind == "appsmem":
            d["appsmem"].setdefault(int(f[1]), []).append((int(f[3]), int(f[4])))
        elif kind == "flowsmem":
            d["flowsmem"][(f[1], int(f[2]))] = (int(f[3]), int(f[4]))
        elif kind == "h2proto":
            d["h2proto"].setdefault(f[1], {})[int(f[2])] = dict(kv.split("=", 1) for kv in f[3:])
        elif kind == "quota":
            d["quota"][f[1]] = dict(zip(("n", "secs", "cpu", "non2xx"), map(float, f[2:6])))
    return d


def ratios(section, name, base, key):
    """name/base of key within each round of section."""
    a, b = section.get(name, {}), section.get(base, {})
    return [a[r][key] / b[r][key] for r in sorted(a) if r in b and b[r][key] > 0]


def wrk_table(L, section, names, base):
    """Rows of the wrk contenders of one section, then their ratios to base."""
    L.append("| contender | requests/s | p50 ms | p99 ms | httpd CPU µs/request | non-2xx, socket errors | "
             "other processes' CPU % |")
    L.append("|---|---|---|---|---|---|---|")
    for name, label in names:
        d = section.get(name, {})
        vals = lambda k: [d[r][k] for r in sorted(d)]
        if d:
            L.append("| %s | %s | %s | %s | %s | %d, %d | %s |" % (
                label, span(vals("rps")), span(vals("p50"), "{:.2f}"), span(vals("p99"), "{:.2f}"),
                span(vals("cpu")), sum(vals("non2xx")), sum(vals("errors")), span(vals("others"))))
    for name, label in names:
        if name == base or name not in section:
            continue
        L.append("| **%s / %s** | **%s** | %s | **%s** | **%s** | | |" % (
            label, dict(names)[base], span(ratios(section, name, base, "rps"), "{:.3f}"),
            span(ratios(section, name, base, "p50"), "{:.2f}"), span(ratios(section, name, base, "p99"), "{:.2f}"),
            span(ratios(section, name, base, "cpu"), "{:.2f}")))


def limit_rounds(d):
    """The rounds the limit part ran (the wrk runs of its mutex sections), which may differ from BENCH_ROUNDS."""
    return max((r for sec, runs in d["wrk"].items() if sec.startswith("mutex=") for c in runs.values() for r in c),
               default=0)


def part_limit(L, d):
    meta, ok = d["meta"], True
    sections = [s for s in d["wrk"] if s.startswith("mutex=")]
    if not sections:
        return True
    L.append("### 1. Connect against the limit: the no-op handler, and a static file (%s bytes), one httpd\n"
             % meta.get("body_bytes"))
    # Before limit_warmup=first, every run of the limit part had its own warm-up.
    warmup = ("no warm-up" if str(meta.get("warmup")) == "0"
              else ("the first round's runs after a %s s warm-up" if meta.get("limit_warmup") == "first"
                    else "after a %s s warm-up") % meta.get("warmup", 2))
    L.append("wrk -t1 -c%s, %s s per run (%s); each round runs the static file, then the no-op handler "
             "and Connect, each of the two first in half of the (even number of) rounds, so that neither is the one that "
             "always follows the static file or the other. Median (min–max) of the rounds; each ratio is taken within a "
             "round, then its median. The no-op handler (bench/mod_bench_noop.c) answers the same bytes with the same "
             "headers from memory and skips the filesystem walk as the module does: it is what httpd costs any "
             "handler. \"httpd CPU\" is the children's user + system time over the run divided by the requests.\n"
             % (meta.get("conns"), meta.get("limit_secs", meta.get("secs")), warmup))
    names = (("noop", "no-op handler (POST /noop/auth/a-1234)"), ("static", "static file (GET /connect.json)"),
             ("connect", "Connect (POST /blink/auth/a-1234)"))
    for section in sorted(sections):
        mutex = section.split("=", 1)[1]
        L.append("#### Flow store mutex: %s (%s)\n" % (
            "default" if mutex == "default" else "`Mutex file:`", d["mutexname"].get(mutex, "?")))
        wrk_table(L, d["wrk"][section], names, "noop")
        c = d["wrk"][section].get("connect", {})
        rps, cpu, p99 = (med(ratios(d["wrk"][section], "connect", "noop", k)) for k in ("rps", "cpu", "p99"))
        bad = sum(c[r]["non2xx"] + c[r]["errors"] for r in c)
        ok = ok and rps >= TARGET_RPS and cpu <= TARGET_CPU and p99 <= TARGET_P99 and bad == 0
        L.append("\nTargets, Connect against the no-op handler: throughput ≥ %.2f×: %s (%.3f); httpd CPU per request "
                 "≤ %.2f×: %s (%.2f); p99 ≤ %.1f×: %s (%.2f); no non-2xx or socket error: %s (%d).\n" % (
                     TARGET_RPS, verdict(rps >= TARGET_RPS), rps, TARGET_CPU, verdict(cpu <= TARGET_CPU), cpu,
                     TARGET_P99, verdict(p99 <= TARGET_P99), p99, verdict(bad == 0), bad))
        errs = sorted(d["wrkerr"].get(section, []), key=lambda e: (e[1], e[0]))
        if errs:
            L.append("Socket errors by kind (wrk's): %s.\n" % "; ".join(
                "%s, round %d: %s" % (dict(names).get(name, name), rnd, ", ".join(kinds)) for name, rnd, kinds in errs))
    return ok


def per_k(conn, key):
    return [conn[r][key] * 1000 / conn[r]["n"] for r in sorted(conn)]


def latency_table(L, labels, fk, nk, mk, added):
    """Appends the one-client latency table: the fakes alone, the no-op handler, the flow, and what httpd + the module
    add (labels: the three rows' names and the last row's third cell)."""
    rs = sorted(mk)
    L.append("| one client | p50 µs | p99 µs |")
    L.append("|---|---|---|")
    for label, k in ((labels[0], fk), (labels[1], nk)):
        L.append("| %s | %s | %s |" % (label, span([k[r]["p50"] for r in rs if r in k]),
                                       span([k[r]["p99"] for r in rs if r in k])))
    L.append("| %s | %s | %s |" % (labels[2], span([mk[r]["p50"] for r in rs]), span([mk[r]["p99"] for r in rs])))
    L.append("| **added by httpd + the module** (%s) | **%s** | %s |" % (labels[3], span(added), labels[4]))


def part_flows(L, d, threads):
    meta, drv, conns = d["meta"], d["drv"], d["conns"]
    ok = True
    for num, flow, calls in (("2", "callback", "POST /token, GET /userinfo, Get User, list the user's linked "
                                               "accounts, POST the linked account"),
                             ("2b", "disconnect", "GET + DELETE the linked account at Blink, 2 × POST /revoke")):
        fk, mk, nk = drv.get("fakes-" + flow, {}), drv.get(flow, {}), drv.get("noop-" + flow, {})
        if not mk:
            continue
        c50, cw, cn = drv.get(flow + "-c50", {}), conns.get(flow + "-warm", {}), conns.get(flow, {})
        rs = sorted(mk)
        added = [mk[r]["p50"] - fk[r]["p50"] for r in rs if r in fk]
        title = "Callback (GET /blink/callback, after its own Connect and start URL)" if flow == "callback" else \
            "Disconnect (DELETE /blink/linked-accounts/la-1)"
        L.append("### %s. %s against the fast fakes, plain HTTP\n" % (num, title))
        L.append("Upstream calls per %s: %s. Latency: one client, %s in a row per round, keep-alive; the fakes' own "
                 "cost is the same requests sent straight to them by the same driver; the no-op handler's is what "
                 "httpd alone costs one request. Connections: a fresh httpd, %s %ss from %s concurrent clients, "
                 "counted by the fakes as they accept them (the cold start's included), then as many again.\n" % (
                     flow, calls, meta.get("cb_n"), meta.get("cb_n50"), flow, meta.get("conns")))
        latency_table(L, ("fakes alone (their own cost)",
                          "the no-op handler through httpd (httpd's own share of any request)",
                          "%s through httpd + mod_blinkauth" % flow, "%s − fakes" % flow,
                          "(p99s of separate runs do not subtract)"), fk, nk, mk, added)
        L.append("")
        L.append("| at %s clients | median (min–max) of the rounds |" % meta.get("conns"))
        L.append("|---|---|")
        ups = (("provider", "prov_acc"), ("Blink API", "blink_acc"))
        for name, key in ups:
            L.append("| new TCP connections to the %s per 1,000 %ss: cold start / warm | **%s** / **%s** |" % (
                name, flow, span(per_k(cn, key), "{:.1f}"), span(per_k(cw, key), "{:.1f}")))
        worst_warm = max(per_k(cw, "prov_acc") + per_k(cw, "blink_acc") or [0])
        L.append("| upstream requests per %s (provider, Blink) | %s, %s |" % (
            flow, span([cn[r]["prov_req"] / cn[r]["n"] for r in sorted(cn)], "{:.2f}"),
            span([cn[r]["blink_req"] / cn[r]["n"] for r in sorted(cn)], "{:.2f}")))
        L.append("| %ss/s, cold / warm | %s / %s |" % (
            flow, span([c50[r]["rps"] for r in sorted(c50)]),
            span([d2["rps"] for d2 in drv.get(flow + "-c50warm", {}).values()])))
        what = "Connect + start URL + callback" if flow == "callback" else "Disconnect"
        L.append("| httpd CPU µs per %s (%s), cold / warm | %s / %s |" % (
            flow, what, span([c50[r]["cpu"] for r in sorted(c50)]),
            span([d2["cpu"] for d2 in drv.get(flow + "-c50warm", {}).values()])))
        errors = sum(x["errors"] for x in list(mk.values()) + list(c50.values()) + list(fk.values()) +
                     list(drv.get(flow + "-c50warm", {}).values()))
        L.append("| failed %ss (any non-200) | %d |" % (flow, errors))
        ok_c, ok_l = worst_warm <= threads, med(added) < 1000
        ok = ok and ok_c and ok_l and errors == 0
        L.append("\nTargets: new connections per 1,000 after warm-up ≤ %d worker threads: %s (worst round, worst "
                 "upstream: %.1f); added latency < 1 ms at p50: %s (median %.0f µs).\n" % (
                     threads, verdict(ok_c), worst_warm, verdict(ok_l), med(added)))
    return ok


def part_tls(L, d, threads):
    meta, drv, conns = d["meta"], d["drv"], d["conns"]
    mk, fk, nk = drv.get("tls-callback", {}), drv.get("tls-fakes-callback", {}), drv.get("tls-noop-callback", {})
    if not mk:
        return True
    rs = sorted(mk)
    added = [mk[r]["p50"] - fk[r]["p50"] for r in rs if r in fk]
    L.append("### 3. Callbacks over TLS\n")
    L.append("The provider and the Blink API fakes speak TLS (HTTP/1.1) with a certificate of a test CA the bench "
             "makes (tests/lib/test-ca.sh); the app trusts it with BlinkAuthCAFile. The driver's own requests to the "
             "fakes (their cost) use TLS too, on kept-alive connections. Handshakes are counted by the fakes: full, "
             "or resumed (a session the client kept). Reconnects, %s callbacks each: with a keep-alive request limit "
             "(each connection closed after that many requests, so reconnects come one at a time), and with every "
             "kept connection closed after its next answer (all reconnect at once, as after a server's restart).\n"
             % meta.get("cb_n50"))
    latency_table(L, ("fakes alone over TLS", "the no-op handler through httpd",
                      "callback through httpd + mod_blinkauth, upstreams over TLS", "callback − fakes", ""),
                  fk, nk, mk, added)
    L.append("")
    L.append("| at %s clients, per 1,000 callbacks | cold start | warm | keep-alive limit %s | all dropped at once |"
             % (meta.get("conns"), meta.get("keepalive", "?")))
    L.append("|---|---|---|---|---|")
    runs = [conns.get(k, {}) for k in ("tls-callback", "tls-callback-warm", "tls-callback-keepalive",
                                       "tls-callback-reconnect")]
    for name, acc, full, res in (("provider", "prov_acc", "prov_full", "prov_resumed"),
                                 ("Blink API", "blink_acc", "blink_full", "blink_resumed")):
        L.append("| %s: new connections | %s |" % (name, " | ".join(span(per_k(c, acc), "{:.1f}") for c in runs)))
        L.append("| %s: full TLS handshakes | %s |" % (name, " | ".join(span(per_k(c, full), "{:.1f}") for c in runs)))
        L.append("| %s: resumed TLS handshakes | %s |" % (name, " | ".join(span(per_k(c, res), "{:.1f}") for c in runs)))
    c50 = [drv.get(k, {}) for k in ("tls-callback-c50", "tls-callback-c50warm", "tls-callback-c50keepalive",
                                    "tls-callback-c50reconnect")]
    L.append("| callbacks/s | %s |" % " | ".join(span([x["rps"] for x in c.values()]) for c in c50))
    L.append("| httpd CPU µs per callback (Connect + start URL + callback) | %s |" % " | ".join(
        span([x["cpu"] for x in c.values()]) for c in c50))
    plain = drv.get("callback-c50warm", {})
    if plain:
        L.append("| the same over plain HTTP (section 2, warm) | | %s | | |" % span([x["cpu"] for x in plain.values()]))
    errors = sum(x["errors"] for c in c50 + [mk, fk] for x in c.values())
    L.append("| failed callbacks (any non-200) | %d | | | |" % errors)
    warm = runs[1]
    worst = max(per_k(warm, "prov_full") + per_k(warm, "blink_full") + per_k(warm, "prov_resumed") +
                per_k(warm, "blink_resumed") or [0])
    resumed = []
    for rec in runs[2:]:
        full_rec = sum(rec[r]["prov_full"] + rec[r]["blink_full"] for r in rec)
        resumed.append((sum(rec[r]["prov_resumed"] + rec[r]["blink_resumed"] for r in rec), full_rec))
    ok_l, ok_h = med(added) < 1000, worst <= threads
    L.append("\nTargets: added latency < 1 ms at p50 over TLS: %s (median %.0f µs); new TLS handshakes per 1,000 "
             "callbacks after warm-up ≤ %d worker threads: %s (worst round, worst upstream: %.1f). Resumed on "
             "reconnect: %d of %d handshakes under the keep-alive limit, %d of %d when all were dropped at once.\n" % (
                 verdict(ok_l), med(added), threads, verdict(ok_h), worst, resumed[0][0], sum(resumed[0]),
                 resumed[1][0], sum(resumed[1])))
    return ok_l and ok_h and errors == 0


def part_memory(L, d):
    pool, rss, rsscalls, meta = d["pool"], d["rss"], d["rsscalls"], d["meta"]
    if not pool and not rss["before"]:
        return
    L.append("### 4. Memory\n")
    L.append("| | |")
    L.append("|---|---|")
    if "connect" in pool:
        L.append("| bytes taken from the request pool per Connect call (whole request: httpd core + module) | "
                 "**%.0f** (%.0f allocations; %d calls) |" % (
                     pool["connect"]["bytes"], pool["connect"]["allocs"], pool["connect"]["requests"]))
    for name, label in (("noop", "the no-op handler"), ("static", "the static file GET")):
        if name in pool:
            L.append("| the same for %s | %.0f (%.0f allocations) |" % (label, pool[name]["bytes"], pool[name]["allocs"]))
    if "connect" in pool and "noop" in pool:
        L.append("| so the module's own share per Connect call (Connect − no-op) | ≈ %.0f bytes |" % (
            pool["connect"]["bytes"] - pool["noop"]["bytes"]))
    calls = int(meta.get("mem_calls", 0))
    L.append("| child RSS (private anonymous memory) in KB: after a 2,000-call warm-up → after %s Connect calls → "
             "after %s more | |" % ("{:,}".format(calls), "{:,}".format(calls)))
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


def part_scale(L, d):
    wrk, appsmem, flowsmem, quota = d["wrk"], d["appsmem"], d["flowsmem"], d["quota"]
    apps = sorted(int(s.split("=")[1]) for s in wrk if s.startswith("apps="))
    if not apps and not flowsmem:
        return
    L.append("### 5. Scale\n")
    if apps:
        L.append("Apps: one `<Location>` each, with its own Auth ID, in one `<VirtualHost>`; Connect goes to the last "
                 "one (httpd walks the `<Location>`s in order), the no-op handler's `<Location>` comes after them all. "
                 "A fresh httpd per app count, the counts in a rotated order each round. Configuration memory: the "
                 "parent's private anonymous memory after start (its children inherit it).\n")
        L.append("| apps | parent memory KB | Connect/s | no-op/s | Connect CPU µs | no-op CPU µs | Connect / no-op "
                 "requests/s | Connect / no-op CPU |")
        L.append("|---|---|---|---|---|---|---|---|")
        for n in apps:
            sec = wrk["apps=%d" % n]
            c = sec.get("connect") or sec.get("connect-app-%d" % n, {})
            name = "connect" if "connect" in sec else "connect-app-%d" % n
            L.append("| %d | %s | %s | %s | %s | %s | %s | %s |" % (
                n, span([m[0] for m in appsmem.get(n, [])]), span([c[r]["rps"] for r in sorted(c)]),
                span([sec["noop"][r]["rps"] for r in sorted(sec.get("noop", {}))]),
                span([c[r]["cpu"] for r in sorted(c)]), span([sec["noop"][r]["cpu"] for r in sorted(sec.get("noop", {}))]),
                span(ratios(sec, name, "noop", "rps"), "{:.3f}"), span(ratios(sec, name, "noop", "cpu"), "{:.2f}")))
        if len(apps) > 1 and appsmem.get(apps[0]) and appsmem.get(apps[-1]):
            per_app = (med([m[0] for m in appsmem[apps[-1]]]) - med([m[0] for m in appsmem[apps[0]]])) / (
                apps[-1] - apps[0])
            L.append("\nConfiguration memory per app: ≈ %.1f KB (parent, %d → %d apps).\n" % (per_app, apps[0], apps[-1]))
    if flowsmem:
        L.append("Pending flows: Connects made beforehand whose start URL a browser opened, never finished (bench/driver.c "
                 "open; each leaves one record, the flow bound to its browser; a Connect alone keeps nothing in shmcb, "
                 "and in Redis a flow and a start record until its start URL is opened), then %s Connect calls at 50 "
                 "connections, timed. shmcb sized 200,000,000 bytes "
                 "(8 shards); Redis on loopback (no host-wide lock). Memory: shmcb — the growth of the machine's shared "
                 "memory (/proc/meminfo Shmem: a page of a segment counts once it is written; other jobs' shared memory "
                 "would count too); Redis — its used_memory growth.\n" % "{:,}".format(
                     int(next(iter(quota.values()))["n"]) if quota else 0))
        L.append("| store | pending flows | memory growth KB | KB per pending flow | Connect/s (from n to n + the "
                 "timed calls) | httpd CPU µs per Connect | non-2xx |")
        L.append("|---|---|---|---|---|---|---|")
        for (store, n), (before, after) in sorted(flowsmem.items()):
            q = quota.get("flows=%s:%d" % (store, n), {})
            L.append("| %s | %s | %d | %s | %s | %s | %s |" % (
                store, "{:,}".format(n), after - before, "%.2f" % ((after - before) / n) if n >= 1000 else "–",
                "%.0f" % (q["n"] / q["secs"]) if q else "n/a", "%.0f" % q["cpu"] if q else "n/a",
                "%d" % q["non2xx"] if q else "n/a"))
        L.append("")


def part_h2(L, d):
    drv, seen = d["drv"], d["h2proto"]
    if not drv.get("h2-callback"):
        return
    L.append("### 6. HTTP/2 or a pool of HTTP/1.1 connections to an upstream\n")
    L.append("The provider and the Blink API are one upstream httpd (mod_ssl, mod_http2; the answers from the no-op "
             "handler) offering `h2 http/1.1` or only `http/1.1` over TLS; libcurl 7.88 negotiates h2 by ALPN when it "
             "is offered (its default for https). A fresh front httpd for each run; the two alternated.\n")
    L.append("| upstream offers | protocol of the requests it served | callback p50 µs, one client | p99 µs | "
             "callbacks/s at 50 clients | httpd CPU µs per callback (Connect + start URL + callback) |")
    L.append("|---|---|---|---|---|---|")
    for proto, label in (("h2", "h2, http/1.1"), ("http1", "http/1.1")):
        one, c50 = drv.get(proto + "-callback", {}), drv.get(proto + "-callback-c50", {})
        protos = {}
        for r in seen.get(proto, {}).values():
            for k, v in r.items():
                protos[k] = protos.get(k, 0) + int(v)
        L.append("| %s | %s | %s | %s | %s | %s |" % (
            label, ", ".join("%s: %d" % kv for kv in sorted(protos.items())) or "?",
            span([x["p50"] for x in one.values()]), span([x["p99"] for x in one.values()]),
            span([x["rps"] for x in c50.values()]), span([x["cpu"] for x in c50.values()])))
    L.append("")


def main(raw_path, out_path, png_path):
    d = parse(raw_path)
    meta = d["meta"]
    threads = int(meta.get("threads", 50))
    L = ["## Results\n"]
    L.append("Measured %s on %s cores (%s, %s MB), a machine shared with other jobs: load average %s at the start and "
             "%s at the end (this bench's own processes count too); what other processes took during each wrk run "
             "is in the tables. %s, event MPM (%s children × %s threads = %d worker threads), wrk %s, libcurl %s, "
             "OpenSSL %s; %s rounds (the limit: %s), contenders alternated within each round; parts run "
             "(BENCH_PARTS): %s.\n" % (
                 meta.get("date"), meta.get("cores"), meta.get("cpu", "?").replace("_", " "), meta.get("mem_mb", "?"),
                 meta.get("load_start", "?").replace(",", " "), meta.get("load_end", "?").replace(",", " "),
                 meta.get("httpd", "").replace("_", " "), meta.get("servers"), meta.get("tpc"), threads,
                 meta.get("wrk"), meta.get("curl", "?"), meta.get("openssl", "?"), meta.get("rounds"), limit_rounds(d),
                 " ".join(dict.fromkeys(meta.get("parts", "?").split(",")))))
    ok = part_limit(L, d)
    ok_flows = part_flows(L, d, threads)
    ok_tls = part_tls(L, d, threads)
    part_memory(L, d)
    part_scale(L, d)
    part_h2(L, d)
    text = "\n".join(L)

    notes_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "notes.md")
    notes = open(notes_path).read() if os.path.exists(notes_path) else ""
    head = ("# mod_blinkauth benchmarks\n\n"
            "Command: `make bench` (bench/bench.sh; `BENCH_ROUNDS`, `BENCH_SECS`, `BENCH_LIMIT_ROUNDS`, `BENCH_LIMIT_SECS`, `BENCH_SCALE=1` … to vary). "
            "Generated by bench/report.py from that run; the notes at the end are bench/notes.md.\n\n"
            "![throughput](throughput.png)\n\n")
    with open(out_path, "w") as f:
        f.write(head + text + "\n" + notes)
    print(text)
    chart(png_path, d)
    return 0 if ok else 1


def chart(png_path, d):
    """One bar per contender: median requests/s with its min–max."""
    wrk, drv, meta = d["wrk"], d["drv"], d["meta"]
    rows = []
    for section, name, label, colour in (
            ("mutex=default", "noop", "no-op handler\\n(the limit)", 0x55A868),
            ("mutex=default", "static", "static file\\n(%s B)" % meta.get("body_bytes", "?"), 0x999999),
            ("mutex=default", "connect", "Connect", 0x4C72B0),
            ("mutex=file", "noop", "no-op handler\\n(Mutex file:)", 0x55A868),
            ("mutex=file", "connect", "Connect\\n(Mutex file:)", 0x4C72B0)):
        vals = [x["rps"] for x in wrk.get(section, {}).get(name, {}).values()]
        if vals:
            rows.append((label, med(vals), min(vals), max(vals), colour))
    for kind, label in (("callback-c50warm", "callback\\n(+ Connect, start;\\n5 upstream calls)"),
                        ("tls-callback-c50warm", "callback,\\nupstreams\\nover TLS"),
                        ("disconnect-c50warm", "Disconnect\\n(4 upstream\\ncalls)")):
        vals = [x["rps"] for x in drv.get(kind, {}).values()]
        if vals:
            rows.append((label, med(vals), min(vals), max(vals), 0xC44E52))
    if not rows or subprocess.call(["sh", "-c", "command -v gnuplot >/dev/null"]) != 0:
        return
    with tempfile.NamedTemporaryFile("w", suffix=".dat", delete=False) as dat:
        for i, (label, m, lo, hi, colour) in enumerate(rows):
            dat.write('%d "%s" %.0f %.0f %.0f %d\n' % (i, label, m, lo, hi, colour))
    script = """
set terminal pngcairo size 1000,580 font "DejaVu Sans,11" noenhanced
set output '%s'
set title "mod_blinkauth, event MPM, %s cores (shared; load %s at the start): requests/s at %s connections\\n(median of %s rounds, the limit's %s; error bars: min–max; callbacks and Disconnect against local fakes)"
set ylabel "requests per second"
set yrange [0:*]
set grid ytics
set boxwidth 0.6
set style fill solid 0.85 border -1
set xtics nomirror
set bmargin 6
unset key
plot '%s' using 1:3:6:xtic(2) with boxes lc rgb variable, \\
     '' using 1:3:4:5 with yerrorbars lc rgb "black" pt 0 lw 1.5, \\
     '' using 1:5:(sprintf("%%.0f", $3)) with labels offset 0,1 font ",11"
""" % (png_path, meta.get("cores", "?"), meta.get("load_start", "?").replace(",", " "), meta.get("conns", "50"),
       meta.get("rounds"), limit_rounds(d), dat.name)
    subprocess.run(["gnuplot"], input=script, text=True, check=False)
    os.unlink(dat.name)


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
