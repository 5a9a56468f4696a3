"""The catalog's search ignores accents and case, and reads đ as d, both ways."""

from __future__ import annotations

import pytest
from django.urls import reverse

from config.search import fold
from procedures.models import ProcedureVersion

HOUSING, PRESTIGE, MINORITY, MEDAL, STUDENTS = (
    "1.012842",
    "1.012841",
    "1.012843",
    "1.012844",
    "1.012845",
)
ALL = {HOUSING, PRESTIGE, MINORITY, MEDAL, STUDENTS}


def found(client, query: str) -> set[str]:
    page = client.get(reverse("portal:home"), {"q": query})
    assert page.status_code == 200
    return {p.code for p in page.context["procedures"]}


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("ho tro", {HOUSING, STUDENTS}),  # "Hỗ trợ"
        ("nha o", {HOUSING}),  # "nhà ở"
        ("uy tin", {PRESTIGE}),  # "uy tín"
        ("DÂN TỘC", ALL),  # capitals with accents
        ("dan toc thieu so", {HOUSING, PRESTIGE, MINORITY, STUDENTS}),
        ("Hỗ Trợ NHÀ Ở", {HOUSING}),
        ("  nha   o ", {HOUSING}),  # spaces as typed
        ("dat san xuat", {HOUSING}),  # "đất sản xuất": đ found by d
        ("ĐẶC BIỆT", {MINORITY}),  # "đặc biệt"
        ("đieu kien", {MINORITY}),  # "điều kiện", half the accents typed
        ("housing", {HOUSING}),  # the English name
        ("1.012843", {MINORITY}),  # the code
        ("012845", {STUDENTS}),  # part of it
        ("xyz khong co", set()),
    ],
)
def test_catalog_search_folds_accents_and_case(client, catalog, query, expected):
    assert found(client, query) == expected


def test_d_typed_as_đ_finds_a_plain_d(client, catalog):
    """đ and d are one letter to the search, whichever of the two the name holds."""
    version = ProcedureVersion.objects.get(procedure__code=MEDAL)
    assert "dan toc" in version.search_text  # "dân tộc": a plain d
    assert MEDAL in found(client, "ĐÂN TỘC")
    assert MEDAL in found(client, "đan toc")


def test_every_version_is_searchable_by_its_folded_names(catalog):
    for version in ProcedureVersion.objects.select_related("procedure"):
        assert fold(version.name) in version.search_text
        assert fold(version.name_en) in version.search_text
        # Folded too: a code may hold letters (the sample procedure's MAU.PHI.001).
        assert fold(version.procedure.code) in version.search_text
