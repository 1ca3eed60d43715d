#!/usr/bin/env python3
"""Fake OAuth 2.0 authorization server (RFC 6749 code grant, RFC 7636 PKCE S256, RFC 7009
revocation, an OpenID-like id_token and userinfo, OpenID Connect discovery metadata) that
auto-approves the configured user."""

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import types
from html import escape
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import fakelib
from fakelib import Reply, html_page

CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43,128}")
VERIFIER = re.compile(r"[A-Za-z0-9._~-]{43,128}")
DEFAULT_USER = {"sub": "user-123", "email": "alice@example.test", "email_verified": True, "name": "Alice Example"}
DEFAULT_OPTIONS = {"id_token": True, "refresh_token": True, "expires_in": True, "code_ttl": 60, "id_token_claims": {},
                   "rotate_refresh": False, "reuse_revokes": False}
OPTION_TYPES = {"id_token": (bool,), "refresh_token": (bool,), "expires_in": (bool, int), "code_ttl": (int, float),
                "id_token_claims": (dict,), "rotate_refresh": (bool,), "reuse_revokes": (bool,)}
LIFETIME = 3600


def b64url(data):
    """Unpadded base64url of bytes."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt_none(claims):
    """A JWT-shaped string with alg "none" and an empty signature."""
    return ".".join(b64url(json.dumps(part, separators=(",", ":")).encode())
                    for part in ({"alg": "none", "typ": "JWT"}, claims)) + "."


def oauth_error(status, error, description, headers=None):
    """An RFC 6749 5.2 error answer."""
    return Reply(status, {"error": error, "error_description": description}, headers)


def invalid_client(description):
    """401 invalid_client with a Basic challenge."""
    return oauth_error(401, "invalid_client", description,
                       {"WWW-Authenticate": 'Basic realm="fake-provider"'})


def invalid_grant(description):
    """400 invalid_grant."""
    return oauth_error(400, "invalid_grant", description)


def same(a, b):
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


class ProviderHandler(fakelib.FakeHandler):
    """The authorize, token, userinfo and revoke endpoints and the provider's control endpoints. POST /token is
    recorded (and faulted) as route "token" for the code grant and "refresh" for the refresh_token grant."""

    server_version = "fake-provider/1"
    ROUTES = (("GET", "/.well-known/openid-configuration", "discovery", "on_discovery"),
              ("GET", "/authorize", "authorize", "on_authorize"),
              ("POST", "/token", "token", "on_token"),
              ("POST", "/token", "refresh", "on_token"),
              ("GET", "/userinfo", "userinfo", "on_userinfo"),
              ("POST", "/revoke", "revoke", "on_revoke"))
    CONTROL = (("POST", "/_control/deny", "c_deny"),
               ("POST", "/_control/user", "c_user"),
               ("POST", "/_control/options", "c_options"),
               ("POST", "/_control/metadata", "c_metadata"),
               ("GET", "/_control/revoked", "c_revoked"),
               ("GET", "/_control/tokens", "c_tokens"),
               ("POST", "/_control/issue", "c_issue"))

    @classmethod
    def fresh_state(cls, opts):
        """No codes or tokens, the default user and options, no queued deny."""
        return types.SimpleNamespace(codes={}, tokens={}, deny=None, user=dict(DEFAULT_USER),
                                     options=dict(DEFAULT_OPTIONS), metadata={})

    def error_reply(self, status, code, message):
        """Errors in the RFC 6749 shape (BAD_REQUEST becomes invalid_request)."""
        return oauth_error(status, "invalid_request" if code == "BAD_REQUEST" else code.lower(), message)

    def match(self):
        """The route of this request; POST /token with grant_type=refresh_token is the route "refresh"."""
        route, func, args = super().match()
        if route == "token" and self.command == "POST" and \
                dict(parse_qsl(self.body_text(), keep_blank_values=True)).get("grant_type") == "refresh_token":
            route = "refresh"
        return route, func, args

    def redirect_ok(self, uri):
        """Whether uri is the registered redirect URI (or, with none registered, an absolute http(s) URI)."""
        if self.server.opts.redirect_uri is not None:
            return uri == self.server.opts.redirect_uri
        parts = urlsplit(uri)
        return parts.scheme in ("http", "https") and bool(parts.netloc) and "#" not in uri

    def base_url(self):
        """This fake's own URL, its issuer: http://127.0.0.1:<port>."""
        return "http://127.0.0.1:%d" % self.server.server_address[1]

    def on_discovery(self):
        """GET /.well-known/openid-configuration: this fake's endpoints, issuer its base URL, changed by
        /_control/metadata."""
        base = self.base_url()
        doc = {"issuer": base,
               "authorization_endpoint": base + "/authorize",
               "token_endpoint": base + "/token",
               "userinfo_endpoint": base + "/userinfo",
               "revocation_endpoint": base + "/revoke",
               "response_types_supported": ["code"],
               "grant_types_supported": ["authorization_code", "refresh_token"],
               "code_challenge_methods_supported": ["S256"],
               "token_endpoint_auth_methods_supported": ["client_secret_basic", "none"],
               "subject_types_supported": ["public"],
               "id_token_signing_alg_values_supported": ["none"]}
        for key, value in self.state.metadata.items():
            if value is None:
                doc.pop(key, None)
            else:
                doc[key] = value.replace("{base}", base) if isinstance(value, str) else value
        return Reply(200, doc, {"Cache-Control": "public, max-age=3600"})

    def on_authorize(self):
        """GET /authorize: validate, then auto-approve (302 with code) or deny if queued."""
        pairs = parse_qsl(self.raw_query, keep_blank_values=True)
        q = dict(pairs)
        checks = ((len(q) == len(pairs), "a parameter is repeated"),
                  (q.get("client_id") in self.clients(), "unknown client_id"),
                  (self.redirect_ok(q.get("redirect_uri", "")), "redirect_uri missing or not registered"),
                  (q.get("response_type") == "code", "response_type must be code"),
                  (q.get("state"), "state is required"),
                  (CHALLENGE.fullmatch(q.get("code_challenge", "")),
                   "code_challenge must be 43 to 128 base64url characters"),
                  (q.get("code_challenge_method") == "S256", "code_challenge_method must be S256"))
        for passed, message in checks:
            if not passed:
                return html_page(400, "Authorization request rejected", "<p>%s</p>" % escape(message))
        st = self.state
        if st.deny:
            params, st.deny = dict(st.deny, state=q["state"]), None
        else:
            code = secrets.token_urlsafe(24)
            st.codes[code] = {"code": code, "client_id": q["client_id"], "redirect_uri": q["redirect_uri"],
                              "challenge": q["code_challenge"], "scope": q.get("scope", "openid"),
                              "nonce": q.get("nonce"), "user": dict(st.user), "created": time.time(),
                              "used": False}
            params = {"code": code, "state": q["state"]}
        uri = q["redirect_uri"]
        return Reply(302, "", {"Location": uri + ("&" if "?" in uri else "?") + urlencode(params)})

    def client_auth(self, form):
        """Authenticate the client (Basic per RFC 6749 2.3.1, or client_id for a public client)."""
        opts = self.server.opts
        basic, authz = None, self.hdrs.get("authorization", "")
        if authz[:6].lower() == "basic ":
            try:
                cid, secret = base64.b64decode(authz[6:].strip(), validate=True).decode().split(":", 1)
                basic = (unquote_plus(cid), unquote_plus(secret))
            except ValueError:
                raise invalid_client("malformed Basic credentials") from None
        if "client_secret" in form:
            raise invalid_client("client_secret in the body is not accepted; use HTTP Basic")
        clients = self.clients()
        if basic is None:
            cid = form.get("client_id")
            if cid not in clients or clients[cid] is not None:
                raise invalid_client("public client: send client_id in the body, no Basic")
            return cid
        secret = clients.get(basic[0])
        if secret is None or not same(basic[1], secret) or form.get("client_id", basic[0]) != basic[0]:
            raise invalid_client("client authentication failed")
        return basic[0]

    def clients(self):
        """Every registered client: id -> secret (None for a public client)."""
        opts = self.server.opts
        known = {cid: None for cid in opts.public_client or []}
        known[opts.client_id] = opts.client_secret
        return known

    def on_token(self):
        """POST /token: authorization_code (with PKCE) and refresh_token grants."""
        form = self.form()
        client = self.client_auth(form)
        grant = form.get("grant_type")
        if grant == "authorization_code":
            return self.grant_code(form, client)
        if grant == "refresh_token":
            return self.grant_refresh(form, client)
        if not grant:
            raise oauth_error(400, "invalid_request", "grant_type is required")
        raise oauth_error(400, "unsupported_grant_type", "grant_type %s is not supported" % grant)

    def grant_code(self, form, client):
        """Exchange a code once, checking age, client, redirect_uri and the PKCE verifier."""
        for key in ("code", "redirect_uri", "code_verifier"):
            if not form.get(key):
                raise oauth_error(400, "invalid_request", "%s is required" % key)
        if not VERIFIER.fullmatch(form["code_verifier"]):
            raise oauth_error(400, "invalid_request", "code_verifier must be 43 to 128 unreserved characters")
        code = self.state.codes.get(form["code"])
        if code is None or code["client_id"] != client:
            raise invalid_grant("unknown code")
        if code["used"]:
            self.revoke_grant(code["code"])
            raise invalid_grant("code already used; the tokens issued from it are revoked")
        code["used"] = True
        if time.time() - code["created"] > self.state.options["code_ttl"]:
            raise invalid_grant("code expired")
        if form["redirect_uri"] != code["redirect_uri"]:
            raise invalid_grant("redirect_uri differs from the authorization request")
        if b64url(hashlib.sha256(form["code_verifier"].encode()).digest()) != code["challenge"]:
            raise invalid_grant("PKCE verification failed")
        return self.issue(code, refresh=True)

    def grant_refresh(self, form, client):
        """Issue a new access token for a live refresh token; with the option rotate_refresh also a new refresh
        token, the one presented being consumed. A consumed one presented again is refused, and with reuse_revokes
        every token of its grant is revoked (as oidc-provider does on refresh token reuse)."""
        if not form.get("refresh_token"):
            raise oauth_error(400, "invalid_request", "refresh_token is required")
        token = self.state.tokens.get(form["refresh_token"])
        if not token or token["type"] != "refresh" or token["revoked"] or token["client_id"] != client:
            raise invalid_grant("unknown or revoked refresh token")
        if token["consumed_at"] is not None:
            if self.state.options["reuse_revokes"]:
                self.revoke_grant(token["code"])
                raise invalid_grant("refresh token already used; every token of its grant is revoked")
            raise invalid_grant("refresh token already used")
        rotate = self.state.options["rotate_refresh"]
        if rotate:
            token["consumed_at"] = time.time()
        return self.issue(self.state.codes[token["code"]], refresh=rotate)

    def new_token(self, kind, code, lifetime):
        """Create and store an access or refresh token issued from a code."""
        now = int(time.time())
        token = {"token": ("at-" if kind == "access" else "rt-") + secrets.token_urlsafe(24),
                 "type": kind, "client_id": code["client_id"], "code": code["code"],
                 "scope": code["scope"], "user": code["user"], "issued_at": now,
                 "expires_at": None if lifetime is None else now + lifetime,
                 "revoked": False, "revoked_at": None, "consumed_at": None}
        self.state.tokens[token["token"]] = token
        return token["token"]

    def issue(self, code, refresh):
        """The token response, shaped by the current options."""
        opts, now = self.state.options, int(time.time())
        lifetime = opts["expires_in"] if type(opts["expires_in"]) is int else LIFETIME
        answer = {"access_token": self.new_token("access", code, lifetime), "token_type": "Bearer"}
        if opts["expires_in"] is not False:
            answer["expires_in"] = lifetime
        if refresh and opts["refresh_token"]:
            answer["refresh_token"] = self.new_token("refresh", code, None)
        answer["scope"] = code["scope"]
        if opts["id_token"]:
            claims = {"iss": self.base_url(),
                      "aud": code["client_id"], "iat": now, "exp": now + LIFETIME}
            if code["nonce"]:
                claims["nonce"] = code["nonce"]
            claims.update(opts["id_token_claims"])
            answer["id_token"] = jwt_none(dict(code["user"], **claims))
        return Reply(200, answer, {"Cache-Control": "no-store", "Pragma": "no-cache"})

    def revoke_grant(self, code):
        """Revoke every token issued from a code (RFC 6749 10.5)."""
        for token in self.state.tokens.values():
            if token["code"] == code:
                self.mark_revoked(token)

    def mark_revoked(self, token):
        """Mark one token revoked."""
        if not token["revoked"]:
            token["revoked"], token["revoked_at"] = True, time.time()

    def on_userinfo(self):
        """GET /userinfo: the user's claims for a live Bearer access token, else 401."""
        authz = self.hdrs.get("authorization", "")
        token = self.state.tokens.get(authz[7:].strip()) if authz[:7].lower() == "bearer " else None
        if not token or token["type"] != "access" or token["revoked"] or token["expires_at"] < time.time():
            raise oauth_error(401, "invalid_token", "missing, unknown, expired or revoked access token",
                              {"WWW-Authenticate": 'Bearer realm="fake-provider", error="invalid_token"'})
        return Reply(200, token["user"])

    def on_revoke(self):
        """POST /revoke (RFC 7009): 200 for any token once the client is authenticated."""
        form = self.form()
        client = self.client_auth(form)
        if not form.get("token"):
            raise oauth_error(400, "invalid_request", "token is required")
        token = self.state.tokens.get(form["token"])
        if token and token["client_id"] == client:
            if token["type"] == "refresh":
                self.revoke_grant(token["code"])
            self.mark_revoked(token)
        return Reply(200, b"")

    def c_deny(self):
        """POST /_control/deny {"error","error_description"}: the next authorize redirects with it."""
        doc = self.json_object(strict_type=False)
        deny = {"error": doc.get("error", "access_denied")}
        if "error_description" in doc:
            deny["error_description"] = doc["error_description"]
        if not all(isinstance(v, str) for v in deny.values()):
            raise oauth_error(400, "invalid_request", "error and error_description must be strings")
        self.state.deny = deny
        return Reply(200, {"ok": True, "deny": deny})

    def c_user(self):
        """POST /_control/user {claims}: the user the next authorizations log in as."""
        self.state.user = self.json_object(strict_type=False)
        return Reply(200, {"ok": True, "user": self.state.user})

    def c_options(self):
        """POST /_control/options: set id_token/refresh_token (bool), expires_in (bool|int: the lifetime of the
        access tokens issued from now on, in seconds, 0 or less for already expired ones), code_ttl,
        id_token_claims (claims that replace or add to the id_token's, e.g. a wrong iss), rotate_refresh and
        reuse_revokes (bool: see grant_refresh)."""
        doc = self.json_object(strict_type=False)
        for key, value in doc.items():
            kinds = OPTION_TYPES.get(key)
            if kinds is None or type(value) not in kinds:
                raise oauth_error(400, "invalid_request", "bad option %s" % key)
        self.state.options.update(doc)
        return Reply(200, self.state.options)

    def c_metadata(self):
        """POST /_control/metadata {member: value}: change the discovery document's members (null removes one;
        "{base}" in a string stands for this fake's URL); {} goes back to the default."""
        doc = self.json_object(strict_type=False)
        self.state.metadata = {} if not doc else dict(self.state.metadata, **doc)
        return Reply(200, {"ok": True, "metadata": self.state.metadata})

    def c_revoked(self):
        """GET /_control/revoked: the revoked tokens."""
        return Reply(200, [t for t in self.state.tokens.values() if t["revoked"]])

    def c_tokens(self):
        """GET /_control/tokens: every issued token with its state."""
        return Reply(200, list(self.state.tokens.values()))

    def c_issue(self):
        """POST /_control/issue {"user"?: claims, "scope"?: str}: a grant made without a browser, as if a code had
        been exchanged; answers the token response (access and refresh token, shaped by the options)."""
        doc = self.json_object(strict_type=False)
        user, scope = doc.get("user", self.state.user), doc.get("scope", "openid email offline_access")
        if not isinstance(user, dict) or not isinstance(scope, str):
            raise oauth_error(400, "invalid_request", "user must be an object and scope a string")
        code = {"code": "issued-" + secrets.token_urlsafe(12), "client_id": self.server.opts.client_id,
                "redirect_uri": None, "challenge": None, "scope": scope, "nonce": None, "user": dict(user),
                "created": time.time(), "used": True}
        self.state.codes[code["code"]] = code
        return self.issue(code, refresh=True)


def options(parser):
    """The fake provider's own options."""
    parser.add_argument("--client-id", required=True, help="the one registered client")
    parser.add_argument("--client-secret", help="its secret (omit for a public client)")
    parser.add_argument("--public-client", action="append", metavar="ID",
                        help="one more public client (repeatable)")
    parser.add_argument("--redirect-uri", help="the only redirect URI accepted (default: any http(s))")


if __name__ == "__main__":
    fakelib.main(ProviderHandler, __doc__, options)
