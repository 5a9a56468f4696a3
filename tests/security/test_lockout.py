"""Failed logins count per account, typed as a username or an e-mail address; the lock
holds even against the right password, ends after its period, and its owner is told."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from security.models import EventKind, SecurityEvent
from tests.conftest import make_user
from tests.security import vouched

PASSWORD = "x-Pass-123!"
WRONG = "wrong-password-1"
LOCKED_VI = "Tài khoản này đang bị khóa"


@pytest.fixture
def owner(db):
    return vouched(make_user("lan"), email="Lan.Nguyen@example.org")


def attempt(client, login, password=WRONG):
    return client.post(reverse("account_login"), {"login": login, "password": password})


def test_username_and_email_failures_count_together(client, owner, settings):
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 5}
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "100/m/ip,5/5m/key"}
    for login in ("lan", "LAN", "lan.nguyen@example.org"):
        assert attempt(client, login).status_code == 200
    assert not SecurityEvent.objects.filter(kind=EventKind.LOCKED).exists()
    for login in ("Lan.Nguyen@example.org", "lan"):
        response = attempt(client, login)
    assert LOCKED_VI in response.content.decode()
    assert SecurityEvent.objects.filter(user=owner, kind=EventKind.LOGIN_FAILED).count() == 5
    assert SecurityEvent.objects.filter(user=owner, kind=EventKind.LOCKED).count() == 1

    # The right password opens nothing while the lock holds, however it is typed.
    for login in ("lan", "lan.nguyen@example.org"):
        response = attempt(client, login, PASSWORD)
        assert response.status_code == 200
        assert LOCKED_VI in response.content.decode()
        assert "_auth_user_id" not in client.session
    assert SecurityEvent.objects.filter(kind=EventKind.LOGIN_REFUSED_LOCKED).count() == 2


def test_the_owner_is_told_by_email_in_vietnamese_and_english(
    client, owner, settings, django_capture_on_commit_callbacks
):
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 3}
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(3):
            attempt(client, "lan", "hunter2-secret-guess")
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["Lan.Nguyen@example.org"]
    assert "Tài khoản của bạn đã bị khóa" in message.subject
    assert "Your account was locked" in message.subject
    assert "bị khóa trong 30 phút" in message.body
    assert "locked for 30 minutes" in message.body
    # Nothing secret: no password typed, no link with a token.
    assert "hunter2" not in message.body
    assert "/accounts/password/reset/key/" not in message.body
    # Further failures while locked send nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        attempt(client, "lan")
    assert len(mail.outbox) == 1


def test_the_lock_ends_after_its_period(client, owner, settings):
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 3}
    settings.ACCOUNT_RATE_LIMITS = {"login_failed": "100/m/ip"}
    start = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            attempt(client, "lan")
        clock.shift(dt.timedelta(minutes=29))
        assert LOCKED_VI in attempt(client, "lan", PASSWORD).content.decode()
        clock.shift(dt.timedelta(minutes=2))
        assert attempt(client, "lan", PASSWORD).status_code == 302
        assert client.session["_auth_user_id"] == str(owner.pk)


def test_failures_spread_beyond_the_window_do_not_lock(client, owner, settings):
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 3}
    start = dt.datetime(2026, 5, 4, 9, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(4):
            attempt(client, "lan")
            clock.shift(dt.timedelta(minutes=8))
    assert not SecurityEvent.objects.filter(kind=EventKind.LOCKED).exists()


def test_unknown_logins_lock_nothing(client, db, settings):
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 2}
    for _ in range(3):
        assert attempt(client, "nobody@example.org").status_code == 200
    assert not SecurityEvent.objects.filter(kind=EventKind.LOCKED).exists()
    assert SecurityEvent.objects.filter(kind=EventKind.LOGIN_FAILED, user=None).count() == 3
    assert mail.outbox == []


def test_a_megabyte_login_is_a_form_error(client, db, caplog):
    caplog.set_level(logging.DEBUG)
    response = client.post(
        reverse("account_login"), {"login": "a" * 1_000_000, "password": "whatever-123"}
    )
    assert response.status_code == 200
    errors = response.context["form"].errors["login"]
    assert any("254" in error for error in errors)
    assert all(len(record.getMessage()) < 1000 for record in caplog.records)
    assert not SecurityEvent.objects.exists()  # never reached authentication


def test_a_password_reset_by_email_ends_the_lock(client, owner, settings):
    import re

    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 2}
    for _ in range(2):
        attempt(client, "lan")
    assert LOCKED_VI in attempt(client, "lan", PASSWORD).content.decode()
    mail.outbox.clear()
    client.post(reverse("account_reset_password"), {"email": "lan.nguyen@example.org"})
    link = re.search(r"https?://testserver(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body)
    form = client.get(link.group(1), follow=True)
    new_password = "Mật-khẩu-mới-2026"
    done = client.post(
        form.redirect_chain[-1][0] if form.redirect_chain else link.group(1),
        {"password1": new_password, "password2": new_password},
    )
    assert done.status_code == 302
    assert SecurityEvent.objects.filter(user=owner, kind=EventKind.PASSWORD_RESET).exists()
    assert attempt(client, "lan", new_password).status_code == 302
