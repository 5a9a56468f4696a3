"""Prefill from the national population register (#15 item 2), over real HTTP to its
sandbox: the form filled for a citizen whose ID number is verified, the source shown, the
read-only fields guarded against a forged post, every look-up recorded, and each way the
register can fail leaving the citizen a form to fill by hand (never a 500)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import jsonschema
import pytest
import yaml
from django.conf import settings as django_settings
from django.urls import reverse

from connectors import http
from connectors.population.base import Person
from connectors.population.models import LookupOutcome, PopulationLookup
from connectors.population.sandbox import TOKEN, PopulationSandbox
from connectors.population.services import get_register, verified_id_number
from portal.models import CitizenProfile
from procedures.jsonschema import form_json_schema
from procedures.loader import (
    CatalogError,
    content_hash,
    load_agencies,
    load_procedures,
    read_catalog,
)
from procedures.models import Agency, Procedure
from tests.conftest import PROVINCE, new_draft, sign_in
from tests.portal.test_apply import full_post
from workflows.models import Dossier

CERTIFICATION = "1.012843"  # ethnic-minority-status-certification.yaml: read-only prefill
MAI = "001190012345"  # in connectors/sandbox_people.yaml: Lò Thị Mai, Thái (03)
NOBODY = "079000000001"  # in no register
SOURCE_VI = "Từ Cơ sở dữ liệu quốc gia về dân cư"


@pytest.fixture
def register(run_sandbox, settings):
    """The sandbox register, and the connection pointed at it (a short timeout)."""
    sandbox = run_sandbox(PopulationSandbox)
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {
            **settings.MOTCUA["CONNECTORS"],
            "population": {
                "BACKEND": "national",
                "URL": sandbox.url,
                "TOKEN": TOKEN,
                "TIMEOUT": 0.5,
            },
        },
    }
    return sandbox


def verified_citizen(user, id_number=MAI, *, verified=True):
    """A citizen whose profile's ID number the national sign-in vouched for (the marker
    connectors.population.services.verified_id_number reads)."""
    CitizenProfile.objects.create(
        user=user,
        full_name="Tên trong hồ sơ cá nhân",
        id_number=id_number,
        verified_fields=["id_number"] if verified else [],
        verified_source="vneid" if verified else "",
        ethnic_group="02",
        date_of_birth="1991-01-01",
        province="Lào Cai",
    )
    return user


@pytest.fixture
def certification(catalog):
    return Procedure.objects.get(code=CERTIFICATION)


def open_form(client, procedure, province):
    page = client.get(reverse("portal:apply", args=[procedure.code]), {"agency": province.code})
    assert page.status_code == 200
    body = page.content.decode()
    key = re.search(r'name="filing_key" value="([^"]+)"', body).group(1)
    return body, key


def field_html(body: str, name: str) -> str:
    """The markup of one form field's wrapper (label, control, notes)."""
    match = re.search(
        rf'<div class="field" id="f-{name.replace("_", "_")}">(.*?)</div>', body, re.S
    )
    assert match, name
    return match.group(1)


# --- The adapter and the sandbox --------------------------------------------------------------


def test_the_adapter_reads_a_person_from_the_sandbox(register):
    person = get_register().find(MAI)
    assert person == Person(
        id_number=MAI,
        full_name="Lò Thị Mai",
        date_of_birth=person.date_of_birth,
        sex="female",
        ethnic_group="03",
        religion="",
        home_town="Xã Cốc San, tỉnh Lào Cai",
        permanent_address="Bản Cốc Lếu, Xã Cốc San, tỉnh Lào Cai",
        current_address="Bản Cốc Lếu, Xã Cốc San, tỉnh Lào Cai",
        household_head="Lò Văn Pọm",
    )
    assert person.date_of_birth.isoformat() == "1990-05-12"
    sent = register.received[-1]
    assert sent.headers["authorization"] == f"Bearer {TOKEN}"
    assert get_register().find(NOBODY) is None


def test_the_sandbox_checks_the_token(register, settings):
    options = settings.MOTCUA["CONNECTORS"]["population"]
    with pytest.raises(http.ConnectorError) as refused:
        get_register().__class__({**options, "TOKEN": "wrong"}).find(MAI)
    assert refused.value.reason == http.REFUSED and refused.value.status == 401


def test_a_wrongly_shaped_record_is_malformed(register):
    register.fault = "wrong-shape"
    with pytest.raises(http.ConnectorError) as malformed:
        get_register().find(MAI)
    assert malformed.value.reason == http.MALFORMED
    assert malformed.value.detail == "NgaySinh"  # the field at fault, never its value


def test_off_outside_debug_unless_configured(settings):
    assert django_settings.MOTCUA["CONNECTORS"]["population"]["BACKEND"] == ""
    assert get_register() is None


# --- The form filled -------------------------------------------------------------------------


def test_the_form_is_prefilled_with_its_source_and_the_look_up_recorded(
    client, citizen, certification, province, register
):
    sign_in(client, verified_citizen(citizen))
    body, key = open_form(client, certification, province)
    name = field_html(body, "full_name")
    assert 'value="Lò Thị Mai"' in name and "readonly" in name and SOURCE_VI in name
    assert 'value="1990-05-12"' in field_html(body, "date_of_birth")
    assert 'value="001190012345"' in field_html(body, "citizen_id")
    # The ethnic group is the register's (Thái, 03), not the profile's (Tày, 02), and the
    # read-only select offers nothing else.
    ethnic = field_html(body, "ethnic_group")
    assert re.findall(r'<option value="([^"]*)"', ethnic) == ["03"] and SOURCE_VI in ethnic
    # Not prefilled: no source shown.
    assert SOURCE_VI not in field_html(body, "commune")

    lookup = PopulationLookup.objects.get()
    assert (lookup.user, lookup.id_number, lookup.outcome) == (citizen, MAI, LookupOutcome.FOUND)
    assert str(lookup.filing_key) == key and lookup.dossier is None
    assert lookup.values["ethnic_group"] == "03" and "ethnic_group" in lookup.readonly

    # The first save makes the draft: the look-up is linked to it, the values kept.
    post = full_post(
        certification,
        province,
        key,
        full_name="Lò Thị Mai",
        date_of_birth="1990-05-12",
        citizen_id=MAI,
        ethnic_group="03",
    )
    response = client.post(reverse("portal:apply", args=[certification.code]), post)
    assert response.status_code == 302
    dossier = Dossier.objects.get(filing_key=key)
    lookup.refresh_from_db()
    assert lookup.dossier == dossier and dossier.form_data["ethnic_group"] == "03"
    # The draft's page still shows the source and keeps the fields read-only.
    page = client.get(reverse("portal:edit", args=[dossier.pk])).content.decode()
    assert SOURCE_VI in field_html(page, "ethnic_group") and "readonly" in field_html(
        page, "full_name"
    )
    assert PopulationLookup.objects.count() == 1  # the draft is not looked up again


def test_a_forged_post_cannot_change_a_read_only_prefilled_field(
    client, citizen, certification, province, register
):
    sign_in(client, verified_citizen(citizen))
    _body, key = open_form(client, certification, province)
    url = reverse("portal:apply", args=[certification.code])
    # At the first save: another ethnic group and name than the register's.
    forged = full_post(
        certification, province, key, ethnic_group="08", full_name="Người Khác", commune="Xã Mới"
    )
    response = client.post(url, forged)
    assert response.status_code == 400
    body = response.content.decode()
    assert "cannot be changed" in body or "không thể sửa" in body
    dossier = Dossier.objects.get(filing_key=key)
    assert dossier.form_data["ethnic_group"] == "03"
    assert dossier.form_data["full_name"] == "Lò Thị Mai"
    assert dossier.form_data["commune"] == "Xã Mới"  # what else was typed is kept
    # Later, on the draft: the same (the files are in the draft already).
    forged = {k: v for k, v in forged.items() if not k.startswith("file_")}
    edit = reverse("portal:edit", args=[dossier.pk])
    again = client.post(edit, {**forged, "ethnic_group": "09", "commune": "Xã Khác"})
    assert again.status_code == 400
    dossier.refresh_from_db()
    assert dossier.form_data["ethnic_group"] == "03" and dossier.form_data["commune"] == "Xã Khác"
    # A browser leaves out a field it cannot edit: no error, the register's value kept.
    posted = {k: v for k, v in forged.items() if k not in ("ethnic_group", "full_name")}
    fine = client.post(edit, {**posted, "commune": "Xã Cốc San"})
    assert fine.status_code == 302
    dossier.refresh_from_db()
    assert (
        dossier.form_data["ethnic_group"] == "03" and dossier.form_data["full_name"] == "Lò Thị Mai"
    )


def test_a_post_that_skipped_the_page_is_looked_up_and_guarded_all_the_same(
    client, citizen, certification, province, register
):
    sign_in(client, verified_citizen(citizen))
    url = reverse("portal:apply", args=[certification.code])
    response = client.post(url, full_post(certification, province, None, ethnic_group="08"))
    assert response.status_code == 400
    dossier = Dossier.objects.get(applicant_user=citizen)
    assert dossier.form_data["ethnic_group"] == "03"
    assert PopulationLookup.objects.get().dossier == dossier


def test_an_unverified_id_number_is_not_looked_up(
    client, citizen, certification, province, register
):
    sign_in(client, verified_citizen(citizen, verified=False))
    assert verified_id_number(citizen) is None
    body, _key = open_form(client, certification, province)
    assert SOURCE_VI not in body and "readonly" not in field_html(body, "full_name")
    assert not PopulationLookup.objects.exists() and not register.received


def test_an_unlinked_identity_no_longer_vouches_for_the_number(citizen, db):
    from portal.services import profile_unverify

    verified_citizen(citizen)
    assert verified_id_number(citizen) == MAI
    profile_unverify(user=citizen)
    citizen.refresh_from_db()
    assert verified_id_number(citizen) is None


# --- When the register cannot help -----------------------------------------------------------


@pytest.mark.parametrize(
    "fault, id_number, outcome, told",
    [
        ("", NOBODY, LookupOutcome.NOT_FOUND, "không có thông tin"),
        ("down", MAI, LookupOutcome.DOWN, "đang không hoạt động"),
        ("slow:1.5", MAI, LookupOutcome.TIMEOUT, "không trả lời kịp"),
        ("malformed", MAI, LookupOutcome.MALFORMED, "không đọc được"),
        ("wrong-shape", MAI, LookupOutcome.MALFORMED, "không đọc được"),
    ],
)
def test_the_citizen_fills_the_form_by_hand_when_the_register_cannot_help(
    client, citizen, certification, province, register, fault, id_number, outcome, told
):
    register.fault = fault
    sign_in(client, verified_citizen(citizen, id_number))
    body, key = open_form(client, certification, province)  # 200, never a 500
    assert told in body  # said plainly, in Vietnamese
    # Nothing changed: the profile's values, nothing read-only, no source.
    name = field_html(body, "full_name")
    assert 'value="Tên trong hồ sơ cá nhân"' in name and "readonly" not in name
    assert SOURCE_VI not in body
    lookup = PopulationLookup.objects.get()
    assert (lookup.outcome, lookup.id_number, lookup.values) == (outcome, id_number, {})
    # What the citizen types is saved, whatever the register says later.
    register.fault = ""
    typed = full_post(certification, province, key, full_name="Tự Gõ Tên", ethnic_group="08")
    assert client.post(reverse("portal:apply", args=[certification.code]), typed).status_code == 302
    dossier = Dossier.objects.get(filing_key=key)
    assert (
        dossier.form_data["full_name"] == "Tự Gõ Tên" and dossier.form_data["ethnic_group"] == "08"
    )
    assert PopulationLookup.objects.get().dossier == dossier  # no second look-up


def test_a_timeout_is_the_configured_one(
    client, citizen, certification, province, register, settings
):
    register.fault = "slow:1"
    population = {**settings.MOTCUA["CONNECTORS"]["population"], "TIMEOUT": 2}
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {**settings.MOTCUA["CONNECTORS"], "population": population},
    }
    sign_in(client, verified_citizen(citizen))
    open_form(client, certification, province)
    assert PopulationLookup.objects.get().outcome == LookupOutcome.FOUND


# --- The record in the admin -----------------------------------------------------------------


def test_the_look_ups_are_read_only_in_the_admin(
    admin_client, citizen, province, certification, register
):
    verified_citizen(citizen)
    dossier = new_draft(certification, province, citizen)
    PopulationLookup.objects.create(
        user=citizen, id_number=MAI, dossier=dossier, outcome=LookupOutcome.DOWN, detail="HTTP 503"
    )
    lookup = PopulationLookup.objects.get()
    listing = admin_client.get(reverse("admin:connectors_populationlookup_changelist"))
    assert listing.status_code == 200
    text = listing.content.decode()
    assert "Tra cứu Cơ sở dữ liệu quốc gia về dân cư" in text and "không hoạt động" in text
    assert admin_client.get(reverse("admin:connectors_populationlookup_add")).status_code == 403
    change = reverse("admin:connectors_populationlookup_change", args=[lookup.pk])
    assert admin_client.post(change, {"outcome": "found"}).status_code == 403
    lookup.refresh_from_db()
    assert lookup.outcome == LookupOutcome.DOWN


# --- The procedure files -----------------------------------------------------------------------

CATALOG = Path(django_settings.MOTCUA["CATALOG_DIR"])
FILE = "ethnic-minority-status-certification.yaml"


def _rewrite(directory: Path, change) -> None:
    path = directory / FILE
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data["fields"])
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.mark.parametrize(
    "change, path, message",
    [
        (
            lambda f: f[0].update(prefill="population.shoe_size"),
            "fields.0.prefill",
            "unknown prefill source 'population.shoe_size'",
        ),
        (
            lambda f: f[0].update(prefill="population.date_of_birth"),
            "fields.0",
            "a text field cannot take population.date_of_birth",
        ),
        (
            lambda f: (f[0].pop("prefill"), f[0].update(readonly=True)),
            "fields.0",
            "readonly applies to a prefilled field only",
        ),
        (lambda f: f[0].update(readonly="yes"), "fields.0.readonly", "valid boolean"),
    ],
)
def test_the_loader_refuses_a_bad_prefill_naming_file_and_path(db, tmp_path, change, path, message):
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG, directory)
    _rewrite(directory, change)
    with pytest.raises(CatalogError) as refused:
        load_procedures(directory)
    problems = [(p.file, p.path, p.message) for p in refused.value.problems]
    assert any(f == FILE and p == path and message in m for f, p, m in problems), problems


def test_prefill_keys_make_a_new_version_and_a_dossier_keeps_its_own(db, tmp_path, citizen):
    load_agencies()
    province = Agency.objects.get(code=PROVINCE)
    directory = tmp_path / "catalog"
    shutil.copytree(CATALOG, directory)

    def strip(fields):
        for field in fields:
            field.pop("prefill", None)
            field.pop("readonly", None)

    _rewrite(directory, strip)
    load_procedures(directory)  # the file as it was before prefill
    procedure = Procedure.objects.get(code=CERTIFICATION)
    before = procedure.current_version
    assert "prefill" not in str(before.spec)
    dossier = new_draft(procedure, province, citizen)
    report = load_procedures()  # the shipped file, with prefill
    procedure.refresh_from_db()
    assert (
        procedure.current_version != before
        and procedure.current_version.number == before.number + 1
    )
    assert any(CERTIFICATION in line for line in report.new_versions)
    dossier.refresh_from_db()
    assert dossier.procedure_version == before
    # A file without prefill hashes as it did before the keys existed.
    specs = dict(read_catalog(directory))
    assert (
        "prefill" not in str(specs[FILE].to_json())
        and content_hash(specs[FILE]) == before.content_hash
    )


def test_the_json_schema_names_the_source_and_stays_valid(certification):
    schema = form_json_schema(certification.current_version.spec)
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["ethnic_group"]["x-motcua-prefill"] == "population.ethnic_group"
    assert schema["properties"]["ethnic_group"]["x-motcua-readonly-when-prefilled"] is True
    assert "x-motcua-prefill" not in schema["properties"]["commune"]


def test_make_run_starts_the_population_sandbox_at_offset_1():
    from connectors import sandbox

    assert sandbox.discover()["population"] is PopulationSandbox
    assert PopulationSandbox.port_offset == 1
