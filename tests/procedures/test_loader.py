"""The catalog loader: every kind of error is reported with file, field path and problem,
and a run with any error loads nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from procedures.loader import CatalogError, load_agencies, load_procedures
from procedures.models import Agency, Procedure, ProcedureVersion

CATALOG = Path(settings.MOTCUA["CATALOG_DIR"])
BASE_FILE = "prestigious-person-recognition.yaml"


@pytest.fixture
def catalog_dir(tmp_path) -> Path:
    target = tmp_path / "catalog"
    shutil.copytree(CATALOG, target)
    return target


def edit(directory: Path, file: str, change) -> None:
    path = directory / file
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def problems_of(directory: Path) -> list[tuple[str, str, str]]:
    with pytest.raises(CatalogError) as info:
        load_procedures(directory)
    return [(p.file, p.path, p.message) for p in info.value.problems]


def test_the_shipped_catalog_loads(db):
    report = load_procedures()
    assert len(report.created) >= 5
    assert Procedure.objects.filter(is_active=True).count() == len(list(CATALOG.glob("*.yaml")))


def test_loading_twice_changes_nothing(db):
    load_procedures()
    before = list(ProcedureVersion.objects.values_list("pk", "content_hash"))
    report = load_procedures()
    assert report.created == [] and report.new_versions == []
    assert list(ProcedureVersion.objects.values_list("pk", "content_hash")) == before


def _delete(key):
    return lambda data: data.pop(key)


def _set(path: str, value):
    def change(data):
        *parents, last = path.split(".")
        node = data
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return change


def _loop_review_and_approval(data):
    data["stages"][1]["actions"] = {"propose": {"to": "approval"}}
    data["stages"][2]["actions"] = {"send_back": {"to": "review"}}


def _duplicate_component(data):
    data["components"][1]["code"] = data["components"][0]["code"]


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        (_delete("time_limit_days"), "time_limit_days", "Field required"),
        (_set("time_limit_days", "fifteen"), "time_limit_days", "valid integer"),
        (_set("components.0.mandatory", "yes"), "components.0.mandatory", "valid boolean"),
        (_set("stages.1.role", "janitor"), "stages.1.role", "unknown role 'janitor'"),
        (_set("stages.0.share", 35), "stages", "sum to 125%"),
        (_duplicate_component, "components", "duplicate code(s)"),
        (_set("result.template", "no_such_template"), "result.template", "unknown template"),
        # The workflow's graph (procedures.flowspec), each problem at its path.
        (_set("stages.1.actions.propose", {"to": "signing"}), "stages.2", "cannot be reached"),
        (_set("stages.3.actions", {}), "stages.3.actions", "no way out"),
        (_loop_review_and_approval, "stages.1", "loop with no way to an end"),
        (
            _set("stages.0.actions.approve", {"end": True}),
            "stages.0.actions.approve",
            "not allowed at a stage held by the role 'reception'",
        ),
        (_set("stages.1.held_by", "village"), "stages.1.held_by", "unknown agency level"),
        (
            _set("stages.0.actions.dance", {"to": "review"}),
            "stages.0.actions.dance",
            "unknown action",
        ),
        (
            _set("stages.0.actions.accept", {"to": "nowhere"}),
            "stages.0.actions.accept.to",
            "unknown stage",
        ),
        (
            _set("stages.0.actions.accept", {"to": "signing"}),
            "stages.3.actions.sign",
            "never in a state",
        ),
        (
            _set("stages.2.actions.refuse", {"to": "review"}),
            "stages.2.actions.refuse",
            "cannot take to",
        ),
        (_set("outcome", "notice"), "stages.3.actions.sign", "no paper to sign"),
        (_set("stages.2.actions.send_back", {"to": "reception"}), "stages.0", "would stay there"),
        (_set("stages.3.held_by", "parent"), "stages.3.held_by", "signing stage cannot be handed"),
        (_set("stages.1.held_by", "commune"), "stages.1.held_by", "no commune agency is above"),
        (_set("fields.0.type", "colour"), "fields.0.type", "Input should be"),
        (_set("surprise", 1), "surprise", "Extra inputs are not permitted"),
    ],
    ids=[
        "missing-field",
        "wrong-type",
        "wrong-type-nested",
        "unknown-role",
        "shares-not-100",
        "duplicate-component",
        "unknown-template",
        "unreachable-stage",
        "stage-with-no-way-out",
        "cycle-with-no-exit",
        "action-not-allowed-for-the-stage",
        "unknown-agency-level",
        "unknown-action",
        "unknown-target-stage",
        "action-in-an-impossible-state",
        "action-leading-where-it-cannot",
        "notice-with-a-signature",
        "a-state-no-action-takes",
        "signing-handed-to-another-agency",
        "a-level-below-the-handling-one",
        "unknown-field-type",
        "unknown-key",
    ],
)
def test_each_kind_of_error_is_reported_and_nothing_is_loaded(
    db, catalog_dir, change, path, fragment
):
    edit(catalog_dir, BASE_FILE, change)
    problems = problems_of(catalog_dir)
    assert any(
        file == BASE_FILE and p == path and fragment in message for file, p, message in problems
    ), problems
    assert Procedure.objects.count() == 0
    assert ProcedureVersion.objects.count() == 0


def test_duplicate_code_across_files(db, catalog_dir):
    other = sorted(f.name for f in catalog_dir.glob("*.yaml") if f.name != BASE_FILE)[0]
    code = yaml.safe_load((catalog_dir / BASE_FILE).read_text(encoding="utf-8"))["code"]
    edit(catalog_dir, other, _set("code", code))
    problems = problems_of(catalog_dir)
    assert any(p == "code" and "duplicate code" in m for _, p, m in problems), problems
    assert Procedure.objects.count() == 0


def test_broken_yaml_names_the_line(db, catalog_dir):
    (catalog_dir / BASE_FILE).write_text("code: [unclosed\n", encoding="utf-8")
    problems = problems_of(catalog_dir)
    assert problems[0][0] == BASE_FILE and "line" in problems[0][2]


def test_a_broken_file_blocks_the_good_ones_even_when_an_earlier_load_exists(db, catalog_dir):
    load_procedures(catalog_dir)
    versions = ProcedureVersion.objects.count()
    edit(catalog_dir, BASE_FILE, _set("time_limit_days", 20))
    edit(catalog_dir, "housing-land-support.yaml", _delete("stages"))
    with pytest.raises(CatalogError):
        load_procedures(catalog_dir)
    assert ProcedureVersion.objects.count() == versions


def test_a_changed_file_makes_a_new_version(db, catalog_dir):
    load_procedures(catalog_dir)
    edit(catalog_dir, BASE_FILE, _set("time_limit_days", 20))
    report = load_procedures(catalog_dir)
    assert len(report.new_versions) == 1
    procedure = Procedure.objects.get(code="1.012841")
    assert procedure.versions.count() == 2
    assert procedure.current_version.number == 2
    assert procedure.current_version.time_limit_days == 20


def test_a_removed_file_unpublishes_its_procedure(db, catalog_dir):
    load_procedures(catalog_dir)
    (catalog_dir / BASE_FILE).unlink()
    report = load_procedures(catalog_dir)
    assert report.unpublished == ["1.012841"]
    assert not Procedure.objects.get(code="1.012841").is_active


def test_the_command_reports_problems_and_fails(db, catalog_dir, capsys):
    edit(catalog_dir, BASE_FILE, _delete("name"))
    with pytest.raises(CommandError, match="nothing was loaded"):
        call_command("load_procedures", "--dir", str(catalog_dir))
    assert f"{BASE_FILE}: name: Field required" in capsys.readouterr().err


def test_agencies_load_as_a_tree_and_reload_idempotently(db):
    count = load_agencies()
    assert Agency.objects.count() == count
    assert load_agencies() == count and Agency.objects.count() == count
    central = Agency.objects.get(code="G16")
    lao_cai = Agency.objects.get(code="H22")
    assert lao_cai.parent == central
    assert Agency.objects.filter(central.subtree_q()).count() == count
    assert set(Agency.objects.filter(lao_cai.subtree_q()).values_list("code", flat=True)) >= {
        "H22",
        "H22.01",
    }


def test_agency_file_errors_load_nothing(db, tmp_path):
    bad = tmp_path / "agencies.yaml"
    bad.write_text("agencies:\n  - code: X\n    name: {vi: a, en: b}\n    kind: planet\n")
    with pytest.raises(CatalogError) as info:
        load_agencies(bad)
    paths = {p.path for p in info.value.problems}
    assert {"agencies.0.code", "agencies.0.kind"} <= paths
    assert Agency.objects.count() == 0
