"""A new citizen, in Vietnamese, in a real browser: sign-up and e-mail verification, an
application with its files, a supplement round, and the result. The officers' steps go
through the services. axe-core checks every citizen page on the way."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from pypdf import PdfReader

from documents.services import result_sign
from documents.verification import verify_pdf
from procedures.loader import load_agencies, load_procedures
from procedures.models import Agency, Procedure
from tests.conftest import SIGNER_PASSWORD, give_certificate, make_officer
from workflows.demo import minimal_pdf, minimal_png, sample_form_data
from workflows.models import Dossier, DossierTask, Status
from workflows.services import work

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "Núi-cao-suối-sâu-2026"


def file_for(tmp_path, component):
    if "application/pdf" in component["content_types"]:
        path = tmp_path / f"{component['code']}.pdf"
        path.write_bytes(minimal_pdf(component["code"]))
    else:
        path = tmp_path / f"{component['code']}.png"
        path.write_bytes(minimal_png())
    return str(path)


def officer_does(dossier, stage, officer, action, **form):
    task = DossierTask.objects.get(dossier=dossier, stage=stage, status__in=work.ACTIVE)
    work.task_claim(task=task, by=officer)
    return work.task_complete(task=task, by=officer, action=action, form=form)


def fill_form(page, spec):
    values = sample_form_data(spec)
    for field in spec["fields"]:
        name, value = field["name"], values[field["name"]]
        locator = f"[name={name}]"
        if field["type"] == "ethnic_group":
            continue  # filled from the profile: checked by the caller
        if field["type"] == "choice":
            page.select_option(locator, value)
        elif field["type"] == "multichoice":
            page.check(f"{locator}[value={value[0]}]")
        elif field["type"] == "boolean":
            page.check(locator)
        else:
            page.fill(locator, str(value))


def test_a_new_citizen_from_sign_up_to_the_result(page, live_server, axe, tmp_path, signing):
    load_agencies()
    load_procedures()
    procedure = Procedure.objects.get(code="1.012843")  # certification, full online, 5 days
    province = Agency.objects.get(code="H22")
    officers = {
        role: make_officer(role, province) for role in ("reception", "specialist", "head", "signer")
    }
    # The signer's name and title are printed under the signature.
    officers["signer"].first_name, officers["signer"].last_name = "Lù Văn", "Páo"
    officers["signer"].save(update_fields=["first_name", "last_name"])
    base = live_server.url
    problems: dict[str, list] = {}

    def look(name):
        assert page.locator("html").get_attribute("lang") == "vi"
        found = axe(page)
        if found:
            problems[name] = found

    # Sign up and verify the e-mail address.
    page.goto(f"{base}/")
    look("catalog")
    page.goto(f"{base}/accounts/signup/")
    look("signup")
    assert "Đăng ký" in page.content()
    page.fill("[name=email]", "giang.a.pao@example.org")
    page.fill("[name=username]", "giangapao")
    page.fill("[name=password1]", PASSWORD)
    page.fill("[name=password2]", PASSWORD)
    page.click("main form button[type=submit]")
    page.wait_for_url(re.compile(r".*/accounts/confirm-email/$"))
    look("verification sent")
    link = re.search(r"https?://\S+/accounts/confirm-email/\S+/", mail.outbox[-1].body).group(0)
    page.goto(link)
    look("confirm e-mail")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/me/dossiers/")
    look("my dossiers (empty)")

    # The profile: the ethnic group as the citizen knows it ("Mông"), from the one list.
    page.goto(f"{base}/me/profile/")
    page.fill("#id_full_name", "Giàng A Páo")
    page.select_option("#id_ethnic_group", label="Mông")
    page.click("main form button[type=submit]")
    look("profile")

    # Find the procedure, typed without accents, and apply.
    page.goto(f"{base}/")
    page.fill("#id_q", "xac nhan nguoi dan toc thieu so")
    page.click("form.filters button[type=submit]")
    look("catalog search without accents")
    page.click(f"a[href='/procedures/{procedure.code}/']")
    look("procedure")
    page.click(f"a[href='/procedures/{procedure.code}/apply/']")
    look("where to file")
    page.check(f"#agency-{province.code.lower()}")
    page.click("main form button[type=submit]")
    look("application form")
    spec = procedure.current_version.spec
    page.fill("#applicant_name", "Giàng A Páo")
    page.fill("#applicant_phone", "0987654321")
    fill_form(page, spec)
    # "Mông" from the profile is the form's "Mông" (code 08): the field is filled.
    assert page.locator("[name=ethnic_group]").input_value() == "08"
    for component in spec["components"]:
        page.set_input_files(f"#file_{component['code']}", file_for(tmp_path, component))
    page.click("button[name=review]")
    page.wait_for_url(re.compile(r".*/review/$"))
    look("review")
    page.check("#id_declaration")
    page.click("main form button[type=submit]")
    dossier = Dossier.objects.get(applicant_user__username="giangapao")
    # The code comes at reception; until then the dossier is known by its number.
    page.wait_for_url(f"{base}/me/dossiers/{dossier.pk}/")
    look("filed dossier")
    assert dossier.status == Status.SUBMITTED
    assert dossier.code is None and f"#{dossier.pk}" in page.content()
    assert dossier.form_data["ethnic_group"] == "08"

    # The desk asks for a supplement; the citizen answers it.
    first = spec["components"][0]
    officer_does(
        dossier,
        "reception",
        officers["reception"],
        "supplement",
        reason="Hồ sơ chưa hợp lệ",
        items=[{"code": first["code"], "reason": "Bản chụp không rõ dấu"}],
    )
    page.goto(f"{base}/me/dossiers/{dossier.pk}/")
    look("dossier with a supplement request")
    assert "Bản chụp không rõ dấu" in page.content()
    page.click(f"a[href='/me/dossiers/{dossier.pk}/edit/']")
    look("supplement form")
    page.set_input_files(f"#file_{first['code']}", file_for(tmp_path, first))
    page.click("button[name=review]")
    page.check("#id_declaration")
    page.click("main form button[type=submit]")
    page.wait_for_url(f"{base}/me/dossiers/{dossier.pk}/")
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED

    # Received: the code, with the reception date, and the receipt with the lookup secret.
    dossier = officer_does(dossier, "reception", officers["reception"], "accept")
    dossier.refresh_from_db()
    assert dossier.code
    page.goto(f"{base}/me/dossiers/{dossier.pk}/receipt/")
    look("receipt")
    assert dossier.code in page.content() and dossier.lookup_secret in page.content()

    # The officers do the rest; the citizen downloads the result.
    dossier = officer_does(
        dossier,
        "review",
        officers["specialist"],
        "propose",
        decision="approve",
        opinion="Đủ điều kiện",
    )
    dossier = officer_does(dossier, "approval", officers["head"], "approve")
    give_certificate(signing, officers["signer"])
    result_sign(dossier=dossier, by=officers["signer"], password=SIGNER_PASSWORD)
    officer_does(dossier, "signing", officers["signer"], "sign")
    dossier.refresh_from_db()
    assert dossier.status == Status.ISSUED
    page.goto(f"{base}/me/dossiers/{dossier.pk}/")
    look("issued dossier")
    with page.expect_download() as download:
        page.click(f"a[href='/me/dossiers/{dossier.pk}/result/']")
    result = PdfReader(download.value.path())
    text = " ".join(" ".join((p.extract_text() or "").split()) for p in result.pages)
    assert dossier.code in text and "Giàng A Páo" in text
    # One page, signed by name and title.
    assert len(result.pages) == 1
    assert "Lù Văn Páo" in text and "TRƯỞNG BAN" in text
    assert verify_pdf(download.value.path().read_bytes()).ok

    # The public lookup, without logging in.
    page.context.clear_cookies()
    page.goto(f"{base}/lookup/")
    page.fill("#id_code", dossier.code)
    page.fill("#id_secret", dossier.lookup_secret)
    page.click("main form button[type=submit]")
    look("lookup")
    assert "Đã trả kết quả" in page.content()
    assert problems == {}, problems
