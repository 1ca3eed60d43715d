-- wrk script for bench/load.sh and `make bench`: Blink's Connect call (POST <loc>/auth/<auth_id> with
-- the proxy headers), answers counted by status, and an optional quota of calls.
--   BENCH_QUOTA   stop after this many answers in all (split evenly over wrk's threads); 0 = no quota
--   BENCH_THREADS wrk's -t (for the split)
--   BENCH_DONE_DIR  a thread that reached its quota leaves a file there; wrk itself only ends after
--                 -d, so bench_wrk_quota (bench/lib.sh) sends it SIGINT once every thread is done
--   BENCH_PATH, BENCH_METHOD   another request (default POST /blink/auth/a-1234)
--   BENCH_COUNT=0  no counting (no response() callback: wrk then spends as little as it can per answer), for the
--                 timed runs of `make bench` (Connect, the no-op handler, the static file)
-- done() prints one line:  statuses total=N 2xx=N non2xx=N  plus the first non-2xx status seen.
wrk.method = os.getenv("BENCH_METHOD") or "POST"
wrk.path = os.getenv("BENCH_PATH") or "/blink/auth/a-1234"
wrk.headers["blink-auth-proxysecret"] = "bench-proxy-secret"
wrk.headers["blink-auth-userid"] = "u-42"
if wrk.method == "POST" then
   wrk.headers["Content-Length"] = "0"
end

local threads = {}
local quota_total = tonumber(os.getenv("BENCH_QUOTA") or "0")

function setup(thread)
   table.insert(threads, thread)
   thread:set("id", #threads)
end

function init(args)
   ok, bad, first_bad = 0, 0, 0
   -- Each wrk thread has a Lua state of its own; BENCH_THREADS says how many share the quota.
   local n = tonumber(os.getenv("BENCH_THREADS") or "1")
   quota = quota_total > 0 and math.ceil(quota_total / n) or 0
end

local counting = os.getenv("BENCH_COUNT") ~= "0"

-- Counts an answer; wrk calls it only when it is defined.
local function count_answer(status, headers, body)
   if status >= 200 and status < 300 then
      ok = ok + 1
   else
      bad = bad + 1
      if first_bad == 0 then first_bad = status end
   end
   if quota > 0 and ok + bad >= quota then
      local dir = os.getenv("BENCH_DONE_DIR")
      if dir then
         local f = io.open(dir .. "/thread-" .. id, "w")
         if f then f:close() end
      end
      wrk.thread:stop()
   end
end

function done(summary, latency, requests)
   local ok_sum, bad_sum, first = 0, 0, 0
   for _, t in ipairs(threads) do
      ok_sum = ok_sum + t:get("ok")
      bad_sum = bad_sum + t:get("bad")
      if first == 0 then first = t:get("first_bad") end
   end
   local e = summary.errors
   io.write(string.format("statuses total=%d 2xx=%d non2xx=%d first_non2xx=%d\n", ok_sum + bad_sum, ok_sum, bad_sum, first))
   io.write(string.format("socket_errors connect=%d read=%d write=%d timeout=%d status=%d\n",
                          e.connect, e.read, e.write, e.timeout, e.status))
   io.write(string.format("latency_us p50=%d p99=%d max=%d\n", latency:percentile(50), latency:percentile(99), latency.max))
   io.write(string.format("requests=%d duration_us=%d\n", summary.requests, summary.duration))
end

if counting then
   response = count_answer
end
