#!/usr/bin/env python3
"""Plays Blink and the user's browser towards the httpd servers of tests/multi/run.sh.

One subcommand a step; each prints one line that run.sh reads:
  ports N                     N distinct free loopback TCP ports
  connect BASE [USER]         POST BASE/auth/a-1234 as Blink: "<status> <ms> <code> <authorization_url|->"
                              (the authorization_url is the module's one-time start URL)
  start URL                   the browser opens the start URL, no redirect followed; keeps the cookie it
                              is given: "<status> <Location|-> <Set-Cookie|-> <page title|->"
  authorize URL               GET URL, no redirect followed: "<status> <Location|->"
  get URL                     GET URL as a browser: "<status> <ms> <page title|->"
  race URL...                 GET every URL at the same moment (one thread each): "<status>..." in order

The browser's cookies persist between commands in the jar file named by the environment variable
CLIENT_JAR (none when it is unset or empty: a browser without cookies). start stores what the server
sets; start, authorize, get and race send what matches the URL (host, path, Secure; ports are not
part of a cookie's scope, as in browsers). The jar is text, one cookie a line, tab-separated:
  name value host path secure(0|1) expires(epoch seconds, 0: session)
  count PORT PATH [KEY=VAL]   length of the JSON list a fake answers at PATH (items matching KEY=VAL)
  wait-port PORT [SECONDS]    exit 0 once something accepts connections on 127.0.0.1:PORT
  wait-closed PORT [SECONDS]  exit 0 once nothing accepts connections on 127.0.0.1:PORT
  post-json PORT PATH JSON    POST JSON to a fake's control PATH: "<status>"
Acting for the user (Blink's call to an AuthType Blink Location, the fakes' views of the tokens):
  act USER URL...             GET every URL at the same moment as Blink for USER (one thread each):
                              "<status>/<what>" in order, what the JSON answer's sub (the user's claims), else
                              its code or error, else "-"
  account PORT USER FIELD     a field of USER's only linked account in the fake Blink ("-" unless exactly one)
  refreshes PORT              the fake provider's refresh_token grant requests so far: "<count> <distinct refresh
                              tokens presented>"
  live-refresh PORT SUB       the fake provider's refresh tokens of user SUB neither revoked nor consumed

ports N takes its ports from MULTI_PORTS=LOW-HIGH when that is set (the first N free ones).
"""

import http.client
import json
import os
import re
import socket
import sys
import time
from urllib.parse import urlsplit

SECRET = "s3cret-proxy"
AUTH_ID = "a-1234"
TIMEOUT = 60


def jar_read():
    """The cookies of CLIENT_JAR, unexpired: a list of dicts (empty without a jar)."""
    path = os.environ.get("CLIENT_JAR", "")
    cookies = []
    if not path or not os.path.exists(path):
        return cookies
    with open(path) as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) != 6:
                continue
            c = dict(zip(("name", "value", "host", "path", "secure", "expires"), parts))
            if c["expires"] != "0" and float(c["expires"]) <= time.time():
                continue
            cookies.append(c)
    return cookies


def jar_write(cookies):
    path = os.environ.get("CLIENT_JAR", "")
    if not path:
        return
    with open(path + ".tmp", "w") as f:
        for c in cookies:
            f.write("\t".join(c[k] for k in ("name", "value", "host", "path", "secure", "expires")) + "\n")
    os.replace(path + ".tmp", path)


def path_matches(req_path, cookie_path):
    """RFC 6265 5.1.4 path-match."""
    if req_path == cookie_path:
        return True
    return req_path.startswith(cookie_path) and (cookie_path.endswith("/") or req_path[len(cookie_path)] == "/")


def cookie_header(url):
    """The Cookie header a browser with the jar would send to url, or None."""
    u = urlsplit(url)
    pairs = ["%s=%s" % (c["name"], c["value"]) for c in jar_read()
             if c["host"] == u.hostname and path_matches(u.path or "/", c["path"])
             and (c["secure"] == "0" or u.scheme == "https")]
    return "; ".join(pairs) or None


def jar_store(url, set_cookie):
    """Keeps one Set-Cookie header received from url in the jar (a Max-Age of 0 or less deletes)."""
    u = urlsplit(url)
    fields = [f.strip() for f in set_cookie.split(";")]
    name, _, value = fields[0].partition("=")
    default_path = (u.path or "/").rsplit("/", 1)[0] or "/"
    c = {"name": name.strip(), "value": value.strip(), "host": u.hostname, "path": default_path,
         "secure": "0", "expires": "0"}
    for attr in fields[1:]:
        k, _, v = attr.partition("=")
        k = k.strip().lower()
        if k == "path" and v.startswith("/"):
            c["path"] = v
        elif k == "secure":
            c["secure"] = "1"
        elif k == "max-age":
            c["expires"] = "%.0f" % (time.time() + int(v)) if int(v) > 0 else "-1"
    cookies = [o for o in jar_read() if (o["name"], o["host"], o["path"]) != (c["name"], c["host"], c["path"])]
    if c["expires"] != "-1":
        cookies.append(c)
    jar_write(cookies)


def request(method, url, headers=None):
    """One HTTP request, no redirects followed, the jar's cookies sent:
    (status, headers, body text, milliseconds)."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
    path = u.path + ("?" + u.query if u.query else "")
    headers = dict(headers or {})
    cookie = cookie_header(url)
    if cookie:
        headers["Cookie"] = cookie
    start = time.monotonic()
    try:
        conn.request(method, path, headers=headers)
        res = conn.getresponse()
        body = res.read().decode("utf-8", "replace")
        return res.status, res, body, int((time.monotonic() - start) * 1000)
    finally:
        conn.close()


def cmd_ports(n):
    """Binds n sockets at once (so the ports differ; of MULTI_PORTS when set), closes them, prints the ports."""
    socks = []
    low, _, high = os.environ.get("MULTI_PORTS", "").partition("-")
    candidates = iter(range(int(low), int(high) + 1) if low.isdigit() and high.isdigit() else [])
    while len(socks) < int(n):
        s = socket.socket()
        try:
            s.bind(("127.0.0.1", next(candidates, 0)))
        except OSError:
            s.close()
            continue
        socks.append(s)
    print(" ".join(str(s.getsockname()[1]) for s in socks))
    for s in socks:
        s.close()


def cmd_connect(base, user="u-42"):
    """Blink's Connect click."""
    try:
        status, _, body, ms = request("POST", base.rstrip("/") + "/auth/" + AUTH_ID,
                                      {"blink-auth-proxysecret": SECRET, "blink-auth-userid": user,
                                       "Content-Length": "0"})
    except OSError as e:
        print("000 0 %s -" % type(e).__name__)
        return
    try:
        doc = json.loads(body)
    except ValueError:
        doc = {}
    url = (doc.get("data") or {}).get("authorization_url") or "-"
    print(status, ms, doc.get("code", "NOT_JSON"), url)


def request_or_report(failed, method, url, headers=None):
    """request(method, url, headers), or None after printing the command's failure line: failed with {} standing
    for the error's name."""
    try:
        return request(method, url, headers or {})
    except OSError as e:
        print(failed.format(type(e).__name__))
        return None


def title_of(body):
    """The page's <title>, whitespace folded, or "-"."""
    m = re.search(r"<title>(.*?)</title>", body, re.S | re.I)
    return " ".join(m.group(1).split()) if m else "-"


def cmd_start(url):
    """The browser at the start URL Connect answered: the 303 to the provider and the cookie it keeps."""
    answer = request_or_report("000 - - {}", "GET", url)
    if answer is None:
        return
    status, res, body, _ = answer
    set_cookies = res.msg.get_all("Set-Cookie") or []
    for sc in set_cookies:
        jar_store(url, sc)
    shown = ";".join(f.strip() for f in set_cookies[0].split(";")) if set_cookies else "-"
    if len(set_cookies) > 1:
        shown += "(+%d)" % (len(set_cookies) - 1)
    print(status, res.getheader("Location") or "-", shown, title_of(body))


def cmd_authorize(url):
    """The browser at the provider's authorization URL: the 302 back to the callback."""
    status, res, _, _ = request("GET", url)
    print(status, res.getheader("Location") or "-")


def cmd_get(url):
    """The browser at a page (the callback): status, time and the page's <title>."""
    answer = request_or_report("000 0 {}", "GET", url)
    if answer is None:
        return
    status, _, body, ms = answer
    print(status, ms, title_of(body))


def at_once(urls, send):
    """One thread per URL: each opens its connection, all wait until every one is open, then send(conn, url) makes
    each one's request and gives its result. The results in order (the exception instead where one failed)."""
    import threading
    barrier = threading.Barrier(len(urls))
    results = [None] * len(urls)

    def one(i, url):
        u = urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        try:
            conn.connect()
            barrier.wait()
            results[i] = send(conn, url)
        except (OSError, threading.BrokenBarrierError) as e:
            barrier.abort()  # the others do not wait for one that cannot connect
            results[i] = e
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i, url)) for i, url in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def target(url):
    """The request target of an absolute URL: path and query."""
    u = urlsplit(url)
    return u.path + ("?" + u.query if u.query else "")


def cmd_race(*urls):
    """Several browsers at once: the requests are sent together once every connection is open."""
    def get(conn, url):
        cookie = cookie_header(url)
        conn.request("GET", target(url), headers={"Cookie": cookie} if cookie else {})
        res = conn.getresponse()
        res.read()
        return str(res.status)
    print(" ".join(r if isinstance(r, str) else "000" for r in at_once(urls, get)))


def what_of(body):
    """What a JSON answer says: its sub (a userinfo answer), else its code (an envelope) or error, else "-"."""
    try:
        doc = json.loads(body)
    except ValueError:
        return "-"
    if not isinstance(doc, dict):
        return "-"
    return str(doc.get("sub") or doc.get("code") or doc.get("error") or "-")


def cmd_act(user, *urls):
    """Blink calls each URL for user, all at the same moment once every connection is open."""
    def call(conn, url):
        conn.request("GET", target(url), headers={"blink-auth-proxysecret": SECRET, "blink-auth-userid": user})
        res = conn.getresponse()
        return "%d/%s" % (res.status, what_of(res.read().decode("utf-8", "replace")))
    print(" ".join(r if isinstance(r, str) else "000/" + type(r).__name__ for r in at_once(urls, call)))


def fake_json(port, path):
    """The JSON a fake answers at a control path (exit when it does not answer 200)."""
    status, _, body, _ = request("GET", "http://127.0.0.1:%s%s" % (port, path))
    if status != 200:
        sys.exit("%s answered %d" % (path, status))
    return json.loads(body)


def cmd_account(port, user, field):
    """A field of the user's only linked account in the fake Blink."""
    mine = [a for a in fake_json(port, "/_control/accounts") if a.get("user_id") == user]
    print(json.dumps(mine[0].get(field)) if len(mine) == 1 else "-")


def cmd_refreshes(port):
    """How many refresh_token grant requests the fake provider received, and with how many refresh tokens."""
    grants = [r["form"] for r in fake_json(port, "/_control/requests")
              if r["path"] == "/token" and (r.get("form") or {}).get("grant_type") == "refresh_token"]
    print(len(grants), len({g.get("refresh_token") for g in grants}))


def cmd_live_refresh(port, sub):
    """The refresh tokens of user sub that the fake provider would still take."""
    print(" ".join(t["token"] for t in fake_json(port, "/_control/tokens")
                   if t["type"] == "refresh" and t["user"].get("sub") == sub and not t["revoked"]
                   and t.get("consumed_at") is None) or "-")


def cmd_post_json(port, path, doc):
    """POST a JSON document to a fake's control path."""
    conn = http.client.HTTPConnection("127.0.0.1", int(port), timeout=TIMEOUT)
    try:
        conn.request("POST", path, body=doc.encode(), headers={"Content-Type": "application/json"})
        res = conn.getresponse()
        res.read()
        print(res.status)
    finally:
        conn.close()


def cmd_count(port, path, *filters):
    """How many items of a fake's JSON list match every KEY=VAL filter."""
    status, _, body, _ = request("GET", "http://127.0.0.1:%s%s" % (port, path))
    if status != 200:
        sys.exit("count: %s answered %d" % (path, status))
    want = dict(f.split("=", 1) for f in filters)
    print(sum(1 for item in json.loads(body) if all(str(item.get(k)) == v for k, v in want.items())))


def accepting(port):
    """Whether something accepts TCP connections on 127.0.0.1:port."""
    try:
        socket.create_connection(("127.0.0.1", int(port)), timeout=1).close()
        return True
    except OSError:
        return False


def cmd_wait(port, seconds, want):
    """Polls until the port's state is the wanted one; exit 1 when it is not within seconds."""
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        if accepting(port) == want:
            return
        time.sleep(0.05)
    sys.exit(1)


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    cmd, args = argv[1], argv[2:]
    if cmd == "ports":
        cmd_ports(*args)
    elif cmd == "connect":
        cmd_connect(*args)
    elif cmd == "start":
        cmd_start(*args)
    elif cmd == "authorize":
        cmd_authorize(*args)
    elif cmd == "get":
        cmd_get(*args)
    elif cmd == "race":
        cmd_race(*args)
    elif cmd == "count":
        cmd_count(*args)
    elif cmd == "act":
        cmd_act(*args)
    elif cmd == "account":
        cmd_account(*args)
    elif cmd == "refreshes":
        cmd_refreshes(*args)
    elif cmd == "live-refresh":
        cmd_live_refresh(*args)
    elif cmd == "post-json":
        cmd_post_json(*args)
    elif cmd == "wait-port":
        cmd_wait(args[0], args[1] if len(args) > 1 else 10, True)
    elif cmd == "wait-closed":
        cmd_wait(args[0], args[1] if len(args) > 1 else 10, False)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
