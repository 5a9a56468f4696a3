"""The national connections end to end, in a real browser, every outside system a sandbox
over real HTTP on loopback (issue #15):

a new citizen signs in with the national identity (the OIDC sandbox), finds the form filled
from the population register (the register sandbox, ethnic group included), files; the
desk accepts and the specialist asks for the fee; the citizen pays on the payment
platform's sandbox, which calls motcua back; the officers finish and the citizen downloads
the signed result. The national portal's sandbox has received every status of that
dossier, in order.

The officers' steps go through the services (their pages have their own browser tests)."""

from __future__ import annotations

import copy
import re

import pytest
from pypdf import PdfReader

from connectors.identity.sandbox import CLIENT_ID, CLIENT_SECRET, IdentitySandbox
from connectors.national_portal.sandbox import NationalPortalSandbox
from connectors.national_portal.sync import portal_sync_sweep
from connectors.payment.models import Payment, State
from connectors.payment.sandbox import SECRET as PAYMENT_SECRET
from connectors.payment.sandbox import PaymentSandbox
from connectors.population.models import LookupOutcome, PopulationLookup
from connectors.population.sandbox import TOKEN as REGISTER_TOKEN
from connectors.population.sandbox import PopulationSandbox
from documents.services import result_sign
from documents.verification import verify_pdf
from procedures.loader import load_agencies, load_procedures
from procedures.models import Agency, Procedure
from tests.conftest import SIGNER_PASSWORD, give_certificate, make_officer
from tests.connectors import conftest as sandboxes
from workflows.demo import minimal_pdf
from workflows.models import Dossier, DossierTask, FeeStatus, Status
from workflows.services import fees, work

run_sandbox = sandboxes.run_sandbox  # the sandboxes' fixture, for this browser test too

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SAMPLE = "MAU.PHI.001"  # the sample procedure with a fee, its applicant fields prefilled
PAO = "011085004321"  # connectors/sandbox_people.yaml: Giàng A Páo, Mông (08), level 2


def officer_does(dossier, stage, officer, action, **form):
    task = DossierTask.objects.get(dossier=dossier, stage=stage, status__in=work.ACTIVE)
    work.task_claim(task=task, by=officer)
    return work.task_complete(task=task, by=officer, action=action, form=form)


def connect(settings, live_url: str, idp, register, portal, platform) -> None:
    """Every connector pointed at its sandbox, motcua's links at the live server."""
    settings.MOTCUA = {
        **settings.MOTCUA,
        "SITE_URL": live_url,
        "CONNECTORS": {
            **settings.MOTCUA["CONNECTORS"],
            "identity": {
                **settings.MOTCUA["CONNECTORS"]["identity"],
                "BACKEND": "oidc",
                "SERVER_URL": idp.url,
                "CLIENT_ID": CLIENT_ID,
                "CLIENT_SECRET": CLIENT_SECRET,
            },
            "population": {
                "BACKEND": "national",
                "URL": register.url,
                "TOKEN": REGISTER_TOKEN,
                "TIMEOUT": 3,
            },
            "national_portal": {
                **settings.MOTCUA["CONNECTORS"]["national_portal"],
                "BACKEND": "national",
                "URL": portal.url,
                "AUTH": "token",
                "CLIENT_ID": "motcua-sandbox",
                "CLIENT_SECRET": "sandbox-secret",
                "TIMEOUT": 3,
            },
            "payment": {
                **settings.MOTCUA["CONNECTORS"]["payment"],
                "BACKEND": "national",
                "URL": platform.url,
                "PARTNER_CODE": "MOTCUA",
                "SECRET": PAYMENT_SECRET,
                "TREASURY_ACCOUNT": "7111-0000-TEST",
                "TIMEOUT": 3,
            },
        },
    }
    # The sign-in and "pay online" buttons redirect the browser to those servers.
    policy = copy.deepcopy(settings.CONTENT_SECURITY_POLICY)
    policy["DIRECTIVES"]["form-action"] += [idp.url, platform.url]
    settings.CONTENT_SECURITY_POLICY = policy


def test_sign_in_prefill_file_pay_and_get_the_result(
    page, live_server, run_sandbox, settings, signing, tmp_path
):
    load_agencies()
    load_procedures()
    assert Procedure.objects.filter(code=SAMPLE, is_active=True).exists()
    province = Agency.objects.get(code="H22")
    officers = {
        role: make_officer(role, province) for role in ("reception", "specialist", "head", "signer")
    }
    base = live_server.url
    idp = run_sandbox(IdentitySandbox, motcua_url=base)
    register = run_sandbox(PopulationSandbox)
    portal = run_sandbox(NationalPortalSandbox)
    platform = run_sandbox(PaymentSandbox, motcua_url=base)
    connect(settings, base, idp, register, portal, platform)

    # Signed in with VNeID, as a new citizen: no sign-up form, a verified ID number.
    page.goto(f"{base}/accounts/login/")
    page.get_by_role("button", name="Đăng nhập bằng tài khoản định danh điện tử (VNeID)").click()
    page.wait_for_url(f"{idp.url}/authorize**")
    page.fill("#id_number", PAO)
    page.fill("#password", "vneid-sandbox")
    page.fill("#otp", "123456")
    page.get_by_role("button", name="Đăng nhập", exact=True).click()
    page.wait_for_url(f"{base}/me/**")

    # The form, filled from the register: name, ID number and ethnic group (Mông), locked.
    page.goto(f"{base}/procedures/{SAMPLE}/apply/")
    page.check(f"#agency-{province.code.lower()}")
    page.click("main form button[type=submit]")
    assert "Từ Cơ sở dữ liệu quốc gia về dân cư" in page.content()
    assert page.locator("[name=ethnic_group]").input_value() == "08"
    assert page.locator("[name=citizen_id]").input_value() == PAO
    assert page.locator("[name=full_name]").input_value() == "Giàng A Páo"
    lookup = PopulationLookup.objects.get(id_number=PAO)
    assert lookup.outcome == LookupOutcome.FOUND
    # Neither exempt (not in an extremely disadvantaged commune, not poor): the fee is owed.
    page.select_option("[name=commune_area]", "other")
    page.select_option("[name=household_status]", "other")
    if page.locator("#applicant_phone").count():
        page.fill("#applicant_phone", "0987654321")
    scan = tmp_path / "to-khai.pdf"
    scan.write_bytes(minimal_pdf("to khai"))
    page.set_input_files("#file_request_form", str(scan))
    page.click("button[name=review]")
    page.wait_for_url(re.compile(r".*/review/$"))
    page.check("#id_declaration")
    page.click("main form button[type=submit]")
    dossier = Dossier.objects.get(applicant_user__citizen_profile__id_number=PAO)
    page.wait_for_url(f"{base}/me/dossiers/{dossier.pk}/")
    assert dossier.status == Status.SUBMITTED
    assert dossier.form_data["ethnic_group"] == "08"

    # The desk accepts; the specialist asks for the fee: the dossier waits (national 6).
    officer_does(dossier, "reception", officers["reception"], "accept")
    officer_does(dossier, "review", officers["specialist"], "request_fee")
    dossier.refresh_from_db()
    assert dossier.status == Status.FEE_REQUESTED

    # The citizen pays online: the platform's page, "paid", its callback, back to motcua.
    page.goto(f"{base}/me/dossiers/{dossier.pk}/")
    assert "50.000" in page.content()
    page.get_by_role("button", name="Nộp phí trực tuyến").click()
    page.wait_for_url(f"{platform.url}/pay/**")
    page.get_by_role("button", name="Thanh toán thành công").click()
    page.wait_for_url(f"{base}/payments/**")
    assert "Thanh toán đã được xác nhận" in page.content()
    payment = Payment.objects.get(fee__dossier=dossier)
    assert payment.state == State.PAID
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.PAID
    dossier.refresh_from_db()
    assert dossier.status == Status.IN_REVIEW

    # The officers finish; the citizen downloads the signed result.
    officer_does(
        dossier, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ"
    )
    officer_does(dossier, "approval", officers["head"], "approve")
    give_certificate(signing, officers["signer"])
    result_sign(dossier=dossier, by=officers["signer"], password=SIGNER_PASSWORD)
    officer_does(dossier, "signing", officers["signer"], "sign")
    dossier.refresh_from_db()
    assert dossier.status == Status.ISSUED
    page.goto(f"{base}/me/dossiers/{dossier.pk}/")
    with page.expect_download() as download:
        page.click(f"a[href='/me/dossiers/{dossier.pk}/result/']")
    result = PdfReader(download.value.path())
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in result.pages)
    assert dossier.code in text and "Giàng A Páo" in text
    assert verify_pdf(download.value.path().read_bytes()).ok

    # The national portal heard every status, in order: newly registered, accepted,
    # processing, financial obligation, processing again, processed, result returned.
    portal_sync_sweep()
    assert portal.statuses(dossier.code) == [1, 2, 4, 6, 4, 9, 10]
