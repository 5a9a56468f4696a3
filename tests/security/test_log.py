"""The security log: a row and one log line per event (event, user id, address, nothing
personal or secret), and a read-only, searchable table in the admin."""

from __future__ import annotations

import logging
import re

import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from django.urls import reverse

from security import totp
from security.models import EventKind, SecurityEvent
from security.testing import TEST_TOTP_SECRET, unused_code
from tests.conftest import make_officer, make_user, sign_in
from tests.security import vouched

PASSWORD = "x-Pass-123!"
EVENT = re.compile(r"^[a-z_]+$")


def kinds(user):
    return list(SecurityEvent.objects.filter(user=user).values_list("kind", flat=True))


def test_each_event_kind_is_recorded(
    client, province, settings, caplog, django_capture_on_commit_callbacks
):
    caplog.set_level(logging.INFO, logger="motcua.security")
    settings.MOTCUA_SECURITY = {**settings.MOTCUA_SECURITY, "LOCKOUT_FAILURES": 2}
    officer = vouched(make_officer("reception", province), email="ha.nguyen@example.org")
    totp.enrol(officer, TEST_TOTP_SECRET)
    login = reverse("account_login")

    # A failed login, then a full login with a recovery code as the second factor.
    client.post(login, {"login": "ha.nguyen@example.org", "password": "wrong-one-1"})
    assert kinds(officer) == [EventKind.LOGIN_FAILED]
    client.post(login, {"login": officer.username, "password": PASSWORD})
    codes = RecoveryCodes(
        Authenticator.objects.get(user=officer, type="recovery_codes")
    ).get_unused_codes()
    client.post(reverse("mfa_authenticate"), {"code": "00000000"})
    client.post(reverse("mfa_authenticate"), {"code": codes[0]})
    assert client.get("/workspace/queue/").status_code == 200
    assert EventKind.MFA_FAILED in kinds(officer)
    assert EventKind.RECOVERY_CODE_USED in kinds(officer)
    assert EventKind.LOGIN in kinds(officer)

    # Recovery codes regenerated, the app removed (allauth asks for the password again
    # first, and signals after commit).
    assert client.post(reverse("account_reauthenticate"), {"password": PASSWORD}).status_code == 302
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mfa_generate_recovery_codes"))
    assert EventKind.RECOVERY_CODES_REGENERATED in kinds(officer)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_deactivate_totp"))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=officer, type="totp").exists()
    assert EventKind.MFA_REMOVED in kinds(officer)

    # Refused access: a receptionist on the supervisors' dashboard (PermissionDenied).
    sign_in(client, officer)
    assert client.get(reverse("workspace:dashboard")).status_code == 403
    denied = SecurityEvent.objects.get(user=officer, kind=EventKind.ACCESS_DENIED)
    assert denied.path == reverse("workspace:dashboard")
    assert denied.ip == "127.0.0.1"

    client.post(reverse("account_logout"))
    assert EventKind.LOGOUT in kinds(officer)

    # The lockout (two failures here).
    for _ in range(2):
        client.post(login, {"login": officer.username, "password": "wrong-two-2"})
    assert EventKind.LOCKED in kinds(officer)

    # structlog's events, as its stdlib formatter receives them: the fields, not a text.
    events = [r.msg for r in caplog.records if r.name == "motcua.security"]
    assert len(events) == SecurityEvent.objects.count()
    fields = [{k: v for k, v in e.items() if k not in ("timestamp", "request_id")} for e in events]
    assert {tuple(sorted(f)) for f in fields} == {
        ("address", "event", "level", "logger", "user_id")
    }
    assert [f for f in fields if not EVENT.match(f["event"])] == []
    text = repr(events)
    for secret in ("ha.nguyen", "example.org", "wrong-", PASSWORD, codes[0]):
        assert secret not in text
    for kind in ("login_failed", "access_denied"):
        assert {
            "event": kind,
            "user_id": officer.pk,
            "address": "127.0.0.1",
            "level": "info",
            "logger": "motcua.security",
        } in fields
    # Those a request caused carry its id.
    ids = [e["request_id"] for e in events if "request_id" in e]
    assert ids and all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)


def test_admins_search_the_log_read_only(client, province):
    admin = make_user("root", is_staff=True, is_superuser=True)
    officer = make_officer("head", province, username="hoang-son")
    sign_in(client, officer)
    client.get(reverse("workspace:dashboard") + "?year=abc")  # whatever it answers
    SecurityEvent.objects.create(kind=EventKind.LOGIN_FAILED, user=admin, ip="10.0.0.9")
    sign_in(client, admin)
    changelist = reverse("admin:security_securityevent_changelist")
    page = client.get(changelist, {"q": "hoang-son"})
    assert page.status_code == 200
    rows = list(page.context["cl"].result_list)
    assert rows and all(row.user_id == officer.pk for row in rows)
    by_ip = client.get(changelist, {"q": "10.0.0.9"}).context["cl"].result_list
    assert [row.ip for row in by_ip] == ["10.0.0.9"]
    by_kind = client.get(changelist, {"kind__exact": "login_failed"}).context["cl"].result_list
    assert {row.kind for row in by_kind} == {"login_failed"}
    assert "Nhật ký an ninh" in page.content.decode() or "security log" in page.content.decode()
    event = SecurityEvent.objects.filter(user=officer).first()
    assert client.get(reverse("admin:security_securityevent_add")).status_code == 403
    detail = client.get(reverse("admin:security_securityevent_change", args=[event.pk]))
    assert detail.status_code == 200 and b'name="_save"' not in detail.content
    deleted = client.post(
        reverse("admin:security_securityevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert deleted.status_code == 403
    assert SecurityEvent.objects.filter(pk=event.pk).exists()


@pytest.mark.parametrize("code", ["12345", "x" * 5000])
def test_bad_second_factor_codes_are_form_errors(client, province, code):
    officer = vouched(make_officer("signer", province))
    totp.enrol(officer, TEST_TOTP_SECRET)
    client.post(reverse("account_login"), {"login": officer.username, "password": PASSWORD})
    response = client.post(reverse("mfa_authenticate"), {"code": code})
    assert response.status_code == 200
    assert response.context["form"].errors
    ok = client.post(reverse("mfa_authenticate"), {"code": unused_code(TEST_TOTP_SECRET)})
    assert ok.status_code == 302
