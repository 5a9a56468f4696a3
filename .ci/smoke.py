"""Production-mode smoke test, run by .ci/smoke against gunicorn, a worker and beat.

It makes one account of each kind in the database the servers use, then, over HTTP as a
browser behind the TLS proxy would, signs in as each through the real login (a second
factor for staff when the login asks for one) and requests their main pages. Every page
must answer 200 with the security headers; afterwards the web log must hold none of the
secrets the requests carried.

Usage: python .ci/smoke.py BASE_URL WORK_DIR
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import struct
import sys
import time
from pathlib import Path

import requests

BASE, WORK = sys.argv[1].rstrip("/"), Path(sys.argv[2])
PASSWORD = "Smoke-test-password-2026"  # noqa: S105 - an account made for this run only
TOTP_SECRET = base64.b32encode(os.urandom(20)).decode()
PROCEDURE = "1.012841"

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def make_accounts() -> dict[str, str]:
    """username -> kind; staff get a TOTP authenticator when allauth's MFA is installed."""
    import django

    django.setup()
    from django.apps import apps
    from django.contrib.auth import get_user_model

    from procedures.models import Agency, OfficerRole
    from security.accounts import account_email_vouched

    User = get_user_model()
    kinds = {
        "smoke-citizen": "citizen",
        "smoke-reception": "reception",
        "smoke-specialist": "specialist",
        "smoke-head": "head",
        "smoke-signer": "signer",
        "smoke-supervisor": "supervisor",
        "smoke-admin": "admin",
    }
    for username, kind in kinds.items():
        user = User.objects.create_user(
            username=username, email=f"{username}@example.gov.vn", password=PASSWORD
        )
        account_email_vouched(user)
        if kind == "admin":
            user.is_staff = user.is_superuser = True
            user.save()
        elif kind != "citizen":
            agency = Agency.objects.get(code="G16" if kind == "supervisor" else "H22")
            OfficerRole.objects.create(user=user, agency=agency, role=kind)
        if kind != "citizen" and apps.is_installed("allauth.mfa"):
            from allauth.mfa.totp.internal.auth import TOTP

            TOTP.activate(user, TOTP_SECRET)
    return kinds


def totp(secret: str, at: float | None = None) -> str:
    """RFC 6238, 30-second steps, 6 digits: what an authenticator app shows."""
    counter = int((at or time.time()) // 30)
    digest = hmac.new(base64.b32decode(secret), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    return f"{value % 1_000_000:06d}"


class Browser(requests.Session):
    """A browser behind the TLS proxy: the proxy speaks HTTPS to the browser and HTTP to
    gunicorn, and this client stands where the proxy is, so it sends back the Secure
    cookies the browser would (requests keeps them for https URLs only)."""

    def send(self, request, **kwargs):
        response = super().send(request, **kwargs)
        for cookie in self.cookies:
            cookie.secure = False
        return response


def browser() -> requests.Session:
    session = Browser()
    session.headers.update({"X-Forwarded-Proto": "https", "Accept-Language": "vi"})
    return session


def csrf(session: requests.Session, url: str) -> str:
    page = session.get(url, timeout=30)
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert match, f"no CSRF token on {url} ({page.status_code})"
    return match.group(1)


def post_form(session: requests.Session, path: str, data: dict) -> requests.Response:
    url = BASE + path
    token = csrf(session, url)
    return session.post(
        url, data={"csrfmiddlewaretoken": token, **data}, headers={"Referer": url.replace("http://", "https://", 1)}, timeout=30
    )


def sign_in(session: requests.Session, username: str) -> None:
    response = post_form(session, "/accounts/login/", {"login": username, "password": PASSWORD})
    assert response.status_code == 200, (username, response.status_code)
    if "/2fa/authenticate" in response.url:
        response = post_form(session, "/accounts/2fa/authenticate/", {"code": totp(TOTP_SECRET)})
    assert "/accounts/login" not in response.url, f"{username} is not signed in: {response.url}"


PAGES = {
    "anonymous": ["/", f"/procedures/{PROCEDURE}/", "/lookup/", "/verify/", "/accounts/login/"],
    "citizen": ["/me/dossiers/", "/me/profile/", f"/procedures/{PROCEDURE}/apply/"],
    "reception": ["/workspace/queue/", "/workspace/inbox/", "/workspace/file/"],
    "specialist": ["/workspace/queue/", "/workspace/done/"],
    "head": ["/workspace/queue/", "/workspace/team/", "/workspace/dashboard/"],
    "signer": ["/workspace/inbox/", "/workspace/certificate/"],
    "supervisor": ["/workspace/team/", "/workspace/dashboard/", "/workspace/service-index/"],
    "admin": ["/admin/", "/admin/workflows/dossier/", "/admin/procedures/procedure/"],
}


def check(session: requests.Session, kind: str, path: str, failures: list[str]) -> None:
    response = session.get(BASE + path, timeout=60, allow_redirects=False)
    csp = response.headers.get("Content-Security-Policy", "")
    if response.status_code != 200:
        failures.append(f"{kind} {path}: {response.status_code} {response.headers.get('Location', '')}")
    elif "unsafe-inline" in csp or "default-src 'self'" not in csp:
        failures.append(f"{kind} {path}: Content-Security-Policy {csp!r}")
    elif "Permissions-Policy" not in response.headers:
        failures.append(f"{kind} {path}: no Permissions-Policy")
    else:
        print(f"ok  {response.status_code} {kind:<10} {path}")


def main() -> int:
    kinds = make_accounts()
    failures: list[str] = []
    anonymous = browser()
    for path in PAGES["anonymous"]:
        check(anonymous, "anonymous", path, failures)
    # The stylesheet the pages name, by its hashed name from the manifest.
    home = anonymous.get(BASE + "/", timeout=30).text
    css = re.search(r'href="(/static/css/motcua\.[0-9a-f]{12}\.css)"', home)
    if not css or anonymous.get(BASE + css.group(1), timeout=30).status_code != 200:
        failures.append("the hashed stylesheet is not served")
    missing = anonymous.get(BASE + "/no-such-page/", timeout=30)
    if missing.status_code != 404 or "Không tìm thấy" not in missing.text:
        failures.append(f"the 404 page: {missing.status_code}")
    # Secrets carried in a path and a query string, which the web log must not keep.
    secret_code, secret_query = "SMOKE7CODE9", "SMOKE-SECRET-4711"
    anonymous.get(f"{BASE}/verify/{secret_code}/", timeout=30)
    anonymous.get(f"{BASE}/lookup/?code=H22-261129-0001&secret={secret_query}", timeout=30)

    for username, kind in kinds.items():
        session = browser()
        try:
            sign_in(session, username)
        except AssertionError as exc:
            failures.append(str(exc))
            continue
        for path in PAGES[kind]:
            check(session, kind, path, failures)

    # Health, metrics and logs: the readiness probe in plain HTTP with a pod's address as
    # Host (every service answers, RabbitMQ among them), /metrics from loopback across
    # gunicorn's two workers, and the request id in gunicorn's JSON access line.
    probe = requests.get(
        BASE + "/health/ready",
        headers={"Host": "10.42.0.17:8000", "X-Request-ID": "smoke-probe-0001"},
        timeout=30,
    )
    if probe.status_code != 200 or probe.json().get("status") not in ("ok", "warning"):
        failures.append(f"/health/ready: {probe.status_code} {probe.text[:300]}")
    metrics = requests.get(BASE + "/metrics", timeout=30)
    for family in ("django_http_requests_latency_seconds_by_view_method", "motcua_outbox_backlog"):
        if metrics.status_code != 200 or family not in metrics.text:
            failures.append(f"/metrics lacks {family} ({metrics.status_code})")

    time.sleep(1)  # gunicorn writes its access lines after each response
    web_log = (WORK / "web.log").read_text()
    access = [line for line in web_log.splitlines() if "gunicorn.access" in line]
    if not any('"request_id": "smoke-probe-0001"' in line for line in access):
        failures.append("gunicorn's access line lacks the request id")
    for secret in (secret_code, secret_query, PASSWORD, TOTP_SECRET):
        if secret in web_log:
            failures.append(f"the web log holds a secret: {secret}")
    if "Traceback" in web_log:
        failures.append("the web log holds a traceback")
    for failure in failures:
        print(f"FAIL {failure}")
    print(f"smoke: {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
