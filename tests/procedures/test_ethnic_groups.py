"""One list of the 54 ethnic groups, with one GSO code each, used by the profile, by every
ethnic-group field of the catalog and by the lookups the register prefill will call."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.utils import translation

from config.search import fold
from portal.models import CitizenProfile
from procedures import ethnic_groups
from procedures.ethnic_groups import (
    ETHNIC_GROUPS,
    ethnic_group_by_code,
    ethnic_group_from_name,
    ethnic_group_resolve,
)
from procedures.forms import build_form_class, clean_form_data, field_choices
from procedures.loader import load_procedures
from procedures.models import Procedure
from tests.procedures.test_loader import catalog_dir, edit, problems_of  # noqa: F401

CATALOG = Path(settings.MOTCUA["CATALOG_DIR"])


def test_54_groups_with_unique_codes_and_names():
    codes = [g.code for g in ETHNIC_GROUPS]
    assert codes == [f"{n:02d}" for n in range(1, 55)]
    assert len({fold(g.name) for g in ETHNIC_GROUPS}) == 54
    assert len({fold(g.name_en) for g in ETHNIC_GROUPS}) == 54
    # The GSO's first codes, and today's spelling of the Hmong's name.
    first = {g.code: g.name for g in ETHNIC_GROUPS[:8]}
    assert first == {
        "01": "Kinh",
        "02": "Tày",
        "03": "Thái",
        "04": "Hoa",
        "05": "Khmer",
        "06": "Mường",
        "07": "Nùng",
        "08": "Mông",
    }


@pytest.mark.parametrize(
    "name",
    ["Mông", "H'Mông", "HMông", "H’Mông", "hmong", "HMONG", "MÔNG", "Dân tộc Mông", "người Mông"],
)
def test_every_spelling_of_the_hmong_gives_08(name):
    assert ethnic_group_from_name(name).code == "08"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Khơ-me", "05"),
        ("khmer", "05"),
        ("Ê-đê", "12"),
        ("E DE", "12"),  # đ folded to d
        ("Gia-rai", "10"),
        ("gia_rai", "10"),  # a value of the former choice lists
        ("Gié-Triêng", "27"),
        ("Cơ Lao", "47"),
        ("Bru - Vân Kiều", "23"),
        ("Ơ ĐU", "53"),
        ("Kinh", "01"),
    ],
)
def test_older_spellings_and_accent_case_variants(name, code):
    assert ethnic_group_from_name(name).code == code


def test_lookups_by_code_and_unknowns():
    assert ethnic_group_by_code("08").name == "Mông"
    assert ethnic_group_by_code(8).name == "Mông"
    assert ethnic_group_by_code(" 8 ").name == "Mông"
    for bad in ("00", "55", "x", "", None, "008", "Mông"):
        assert ethnic_group_by_code(bad) is None
    for bad in ("", "   ", "Người", "Dân tộc", "Martian", None, 8):
        assert ethnic_group_from_name(bad) is None
    assert ethnic_group_resolve("08").code == ethnic_group_resolve("Hmông").code == "08"


def test_the_profile_offers_the_one_list():
    field = CitizenProfile._meta.get_field("ethnic_group")
    assert field.choices == [(g.code, g.name) for g in ETHNIC_GROUPS]


def _catalog_fields():
    for path in sorted(CATALOG.glob("*.yaml")):
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
        for field in spec["fields"]:
            yield path.name, field


def test_every_ethnic_field_of_the_catalog_uses_the_list():
    ethnic = [
        (file, f)
        for file, f in _catalog_fields()
        if "ethnic" in f["name"] or "dân tộc" in f["label"]["vi"].lower()
        # "Years of service related to ethnic affairs" is not a group.
        if f["type"] not in ("integer", "text", "textarea")
    ]
    assert len(ethnic) == 5  # four real procedures and the sample one (fees)
    for file, field in ethnic:
        assert field["type"] == "ethnic_group", file
        assert "choices" not in field, file
        offered = [code for code, _name in field_choices(field)]
        assert offered and all(ethnic_group_by_code(code) for code in offered), file


def test_an_ethnic_field_offers_the_groups_by_code_and_official_name(db):
    load_procedures()
    spec = Procedure.objects.get(code="1.012842").current_version.spec  # every group
    field = next(f for f in spec["fields"] if f["name"] == "ethnic_group")
    with translation.override("vi"):
        form = build_form_class(spec)()
        assert list(form.fields["ethnic_group"].choices)[1:] == [
            (g.code, g.name) for g in ETHNIC_GROUPS
        ]
        assert ("08", "Mông") in field_choices(field)
    with translation.override("en"):
        assert ("08", "Hmong") in field_choices(field)
    minorities = Procedure.objects.get(code="1.012843").current_version.spec
    field = next(f for f in minorities["fields"] if f["name"] == "ethnic_group")
    assert [code for code, _ in field_choices(field)] == list(ethnic_groups.MINORITIES)
    very_small = Procedure.objects.get(code="1.012845").current_version.spec
    field = next(f for f in very_small["fields"] if f["name"] == "ethnic_group")
    assert len(field_choices(field)) == 16 and "08" not in dict(field_choices(field))
    # The code is what is stored; a name is not a value.
    with pytest.raises(Exception, match="ethnic_group"):
        clean_form_data(spec, {"ethnic_group": "Mông"})


def test_a_field_cannot_list_its_own_groups_or_unknown_codes(db, catalog_dir):  # noqa: F811
    def own_choices(data):
        field = next(f for f in data["fields"] if f["name"] == "ethnic_group")
        field["choices"] = [{"value": "hmong", "label": {"vi": "H'Mông", "en": "Hmong"}}]

    edit(catalog_dir, "housing-land-support.yaml", own_choices)

    def unknown_code(data):
        field = next(f for f in data["fields"] if f["name"] == "ethnic_group")
        field["groups"] = ["08", "99"]

    edit(catalog_dir, "prestigious-person-recognition.yaml", unknown_code)
    problems = problems_of(catalog_dir)
    assert any(
        file == "housing-land-support.yaml" and "takes no choices" in message
        for file, _path, message in problems
    )
    assert any(
        file == "prestigious-person-recognition.yaml" and "unknown: 99" in message
        for file, _path, message in problems
    )
