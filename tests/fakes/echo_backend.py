#!/usr/bin/env python3
"""Echo backend: the service behind an AuthType Blink <Location> (ProxyPass). It records every request (method, path,
query, all headers, body: GET /_control/requests, cleared by DELETE /_control/requests) and answers 200 JSON
with what it got."""

import fakelib
from fakelib import Reply

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")


class EchoHandler(fakelib.FakeHandler):
    """Every path, every method: route "echo"."""

    server_version = "echo-backend/1"
    ROUTES = tuple((method, r"/.*", "echo", "on_echo") for method in METHODS)

    def on_echo(self):
        """Answer 200 with the request as this backend received it."""
        return Reply(200, {"method": self.command, "path": self.raw_path, "query": self.raw_query,
                           "headers": self.hdrs, "body": self.body_text()})


if __name__ == "__main__":
    fakelib.main(EchoHandler, __doc__)
