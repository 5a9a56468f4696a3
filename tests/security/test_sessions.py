"""Passwords of at least 12 characters and not common; staff sessions: 30 minutes idle,
12 hours at most, ended with the browser (no "remember me"); citizens as before."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from security import totp
from security.models import EventKind, SecurityEvent
from security.testing import TEST_TOTP_SECRET, unused_code
from tests.conftest import make_officer, make_user, sign_in
from tests.security import vouched

PASSWORD = "x-Pass-123!"
START = dt.datetime(2026, 5, 4, 8, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("password", "ok"),
    [
        ("Nui-cao-42!", False),  # 11 characters
        ("Nui-cao-2026", True),  # 12
        ("password1234", False),  # on Django's list of common passwords
        ("qwertyuiop12", False),
    ],
)
def test_password_rules(password, ok, db):
    if ok:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_sign_up_refuses_a_short_password(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "pao@example.org",
            "username": "giangapao",
            "password1": "Suoi-sau-42",
            "password2": "Suoi-sau-42",
        },
    )
    assert response.status_code == 200
    assert "12" in " ".join(response.context["form"].errors.get("password1", []))


def test_staff_idle_timeout(client, province):
    officer = make_officer("reception", province)
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, officer)
        for _ in range(3):  # active: every 29 minutes, past the first half hour
            clock.shift(dt.timedelta(minutes=29))
            assert client.get("/workspace/queue/").status_code == 200
        clock.shift(dt.timedelta(minutes=31))
        response = client.get("/workspace/queue/")
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))
        assert "_auth_user_id" not in client.session
        assert client.get("/workspace/queue/").status_code == 302
    assert SecurityEvent.objects.filter(user=officer, kind=EventKind.SESSION_EXPIRED).count() == 1


def test_staff_absolute_limit(client, province):
    officer = make_officer("head", province)
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, officer)
        for _ in range(35):  # 35 x 20 minutes = 11 h 40 min, never idle
            clock.shift(dt.timedelta(minutes=20))
            assert client.get("/workspace/queue/").status_code == 200
        clock.shift(dt.timedelta(minutes=21))  # 12 h 1 min after login
        assert client.get("/workspace/queue/").status_code == 302
        assert "_auth_user_id" not in client.session


def test_citizens_keep_their_sessions(client, db):
    citizen = make_user()
    with time_machine.travel(START, tick=False) as clock:
        sign_in(client, citizen)
        clock.shift(dt.timedelta(hours=13))
        assert client.get("/me/dossiers/").status_code == 200


def test_no_remember_me_for_staff(client, province):
    officer = vouched(make_officer("specialist", province))
    totp.enrol(officer, TEST_TOTP_SECRET)
    client.post(
        reverse("account_login"),
        {"login": officer.username, "password": PASSWORD, "remember": "on"},
    )
    client.post(reverse("mfa_authenticate"), {"code": unused_code(TEST_TOTP_SECRET)})
    assert client.session.get_expire_at_browser_close()
    response = client.get("/workspace/queue/")
    assert response.status_code == 200
    cookie = client.cookies["sessionid"]
    assert not cookie["max-age"] and not cookie["expires"]


def test_citizens_may_be_remembered(client, db):
    citizen = vouched(make_user())
    client.post(
        reverse("account_login"),
        {"login": citizen.username, "password": PASSWORD, "remember": "on"},
    )
    assert client.session["_auth_user_id"] == str(citizen.pk)
    assert not client.session.get_expire_at_browser_close()
    assert client.cookies["sessionid"]["max-age"]
