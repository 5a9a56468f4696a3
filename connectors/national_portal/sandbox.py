"""The national portal's sandbox: takes dossier pushes as the portal would, and shows what
it took.

- ``POST /token`` (form: grant_type=client_credentials, client_id, client_secret): an
  access token (``expires_in`` seconds); wrong credentials 401.
- ``POST /dossiers/sync`` (JSON, ``Authorization: Bearer <token>`` or the key header):
  checks the body's shape under the portal's field names (``fields``) and answers
  ``{"error_code": "0", "message": ...}``, or a non-zero code naming what is wrong;
  without valid credentials 401.
- ``GET /dossiers/<code>``: every status accepted for that dossier, in the order received
  (JSON); ``GET /``: the same for every dossier, as a small page.

Faults (besides the common ``down``, ``slow:N``, ``malformed``): ``refuse`` answers every
push with error code "99" and a message, as a portal that will not take the dossier.
"""

from __future__ import annotations

import html
import secrets
import time

from connectors.sandbox import Request, Response, Sandbox, register

from . import fields

F = fields.DEFAULT_FIELDS
REQUIRED_TEXT = ("dossier_code", "procedure_code", "applicant_name")
DATES = ("submitted_at", "received_at", "due_at", "status_at", "closed_at")
FLAGS = {"components": ("digitised", "reused"), "results": ("digitised", "reused")}


def shape_errors(body) -> list[str]:
    """What is wrong with a push, in the portal's names (empty: nothing)."""
    if not isinstance(body, dict):
        return ["body: not a JSON object"]
    errors = []
    for key in REQUIRED_TEXT:
        value = body.get(F[key])
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{F[key]}: required")
    status = body.get(F["status"])
    if type(status) is not int or not 1 <= status <= 10:
        errors.append(f"{F['status']}: a national status from 1 to 10")
    if body.get(F["channel"]) not in fields.CHANNEL_CODES.values():
        errors.append(f"{F['channel']}: unknown channel")
    if body.get(F["applicant_type"]) not in fields.APPLICANT_TYPE_CODES.values():
        errors.append(f"{F['applicant_type']}: unknown applicant type")
    if body.get(F["identity_verified"]) not in (0, 1):
        errors.append(f"{F['identity_verified']}: 0 or 1")
    if fields.parse_portal_date(body.get(F["status_at"])) is None:
        errors.append(f"{F['status_at']}: required, yyyyMMddHHmmss")
    for key in DATES:
        value = body.get(F[key])
        if value is not None and fields.parse_portal_date(value) is None:
            errors.append(f"{F[key]}: yyyyMMddHHmmss")
    for key, flags in FLAGS.items():
        items = body.get(F[key])
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            errors.append(f"{F[key]}: a list of objects")
            continue
        for item in items:
            for flag in flags:
                if item.get(F[f"{key}.{flag}"]) not in (0, 1):
                    errors.append(f"{F[key]}.{F[f'{key}.{flag}']}: 0 or 1")
    fees = body.get(F["fees"])
    if not isinstance(fees, list):
        errors.append(f"{F['fees']}: a list")
    else:
        for fee in fees:
            if not isinstance(fee, dict) or type(fee.get(F["fees.amount"])) is not int:
                errors.append(f"{F['fees']}.{F['fees.amount']}: an amount in VND")
    return errors


@register
class NationalPortalSandbox(Sandbox):
    name = "national_portal"
    port_offset = 2

    def __init__(self, **options):
        super().__init__(**options)
        self.client_id = options.get("client_id", "motcua-sandbox")
        self.client_secret = options.get("client_secret", "sandbox-secret")
        self.api_key = options.get("api_key", "sandbox-key")
        self.token_lifetime = int(options.get("token_lifetime", 3600))
        self.tokens: dict[str, float] = {}
        # Per dossier code, every accepted push in the order it came.
        self.dossiers: dict[str, list[dict]] = {}

    # --- what the portal does ---

    def route(self, request: Request) -> Response | None:
        if request.path == "/token" and request.method == "POST":
            return self._token(request)
        if request.path == "/dossiers/sync" and request.method == "POST":
            return self._push(request)
        if request.path.startswith("/dossiers/") and request.method == "GET":
            code = request.path.removeprefix("/dossiers/")
            with self.lock:
                pushes = list(self.dossiers.get(code, []))
            if not pushes:
                return Response.json({"error_code": "404", "message": "Không có hồ sơ"}, 404)
            return Response.json({"code": code, "statuses": pushes})
        if request.path == "/" and request.method == "GET":
            return Response.html(self._page())
        return None

    def _token(self, request: Request) -> Response:
        form = request.form()
        if (
            form.get("grant_type") != "client_credentials"
            or form.get("client_id") != self.client_id
            or form.get("client_secret") != self.client_secret
        ):
            return Response.json({"error": "invalid_client"}, 401)
        token = secrets.token_urlsafe(24)
        with self.lock:
            self.tokens[token] = time.monotonic() + self.token_lifetime
        return Response.json(
            {"access_token": token, "token_type": "Bearer", "expires_in": self.token_lifetime}
        )

    def _authorised(self, request: Request) -> bool:
        if request.headers.get("x-api-key") == self.api_key:
            return True
        scheme, _sep, token = request.headers.get("authorization", "").partition(" ")
        with self.lock:
            expires = self.tokens.get(token)
        return scheme == "Bearer" and expires is not None and expires > time.monotonic()

    def expire_tokens(self) -> None:
        """As a portal that restarted: every token given so far is refused."""
        with self.lock:
            self.tokens.clear()

    def _push(self, request: Request) -> Response:
        if not self._authorised(request):
            return Response.json({"error_code": "401", "message": "Chưa xác thực"}, 401)
        try:
            body = request.json()
        except ValueError:
            return Response.json({"error_code": "1", "message": "Dữ liệu không phải JSON"})
        if self.fault == "refuse":
            return Response.json(
                {"error_code": "99", "message": "Cổng DVCQG từ chối hồ sơ (sandbox)"}
            )
        errors = shape_errors(body)
        if errors:
            return Response.json(
                {"error_code": "2", "message": "Dữ liệu không hợp lệ: " + "; ".join(errors)}
            )
        with self.lock:
            self.dossiers.setdefault(body[F["dossier_code"]], []).append(body)
        return Response.json({"error_code": "0", "message": "Đồng bộ thành công"})

    # --- for tests and people ---

    def statuses(self, code: str) -> list[int]:
        with self.lock:
            return [push[F["status"]] for push in self.dossiers.get(code, [])]

    def _page(self) -> str:
        with self.lock:
            dossiers = {code: list(pushes) for code, pushes in self.dossiers.items()}
        rows = "".join(
            f"<tr><td><a href='/dossiers/{html.escape(code)}'>{html.escape(code)}</a></td>"
            f"<td>{' → '.join(str(p[F['status']]) for p in pushes)}</td>"
            f"<td>{html.escape(str(pushes[-1][F['status_at']]))}</td></tr>"
            for code, pushes in sorted(dossiers.items())
        )
        return (
            "<!doctype html><html lang='vi'><meta charset='utf-8'>"
            "<title>Cổng DVCQG (sandbox)</title><h1>Cổng DVCQG (sandbox): hồ sơ đã nhận</h1>"
            "<table border='1'><tr><th>Mã hồ sơ</th><th>Trạng thái đã nhận</th>"
            f"<th>Cập nhật lần cuối</th></tr>{rows}</table></html>"
        )
