-- wrk script: the static contender, a JSON file of the Connect answer's size, with the same headers.
wrk.method = "GET"
wrk.path = "/connect.json"
wrk.headers["blink-auth-proxysecret"] = "bench-proxy-secret"
wrk.headers["blink-auth-userid"] = "u-42"
