#!/usr/bin/env python3
"""Turns the raw figures of bench/act.sh into bench/act-results.md (and prints its tables).

usage: act_report.py RAW RESULTS_MD
RAW lines (written by bench/act.sh):
  meta key=value ...
  uptime start|end <uptime's output>
  wrk MODE CONTENDER CONNS ROUND rps p50_us p99_us cpu_us non2xx socket_errors requests
      provider_requests blink_requests backend_requests backend_bearer
  memcalls CONTENDER BATCH answered non2xx provider_requests blink_requests backend_requests backend_bearer
  rss CONTENDER BATCH PID RSS_KB ANON_KB      (batch 0: after the warm-up)
"""
import sys

from report import med, span, verdict

MODES = (("key", "with BlinkAuthTokenKey: the token from our sealed copy"),
         ("nokey", "without BlinkAuthTokenKey: a List User Linked Accounts call to the Blink fake per action"))
# What RSS may grow by, in all, over the last run without counting as growth per request.
GROWTH_SLACK_KB = 64
WRK_FIELDS = ("rps", "p50", "p99", "cpu", "non2xx", "errors", "n", "provider", "blink", "backend", "bearer")


def parse(raw_path):
    """The raw file as (meta, uptime, wrk[mode][contender][conns][round], memcalls[contender][batch],
    rss[contender][batch][pid])."""
    meta, uptime, wrk, memcalls, rss = {}, {}, {}, {}, {}
    for line in open(raw_path):
        f = line.split()
        if not f:
            continue
        if f[0] == "meta":
            meta.update(kv.split("=", 1) for kv in f[1:])
        elif f[0] == "uptime":
            uptime[f[1]] = line.split(None, 2)[2].strip()
        elif f[0] == "wrk":
            wrk.setdefault(f[1], {}).setdefault(f[2], {}).setdefault(int(f[3]), {})[int(f[4])] = dict(
                zip(WRK_FIELDS, map(float, f[5:16])))
        elif f[0] == "memcalls":
            memcalls.setdefault(f[1], {})[int(f[2])] = [int(x) for x in f[3:9]]
        elif f[0] == "rss":
            rss.setdefault(f[1], {}).setdefault(int(f[2]), {})[f[3]] = (int(f[4]), int(f[5]) if len(f) > 5 else 0)
    return meta, uptime, wrk, memcalls, rss


def mode_section(mode, title, runs, secs):
    """The table of one mode (with or without the key), and whether its targets were met."""
    L = ["### Action %s\n" % title]
    act, plain = runs.get("act", {}), runs.get("plain", {})
    rounds = sorted(set(act.get(1, {})) & set(plain.get(1, {})))
    added = [act[1][r]["p50"] - plain[1][r]["p50"] for r in rounds]
    rounds50 = sorted(set(act.get(50, {})) & set(plain.get(50, {})))
    ratio = [act[50][r]["rps"] / plain[50][r]["rps"] for r in rounds50 if plain[50][r]["rps"] > 0]
    cpu_added = [act[50][r]["cpu"] - plain[50][r]["cpu"] for r in rounds50]
    L.append("wrk -t1, %s s per run after a 2 s warm-up; median (min–max) of %d rounds. \"Added\" and the ratio are "
             "taken within each round (adjacent runs), then their median.\n" % (secs, len(rounds)))
    L.append("| | plain mod_proxy (`GET /plain/me`) | action (`GET /blink/api/me`) | action − plain, or action/plain |")
    L.append("|---|---|---|---|")
    vals = lambda d, c, k: [d[c][r][k] for r in sorted(d.get(c, {}))]
    L.append("| p50 latency µs, 1 connection | %s | %s | **%s** added |" % (
        span(vals(plain, 1, "p50")), span(vals(act, 1, "p50")), span(added)))
    L.append("| p99 latency µs, 1 connection | %s | %s | |" % (span(vals(plain, 1, "p99")), span(vals(act, 1, "p99"))))
    L.append("| requests/s, 50 connections | %s | %s | **%s** |" % (
        span(vals(plain, 50, "rps")), span(vals(act, 50, "rps")), span(ratio, "{:.3f}")))
    L.append("| p50 / p99 latency µs, 50 connections (queueing on the cores included) | %s / %s | %s / %s | |" % (
        span(vals(plain, 50, "p50")), span(vals(plain, 50, "p99")), span(vals(act, 50, "p50")),
        span(vals(act, 50, "p99"))))
    L.append("| httpd CPU µs per request, 50 connections | %s | %s | %s added |" % (
        span(vals(plain, 50, "cpu")), span(vals(act, 50, "cpu")), span(cpu_added)))
    every = lambda d: [run for by_conns in d.values() for run in by_conns.values()]
    per = lambda d, k: [run[k] / run["n"] for run in every(d) if run["n"] > 0]
    L.append("| Blink API calls per request (List; and the module's once-a-minute background token check) | %s | %s | |" % (span(per(plain, "blink"), "{:.3f}"),
                                                                   span(per(act, "blink"), "{:.3f}")))
    L.append("| provider calls per request (refresh) | %s | %s | |" % (span(per(plain, "provider"), "{:.3f}"),
                                                                      span(per(act, "provider"), "{:.3f}")))
    L.append("| backend requests with `Authorization: Bearer` per request | %s | %s | |" % (
        span(per(plain, "bearer"), "{:.3f}"), span(per(act, "bearer"), "{:.3f}")))
    count = lambda d, k: int(sum(run[k] for run in every(d)))
    L.append("| non-2xx answers, all runs | %d | %d | |" % (count(plain, "non2xx"), count(act, "non2xx")))
    L.append("| socket errors (wrk: connect, read, write, timeout > 2 s), all runs | %d | %d | |" % (
        count(plain, "errors"), count(act, "errors")))
    ok = med(added) < 1000 and count(plain, "non2xx") + count(act, "non2xx") == 0
    L.append("\nTarget: the action adds < 1 ms at p50: %s (median %.0f µs). Throughput action/plain at 50 "
             "connections: %.3f.\n" % (verdict(med(added) < 1000), med(added), med(ratio)))
    return L, ok


def memory_rows(label, by_batch):
    """The table rows of one contender's children, and the KB all of them grew by in each batch (None: a child went
    away)."""
    batches = sorted(by_batch)
    rows, growth = [], {b: 0 for b in batches[1:]}
    for pid in sorted(by_batch.get(0, {})):
        seen = [by_batch[b].get(pid) for b in batches]
        rows.append("| %s | %s | %s |" % (label, pid, " | ".join(
            "%d (%d)" % m if m else "**gone**" for m in seen)))
        for prev, cur, b in zip(seen, seen[1:], batches[1:]):
            growth[b] = None if growth[b] is None or not prev or not cur else growth[b] + cur[0] - prev[0]
    rows.append("| %s | **grown per batch, all children** | | %s |" % (label, " | ".join(
        "**%+d**" % g if g is not None else "n/a" for g in growth.values())))
    return rows, growth


def memory_section(meta, memcalls, rss):
    """The RSS table of the plain proxy and of the actions, and whether the actions' memory stayed flat."""
    calls = int(meta.get("mem_calls", 0))
    batches = sorted(set(rss.get("act", {})) | set(rss.get("plain", {})))
    L = ["### Memory: the children's RSS, plain mod_proxy and actions with the token store\n",
         "A fresh httpd for each (with BlinkAuthTokenKey), one child of %s threads, wrk at %s connections, a "
         "%s-request warm-up, then %d batches of %s requests. `ps -o rss` of the child in KB (in brackets "
         "`Anonymous:` of /proc/PID/smaps_rollup: the private heap and stacks) after the warm-up and after each "
         "batch.\n" % (meta.get("mem_threads"), meta.get("mem_conns"), "{:,}".format(int(meta.get("mem_warmup", 0))),
                       len(batches) - 1, "{:,}".format(calls)),
         "| contender | child | %s |" % " | ".join("warm-up" if b == 0 else "batch %d" % b for b in batches),
         "|---|---|%s" % ("---|" * len(batches))]
    growth = {}
    for name, label in (("plain", "plain mod_proxy"), ("act", "action")):
        rows, growth[name] = memory_rows(label, rss.get(name, {}))
        L += rows
    for name in ("plain", "act"):
        done = memcalls.get(name, {})
        if done:
            L.append("\n%s: %s requests answered, %d non-2xx, %d Blink API calls, %d backend requests with a Bearer "
                     "token." % ("Plain mod_proxy" if name == "plain" else "Actions",
                                 "{:,}".format(sum(d[0] for d in done.values())), sum(d[1] for d in done.values()),
                                 sum(d[3] for d in done.values()), sum(d[5] for d in done.values())))
    # RSS moves by whole pages, and a child's RSS jumps now and then by a few hundred KB as more of its worker
    # threads' allocators fill up (the plain proxy's too); an allocation kept per request (16 bytes at least) would
    # add 1.5 MB or more to every batch of 100,000. So: the median batch after the first.
    later = [g for b, g in sorted(growth["act"].items()) if b > 1]
    ok = bool(later) and None not in later and med(later) <= GROWTH_SLACK_KB
    L.append("\nTarget: no per-request growth: the median growth of the actions' children over a batch after the "
             "first, %s KB (%.3f bytes per request; plain mod_proxy: %s KB), is within %d KB: %s.\n" % (
                 "%+.0f" % med(later) if later and None not in later else "n/a",
                 med(later) * 1024.0 / calls if later and None not in later and calls else float("nan"),
                 "%+.0f" % med([g for b, g in growth["plain"].items() if b > 1 and g is not None])
                 if growth.get("plain") else "n/a", GROWTH_SLACK_KB, verdict(ok)))
    return L, ok


def main(raw_path, out_path):
    """Write the results file; exit 1 when a target was not met."""
    meta, uptime, wrk, memcalls, rss = parse(raw_path)
    L = ["# mod_blinkauth: acting for the user, measured\n",
         "Command: `make bench-act` (bench/act.sh; `BENCH_PORT`, `BENCH_ROUNDS`, `BENCH_SECS`, `BENCH_MEM_CALLS` to "
         "vary). Generated by bench/act_report.py from that run; do not edit. No test suite asserts these figures.\n",
         "An action is `GET /blink/api/me` with Blink's two headers to `<Location /blink/api>` (`AuthType Blink`, "
         "`Require blink-linked-account`, `ProxyPass` to a backend of bench/fastfake.c that answers 63 bytes of "
         "JSON); its linked account (from the Blink fake's List) expires in 2099, so its token is always fresh and no "
         "refresh is made. The plain contender is `GET /plain/me`: the same `ProxyPass` to the same backend, no "
         "authentication. Both in the same server (%s, event MPM, %s children × %s threads), contenders alternated "
         "within each round, wrk %s.\n" % (meta.get("httpd", "").replace("_", " "), meta.get("servers"),
                                           meta.get("tpc"), meta.get("wrk")),
         "Measured %s on %s cores, a shared machine. `uptime` at the start: `%s`; at the end: `%s`.\n" % (
             meta.get("date"), meta.get("cores"), uptime.get("start", "?"), uptime.get("end", "?"))]
    ok = True
    for mode, title in MODES:
        if mode in wrk:
            section, mode_ok = mode_section(mode, title, wrk[mode], meta.get("secs"))
            L += section
            ok = ok and mode_ok
    section, mem_ok = memory_section(meta, memcalls, rss)
    L += section
    text = "\n".join(L)
    with open(out_path, "w") as f:
        f.write(text)
    print(text)
    return 0 if ok and mem_ok else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
