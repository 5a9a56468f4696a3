"""The signed result as the applicant receives it (issue 16, item 5): one page, the seal
over the left third of the official's signature (domain.md), the signer's name and title
printed, and a decision's wording that does not say "Quyết định" twice."""

from __future__ import annotations

import io
import unicodedata
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.urls import reverse
from pypdf import PdfReader

from documents.models import Kind
from documents.services import current_result, result_sign
from procedures.models import Agency, OfficerRole, Procedure
from procedures.roles import Role
from procedures.titles import default_title
from tests.conftest import SIGNER_PASSWORD, give_certificate, make_officer, walk_to
from workflows.models import Status


def _catalog_results() -> dict[str, str]:
    """Every catalog procedure that produces a result paper: its code and template."""
    results = {}
    for path in sorted(Path(settings.MOTCUA["CATALOG_DIR"]).glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        if spec.get("result"):
            results[spec["code"]] = spec["result"]["template"]
    return results


RESULTS = _catalog_results()
CODES = list(RESULTS)
DECISIONS = [code for code, template in RESULTS.items() if template == "decision"]
# The title the head of each kind of agency signs under (Decree 30/2020's signature block).
HEAD_TITLES = {"H22": "TRƯỞNG BAN", "G16": "BỘ TRƯỞNG"}


def _text(pdf: bytes) -> list[str]:
    reader = PdfReader(io.BytesIO(pdf))
    return [unicodedata.normalize("NFC", page.extract_text() or "") for page in reader.pages]


def _rects(pdf: bytes) -> dict[str, tuple[float, float, float, float]]:
    """The signature widgets' rectangles on page 1, by field name, in drawing order."""
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    rects = {}
    for annotation in page.get("/Annots", []):
        widget = annotation.get_object()
        if widget.get("/Subtype") != "/Widget":
            continue
        name = widget.get("/T") or widget.get("/Parent", {}).get("/T")
        x1, y1, x2, y2 = (float(v) for v in widget["/Rect"])
        rects[str(name)] = (min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2))
    return rects


def _signed_result(code: str, citizen, capture, signing, *, title: str = ""):
    procedure = Procedure.objects.get(code=code)
    level = procedure.current_version.spec["agency_level"]
    agency = Agency.objects.get(code="G16" if level == "central" else "H22")
    officers = {role: make_officer(role, agency) for role in Role.values}
    signer = officers["signer"]
    signer.first_name, signer.last_name = "Lù Văn", "Páo"
    signer.save(update_fields=["first_name", "last_name"])
    if title:
        OfficerRole.objects.filter(user=signer).update(title=title)
    with capture(execute=True):
        dossier = walk_to(Status.APPROVED, procedure, agency, citizen, officers)
    give_certificate(signing, signer)
    document = result_sign(dossier=dossier, by=signer, password=SIGNER_PASSWORD, seal=True)
    with document.file.open("rb") as handle:
        return dossier, agency, document, handle.read()


@pytest.mark.parametrize("code", CODES)
def test_the_signed_result_is_one_page_with_the_signer_and_the_seal_over_a_third(
    code, catalog, citizen, signing, django_capture_on_commit_callbacks
):
    dossier, agency, document, pdf = _signed_result(
        code, citizen, django_capture_on_commit_callbacks, signing
    )
    pages = _text(pdf)
    assert len(pages) == 1, "the result runs onto a second page"
    lines = [" ".join(line.split()) for line in pages[0].splitlines() if line.strip()]
    # The typed name and the title of the officer who signed, in the signature block.
    assert "Lù Văn Páo" in lines
    assert HEAD_TITLES[agency.code] in lines
    assert document.context["signer_name"] == "Lù Văn Páo"
    # The QR code and the verification address are on the same page.
    assert document.display_code in pages[0] and "/verify/" in pages[0]

    # The seal is applied after the signature (drawn over it), on its left third.
    rects = _rects(pdf)
    assert list(rects) == ["Official1", "Seal"], rects
    ox1, oy1, ox2, oy2 = rects["Official1"]
    sx1, sy1, sx2, sy2 = rects["Seal"]
    assert sx1 < ox1 < sx2 < ox2, "the seal is not on the signature's left edge"
    covered = (sx2 - ox1) / (ox2 - ox1)
    assert 0.28 <= covered <= 0.40, f"the seal covers {covered:.0%} of the signature"
    tall = (min(sy2, oy2) - max(sy1, oy1)) / (oy2 - oy1)
    assert tall >= 0.9, "the seal and the signature are not side by side on one line"
    # The seal is the seal's size, not stretched over the signature.
    assert abs((sx2 - sx1) - (sy2 - sy1)) < 1


@pytest.mark.parametrize("code", DECISIONS)
def test_a_decision_says_quyet_dinh_once_in_its_heading(
    code, catalog, citizen, signing, django_capture_on_commit_callbacks
):
    """The heading "QUYẾT ĐỊNH" then "Về việc phê duyệt ...", and "Điều 1. Phê duyệt ...": not
    "Quyết định Quyết định phê duyệt ..." (the result's title begins with the word)."""
    dossier, _agency, _document, pdf = _signed_result(
        code, citizen, django_capture_on_commit_callbacks, signing
    )
    title = dossier.procedure_version.spec["result"]["title"]["vi"]
    assert title.startswith("Quyết định ")
    rest = title.removeprefix("Quyết định ")
    text = _text(pdf)[0]
    lines = [" ".join(line.split()).casefold() for line in text.splitlines() if line.strip()]
    flat = " ".join(lines)
    assert "quyết định quyết định" not in flat
    for first, second in zip(lines, lines[1:], strict=False):
        assert not (first.startswith("quyết định") and second.startswith("quyết định")), (
            first,
            second,
        )
    heading = lines.index("quyết định")
    assert lines[heading + 1].startswith("về việc " + rest.casefold()[:20])
    assert f"điều 1. {rest.casefold()[:20]}" in flat


def test_the_title_set_in_the_admin_is_printed(
    catalog, citizen, signing, django_capture_on_commit_callbacks
):
    _dossier, _agency, document, pdf = _signed_result(
        "1.012841",
        citizen,
        django_capture_on_commit_callbacks,
        signing,
        title="Phó Trưởng ban",
    )
    lines = [" ".join(line.split()) for line in _text(pdf)[0].splitlines()]
    assert "PHÓ TRƯỞNG BAN" in lines
    assert "TRƯỞNG BAN" not in lines
    assert document.context["signer_title"] == "Phó Trưởng ban"


def test_the_unsigned_draft_names_no_one_and_the_title_of_the_agencys_signer(
    catalog, province, citizen, django_capture_on_commit_callbacks
):
    procedure = Procedure.objects.get(code="1.012841")
    officers = {role: make_officer(role, province) for role in Role.values}
    with django_capture_on_commit_callbacks(execute=True):
        dossier = walk_to(Status.APPROVED, procedure, province, citizen, officers)
    draft = current_result(dossier)
    assert draft.kind == Kind.RESULT
    assert draft.context["signer_title"] == "Trưởng ban"
    assert draft.context["signer_name"] == ""


@pytest.mark.parametrize(
    ("code", "role", "expected"),
    [
        ("H22", Role.SIGNER, "Trưởng ban"),
        ("H22", Role.HEAD, "Trưởng ban"),
        ("G16", Role.SIGNER, "Bộ trưởng"),
        ("G16.02", Role.SIGNER, "Vụ trưởng"),
        ("G16.01", Role.HEAD, "Chánh Văn phòng"),
        ("H22.01", Role.SIGNER, "Chánh Văn phòng"),
        ("H22.02", Role.SIGNER, "Trưởng phòng"),
        ("H22", Role.SPECIALIST, "Chuyên viên"),
    ],
)
def test_default_titles_follow_the_role_and_the_agency(catalog, code, role, expected):
    assert default_title(role, Agency.objects.get(code=code)) == expected


def test_the_admin_shows_and_edits_the_title_on_papers(admin_client, catalog, province):
    signer = make_officer(Role.SIGNER, province)
    row = OfficerRole.objects.get(user=signer)
    listing = admin_client.get(reverse("admin:procedures_officerrole_changelist"))
    assert "Trưởng ban" in listing.content.decode()
    response = admin_client.post(
        reverse("admin:procedures_officerrole_change", args=[row.pk]),
        {"user": signer.pk, "agency": province.pk, "role": Role.SIGNER, "title": "Phó Trưởng ban"},
    )
    assert response.status_code == 302, response.content.decode()[:1000]
    row.refresh_from_db()
    assert row.printed_title == "Phó Trưởng ban"
