"""Generated papers: their content, rendering in the background, signing, verification and
who may download them."""

from __future__ import annotations

import io
import time

import pytest
import time_machine
from django.contrib.admin.sites import site
from django.core.exceptions import PermissionDenied
from django.urls import reverse
from pypdf import PdfReader

from documents.models import Document, DocumentStatus, Kind
from documents.services import (
    MAX_ATTEMPTS,
    current_result,
    document_render_safely,
    document_request,
    result_sign,
)
from documents.signing import SigningError
from documents.tasks import render_document
from documents.verification import verify_pdf
from tests.conftest import SIGNER_PASSWORD, give_certificate, make_officer, make_user, sign_in
from workflows import services
from workflows.clock import working_calendar
from workflows.exceptions import ActionNotAllowed
from workflows.models import Status
from workflows.services import dossiers as transitions

A5 = (419.5, 595.3)
A4 = (595.3, 841.9)


def text_of(document: Document) -> str:
    document.refresh_from_db()
    with document.file.open("rb") as handle:
        reader = PdfReader(io.BytesIO(handle.read()))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def size_of(document: Document) -> tuple[float, float]:
    with document.file.open("rb") as handle:
        box = PdfReader(io.BytesIO(handle.read())).pages[0].mediabox
    return (round(float(box.width), 1), round(float(box.height), 1))


def paper(dossier, kind) -> Document:
    document = Document.objects.get(dossier=dossier, kind=kind)
    assert document.status in (DocumentStatus.RENDERED, DocumentStatus.SIGNED), document.last_error
    return document


NAMES = {
    "reception": ("Lò Thị", "Mến"),
    "specialist": ("Vàng A", "Dình"),
    "head": ("Hoàng Văn", "Thắng"),
    "signer": ("Lù Văn", "Páo"),
}


@pytest.fixture(autouse=True)
def _named(officers):
    """Officers with Vietnamese names, so the papers show their full, accented names."""
    for role, (first, last) in NAMES.items():
        officers[role].first_name, officers[role].last_name = first, last
        officers[role].save(update_fields=["first_name", "last_name"])


@pytest.fixture
def through(walk, django_capture_on_commit_callbacks):
    """walk(status) with the after-commit work (events, rendering) run as in production."""

    def _through(status):
        with django_capture_on_commit_callbacks(execute=True):
            return walk(status)

    return _through


# --- Content -------------------------------------------------------------------------------


def test_the_receipt_holds_its_fields(through, officers):
    dossier = through(Status.RECEIVED)
    document = paper(dossier, Kind.RECEIPT)
    text = text_of(document)
    for expected in (
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ",
        dossier.code,
        dossier.applicant_name,
        dossier.applicant_phone,
        dossier.procedure_version.procedure.code,
        dossier.due_date.strftime("%d/%m/%Y"),
        "16 giờ 00 phút",
        officers["reception"].get_full_name(),
        f"{dossier.procedure_version.time_limit_days} ngày làm việc",
        document.display_code,
    ):
        assert expected in text, expected
    first_component = dossier.procedure_version.spec["components"][0]["name"]["vi"]
    assert first_component[:30] in text
    assert size_of(document) == A5


def test_the_supplement_request_names_items_reason_and_officer(through, officers):
    dossier = through(Status.SUPPLEMENT_REQUESTED)
    text = text_of(paper(dossier, Kind.SUPPLEMENT_REQUEST))
    # Asked at the desk, before reception: no code yet, the dossier's number instead.
    assert dossier.code is None
    for expected in (
        "PHIẾU YÊU CẦU BỔ SUNG, HOÀN THIỆN HỒ SƠ",
        "Mã hồ sơ: chưa cấp",
        f"số tham chiếu {dossier.reference}",
        dossier.applicant_name,
        "Thiếu giấy tờ",
        "Bản scan mờ",
        officers["reception"].get_full_name(),
    ):
        assert expected in text, expected


@pytest.mark.parametrize(
    ("status", "reason", "title"),
    [
        (Status.REJECTED_AT_RECEPTION, "Không thuộc thẩm quyền", "PHIẾU TỪ CHỐI TIẾP NHẬN HỒ SƠ"),
        (Status.REFUSED, "Không đủ tiêu chí", "PHIẾU TỪ CHỐI GIẢI QUYẾT HỒ SƠ"),
    ],
)
def test_the_refusal_notice_gives_its_reasons(through, status, reason, title):
    dossier = through(status)
    text = text_of(paper(dossier, Kind.REFUSAL))
    # Refused at the desk: it never took a number (the code is given at reception).
    code = dossier.code if status == Status.REFUSED else f"số tham chiếu {dossier.reference}"
    assert (dossier.code is None) is (status == Status.REJECTED_AT_RECEPTION)
    for expected in (title, reason, dossier.applicant_name, code):
        assert expected in text, expected


def test_the_apology_letter_gives_the_old_and_new_dates(
    through, officers, django_capture_on_commit_callbacks
):
    dossier = through(Status.IN_REVIEW)
    new_date = working_calendar().add_working_days(dossier.due_date, 3)
    with django_capture_on_commit_callbacks(execute=True):
        services.dossier_reschedule(
            dossier=dossier, by=officers["head"], new_due_date=new_date, reason="Chờ xác minh"
        )
    document = paper(dossier, Kind.APOLOGY)
    text = text_of(document)
    for expected in (
        "PHIẾU XIN LỖI VÀ HẸN LẠI NGÀY TRẢ KẾT QUẢ",
        "Chờ xác minh",
        dossier.due_date.strftime("%d/%m/%Y"),
        new_date.strftime("%d/%m/%Y"),
        officers["head"].get_full_name(),
    ):
        assert expected in text, expected
    assert size_of(document) == A5


def test_the_result_and_control_sheet_are_a4(through):
    dossier = through(Status.ISSUED)
    result = current_result(dossier)
    text = text_of(result)
    title = dossier.procedure_version.spec["result"]["title"]["vi"]
    # A decision prints its title under the heading "QUYẾT ĐỊNH" without the word again.
    assert title.removeprefix("Quyết định ").upper()[:25] in text.upper()
    assert dossier.applicant_name in text
    assert size_of(result) == A4
    sheet = paper(dossier, Kind.CONTROL_SHEET)
    sheet_text = text_of(sheet)
    assert "PHIẾU KIỂM SOÁT QUÁ TRÌNH GIẢI QUYẾT HỒ SƠ" in sheet_text
    assert dossier.code in sheet_text
    assert size_of(sheet) == A4


@pytest.mark.parametrize("template", ["decision.html", "certificate.html"])
def test_a_long_field_label_wraps_inside_its_column(through, settings, template):
    """A procedure names its own fields: a long label must wrap in the label column, not
    run over the value beside it (it did, with the column kept on one line)."""
    from django.template.loader import render_to_string
    from weasyprint import HTML

    from documents.services import _page_context

    result = current_result(through(Status.ISSUED))
    context = _page_context(result)
    label = "Số điện thoại của cha, mẹ hoặc người giám hộ hợp pháp của học sinh"
    context["form_rows"] = [*context["form_rows"], {"label": label, "value": "0912345678"}]
    html = render_to_string(f"{settings.MOTCUA['RESULT_TEMPLATE_DIR']}/{template}", context)
    page = HTML(string=html).render().pages[0]

    def boxes(box):
        yield box
        for child in getattr(box, "children", ()):
            yield from boxes(child)

    rows = [b for b in boxes(page._page_box) if b.element_tag == "tr"]
    row = next(
        r for r in rows if label[:20] in "".join(t.text for t in boxes(r) if hasattr(t, "text"))
    )
    label_cell, value_cell = (c for c in row.children if c.element_tag == "td")
    lines = [b for b in boxes(label_cell) if hasattr(b, "text")]
    assert len({round(line.position_y) for line in lines}) > 1  # wrapped
    assert all(line.position_x + line.width <= value_cell.position_x + 0.5 for line in lines), (
        "the label runs into the value's column"
    )


# --- Rendering in the background -------------------------------------------------------------


def test_rendering_twice_leaves_one_document(through):
    dossier = through(Status.RECEIVED)
    document = paper(dossier, Kind.RECEIPT)
    first = (document.file.name, document.sha256)
    assert render_document.delay(document.pk).get() == document.sha256
    render_document.delay(document.pk).get()
    again = document_request(dossier=dossier, kind=Kind.RECEIPT, source_key=document.source_key)
    assert again.pk == document.pk
    assert Document.objects.filter(dossier=dossier, kind=Kind.RECEIPT).count() == 1
    document.refresh_from_db()
    assert (document.file.name, document.sha256) == first


def test_a_failing_render_is_retried_then_shown_to_admins_who_retry_it(
    through, monkeypatch, admin_client
):
    import documents.services as document_services

    real = document_services.render_template

    def broken(*args, **kwargs):
        raise OSError("font cache unavailable")

    monkeypatch.setattr(document_services, "render_template", broken)
    dossier = through(Status.RECEIVED)
    document = Document.objects.get(dossier=dossier, kind=Kind.RECEIPT)
    assert document.status == DocumentStatus.PENDING
    assert document.attempts == 1
    # Celery's retries with backoff (the sweep, in the embedded default) try again; after
    # the last attempt it shows as failed.
    for _attempt in range(MAX_ATTEMPTS - 1):
        assert document_render_safely(document_id=document.pk) is False
    document.refresh_from_db()
    assert document.status == DocumentStatus.FAILED
    assert document.attempts == MAX_ATTEMPTS
    assert "font cache unavailable" in document.last_error
    page = admin_client.get(reverse("admin:documents_document_changelist"), {"status": "failed"})
    assert dossier.code in page.content.decode()

    monkeypatch.setattr(document_services, "render_template", real)
    response = admin_client.post(
        reverse("admin:documents_document_changelist"),
        {"action": "retry", "_selected_action": [document.pk]},
    )
    assert response.status_code == 302
    document.refresh_from_db()
    assert document.status == DocumentStatus.RENDERED
    assert document.sha256 and document.failed_at is None
    assert site._registry[Document].has_delete_permission(None) is False


# --- Signing -----------------------------------------------------------------------------------


@pytest.fixture
def approved(through, signing, officers):
    dossier = through(Status.APPROVED)
    give_certificate(signing, officers["signer"])
    return dossier


def signed_bytes(document: Document) -> bytes:
    document.refresh_from_db()
    with document.file.open("rb") as handle:
        return handle.read()


def test_a_signed_result_validates_intact_and_trusted(approved, officers):
    document = result_sign(
        dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD, seal=True
    )
    assert [s["role"] for s in document.signatures] == ["official", "seal"]
    data = signed_bytes(document)
    report = verify_pdf(data)
    assert report.ok, report
    assert len(report.signatures) == 2
    official, seal = report.signatures
    assert official.signer == officers["signer"].get_full_name()
    assert official.intact and official.trusted and not official.changed_after
    assert seal.signer == "Ban Dân tộc H22"
    assert official.valid_at_signing and official.signed_at is not None
    assert "motcua Dev Root CA" in official.issuer
    # pyHanko's own validator, directly.
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from documents.verification import trust_roots

    reader = PdfFileReader(io.BytesIO(data))
    for embedded in reader.embedded_signatures:
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=trust_roots()))
        assert status.intact and status.valid and status.trusted
        assert status.bottom_line


def test_one_changed_byte_inside_the_signed_range_breaks_the_signature(approved, officers):
    document = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    data = bytearray(signed_bytes(document))
    # A byte of the page content, well inside the first signature's byte range.
    position = data.index(b"stream") + 40
    data[position] ^= 0x01
    report = verify_pdf(bytes(data))
    assert not report.ok
    assert not report.signatures[0].intact


def test_an_incremental_update_after_signing_is_reported(approved, officers):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    document = result_sign(
        dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD, seal=False
    )
    writer = IncrementalPdfFileWriter(io.BytesIO(signed_bytes(document)))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)  # a visible change to the signed page
    writer.update_container(page)
    changed = io.BytesIO()
    writer.write(changed)
    report = verify_pdf(changed.getvalue())
    assert report.signatures[0].intact  # its own bytes are untouched...
    assert report.signatures[0].changed_after  # ...but the document was changed after it
    assert not report.ok


def test_an_untrusted_signer_is_reported(approved, officers, settings):
    document = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    data = signed_bytes(document)
    settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"] = []
    report = verify_pdf(data)
    assert report.signatures[0].intact
    assert not report.signatures[0].trusted
    assert not report.ok


def test_signing_needs_the_right_password_the_role_and_an_approved_result(
    approved, officers, outsiders, through
):
    with pytest.raises(SigningError):
        result_sign(dossier=approved, by=officers["signer"], password="wrong", seal=False)
    with pytest.raises(PermissionDenied):
        result_sign(dossier=approved, by=outsiders["signer"], password=SIGNER_PASSWORD)
    with pytest.raises(PermissionDenied):
        result_sign(dossier=approved, by=officers["head"], password=SIGNER_PASSWORD)
    without = make_officer("signer", approved.handling_agency)
    with pytest.raises(SigningError):
        result_sign(dossier=approved, by=without, password="x", seal=False)
    current_result(approved).refresh_from_db()
    assert current_result(approved).status == DocumentStatus.RENDERED
    in_review = through(Status.IN_REVIEW)
    with pytest.raises(ActionNotAllowed):
        result_sign(dossier=in_review, by=officers["signer"], password=SIGNER_PASSWORD)


def test_the_seal_alone_can_sign(approved, officers):
    document = result_sign(dossier=approved, by=officers["signer"], personal=False, seal=True)
    assert [s["role"] for s in document.signatures] == ["seal"]
    assert verify_pdf(signed_bytes(document)).ok


def test_standard_forms_are_sealed_when_the_agency_has_a_seal(through, signing):
    dossier = through(Status.RECEIVED)
    document = paper(dossier, Kind.RECEIPT)
    assert document.status == DocumentStatus.SIGNED
    assert verify_pdf(signed_bytes(document)).ok


# --- Verification page -------------------------------------------------------------------------


@pytest.fixture
def signed(approved, officers):
    """A result signed and issued: the signing step completed after the signature."""
    document = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    transitions.dossier_sign(dossier=approved, by=officers["signer"])
    transitions.dossier_issue(dossier=approved)
    document.refresh_from_db()
    return document


def test_the_verification_page_tells_genuine_from_tampered(client, signed):
    data = signed_bytes(signed)
    page = client.post(
        reverse("documents:verify_check"),
        {"file": _upload("result.pdf", data)},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "Valid: every signature is intact and trusted" in html
    assert signed.dossier.code in html  # recognised as issued here

    tampered = bytearray(data)
    tampered[tampered.index(b"stream") + 40] ^= 0x01
    page = client.post(
        reverse("documents:verify_check"),
        {"file": _upload("result.pdf", bytes(tampered))},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    html = page.content.decode()
    assert "Not valid" in html
    assert "the signed content was altered" in html


def test_the_verification_page_speaks_vietnamese(client, signed):
    client.cookies["django_language"] = "vi"
    page = client.post(
        reverse("documents:verify_check"), {"file": _upload("kq.pdf", signed_bytes(signed))}
    )
    html = page.content.decode()
    assert "Hợp lệ" in html
    assert "Người ký" in html


def test_the_verification_page_refuses_what_is_not_a_pdf(client, db):
    for name, data in (
        ("fake.pdf", b"MZ\x90\x00 not a pdf at all"),
        ("empty.pdf", b""),
    ):
        page = client.post(reverse("documents:verify_check"), {"file": _upload(name, data)})
        assert page.status_code == 400
    page = client.post(reverse("documents:verify_check"), {})
    assert page.status_code == 400
    # A PDF header with garbage behind it is read, and reported unreadable, not a 500.
    page = client.post(
        reverse("documents:verify_check"), {"file": _upload("x.pdf", b"%PDF-1.7\n garbage")}
    )
    assert page.status_code == 200
    assert "could not be read" in page.content.decode() or "không đọc được" in page.content.decode()


def test_the_code_page_shows_public_facts_only(client, signed):
    dossier = signed.dossier
    page = client.get(reverse("documents:verify_code", args=[signed.verification_code]))
    html = page.content.decode()
    assert page.status_code == 200
    for expected in (signed.sha256, dossier.code, dossier.handling_agency.name):
        assert expected in html
    for private in (
        dossier.applicant_name,
        dossier.applicant_phone,
        dossier.applicant_email,
        signed.signatures[0]["name"],  # the official is named on the paper, not here
    ):
        assert private not in html
    # The code can be typed with a dash and in lower case.
    response = client.post(reverse("documents:verify"), {"code": signed.display_code.lower()})
    assert response.status_code == 302
    assert client.get(reverse("documents:verify_code", args=["ZZZZZZZZZZ"])).status_code == 404
    assert client.post(reverse("documents:verify"), {"code": "short"}).status_code == 400


def test_the_qr_code_in_the_pdf_leads_to_the_code_page(signed):
    text = text_of(signed)
    assert f"/verify/{signed.verification_code}/" in text.replace(" ", "")


# --- Access ------------------------------------------------------------------------------------


def test_who_may_download_a_document(client, signed, citizen, officers, outsiders):
    url = reverse("documents:download", args=[signed.pk])
    by_code = reverse("documents:verify_download", args=[signed.verification_code])
    sign_in(client, citizen)
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content) == signed_bytes(signed)
    for officer in (officers["reception"], officers["signer"], officers["supervisor"]):
        sign_in(client, officer)
        assert client.get(url).status_code == 200, officer
    for stranger in (make_user(), outsiders["reception"], outsiders["supervisor"]):
        sign_in(client, stranger)
        assert client.get(url).status_code == 404, stranger
    client.logout()
    assert client.get(url).status_code == 404
    assert client.get(reverse("documents:download", args=[999999])).status_code == 404
    # Anyone holding the verification code, within the rate limit. The clock stands still
    # so that all the calls fall in one of django-ratelimit's fixed windows: one that ends
    # halfway would restart the count, and no call would be refused.
    with time_machine.travel(time.time(), tick=False):
        assert client.get(by_code).status_code == 200
        statuses = [client.get(by_code).status_code for _i in range(25)]
    assert 429 in statuses


def test_an_unsigned_result_is_not_the_applicants_yet(client, approved, citizen, officers):
    document = current_result(approved)
    url = reverse("documents:download", args=[document.pk])
    sign_in(client, citizen)
    assert client.get(url).status_code == 404
    assert (
        client.get(reverse("documents:verify_code", args=[document.verification_code])).status_code
        == 404
    )
    sign_in(client, officers["signer"])
    assert client.get(url).status_code == 200


# --- Through the pages -------------------------------------------------------------------------


def test_the_signer_signs_from_the_task_page(
    client, signing, officers, citizen, procedure, province, django_capture_on_commit_callbacks
):
    """The flow's signing task: the officer types the certificate password; the result
    is signed and sealed, the dossier issued, and the citizen downloads the signed PDF."""
    from tests.workspace.test_path import login
    from workflows.models import DossierTask

    give_certificate(signing, officers["signer"])
    dossier = _flow_to_signing(
        procedure, province, officers, citizen, django_capture_on_commit_callbacks
    )
    task = DossierTask.objects.get(dossier=dossier, stage="signing", status="NEW")
    login(client, officers["signer"])
    client.post(reverse("workspace:claim", args=[task.pk]))
    page = client.get(reverse("workspace:task", args=[task.pk])).content.decode()
    assert 'id="id_sign-password"' in page and 'type="password"' in page
    wrong = client.post(
        reverse("workspace:act", args=[task.pk]),
        {"action": "sign", "sign-personal": "on", "sign-password": "nope", "sign-seal": "on"},
    )
    assert wrong.status_code == 400
    body = wrong.content.decode()
    assert "check the password" in body or "kiểm tra mật khẩu" in body
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            reverse("workspace:act", args=[task.pk]),
            {
                "action": "sign",
                "sign-personal": "on",
                "sign-password": SIGNER_PASSWORD,
                "sign-seal": "on",
            },
        )
    assert done.status_code == 302, done.content.decode()[:2000]
    dossier.refresh_from_db()
    assert dossier.status == Status.ISSUED
    result = current_result(dossier)
    assert result.status == DocumentStatus.SIGNED
    assert verify_pdf(signed_bytes(result)).ok
    # The control sheet: one row per officer's stage, with its hand-over and its result.
    sheet = text_of(paper(dossier, Kind.CONTROL_SHEET))
    # Each stage by the name the procedure's file gives it.
    for stage in dossier.procedure_version.spec["stages"]:
        assert stage["name"]["vi"] in " ".join(sheet.split()), stage["code"]
    for role in ("reception", "specialist", "head", "signer"):
        assert officers[role].get_full_name() in sheet, role
    # Four stages and the dossier as a whole, each early, on time or late.
    assert sheet.count("Trước hạn") + sheet.count("Đúng hạn") + sheet.count("Quá hạn") == 5
    sign_in(client, citizen)
    response = client.get(reverse("portal:result", args=[dossier.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    page = client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert reverse("documents:download", args=[result.pk]) in page


def test_an_official_uploads_a_certificate(client, signing, officers):
    from documents import pki
    from documents.models import SignerCredential

    signer = officers["signer"]
    data = pki.signer_pkcs12(signing["ca"], name="A", organisation="B", password=b"pw-123456")
    sign_in(client, signer)
    url = reverse("workspace:certificate")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"file": _upload("me.p12", data), "password": "wrong"})
    assert bad.status_code == 400
    assert not SignerCredential.objects.filter(user=signer).exists()
    junk = client.post(url, {"file": _upload("me.p12", b"not a certificate"), "password": "x"})
    assert junk.status_code == 400
    # A key in clear is refused: motcua keeps only files its owner's password protects.
    from cryptography.hazmat.primitives.serialization import NoEncryption, pkcs12

    issued = pki.issue(signing["ca"], common_name="A", organisation="B")
    clear = pkcs12.serialize_key_and_certificates(
        b"a", issued.key, issued.certificate, None, NoEncryption()
    )
    unprotected = client.post(url, {"file": _upload("me.p12", clear), "password": "anything"})
    assert unprotected.status_code == 400
    assert not SignerCredential.objects.filter(user=signer).exists()
    ok = client.post(url, {"file": _upload("me.p12", data), "password": "pw-123456"})
    assert ok.status_code == 302
    credential = SignerCredential.objects.get(user=signer, active=True)
    assert bytes(credential.pkcs12) == data
    stored = [str(getattr(credential, f.attname)) for f in SignerCredential._meta.fields]
    assert not any("pw-123456" in value for value in stored)


def test_make_dev_pki_creates_ca_seals_and_a_signer(settings, tmp_path, officers):
    from django.core.management import call_command

    from documents.models import SignerCredential

    settings.MOTCUA["DOCUMENTS"]["TRUST_ROOTS"] = [str(tmp_path / "pki" / "ca.pem")]
    settings.MOTCUA["DOCUMENTS"]["SEAL_DIR"] = str(tmp_path / "pki" / "seals")
    call_command("make_dev_pki", "--signer", officers["signer"].username, "--password", "pw")
    assert (tmp_path / "pki" / "ca.pem").is_file()
    assert (tmp_path / "pki" / "seals" / "H22.p12").is_file()
    assert SignerCredential.objects.filter(user=officers["signer"], active=True).count() == 1
    ca = (tmp_path / "pki" / "ca.pem").read_bytes()
    call_command("make_dev_pki")  # again: keeps the CA
    assert (tmp_path / "pki" / "ca.pem").read_bytes() == ca


# --- helpers -----------------------------------------------------------------------------------


def _upload(name, data):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data, content_type="application/pdf")


def _flow_to_signing(procedure, province, officers, citizen, capture):
    """File a dossier and walk the standard flow's tasks up to signing, by the services."""
    from tests.conftest import new_draft
    from tests.workflows.test_flows import act
    from workflows.services import work

    with capture(execute=True):
        dossier = new_draft(procedure, province, citizen)
        dossier = work.application_submit(dossier=dossier, by=citizen)
        dossier = act(dossier, "reception", officers["reception"], "accept", comment="")
        dossier = act(
            dossier, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ"
        )
        return act(dossier, "approval", officers["head"], "approve", comment="")


def test_a_timestamp_server_when_configured(approved, officers, monkeypatch, signing):
    """With MOTCUA_TIMESTAMP_URL set, each signature carries an RFC 3161 token; here the
    timestamp authority is pyHanko's in-process one, with a certificate from the test CA."""
    import datetime as dt

    import documents.signing as signing_module
    from tests.conftest import make_timestamper

    stamped_at = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(minutes=5)
    tsa = make_timestamper(signing["ca"], fixed_dt=stamped_at)
    monkeypatch.setattr(signing_module, "timestamper", lambda: tsa)
    document = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    report = verify_pdf(signed_bytes(document))
    assert report.ok
    assert all(s.timestamped for s in report.signatures)
    assert report.signatures[0].signed_at == stamped_at


def test_a_signer_backend_can_be_plugged_in(approved, officers, settings, signing):
    """A hardware token or remote service registers a backend and is chosen in settings."""
    from documents import pki
    from documents.signing import SignerBackend, open_pkcs12, register

    token = pki.signer_pkcs12(
        signing["ca"], name="Token Holder", organisation="HSM", password=b"pin-0000"
    )

    @register("test-token")
    class TokenBackend(SignerBackend):
        def signer(self, *, password, **kwargs):
            return open_pkcs12(token, password)

    settings.MOTCUA["DOCUMENTS"]["SIGNER_BACKEND"] = "test-token"
    document = result_sign(dossier=approved, by=officers["signer"], password="pin-0000", seal=False)
    report = verify_pdf(signed_bytes(document))
    assert report.ok
    assert report.signatures[0].signer == "Token Holder"


def test_signing_again_adds_nothing(approved, officers):
    """A double click, or a retry after the task failed to complete: one signature each."""
    first = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    data = signed_bytes(first)
    again = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    assert again.pk == first.pk
    assert [s["role"] for s in again.signatures] == ["official", "seal"]
    assert signed_bytes(again) == data
    assert len(verify_pdf(data).signatures) == 2


def test_a_signed_result_stays_private_until_the_dossier_is_issued(
    client, approved, officers, citizen
):
    document = result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
    sign_in(client, citizen)
    assert client.get(reverse("documents:download", args=[document.pk])).status_code == 404
    code_page = reverse("documents:verify_code", args=[document.verification_code])
    assert client.get(code_page).status_code == 404
    link = reverse("documents:download", args=[document.pk])
    dossier_page = reverse("portal:dossier", args=[approved.pk])
    assert link not in client.get(dossier_page).content.decode()  # not listed either
    transitions.dossier_sign(dossier=approved, by=officers["signer"])
    transitions.dossier_issue(dossier=approved)
    assert client.get(link).status_code == 200
    assert client.get(code_page).status_code == 200
    assert link in client.get(dossier_page).content.decode()


def test_a_certificate_from_an_untrusted_authority_is_refused(client, signing, officers):
    from documents import pki
    from documents.models import SignerCredential

    stranger_ca = pki.make_ca(common_name="Self-made CA")
    data = pki.signer_pkcs12(stranger_ca, name="Mallory", organisation="X", password=b"pw")
    sign_in(client, officers["signer"])
    response = client.post(
        reverse("workspace:certificate"), {"file": _upload("me.p12", data), "password": "pw"}
    )
    assert response.status_code == 400
    assert "trusted" in response.content.decode() or "tin cậy" in response.content.decode()
    assert not SignerCredential.objects.filter(user=officers["signer"]).exists()


def test_a_key_only_integrity_protected_is_refused(tmp_path, signing, officers):
    """openssl can make a PKCS#12 whose password only guards its checksum, with the key
    itself in clear: refused, like a file without a password."""
    import shutil
    import subprocess

    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat
    from django.core.exceptions import ValidationError

    from documents import pki
    from documents.services import credential_upload

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    issued = pki.issue(signing["ca"], common_name="A", organisation="B")
    (tmp_path / "k.pem").write_bytes(
        issued.key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    )
    (tmp_path / "c.pem").write_bytes(issued.pem())
    subprocess.run(  # noqa: S603 - fixed arguments
        [  # noqa: S607
            "openssl",
            "pkcs12",
            "-export",
            "-keypbe",
            "NONE",
            "-certpbe",
            "NONE",
            "-inkey",
            str(tmp_path / "k.pem"),
            "-in",
            str(tmp_path / "c.pem"),
            "-out",
            str(tmp_path / "m.p12"),
            "-passout",
            "pass:pw",
        ],
        check=True,
    )
    with pytest.raises(ValidationError):
        credential_upload(
            user=officers["signer"], data=(tmp_path / "m.p12").read_bytes(), password="pw"
        )


def test_a_paper_stays_valid_after_its_certificate_expires(client, signed):
    """Checked as of motcua's own record of when it signed, a genuine result is still
    valid years later; an unknown copy is judged as of today."""
    import datetime as dt

    import time_machine

    data = signed_bytes(signed)
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(days=900), tick=False):
        assert not verify_pdf(data).signatures[0].trusted  # the certificate has expired
        page = client.post(
            reverse("documents:verify_check"),
            {"file": _upload("kq.pdf", data)},
            HTTP_ACCEPT_LANGUAGE="en",
        )
    assert "Valid: every signature is intact and trusted" in page.content.decode()


def test_a_paper_rendered_late_says_what_happened_then(
    walk, officers, citizen, django_capture_on_commit_callbacks
):
    """Two supplement rounds (the desk's, then appraisal's) before the first event is
    handled (a queue outage): the first request's paper still lists the first request's
    items, read from its own entry."""
    from workflows.models import OutgoingEvent

    dossier = walk(Status.SUPPLEMENT_REQUESTED)  # after-commit work not run: no papers yet
    first = OutgoingEvent.objects.filter(dossier=dossier, name="dossier.request_supplement").get()
    dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
    dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    dossier = transitions.dossier_start_review(dossier=dossier, by=officers["specialist"])
    second_component = dossier.procedure_version.spec["components"][1]["code"]
    transitions.dossier_request_supplement(
        dossier=dossier,
        by=officers["specialist"],
        reason="Yêu cầu lần hai",
        items=[{"code": second_component, "reason": "Thiếu chữ ký xác nhận"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        document = document_request(
            dossier=dossier,
            kind=Kind.SUPPLEMENT_REQUEST,
            source_key=f"event:{first.pk}",
            event=first,
        )
    text = text_of(document)
    assert "Thiếu giấy tờ" in text and "Bản scan mờ" in text
    assert "Yêu cầu lần hai" not in text and "Thiếu chữ ký xác nhận" not in text
