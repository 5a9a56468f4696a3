"""A security key (WebAuthn) in a real browser, with Chromium's virtual authenticator: an
officer who has the authenticator app adds a key, logs out, and logs in with the password
and the key instead of a code. The page fixture fails the test on any Content-Security-
Policy violation: allauth's key pages run only its static scripts.

WebAuthn needs a secure context; http://localhost is one, and the live server is reached
as localhost, which is the relying party id allauth derives from the request's host."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.models import Authenticator

from security import totp
from security.models import EventKind, SecurityEvent
from security.testing import TEST_TOTP_SECRET, unused_code
from tests.conftest import make_officer
from tests.security import vouched

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "x-Pass-123!"


def password_then_second_factor_page(page, base, username):
    page.goto(f"{base}/workspace/queue/")
    page.wait_for_url(re.compile(r"/accounts/login/\?next="))
    page.fill("#id_login", username)
    page.fill("#id_password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/accounts/2fa/authenticate/")


def test_an_officer_adds_a_key_and_logs_in_with_it(page, live_server, province, axe):
    base = live_server.url.replace("127.0.0.1", "localhost")
    assert base.startswith("http://localhost:"), base
    officer = vouched(make_officer("reception", province))
    totp.enrol(officer, TEST_TOTP_SECRET)

    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator_id = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
            }
        },
    )["authenticatorId"]

    # Log in with the app's code, then add a key from the two-factor page.
    password_then_second_factor_page(page, base, officer.username)
    page.fill("#id_code", unused_code(TEST_TOTP_SECRET, officer.username))
    page.click("main button[type=submit]")
    page.wait_for_url(f"{base}/workspace/queue/")
    page.goto(f"{base}/accounts/2fa/")
    page.click("main a[href='/accounts/2fa/webauthn/add/']")
    page.wait_for_url(f"{base}/accounts/2fa/webauthn/add/")
    assert axe(page) == []
    page.fill("#id_name", "Khóa USB")
    page.click("#mfa_webauthn_add")
    page.wait_for_url(f"{base}/accounts/2fa/")
    key = Authenticator.objects.get(user=officer, type=Authenticator.Type.WEBAUTHN)
    assert key.wrap().name == "Khóa USB"
    credentials = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert len(credentials["credentials"]) == 1
    page.goto(f"{base}/accounts/2fa/webauthn/")
    assert page.locator("main", has_text="Khóa USB").count() == 1

    # Log out; log in again with the password and the key: no code typed.
    page.goto(f"{base}/workspace/queue/")
    page.click("header form[action='/accounts/logout/'] button")
    page.wait_for_url(f"{base}/")
    password_then_second_factor_page(page, base, officer.username)
    assert axe(page) == []
    page.click("#mfa_webauthn_authenticate")
    page.wait_for_url(f"{base}/workspace/queue/")
    page.goto(f"{base}/workspace/")
    page.wait_for_url(re.compile(r"/workspace/"))
    assert "/accounts/" not in page.url
    assert page.locator("h1").count() == 1

    key.refresh_from_db()
    assert key.last_used_at is not None
    enrolled = SecurityEvent.objects.filter(
        user=officer, kind=EventKind.MFA_ENROLLED, detail="webauthn"
    )
    assert enrolled.count() == 1
    assert SecurityEvent.objects.filter(user=officer, kind=EventKind.LOGIN).count() == 2
