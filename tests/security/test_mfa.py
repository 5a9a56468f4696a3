"""Staff two-factor authentication: enrolment forced on first login, the code asked at
every login, nothing of the workspace or the admin without it; citizens untouched; the
admin has no login page of its own; the demo's fixed secret and demo_totp."""

from __future__ import annotations

import pytest
from allauth.mfa.models import Authenticator
from django.core.management import CommandError, call_command
from django.urls import reverse

from security import totp
from security.models import EventKind, SecurityEvent
from security.testing import TEST_TOTP_SECRET, unused_code
from tests.conftest import make_officer, make_user, sign_in
from tests.security import vouched

PASSWORD = "x-Pass-123!"


def password_login(client, username, next_path="/workspace/"):
    return client.post(
        f"{reverse('account_login')}?next={next_path}",
        {"login": username, "password": PASSWORD},
    )


def test_first_login_must_enrol_before_the_workspace_or_admin(
    client, province, django_capture_on_commit_callbacks
):
    officer = vouched(make_officer("specialist", province))
    response = password_login(client, officer.username)
    assert response.status_code == 302
    for path in ("/workspace/", "/workspace/queue/", "/admin/", "/notifications/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"] == reverse("mfa_activate_totp"), path

    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = page.context["form"].secret
    assert b"<svg" in page.content and secret.encode() in page.content
    wrong = client.post(reverse("mfa_activate_totp"), {"code": totp.code(secret, offset=10)})
    assert wrong.status_code == 200 and wrong.context["form"].errors
    assert not Authenticator.objects.filter(user=officer).exists()

    with django_capture_on_commit_callbacks(execute=True):  # allauth signals on commit
        done = client.post(reverse("mfa_activate_totp"), {"code": unused_code(secret)})
    assert done.status_code == 302
    assert Authenticator.objects.filter(user=officer, type="totp").exists()
    assert Authenticator.objects.filter(user=officer, type="recovery_codes").exists()
    assert client.get("/workspace/queue/").status_code == 200
    assert SecurityEvent.objects.filter(user=officer, kind=EventKind.MFA_ENROLLED).count() == 2


def test_enrolled_staff_log_in_with_a_code(client, province):
    officer = vouched(make_officer("head", province))
    totp.enrol(officer, TEST_TOTP_SECRET)
    response = password_login(client, officer.username)
    assert response["Location"] == reverse("mfa_authenticate")
    # Half logged in: nothing opens yet.
    assert "/accounts/login/" in client.get("/workspace/queue/")["Location"]

    wrong = client.post(reverse("mfa_authenticate"), {"code": totp.code(TEST_TOTP_SECRET, offset=10)})
    assert wrong.status_code == 200
    assert SecurityEvent.objects.filter(user=officer, kind=EventKind.MFA_FAILED).exists()
    ok = client.post(reverse("mfa_authenticate"), {"code": unused_code(TEST_TOTP_SECRET)})
    assert ok.status_code == 302
    assert client.get("/workspace/queue/").status_code == 200


def test_a_session_without_the_code_is_sent_back_to_log_in(client, province):
    """A staff session that never showed the code (here a bare force_login) is ended."""
    officer = make_officer("reception", province)
    totp.enrol(officer, TEST_TOTP_SECRET)
    client.force_login(officer)
    response = client.get("/workspace/queue/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login") + "?next=/workspace/queue/")
    assert "_auth_user_id" not in client.session
    admin = make_user("boss", is_staff=True, is_superuser=True)
    totp.enrol(admin, TEST_TOTP_SECRET)
    client.force_login(admin)
    assert client.get("/admin/").status_code == 302


def test_citizens_are_not_asked_for_a_second_factor(client, db):
    citizen = vouched(make_user("citizen-a"))
    response = password_login(client, citizen.username, next_path="/me/dossiers/")
    assert response["Location"] == "/me/dossiers/"
    assert client.get("/me/dossiers/").status_code == 200
    assert not Authenticator.objects.filter(user=citizen).exists()


def test_admin_login_is_the_account_login(client, db):
    response = client.get("/admin/")
    assert response["Location"] == "/admin/login/?next=/admin/"
    response = client.get("/admin/login/?next=/admin/security/securityevent/")
    assert response["Location"] == "/accounts/login/?next=/admin/security/securityevent/"
    response = client.get("/admin/login/?next=https://evil.example/")
    assert response["Location"] == "/accounts/login/?next=/admin/"
    # The admin's own form is gone: a post to it logs nobody in.
    make_user("boss", is_staff=True, is_superuser=True)
    client.post("/admin/login/", {"username": "boss", "password": PASSWORD})
    assert "_auth_user_id" not in client.session
    # A logged-in citizen is refused, not sent round in a loop.
    sign_in(client, make_user("citizen-b"))
    assert client.get("/admin/login/?next=/admin/").status_code == 403


def test_admin_reaches_the_admin_after_a_two_factor_login(client, db):
    admin = vouched(make_user("boss", is_staff=True, is_superuser=True))
    totp.enrol(admin, TEST_TOTP_SECRET)
    response = password_login(client, "boss", next_path="/admin/")
    assert response["Location"] == reverse("mfa_authenticate")
    response = client.post(reverse("mfa_authenticate"), {"code": unused_code(TEST_TOTP_SECRET)})
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_demo_accounts_get_the_demo_secret_only_with_debug(settings, province):
    from config.demo import _second_factors

    users = {"reception": make_officer("reception", province), "citizen": make_user()}
    settings.DEBUG = False
    _second_factors(users)
    assert not Authenticator.objects.exists()
    settings.DEBUG = True
    _second_factors(users)
    assert totp.secret_of(users["reception"]) == totp.DEMO_TOTP_SECRET
    assert totp.secret_of(users["citizen"]) is None


def test_demo_totp_prints_the_current_code_only_with_debug(settings, province, capsys):
    officer = make_officer("reception", province, username="demo-reception")
    totp.enrol(officer, totp.DEMO_TOTP_SECRET)
    settings.DEBUG = False
    with pytest.raises(CommandError, match="DEBUG"):
        call_command("demo_totp", "demo-reception")
    settings.DEBUG = True
    call_command("demo_totp", "demo-reception")
    printed = capsys.readouterr().out.strip()
    assert printed in {totp.code(totp.DEMO_TOTP_SECRET, offset=k) for k in (0, -1)}
    # A real authenticator's codes are never printed.
    other = make_officer("head", province, username="real-head")
    totp.enrol(other, TEST_TOTP_SECRET)
    with pytest.raises(CommandError, match="no demo authenticator"):
        call_command("demo_totp", "real-head")


def test_removing_the_app_sends_staff_to_enrol_again(
    client, province, django_capture_on_commit_callbacks
):
    officer = make_officer("signer", province)
    sign_in(client, officer)
    assert client.get("/workspace/queue/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(reverse("mfa_deactivate_totp")).status_code == 302
    assert not Authenticator.objects.filter(user=officer).exists()
    response = client.get("/workspace/queue/")
    assert response["Location"] == reverse("mfa_activate_totp")
