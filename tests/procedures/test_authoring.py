"""Authoring a procedure in the admin: check (each problem with its path and line),
preview (the applicant's form and the flow graph), publish a new version with an effective
date (old versions kept, the same content never twice), compare two versions; only holders
of the publish permission; bad uploads answered with a message, never a 500."""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from procedures import authoring
from procedures.apps import CATALOG_ADMIN_GROUP
from procedures.loader import (
    NEW_VERSION,
    UNCHANGED,
    load_procedures,
    spec_checks,
    validate_procedure,
)
from procedures.models import Procedure, ProcedureVersion
from tests.conftest import make_user, sign_in

CATALOG = Path(settings.MOTCUA["CATALOG_DIR"])
FILE = "prestigious-person-recognition.yaml"
TEXT = (CATALOG / FILE).read_text(encoding="utf-8")
CODE = yaml.safe_load(TEXT)["code"]


@pytest.fixture
def proc(catalog) -> Procedure:
    return Procedure.objects.get(code=CODE)


@pytest.fixture
def admin(admin_client):
    admin_client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    return admin_client


def yaml_url(proc):
    return reverse("admin:procedures_procedure_yaml", args=[proc.pk])


def versions_url(proc):
    return reverse("admin:procedures_procedure_versions", args=[proc.pk])


def future(days=30) -> dt.date:
    return timezone.localdate() + dt.timedelta(days=days)


def post(client, proc, action, text=TEXT, **extra):
    return client.post(yaml_url(proc), {"source": text, "action": action, **extra})


def problems_on(page) -> list[tuple[str, str, str]]:
    """(line, path, message) of each problem row of the page."""
    rows = re.findall(
        r'<tr class="problem"><td>(.*?)</td><td><code>(.*?)</code></td><td>(.*?)</td></tr>',
        page.content.decode(),
        re.S,
    )
    return rows


# --- The loader's one-file functions -------------------------------------------------------


def test_one_file_is_checked_as_the_directory_load_checks_it(db):
    spec, problems = validate_procedure(FILE, TEXT)
    assert problems == [] and spec.code == CODE
    assert "fee_problems" in spec_checks()
    broken = TEXT.replace("time_limit_days:", "time_limit_dayz:", 1)
    spec, problems = validate_procedure(FILE, broken)
    paths = {p.path for p in problems}
    assert {"time_limit_days", "time_limit_dayz"} <= paths
    wrong_key = next(p for p in problems if p.path == "time_limit_dayz")
    line = next(i for i, row in enumerate(broken.splitlines(), 1) if "time_limit_dayz" in row)
    assert wrong_key.line == line
    assert str(wrong_key) == f"{FILE}: time_limit_dayz: {wrong_key.message} (line {line})"


def test_the_directory_load_keeps_each_files_text(catalog):
    version = Procedure.objects.get(code=CODE).current_version
    assert version.source_yaml == TEXT and version.published_by is None


# --- Check ---------------------------------------------------------------------------------


def test_the_page_opens_with_the_latest_versions_yaml(admin, proc):
    page = admin.get(yaml_url(proc))
    assert page.status_code == 200
    assert 'name="source"' in page.content.decode()
    assert page.context["text"] == TEXT


def test_a_broken_yaml_shows_each_problem_next_to_its_path_and_keeps_the_text(admin, proc):
    broken = TEXT.replace("time_limit_days: ", "time_limit_days: fifteen #", 1)
    page = post(admin, proc, "check", broken)
    assert page.status_code == 200
    rows = problems_on(page)
    line = next(i for i, row in enumerate(broken.splitlines(), 1) if "fifteen" in row)
    assert (str(line), "time_limit_days") in [(r[0], r[1]) for r in rows]
    assert any("valid integer" in r[2] for r in rows)
    assert page.context["text"] == broken  # nothing typed is lost
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1


def test_a_text_that_is_not_yaml_gives_the_line(admin, proc):
    page = post(admin, proc, "check", "code: [unclosed\nname: x\n")
    rows = problems_on(page)
    assert len(rows) == 1 and "not valid YAML" in rows[0][2] and rows[0][0].isdigit()


def test_the_text_of_another_procedure_is_refused(admin, proc):
    other = TEXT.replace(f'code: "{CODE}"', 'code: "9.999999"', 1)
    assert other != TEXT
    rows = problems_on(post(admin, proc, "check", other))
    assert [r[1] for r in rows] == ["code"] and rows[0][0] == "1"


def test_a_good_text_checks_clean(admin, proc):
    page = post(admin, proc, "check")
    assert problems_on(page) == [] and 'id="no-problems"' in page.content.decode()


# --- Preview -------------------------------------------------------------------------------


def test_the_preview_shows_the_applicants_form_and_the_flow_graph(admin, proc):
    changed = TEXT.replace("time_limit_days: ", "time_limit_days: 1", 1)
    page = post(admin, proc, "preview", changed)
    assert page.status_code == 200
    html = page.content.decode()
    preview = page.context["preview"]
    names = [f["name"] for f in preview["version"].spec["fields"]]
    assert names and all(f'name="{name}"' in html for name in names)
    assert "<fieldset disabled" in html
    graph = preview["graphs"][0]
    assert graph["src"].startswith("data:image/svg+xml;base64,") and not graph["error"]
    import base64

    svg = base64.b64decode(graph["src"].split(",", 1)[1]).decode()
    assert "<svg" in svg and "<script" not in svg
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1  # nothing saved


def test_markup_in_the_yaml_is_shown_as_text(admin, proc):
    hostile = TEXT.replace("time_limit_days:", "# <script>alert(1)</script>\ntime_limit_days:", 1)
    page = post(admin, proc, "preview", hostile.replace("online_level:", "online_levl:", 1))
    html = page.content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- Publish -------------------------------------------------------------------------------


def test_publishing_makes_a_new_version_with_its_date_and_keeps_the_old(admin, proc, admin_user):
    old = proc.current_version
    day = future()
    changed = TEXT.replace("time_limit_days: ", "time_limit_days: 1", 1)
    page = post(admin, proc, "publish", changed, effective_from=day.strftime("%d/%m/%Y"))
    assert page.status_code == 302 and page["Location"] == versions_url(proc)
    proc.refresh_from_db()
    new = proc.current_version
    assert new.number == old.number + 1 and new.effective_from == day
    assert new.published_by == admin_user
    assert f"effective_from: {day.isoformat()}" in new.source_yaml
    assert new.spec["effective_from"] == day.isoformat()
    assert new.time_limit_days == int("1" + str(old.time_limit_days))
    kept = ProcedureVersion.objects.get(pk=old.pk)
    assert kept.source_yaml == TEXT and kept.content_hash == old.content_hash


def test_publishing_the_same_content_again_makes_no_version(admin, proc):
    day = future().strftime("%d/%m/%Y")
    assert post(admin, proc, "publish", effective_from=day).status_code == 302
    count = ProcedureVersion.objects.filter(procedure=proc).count()
    assert count == 2
    # Comments and layout are not content.
    again = post(admin, proc, "publish", TEXT + "\n# a comment\n", effective_from=day)
    assert again.status_code == 302
    assert ProcedureVersion.objects.filter(procedure=proc).count() == count


def test_publish_refuses_a_past_missing_or_malformed_date_and_a_broken_text(admin, proc):
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).strftime("%d/%m/%Y")
    for date in (yesterday, "", "2027-07-01", "31/02/2027"):
        page = post(admin, proc, "publish", effective_from=date)
        assert page.status_code == 200 and page.context["form"].errors["effective_from"]
        assert page.context["text"] == TEXT
    broken = TEXT.replace("online_level:", "online_levl:", 1)
    page = post(admin, proc, "publish", broken, effective_from=future().strftime("%d/%m/%Y"))
    assert page.status_code == 200 and "online_level" in [r[1] for r in problems_on(page)]
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1


def test_the_publish_service_and_the_directory_load_agree(proc, admin_user, tmp_path):
    version, outcome = authoring.procedure_publish(
        procedure=proc, text=TEXT, effective_from=future(), by=admin_user, file=FILE
    )
    assert outcome == NEW_VERSION
    _same, outcome = authoring.procedure_publish(
        procedure=proc,
        text=version.source_yaml,
        effective_from=version.effective_from,
        by=admin_user,
        file=FILE,
    )
    assert _same.pk == version.pk and outcome == UNCHANGED
    # The catalog file, loaded again at every start, still holds version 1: the version
    # published in the admin stays current.
    report = load_procedures()
    assert report.new_versions == [] and report.kept == [
        f"{version} ({FILE} holds an older version)"
    ]
    proc.refresh_from_db()
    assert proc.current_version_id == version.pk
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 2
    # A changed file is a new decision: a new version, current.
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG, directory)
    (directory / FILE).write_text(TEXT.replace("time_limit_days: ", "time_limit_days: 2", 1))
    report = load_procedures(directory)
    proc.refresh_from_db()
    assert proc.current_version.number == 3 and report.new_versions == [f"{CODE} v3"]
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 3


def test_a_file_reverted_to_an_older_version_still_restores_it_without_the_admin(proc, tmp_path):
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG, directory)
    (directory / FILE).write_text(TEXT.replace("time_limit_days: ", "time_limit_days: 2", 1))
    load_procedures(directory)
    report = load_procedures()
    proc.refresh_from_db()
    assert proc.current_version.number == 1 and report.new_versions == [f"{CODE} v1 (restored)"]


# --- Uploads -------------------------------------------------------------------------------


def upload(client, proc, content: bytes, name="procedure.yaml", action="check", source="typed"):
    file = SimpleUploadedFile(name, content, content_type="application/x-yaml")
    return client.post(yaml_url(proc), {"source": source, "action": action, "upload": file})


def test_an_uploaded_file_is_checked_and_shown_in_the_text(admin, proc):
    page = upload(admin, proc, TEXT.encode("utf-8"))
    assert page.status_code == 200 and problems_on(page) == []
    assert page.context["text"] == TEXT


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"a: b\n" * 60_000, "at most 256 KB"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4, "UTF-8"),
        (b"code: x\x00\x01binary", "control character"),
        ("name: Th\u1ee7 t\u1ee5c".encode("utf-16"), "UTF-8"),
    ],
    ids=["oversize", "png-named-yaml", "nul-bytes", "utf-16"],
)
def test_bad_uploads_get_a_clear_message_and_the_typed_text_stays(admin, proc, content, fragment):
    page = upload(admin, proc, content)
    assert page.status_code == 200
    errors = page.context["form"].errors["upload"]
    assert any(fragment in e for e in errors), errors
    assert page.context["text"] == "typed"
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1


def test_an_oversize_text_is_refused(admin, proc):
    page = post(admin, proc, "check", "a: b\n" * 60_000)
    assert page.status_code == 200
    assert any("at most 256 KB" in e for e in page.context["form"].errors["source"])


@pytest.mark.parametrize(
    "text",
    ["", "just a string", "- a\n- list\n", "!!python/object:os.system {}", "a: &x [*x]\n", "\t\t"],
)
def test_texts_that_are_no_procedure_give_problems_not_errors(admin, proc, text):
    page = post(admin, proc, "preview", text)
    assert page.status_code == 200 and problems_on(page)


# --- Compare -------------------------------------------------------------------------------


def test_compare_shows_a_unified_diff_of_two_versions(admin, proc):
    changed = TEXT.replace("time_limit_days: ", "time_limit_days: 1", 1)
    day = future()
    post(admin, proc, "publish", changed, effective_from=day.strftime("%d/%m/%Y"))
    page = admin.get(versions_url(proc), {"a": 1, "b": 2})
    assert page.status_code == 200
    html = page.content.decode()
    assert '<span class="diff-add">+time_limit_days: 1' in html
    assert '<span class="diff-remove">-time_limit_days: ' in html
    assert f'<span class="diff-add">+effective_from: {day.isoformat()}' in html
    kinds = {line.kind for line in page.context["diff"]}
    assert kinds >= {"header", "hunk", "add", "remove"}
    # Without a choice: the two newest; a wrong choice: a message, not an error.
    assert admin.get(versions_url(proc)).context["diff"] == page.context["diff"]
    wrong = admin.get(versions_url(proc), {"a": "x", "b": 99})
    assert wrong.status_code == 200 and wrong.context["compare_error"]


def test_a_version_loaded_before_texts_were_kept_is_compared_by_its_content(admin, proc):
    ProcedureVersion.objects.filter(pk=proc.current_version_id).update(
        source_yaml="", source_file="gone.yaml"
    )
    text, exact = authoring.version_yaml(ProcedureVersion.objects.get(pk=proc.current_version_id))
    assert not exact
    spec, problems = validate_procedure(FILE, text)
    assert problems == [] and spec.code == CODE
    page = admin.get(yaml_url(proc))
    assert page.context["rebuilt"] and page.context["text"] == text


# --- Who may ------------------------------------------------------------------------------


def test_staff_without_the_publish_permission_get_403(proc):
    staff = make_user(is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_procedure"))
    client = sign_in(Client(), staff)
    assert client.get(yaml_url(proc)).status_code == 403
    assert (
        post(client, proc, "publish", effective_from=future().strftime("%d/%m/%Y")).status_code
        == 403
    )
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1
    # Viewing versions and comparing them needs only the view permission.
    assert client.get(versions_url(proc)).status_code == 200
    change = client.get(reverse("admin:procedures_procedure_change", args=[proc.pk]))
    assert yaml_url(proc) not in change.content.decode()


def test_a_catalog_administrator_holds_the_permission(proc):
    staff = make_user(is_staff=True)
    staff.groups.add(Group.objects.get(name=CATALOG_ADMIN_GROUP))
    client = sign_in(Client(), staff)
    change = client.get(reverse("admin:procedures_procedure_change", args=[proc.pk]))
    assert yaml_url(proc) in change.content.decode()
    assert client.get(yaml_url(proc)).status_code == 200
    page = post(client, proc, "publish", effective_from=future().strftime("%d/%m/%Y"))
    assert page.status_code == 302
    assert proc.versions.order_by("-number").first().published_by == staff


def test_citizens_and_strangers_never_reach_the_pages(proc):
    anon = Client()
    for url in (yaml_url(proc), versions_url(proc)):
        assert "/login/" in anon.get(url)["Location"]
    citizen = sign_in(Client(), make_user())
    assert "/login/" in citizen.get(yaml_url(proc))["Location"]
    assert (
        post(citizen, proc, "publish", effective_from=future().strftime("%d/%m/%Y")).status_code
        == 302
    )
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1


def test_a_post_without_the_csrf_token_is_refused(admin_user, proc):
    client = sign_in(Client(enforce_csrf_checks=True), admin_user)
    page = post(client, proc, "publish", effective_from=future().strftime("%d/%m/%Y"))
    assert page.status_code == 403
    assert ProcedureVersion.objects.filter(procedure=proc).count() == 1
