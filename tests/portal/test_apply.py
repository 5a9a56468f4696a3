"""Applying online, tracking, answering a supplement, withdrawing, the result, and the
public lookup, through the pages a citizen uses."""

from __future__ import annotations

import gzip
import re
import time
from pathlib import Path

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation

from portal.models import CitizenProfile
from tests.conftest import make_user, sign_in
from workflows.demo import minimal_pdf, minimal_png, sample_form_data
from workflows.models import Dossier, DossierTask, Status
from workflows.services import dossiers as transitions
from workflows.services import work


def upload_for(component, name=None):
    if "application/pdf" in component["content_types"]:
        return SimpleUploadedFile(
            name or f"{component['code']}.pdf", minimal_pdf(), "application/pdf"
        )
    return SimpleUploadedFile(name or f"{component['code']}.png", minimal_png(), "image/png")


@pytest.fixture
def applicant(citizen):
    citizen.email = "citizen@example.org"
    citizen.save()
    CitizenProfile.objects.create(
        user=citizen,
        full_name="Lò Thị Mai",
        id_number="001190012345",
        phone="0912345678",
        province="Lào Cai",
        commune="Xã Cốc San",
        address="Bản Cốc Lếu",
        ethnic_group="02",
        date_of_birth="1990-05-12",
    )
    return citizen


def start(client, procedure):
    page = client.get(reverse("portal:apply", args=[procedure.code]))
    assert page.status_code == 200
    key = re.search(r'name="filing_key" value="([^"]+)"', page.content.decode()).group(1)
    return page, key


def full_post(procedure, province, key=None, **extra):
    spec = procedure.current_version.spec
    data = {
        "agency": province.code,
        "applicant_name": "Lò Thị Mai",
        "applicant_id_number": "001190012345",
        "applicant_phone": "0912345678",
        "applicant_address": "Bản Cốc Lếu",
        "applicant_email": "citizen@example.org",
        **sample_form_data(spec),
        **extra,
    }
    if key:
        data["filing_key"] = key
    for component in spec["components"]:
        data[f"file_{component['code']}"] = upload_for(component)
    return data


def test_the_form_is_filled_from_the_profile(client, applicant, procedure):
    sign_in(client, applicant)
    page, _ = start(client, procedure)
    body = page.content.decode()
    assert 'value="Lò Thị Mai"' in body and 'value="001190012345"' in body
    assert 'value="1990-05-12"' in body  # date_of_birth field
    assert '<option value="02" selected>Tày</option>' in body  # ethnic group, from the profile


def test_errors_keep_what_was_typed_and_uploaded(client, applicant, procedure, province):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    spec = procedure.current_version.spec
    first, second = spec["components"][0], spec["components"][1]
    response = client.post(
        reverse("portal:apply", args=[procedure.code]),
        {
            "filing_key": key,
            "agency": province.code,
            "applicant_name": "Lò Thị Mai",
            "full_name": "Lò Thị Mai",
            "citizen_id": "12ab",
            f"file_{first['code']}": upload_for(first, name="../../etc/passwd"),
            f"file_{second['code']}": SimpleUploadedFile("photo.pdf", b"<script>alert(1)</script>"),
            "review": "1",
        },
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "12ab" in body  # typed value kept, shown next to its error
    assert 'class="field-error"' in body and "error-summary" in body
    dossier = Dossier.objects.get(filing_key=key)
    kept = dossier.components.get(component_code=first["code"])
    assert "passwd" not in kept.file.name and ".." not in kept.file.name
    assert not dossier.components.filter(component_code=second["code"]).exists()
    # Resume later from "my dossiers": the draft and its file are there.
    page = client.get(reverse("portal:edit", args=[dossier.pk])).content.decode()
    assert kept.original_name in page and "12ab" in page


def test_oversized_upload_is_refused_with_a_message(client, applicant, procedure, province):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    component = procedure.current_version.spec["components"][0]
    big = SimpleUploadedFile(
        "big.pdf", minimal_pdf() + b"0" * (component["max_size_mb"] << 20), "application/pdf"
    )
    response = client.post(
        reverse("portal:apply", args=[procedure.code]),
        {
            "filing_key": key,
            "agency": province.code,
            f"file_{component['code']}": big,
        },
    )
    assert response.status_code == 400
    assert not Dossier.objects.get(filing_key=key).components.exists()


def test_apply_review_declare_file_and_receipt(client, applicant, procedure, province, officers):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    url = reverse("portal:apply", args=[procedure.code])
    response = client.post(url, full_post(procedure, province, key, review="1"))
    dossier = Dossier.objects.get(filing_key=key)
    assert response.status_code == 302 and response.url == reverse(
        "portal:review", args=[dossier.pk]
    )
    review = client.get(response.url)
    assert "Lò Thị Mai" in review.content.decode()
    # The declaration is required.
    assert client.post(response.url, {}).status_code == 400
    assert Dossier.objects.get(pk=dossier.pk).status == Status.DRAFT
    filed = client.post(response.url, {"declaration": "on"})
    assert filed.status_code == 302 and filed.url == reverse("portal:dossier", args=[dossier.pk])
    dossier.refresh_from_db()
    # Filed, not yet received: no code, no lookup code, no receipt (Decree 61 art. 26).
    assert dossier.status == Status.SUBMITTED and dossier.code is None
    assert dossier.lookup_secret == ""
    page = client.get(filed.url).content.decode()
    assert f"#{dossier.pk}" in page and dossier.code_label in page
    assert re.search(r"\d{2}/\d{2}/\d{4}", page)  # the expected appointment date
    receipt_url = reverse("portal:receipt", args=[dossier.pk])
    assert client.get(receipt_url).status_code == 404
    dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    receipt = client.get(receipt_url).content.decode()
    assert dossier.code in receipt and dossier.lookup_secret in receipt
    assert re.search(r"\d{2}/\d{2}/\d{4}", receipt)  # the appointment date
    # Submitting twice (double click, refresh, back) makes one dossier.
    client.post(url, full_post(procedure, province, key, review="1"))
    client.post(reverse("portal:review", args=[dossier.pk]), {"declaration": "on"})
    assert Dossier.objects.filter(applicant_user=applicant).count() == 1
    assert DossierTask.objects.filter(dossier=dossier, stage="reception").count() == 1


def test_supplement_answer_withdraw_and_track(client, applicant, procedure, province, officers):
    sign_in(client, applicant)
    _, key = start(client, procedure)
    client.post(
        reverse("portal:apply", args=[procedure.code]),
        full_post(procedure, province, key, review="1"),
    )
    dossier = Dossier.objects.get(filing_key=key)
    client.post(reverse("portal:review", args=[dossier.pk]), {"declaration": "on"})
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    component = procedure.current_version.spec["components"][0]
    work.task_claim(task=task, by=officers["reception"])
    work.task_complete(
        task=task,
        by=officers["reception"],
        action="supplement",
        form={
            "reason": "Hồ sơ chưa hợp lệ",
            "items": [{"code": component["code"], "reason": "Bản chụp không rõ chữ ký"}],
        },
    )
    page = client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Bản chụp không rõ chữ ký" in page and "Hồ sơ chưa hợp lệ" in page
    # Fix it and file again: the dossier goes back to the desk.
    edit = reverse("portal:edit", args=[dossier.pk])
    response = client.post(edit, {**full_post(procedure, province), "review": "1"})
    assert response.status_code == 302
    assert (
        client.post(reverse("portal:review", args=[dossier.pk]), {"declaration": "on"}).status_code
        == 302
    )
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
    assert DossierTask.objects.filter(dossier=dossier, stage="reception", status="NEW").exists()
    # My dossiers: the status in plain words.
    mine = client.get(reverse("portal:my_dossiers")).content.decode()
    # Not received yet: named by its number, with why it has no code.
    assert f'">{dossier.code_label}</a>' in mine and f"#{dossier.pk} · " in dossier.code_label
    # Withdraw: needs the confirmation; then the open task is cancelled.
    url = reverse("portal:withdraw", args=[dossier.pk])
    client.post(url, {})
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
    client.post(url, {"confirm": "on", "reason": "Không còn nhu cầu"})
    dossier.refresh_from_db()
    assert dossier.status == Status.WITHDRAWN
    assert not DossierTask.objects.filter(dossier=dossier, status__in=work.ACTIVE).exists()


def test_result_after_issue(client, walk, citizen, officers, signing):
    """The signed PDF, once issued; an issued dossier whose result was never signed (made
    by the services alone) has none to give."""
    import io

    from pypdf import PdfReader

    from documents.services import result_sign

    dossier = walk(Status.APPROVED)
    sign_in(client, citizen)
    assert client.get(reverse("portal:result", args=[dossier.pk])).status_code == 404
    result_sign(dossier=dossier, by=officers["signer"], personal=False, seal=True)
    transitions.dossier_sign(dossier=dossier, by=officers["signer"])
    transitions.dossier_issue(dossier=dossier)
    response = client.get(reverse("portal:result", args=[dossier.pk]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    reader = PdfReader(io.BytesIO(b"".join(response.streaming_content)))
    assert dossier.code in reader.pages[0].extract_text()
    unsigned = walk(Status.ISSUED)
    assert client.get(reverse("portal:result", args=[unsigned.pk])).status_code == 404
    in_review = walk(Status.IN_REVIEW)
    assert client.get(reverse("portal:result", args=[in_review.pk])).status_code == 404


def test_another_citizens_ids_are_404(client, walk, citizen):
    dossier = walk(Status.SUBMITTED)
    component = dossier.components.first()
    sign_in(client, make_user())
    for url in (
        reverse("portal:dossier", args=[dossier.pk]),
        reverse("portal:edit", args=[dossier.pk]),
        reverse("portal:review", args=[dossier.pk]),
        reverse("portal:receipt", args=[dossier.pk]),
        reverse("portal:result", args=[dossier.pk]),
        reverse("portal:file", args=[dossier.pk, component.pk]),
    ):
        assert client.get(url).status_code == 404, url
    assert (
        client.post(reverse("portal:withdraw", args=[dossier.pk]), {"confirm": "on"}).status_code
        == 404
    )
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
    sign_in(client, citizen)
    assert client.get(reverse("portal:file", args=[dossier.pk, component.pk])).status_code == 200


def test_public_lookup_shows_status_and_dates_only(client, walk, settings):
    dossier = walk(Status.RECEIVED)
    url = reverse("portal:lookup")
    response = client.post(url, {"code": dossier.code.lower(), "secret": dossier.lookup_secret})
    body = response.content.decode()
    assert response.status_code == 200 and dossier.code in body
    assert dossier.applicant_name not in body and dossier.applicant_id_number not in body
    wrong = client.post(url, {"code": dossier.code, "secret": "WRONG123"})
    assert wrong.status_code == 400 and dossier.get_status_display() not in wrong.content.decode()


def test_public_lookup_is_rate_limited(client, walk):
    from django.core.cache import cache

    cache.clear()
    dossier = walk(Status.RECEIVED)
    url = reverse("portal:lookup")
    with time_machine.travel(time.time(), tick=False):  # all in one fixed window
        codes = [
            client.post(url, {"code": dossier.code, "secret": "X"}).status_code for _ in range(12)
        ]
    assert codes[:10] == [400] * 10 and codes[10:] == [429, 429]


def test_catalog_search_and_procedure_page(client, catalog):
    from procedures.models import Agency

    home = reverse("portal:home")
    assert "1.012841" in client.get(home, {"q": "uy tín"}).content.decode()
    assert "1.012842" not in client.get(home, {"q": "uy tín"}).content.decode()
    assert "1.012843" in client.get(home, {"q": "1.012843"}).content.decode()
    central = client.get(home, {"agency": "G16"}).content.decode()
    assert "1.012844" in central and "1.012841" not in central
    assert "1.012841" in client.get(home, {"agency": "H22"}).content.decode()
    assert "1.012841" in client.get(home, {"sector": "Công tác dân tộc"}).content.decode()
    assert client.get(home, {"agency": "nope", "sector": "x" * 500}).status_code == 200
    page = client.get(reverse("portal:procedure", args=["1.012841"])).content.decode()
    for text in ("15", "Quyết định số 12/2018", "Không thu phí"):
        assert text in page
    assert reverse("portal:apply", args=["1.012841"]) in page
    assert client.get(reverse("portal:procedure", args=["9.9"])).status_code == 404
    assert Agency.objects.exists()


CITIZEN_PAGES = ["portal:home", "portal:lookup", "portal:my_dossiers", "portal:profile"]


def test_citizen_pages_are_light_and_need_no_javascript(client, walk, citizen):
    """Each page with its stylesheet, compressed, stays under 60 KB; no page carries a
    script; every visible input has a label."""
    from django.contrib.staticfiles import finders

    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    received = walk(Status.RECEIVED)  # a receipt comes with the reception
    sign_in(client, citizen)
    css = Path(finders.find("css/motcua.css")).read_bytes()
    urls = [reverse(name) for name in CITIZEN_PAGES] + [
        reverse("portal:procedure", args=[dossier.procedure_version.procedure.code]),
        reverse("portal:apply", args=[dossier.procedure_version.procedure.code]),
        reverse("portal:dossier", args=[dossier.pk]),
        reverse("portal:edit", args=[dossier.pk]),
        reverse("portal:receipt", args=[received.pk]),
    ]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        html = response.content
        size = len(gzip.compress(html)) + len(gzip.compress(css))
        assert size <= 60 * 1024, (url, size)
        text = html.decode()
        assert "<script" not in text, url
        assert 'name="viewport"' in text
        inputs = re.findall(r'<(?:input|select|textarea)\b[^>]*\bid="([^"]+)"', text)
        hidden = set(re.findall(r'<input\b[^>]*type="hidden"[^>]*id="([^"]+)"', text))
        for input_id in set(inputs) - hidden:
            assert f'for="{input_id}"' in text, (url, input_id)


def _selected(body: str, name: str) -> str | None:
    select = re.search(rf'<select name="{name}".*?</select>', body, re.S)
    chosen = re.search(r'<option value="([^"]*)" selected>', select.group(0)) if select else None
    return chosen.group(1) if chosen else None


def test_a_profile_with_mong_fills_the_form_and_the_dossier_is_filed(
    client, applicant, procedure, province
):
    # Before the one list, the profile's "Mông" matched no choice of the form ("H'Mông"):
    # the field stayed empty and filing failed on it.
    CitizenProfile.objects.filter(user=applicant).update(ethnic_group="08")
    sign_in(client, applicant)
    page, key = start(client, procedure)
    body = page.content.decode()
    assert '<option value="08" selected>Mông</option>' in body
    # The browser sends what the page holds: the group as the profile filled it.
    post = full_post(procedure, province, key, review="1")
    post["ethnic_group"] = _selected(body, "ethnic_group")
    response = client.post(reverse("portal:apply", args=[procedure.code]), post)
    dossier = Dossier.objects.get(filing_key=key)
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert client.post(response.url, {"declaration": "on"}).status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED
    assert dossier.form_data["ethnic_group"] == "08"
    from workflows.selectors import dossier_form_rows

    with translation.override("vi"):
        assert ("Dân tộc", "Mông") in [(r.label, r.value) for r in dossier_form_rows(dossier)]


def test_a_version_from_before_the_one_list_is_filled_by_name(applicant):
    """A draft under a version loaded before the one list keeps that version's choices;
    its form is still filled from the profile, by the group's name or older spelling."""
    from portal.views import _profile_prefill

    CitizenProfile.objects.filter(user=applicant).update(ethnic_group="08")
    spec = {
        "fields": [
            {
                "name": "ethnic_group",
                "type": "choice",
                "choices": [
                    {"value": "tay", "label": {"vi": "Tày", "en": "Tay"}},
                    {"value": "hmong", "label": {"vi": "H'Mông", "en": "Hmong"}},
                    {"value": "other", "label": {"vi": "Dân tộc khác", "en": "Other"}},
                ],
            }
        ]
    }
    assert _profile_prefill(applicant, spec)[1] == {"ethnic_group": "hmong"}
    CitizenProfile.objects.filter(user=applicant).update(ethnic_group="05")  # Khmer: absent
    assert _profile_prefill(applicant, spec)[1] == {}


def test_two_photographs_are_kept_listed_and_a_third_refused(
    client, applicant, province, officers, catalog
):
    """The housing procedure's photographs of the house are ``count: 2``: both are kept and
    shown to the citizen and to the desk; a third is refused with a message."""
    import io

    from PIL import Image

    from procedures.models import Procedure
    from tests.conftest import new_draft

    def photo(shade):
        out = io.BytesIO()
        Image.new("RGB", (2, 2), (shade, 90, 30)).save(out, format="PNG")
        return SimpleUploadedFile(f"nha-{shade}.png", out.getvalue(), "image/png")

    housing = Procedure.objects.get(code="1.012842")
    dossier = new_draft(housing, province, applicant)
    photos = "current_housing_photos"
    dossier.components.filter(component_code=photos).delete()
    sign_in(client, applicant)
    edit = reverse("portal:edit", args=[dossier.pk])
    form = client.get(edit).content.decode()
    assert f'name="file_{photos}"' in form and "multiple" in form

    def post(photos_sent, **extra):
        data = full_post(housing, province, save="1", **extra)
        data[f"file_{photos}"] = photos_sent
        return client.post(edit, data)

    response = post([photo(1), photo(2)])
    assert response.status_code == 302, response.content.decode()[:2000]
    assert dossier.components.filter(component_code=photos, superseded_at=None).count() == 2
    third = post([photo(3)])
    assert third.status_code == 400
    (problem,) = third.context["errors"][photos]  # next to the component, with its count
    assert "2" in problem and str(problem) in third.content.decode()
    page = client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "nha-1.png" in page and "nha-2.png" in page and "nha-3.png" not in page
    # Removing one frees its place for another.
    kept = dossier.components.get(original_name="nha-1.png")
    post([photo(4)], remove_file=[str(kept.pk)])
    names = set(
        dossier.components.filter(component_code=photos, superseded_at=None).values_list(
            "original_name", flat=True
        )
    )
    assert names == {"nha-2.png", "nha-4.png"}
    transitions.dossier_submit(dossier=dossier, by=applicant)
    sign_in(client, officers["reception"])
    desk = client.get(reverse("workspace:dossier", args=[dossier.pk])).content.decode()
    assert "nha-2.png" in desk and "nha-4.png" in desk
