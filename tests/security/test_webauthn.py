"""Security keys (WebAuthn) as an optional second factor for staff: added beside the
authenticator app, usable instead of its code at login, never a replacement for the app;
forged or replayed answers are refused; adding and removing a key is in the security log.

The key is tests.security.softkey.SoftKey: real signatures checked by allauth and fido2.
WebAuthn needs a secure context, and http://localhost is one: the client talks to the
host "localhost", which is also the relying party id allauth derives from the request."""

from __future__ import annotations

import json

import pytest
from allauth.account.internal.flows.login import get_authentication_records
from allauth.mfa.models import Authenticator
from django.test import Client
from django.urls import reverse

from security import services, totp
from security.models import EventKind, SecurityEvent
from security.testing import TEST_TOTP_SECRET
from tests.conftest import make_officer, sign_in
from tests.security import vouched
from tests.security.softkey import SoftKey, js_data

PASSWORD = "x-Pass-123!"


@pytest.fixture
def client():
    return Client(HTTP_HOST="localhost")


def add_key(client, key: SoftKey, name: str = "USB key") -> None:
    page = client.get(reverse("mfa_add_webauthn"))
    assert page.status_code == 200
    credential = key.register(js_data(page.content)["creation_options"])
    response = client.post(
        reverse("mfa_add_webauthn"), {"name": name, "credential": json.dumps(credential)}
    )
    assert response.status_code == 302, response.content[:2000]


def password_login(client, username, next_path="/workspace/queue/"):
    return client.post(
        f"{reverse('account_login')}?next={next_path}",
        {"login": username, "password": PASSWORD},
    )


def test_a_security_key_stands_in_for_the_code_at_login(
    client, province, django_capture_on_commit_callbacks
):
    officer = vouched(make_officer("specialist", province))
    sign_in(client, officer)  # the app enrolled, a password-and-code session
    key = SoftKey()
    with django_capture_on_commit_callbacks(execute=True):
        add_key(client, key)
    webauthn = Authenticator.objects.get(user=officer, type=Authenticator.Type.WEBAUTHN)
    assert webauthn.wrap().name == "USB key"
    assert client.get(reverse("mfa_list_webauthn")).status_code == 200
    client.post(reverse("account_logout"))

    response = password_login(client, officer.username)
    assert response["Location"] == reverse("mfa_authenticate")
    assert "/accounts/login/" in client.get("/workspace/queue/")["Location"]
    page = client.get(reverse("mfa_authenticate"))
    # Both ways are offered: the app's code and the key.
    assert b'id="id_code"' in page.content and b"mfa_webauthn_authenticate" in page.content
    answer = key.assert_(js_data(page.content)["request_options"])
    response = client.post(reverse("mfa_authenticate"), {"credential": json.dumps(answer)})
    assert response.status_code == 302
    assert response["Location"] == "/workspace/queue/"

    # allauth's record of this login: the password, then the key; the gate lets it pass.
    assert client.get("/workspace/queue/").status_code == 200
    records = client.session["account_authentication_methods"]
    assert [r["method"] for r in records] == ["password", "mfa"]
    assert records[-1]["type"] == Authenticator.Type.WEBAUTHN
    assert records[-1]["id"] == webauthn.pk
    webauthn.refresh_from_db()
    assert webauthn.last_used_at is not None

    # Replaying the same signed answer in a new login is refused (new challenge).
    client.post(reverse("account_logout"))
    password_login(client, officer.username)
    client.get(reverse("mfa_authenticate"))
    replay = client.post(reverse("mfa_authenticate"), {"credential": json.dumps(answer)})
    assert replay.status_code == 200
    assert "/accounts/login/" in client.get("/workspace/queue/")["Location"]


def test_the_gate_counts_a_key_in_allauths_records(client, province, rf):
    """second_factor_state itself, on a session whose records say password then key."""
    officer = vouched(make_officer("head", province))
    sign_in(client, officer)
    add_key(client, SoftKey())
    webauthn = Authenticator.objects.get(user=officer, type=Authenticator.Type.WEBAUTHN)
    from allauth.account.internal.flows.login import record_authentication

    request = rf.get("/workspace/queue/")
    request.user = officer
    request.session = client.session
    request.session.clear()
    record_authentication(request, officer, "password", username=officer.username)
    assert services.second_factor_state(request) == "required"
    record_authentication(request, officer, "mfa", id=webauthn.pk, type=webauthn.type)
    assert get_authentication_records(request, officer)[-1]["type"] == "webauthn"
    assert services.second_factor_state(request) == "passed"


def test_a_key_alone_does_not_replace_the_app(client, province):
    """Staff without an app who add a key (the account pages are open to them) are still
    sent to set up the app: the app stays the required factor."""
    officer = vouched(make_officer("reception", province))
    assert password_login(client, officer.username).status_code == 302
    add_key(client, SoftKey())
    assert Authenticator.objects.filter(user=officer, type="webauthn").exists()
    assert not Authenticator.objects.filter(user=officer, type="totp").exists()
    for path in ("/workspace/queue/", "/admin/"):
        assert client.get(path)["Location"] == reverse("mfa_activate_totp"), path


def test_forged_keys_are_refused(client, province):
    officer = vouched(make_officer("signer", province))
    totp.enrol(officer, TEST_TOTP_SECRET)
    sign_in(client, officer)
    page = client.get(reverse("mfa_add_webauthn"))
    options = js_data(page.content)["creation_options"]
    wrong_origin = SoftKey(origin="https://evil.example").register(options)
    wrong_challenge = SoftKey().register(
        {"publicKey": {**options["publicKey"], "challenge": "AAAAAAAAAAAAAAAAAAAAAA"}}
    )
    for credential in (
        "not json",
        json.dumps({"id": 1}),
        json.dumps([1, 2, 3]),
        json.dumps({"type": "public-key", "response": "x" * 10_000}),
        json.dumps(wrong_origin),
        json.dumps(wrong_challenge),
    ):
        response = client.post(reverse("mfa_add_webauthn"), {"name": "k", "credential": credential})
        assert response.status_code == 200, credential[:80]
        assert response.context["form"].errors
        client.get(reverse("mfa_add_webauthn"))  # a fresh challenge for the next try
    assert not Authenticator.objects.filter(user=officer, type="webauthn").exists()

    # At login: a key the account never added, and nonsense.
    add_key(client, SoftKey())
    client.post(reverse("account_logout"))
    password_login(client, officer.username)
    page = client.get(reverse("mfa_authenticate"))
    stranger = SoftKey().assert_(js_data(page.content)["request_options"])
    for credential in (json.dumps(stranger), "{}", "null", "[]"):
        response = client.post(reverse("mfa_authenticate"), {"credential": credential})
        assert response.status_code == 200, credential[:80]
    assert "/accounts/login/" in client.get("/workspace/queue/")["Location"]
    # The stranger's answer is a failed key in the log; empty ones never reach the check.
    assert (
        SecurityEvent.objects.filter(
            user=officer, kind=EventKind.MFA_FAILED, detail="webauthn"
        ).count()
        == 1
    )


def test_a_key_name_is_bounded(client, province):
    officer = vouched(make_officer("head", province))
    sign_in(client, officer)
    page = client.get(reverse("mfa_add_webauthn"))
    credential = SoftKey().register(js_data(page.content)["creation_options"])
    response = client.post(
        reverse("mfa_add_webauthn"), {"name": "k" * 5000, "credential": json.dumps(credential)}
    )
    assert response.status_code == 200 and "name" in response.context["form"].errors
    assert not Authenticator.objects.filter(user=officer, type="webauthn").exists()


def test_adding_and_removing_a_key_is_logged(client, province, django_capture_on_commit_callbacks):
    officer = vouched(make_officer("head", province))
    sign_in(client, officer)
    with django_capture_on_commit_callbacks(execute=True):
        add_key(client, SoftKey())
    webauthn = Authenticator.objects.get(user=officer, type="webauthn")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mfa_remove_webauthn", kwargs={"pk": webauthn.pk}))
    assert response.status_code == 302
    assert not Authenticator.objects.filter(user=officer, type="webauthn").exists()
    events = SecurityEvent.objects.filter(user=officer, detail="webauthn")
    assert sorted(events.values_list("kind", flat=True)) == [
        EventKind.MFA_ENROLLED,
        EventKind.MFA_REMOVED,
    ]
    # The app is still there: the session goes on.
    assert client.get("/workspace/queue/").status_code == 200


def test_the_key_is_offered_only_to_accounts_that_have_one(client, province):
    officer = vouched(make_officer("reception", province))
    totp.enrol(officer, TEST_TOTP_SECRET)
    password_login(client, officer.username)
    page = client.get(reverse("mfa_authenticate"))
    assert page.status_code == 200
    assert b'id="id_code"' in page.content
    assert b"mfa_webauthn_authenticate" not in page.content
    assert b"webauthn.js" not in page.content
    assert b'form="logout-from-stage"' in page.content  # the way out is still there
