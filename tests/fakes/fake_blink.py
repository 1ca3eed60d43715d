#!/usr/bin/env python3
"""Fake Blink API (linked accounts, as docs/blink-api.md describes them) plus a sandbox page that plays
Blink's servers towards mod_blinkauth (POST /auth/<auth_id>, DELETE /linked-accounts/<id>, and an action
for a linked user: GET <--ui-action> under the Proxy URL)."""

import datetime
import hmac
import json
import re
import types
import urllib.error
import urllib.request
import uuid
from html import escape
from urllib.parse import parse_qsl, quote, unquote, urlencode

import fakelib
from fakelib import Reply, fail, html_page, ok

PCHARS = re.compile(r"(?:[A-Za-z0-9\-._~!$&'()*+,;=:@]|%[0-9A-Fa-f]{2})+")
EXPIRY = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")
FIELDS = {"auth_id": str, "external_account_id": str, "access_token": str,
          "refresh_token": str, "expiry": str, "reauth_required": bool}
UPDATABLE = ("access_token", "refresh_token", "expiry", "reauth_required")
USER = r"/v2/user/([^/]+)/linked-accounts"


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Make a redirect from the module an error instead of following it (JSON routes never redirect)."""

    def redirect_request(self, *args, **kwargs):
        """Refuse to follow."""
        return None


OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), NoRedirect)


def bad(message):
    """A 400 BAD_REQUEST envelope."""
    return fail(400, "BAD_REQUEST", message)


def valid_expiry(value):
    """True for an RFC 3339 UTC date-time of the form YYYY-MM-DDTHH:MM:SSZ."""
    try:
        return bool(EXPIRY.fullmatch(value)) and bool(
            datetime.datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return False


def check_account(doc, auth_id, partial=False):
    """Validate the fields of an Add User Linked Account body (an Update's with partial); raise 400 naming the bad
    field."""
    for key, value in doc.items():
        kind = FIELDS.get(key)
        if kind is None:
            raise bad("unknown field '%s'" % key)
        if type(value) is not kind:
            raise bad("field '%s' must be a %s" % (key, "string" if kind is str else "boolean"))
    for key in () if partial else ("auth_id", "external_account_id"):
        if not doc.get(key):
            raise bad("field '%s' is required and must be a non-empty string" % key)
    if auth_id is not None and doc["auth_id"] != auth_id:
        raise bad("field 'auth_id' is not this app's Auth ID")
    if "expiry" in doc and not valid_expiry(doc["expiry"]):
        raise bad("field 'expiry' must be an RFC 3339 UTC date-time like 2030-01-02T03:04:05Z")
    return dict(doc)


class BlinkHandler(fakelib.FakeHandler):
    """The Blink API routes, the sandbox page and the /_control/accounts endpoints."""

    server_version = "fake-blink/1"
    ROUTES = (("GET", r"/v2/user/([^/]+)", "user", "on_user"),
              ("POST", USER, "add", "on_add"),
              ("GET", USER, "list", "on_list"),
              ("GET", USER + r"/([^/]+)", "get", "on_get"),
              ("PATCH", USER + r"/([^/]+)", "update", "on_update"),
              ("DELETE", USER + r"/([^/]+)", "delete", "on_delete"),
              ("GET", "/", "ui", "ui_page"),
              ("POST", "/ui/connect", "ui", "ui_connect"),
              ("POST", "/ui/disconnect", "ui", "ui_disconnect"),
              ("POST", "/ui/act", "ui", "ui_act"))
    CONTROL = (("GET", "/_control/accounts", "c_accounts"),
               ("POST", "/_control/accounts", "c_seed"),
               ("POST", "/_control/users", "c_users"))
    UNLOCKED = ("ui",)

    @classmethod
    def fresh_state(cls, opts):
        """No linked accounts."""
        return types.SimpleNamespace(accounts={}, users={})

    def precheck(self, route):
        """Refuse every API request whose bearer token is not --token (before anything else)."""
        expected = ("Bearer " + self.server.opts.token).encode()
        given = self.hdrs.get("authorization", "").encode("utf-8", "replace")
        if route != "ui" and not hmac.compare_digest(given, expected):
            return fail(401, "UNAUTHORIZED", "missing or invalid app token",
                        {"WWW-Authenticate": 'Bearer realm="blink"'})
        return None

    def segment(self, raw, what):
        """Percent-decode one path segment; 400 if unencoded, not UTF-8, or holding '/' or controls."""
        if not PCHARS.fullmatch(raw):
            raise bad("the %s in the path has characters that must be percent-encoded" % what)
        try:
            value = unquote(raw, errors="strict")
        except UnicodeDecodeError:
            raise bad("the %s in the path is not UTF-8" % what) from None
        if "/" in value or any(ord(c) < 32 or ord(c) == 127 for c in value):
            raise bad("the %s in the path contains '/' or a control character" % what)
        return value

    def account(self, raw_user, raw_id):
        """The stored account for a user id and account id taken from the path, or 404."""
        user_id, account_id = self.segment(raw_user, "user id"), self.segment(raw_id, "linked account id")
        acct = self.state.accounts.get(account_id)
        if acct is None or acct["user_id"] != user_id:
            raise fail(404, "NOT_FOUND", "no linked account %s for this user" % account_id)
        return acct

    def store(self, user_id, fields, account_id=None):
        """Store a linked account and return it (reauth_required false unless given, as Blink defaults it)."""
        acct = dict({"reauth_required": False, **fields}, id=account_id or "la-" + uuid.uuid4().hex, user_id=user_id)
        self.state.accounts[acct["id"]] = acct
        return acct

    def on_user(self, raw_user):
        """GET /v2/user/{user_id}: Get User (404 for a user /_control/users did not make)."""
        user_id = self.segment(raw_user, "user id")
        if user_id not in self.state.users:
            raise fail(404, "NOT_FOUND", "no user %s" % user_id)
        return ok(dict(self.state.users[user_id], id=user_id))

    def c_users(self):
        """POST /_control/users {user_id: {"email", "first_name", "last_name"}}: the users Get User knows."""
        doc = self.json_object(strict_type=False)
        for user_id, fields in doc.items():
            if not isinstance(fields, dict) or not all(isinstance(v, str) for v in fields.values()):
                raise bad("each user is an object of strings")
            self.state.users[user_id] = fields
        return Reply(200, {"users": sorted(self.state.users)})

    def on_add(self, raw_user):
        """POST /v2/user/{user_id}/linked-accounts: Add User Linked Account."""
        user_id = self.segment(raw_user, "user id")
        return ok(self.store(user_id, check_account(self.json_object(), self.server.opts.auth_id)), 201)

    def on_list(self, raw_user):
        """GET /v2/user/{user_id}/linked-accounts: the user's linked accounts."""
        user_id = self.segment(raw_user, "user id")
        return ok([a for a in self.state.accounts.values() if a["user_id"] == user_id])

    def on_get(self, raw_user, raw_id):
        """GET /v2/user/{user_id}/linked-accounts/{id}: Get User Linked Account."""
        return ok(self.account(raw_user, raw_id))

    def on_update(self, raw_user, raw_id):
        """PATCH /v2/user/{user_id}/linked-accounts/{id}: Update User Linked Account (only the token fields)."""
        acct = self.account(raw_user, raw_id)
        doc = self.json_object()
        if not doc:
            raise bad("nothing to update")
        for key in doc:
            if key not in UPDATABLE:
                raise bad("field '%s' cannot be updated" % key)
        acct.update(check_account(doc, None, partial=True))
        return ok(acct)

    def on_delete(self, raw_user, raw_id):
        """DELETE /v2/user/{user_id}/linked-accounts/{id}: Delete User Linked Account."""
        del self.state.accounts[self.account(raw_user, raw_id)["id"]]
        return ok({})

    def c_accounts(self):
        """GET /_control/accounts: every stored account."""
        return Reply(200, list(self.state.accounts.values()))

    def c_seed(self):
        """POST /_control/accounts: store {"user_id", optional "id", account fields} as given."""
        doc = self.json_object(strict_type=False)
        user_id, account_id = doc.pop("user_id", None), doc.pop("id", None)
        if not isinstance(user_id, str) or not user_id or not isinstance(account_id, (str, type(None))):
            raise bad("user_id (non-empty string) is required; id must be a string")
        if self.server.opts.auth_id:
            doc.setdefault("auth_id", self.server.opts.auth_id)
        return Reply(201, self.store(user_id, check_account(doc, None), account_id))

    def call_proxy(self, method, path, user_id=None):
        """Call mod_blinkauth as Blink's servers would (for user_id, by default --ui-user-id); return (status, body
        text), status 0 on failure."""
        opts = self.server.opts
        request = urllib.request.Request(opts.proxy_url.rstrip("/") + path, method=method, headers={
            "blink-auth-proxysecret": opts.proxy_secret, "blink-auth-userid": user_id or opts.ui_user_id})
        try:
            with OPENER.open(request, timeout=15) as answer:
                return answer.status, answer.read(1 << 20).decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            try:
                return err.code, err.read(1 << 20).decode("utf-8", "replace")
            finally:
                err.close()
        except (urllib.error.URLError, OSError, ValueError) as err:
            return 0, "request failed: %s" % err

    def ui_configured(self):
        """Whether the sandbox options needed to call the module were given."""
        opts = self.server.opts
        return all((opts.proxy_url, opts.proxy_secret, opts.ui_user_id, opts.auth_id))

    def ui_buttons(self, account_id):
        """The buttons of one linked account's row: the action (with --ui-action) and Disconnect."""
        buttons = [("disconnect", "Disconnect")]
        if self.server.opts.ui_action:
            buttons.insert(0, ("act", "GET " + self.server.opts.ui_action))
        return "".join("<form method=\"post\" action=\"/ui/%s\"><input type=\"hidden\" name=\"id\" value=\"%s\">"
                       "<button>%s</button></form>" % (route, escape(account_id), escape(label))
                       for route, label in buttons)

    def ui_page(self):
        """GET /: the linked accounts held, an action and a Disconnect button each, a Connect button."""
        with self.server.lock:
            accounts = list(self.state.accounts.values())
        msg = dict(parse_qsl(self.raw_query)).get("msg")
        rows = "".join(
            "<tr>%s<td>%s</td></tr>" % ("".join("<td>%s</td>" % escape(str(a.get(k, ""))) for k in
                                                ("id", "user_id", "external_account_id", "expiry")),
                                        self.ui_buttons(str(a.get("id", "")))) for a in accounts)
        connect = ("<form method=\"post\" action=\"/ui/connect\"><button>Connect</button> as Blink "
                   "user <code>%s</code></form>" % escape(self.server.opts.ui_user_id or "")
                   if self.ui_configured() else
                   "<p>Start with --proxy-url, --proxy-secret, --ui-user-id and --auth-id to connect.</p>")
        body = ("%s%s<table><tr><th>id</th><th>user</th><th>external account</th><th>expiry</th>"
                "<th></th></tr>%s</table>" % ("<pre>%s</pre>" % escape(msg) if msg else "", connect,
                                              rows or "<tr><td colspan=\"5\">none</td></tr>"))
        return html_page(200, "Fake Blink: linked accounts", body)

    def ui_connect(self):
        """POST /ui/connect: POST <proxy>/auth/<auth_id>, then 303 to the authorization_url."""
        if not self.ui_configured():
            return html_page(400, "Not configured", "<p>Sandbox options are missing.</p>")
        path = "/auth/" + quote(self.server.opts.auth_id, safe="")
        status, text = self.call_proxy("POST", path)
        try:
            url = json.loads(text)["data"]["authorization_url"]
        except (ValueError, KeyError, TypeError):
            url = None
        if 200 <= status < 300 and isinstance(url, str) and re.fullmatch(r"https?://[\x21-\x7e]+", url):
            return Reply(303, "", {"Location": url})
        return html_page(502, "Connect failed", "<p>POST %s answered %s</p><pre>%s</pre>"
                         "<p><a href=\"/\">Back</a></p>" % (escape(path), status, escape(text)))

    def ui_disconnect(self):
        """POST /ui/disconnect: DELETE <proxy>/linked-accounts/<id>, then 303 back to / with the result."""
        if not self.ui_configured():
            return html_page(400, "Not configured", "<p>Sandbox options are missing.</p>")
        account_id = dict(parse_qsl(self.body_text())).get("id", "")
        path = "/linked-accounts/" + quote(account_id, safe="")
        status, text = self.call_proxy("DELETE", path)
        msg = "DELETE %s -> %s %s" % (path, status, text)
        return Reply(303, "", {"Location": "/?" + urlencode({"msg": msg})})

    def ui_act(self):
        """POST /ui/act: GET <proxy><--ui-action> as Blink acting for the account's user, then 303 back to / with
        the status and what the external service answered."""
        if not self.ui_configured() or not self.server.opts.ui_action:
            return html_page(400, "Not configured", "<p>Sandbox options are missing (--ui-action).</p>")
        account_id = dict(parse_qsl(self.body_text())).get("id", "")
        with self.server.lock:
            acct = self.state.accounts.get(account_id)
        if acct is None:
            return html_page(404, "No such linked account", "<p><a href=\"/\">Back</a></p>")
        path = self.server.opts.ui_action
        status, text = self.call_proxy("GET", path, acct["user_id"])
        msg = "GET %s as Blink user %s -> %s %s" % (path, acct["user_id"], status, text)
        return Reply(303, "", {"Location": "/?" + urlencode({"msg": msg})})


def options(parser):
    """The fake Blink's own options."""
    parser.add_argument("--token", required=True, help="the app token expected as Bearer")
    parser.add_argument("--auth-id", help="the only auth_id accepted (and used by Connect)")
    parser.add_argument("--proxy-url", help="sandbox: mod_blinkauth's Proxy URL")
    parser.add_argument("--proxy-secret", help="sandbox: the Proxy Secret to send")
    parser.add_argument("--ui-user-id", help="sandbox: the Blink user id to send")
    parser.add_argument("--ui-action", help="sandbox: a path under the Proxy URL (e.g. /api/me) that a button of "
                        "each linked account GETs as Blink acting for its user")


if __name__ == "__main__":
    fakelib.main(BlinkHandler, __doc__, options)
