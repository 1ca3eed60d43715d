"""Shared base of the test fakes: a loopback threaded HTTP server with request recording,
fault injection, control endpoints and JSON envelope helpers (Python 3 standard library only)."""

import argparse
import html
import json
import os
import re
import signal
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl

MAX_BODY = 1 << 20
FAULT_MODES = ("status", "hang", "drip", "huge", "huge_chunked", "garbage", "truncated",
               "wrong_types", "redirect", "close", "commit", "delay")
# What a "commit" fault does once the route has done its work: the answer is lost in one of these ways.
COMMIT_THEN = ("hang", "close", "status")
FAULT_NUMBERS = {"count": int, "status": int, "seconds": (int, float),
                 "interval": (int, float), "bytes": int}
DEFAULT_REDIRECT = "http://127.0.0.2:9/elsewhere"


class Reply(Exception):
    """An HTTP answer: route handlers return one, or raise one to stop early."""

    def __init__(self, status, body=b"", headers=None, ctype=None):
        """Build from a status, a body (bytes, text, or dict/list sent as JSON) and headers."""
        super().__init__(status)
        self.status, self.headers = status, dict(headers or {})
        if isinstance(body, (dict, list)):
            body, ctype = json.dumps(body).encode(), ctype or "application/json"
        elif isinstance(body, str):
            body = body.encode()
        self.body = body
        if ctype:
            self.headers.setdefault("Content-Type", ctype)

    def json(self):
        """The body parsed as JSON, or None when it is not JSON."""
        try:
            return json.loads(self.body)
        except ValueError:
            return None


def ok(data=None, status=200):
    """A success envelope {"code":"OK","message":"OK","data":...}."""
    return Reply(status, {"code": "OK", "message": "OK", "data": {} if data is None else data})


def fail(status, code, message, headers=None):
    """An error envelope {"code":"UPPER_SNAKE","message":"..."}."""
    return Reply(status, {"code": code, "message": message}, headers)


def html_page(status, title, body_html, headers=None):
    """A small self-contained HTML page; title is escaped here, body_html must be escaped by the caller."""
    page = ("<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title>"
            "<style>body{{font-family:sans-serif;max-width:60em;margin:2em auto}}"
            "td,th{{padding:.2em .6em;text-align:left}}pre{{white-space:pre-wrap}}</style>"
            "</head><body><h1>{0}</h1>{1}</body></html>").format(html.escape(title), body_html)
    return Reply(status, page, headers, "text/html; charset=utf-8")


def media_type(value):
    """The lower-cased media type of a Content-Type value, without parameters."""
    return (value or "").split(";")[0].strip().lower()


def strict_json(text):
    """Parse JSON, rejecting duplicate object keys."""
    def pairs(items):
        """Build an object, refusing a repeated key."""
        obj = dict(items)
        if len(obj) != len(items):
            raise ValueError("duplicate key")
        return obj
    return json.loads(text, object_pairs_hook=pairs)


def wrong_types(value):
    """Return value with every leaf replaced by one of another JSON type (objects keep their keys)."""
    if isinstance(value, dict):
        return {k: wrong_types(v) for k, v in value.items()}
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return 12345
    if isinstance(value, list):
        return "[]"
    return False


class FakeServer(ThreadingHTTPServer):
    """Threaded loopback server holding the fake's state, recorded requests and queued faults."""

    daemon_threads = True

    def __init__(self, port, handler, opts):
        """Listen on 127.0.0.1:port with the fake's handler class and parsed options."""
        super().__init__(("127.0.0.1", port), handler)
        self.opts, self.lock, self.stopping = opts, threading.RLock(), threading.Event()
        self.logfile = open(opts.log, "a", buffering=1) if opts.log else None
        self.reset()

    def reset(self):
        """Forget recorded requests and faults and start the fake's state afresh."""
        with self.lock:
            self.requests, self.faults = [], []
            self.state = self.RequestHandlerClass.fresh_state(self.opts)

    def take_fault(self, route):
        """Consume one use of the first queued fault for this route (or "*"), if any."""
        with self.lock:
            for fault in self.faults:
                if fault["route"] in ("*", route):
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def log(self, line, always=False):
        """Write a log line to --log, and to stderr with --verbose (or always)."""
        line = time.strftime("%Y-%m-%dT%H:%M:%S ") + line.rstrip("\n") + "\n"
        with self.lock:
            if self.logfile:
                self.logfile.write(line)
            if always or self.opts.verbose:
                sys.stderr.write(line)

    def enable_tls(self, cert, key):
        """Serve HTTPS with a certificate chain and key (PEM); the handshake runs in the request's thread."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.socket = context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    def finish_request(self, request, client_address):
        """Complete a TLS handshake first (a client that refuses our certificate just goes away)."""
        if isinstance(request, ssl.SSLSocket):
            try:
                request.settimeout(FakeHandler.timeout)
                request.do_handshake()
            except (OSError, ValueError) as err:
                self.log("%s TLS handshake failed: %s" % (client_address[0], err))
                return
        super().finish_request(request, client_address)

    def handle_error(self, request, client_address):
        """Stay quiet about clients that went away; report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            self.log(traceback.format_exc(), always=True)

    def server_close(self):
        """Close the socket and the log file."""
        super().server_close()
        if self.logfile:
            self.logfile.close()


class FakeHandler(BaseHTTPRequestHandler):
    """Request handler base: reads the request, serves /_control/*, records, injects faults, routes."""

    protocol_version = "HTTP/1.1"
    server_version = "fake/1"
    timeout = 120
    ROUTES = ()          # (method, raw path regex, route name, handler method name)
    CONTROL = ()         # (method, exact path, handler method name), added to the base ones
    UNLOCKED = ()        # route names whose handlers run without the state lock
    BASE_CONTROL = (("GET", "/_control/requests", "c_requests"),
                    ("DELETE", "/_control/requests", "c_clear_requests"),
                    ("POST", "/_control/reset", "c_reset"),
                    ("POST", "/_control/fault", "c_fault"),
                    ("GET", "/_control/faults", "c_faults"))

    @classmethod
    def fresh_state(cls, opts):
        """The fake's initial state (overridden by each fake)."""
        return None

    @property
    def state(self):
        """The fake's current state object."""
        return self.server.state

    def error_reply(self, status, code, message):
        """An error answer in the fake's own error format (envelope by default)."""
        return fail(status, code, message)

    def precheck(self, route):
        """A hook run before any route handler; return a Reply to refuse the request."""
        return None

    def log_message(self, fmt, *args):
        """Send http.server's per-request lines to the fake's quiet logger."""
        self.server.log("%s %s" % (self.address_string(), fmt % args))

    def dispatch(self):
        """Serve one request: control endpoints, else record, maybe fault, else route."""
        try:
            self.read_request()
            if self.raw_path.startswith("/_control/"):
                return self.send_reply(self.control())
            route, func, args = self.match()
            self.record(route)
            fault = self.server.take_fault(route)
            if fault:
                return self.apply_fault(fault, lambda: self.run(route, func, args))
            self.send_reply(self.run(route, func, args))
        except Reply as reply:
            self.close_connection = True
            self.send_reply(reply)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception:
            self.close_connection = True
            self.server.log(traceback.format_exc(), always=True)
            self.send_reply(self.error_reply(500, "INTERNAL", "the fake crashed; see its stderr"))

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = dispatch

    def read_request(self):
        """Split the target and read the body (Content-Length or chunked, at most MAX_BODY)."""
        self.raw_path, _, self.raw_query = self.path.partition("?")
        self.hdrs = {}
        for name, value in self.headers.items():
            name = name.lower()
            self.hdrs[name] = self.hdrs[name] + ", " + value if name in self.hdrs else value
        chunked = "chunked" in self.hdrs.get("transfer-encoding", "").lower()
        if chunked and "content-length" in self.hdrs:
            raise self.error_reply(400, "BAD_REQUEST", "both Content-Length and Transfer-Encoding")
        if chunked:
            self.body = self.read_chunked()
            return
        length = self.hdrs.get("content-length", "0").strip()
        if not length.isdigit():
            raise self.error_reply(400, "BAD_REQUEST", "invalid Content-Length")
        if int(length) > MAX_BODY:
            raise self.error_reply(413, "PAYLOAD_TOO_LARGE", "request body too large")
        self.body = self.rfile.read(int(length))

    def read_chunked(self):
        """Read a chunked request body and its trailers."""
        body = b""
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";")[0].strip(), 16)
            except ValueError:
                raise self.error_reply(400, "BAD_REQUEST", "malformed chunked body") from None
            if size == 0:
                break
            if len(body) + size > MAX_BODY:
                raise self.error_reply(413, "PAYLOAD_TOO_LARGE", "request body too large")
            body += self.rfile.read(size)
            self.rfile.readline(16)
        while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
            pass
        return body

    def body_text(self):
        """The request body decoded as UTF-8 (invalid bytes replaced)."""
        return self.body.decode("utf-8", "replace")

    def record(self, route):
        """Append this request to the server's list of recorded requests."""
        ctype, text = media_type(self.hdrs.get("content-type")), self.body_text()
        parsed_json = form = None
        if ctype == "application/json":
            try:
                parsed_json = json.loads(text)
            except ValueError:
                pass
        elif ctype == "application/x-www-form-urlencoded":
            form = dict(parse_qsl(text, keep_blank_values=True))
        entry = {"time": time.time(), "route": route, "method": self.command,
                 "path": self.raw_path, "query": self.raw_query,
                 "args": dict(parse_qsl(self.raw_query, keep_blank_values=True)),
                 "headers": self.hdrs, "body": text, "json": parsed_json, "form": form}
        with self.server.lock:
            self.server.requests.append(entry)

    def match(self):
        """Find the route for this request: (name, handler or None, path groups)."""
        name, allowed = None, []
        for method, pattern, route, func in self.ROUTES:
            found = re.fullmatch(pattern, self.raw_path)
            if found:
                name = name or route
                if method == self.command:
                    return route, getattr(self, func), found.groups()
                allowed.append(method)
        return name, None, allowed

    def run(self, route, func, args):
        """Run the precheck then the route handler (404/405 when nothing matched)."""
        try:
            refusal = self.precheck(route)
            if refusal:
                return refusal
            if func is None and args:
                reply = self.error_reply(405, "METHOD_NOT_ALLOWED", "method not allowed here")
                reply.headers["Allow"] = ", ".join(args)
                return reply
            if func is None:
                return self.error_reply(404, "NOT_FOUND", "no such route")
            if route in self.UNLOCKED:
                return func(*args)
            with self.server.lock:
                return func(*args)
        except Reply as reply:
            return reply

    def control(self):
        """Serve a /_control/ endpoint (never recorded, never faulted)."""
        methods = []
        for method, path, func in self.BASE_CONTROL + self.CONTROL:
            if path == self.raw_path:
                if method == self.command:
                    try:
                        with self.server.lock:
                            return getattr(self, func)()
                    except Reply as reply:
                        return reply
                methods.append(method)
        if methods:
            return Reply(405, {"error": "method not allowed"}, {"Allow": ", ".join(methods)})
        return Reply(404, {"error": "no such control endpoint"})

    def c_requests(self):
        """GET /_control/requests[?route=R]: the recorded requests, oldest first."""
        route = dict(parse_qsl(self.raw_query)).get("route")
        return Reply(200, [r for r in self.server.requests if route in (None, r["route"])])

    def c_clear_requests(self):
        """DELETE /_control/requests: forget the recorded requests only (state and faults stay)."""
        forgotten, self.server.requests = len(self.server.requests), []
        return Reply(200, {"ok": True, "forgotten": forgotten})

    def c_reset(self):
        """POST /_control/reset: forget requests, faults and state."""
        self.server.reset()
        return Reply(200, {"ok": True})

    def c_faults(self):
        """GET /_control/faults: the faults still queued."""
        return Reply(200, self.server.faults)

    def c_fault(self):
        """POST /_control/fault: queue a fault for the next `count` requests of a route."""
        fault = self.json_object(strict_type=False)
        fault.setdefault("route", "*")
        fault.setdefault("count", 1)
        routes = {r[2] for r in self.ROUTES}
        if fault["route"] != "*" and fault["route"] not in routes:
            raise Reply(400, {"error": "route must be * or one of " + ", ".join(sorted(routes))})
        if fault.get("mode") not in FAULT_MODES:
            raise Reply(400, {"error": "mode must be one of " + ", ".join(FAULT_MODES)})
        if fault["mode"] == "commit" and fault.get("then", "hang") not in COMMIT_THEN:
            raise Reply(400, {"error": "then must be one of " + ", ".join(COMMIT_THEN)})
        for key, kind in FAULT_NUMBERS.items():
            if key in fault and (isinstance(fault[key], bool) or not isinstance(fault[key], kind)):
                raise Reply(400, {"error": key + " must be a number"})
        if fault["count"] < 1 or not 100 <= fault.get("status", 500) <= 599:
            raise Reply(400, {"error": "count must be >= 1 and status in 100..599"})
        self.server.faults.append(fault)
        return Reply(200, {"ok": True, "fault": fault})

    def json_object(self, strict_type=True):
        """The body as a JSON object (Content-Type application/json required if strict_type)."""
        if strict_type and media_type(self.hdrs.get("content-type")) != "application/json":
            raise self.error_reply(415, "UNSUPPORTED_MEDIA_TYPE", "Content-Type must be application/json")
        try:
            doc = strict_json(self.body)
        except ValueError:
            raise self.error_reply(400, "BAD_REQUEST",
                                   "the body is not valid JSON (or repeats a key)") from None
        if not isinstance(doc, dict):
            raise self.error_reply(400, "BAD_REQUEST", "the body must be a JSON object")
        return doc

    def form(self):
        """The body as form parameters (form Content-Type required, no repeated names)."""
        if media_type(self.hdrs.get("content-type")) != "application/x-www-form-urlencoded":
            raise self.error_reply(400, "BAD_REQUEST",
                                   "Content-Type must be application/x-www-form-urlencoded")
        pairs = parse_qsl(self.body_text(), keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            raise self.error_reply(400, "BAD_REQUEST", "a parameter is repeated")
        return params

    def send_reply(self, reply):
        """Send a Reply with its Content-Length."""
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    def apply_fault(self, fault, normal):
        """Answer with the queued fault instead of (or derived from, via normal()) the real answer."""
        mode = fault["mode"]
        if mode == "commit":
            # The route acts (Blink commits), then the answer is lost: a hang, a closed connection or a status.
            normal()
            mode = fault.get("then", "hang")
        if mode == "delay":
            # The real answer, late: `seconds` (default 1) pass first; the connection stays usable.
            self.server.stopping.wait(fault.get("seconds", 1))
            return self.send_reply(normal())
        if mode == "status":
            status, body = fault.get("status", 500), fault.get("body")
            if body is None:
                reply = self.error_reply(status, "INJECTED_FAULT", "injected status %d" % status)
            else:
                reply = Reply(status, body)
                reply.headers.setdefault("Content-Type", "application/json" if reply.json() is not None
                                         else "text/plain; charset=utf-8")
            reply.headers.update(fault.get("headers") or {})
            return self.send_reply(reply)
        self.close_connection = True
        if mode == "hang":
            self.server.stopping.wait(fault.get("seconds", 30))
        elif mode == "drip":
            self.drip(fault.get("seconds", 30), fault.get("interval", 1))
        elif mode in ("huge", "huge_chunked"):
            self.huge(fault.get("bytes", 50 << 20), mode == "huge_chunked")
        elif mode == "garbage":
            self.send_reply(Reply(200, "<html>not json", ctype="application/json"))
        elif mode == "redirect":
            self.send_reply(Reply(302, "", {"Location": fault.get("location", DEFAULT_REDIRECT)}))
        elif mode in ("truncated", "wrong_types"):
            doc = normal().json()
            doc = {"code": "OK", "message": "OK", "data": {}} if doc is None else doc
            text = json.dumps(doc).encode()
            body = text[:len(text) // 2] if mode == "truncated" else json.dumps(wrong_types(doc))
            self.send_reply(Reply(200, body, ctype="application/json"))
        # "close": nothing is sent; handle() closes the connection.

    def drip(self, seconds, interval):
        """Send a 200 status line and headers, then one byte per interval until seconds pass."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.end_headers()
        end = time.monotonic() + seconds
        while time.monotonic() < end and not self.server.stopping.wait(interval):
            self.wfile.write(b" ")

    def huge(self, size, chunked):
        """Stream a JSON-looking 200 body of `size` bytes without holding it in memory."""
        head, tail = b'{"code":"OK","message":"OK","data":{"pad":"', b'"}}'
        pad = max(0, size - len(head) - len(tail))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(len(head) + pad + len(tail)))
        self.send_header("Connection", "close")
        self.end_headers()
        block = b"x" * 65536
        pieces = [head] + [block] * (pad // len(block)) + [block[:pad % len(block)], tail]
        for piece in pieces:
            if piece:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
        if chunked:
            self.wfile.write(b"0\r\n\r\n")


def main(handler, description, add_options=None):
    """Parse the common options (plus the fake's own), listen on 127.0.0.1 and serve until signalled."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: ephemeral)")
    parser.add_argument("--port-file", help="write the bound port to this file (atomically)")
    parser.add_argument("--log", help="append a log line per request to this file")
    parser.add_argument("--verbose", action="store_true", help="also log every request to stderr")
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate chain (PEM)")
    parser.add_argument("--tls-key", help="the private key of --tls-cert (PEM)")
    if add_options:
        add_options(parser)
    opts = parser.parse_args()
    if bool(opts.tls_cert) != bool(opts.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    server = FakeServer(opts.port, handler, opts)
    if opts.tls_cert:
        server.enable_tls(opts.tls_cert, opts.tls_key)
    if opts.port_file:
        tmp = "%s.%d.tmp" % (opts.port_file, os.getpid())
        with open(tmp, "w") as f:
            f.write("%d\n" % server.server_address[1])
        os.replace(tmp, opts.port_file)
    server.log("listening on %s://127.0.0.1:%d" % ("https" if opts.tls_cert else "http", server.server_address[1]))

    def stop(signum, frame):
        """Leave serve_forever on SIGTERM/SIGINT."""
        raise SystemExit(0)
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.stopping.set()
        server.server_close()
        if opts.port_file and os.path.exists(opts.port_file):
            os.remove(opts.port_file)
