"""National sign-in (VNeID): the authorization code + PKCE round trip over real HTTP against
the identity sandbox, the verified profile, linking, and the failures (down, slow, a forged
or mis-issued id_token). motcua's side runs in the test client; the citizen's browser at the
identity server is played by ``requests`` against the sandbox's real authorize form."""

from __future__ import annotations

import html
import re
import urllib.parse

import pytest
import requests
from allauth.account.models import EmailAddress
from allauth.socialaccount.models import SocialAccount
from django.contrib.auth import get_user_model
from django.core import mail

from connectors.identity.sandbox import CLIENT_ID, CLIENT_SECRET, IdentitySandbox
from portal.models import CitizenProfile
from procedures.models import OfficerRole
from procedures.roles import Role
from tests.conftest import make_user

MAI = "001190012345"  # level 2 (OTP), e-mail citizen@example.org
HOA = "015302007788"  # level 1
CALLBACK = "http://testserver/accounts/oidc/vneid/login/callback/"

pytestmark = pytest.mark.django_db


@pytest.fixture
def idp(run_sandbox, settings):
    sandbox = run_sandbox(IdentitySandbox, redirect_uris=[CALLBACK])
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {
            **settings.MOTCUA["CONNECTORS"],
            "identity": {
                "BACKEND": "oidc",
                "SERVER_URL": sandbox.url,
                "CLIENT_ID": CLIENT_ID,
                "CLIENT_SECRET": CLIENT_SECRET,
                "ID_NUMBER_CLAIM": "citizen_id",
                "LEVEL_CLAIM": "identity_level",
                "SCOPE": ["openid", "profile", "email"],
                "MIN_LEVEL": 1,
                "TIMEOUT": 3.0,
            },
        },
    }
    return sandbox


def _hidden_fields(page: str) -> dict:
    return {
        html.unescape(name): html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page)
    }


def start(client, process: str = "login"):
    """Press the button: motcua answers with a redirect to the identity server."""
    return client.post("/accounts/oidc/vneid/login/", {"process": process})


def at_identity_server(location: str, id_number=MAI, password="vneid-sandbox", otp="123456"):  # noqa: S107
    """The citizen's browser at the sandbox: open the authorize page, fill it in, submit.
    Returns the sandbox's redirect back to motcua (its Location)."""
    page = requests.get(location, timeout=5)
    assert page.status_code == 200, page.text
    assert "Số định danh cá nhân" in page.text
    form = _hidden_fields(page.text) | {
        "id_number": id_number,
        "password": password,
        "otp": otp,
        "action": "login",
    }
    action = urllib.parse.urljoin(location, "/authorize")
    answer = requests.post(action, data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def back_at_motcua(client, location: str):
    parts = urllib.parse.urlsplit(location)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == CALLBACK
    return client.get(f"{parts.path}?{parts.query}")


def sign_in_nationally(client, idp, **who):
    response = start(client)
    assert response.status_code == 302
    return back_at_motcua(client, at_identity_server(response["Location"], **who))


def signed_in_user(client):
    from django.contrib.auth import get_user

    class R:
        session = client.session

    return get_user(R)


def test_round_trip_with_pkce_signs_up_a_new_citizen_with_a_verified_profile(client, idp):
    response = start(client)
    assert response.status_code == 302
    authorize = urllib.parse.urlsplit(response["Location"])
    query = dict(urllib.parse.parse_qsl(authorize.query))
    assert f"{authorize.scheme}://{authorize.netloc}" == idp.url
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert query["client_id"] == CLIENT_ID and query["redirect_uri"] == CALLBACK
    assert "openid" in query["scope"].split()

    done = back_at_motcua(client, at_identity_server(response["Location"]))
    assert done.status_code == 302, done.content[:500]

    user = signed_in_user(client)
    assert user.is_authenticated
    assert not user.has_usable_password()
    assert user.first_name == "Lò Thị Mai"
    profile = CitizenProfile.objects.get(user=user)
    assert profile.id_number == MAI
    assert profile.full_name == "Lò Thị Mai"
    assert profile.date_of_birth.isoformat() == "1990-05-12"
    assert set(profile.verified_fields) == {"id_number", "full_name", "date_of_birth"}
    assert profile.verified_source == "vneid" and profile.verified_at is not None
    assert profile.identity_level == 2
    assert SocialAccount.objects.get(user=user).provider == "vneid"
    # The e-mail address VNeID holds is the citizen's declaration: kept, not verified.
    assert EmailAddress.objects.get(user=user).verified is False
    assert [m.to for m in mail.outbox] == [["citizen@example.org"]]  # a confirmation link

    # The token request carried the PKCE verifier and the client's credentials.
    token_call = next(r for r in idp.received if r.path == "/token")
    sent = token_call.form()
    assert sent["code_verifier"] and sent["client_secret"] == CLIENT_SECRET
    assert sent["redirect_uri"] == CALLBACK

    # Signing in again lands in the same account.
    client.logout()
    sign_in_nationally(client, idp)
    assert signed_in_user(client).pk == user.pk
    assert get_user_model().objects.filter(socialaccount__isnull=False).count() == 1


def test_without_an_email_claim_the_account_is_made_without_one(client, idp, settings):
    settings.MOTCUA["CONNECTORS"]["identity"]["SCOPE"] = ["openid", "profile"]
    done = sign_in_nationally(client, idp, id_number=HOA, otp="")
    assert done.status_code == 302
    user = signed_in_user(client)
    assert user.is_authenticated and user.email == ""
    assert CitizenProfile.objects.get(user=user).id_number == HOA


def test_the_configured_claim_name_is_the_one_read(client, run_sandbox, idp, settings):
    other = run_sandbox(IdentitySandbox, redirect_uris=[CALLBACK], id_number_claim="so_dinh_danh")
    settings.MOTCUA["CONNECTORS"]["identity"].update(
        SERVER_URL=other.url, ID_NUMBER_CLAIM="so_dinh_danh"
    )
    sign_in_nationally(client, other)
    assert CitizenProfile.objects.get(user=signed_in_user(client)).id_number == MAI

    # Read under the wrong name, there is no ID number: refused, nothing made.
    client.logout()
    settings.MOTCUA["CONNECTORS"]["identity"]["ID_NUMBER_CLAIM"] = "citizen_id"
    refused = sign_in_nationally(client, other, id_number=HOA, otp="")
    assert refused.status_code == 400
    assert "không gửi số định danh cá nhân" in refused.content.decode()
    assert not SocialAccount.objects.filter(extra_data__icontains=HOA).exists()


def test_a_wrong_password_or_otp_stays_at_the_identity_server(idp, client):
    location = start(client)["Location"]
    page = requests.get(location, timeout=5)
    form = _hidden_fields(page.text) | {"id_number": MAI, "password": "nope", "otp": "123456"}
    answer = requests.post(f"{idp.url}/authorize", data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 400 and "không đúng" in answer.text
    form |= {"password": "vneid-sandbox", "otp": "000000"}
    answer = requests.post(f"{idp.url}/authorize", data=form, allow_redirects=False, timeout=5)
    assert answer.status_code == 400 and "OTP" in answer.text


def test_the_sandbox_refuses_a_wrong_pkce_verifier_or_redirect_uri(idp, client):
    location = at_identity_server(start(client)["Location"])
    code = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["code"]
    base = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": CALLBACK,
        "code_verifier": "x" * 50,
    }
    answer = requests.post(f"{idp.url}/token", data=base, timeout=5)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    # The code was spent by that attempt: a code is used once.
    answer = requests.post(f"{idp.url}/token", data=base, timeout=5)
    assert answer.status_code == 400
    wrong_client = requests.post(
        f"{idp.url}/token", data={**base, "client_secret": "no"}, timeout=5
    )
    assert wrong_client.status_code == 401
    bad_redirect = requests.get(
        f"{idp.url}/authorize",
        params={
            "client_id": CLIENT_ID,
            "redirect_uri": "https://evil.example/cb",
            "response_type": "code",
            "scope": "openid",
            "code_challenge": "a" * 43,
            "code_challenge_method": "S256",
        },
        timeout=5,
    )
    assert bad_redirect.status_code == 400 and "redirect_uri" in bad_redirect.text


@pytest.mark.parametrize("fault", ["bad-signature", "wrong-issuer"])
def test_an_id_token_that_fails_its_checks_is_refused(client, idp, fault, caplog):
    location = at_identity_server(start(client)["Location"])
    idp.fault = fault
    with caplog.at_level("WARNING", logger="motcua.connectors.identity"):
        response = back_at_motcua(client, location)
    assert response.status_code == 400
    assert "Không thể xác minh phản hồi" in response.content.decode()  # in Vietnamese
    assert not signed_in_user(client).is_authenticated
    assert not get_user_model().objects.exists()
    assert not CitizenProfile.objects.exists() and not SocialAccount.objects.exists()
    assert any("id_token refused" in r.getMessage() for r in caplog.records)
    assert MAI not in caplog.text


def test_the_identity_server_down_or_slow_is_a_clear_page(client, idp, settings):
    idp.fault = "down"
    response = start(client)
    assert response.status_code == 503
    assert "(VNeID) hiện không phản hồi" in response.content.decode()  # in Vietnamese

    settings.MOTCUA["CONNECTORS"]["identity"]["TIMEOUT"] = 0.3
    idp.fault = "slow:1"
    assert start(client).status_code == 503

    # Down between the authorize page and the return: no 500, nobody signed in.
    idp.fault = ""
    settings.MOTCUA["CONNECTORS"]["identity"]["TIMEOUT"] = 3.0
    location = at_identity_server(start(client)["Location"])
    idp.fault = "down"
    response = back_at_motcua(client, location)
    assert response.status_code == 503
    assert not signed_in_user(client).is_authenticated
    assert not CitizenProfile.objects.exists()


def test_cancelling_at_the_identity_server_changes_nothing(client, idp):
    location = start(client)["Location"]
    form = _hidden_fields(requests.get(location, timeout=5).text) | {"action": "cancel"}
    answer = requests.post(f"{idp.url}/authorize", data=form, allow_redirects=False, timeout=5)
    assert "error=access_denied" in answer.headers["Location"]
    response = back_at_motcua(client, answer.headers["Location"])
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "Đã huỷ đăng nhập bằng định danh điện tử" in page
    assert not get_user_model().objects.exists()


def test_off_when_not_configured_no_button_and_404(client, settings):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {**settings.MOTCUA["CONNECTORS"], "identity": {"BACKEND": "oidc"}},
    }
    page = client.get("/accounts/login/")
    assert b"VNeID" not in page.content
    assert start(client).status_code == 404


def test_the_login_page_shows_the_button(client, idp):
    page = client.get("/accounts/login/").content.decode()
    assert "VNeID" in page and 'action="/accounts/oidc/vneid/login/' in page


# --- Linking an existing account ---------------------------------------------------------


def _password_login(client, user):
    EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
    answer = client.post("/accounts/login/", {"login": user.email, "password": "x-Pass-123!"})
    assert answer.status_code == 302, answer.content[:300]


def test_an_existing_account_links_and_the_verified_number_wins(client, idp):
    user = make_user(email="mai.old@example.org")
    CitizenProfile.objects.create(
        user=user, full_name="Lo Thi Mai", id_number="001190099999", province="Lào Cai"
    )
    _password_login(client, user)
    response = start(client, process="connect")
    done = back_at_motcua(client, at_identity_server(response["Location"]))
    assert done.status_code == 302 and done["Location"].endswith("/me/profile/")
    assert SocialAccount.objects.get(user=user).provider == "vneid"
    profile = CitizenProfile.objects.get(user=user)
    assert profile.id_number == MAI and profile.is_verified("id_number")
    assert profile.province == "Lào Cai"  # what only the citizen knows stays
    page = client.get("/me/profile/").content.decode()
    assert "xác minh" in page or "verified" in page
    # The citizen is told the typed number was replaced.
    messages = [str(m) for m in done.wsgi_request._messages]
    assert any("personal ID number" in m or "số định danh" in m for m in messages), messages


def test_one_national_identity_cannot_link_two_accounts(client, idp):
    sign_in_nationally(client, idp)  # Mai's identity now has its own account
    first = signed_in_user(client)
    client.logout()

    other = make_user(email="someone@example.org")
    _password_login(client, other)
    done = back_at_motcua(client, at_identity_server(start(client, "connect")["Location"]))
    assert done.status_code == 302
    assert not SocialAccount.objects.filter(user=other).exists()
    assert SocialAccount.objects.get().user_id == first.pk
    assert not CitizenProfile.objects.filter(user=other, id_number=MAI).exists()


def test_staff_cannot_sign_in_or_link_nationally(client, idp, province):
    officer = make_user(email="officer@example.org")
    OfficerRole.objects.create(user=officer, agency=province, role=Role.RECEPTION)
    _password_login(client, officer)
    done = back_at_motcua(client, at_identity_server(start(client, "connect")["Location"]))
    assert done.status_code == 403
    assert not SocialAccount.objects.exists()
    assert not CitizenProfile.objects.filter(user=officer).exists()

    # A citizen who became staff after linking can no longer sign in with it.
    client.logout()
    sign_in_nationally(client, idp, id_number=HOA, otp="")
    citizen = signed_in_user(client)
    OfficerRole.objects.create(user=citizen, agency=province, role=Role.RECEPTION)
    client.logout()
    refused = sign_in_nationally(client, idp, id_number=HOA, otp="")
    assert refused.status_code == 403
    assert not signed_in_user(client).is_authenticated


# --- The verified fields on the profile page -----------------------------------------------


def test_a_verified_field_cannot_be_edited(client, idp):
    sign_in_nationally(client, idp)
    user = signed_in_user(client)
    form = client.get("/me/profile/").content.decode()
    assert re.search(r'name="id_number"[^>]*readonly', form)

    forged = client.post(
        "/me/profile/",
        {
            "full_name": "Lò Thị Mai",
            "date_of_birth": "1990-05-12",
            "id_number": "001190099999",
            "province": "Lào Cai",
            "commune": "Xã Cốc San",
            "address": "Bản Cốc Lếu",
            "phone": "0912345678",
        },
    )
    assert forged.status_code == 400
    page = forged.content.decode()
    assert "VNeID" in page
    assert 'value="Bản Cốc Lếu"' in page  # the rest of what was typed is kept
    assert 'value="001190012345"' in page and "001190099999" not in page
    profile = CitizenProfile.objects.get(user=user)
    assert profile.id_number == MAI and profile.address == ""

    # The same post with the verified values saves the rest.
    ok = client.post(
        "/me/profile/",
        {
            "full_name": "Lò Thị Mai",
            "date_of_birth": "1990-05-12",
            "id_number": MAI,
            "province": "Lào Cai",
            "address": "Bản Cốc Lếu",
        },
    )
    assert ok.status_code == 302
    assert CitizenProfile.objects.get(user=user).address == "Bản Cốc Lếu"

    # A forged birth date that is not even a date: refused the same way, no 500.
    bad = client.post(
        "/me/profile/", {"full_name": "Lò Thị Mai", "date_of_birth": "xx", "id_number": MAI}
    )
    assert bad.status_code == 400
    assert CitizenProfile.objects.get(user=user).date_of_birth.isoformat() == "1990-05-12"


def test_unlinking_makes_the_verified_fields_editable_again(client, idp):
    user = make_user(email="mai.unlink@example.org")
    _password_login(client, user)
    back_at_motcua(client, at_identity_server(start(client, process="connect")["Location"]))
    account = SocialAccount.objects.get(user=user)
    assert CitizenProfile.objects.get(user=user).is_verified("id_number")

    answer = client.post("/accounts/3rdparty/", {"account": account.pk})
    assert answer.status_code == 302
    assert not SocialAccount.objects.filter(user=user).exists()
    profile = CitizenProfile.objects.get(user=user)
    assert profile.id_number == MAI and not profile.is_verified("id_number")
    edited = client.post("/me/profile/", {"full_name": "Lò Thị Mai", "id_number": "001190099999"})
    assert edited.status_code == 302
    assert CitizenProfile.objects.get(user=user).id_number == "001190099999"
