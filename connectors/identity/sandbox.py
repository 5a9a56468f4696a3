"""The national identity sandbox: a small but real OpenID Connect provider, standing in for
VNeID behind the national public service portal's single sign-on.

It publishes a discovery document and its keys (an RSA key made in memory at start), shows
an authorize page in Vietnamese (ID number, password, and the one-time code of a level-2
account, checked against connectors/sandbox_people.yaml), exchanges a code for tokens only
for the right client, redirect URI and PKCE (S256) verifier, signs the id_token (RS256) and
answers userinfo.

Faults of its own, for the tests (``fault``, or ``POST /_sandbox/fault``):

- ``"bad-signature"``: the id_token is signed with another key under the published kid;
- ``"wrong-issuer"``: the id_token names another issuer.

Options: ``client_id``, ``client_secret``, ``redirect_uris`` (the allow-list; without it,
any URI under ``motcua_url`` or on loopback), and the claim names (``id_number_claim``, ``level_claim``).
"""

from __future__ import annotations

import base64
import hashlib
import html
import secrets
import time
import urllib.parse
from typing import Any

from joserfc import jwt
from joserfc.jwk import RSAKey

from connectors.sandbox import Request, Response, Sandbox, people, register

CLIENT_ID = "motcua-sandbox"
CLIENT_SECRET = "motcua-sandbox-secret"  # noqa: S105 - the sandbox's, known to all
CODE_SECONDS = 120
TOKEN_SECONDS = 600


def _sub(id_number: str) -> str:
    # A pairwise-looking subject, not the ID number itself: the ID number is a claim of its
    # own (as the real portal sends it), so motcua must read it from the configured claim.
    return "vneid-" + hashlib.sha256(f"sandbox:{id_number}".encode()).hexdigest()[:20]


@register
class IdentitySandbox(Sandbox):
    name = "identity"
    port_offset = 0

    def __init__(self, **options: Any):
        super().__init__(**options)
        self.client_id = options.get("client_id", CLIENT_ID)
        self.client_secret = options.get("client_secret", CLIENT_SECRET)
        self.redirect_uris: list[str] | None = options.get("redirect_uris")
        self.id_number_claim = options.get("id_number_claim", "citizen_id")
        self.level_claim = options.get("level_claim", "identity_level")
        self.kid = "sandbox-" + secrets.token_hex(4)
        self.key = RSAKey.generate_key(
            2048, parameters={"kid": self.kid, "use": "sig", "alg": "RS256"}, private=True
        )
        self.codes: dict[str, dict] = {}
        self.tokens: dict[str, dict] = {}

    # --- the published parts ---
    def discovery(self) -> dict:
        base = self.url
        return {
            "issuer": base,
            "authorization_endpoint": f"{base}/authorize",
            "token_endpoint": f"{base}/token",
            "userinfo_endpoint": f"{base}/userinfo",
            "jwks_uri": f"{base}/jwks",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
            "scopes_supported": ["openid", "profile", "email"],
            "claims_supported": [
                "sub",
                "name",
                "birthdate",
                "email",
                self.id_number_claim,
                self.level_claim,
            ],
        }

    def route(self, request: Request) -> Response | None:
        path, method = request.path, request.method
        if path == "/.well-known/openid-configuration" and method == "GET":
            return Response.json(self.discovery())
        if path == "/jwks" and method == "GET":
            return Response.json({"keys": [self.key.as_dict(private=False)]})
        if path == "/authorize" and method == "GET":
            return self.authorize_page(request.query)
        if path == "/authorize" and method == "POST":
            return self.authorize_submit(request.form())
        if path == "/token" and method == "POST":
            return self.token(request)
        if path == "/userinfo" and method in ("GET", "POST"):
            return self.userinfo(request)
        return None

    # --- authorize ---
    def _check_authorize(self, params: dict[str, str]) -> str:
        """What is wrong with an authorization request, or "" (RFC 6749 4.1.2.1: a wrong
        client or redirect URI is shown here, never redirected to)."""
        if params.get("client_id") != self.client_id:
            return "Ứng dụng (client_id) chưa được đăng ký."
        redirect_uri = params.get("redirect_uri", "")
        if self.redirect_uris is not None:
            allowed = redirect_uri in self.redirect_uris
        else:
            # The demo's sandbox: motcua's own address, or any on this machine (the demo is
            # opened as localhost or 127.0.0.1). A real server allow-lists exact URIs.
            base = self.options.get("motcua_url", "")
            host = urllib.parse.urlsplit(redirect_uri).hostname or ""
            allowed = (bool(base) and redirect_uri.startswith(base.rstrip("/") + "/")) or (
                host in ("127.0.0.1", "localhost", "::1")
            )
        if not allowed:
            return "Địa chỉ quay về (redirect_uri) không nằm trong danh sách đã đăng ký."
        if params.get("response_type") != "code":
            return "Chỉ hỗ trợ response_type=code."
        if "openid" not in params.get("scope", "").split():
            return "Thiếu phạm vi (scope) openid."
        if params.get("code_challenge_method") != "S256" or not params.get("code_challenge"):
            return "Yêu cầu PKCE (code_challenge, phương thức S256)."
        return ""

    def _page(self, params: dict[str, str], error: str = "", id_number: str = "") -> Response:
        keep = (
            "client_id",
            "redirect_uri",
            "response_type",
            "scope",
            "state",
            "code_challenge",
            "code_challenge_method",
            "nonce",
        )
        hidden = "".join(
            f'<input type="hidden" name="{k}" value="{html.escape(params.get(k, ""))}">'
            for k in keep
            if k in params
        )
        alert = f'<p role="alert" class="error">{html.escape(error)}</p>' if error else ""
        body = f"""<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><title>VNeID (giả lập) – Đăng nhập</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body>
<main>
<h1>Đăng nhập bằng tài khoản định danh điện tử</h1>
<p>Hệ thống giả lập VNeID dành cho thử nghiệm. Không dùng thông tin thật.</p>
{alert}
<form method="post" action="/authorize">
{hidden}
<p><label for="id_number">Số định danh cá nhân</label><br>
<input id="id_number" name="id_number" inputmode="numeric" autocomplete="username" value="{html.escape(id_number)}" required></p>
<p><label for="password">Mật khẩu</label><br>
<input id="password" name="password" type="password" autocomplete="current-password" required></p>
<p><label for="otp">Mã xác thực (OTP, tài khoản mức 2)</label><br>
<input id="otp" name="otp" inputmode="numeric" autocomplete="one-time-code"></p>
<p><button type="submit" name="action" value="login">Đăng nhập</button>
<button type="submit" name="action" value="cancel" formnovalidate>Huỷ</button></p>
</form>
</main></body></html>"""
        return Response.html(body, status=400 if error else 200)

    def authorize_page(self, params: dict[str, str]) -> Response:
        problem = self._check_authorize(params)
        if problem:
            return Response.html(f"<!doctype html><p>{html.escape(problem)}</p>", status=400)
        return self._page(params)

    def _back(self, params: dict[str, str], **values: str) -> Response:
        query = dict(values)
        if params.get("state"):
            query["state"] = params["state"]
        uri = params["redirect_uri"]
        separator = "&" if "?" in uri else "?"
        return Response.redirect(uri + separator + urllib.parse.urlencode(query))

    def authorize_submit(self, form: dict[str, str]) -> Response:
        problem = self._check_authorize(form)
        if problem:
            return Response.html(f"<!doctype html><p>{html.escape(problem)}</p>", status=400)
        if form.get("action") == "cancel":
            return self._back(form, error="access_denied")
        id_number = form.get("id_number", "").strip()
        person = next((p for p in people() if p["id_number"] == id_number), None)
        if person is None or form.get("password", "") != person["password"]:
            return self._page(form, "Số định danh hoặc mật khẩu không đúng.", id_number)
        if int(person.get("level", 1)) >= 2 and form.get("otp", "").strip() != str(person["otp"]):
            return self._page(form, "Mã xác thực (OTP) không đúng.", id_number)
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {
                "person": person,
                "client_id": form["client_id"],
                "redirect_uri": form["redirect_uri"],
                "code_challenge": form["code_challenge"],
                "scope": form.get("scope", "").split(),
                "nonce": form.get("nonce", ""),
                "expires": time.time() + CODE_SECONDS,
            }
        return self._back(form, code=code)

    # --- token and userinfo ---
    def _client(self, request: Request, form: dict[str, str]) -> tuple[str, str]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("basic "):
            try:
                raw = base64.b64decode(auth[6:]).decode()
            except ValueError:
                return "", ""
            client_id, _, secret = raw.partition(":")
            return urllib.parse.unquote(client_id), urllib.parse.unquote(secret)
        return form.get("client_id", ""), form.get("client_secret", "")

    def claims(self, person: dict, scope: list[str]) -> dict:
        birth = person.get("date_of_birth")
        claims = {
            "sub": _sub(person["id_number"]),
            "name": person["full_name"],
            "birthdate": birth.isoformat() if hasattr(birth, "isoformat") else str(birth or ""),
            self.id_number_claim: person["id_number"],
            self.level_claim: int(person.get("level", 1)),
        }
        if "email" in scope and person.get("email"):
            # VNeID's e-mail is declared by its holder, never checked by the state.
            claims["email"] = person["email"]
            claims["email_verified"] = False
        return claims

    def token(self, request: Request) -> Response:
        form = request.form()
        client_id, secret = self._client(request, form)
        if client_id != self.client_id or not secrets.compare_digest(secret, self.client_secret):
            return Response.json({"error": "invalid_client"}, status=401)
        if form.get("grant_type") != "authorization_code":
            return Response.json({"error": "unsupported_grant_type"}, status=400)
        with self.lock:
            grant = self.codes.pop(form.get("code", ""), None)  # a code is used once
        if grant is None or grant["expires"] < time.time() or grant["client_id"] != client_id:
            return Response.json({"error": "invalid_grant"}, status=400)
        if form.get("redirect_uri") != grant["redirect_uri"]:
            return Response.json(
                {"error": "invalid_grant", "error_description": "redirect_uri"}, status=400
            )
        verifier = form.get("code_verifier", "")
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        if not verifier or not secrets.compare_digest(challenge, grant["code_challenge"]):
            return Response.json(
                {"error": "invalid_grant", "error_description": "code_verifier"}, status=400
            )
        now = int(time.time())
        claims = self.claims(grant["person"], grant["scope"])
        id_claims = {
            **claims,
            "iss": "https://wrong-issuer.invalid" if self.fault == "wrong-issuer" else self.url,
            "aud": client_id,
            "iat": now,
            "exp": now + TOKEN_SECONDS,
            "auth_time": now,
            "jti": secrets.token_hex(8),
            "acr": f"vneid-level-{claims[self.level_claim]}",
        }
        if grant["nonce"]:
            id_claims["nonce"] = grant["nonce"]
        key = self.key
        if self.fault == "bad-signature":
            key = RSAKey.generate_key(2048, parameters={"kid": self.kid}, private=True)
        id_token = jwt.encode({"alg": "RS256", "kid": self.kid, "typ": "JWT"}, id_claims, key)
        access_token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[access_token] = {"claims": claims, "expires": now + TOKEN_SECONDS}
        return Response.json(
            {
                "access_token": access_token,
                "token_type": "Bearer",
                "expires_in": TOKEN_SECONDS,
                "id_token": id_token,
                "scope": " ".join(grant["scope"]),
            },
            **{"Cache-Control": "no-store"},
        )

    def userinfo(self, request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        token = auth[7:] if auth.lower().startswith("bearer ") else ""
        with self.lock:
            grant = self.tokens.get(token)
        if grant is None or grant["expires"] < time.time():
            return Response.json({"error": "invalid_token"}, status=401)
        return Response.json(grant["claims"])
