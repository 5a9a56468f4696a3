"""Staff security in a real browser: an officer's first login enrols an authenticator app,
the next asks for its code, nothing of the workspace or the admin opens without it, and
the admin's login locks an account after repeated failures."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator
from django.core import mail

from security import totp
from security.models import EventKind, SecurityEvent
from security.testing import unused_code
from tests.conftest import make_officer, make_user
from tests.security import vouched

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "x-Pass-123!"


def submit_password(page, base, username, password=PASSWORD, next_path="/workspace/"):
    page.goto(f"{base}{next_path}")
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    page.fill("#id_login", username)
    page.fill("#id_password", password)
    page.click("main button[type=submit]")


def test_first_login_enrols_totp_then_asks_for_a_code(page, live_server, province):
    officer = vouched(make_officer("reception", province))
    base = live_server.url

    # First login: a password, then the workspace is out of reach until an app is set up.
    submit_password(page, base, officer.username)
    page.wait_for_url(f"{base}/accounts/2fa/totp/activate/")
    for blocked in ("/workspace/", "/workspace/queue/", "/admin/"):
        page.goto(f"{base}{blocked}")
        assert page.url == f"{base}/accounts/2fa/totp/activate/", blocked
    assert page.locator(".qr svg").count() == 1
    secret = page.input_value("#authenticator_secret")
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    page.fill("#id_code", totp.code(secret, offset=10))  # five minutes away: wrong
    page.click("main button[type=submit]")
    assert page.url == f"{base}/accounts/2fa/totp/activate/"  # a wrong code enrols nothing
    assert not Authenticator.objects.filter(user=officer, type="totp").exists()
    page.fill("#id_code", unused_code(secret))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/accounts/2fa/recovery-codes/")
    assert Authenticator.objects.filter(user=officer, type="totp").exists()
    assert Authenticator.objects.filter(user=officer, type="recovery_codes").exists()
    page.click("#continue")
    page.wait_for_url(f"{base}/workspace/queue/")

    # Log out; the next login asks for the code before anything opens.
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_url(f"{base}/")
    submit_password(page, base, officer.username)
    page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
    for blocked in ("/workspace/queue/", "/admin/"):
        page.goto(f"{base}{blocked}")
        # Sent back to the login, which returns a half-finished login to its code.
        assert page.url.startswith(f"{base}/accounts/"), blocked
        assert page.locator("#id_password, #id_code").count() == 1
    page.goto(f"{base}/accounts/2fa/authenticate/")
    page.fill("#id_code", unused_code(secret))
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/(workspace/queue|admin)/$"))
    page.goto(f"{base}/workspace/queue/")
    assert page.url == f"{base}/workspace/queue/"
    assert page.locator("h1").count() == 1

    kinds = set(SecurityEvent.objects.filter(user=officer).values_list("kind", flat=True))
    assert {EventKind.LOGIN, EventKind.LOGOUT, EventKind.MFA_ENROLLED} <= kinds


def test_admin_login_locks_after_repeated_failures(page, live_server, settings, catalog):
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 3}
    admin = make_user("root", is_staff=True, is_superuser=True, email="root@example.org")
    base = live_server.url

    # /admin/ has no login page of its own: it sends people to the account login.
    page.goto(f"{base}/admin/")
    page.wait_for_url(f"{base}/accounts/login/?next=/admin/")
    for attempt, login in enumerate(["root", "root@example.org", "ROOT"], start=1):
        page.fill("#id_login", login)
        page.fill("#id_password", f"wrong-{attempt}")
        page.click("main button[type=submit]")
        page.wait_for_load_state()
    assert page.locator("text=tài khoản này đang bị khóa").count() >= 1
    # Locked: the right password does not open it either, by username or by e-mail.
    page.fill("#id_login", "root@example.org")
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_load_state()
    assert "/accounts/login/" in page.url
    assert page.locator("text=tài khoản này đang bị khóa").count() >= 1
    assert SecurityEvent.objects.filter(user=admin, kind=EventKind.LOCKED).count() == 1
    assert [m.to for m in mail.outbox] == [["root@example.org"]]
