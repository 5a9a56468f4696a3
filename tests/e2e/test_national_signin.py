"""National sign-in in a real browser: the VNeID button on the login page, the identity
sandbox's authorize page (ID number, password, one-time code), and back at motcua signed in
with a verified profile. The page's Content-Security-Policy must let the button's redirect
reach the identity server (form-action), as settings.py allows it when configured."""

from __future__ import annotations

import copy

import pytest

from connectors.identity.sandbox import CLIENT_ID, CLIENT_SECRET, IdentitySandbox
from portal.models import CitizenProfile
from tests.connectors import conftest as sandboxes

run_sandbox = sandboxes.run_sandbox  # the sandboxes' fixture, for this browser test too

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_sign_in_with_vneid_and_come_back_signed_in(page, live_server, run_sandbox, settings):
    idp = run_sandbox(IdentitySandbox, motcua_url=live_server.url)
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {
            **settings.MOTCUA["CONNECTORS"],
            "identity": {
                "BACKEND": "oidc",
                "SERVER_URL": idp.url,
                "CLIENT_ID": CLIENT_ID,
                "CLIENT_SECRET": CLIENT_SECRET,
            },
        },
    }
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"].append(idp.url)
    settings.CONTENT_SECURITY_POLICY = policy

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_role("button", name="Đăng nhập bằng tài khoản định danh điện tử (VNeID)").click()

    page.wait_for_url(f"{idp.url}/authorize**")
    page.fill("#id_number", "001190012345")
    page.fill("#password", "vneid-sandbox")
    page.fill("#otp", "123456")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()

    page.wait_for_url(f"{live_server.url}/me/**")
    assert "Lò Thị Mai" in page.content()
    page.goto(f"{live_server.url}/me/profile/")
    assert page.locator("#id_id_number").input_value() == "001190012345"
    assert page.locator("#id_id_number").get_attribute("readonly") is not None
    assert "đã xác minh" in page.content()
    profile = CitizenProfile.objects.get(id_number="001190012345")
    assert profile.verified_source == "vneid"
