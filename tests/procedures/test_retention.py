"""The retention each procedure file must give: whole years from 1 to 100, or "permanent";
anything else is reported with the file and the field, and nothing is loaded."""

from __future__ import annotations

import pytest

from procedures.models import Procedure, ProcedureVersion
from tests.procedures.test_loader import BASE_FILE, _delete, _set, catalog_dir, edit, problems_of

__all__ = ["catalog_dir"]  # the fixture, shared with the loader's tests


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (_delete("retention"), "Field required"),
        (_set("retention", 0), "got 0"),
        (_set("retention", -5), "got -5"),
        (_set("retention", 1000), "got 1000"),
        (_set("retention", "ten"), "got 'ten'"),
        (_set("retention", "10"), "got '10'"),
        (_set("retention", 2.5), "got 2.5"),
        (_set("retention", True), "got True"),
        (_set("retention", "Permanent"), "got 'Permanent'"),
        (_set("retention", None), "got None"),
    ],
    ids=[
        "missing",
        "zero",
        "negative",
        "huge",
        "word",
        "string-number",
        "fraction",
        "boolean",
        "wrong-case",
        "empty",
    ],
)
def test_a_bad_retention_is_reported_with_file_and_path(db, catalog_dir, change, fragment):
    edit(catalog_dir, BASE_FILE, change)
    problems = problems_of(catalog_dir)
    assert any(
        file == BASE_FILE and path == "retention" and fragment in message
        for file, path, message in problems
    ), problems
    if fragment != "Field required":
        assert any('or "permanent"' in message for _f, _p, message in problems)
    assert Procedure.objects.count() == 0


@pytest.mark.parametrize(("value", "years"), [(1, 1), (100, 100), ("permanent", None)])
def test_the_retention_is_kept_on_the_version(db, catalog_dir, value, years):
    from procedures.loader import load_procedures

    edit(catalog_dir, BASE_FILE, _set("retention", value))
    load_procedures(catalog_dir)
    version = ProcedureVersion.objects.get(source_file=BASE_FILE)
    assert version.retention_years == years
    assert version.spec["retention"] == value


def test_a_changed_retention_is_a_new_version_and_old_dossiers_keep_theirs(db, catalog_dir):
    from procedures.loader import load_procedures

    load_procedures(catalog_dir)
    first = ProcedureVersion.objects.get(source_file=BASE_FILE)
    edit(catalog_dir, BASE_FILE, _set("retention", 50))
    report = load_procedures(catalog_dir)
    assert report.new_versions
    newest = ProcedureVersion.objects.filter(source_file=BASE_FILE).order_by("-number").first()
    assert newest.pk != first.pk and newest.retention_years == 50
    first.refresh_from_db()
    assert first.retention_years == 10
