#!/usr/bin/env python3
"""Plays Blink and the user's browser towards the httpd servers of tests/multi/run.sh.

One subcommand a step; each prints one line that run.sh reads:
  ports N                     N distinct free loopback TCP ports
  connect BASE [USER]         POST BASE/auth/a-1234 as Blink: "<status> <ms> <code> <authorization_url|->"
  authorize URL               GET URL, no redirect followed: "<status> <Location|->"
  get URL                     GET URL as a browser: "<status> <ms> <page title|->"
  race URL...                 GET every URL at the same moment (one thread each): "<status>..." in order
  count PORT PATH [KEY=VAL]   length of the JSON list a fake answers at PATH (items matching KEY=VAL)
  wait-port PORT [SECONDS]    exit 0 once something accepts connections on 127.0.0.1:PORT
  wait-closed PORT [SECONDS]  exit 0 once nothing accepts connections on 127.0.0.1:PORT
"""

import http.client
import json
import re
import socket
import sys
import time
from urllib.parse import urlsplit

SECRET = "s3cret-proxy"
AUTH_ID = "a-1234"
TIMEOUT = 60


def request(method, url, headers=None):
    """One HTTP request, no redirects followed: (status, headers, body text, milliseconds)."""
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
    path = u.path + ("?" + u.query if u.query else "")
    start = time.monotonic()
    try:
        conn.request(method, path, headers=headers or {})
        res = conn.getresponse()
        body = res.read().decode("utf-8", "replace")
        return res.status, res, body, int((time.monotonic() - start) * 1000)
    finally:
        conn.close()


def cmd_ports(n):
    """Binds n sockets at once (so the ports differ), closes them, prints the ports."""
    socks = []
    for _ in range(int(n)):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
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


def cmd_authorize(url):
    """The browser at the provider's authorization URL: the 302 back to the callback."""
    status, res, _, _ = request("GET", url)
    print(status, res.getheader("Location") or "-")


def cmd_get(url):
    """The browser at a page (the callback): status, time and the page's <title>."""
    try:
        status, _, body, ms = request("GET", url)
    except OSError as e:
        print("000 0 %s" % type(e).__name__)
        return
    m = re.search(r"<title>(.*?)</title>", body, re.S | re.I)
    print(status, ms, " ".join(m.group(1).split()) if m else "-")


def cmd_race(*urls):
    """Several browsers at once: the requests are sent together once every connection is open."""
    import threading
    barrier = threading.Barrier(len(urls))
    statuses = ["000"] * len(urls)

    def one(i, url):
        u = urlsplit(url)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=TIMEOUT)
        try:
            conn.connect()
            barrier.wait()
            conn.request("GET", u.path + "?" + u.query)
            res = conn.getresponse()
            res.read()
            statuses[i] = str(res.status)
        except OSError:
            pass
        finally:
            conn.close()

    threads = [threading.Thread(target=one, args=(i, url)) for i, url in enumerate(urls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(" ".join(statuses))


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
    elif cmd == "authorize":
        cmd_authorize(*args)
    elif cmd == "get":
        cmd_get(*args)
    elif cmd == "race":
        cmd_race(*args)
    elif cmd == "count":
        cmd_count(*args)
    elif cmd == "wait-port":
        cmd_wait(args[0], args[1] if len(args) > 1 else 10, True)
    elif cmd == "wait-closed":
        cmd_wait(args[0], args[1] if len(args) > 1 else 10, False)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
