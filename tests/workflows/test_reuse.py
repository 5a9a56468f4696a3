"""Reusing earlier papers (the citizen's data store, issue #15 item 5): an accepted component
or a signed result of one of the citizen's earlier dossiers fills a component of a new one,
as a checked copy, marked with its source for officers, the API and the service index."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from documents.services import current_result, result_sign
from documents.store import result_flags
from procedures.models import Procedure
from tests.api.conftest import Api, make_api_client
from tests.conftest import SIGNER_PASSWORD, give_certificate, make_user, new_draft, sign_in, walk_to
from workflows import services
from workflows.demo import minimal_pdf
from workflows.exceptions import ActionNotAllowed
from workflows.models import DossierComponent, PaperKind, Status
from workflows.selectors import component_flags
from workflows.services import dossiers as transitions
from workflows.store import paper_find, reuse_choices
from workflows.supervision import Period, service_index

ID_COPY = "citizen_id_copy"  # 1.012841: PDF, JPEG or PNG, one file
LETTER = "proposal_letter"  # 1.012841: PDF only


def _component(dossier, code) -> DossierComponent:
    return dossier.components.get(component_code=code, superseded_at__isnull=True)


def _read(component) -> bytes:
    with component.file.open("rb") as f:
        return f.read()


@pytest.fixture
def earlier(procedure, province, citizen, officers):
    """The citizen's earlier dossier, received at the desk: its files are accepted."""
    return walk_to(Status.RECEIVED, procedure, province, citizen, officers)


@pytest.fixture
def draft(procedure, province, citizen):
    return new_draft(procedure, province, citizen, complete=False)


def test_reuse_an_accepted_component(earlier, draft, citizen, client, officers):
    source = _component(earlier, ID_COPY)
    reused = services.dossier_reuse_paper(
        dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
    )
    assert reused.reused and reused.reused_kind == PaperKind.COMPONENT
    assert (reused.reused_dossier, reused.reused_object_id) == (earlier, source.pk)
    # A copy: its own stored bytes (its own retention), the same content and hash.
    assert reused.file.name != source.file.name
    assert _read(reused) == _read(source) and reused.sha256 == source.sha256
    assert reused.original_name == source.original_name
    entry = draft.history.get(action="reuse_paper")
    assert entry.data["source"] == {
        "kind": "component",
        "dossier": earlier.code,
        "dossier_id": earlier.pk,
        "id": source.pk,
    }
    assert entry.actor == citizen and entry.data["sha256"] == source.sha256
    # Sent twice (a repeated post): still one file.
    again = services.dossier_reuse_paper(
        dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
    )
    assert again.pk == reused.pk

    # Filed and received: the officer sees the file marked with its source.
    from workflows.demo import attach_all, sample_form_data

    services.dossier_save_draft(
        dossier=draft, by=citizen, form_data=sample_form_data(draft.procedure_version.spec)
    )
    attach_all(draft, citizen)  # the other components (the same ID copy is kept as it is)
    assert _component(draft, ID_COPY).pk == reused.pk
    filed = transitions.dossier_submit(dossier=draft, by=citizen)
    filed = transitions.dossier_receive(dossier=filed, by=officers["reception"])
    sign_in(client, officers["reception"])
    page = client.get(reverse("workspace:dossier", args=[filed.pk])).content.decode()
    assert f"Dùng lại từ hồ sơ {earlier.code}" in page
    assert "đã dùng lại giấy tờ đã nộp" in page  # the timeline's entry
    # The archive package names the source too.
    import io
    import json
    import zipfile

    from documents.archive import dossier_archive

    with zipfile.ZipFile(io.BytesIO(dossier_archive(dossier=filed))) as package:
        facts = json.loads(package.read("dossier.json"))
    archived = next(r for r in facts["components"] if r["component"] == ID_COPY)
    assert archived["reused_from"] == {
        "kind": "component",
        "dossier": earlier.code,
        "id": source.pk,
    }
    flags = {row["code"]: row for row in component_flags(filed)}
    assert flags[ID_COPY] == {
        "code": ID_COPY,
        "digitised": True,
        "reused": True,
        "reused_from": [earlier.code],
    }
    assert flags[LETTER]["digitised"] and not flags[LETTER]["reused"]


def test_reuse_a_signed_result(
    procedure, province, citizen, officers, draft, signing, django_capture_on_commit_callbacks
):
    give_certificate(signing, officers["signer"])
    with django_capture_on_commit_callbacks(execute=True):
        approved = walk_to(Status.APPROVED, procedure, province, citizen, officers)
        result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
        signed = transitions.dossier_sign(dossier=approved, by=officers["signer"])
        issued = transitions.dossier_issue(dossier=signed)
    document = current_result(issued)
    ref = f"r{document.pk}"
    choices = reuse_choices(user=citizen, spec=draft.procedure_version.spec, dossier=draft)
    assert ref in [p.ref for p in choices[LETTER].papers]  # PDF only: the result fits
    reused = services.dossier_reuse_paper(
        dossier=draft, by=citizen, component_code=LETTER, source=ref
    )
    assert (reused.reused_kind, reused.reused_dossier, reused.reused_object_id) == (
        PaperKind.RESULT,
        issued,
        document.pk,
    )
    with document.file.open("rb") as f:
        assert _read(reused) == f.read()  # the signed PDF itself: its signature still holds
    assert reused.sha256 == document.sha256 and reused.content_type == "application/pdf"
    assert result_flags(issued) == [
        {"verification_code": document.verification_code, "digitised": True, "reused": True}
    ]
    # Another citizen cannot reach it, by its ref or in their list.
    other = make_user()
    assert paper_find(user=other, ref=ref) is None


def test_another_citizens_paper_is_refused(earlier, procedure, province):
    other = make_user()
    theirs = new_draft(procedure, province, other, complete=False)
    source = _component(earlier, ID_COPY)
    with pytest.raises(ValidationError) as exc:
        services.dossier_reuse_paper(
            dossier=theirs, by=other, component_code=ID_COPY, source=f"c{source.pk}"
        )
    assert "cannot be used here" in str(exc.value)
    assert not theirs.components.exists()
    assert reuse_choices(user=other, spec=theirs.procedure_version.spec, dossier=theirs) == {}


def test_a_paper_of_a_dossier_refused_at_the_desk_is_not_reusable(
    procedure, province, citizen, officers, draft
):
    refused = walk_to(Status.REJECTED_AT_RECEPTION, procedure, province, citizen, officers)
    submitted = walk_to(Status.SUBMITTED, procedure, province, citizen, officers)
    for dossier in (refused, submitted):  # neither was accepted at the desk
        source = _component(dossier, ID_COPY)
        with pytest.raises(ValidationError):
            services.dossier_reuse_paper(
                dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
            )
    assert reuse_choices(user=citizen, spec=draft.procedure_version.spec, dossier=draft) == {}
    assert not draft.components.exists()


def test_a_filed_dossier_cannot_take_a_reuse(earlier, procedure, province, citizen, officers):
    filed = walk_to(Status.SUBMITTED, procedure, province, citizen, officers)
    before = _component(filed, ID_COPY)
    source = _component(earlier, ID_COPY)
    with pytest.raises(ActionNotAllowed):
        services.dossier_reuse_paper(
            dossier=filed, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
        )
    assert _component(filed, ID_COPY).pk == before.pk


def test_the_desk_cannot_reuse_a_citizens_papers(earlier, procedure, province, officers):
    at_desk = new_draft(procedure, province, None, complete=False, desk=officers["reception"])
    source = _component(earlier, ID_COPY)
    with pytest.raises(ValidationError):
        services.dossier_reuse_paper(
            dossier=at_desk,
            by=officers["reception"],
            component_code=ID_COPY,
            source=f"c{source.pk}",
        )


def test_a_paper_of_the_wrong_type_is_refused(earlier, province, citizen):
    housing = Procedure.objects.get(code="1.012842")  # its photos: JPEG or PNG only
    draft = new_draft(housing, province, citizen, complete=False)
    letter = _component(earlier, LETTER)  # a PDF
    with pytest.raises(ValidationError) as exc:
        services.dossier_reuse_paper(
            dossier=draft,
            by=citizen,
            component_code="current_housing_photos",
            source=f"c{letter.pk}",
        )
    assert "application/pdf" in str(exc.value) and "image/jpeg" in str(exc.value)
    offered = reuse_choices(user=citizen, spec=draft.procedure_version.spec, dossier=draft)
    assert "current_housing_photos" not in offered  # the earlier files are all PDFs
    assert f"c{letter.pk}" in [p.ref for p in offered["application_form"].papers]


def test_a_paper_whose_bytes_changed_is_refused(earlier, draft, citizen):
    source = _component(earlier, ID_COPY)
    storage = source.file.storage
    storage.delete(source.file.name)
    storage.save(source.file.name, __import__("io").BytesIO(minimal_pdf("altered")))
    with pytest.raises(ValidationError) as exc:
        services.dossier_reuse_paper(
            dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
        )
    assert "no longer matches" in str(exc.value)
    assert not draft.components.exists()


def test_the_copy_outlives_the_earlier_dossiers_files(earlier, draft, citizen):
    """A copy, not a reference: once the earlier dossier's files are erased under its
    retention, the paper leaves the store and the dossier that reused it keeps its file."""
    from django.utils import timezone

    from workflows.services.retention import component_files_delete

    source = _component(earlier, ID_COPY)
    reused = services.dossier_reuse_paper(
        dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
    )
    content = _read(reused)
    DossierComponent.objects.filter(dossier=earlier).update(erased_at=timezone.now())
    assert component_files_delete(dossier_id=earlier.pk) > 0
    assert paper_find(user=citizen, ref=f"c{source.pk}") is None
    assert _read(_component(draft, ID_COPY)) == content


@pytest.mark.parametrize(
    "forged",
    ["c999999999", "x12", "c0", "c-1", "r", "c" + "9" * 30, "c１２", "c12\x00", "", "r999999"],
)
def test_forged_refs_are_refused(earlier, draft, citizen, forged):
    with pytest.raises(ValidationError):
        services.dossier_reuse_paper(
            dossier=draft, by=citizen, component_code=ID_COPY, source=forged
        )
    with pytest.raises(ValidationError):
        services.dossier_reuse_paper(
            dossier=draft, by=citizen, component_code="no_such_component", source="c1"
        )


# --- The citizen's page -------------------------------------------------------------------------


def test_the_filing_page_offers_and_takes_earlier_papers(client, earlier, draft, citizen):
    source = _component(earlier, ID_COPY)
    sign_in(client, citizen)
    url = reverse("portal:edit", args=[draft.pk])
    page = client.get(url).content.decode()
    assert "Dùng lại giấy tờ đã nộp" in page
    assert f'name="reuse_{ID_COPY}" value="c{source.pk}"' in page
    assert f"hồ sơ {earlier.code}" in page
    assert earlier.received_at.astimezone().strftime("%d/%m/%Y") in page
    # A new application offers them from its first page too.
    first = client.get(
        reverse("portal:apply", args=[draft.procedure_version.procedure.code]),
        {"agency": draft.handling_agency.code},
    ).content.decode()
    assert f'name="reuse_{ID_COPY}" value="c{source.pk}"' in first
    # A plain form post, as a browser without JavaScript sends it.
    response = client.post(
        url, {"applicant_name": "Lò Thị Mai", f"reuse_{ID_COPY}": f"c{source.pk}", "save": "1"}
    )
    assert response.status_code == 302
    reused = _component(draft, ID_COPY)
    assert reused.reused_dossier == earlier
    page = client.get(url).content.decode()
    assert f"Dùng lại từ hồ sơ {earlier.code}" in page
    # The citizen's own view of the dossier says so too.
    detail = client.get(reverse("portal:dossier", args=[draft.pk])).content.decode()
    assert f"Dùng lại từ hồ sơ {earlier.code}" in detail


def test_a_forged_post_is_a_message_and_keeps_what_was_typed(client, earlier, procedure, province):
    other = make_user()
    theirs = new_draft(procedure, province, other, complete=False)
    source = _component(earlier, ID_COPY)
    sign_in(client, other)
    response = client.post(
        reverse("portal:edit", args=[theirs.pk]),
        {
            "applicant_name": "Người khác",
            f"reuse_{ID_COPY}": f"c{source.pk}",
            f"reuse_{LETTER}": ["r1", "c" + "1" * 5000],
            "reuse_no_such_component": "c1",
            "save": "1",
        },
    )
    assert response.status_code == 400
    assert "Không dùng được giấy tờ này" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.applicant_name == "Người khác"  # what was typed is kept
    assert not theirs.components.exists()
    # Another citizen's dossier: a 404, as always.
    sign_in(client, make_user())
    assert client.get(reverse("portal:edit", args=[theirs.pk])).status_code == 404


# --- The service index and the API ------------------------------------------------------------


def test_the_service_index_counts_reuse(earlier, draft, citizen, officers, province):
    import datetime as dt

    from workflows.demo import attach_all, sample_form_data
    from workflows.models import Dossier

    source = _component(earlier, ID_COPY)
    services.dossier_reuse_paper(
        dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
    )
    services.dossier_save_draft(
        dossier=draft, by=citizen, form_data=sample_form_data(draft.procedure_version.spec)
    )
    attach_all(draft, citizen)
    filed = transitions.dossier_submit(dossier=draft, by=citizen)
    transitions.dossier_receive(dossier=filed, by=officers["reception"])
    today = dt.date.today()
    period = Period(today - dt.timedelta(days=3), today + dt.timedelta(days=3))
    metrics = {m.key: m for m in service_index(Dossier.objects.all(), period)}
    dossiers = metrics["reused_dossiers"]
    assert (dossiers.numerator, dossiers.denominator) == (1, 2)
    files = metrics["reused_components"]
    per_dossier = len(draft.procedure_version.spec["components"])
    assert (files.numerator, files.denominator) == (1, 2 * per_dossier)
    assert metrics["digitised_components"].numerator == 2


def test_the_service_index_page_writes_the_formula_in_vietnamese(client, officers):
    sign_in(client, officers["supervisor"])
    html = client.get(reverse("workspace:service_index")).content.decode()
    assert "Khai thác, sử dụng lại dữ liệu đã có" in html
    assert "kho dữ liệu" in html


def test_the_api_shows_reused_components(earlier, draft, citizen, province):
    from workflows.demo import attach_all, sample_form_data

    source = _component(earlier, ID_COPY)
    services.dossier_reuse_paper(
        dossier=draft, by=citizen, component_code=ID_COPY, source=f"c{source.pk}"
    )
    services.dossier_save_draft(
        dossier=draft, by=citizen, form_data=sample_form_data(draft.procedure_version.spec)
    )
    attach_all(draft, citizen)
    transitions.dossier_submit(dossier=draft, by=citizen)
    api = Api(make_api_client(province)[1])
    body = api.get(f"/api/v1/dossiers/{draft.pk}/").json()
    by_code = {c["code"]: c for c in body["components"]}
    assert by_code[ID_COPY]["reused"] is True
    assert by_code[ID_COPY]["reused_from"] == {"kind": "component", "dossier_code": earlier.code}
    assert by_code[ID_COPY]["sha256"] == source.sha256
    assert by_code[LETTER]["reused"] is False and by_code[LETTER]["reused_from"] is None
    listed = api.get("/api/v1/dossiers/").json()
    rows = listed["results"] if isinstance(listed, dict) else listed
    mine = next(r for r in rows if r["id"] == draft.pk)
    assert mine["components"] == body["components"]
