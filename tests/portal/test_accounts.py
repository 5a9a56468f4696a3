"""Citizens' accounts: sign-up with e-mail verification, log in and out, password reset,
and the profile that fills their forms."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.urls import reverse

from portal.models import CitizenProfile
from tests.conftest import sign_in


@pytest.fixture
def citizen_account(db):
    from security.accounts import account_email_vouched

    user = get_user_model().objects.create_user(
        username="mai", email="mai@example.org", password="Mật-khẩu-dài-2026"
    )
    account_email_vouched(user)
    return user


def test_sign_up_verify_then_log_in(client, db):
    response = client.post(
        reverse("account_signup"),
        {
            "email": "pao@example.org",
            "username": "giangapao",
            "password1": "Núi-cao-suối-sâu-42",
            "password2": "Núi-cao-suối-sâu-42",
        },
    )
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/", mail.outbox[0].body)
    assert link, mail.outbox[0].body
    # Not verified yet: logging in asks for the verification instead.
    client.post(reverse("account_logout"))
    response = client.post(
        reverse("account_login"), {"login": "pao@example.org", "password": "Núi-cao-suối-sâu-42"}
    )
    assert "/accounts/confirm-email/" in response.get("Location", "")
    path = link.group(0).split("testserver", 1)[-1]
    assert client.post(path).status_code == 302
    response = client.post(
        reverse("account_login"), {"login": "pao@example.org", "password": "Núi-cao-suối-sâu-42"}
    )
    assert response.status_code == 302
    assert client.get(reverse("portal:my_dossiers")).status_code == 200


def test_log_in_out_and_reset(client, citizen_account):
    response = client.post(
        reverse("account_login"), {"login": "mai", "password": "Mật-khẩu-dài-2026"}
    )
    assert response.status_code == 302
    assert client.get(reverse("portal:after_login")).url == reverse("portal:my_dossiers")
    client.post(reverse("account_logout"))
    assert client.get(reverse("portal:my_dossiers")).status_code == 302
    client.post(reverse("account_reset_password"), {"email": "mai@example.org"})
    assert any(
        "password" in m.subject.lower() or "mật khẩu" in m.subject.lower() for m in mail.outbox
    )


def test_bad_login_is_an_error_not_a_crash(client, citizen_account):
    response = client.post(reverse("account_login"), {"login": "mai", "password": "wrong"})
    assert response.status_code == 200
    assert response.context["form"].errors


def test_profile_saves_and_validates(client, citizen_account):
    sign_in(client, citizen_account)
    url = reverse("portal:profile")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"full_name": "Lò Thị Mai", "id_number": "12ab", "language": "vi"})
    assert bad.status_code == 400
    assert "12ab" in bad.content.decode()
    good = client.post(
        url,
        {
            "full_name": "Lò Thị Mai",
            "date_of_birth": "1990-05-12",
            "ethnic_group": "03",
            "id_number": "001190012345",
            "province": "Lào Cai",
            "commune": "Xã Cốc San",
            "address": "Bản Cốc Lếu",
            "phone": "0912345678",
            "language": "vi",
        },
    )
    assert good.status_code == 302
    profile = CitizenProfile.objects.get(user=citizen_account)
    assert profile.get_ethnic_group_display() == "Thái"
    assert len(CitizenProfile._meta.get_field("ethnic_group").choices) == 54


def test_the_sign_up_form_asks_what_the_settings_say(client, db, settings):
    """ACCOUNT_SIGNUP_FIELDS decides the sign-up form: each field it names, required where
    it says `*`, and nothing else. (An allauth older than 65.5 ignores the setting: its
    form makes the e-mail address optional, and accounts without one cannot be verified.)"""
    wanted = {field.rstrip("*"): field.endswith("*") for field in settings.ACCOUNT_SIGNUP_FIELDS}
    form = client.get(reverse("account_signup")).context["form"]
    assert {name: field.required for name, field in form.fields.items()} == wanted
    # Leaving out the e-mail address is an error on that field; no account is made.
    response = client.post(
        reverse("account_signup"),
        {
            "username": "khongthu",
            "password1": "Núi-cao-suối-sâu-42",
            "password2": "Núi-cao-suối-sâu-42",
        },
    )
    assert response.status_code == 200
    assert "email" in response.context["form"].errors
    assert not get_user_model().objects.filter(username="khongthu").exists()
