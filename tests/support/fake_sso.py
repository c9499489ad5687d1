#!/usr/bin/env python3
"""A test double of AWS IAM Identity Center: SSO OIDC and the SSO portal on one loopback port.

Written from botocore's service models (sso-oidc 2019-06-10, sso 2019-06-10; REST-JSON, unsigned).
Point clients at it with AWS_ENDPOINT_URL_SSO_OIDC and AWS_ENDPOINT_URL_SSO (botocore honours both).

SSO OIDC (errors: x-amzn-ErrorType header, body {"error": "authorization_pending",
"error_description": "..."}; HTTP 400, except InvalidClientException 401 and
InternalServerException 500, as the model says):
  POST /client/register        RegisterClient      clientName, clientType "public", scopes, grantTypes,
                                                   redirectUris, issuerUrl -> clientId, clientSecret,
                                                   clientIdIssuedAt, clientSecretExpiresAt (epoch s)
  POST /device_authorization   StartDeviceAuthorization  clientId, clientSecret, startUrl -> deviceCode,
                                                   userCode, verificationUri, verificationUriComplete,
                                                   expiresIn, interval
  POST /token                  CreateToken         grantType urn:ietf:params:oauth:grant-type:device_code
                                                   (deviceCode) | authorization_code (code, codeVerifier,
                                                   redirectUri; PKCE S256) | refresh_token (refreshToken)
                                                   -> accessToken, tokenType "Bearer", expiresIn,
                                                   refreshToken (see below); no idToken
  GET  /authorize?...          "Authorize": the sign-in page; answers 302 to
                               redirect_uri?code=C&state=S (or ?error=access_denied&... with "deny")
  GET  /device?user_code=...   "VerifyDevice": the verificationUriComplete page; the GET approves the
                               device code (or denies it with "deny")
A refresh token is issued (for all three grants) when the client registered with grant type
refresh_token or with any scopes ("issue_refresh_tokens": "auto"; true/false force it).

SSO portal (header x-amz-sso_bearer_token; errors: x-amzn-ErrorType, body {"message": "..."}):
  GET  /assignment/accounts?max_result=&next_token=              ListAccounts -> accountList, nextToken
  GET  /assignment/roles?account_id=&max_result=&next_token=     ListAccountRoles -> roleList, nextToken
  GET  /federation/credentials?account_id=&role_name=            GetRoleCredentials -> roleCredentials
                                                                 {accessKeyId, secretAccessKey,
                                                                  sessionToken, expiration (epoch ms)}
  POST /logout                                                   Logout (kills the access token and
                                                                 the refresh token issued with it)
Missing/unknown/expired/logged-out token: 401 UnauthorizedException "Session token not found or
invalid". Account or role not assigned: 403 ForbiddenException "No access" (what the real portal
answers; not in the model, so botocore raises a plain ClientError). Pages hold
min(max_result, page_size) items.

Test endpoints (not counted as calls):
  GET  /_state    {"counts": {op: n}, "errors": {"Op:Code": n}, "max_in_flight": {"all", "portal"},
                   "clients": n, "access_tokens": n, "refresh_tokens": n, "device_codes": n}
  GET  /_calls    ["RegisterClient", "CreateToken", ...] in order (every answered operation, errors
                  included); /_calls?detail=1 gives [{"op", "status", "error"}]
  POST /_control  {"revoke_refresh_tokens": true} {"expire_access_tokens": true}
                  {"revoke_access_tokens": true} {"expire_registrations": true}
                  {"approve": "USER-CODE"} {"reset_calls": true} {"set": {config key: value}}
                  (several keys may be combined) -> the new /_state

Usage: fake_sso.py [--config FILE.json] [--log FILE] [--port N]
Prints its port (one line), then serves until stdin closes or it is killed. Every request is
appended to the log as one JSON line (method, path, query, headers, body, op, status, error,
response), secrets included: it is a test double.

Config (every key optional):
  {"accounts": [{"id": "111111111111", "name": "dev", "email": "dev@example.com",
                 "credentials": {"access_key_id": "AKIA...", "secret_access_key": "...",
                                 "session_token": "..."},     # default for this account's roles
                 "roles": ["ReadOnly",                        # uses the account's credentials
                           {"name": "Admin", "access_key_id": "...", "secret_access_key": "..."}]}],
                 # roles may also be {"Admin": {creds}, ...}; camelCase accessKeyId etc. also accepted;
                 # {"name": "X", "forbidden": true}: listed, but GetRoleCredentials -> 403 No access;
                 # no session_token -> a generated one; "session_token": null -> field omitted
   "page_size": 2, "client_secret_lifetime": 7776000, "access_token_lifetime": 3600,
   "device_code_lifetime": 600, "auth_code_lifetime": 300, "interval": 1,
   "role_credentials_lifetime": 3600, "portal_delay_ms": 0, "oidc_delay_ms": 0,
   "slow_down": 0,              # true or N: the first N CreateToken polls of each device code -> SlowDown
   "deny": false,               # /authorize redirects with error=access_denied; /device denies the
                                # device code (CreateToken -> AccessDeniedException)
   "issue_refresh_tokens": "auto", "single_use_refresh_tokens": false,
   "start_url": null,           # if set, StartDeviceAuthorization with another startUrl -> InvalidRequest
   "throttle": {"GetRoleCredentials": 2}}   # first N calls of that operation -> 429 TooManyRequests
"""
import argparse
import base64
import hashlib
import html
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
GRANTS = ("authorization_code", "refresh_token", DEVICE_GRANT)
OIDC_ERRORS = {  # x-amzn-ErrorType -> (HTTP status from the model, OAuth "error" value)
    "AuthorizationPendingException": (400, "authorization_pending"),
    "SlowDownException": (400, "slow_down"),
    "ExpiredTokenException": (400, "expired_token"),
    "InvalidGrantException": (400, "invalid_grant"),
    "InvalidClientException": (401, "invalid_client"),
    "UnauthorizedClientException": (400, "unauthorized_client"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type"),
    "InvalidRequestException": (400, "invalid_request"),
    "InvalidScopeException": (400, "invalid_scope"),
    "AccessDeniedException": (400, "access_denied"),
    "InvalidClientMetadataException": (400, "invalid_client_metadata"),
    "InvalidRedirectUriException": (400, "invalid_redirect_uri"),
    "InternalServerException": (500, "server_error"),
}
PORTAL_STATUS = {"UnauthorizedException": 401, "ForbiddenException": 403,
                 "InvalidRequestException": 400, "ResourceNotFoundException": 404,
                 "TooManyRequestsException": 429}
PORTAL_OPS = ("ListAccounts", "ListAccountRoles", "GetRoleCredentials", "Logout")
DEFAULTS = {
    "page_size": 2, "client_secret_lifetime": 90 * 86400, "access_token_lifetime": 3600,
    "device_code_lifetime": 600, "auth_code_lifetime": 300, "interval": 1,
    "role_credentials_lifetime": 3600, "portal_delay_ms": 0, "oidc_delay_ms": 0,
    "slow_down": 0, "deny": False, "issue_refresh_tokens": "auto",
    "single_use_refresh_tokens": False, "start_url": None, "throttle": {}, "accounts": [],
}


class OidcError(Exception):
    def __init__(self, code, description):
        super().__init__(description)
        self.code, self.description = code, description
        self.status = OIDC_ERRORS[code][0]

    def body(self):
        return {"error": OIDC_ERRORS[self.code][1], "error_description": self.description}


class PortalError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code, self.message, self.status = code, message, PORTAL_STATUS[code]

    def body(self):
        return {"message": self.message}


class Reply:
    """A non-JSON answer: a redirect or a small HTML page."""

    def __init__(self, status, text="", location=None):
        self.status, self.text, self.location = status, text, location


def b64url_sha256(verifier):
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_loopback_match(given, registered):
    """RFC 8252 7.3: for loopback redirect URIs the port may differ from the registered one."""
    if given == registered:
        return True
    g, r = urllib.parse.urlsplit(given), urllib.parse.urlsplit(registered)
    loop = ("127.0.0.1", "localhost", "::1")
    return (g.scheme == r.scheme == "http" and g.hostname in loop and g.hostname == r.hostname
            and (r.port is None or g.port == r.port) and g.path == r.path)


def normalize_creds(d):
    out = {}
    for key, alts in (("access_key_id", ("accessKeyId", "AccessKeyId")),
                      ("secret_access_key", ("secretAccessKey", "SecretAccessKey")),
                      ("session_token", ("sessionToken", "SessionToken"))):
        for k in (key,) + alts:
            if k in d:
                out[key] = d[k]
                break
    return out


def load_accounts(cfg):
    """[{id, name, email, roles: {name: creds}}] in configured order."""
    accounts = []
    for a in cfg.get("accounts", []):
        default = normalize_creds(a.get("credentials", {}))
        default.update(normalize_creds(a))
        roles = {}
        raw = a.get("roles", [])
        items = raw.items() if isinstance(raw, dict) else [
            (r, {}) if isinstance(r, str) else (r.get("name") or r.get("roleName"), r) for r in raw]
        for name, spec in items:
            creds = dict(default)
            creds.update(normalize_creds(spec or {}))
            if isinstance(spec, dict) and spec.get("forbidden"):
                creds["forbidden"] = True
            roles[name] = creds
        aid = str(a.get("id") or a.get("accountId"))
        accounts.append({"id": aid, "name": a.get("name") or a.get("accountName") or aid,
                         "email": a.get("email") or a.get("emailAddress") or f"{aid}@example.com",
                         "roles": roles})
    return accounts


class Double:
    def __init__(self, cfg, log_path, base_url_fn):
        self.cfg = dict(DEFAULTS)
        self.cfg.update(cfg)
        self.accounts = load_accounts(self.cfg)
        self.log_path = log_path
        self.base_url = base_url_fn
        self.lock = threading.Lock()
        self.clients, self.devices, self.user_codes = {}, {}, {}
        self.auth_codes, self.access_tokens, self.refresh_tokens = {}, {}, {}
        self.calls, self.counts, self.errors = [], {}, {}
        self.throttle_used = {}
        self.in_flight = {"all": 0, "portal": 0}
        self.max_in_flight = {"all": 0, "portal": 0}

    # ---- bookkeeping -------------------------------------------------------------------
    def record(self, op, status, error):
        self.calls.append({"op": op, "status": status, "error": error})
        self.counts[op] = self.counts.get(op, 0) + 1
        if error:
            k = f"{op}:{error}"
            self.errors[k] = self.errors.get(k, 0) + 1

    def state(self):
        return {"counts": dict(self.counts), "errors": dict(self.errors),
                "max_in_flight": dict(self.max_in_flight), "clients": len(self.clients),
                "access_tokens": len(self.access_tokens),
                "refresh_tokens": len(self.refresh_tokens), "device_codes": len(self.devices)}

    def control(self, body):
        now = time.time()
        if body.get("revoke_refresh_tokens"):
            for r in self.refresh_tokens.values():
                r["revoked"] = True
        if body.get("expire_access_tokens"):
            for t in self.access_tokens.values():
                t["expires_at"] = min(t["expires_at"], now - 1)
        if body.get("revoke_access_tokens"):
            for t in self.access_tokens.values():
                t["revoked"] = True
        if body.get("expire_registrations"):
            for c in self.clients.values():
                c["expires_at"] = min(c["expires_at"], int(now) - 1)
        if body.get("approve"):
            dc = self.user_codes.get(body["approve"])
            if dc and self.devices[dc]["status"] == "pending":
                self.devices[dc]["status"] = "approved"
        if body.get("reset_calls"):
            self.calls, self.counts, self.errors = [], {}, {}
        if body.get("set"):
            self.cfg.update(body["set"])
            if "accounts" in body["set"]:
                self.accounts = load_accounts(self.cfg)
        return self.state()

    # ---- OIDC --------------------------------------------------------------------------
    def client(self, body, require_secret=True):
        cid = body.get("clientId")
        c = self.clients.get(cid)
        if c is None:
            raise OidcError("InvalidClientException", "Invalid client provided")
        if require_secret and body.get("clientSecret") != c["secret"]:
            raise OidcError("InvalidClientException", "Invalid client provided")
        if c["expires_at"] <= time.time():
            raise OidcError("InvalidClientException", "Client secret has expired")
        return cid, c

    def register_client(self, body):
        if not body.get("clientName") or not body.get("clientType"):
            raise OidcError("InvalidRequestException", "clientName and clientType are required")
        if body["clientType"] != "public":
            raise OidcError("InvalidClientMetadataException", "clientType must be public")
        grants = body.get("grantTypes") or []
        for g in grants:
            if g not in GRANTS:
                raise OidcError("UnsupportedGrantTypeException", f"Unsupported grant type: {g}")
        redirects = body.get("redirectUris") or []
        if "authorization_code" in grants and not redirects:
            raise OidcError("InvalidRedirectUriException",
                            "redirectUris are required for the authorization_code grant")
        for r in redirects:
            if not urllib.parse.urlsplit(r).scheme:
                raise OidcError("InvalidRedirectUriException", f"Invalid redirect uri: {r}")
        now = int(time.time())
        cid = "fakecid-" + secrets.token_urlsafe(16)
        c = {"secret": "fakecsecret-" + secrets.token_urlsafe(32), "name": body["clientName"],
             "type": body["clientType"], "scopes": body.get("scopes") or [], "grants": grants,
             "redirects": redirects, "issuer": body.get("issuerUrl"), "issued_at": now,
             "expires_at": now + int(self.cfg["client_secret_lifetime"])}
        self.clients[cid] = c
        return {"clientId": cid, "clientSecret": c["secret"], "clientIdIssuedAt": now,
                "clientSecretExpiresAt": c["expires_at"]}

    def start_device_authorization(self, body):
        cid, c = self.client(body)
        if not body.get("startUrl"):
            raise OidcError("InvalidRequestException", "startUrl is required")
        if self.cfg.get("start_url") and body["startUrl"] != self.cfg["start_url"]:
            raise OidcError("InvalidRequestException", "Invalid start url")
        if c["grants"] and DEVICE_GRANT not in c["grants"]:
            raise OidcError("UnauthorizedClientException", "Client is not authorized for the device grant")
        letters = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "-".join("".join(secrets.choice(letters) for _ in range(4)) for _ in range(2))
        device_code = "fakedc-" + secrets.token_urlsafe(32)
        slow = self.cfg.get("slow_down") or 0
        self.devices[device_code] = {
            "client": cid, "user_code": user_code, "start_url": body["startUrl"],
            "expires_at": time.time() + float(self.cfg["device_code_lifetime"]),
            "status": "pending", "slow_down_left": 1 if slow is True else int(slow)}
        self.user_codes[user_code] = device_code
        base = self.base_url()
        return {"deviceCode": device_code, "userCode": user_code,
                "verificationUri": f"{base}/device",
                "verificationUriComplete": f"{base}/device?user_code={user_code}",
                "expiresIn": int(self.cfg["device_code_lifetime"]),
                "interval": int(self.cfg["interval"])}

    def may_refresh(self, c):
        mode = self.cfg.get("issue_refresh_tokens", "auto")
        if mode == "auto":
            return "refresh_token" in c["grants"] or bool(c["scopes"])
        return bool(mode)

    def issue(self, cid, c, scopes):
        now = time.time()
        access = "fakeat-" + secrets.token_urlsafe(32)
        lifetime = int(self.cfg["access_token_lifetime"])
        out = {"accessToken": access, "tokenType": "Bearer", "expiresIn": lifetime}
        refresh = None
        if self.may_refresh(c):
            refresh = "fakert-" + secrets.token_urlsafe(32)
            self.refresh_tokens[refresh] = {"client": cid, "revoked": False, "scopes": scopes}
            out["refreshToken"] = refresh
        self.access_tokens[access] = {"client": cid, "expires_at": now + lifetime,
                                      "refresh": refresh, "revoked": False, "scopes": scopes}
        return out

    def create_token(self, body):
        for k in ("clientId", "clientSecret", "grantType"):
            if not body.get(k):
                raise OidcError("InvalidRequestException", f"{k} is required")
        cid, c = self.client(body)
        grant = body["grantType"]
        if grant not in GRANTS:
            raise OidcError("UnsupportedGrantTypeException", f"Unsupported grant type: {grant}")
        if c["grants"] and grant not in c["grants"]:
            raise OidcError("UnauthorizedClientException", f"Client is not authorized for grant {grant}")
        now = time.time()
        if grant == DEVICE_GRANT:
            d = self.devices.get(body.get("deviceCode"))
            if d is None or d["client"] != cid:
                raise OidcError("InvalidGrantException", "Invalid device code provided")
            if d["status"] == "used":
                raise OidcError("InvalidGrantException", "Device code has already been used")
            if now >= d["expires_at"]:
                raise OidcError("ExpiredTokenException", "Device code has expired")
            if d["slow_down_left"] > 0:
                d["slow_down_left"] -= 1
                raise OidcError("SlowDownException", "Client is polling too fast")
            if d["status"] == "denied":
                raise OidcError("AccessDeniedException", "The user denied the authorization request")
            if d["status"] == "pending":
                raise OidcError("AuthorizationPendingException", "Authorization is still pending")
            d["status"] = "used"
            return self.issue(cid, c, c["scopes"])
        if grant == "authorization_code":
            a = self.auth_codes.get(body.get("code"))
            if a is None or a["client"] != cid:
                raise OidcError("InvalidGrantException", "Invalid authorization code provided")
            if a["used"]:
                raise OidcError("InvalidGrantException", "Authorization code has already been used")
            if now >= a["expires_at"]:
                raise OidcError("InvalidGrantException", "Authorization code has expired")
            if body.get("redirectUri") != a["redirect_uri"]:
                raise OidcError("InvalidGrantException", "redirectUri does not match the authorization request")
            verifier = body.get("codeVerifier")
            if not verifier or b64url_sha256(verifier) != a["challenge"]:
                raise OidcError("InvalidGrantException", "Code verifier does not match the code challenge")
            a["used"] = True  # single use (a failed exchange does not consume it)
            return self.issue(cid, c, a["scopes"])
        # refresh_token
        r = self.refresh_tokens.get(body.get("refreshToken"))
        if r is None or r["client"] != cid or r["revoked"]:
            raise OidcError("InvalidGrantException", "Invalid refresh token provided")
        if self.cfg.get("single_use_refresh_tokens"):
            r["revoked"] = True
        return self.issue(cid, c, r["scopes"])

    def authorize(self, q):
        def one(k):
            return q.get(k, [None])[0]

        c = self.clients.get(one("client_id"))
        redirect = one("redirect_uri")
        if c is None:
            return Reply(400, "<h1>Invalid client</h1>")
        if not redirect or not any(is_loopback_match(redirect, r) for r in c["redirects"]):
            return Reply(400, "<h1>Invalid redirect_uri</h1>")
        state = one("state")

        def back(params):
            if state is not None:
                params["state"] = state
            sep = "&" if urllib.parse.urlsplit(redirect).query else "?"
            return Reply(302, location=redirect + sep + urllib.parse.urlencode(params))

        if one("response_type") != "code":
            return back({"error": "unsupported_response_type"})
        if "authorization_code" not in c["grants"]:
            return back({"error": "unauthorized_client"})
        if one("code_challenge_method") != "S256" or not one("code_challenge"):
            return back({"error": "invalid_request",
                         "error_description": "code_challenge_method must be S256 with a code_challenge"})
        if self.cfg.get("deny"):
            return back({"error": "access_denied", "error_description": "The user denied access"})
        code = "fakecode-" + secrets.token_urlsafe(24)
        scopes = (one("scopes") or "").replace(",", " ").split() or c["scopes"]
        self.auth_codes[code] = {"client": one("client_id"), "redirect_uri": redirect,
                                 "challenge": one("code_challenge"), "scopes": scopes,
                                 "expires_at": time.time() + float(self.cfg["auth_code_lifetime"]),
                                 "used": False}
        return back({"code": code})

    def verify_device(self, q):
        code = q.get("user_code", [None])[0]
        dc = self.user_codes.get(code)
        if dc is None:
            return Reply(200 if code is None else 400,
                         "<h1>Enter the code shown on your device</h1>" if code is None
                         else "<h1>Invalid code</h1>")
        d = self.devices[dc]
        if time.time() >= d["expires_at"]:
            return Reply(400, "<h1>This code has expired</h1>")
        if d["status"] == "pending":
            d["status"] = "denied" if self.cfg.get("deny") else "approved"
        return Reply(200, f"<h1>Request {html.escape(d['status'])}</h1><p>{html.escape(code)}</p>")

    # ---- portal ------------------------------------------------------------------------
    def token(self, headers):
        t = self.access_tokens.get(headers.get("x-amz-sso_bearer_token") or "")
        if t is None or t["revoked"] or t["expires_at"] <= time.time():
            raise PortalError("UnauthorizedException", "Session token not found or invalid")
        return t

    def account(self, aid):
        for a in self.accounts:
            if a["id"] == aid:
                return a
        raise PortalError("ForbiddenException", "No access")

    def page(self, items, q, key):
        raw = q.get("max_result", [None])[0]
        size = int(self.cfg["page_size"])
        if raw is not None:
            try:
                n = int(raw)
            except ValueError:
                raise PortalError("InvalidRequestException", "Invalid max_result")
            if not 1 <= n <= 100:
                raise PortalError("InvalidRequestException", "max_result must be between 1 and 100")
            size = min(size, n)
        tok = q.get("next_token", [""])[0]
        start = 0
        if tok:
            try:
                start = int(base64.urlsafe_b64decode(tok.encode()).decode().split(":", 1)[1])
            except Exception:  # noqa: BLE001 - any garbage is an invalid token
                raise PortalError("InvalidRequestException", "Invalid next_token")
        out = {key: items[start:start + size]}
        if start + size < len(items):
            out["nextToken"] = base64.urlsafe_b64encode(f"{key}:{start + size}".encode()).decode()
        return out

    def throttled(self, op):
        n = int((self.cfg.get("throttle") or {}).get(op, 0))
        if self.throttle_used.get(op, 0) < n:
            self.throttle_used[op] = self.throttle_used.get(op, 0) + 1
            raise PortalError("TooManyRequestsException", "Too many requests")

    def portal(self, op, q, headers):
        self.throttled(op)
        t = self.token(headers)
        if op == "Logout":
            t["revoked"] = True
            if t["refresh"] in self.refresh_tokens:
                self.refresh_tokens[t["refresh"]]["revoked"] = True
            return None
        if op == "ListAccounts":
            items = [{"accountId": a["id"], "accountName": a["name"], "emailAddress": a["email"]}
                     for a in self.accounts]
            return self.page(items, q, "accountList")
        aid = q.get("account_id", [None])[0]
        if not aid:
            raise PortalError("InvalidRequestException", "account_id is required")
        a = self.account(aid)
        if op == "ListAccountRoles":
            items = [{"roleName": r, "accountId": aid} for r in a["roles"]]
            return self.page(items, q, "roleList")
        role = q.get("role_name", [None])[0]
        if not role:
            raise PortalError("InvalidRequestException", "role_name is required")
        creds = a["roles"].get(role)
        if creds is None or creds.get("forbidden"):
            raise PortalError("ForbiddenException", "No access")
        digest = hashlib.sha1(f"{aid}/{role}".encode()).hexdigest().upper()
        rc = {"accessKeyId": creds.get("access_key_id") or "ASIA" + digest[:16],
              "secretAccessKey": creds.get("secret_access_key") or "fakesecret" + digest[:30],
              "expiration": int(time.time() * 1000) + int(self.cfg["role_credentials_lifetime"]) * 1000}
        if "session_token" not in creds:
            rc["sessionToken"] = "fakesessiontoken-" + digest
        elif creds["session_token"] is not None:
            rc["sessionToken"] = creds["session_token"]
        return {"roleCredentials": rc}

    # ---- routing -----------------------------------------------------------------------
    def route(self, method, path):
        table = {("POST", "/client/register"): "RegisterClient",
                 ("POST", "/device_authorization"): "StartDeviceAuthorization",
                 ("POST", "/token"): "CreateToken",
                 ("GET", "/authorize"): "Authorize",
                 ("GET", "/device"): "VerifyDevice",
                 ("GET", "/assignment/accounts"): "ListAccounts",
                 ("GET", "/assignment/roles"): "ListAccountRoles",
                 ("GET", "/federation/credentials"): "GetRoleCredentials",
                 ("POST", "/logout"): "Logout"}
        return table.get((method, path.rstrip("/") or "/"))

    def handle(self, op, q, headers, body):
        if op == "RegisterClient":
            return self.register_client(body)
        if op == "StartDeviceAuthorization":
            return self.start_device_authorization(body)
        if op == "CreateToken":
            return self.create_token(body)
        if op == "Authorize":
            return self.authorize(q)
        if op == "VerifyDevice":
            return self.verify_device(q)
        return self.portal(op, q, headers)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", help="JSON file: accounts, roles, credentials, options")
    ap.add_argument("--log", help="appends one JSON line per request")
    ap.add_argument("--port", type=int, default=0)
    a = ap.parse_args()
    cfg = {}
    if a.config:
        with open(a.config) as f:
            cfg = json.load(f)
    holder = {}
    double = Double(cfg, a.log, lambda: f"http://127.0.0.1:{holder['port']}")
    log_lock = threading.Lock()

    def log(entry):
        if not a.log:
            return
        with log_lock, open(a.log, "a") as f:
            f.write(json.dumps(entry) + "\n")

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _send(self, status, obj=None, error_type=None, reply=None):
            if reply is not None:
                data = reply.text.encode()
                ctype = "text/html; charset=utf-8"
            elif obj is None:
                data, ctype = b"", "application/json"
            else:
                data, ctype = json.dumps(obj).encode(), "application/json"
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
            if reply is not None and reply.location:
                self.send_header("Location", reply.location)
            if error_type:
                self.send_header("x-amzn-ErrorType", error_type)
            self.end_headers()
            self.wfile.write(data)

        def _do(self, method):
            started = time.time()
            u = urllib.parse.urlsplit(self.path)
            q = urllib.parse.parse_qs(u.query, keep_blank_values=True)
            n = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(n) if n else b""
            headers = {k.lower(): v for k, v in self.headers.items()}
            if u.path == "/_state" and method == "GET":
                with double.lock:
                    return self._send(200, double.state())
            if u.path == "/_calls" and method == "GET":
                with double.lock:
                    calls = list(double.calls)
                return self._send(200, calls if q.get("detail") else [c["op"] for c in calls])
            if u.path == "/_control" and method == "POST":
                with double.lock:
                    return self._send(200, double.control(json.loads(raw or b"{}")))
            op = double.route(method, u.path)
            if op is None:
                log({"time": started, "method": method, "path": u.path, "query": q,
                     "headers": headers, "body": raw.decode(errors="replace"), "op": None,
                     "status": 404})
                return self._send(404, {"message": "Not Found"}, "UnknownOperationException")
            portal = op in PORTAL_OPS
            with double.lock:
                for k in ("all", "portal") if portal else ("all",):
                    double.in_flight[k] += 1
                    double.max_in_flight[k] = max(double.max_in_flight[k], double.in_flight[k])
            try:
                delay = double.cfg.get("portal_delay_ms" if portal else "oidc_delay_ms") or 0
                if delay:
                    time.sleep(delay / 1000)  # outside the lock: concurrent calls overlap
                status, error, out, reply = 200, None, None, None
                try:
                    body = json.loads(raw) if raw else {}
                    if not isinstance(body, dict):
                        raise ValueError("not an object")
                except ValueError:
                    body = None
                with double.lock:
                    try:
                        if body is None:
                            raise (PortalError("InvalidRequestException", "Malformed JSON body") if portal
                                   else OidcError("InvalidRequestException", "Malformed JSON body"))
                        res = double.handle(op, q, headers, body)
                        if isinstance(res, Reply):
                            reply, status = res, res.status
                        else:
                            out = res
                    except (OidcError, PortalError) as e:
                        status, error, out = e.status, e.code, e.body()
                    except Exception as e:  # noqa: BLE001 - a bug in the double: say so
                        status, error = 500, "InternalServerException"
                        out = {"error": "server_error", "error_description": repr(e), "message": repr(e)}
                    double.record(op, status, error)
            finally:
                with double.lock:
                    for k in ("all", "portal") if portal else ("all",):
                        double.in_flight[k] -= 1
            log({"time": started, "method": method, "path": u.path, "query": q, "headers": headers,
                 "body": body if body is not None else raw.decode(errors="replace"), "op": op,
                 "status": status, "error": error,
                 "response": out if reply is None else {"location": reply.location, "text": reply.text},
                 "ms": round((time.time() - started) * 1000, 1)})
            self._send(status, out, error, reply)

        def do_GET(self):
            self._do("GET")

        def do_POST(self):
            self._do("POST")

    # a deep accept queue: the client may list hundreds of accounts at once
    ThreadingHTTPServer.request_queue_size = 512
    srv = ThreadingHTTPServer(("127.0.0.1", a.port), H)
    srv.daemon_threads = True
    holder["port"] = srv.server_address[1]
    print(holder["port"], flush=True)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    # exit when the test that started us goes away
    try:
        sys.stdin.read()
    finally:
        os._exit(0)


if __name__ == "__main__":
    main()
