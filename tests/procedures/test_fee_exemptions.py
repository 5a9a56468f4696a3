"""The fee's exemptions in a procedure file: validated on load with the file and the path
of each problem, and evaluated against an application's form data."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml
from django.conf import settings

from procedures.fees import condition_holds, exemption_for
from procedures.loader import CatalogError, content_hash, load_procedures, read_catalog
from procedures.models import Procedure

SAMPLE_FILE = "sample-fee-and-online-payment.yaml"
CATALOG = Path(settings.MOTCUA["CATALOG_DIR"])


def sample_data() -> dict:
    return yaml.safe_load((CATALOG / SAMPLE_FILE).read_text(encoding="utf-8"))


def problems_for(tmp_path, data) -> list[tuple[str, str, str]]:
    directory = tmp_path / "catalog"
    directory.mkdir()
    (directory / SAMPLE_FILE).write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(CatalogError) as info:
        read_catalog(directory)
    return [(p.file, p.path, p.message) for p in info.value.problems]


def _when(data, index=0):
    return data["fee"]["exemptions"][index]["when"]


def _case(change):
    data = sample_data()
    change(data)
    return data


BAD = [
    # A field the form does not have.
    (
        lambda d: _when(d, 1).update(field="household"),
        "fee.exemptions.1.when.field",
        "the form has no field 'household'",
    ),
    # A value a choice field cannot hold, deep in a group.
    (
        lambda d: _when(d)["all"][1].update(equals="region_3"),
        "fee.exemptions.0.when.all.1.equals",
        "'region_3' is not a choice of 'commune_area'",
    ),
    # Not an ethnic group's code.
    (
        lambda d: _when(d)["all"][0]["none"][0].update(equals="99"),
        "fee.exemptions.0.when.all.0.none.0.equals",
        "not the GSO code of an ethnic group",
    ),
    # One of a list, the second wrong.
    (
        lambda d: d["fee"]["exemptions"][1].update(
            when={"field": "household_status", "one_of": ["poor", "rich"]}
        ),
        "fee.exemptions.1.when.one_of.1",
        "'rich' is not a choice",
    ),
    # Two shapes at once.
    (
        lambda d: _when(d, 1).update(any=[{"field": "household_status", "equals": "poor"}]),
        "fee.exemptions.1.when",
        "a condition on a field takes exactly one of equals, one_of",
    ),
    # An unknown key (a typo).
    (
        lambda d: d["fee"]["exemptions"][1].update(
            when={"field": "household_status", "is": "poor"}
        ),
        "fee.exemptions.1.when.is",
        "Extra inputs are not permitted",
    ),
    # No legal basis.
    (
        lambda d: d["fee"]["exemptions"][0].pop("legal_basis"),
        "fee.exemptions.0.legal_basis",
        "Field required",
    ),
    # Two exemptions with one code.
    (
        lambda d: d["fee"]["exemptions"][1].update(code=d["fee"]["exemptions"][0]["code"]),
        "fee.exemptions",
        "duplicate code(s)",
    ),
    # Exemptions on a free procedure.
    (lambda d: d["fee"].update(amount=0), "fee", "a free procedure lists no exemptions"),
    # An empty group.
    (
        lambda d: d["fee"]["exemptions"][0].update(when={"all": []}),
        "fee.exemptions.0.when.all",
        "at least 1",
    ),
    # Nested too deep.
    (
        lambda d: d["fee"]["exemptions"][0].update(
            when={
                "all": [
                    {
                        "any": [
                            {
                                "none": [
                                    {
                                        "all": [
                                            {
                                                "any": [
                                                    {"field": "household_status", "equals": "poor"}
                                                ]
                                            }
                                        ]
                                    }
                                ]
                            }
                        ]
                    }
                ]
            }
        ),
        "fee.exemptions.0.when.all.0",
        "nest at most 4 levels",
    ),
]


@pytest.mark.parametrize(("change", "path", "message"), BAD)
def test_a_bad_exemption_is_reported_with_file_and_path(tmp_path, settings, change, path, message):
    problems = problems_for(tmp_path, _case(change))
    assert any(
        file == SAMPLE_FILE and where == path and message in text for file, where, text in problems
    ), problems


def test_a_bad_exemption_loads_nothing(db, tmp_path):
    directory = tmp_path / "catalog"
    directory.mkdir()
    data = _case(lambda d: _when(d, 1).update(field="household"))
    (directory / SAMPLE_FILE).write_text(yaml.safe_dump(data, allow_unicode=True), "utf-8")
    with pytest.raises(CatalogError):
        load_procedures(directory)
    assert not Procedure.objects.exists()


def test_the_free_procedures_keep_their_content_hash():
    """A fee without exemptions is written as before the key existed: the five real
    procedures keep their versions."""
    specs = dict(read_catalog(CATALOG))
    spec = specs["housing-land-support.yaml"]
    assert "exemptions" not in spec.to_json()["fee"]
    # Measured on the catalog when its workflows became data (issue #13): every file
    # gained its stages' actions then, and so a new version, once.
    assert content_hash(spec).startswith("5937455a")


FEE = {
    "amount": 50000,
    "exemptions": [
        {
            "code": "ethnic",
            "when": {
                "all": [
                    {"none": [{"field": "ethnic_group", "equals": "01"}]},
                    {"field": "commune_area", "equals": "extremely_difficult"},
                ]
            },
        },
        {"code": "poor", "when": {"field": "household_status", "one_of": ["poor"]}},
        {"code": "flag", "when": {"field": "disabled", "equals": True}},
        {"code": "many", "when": {"field": "members", "equals": 7}},
        {"code": "multi", "when": {"field": "groups", "equals": "veteran"}},
    ],
}


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"ethnic_group": "08", "commune_area": "extremely_difficult"}, "ethnic"),
        ({"ethnic_group": "01", "commune_area": "extremely_difficult"}, None),
        ({"ethnic_group": "08", "commune_area": "other"}, None),
        # A missing answer is no answer: "none" of nothing holds, but "all" fails on the commune.
        ({"commune_area": "extremely_difficult"}, "ethnic"),
        ({"household_status": "poor"}, "poor"),
        ({"household_status": "near_poor"}, None),
        ({"disabled": True}, "flag"),
        ({"disabled": "True"}, None),  # a yes/no only from a yes/no
        ({"members": "7"}, "many"),  # a number kept as text
        ({"members": 8}, None),
        ({"groups": ["student", "veteran"]}, "multi"),
        ({"groups": []}, None),
        ({}, None),
    ],
)
def test_exemptions_are_evaluated_in_order(form, code):
    found = exemption_for(FEE, form)
    assert (found["code"] if found else None) == code


def test_the_first_exemption_that_applies_wins():
    fee = copy.deepcopy(FEE)
    form = {"ethnic_group": "08", "commune_area": "extremely_difficult", "household_status": "poor"}
    assert exemption_for(fee, form)["code"] == "ethnic"
    fee["exemptions"].reverse()
    assert exemption_for(fee, form)["code"] == "poor"
    assert condition_holds({"any": [{"field": "x", "equals": "1"}]}, {"x": 1})
