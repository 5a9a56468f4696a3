"""The officer part of the full path, in a real browser: reception asks for a supplement;
after the citizen's resubmission, reception, review, approval and signing take the
dossier to issue. Each officer logs in, finds the task in the queue, claims it and acts."""

from __future__ import annotations

import re

import pytest

from config.demo import seed_demo
from security.testing import unused_code
from security.totp import DEMO_TOTP_SECRET
from tests.conftest import SIGNER_PASSWORD, give_certificate
from workflows.demo import DEMO_PASSWORD, minimal_pdf
from workflows.models import Dossier, Status

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def log_in(page, base, username, landing="/workspace/queue/"):
    """The login form, then, for staff, the code of the demo authenticator app."""
    page.context.clear_cookies()
    page.goto(f"{base}/accounts/login/")
    page.fill("#id_login", username)
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("main button[type=submit]")
    if username != "citizen":
        page.wait_for_url(f"{base}/accounts/2fa/authenticate/")
        page.fill("#id_code", unused_code(DEMO_TOTP_SECRET, username))
        page.click("main button[type=submit]")
    page.wait_for_url(f"{base}{landing}")


def claim_from_queue(page, base, dossier):
    dossier.refresh_from_db()
    page.goto(f"{base}/workspace/queue/")
    # Typed without accents, as many officers do: the demo applicant is "Lò Thị Mai".
    page.fill("#id_q", "lo thi mai")
    page.click("form.filters button[type=submit]")
    assert page.locator("main table a").count() >= 1
    # Before reception a dossier has no code: the desk finds it by its number ("#42").
    page.fill("#id_q", dossier.reference)
    page.click("form.filters button[type=submit]")
    label = re.escape(dossier.code) if dossier.code else rf"#{dossier.pk}\b"
    page.locator("main table a", has_text=re.compile(rf"^{label}")).first.click()
    page.click("form[action$='/claim/'] button")
    page.wait_for_selector("#h-act")


def test_officer_path_in_the_browser(page, live_server, settings, tmp_path, signing):
    settings.DEBUG = True
    users = seed_demo()["users"]
    give_certificate(signing, users["signer"])
    base = live_server.url
    dossier = Dossier.objects.filter(status=Status.SUBMITTED).order_by("pk").first()
    component = dossier.procedure_version.spec["components"][0]["code"]

    log_in(page, base, "reception")
    claim_from_queue(page, base, dossier)
    page.locator("details", has=page.locator("input[value=supplement]")).locator("summary").click()
    page.check(f"#id_supplement-item_{component}")
    page.fill(f"#id_supplement-why_{component}", "Bản chụp không rõ chữ ký")
    page.fill("#id_supplement-reason", "Hồ sơ chưa hợp lệ, đề nghị bổ sung")
    page.click("form:has(input[value=supplement]) button[type=submit]")
    page.wait_for_url(f"{base}/workspace/inbox/")
    dossier.refresh_from_db()
    assert dossier.status == Status.SUPPLEMENT_REQUESTED

    # The citizen sees what to fix, uploads a clearer scan and files again.
    log_in(page, base, "citizen", landing="/me/dossiers/")
    page.goto(f"{base}/me/dossiers/{dossier.pk}/")
    assert page.locator("text=Bản chụp không rõ chữ ký").count() == 1
    page.click(f"a[href='/me/dossiers/{dossier.pk}/edit/']")
    scan = tmp_path / "scan.pdf"
    scan.write_bytes(minimal_pdf("ro net"))
    page.set_input_files(f"#file_{component}", str(scan))
    page.click("button[name=review]")
    page.check("#id_declaration")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/me/dossiers/{dossier.pk}/")
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED

    steps = [
        ("reception", "accept", {}),
        (
            "specialist",
            "propose",
            {"#id_propose-decision_0": "check", "#id_propose-opinion": "Đủ điều kiện công nhận"},
        ),
        ("head", "approve", {"#id_approve-comment": "Đồng ý"}),
        ("signer", "sign", {"#id_sign-password": SIGNER_PASSWORD}),
    ]
    for username, action, fields in steps:
        log_in(page, base, username)
        claim_from_queue(page, base, dossier)
        form = page.locator(f"form:has(input[name=action][value={action}])")
        for selector, value in fields.items():
            if value == "check":
                page.check(selector)
            else:
                page.fill(selector, value)
        form.locator("button[type=submit]").click()
        page.wait_for_url(f"{base}/workspace/inbox/")
        assert page.locator(".messages").count() == 1
    dossier.refresh_from_db()
    assert dossier.status == Status.ISSUED
    page.goto(f"{base}/workspace/done/")
    assert page.locator(f"a:text-is('{dossier.code}')").count() == 1
