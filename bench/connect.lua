-- wrk script: Blink's Connect call, POST <loc>/auth/<auth_id> with the proxy headers.
-- Counts answers by status class; done() prints "statuses 2xx=N other=N" for the scripts.
wrk.method = "POST"
wrk.path = "/blink/auth/a-1234"
wrk.headers["blink-auth-proxysecret"] = "bench-proxy-secret"
wrk.headers["blink-auth-userid"] = "u-42"
wrk.headers["Content-Length"] = "0"
