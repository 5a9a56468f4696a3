"""Dossiers over the API: submit (JSON and multipart) with every bad input answered as a
problem with field paths and nothing stored, idempotency, the list's filters and cursor,
status with the national code for each status, the timeline without officers' data, the
supplement answer, withdrawal, the signed result, and scope × agency on every endpoint."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.urls import reverse

from access.models import AccessKind, DossierAccess
from api.models import ApiCall, IdempotentRequest
from documents.services import result_sign
from procedures.models import Agency
from tests.conftest import SIGNER_PASSWORD, give_certificate, sign_in
from workflows.demo import minimal_pdf, minimal_png, sample_form_data
from workflows.models import Dossier, DossierComponent, DossierTask, Status
from workflows.national_status import BY_STATUS, CODES, national_status, statuses_for
from workflows.services import dossiers as transitions
from workflows.services import work

from .conftest import Api, make_api_client

pytestmark = pytest.mark.django_db

URL = "/api/v1/dossiers/"
PROBLEM = "application/problem+json"
APPLICANT = {
    "name": "Lò Thị Mai",
    "id_number": "001190012345",
    "address": "Bản Cốc Lếu",
    "phone": "0912345678",
    "email": "mai@example.org",
}
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


def file_for(component: dict) -> tuple[str, bytes]:
    if "application/pdf" in component["content_types"]:
        return f"{component['code']}.pdf", minimal_pdf(component["code"])
    return f"{component['code']}.png", minimal_png()


def json_body(procedure, agency, *, form_data=None, applicant=None, files=None) -> dict:
    spec = procedure.current_version.spec
    if files is None:
        files = {}
        for component in spec["components"]:
            name, content = file_for(component)
            files[component["code"]] = [
                {"name": name, "content": base64.b64encode(content).decode()}
            ]
    return {
        "procedure": procedure.code,
        "agency": agency.code,
        "applicant": APPLICANT if applicant is None else applicant,
        "form_data": sample_form_data(spec) if form_data is None else form_data,
        "files": files,
    }


def multipart_body(procedure, agency, *, form_data=None, extra_files=None) -> dict:
    spec = procedure.current_version.spec
    body = {
        "procedure": procedure.code,
        "agency": agency.code,
        "applicant": json.dumps(APPLICANT),
        "form_data": json.dumps(sample_form_data(spec) if form_data is None else form_data),
    }
    for component in spec["components"]:
        name, content = file_for(component)
        body[f"file_{component['code']}"] = _upload(name, content)
    body.update(extra_files or {})
    return body


def _upload(name: str, content: bytes):
    handle = io.BytesIO(content)
    handle.name = name
    return handle


def stored_files() -> list[Path]:
    root = Path(settings.STORAGES["private"]["OPTIONS"]["location"])
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_problem(response, status: int, *fields: str) -> dict:
    assert response.status_code == status, response.content[:2000]
    assert response["Content-Type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status and body["title"] and body["type"].startswith("https://")
    named = {e["field"] for e in body.get("errors", [])}
    for field in fields:
        assert field in named, (field, body)
    return body


@pytest.fixture
def submit(api, procedure, province):
    """A dossier submitted through the API (JSON), as the API client."""

    def _submit(**kwargs) -> dict:
        response = api.post(URL, json_body(procedure, province, **kwargs))
        assert response.status_code == 201, response.content[:3000]
        return response.json()

    return _submit


# --- National status --------------------------------------------------------------------------


def test_every_status_has_its_national_code():
    assert set(BY_STATUS) == set(Status.values)
    assert sorted(CODES) == list(range(1, 11))
    assert national_status(Status.SUBMITTED).code == 1
    assert national_status(Status.ISSUED).code == 10
    assert national_status(Status.WITHDRAWN).code == 8
    assert national_status(Status.REFUSED).code == 9
    assert national_status(Status.DRAFT) is None
    assert statuses_for(4) == ["in_review", "approved"]
    assert statuses_for(6) == ["fee_requested"] and statuses_for(7) == []
    from django.utils import translation

    with translation.override("vi"):
        assert national_status(Status.RECEIVED).label == "Được tiếp nhận"
    assert national_status(Status.RECEIVED).label == "Accepted"


# --- Submitting -------------------------------------------------------------------------------


def test_submit_json_files_the_dossier_and_starts_its_flow(api, api_pair, procedure, province):
    response = api.post(URL, json_body(procedure, province))
    assert response.status_code == 201, response.content[:3000]
    body = response.json()
    dossier = Dossier.objects.get(pk=body["id"])
    assert response["Location"].endswith(f"/api/v1/dossiers/{dossier.pk}/")
    assert body["status"] == "submitted" and body["national_status"]["code"] == 1
    # The code comes at reception (domain.md): none yet.
    assert body["code"] is None and dossier.code is None
    assert body["procedure"] == {"code": procedure.code, "version": 1}
    assert body["agency"] == province.code and body["channel"] == "online"
    assert body["applicant"]["name"] == APPLICANT["name"]
    assert body["result"] == {"available": False, "url": None}
    assert dossier.filed_by == api_pair[0].user and dossier.applicant_user is None
    assert dossier.components.count() == len(procedure.current_version.spec["components"])
    assert DossierTask.objects.filter(dossier=dossier, stage="reception").exists()
    call = ApiCall.objects.get(endpoint="/api/v1/dossiers/", method="POST")
    assert call.dossier_id == dossier.pk and call.status_code == 201


def _two_photos(province) -> tuple:
    """The housing procedure (photos: up to 2 files) and a multipart body sending two."""
    from procedures.models import Procedure

    procedure = Procedure.objects.get(code="1.012842")
    body = multipart_body(
        procedure,
        province,
        extra_files={
            "file_current_housing_photos": [
                _upload("a.png", minimal_png()),
                _upload("b.png", minimal_png() + b"\x00"),
            ]
        },
    )
    return procedure, body


def test_submit_multipart_with_several_files_for_one_component(api, catalog, province):
    _procedure, body = _two_photos(province)
    response = api.post(URL, body, json=False)
    assert response.status_code == 201, response.content[:3000]
    dossier = Dossier.objects.get(pk=response.json()["id"])
    assert dossier.components.filter(component_code="current_housing_photos").count() == 2
    assert dossier.status == Status.SUBMITTED


def test_a_filing_keeps_what_was_sent_and_seals_every_file_it_stored(api, catalog, province):
    """The draft is made with the typed values, and its files are known to the filing
    without being read again: the filing's history entry names each with its SHA-256."""
    procedure, body = _two_photos(province)
    response = api.post(URL, body, json=False)
    assert response.status_code == 201, response.content[:3000]
    dossier = Dossier.objects.get(pk=response.json()["id"])
    assert dossier.applicant_email == APPLICANT["email"]
    assert set(dossier.form_data) == set(json.loads(body["form_data"]))  # cleaned at filing
    stored = sorted((c.component_code, c.sha256) for c in dossier.components.all())
    assert len(stored) == len(procedure.current_version.spec["components"]) + 1
    sealed = dossier.history.get(action="submit").data["components"]
    assert sorted((c["code"], c["sha256"]) for c in sealed) == stored


def test_the_201_says_what_the_status_read_says(api, catalog, province):
    """The new dossier's answer is made from what the submit wrote, not read back: it must
    be, field by field, what a status read of the dossier gives (its two photos in their
    order, its filing's history entry as its last update)."""
    _procedure, body = _two_photos(province)
    response = api.post(URL, body, json=False)
    assert response.status_code == 201, response.content[:3000]
    created = response.json()
    read = api.get(f"{URL}{created['id']}/")
    assert read.status_code == 200
    assert created == read.json()
    assert created["updated_at"] >= created["submitted_at"]  # the filing's history entry
    photos = [c for c in created["components"] if c["code"] == "current_housing_photos"]
    assert [p["file_name"] for p in photos] == ["a.png", "b.png"]
    # The same photo sent twice is kept once, and the answer names it once.
    from procedures.models import Procedure

    procedure = Procedure.objects.get(code="1.012842")
    same = [_upload("a.png", minimal_png()), _upload("copy.png", minimal_png())]
    body = multipart_body(procedure, province, extra_files={"file_current_housing_photos": same})
    created = api.post(URL, body, json=False).json()
    assert created == api.get(f"{URL}{created['id']}/").json()
    photos = [c for c in created["components"] if c["code"] == "current_housing_photos"]
    assert [p["file_name"] for p in photos] == ["a.png"]


def test_a_keyed_submit_refused_at_filing_keeps_no_row_and_no_file(api, procedure, province):
    """With an Idempotency-Key, the filing runs in the key's transaction without a
    savepoint of its own: refused by the filing's checks (after its files were stored),
    nothing of it stays, and the key can be used again for a corrected request."""
    spec = procedure.current_version.spec
    body = json_body(procedure, province)
    # Kept by the draft, refused by the filing's check of the whole form.
    required = next(f["name"] for f in spec["fields"] if f.get("required"))
    form = {k: v for k, v in body["form_data"].items() if k != required}
    response = api.post(URL, {**body, "form_data": form}, headers={"Idempotency-Key": "k-refused"})
    assert_problem(response, 400, f"form_data.{required}")
    assert Dossier.objects.count() == 0
    assert DossierComponent.objects.count() == 0
    assert stored_files() == []
    assert not IdempotentRequest.objects.filter(key="k-refused").exists()
    again = api.post(URL, body, headers={"Idempotency-Key": "k-refused"})
    assert again.status_code == 201, again.content[:3000]


def _bad(procedure, province, other_province):
    """(name, body or callable, json?, status, fields)."""
    spec = procedure.current_version.spec
    first = spec["components"][0]["code"]
    text_field = next(f["name"] for f in spec["fields"] if f["type"] == "text")
    date_field = next((f["name"] for f in spec["fields"] if f["type"] == "date"), None)
    good = json_body(procedure, province)
    missing_file = {k: v for k, v in good["files"].items() if k != first}
    department = Agency.objects.filter(parent=province).first()
    return [
        (
            "wrong types",
            {**good, "procedure": 123, "applicant": "x", "form_data": [1]},
            True,
            400,
            ["procedure", "applicant", "form_data"],
        ),
        ("missing fields", {}, True, 400, ["procedure", "agency", "applicant", "form_data"]),
        ("body not an object", [1, 2], True, 400, []),
        ("unknown procedure", {**good, "procedure": "9.999999"}, True, 404, ["procedure"]),
        ("unknown agency", {**good, "agency": "NOPE"}, True, 404, ["agency"]),
        (
            "agency outside the subtree",
            {**good, "agency": other_province.code},
            True,
            404,
            ["agency"],
        ),
        ("agency of another level", {**good, "agency": department.code}, True, 400, ["agency"]),
        (
            "huge values",
            {
                **good,
                "applicant": {**APPLICANT, "name": "x" * 10_000},
                "form_data": {**good["form_data"], text_field: "y" * 6000},
            },
            True,
            400,
            ["applicant.name", f"form_data.{text_field}"],
        ),
        (
            "unknown applicant key and form field",
            {
                **good,
                "applicant": {**APPLICANT, "age": 3},
                "form_data": {**good["form_data"], "x": 1},
            },
            True,
            400,
            ["applicant.age", "form_data.x"],
        ),
        (
            "invalid form and a missing file at once",
            {**good, "form_data": {**good["form_data"], "citizen_id": "12"}, "files": missing_file},
            True,
            400,
            ["form_data.citizen_id", f"file_{first}"],
        ),
        (
            "an .exe named .pdf",
            {
                **good,
                "files": {
                    **good["files"],
                    first: [{"name": "don.pdf", "content": base64.b64encode(EXE).decode()}],
                },
            },
            True,
            400,
            [f"file_{first}"],
        ),
        (
            "not base64",
            {**good, "files": {**good["files"], first: [{"name": "a.pdf", "content": "%%%"}]}},
            True,
            400,
            [f"files.{first}[0].content"],
        ),
        (
            "unknown component",
            {
                **good,
                "files": {
                    **good["files"],
                    "nope": [
                        {"name": "a.pdf", "content": base64.b64encode(minimal_pdf()).decode()}
                    ],
                },
            },
            True,
            400,
            ["file_nope"],
        ),
        (
            "too many files",
            {
                **good,
                "files": {
                    **good["files"],
                    first: good["files"][first]
                    + [{"name": "b.pdf", "content": base64.b64encode(minimal_pdf("b")).decode()}],
                },
            },
            True,
            400,
            [f"file_{first}"],
        ),
        # JSON values of other types than the web form's text, on a date field: the field
        # is named, never a 500 (a date field would call .strip() on them).
        *[
            (
                f"a date given as {kind}",
                {**good, "form_data": {**good["form_data"], date_field: value}},
                True,
                400,
                [f"form_data.{date_field}"],
            )
            for kind, value in (
                ("a number", 19900101),
                ("a list", ["1990-05-12"]),
                ("an object", {"y": 1990}),
                ("true", True),
            )
            if date_field
        ],
    ]


def test_every_bad_input_is_a_problem_with_field_paths_and_stores_nothing(
    api, procedure, province, other_province
):
    for name, body, as_json, status, fields in _bad(procedure, province, other_province):
        response = api.post(URL, body, json=as_json)
        assert_problem(response, status, *fields)
        assert Dossier.objects.count() == 0, name
        assert DossierComponent.objects.count() == 0, name
        assert stored_files() == [], name


def test_bad_multipart_and_json_are_problems(api, procedure, province):
    body = multipart_body(procedure, province)
    assert_problem(api.post(URL, {**body, "form_data": "{not json"}, json=False), 400, "form_data")
    assert_problem(api.post(URL, {**body, "applicant": "[1]"}, json=False), 400, "applicant")
    exe = {f"file_{procedure.current_version.spec['components'][0]['code']}": _upload("a.pdf", EXE)}
    first = procedure.current_version.spec["components"][0]["code"]
    assert_problem(api.post(URL, {**body, **exe}, json=False), 400, f"file_{first}")
    assert_problem(
        api.post(URL, {**body, "file_nope": _upload("a.pdf", minimal_pdf())}, json=False),
        400,
        "file_nope",
    )
    invalid = api.http.post(URL, "{oops", content_type="application/json", headers=api.headers())
    assert_problem(invalid, 400)
    other = api.http.post(URL, "x=1", content_type="text/plain", headers=api.headers())
    assert_problem(other, 415)
    # 1e400 is JSON, but no finite number: refused like any value a form cannot hold.
    text_field = next(
        f["name"] for f in procedure.current_version.spec["fields"] if f["type"] == "text"
    )
    body = json_body(procedure, province)
    body["form_data"][text_field] = "INFINITE"
    raw = json.dumps(body).replace('"INFINITE"', "1e400")
    infinite = api.http.post(URL, raw, content_type="application/json", headers=api.headers())
    assert_problem(infinite, 400, f"form_data.{text_field}")
    assert Dossier.objects.count() == 0 and stored_files() == []


def test_a_failed_submit_removes_the_files_it_stored(api, procedure, province):
    """The files are good and get stored; the form is not: nothing stays, not even a file."""
    body = json_body(procedure, province, form_data={"citizen_id": "12"})
    response = api.post(URL, body)
    body = assert_problem(response, 400, "form_data.citizen_id")
    assert Dossier.objects.count() == 0
    assert stored_files() == []


def test_a_database_failure_while_attaching_leaves_no_file_behind(
    api, procedure, province, monkeypatch
):
    """The files are attached in the filing's own transaction, without a savepoint: when
    the database fails there, the transaction is lost, and so are the files it stored."""
    from django.db import DatabaseError
    from django.db.models import QuerySet

    original = QuerySet.bulk_create

    def failing(self, objs, *args, **kwargs):
        if self.model is DossierComponent:
            raise DatabaseError("could not extend file: No space left on device")
        return original(self, objs, *args, **kwargs)

    monkeypatch.setattr(QuerySet, "bulk_create", failing)
    api.http.raise_request_exception = False
    response = api.post(URL, json_body(procedure, province))
    assert response.status_code == 500
    assert Dossier.objects.count() == 0 and stored_files() == []


def test_an_oversized_multipart_post_is_a_413_problem(api, procedure, province):
    response = api.http.post(
        URL,
        multipart_body(procedure, province),
        headers=api.headers(),
        CONTENT_LENGTH=str(10**10),
    )
    assert_problem(response, 413)
    assert "MB" in response.json()["detail"]


def test_a_file_past_the_largest_component_is_a_413_problem(api, procedure, province):
    from config.uploads import upload_limits

    per_file, _body = upload_limits(URL)
    big = {"file_extra": _upload("big.pdf", b"%PDF-1.4\n" + b"0" * per_file)}
    response = api.post(URL, multipart_body(procedure, province, extra_files=big), json=False)
    assert_problem(response, 413)
    assert Dossier.objects.count() == 0 and stored_files() == []


def test_an_oversized_json_post_is_a_413_problem(api, procedure, province):
    response = api.http.post(
        URL,
        json_body(procedure, province),
        content_type="application/json",
        headers=api.headers(),
        CONTENT_LENGTH=str(10**10),
    )
    assert_problem(response, 413)
    assert Dossier.objects.count() == 0


def test_problems_speak_vietnamese(api_pair, procedure, province):
    response = Api(api_pair[1], language="vi").post(URL, {})
    body = assert_problem(response, 400, "procedure")
    assert body["title"] == "Yêu cầu không hợp lệ." or "hợp lệ" in body["title"]


# --- Idempotency ------------------------------------------------------------------------------


def test_a_retried_submit_gets_the_first_answer_and_files_one_dossier(api, procedure, province):
    body = json_body(procedure, province)
    first = api.post(URL, body, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    again = api.post(URL, body, headers={"Idempotency-Key": "order-42"})
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Dossier.objects.count() == 1
    other = api.post(
        URL,
        {**body, "form_data": {**body["form_data"], "commune": "Xã khác"}},
        headers={"Idempotency-Key": "order-42"},
    )
    assert_problem(other, 422)
    assert Dossier.objects.count() == 1
    # Another key is another dossier.
    assert api.post(URL, body, headers={"Idempotency-Key": "order-43"}).status_code == 201
    assert Dossier.objects.count() == 2


def test_a_key_is_new_again_once_forgotten(api, procedure, province, settings):
    """After MOTCUA_API_IDEMPOTENCY_DAYS the key is pruned, and a request under it is a new
    request (the IETF draft's expiry), never an answer about the dossier filed under it."""
    import datetime as dt

    from django.utils import timezone

    from api.services import api_records_prune

    body = json_body(procedure, province)
    first = api.post(URL, body, headers={"Idempotency-Key": "order-42"})
    assert first.status_code == 201
    # Within the days: the same answer again.
    assert api_records_prune()["idempotency_keys"] == 0
    assert api.post(URL, body, headers={"Idempotency-Key": "order-42"})["Idempotent-Replayed"]
    days = settings.MOTCUA["API"]["IDEMPOTENCY_DAYS"]
    later = timezone.now() + dt.timedelta(days=days, minutes=1)
    assert api_records_prune(now=later)["idempotency_keys"] == 1
    other = {**body, "form_data": {**body["form_data"], "commune": "Xã khác"}}
    again = api.post(URL, other, headers={"Idempotency-Key": "order-42"})
    assert again.status_code == 201, again.content[:2000]
    assert "Idempotent-Replayed" not in again
    assert again.json()["id"] != first.json()["id"]
    assert Dossier.objects.count() == 2
    assert Dossier.objects.get(pk=first.json()["id"]).status == Status.SUBMITTED
    # And the new request is remembered in its turn.
    replayed = api.post(URL, other, headers={"Idempotency-Key": "order-42"})
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == again.json()["id"]


def test_a_dossier_filed_under_a_key_whose_record_is_gone_is_the_answer(
    api, procedure, province
):
    """The key's record deleted by hand (not pruned: pruning forgets the filing key too):
    the dossier's own filing key still names it, and the request under the key is
    answered with that dossier, not filed twice. The filing takes no savepoint, so this is
    found after the first attempt's rollback, and the key is remembered again."""
    body = json_body(procedure, province)
    first = api.post(URL, body, headers={"Idempotency-Key": "order-7"})
    assert first.status_code == 201
    dossier = Dossier.objects.get()
    entries, files = dossier.history_count, DossierComponent.objects.count()
    IdempotentRequest.objects.all().delete()
    again = api.post(URL, body, headers={"Idempotency-Key": "order-7"})
    assert again.status_code == 201, again.content[:2000]
    assert "Idempotent-Replayed" not in again
    assert again.json() == api.get(f"{URL}{first.json()['id']}/").json()
    assert again["Location"].endswith(f"{URL}{first.json()['id']}/")
    assert Dossier.objects.count() == 1
    dossier.refresh_from_db()
    assert dossier.history_count == entries
    assert DossierComponent.objects.count() == files
    replayed = api.post(URL, body, headers={"Idempotency-Key": "order-7"})
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == first.json()["id"]


def test_a_failed_submit_keeps_no_key_and_can_be_sent_again_corrected(api, procedure, province):
    good = json_body(procedure, province)
    bad = {**good, "form_data": {**good["form_data"], "citizen_id": "12"}}
    assert_problem(api.post(URL, bad, headers={"Idempotency-Key": "k1"}), 400)
    assert not IdempotentRequest.objects.exists()
    response = api.post(URL, good, headers={"Idempotency-Key": "k1"})
    assert response.status_code == 201
    assert Dossier.objects.count() == 1


def test_a_bad_idempotency_key_is_refused(api, procedure, province):
    body = json_body(procedure, province)
    assert_problem(
        api.post(URL, body, headers={"Idempotency-Key": "x" * 256}), 400, "Idempotency-Key"
    )
    assert_problem(api.post(URL, body, headers={"Idempotency-Key": "a b"}), 400, "Idempotency-Key")
    assert Dossier.objects.count() == 0


def test_the_same_key_of_another_client_is_its_own(api, procedure, province):
    body = json_body(procedure, province)
    other = Api(make_api_client(province)[1])
    assert api.post(URL, body, headers={"Idempotency-Key": "same"}).status_code == 201
    assert other.post(URL, body, headers={"Idempotency-Key": "same"}).status_code == 201
    assert Dossier.objects.count() == 2


# --- Reading ----------------------------------------------------------------------------------


def test_list_filters_and_cursor(api, submit, procedure, province, officers, other_province):
    ids = [submit()["id"] for _ in range(5)]
    received = Dossier.objects.get(pk=ids[0])
    transitions.dossier_receive(dossier=received, by=officers["reception"])
    # Another province's dossier is never listed.
    Api(make_api_client(other_province)[1]).post(URL, json_body(procedure, other_province))

    seen, page = [], api.get(URL, {"page_size": 2})
    while True:
        assert page.status_code == 200, page.content
        data = page.json()
        seen += [row["id"] for row in data["results"]]
        if not data["next"]:
            break
        page = api.http.get(data["next"], headers=api.headers())
    assert sorted(seen) == sorted(ids) and len(seen) == len(set(seen))

    def listed(**params):
        response = api.get(URL, params)
        assert response.status_code == 200, response.content
        return sorted(row["id"] for row in response.json()["results"])

    assert listed(status="received") == [ids[0]]
    assert listed(national_status=2) == [ids[0]]
    assert listed(national_status=1) == sorted(ids[1:])
    assert listed(national_status=7) == []
    assert listed(procedure=procedure.code) == sorted(ids)
    assert listed(procedure="9.999") == []
    assert listed(agency=province.code) == sorted(ids)
    assert listed(submitted_after="2000-01-01") == sorted(ids)
    assert listed(submitted_before="2000-01-01") == []
    assert listed(submitted_after="2099-01-01") == []
    assert listed(updated_after="2000-01-01T00:00:00+07:00") == sorted(ids)
    assert listed(updated_after="2099-01-01") == []

    for bad in (
        {"status": "nope"},
        {"status": "draft"},
        {"national_status": "11"},
        {"national_status": "x"},
        {"submitted_after": "30/11/2026"},
        {"updated_after": "2026-13-45T99:00"},
        {"updated_after": "2026-11-30T08:00:00+99:00"},
    ):
        assert_problem(api.get(URL, bad), 400)
    # Codes that match nothing of the client's match nothing; dates far out are the bounds.
    assert listed(agency=other_province.code) == [] and listed(agency="NOPE") == []
    assert_problem(api.get(URL, {"agency": "NO\x00PE"}), 400, "agency")
    assert_problem(api.get(URL, {"procedure": "x\x00"}), 400, "procedure")
    assert listed(submitted_before="9999-12-31") == sorted(ids)
    assert listed(submitted_after="0001-01-01T00:00:00z") == sorted(ids)
    assert api.get(URL, {"cursor": "garbage"}).status_code == 404


def test_reads_cost_the_same_queries_whatever_the_number_of_dossiers(api, submit):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    first = submit()["id"]

    def count(path):
        api.get(path)  # warm: the key's last use is written at most once a minute
        with CaptureQueriesContext(connection) as queries:
            assert api.get(path).status_code == 200
        return len(queries)

    small = (count(URL), count(f"{URL}{first}/"), count(f"{URL}{first}/timeline/"))
    for _ in range(4):
        submit()
    large = (count(URL), count(f"{URL}{first}/"), count(f"{URL}{first}/timeline/"))
    assert small == large
    # The status read reads the dossier once (its version, agency, last change and result
    # joined in) and its current files once (with the dossiers they were reused from
    # joined in); the rest is the key, the rate limit's cache and the call record.
    path = f"{URL}{first}/"
    api.get(path)
    with CaptureQueriesContext(connection) as queries:
        api.get(path)
    reads = [q["sql"] for q in queries.captured_queries if '"workflows_' in q["sql"]]
    assert len(reads) == 2, reads
    assert '"workflows_dossiercomponent"' in reads[1]


def test_applicant_data_only_for_the_client_that_filed(submit, province):
    dossier = submit()
    reader = Api(make_api_client(province, ["dossiers:read"])[1])
    body = reader.get(f"{URL}{dossier['id']}/").json()
    assert body["applicant"] is None and body["status"] == "submitted"
    assert "Lò Thị Mai" not in reader.get(URL).content.decode()


def _through(status, dossier_id, api, officers):
    """The API's dossier brought on to ``status`` by officers (real services)."""
    o = officers
    dossier = Dossier.objects.get(pk=dossier_id)
    if status == Status.SUBMITTED:
        return
    if status == Status.SUPPLEMENT_REQUESTED:
        transitions.dossier_request_supplement(
            dossier=dossier,
            by=o["reception"],
            reason="Thiếu giấy tờ",
            items=[
                {
                    "code": dossier.procedure_version.spec["components"][0]["code"],
                    "reason": "Bản scan mờ",
                }
            ],
        )
        return
    if status == Status.REJECTED_AT_RECEPTION:
        transitions.dossier_reject_at_reception(dossier=dossier, by=o["reception"], reason="Sai")
        return
    if status == Status.WITHDRAWN:
        assert api.post(f"{URL}{dossier_id}/withdraw/", {"reason": "Nộp nhầm"}).status_code == 200
        return
    dossier = transitions.dossier_receive(dossier=dossier, by=o["reception"])
    if status == Status.RECEIVED:
        return
    dossier = transitions.dossier_start_review(dossier=dossier, by=o["specialist"])
    dossier = transitions.dossier_propose(
        dossier=dossier,
        by=o["specialist"],
        decision="refuse" if status == Status.REFUSED else "approve",
        opinion="Đã thẩm định.",
    )
    if status == Status.IN_REVIEW:
        return
    if status == Status.REFUSED:
        transitions.dossier_refuse(dossier=dossier, by=o["head"], reason="Không đủ tiêu chí")
        return
    dossier = transitions.dossier_approve(dossier=dossier, by=o["head"])
    if status == Status.APPROVED:
        return
    dossier = transitions.dossier_sign(dossier=dossier, by=o["signer"])
    if status == Status.SIGNED:
        return
    transitions.dossier_issue(dossier=dossier)


REACHABLE = [s for s in Status if s not in (Status.DRAFT, Status.DISCARDED)]


def _sample_waiting_for_its_fee(api, province, officers) -> dict:
    """A dossier of the sample procedure with a fee, filed through the API, appraised and
    waiting for its payment (through the flow: the review's request_fee)."""
    from procedures.models import Procedure

    sample = Procedure.objects.get(code="MAU.PHI.001")
    response = api.post(URL, json_body(sample, province))
    assert response.status_code == 201, response.content[:3000]
    dossier = response.json()
    for stage, officer, action in (
        ("reception", officers["reception"], "accept"),
        ("review", officers["specialist"], "request_fee"),
    ):
        task = _task(dossier["id"], stage)
        work.task_claim(task=task, by=officer)
        work.task_complete(task=task, by=officer, action=action)
    return dossier


@pytest.mark.parametrize("status", REACHABLE)
def test_each_status_with_its_national_code(status, api, submit, officers, province):
    if status == Status.FEE_REQUESTED:
        dossier = _sample_waiting_for_its_fee(api, province, officers)
    else:
        dossier = submit()
        _through(status, dossier["id"], api, officers)
    body = api.get(f"{URL}{dossier['id']}/").json()
    assert body["status"] == status
    assert body["status_label"] == Status(status).label
    assert body["national_status"]["code"] == BY_STATUS[status].code
    assert body["national_status"]["label"] == BY_STATUS[status].en
    if status == Status.SUPPLEMENT_REQUESTED:
        assert body["supplement"]["items"][0]["reason"] == "Bản scan mờ"
        assert body["supplement"]["reason"] == "Thiếu giấy tờ"
    else:
        assert body["supplement"] is None
    if status in (Status.ISSUED, Status.REFUSED):
        assert body["closed_at"] and body["timeliness"] in ("early", "on_time", "late")
    assert api.get(URL, {"status": status}).json()["results"][0]["id"] == dossier["id"]


def test_the_timeline_names_no_officer(api, submit, officers):
    for user in officers.values():
        user.first_name, user.last_name, user.email = "Hoàng Văn", "Thắng", f"{user.username}@x.vn"
        user.save()
    dossier = submit()
    _through(Status.IN_REVIEW, dossier["id"], api, officers)
    assert api.post(f"{URL}{dossier['id']}/withdraw/", {"reason": "Nộp nhầm"}).status_code == 200
    response = api.get(f"{URL}{dossier['id']}/timeline/")
    assert response.status_code == 200
    text = response.content.decode()
    for user in officers.values():
        assert user.username not in text and user.email not in text
    assert "Hoàng" not in text and "Thắng" not in text
    entries = response.json()["entries"]
    assert [e["action"] for e in entries] == ["submit", "receive", "start_review", "withdraw"]
    assert [e["actor"] for e in entries] == ["applicant", "agency", "agency", "applicant"]
    assert entries[0]["status_after"]["national_status"]["code"] == 1
    assert entries[1]["status_after"]["national_status"]["code"] == 2 and entries[1]["due_date"]
    withdraw = entries[-1]
    assert withdraw["national_event"]["code"] == 7
    assert withdraw["status_after"]["national_status"]["code"] == 8
    assert withdraw["reason"] == "Nộp nhầm" and withdraw["label"] == "withdrawn"


# --- Supplement and withdrawal ----------------------------------------------------------------


def _task(dossier_id, stage):
    return DossierTask.objects.get(dossier_id=dossier_id, stage=stage, status="NEW")


def test_answering_a_supplement_request(api, submit, officers, province):
    dossier = submit()
    spec = Dossier.objects.get(pk=dossier["id"]).procedure_version.spec
    first = spec["components"][0]
    desk = officers["reception"]
    task = _task(dossier["id"], "reception")
    work.task_claim(task=task, by=desk)
    work.task_complete(
        task=task,
        by=desk,
        action="supplement",
        form={"items": [{"code": first["code"], "reason": "Bản scan mờ"}], "reason": "Thiếu"},
    )
    body = api.get(f"{URL}{dossier['id']}/").json()
    assert body["status"] == "supplement_requested" and body["national_status"]["code"] == 5
    assert body["supplement"]["items"][0]["code"] == first["code"]
    path = f"{URL}{dossier['id']}/supplement/"
    # Not another client's to answer, even in the same agency.
    other = Api(make_api_client(province)[1])
    assert_problem(other.post(path, {"comment": "x"}), 403)
    # A bad file: nothing changes, nothing is kept.
    before = DossierComponent.objects.count()
    bad = api.post(
        path,
        {
            "comment": "Đã bổ sung",
            "files": {
                first["code"]: [{"name": "a.pdf", "content": base64.b64encode(EXE).decode()}]
            },
        },
    )
    assert_problem(bad, 400, f"file_{first['code']}")
    assert DossierComponent.objects.count() == before
    assert Dossier.objects.get(pk=dossier["id"]).status == Status.SUPPLEMENT_REQUESTED
    name, content = file_for(first)
    good = api.post(
        path,
        {
            "comment": "Đã bổ sung bản rõ",
            "form_data": {"commune": "Xã Cốc San"},
            "files": {
                first["code"]: [
                    {"name": name, "content": base64.b64encode(content + b" ").decode()}
                ]
            },
        },
    )
    assert good.status_code == 200, good.content[:2000]
    assert good.json()["status"] == "submitted" and good.json()["national_status"]["code"] == 1
    fresh = Dossier.objects.get(pk=dossier["id"])
    assert fresh.form_data["commune"] == "Xã Cốc San"
    assert _task(dossier["id"], "reception")  # back at the desk
    assert_problem(api.post(path, {"comment": "again"}), 409)
    actions = [e["action"] for e in api.get(f"{URL}{dossier['id']}/timeline/").json()["entries"]]
    assert actions == ["submit", "request_supplement", "resubmit"]


def test_a_supplement_replaces_the_files_of_a_component_of_two(api, catalog, province, officers):
    """Both photos of a ``count: 2`` component sent again: they replace the two current
    ones (a plain attach would refuse them as one too many)."""
    from procedures.models import Procedure

    procedure = Procedure.objects.get(code="1.012842")  # photos: up to 2 files
    old = [_upload("a.png", minimal_png()), _upload("b.png", minimal_png() + b"\x00")]
    response = api.post(
        URL,
        multipart_body(procedure, province, extra_files={"file_current_housing_photos": old}),
        json=False,
    )
    assert response.status_code == 201, response.content[:3000]
    dossier_id = response.json()["id"]
    task = _task(dossier_id, "reception")
    work.task_claim(task=task, by=officers["reception"])
    work.task_complete(
        task=task,
        by=officers["reception"],
        action="supplement",
        form={"items": [{"code": "current_housing_photos", "reason": "Ảnh mờ"}], "reason": "x"},
    )
    photos = [minimal_png() + b"\x01", minimal_png() + b"\x02"]
    answer = api.post(
        f"{URL}{dossier_id}/supplement/",
        {
            "comment": "Ảnh rõ hơn",
            "files": {
                "current_housing_photos": [
                    {"name": f"{n}.png", "content": base64.b64encode(c).decode()}
                    for n, c in zip("cd", photos, strict=True)
                ]
            },
        },
    )
    assert answer.status_code == 200, answer.content[:2000]
    assert answer.json()["status"] == "submitted"
    files = DossierComponent.objects.filter(
        dossier_id=dossier_id, component_code="current_housing_photos"
    )
    current = files.filter(superseded_at__isnull=True)
    assert sorted(current.values_list("original_name", flat=True)) == ["c.png", "d.png"]
    # The replaced ones stay on record, as replaced.
    assert sorted(
        files.filter(superseded_at__isnull=False).values_list("original_name", flat=True)
    ) == ["a.png", "b.png"]


def test_withdrawal(api, submit, province):
    dossier = submit()
    path = f"{URL}{dossier['id']}/withdraw/"
    other = Api(make_api_client(province)[1])
    assert_problem(other.post(path, {"reason": "x"}), 403)
    assert_problem(api.post(path, {"reason": 5}), 400, "reason")
    response = api.post(path, {"reason": "Nộp nhầm thủ tục"})
    assert response.status_code == 200
    assert response.json()["status"] == "withdrawn"
    assert response.json()["national_status"]["code"] == 8
    assert not DossierTask.objects.filter(dossier_id=dossier["id"], status="NEW").exists()
    assert_problem(api.post(path, {}), 409)


# --- Result -----------------------------------------------------------------------------------


def validate_signed(data: bytes) -> None:
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    from documents.verification import trust_roots

    reader = PdfFileReader(io.BytesIO(data))
    assert reader.embedded_signatures
    for embedded in reader.embedded_signatures:
        status = validate_pdf_signature(embedded, ValidationContext(trust_roots=trust_roots()))
        assert status.intact and status.valid and status.trusted and status.bottom_line


def test_the_result_is_the_signed_pdf(
    api, api_pair, submit, officers, signing, province, django_capture_on_commit_callbacks
):
    give_certificate(signing, officers["signer"])
    with django_capture_on_commit_callbacks(execute=True):
        dossier = submit()
        _through(Status.APPROVED, dossier["id"], api, officers)
    path = f"{URL}{dossier['id']}/result/"
    body = assert_problem(api.get(path), 404)
    assert "no signed result" in body["detail"]
    approved = Dossier.objects.get(pk=dossier["id"])
    with django_capture_on_commit_callbacks(execute=True):
        result_sign(dossier=approved, by=officers["signer"], password=SIGNER_PASSWORD)
        _through_sign = transitions.dossier_sign(dossier=approved, by=officers["signer"])
        transitions.dossier_issue(dossier=_through_sign)
    detail = api.get(f"{URL}{dossier['id']}/").json()
    assert detail["result"]["available"] is True and detail["result"]["url"].endswith(path)
    response = api.get(path)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    validate_signed(b"".join(response.streaming_content))
    access = DossierAccess.objects.get(dossier_id=dossier["id"], kind=AccessKind.DOCUMENT)
    assert access.user == api_pair[0].user
    other = Api(make_api_client(province)[1])
    assert_problem(other.get(path), 403)


# --- Scope × agency ---------------------------------------------------------------------------

ENDPOINTS = [
    ("get", "{url}", "dossiers:read"),
    ("get", "{url}{id}/", "dossiers:read"),
    ("get", "{url}{id}/timeline/", "dossiers:read"),
    ("get", "{url}{id}/result/", "results:read"),
    ("post", "{url}{id}/supplement/", "dossiers:submit"),
    ("post", "{url}{id}/withdraw/", "dossiers:submit"),
    ("post", "{url}", "dossiers:submit"),
]


@pytest.mark.parametrize(("method", "template", "scope"), ENDPOINTS)
def test_scope_and_agency_on_every_endpoint(
    method, template, scope, submit, province, other_province
):
    dossier = submit()
    path = template.format(url=URL, id=dossier["id"])
    assert_problem(getattr(Api(None), method)(path), 401)
    assert_problem(getattr(Api("mc_nope_nope"), method)(path), 401)
    others = [
        s
        for s in (
            "catalog:read",
            "dossiers:read",
            "dossiers:submit",
            "results:read",
            "events:subscribe",
            "statistics:read",
        )
        if s != scope
    ]
    assert_problem(getattr(Api(make_api_client(province, others)[1]), method)(path), 403)
    outsider = Api(make_api_client(other_province, [scope])[1])
    if "{id}" in template:
        assert_problem(getattr(outsider, method)(path), 404)
    elif method == "get":
        assert outsider.get(path).json()["results"] == []
    else:
        body = json_body(
            Dossier.objects.get(pk=dossier["id"]).procedure_version.procedure, province
        )
        assert_problem(outsider.post(path, body), 404, "agency")
    assert Dossier.objects.count() == 1


def test_the_schema_describes_the_dossier_endpoints(client):
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    paths = schema["paths"]
    create = paths["/api/v1/dossiers/"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(create["requestBody"]["content"])
    assert any(p["name"] == "Idempotency-Key" for p in create["parameters"])
    for code in ("400", "401", "403", "404", "409", "413", "422", "429"):
        assert PROBLEM in create["responses"][code]["content"], code
    result = paths["/api/v1/dossiers/{id}/result/"]["get"]
    assert "application/pdf" in result["responses"]["200"]["content"]
    for path in (
        "/api/v1/dossiers/{id}/",
        "/api/v1/dossiers/{id}/timeline/",
        "/api/v1/dossiers/{id}/supplement/",
        "/api/v1/dossiers/{id}/withdraw/",
    ):
        operation = next(iter(paths[path].values()))
        assert PROBLEM in operation["responses"]["404"]["content"]
    names = [p["name"] for p in paths["/api/v1/dossiers/"]["get"]["parameters"]]
    for name in (
        "agency",
        "procedure",
        "status",
        "national_status",
        "submitted_after",
        "submitted_before",
        "updated_after",
        "cursor",
    ):
        assert name in names


# --- The whole path: API, workspace pages, polling, signed result --------------------------------


def test_submitted_by_api_processed_on_the_pages_polled_and_downloaded(
    client, api, submit, officers, signing, django_capture_on_commit_callbacks, settings
):
    """The client sees every status by polling and by webhook (signed, in order), then
    downloads the signed result."""
    import re

    from .test_webhooks import Receiver, subscribe, verify

    give_certificate(signing, officers["signer"])
    seen = []
    # The client's receiver, on loopback (allowed as under DEBUG).
    settings.MOTCUA = {
        **settings.MOTCUA,
        "API": {**settings.MOTCUA["API"], "WEBHOOK_ALLOW_PRIVATE": True},
    }
    receiver = Receiver()
    secret = subscribe(api, receiver.url())["secret"]

    def poll(dossier_id):
        body = api.get(f"{URL}{dossier_id}/").json()
        if not seen or seen[-1] != (body["status"], body["national_status"]["code"]):
            seen.append((body["status"], body["national_status"]["code"]))
        return body

    def act(officer, stage, number, form):
        sign_in(client, officer)
        page = client.get(reverse("workspace:queue"), {"stage": stage, "q": number})
        ids = re.findall(r'href="/workspace/tasks/(\d+)/"', page.content.decode())
        assert ids, (stage, page.content.decode()[:1500])
        task = int(ids[0])
        assert client.post(reverse("workspace:claim", args=[task])).status_code == 302
        response = client.post(reverse("workspace:act", args=[task]), form)
        assert response.status_code == 302, (stage, response.content.decode()[:3000])

    with django_capture_on_commit_callbacks(execute=True):
        dossier = submit()
    # The code comes at reception: officers find it by its number until then (and after).
    dossier_id, code = dossier["id"], f"#{dossier['id']}"
    poll(dossier_id)
    spec = Dossier.objects.get(pk=dossier_id).procedure_version.spec
    first = spec["components"][0]["code"]
    with django_capture_on_commit_callbacks(execute=True):
        act(
            officers["reception"],
            "reception",
            code,
            {
                "action": "supplement",
                f"supplement-item_{first}": "on",
                f"supplement-why_{first}": "Bản chụp không rõ chữ ký",
                "supplement-reason": "Hồ sơ chưa hợp lệ",
            },
        )
    body = poll(dossier_id)
    assert body["supplement"]["items"][0]["reason"] == "Bản chụp không rõ chữ ký"
    name, content = file_for(spec["components"][0])
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post(
            f"{URL}{dossier_id}/supplement/",
            {
                "comment": "Đã bổ sung",
                "files": {
                    first: [{"name": name, "content": base64.b64encode(content + b"\n").decode()}]
                },
            },
        )
    assert answer.status_code == 200, answer.content[:2000]
    poll(dossier_id)
    steps = [
        (officers["reception"], "reception", {"action": "accept", "accept-comment": ""}),
        (
            officers["specialist"],
            "review",
            {"action": "propose", "propose-decision": "approve", "propose-opinion": "Đủ điều kiện"},
        ),
        (officers["head"], "approval", {"action": "approve", "approve-comment": "Đồng ý"}),
        (
            officers["signer"],
            "signing",
            {
                "action": "sign",
                "sign-comment": "",
                "sign-personal": "on",
                "sign-password": SIGNER_PASSWORD,
                "sign-seal": "on",
            },
        ),
    ]
    for officer, stage, form in steps:
        with django_capture_on_commit_callbacks(execute=True):
            act(officer, stage, code, form)
        poll(dossier_id)
    assert seen == [
        ("submitted", 1),
        ("supplement_requested", 5),
        ("submitted", 1),
        ("received", 2),
        ("in_review", 4),
        ("approved", 4),
        ("issued", 10),
    ]
    response = api.get(f"{URL}{dossier_id}/result/")
    assert response.status_code == 200
    validate_signed(b"".join(response.streaming_content))
    timeline = api.get(f"{URL}{dossier_id}/timeline/").content.decode()
    for officer in officers.values():
        assert officer.username not in timeline
    # The same story by webhook: every event, signed, in the order it happened (sent by
    # the periodic sweep in the embedded default: api.webhooks).
    try:
        from api.webhooks import webhooks_sweep

        webhooks_sweep()
        accepted = [r for r in receiver.received if r["status"] == 200]
        assert all(verify(secret, r) for r in accepted)
        events = [json.loads(r["body"]) for r in accepted]
        assert [
            (e["event"], e["dossier"]["status"], e["dossier"]["national_status"]) for e in events
        ] == [
            ("filed", "submitted", 1),
            ("supplement_requested", "supplement_requested", 5),
            ("resubmitted", "submitted", 1),
            ("received", "received", 2),
            ("approved", "approved", 4),
            ("issued", "issued", 10),
        ]
        assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
        assert len({e["delivery_id"] for e in events}) == len(events)
    finally:
        receiver.close()


def test_updated_after_is_the_last_entrys_time_read_through_the_history_index(
    api, submit, officers
):
    """The same dossiers as "last history entry at or after", on every boundary; the
    query reads the history by time (an EXISTS on its ``at`` index), not per row only."""
    import datetime as dt

    import time_machine
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from workflows.models import HistoryEntry

    start = timezone.now().replace(microsecond=0)
    ids = []
    for day in range(3):
        with time_machine.travel(start + dt.timedelta(days=day), tick=False):
            ids.append(submit()["id"])
    with time_machine.travel(start + dt.timedelta(days=4), tick=False):
        transitions.dossier_receive(
            dossier=Dossier.objects.get(pk=ids[0]), by=officers["reception"]
        )

    def expected(moment) -> list[int]:
        last = {}
        for entry in HistoryEntry.objects.filter(dossier_id__in=ids).order_by("seq"):
            last[entry.dossier_id] = entry.at
        return sorted(pk for pk, at in last.items() if at >= moment)

    moments = sorted({e.at for e in HistoryEntry.objects.filter(dossier_id__in=ids)})
    moments += [m + dt.timedelta(seconds=1) for m in moments]
    moments += [start - dt.timedelta(days=1), start + dt.timedelta(days=10)]
    for moment in moments:
        response = api.get(URL, {"updated_after": moment.isoformat()})
        assert response.status_code == 200
        got = sorted(row["id"] for row in response.json()["results"])
        assert got == expected(moment), moment
    assert expected(start + dt.timedelta(days=3)) == [ids[0]]  # received on day 4

    with CaptureQueriesContext(connection) as queries:
        api.get(URL, {"updated_after": start.isoformat()})
    listing = next(q["sql"] for q in queries if 'FROM "workflows_dossier"' in q["sql"])
    assert 'EXISTS(SELECT 1 AS "a" FROM "workflows_historyentry" U0 WHERE (U0."at" >=' in listing


def test_forged_cursors_deep_json_and_odd_paths_are_4xx_never_500(api, submit, province):
    import base64 as b64

    submit()
    for position in ("abc", "1" * 40, "-1", "1.5"):
        forged = b64.b64encode(f"p={position}".encode()).decode()
        response = api.get(URL, {"cursor": forged})
        assert response.status_code == 404, (position, response.content[:300])
        assert response["Content-Type"] == "application/problem+json"
    deep = "[" * 100_000
    response = api.http.post(URL, deep, content_type="application/json", headers=api.headers())
    assert response.status_code == 400
    response = api.post(
        URL, {"procedure": "x", "agency": "y", "applicant": "{}", "form_data": deep}, json=False
    )
    assert response.status_code == 400
    for path in ("/api/v1/agencies/%00/", "/api/v1/procedures/%00/form-schema/"):
        assert api.get(path).status_code == 404


def test_submitted_before_a_date_includes_that_day(api, submit):
    from django.utils import timezone

    made = submit()
    today = timezone.localdate().isoformat()
    ids = [d["id"] for d in api.get(URL, {"submitted_before": today}).json()["results"]]
    assert made["id"] in ids


def test_a_dossier_waiting_for_its_fee_is_national_6_then_resumes(api, province, officers):
    from workflows.models import Fee
    from workflows.services import fees

    dossier = _sample_waiting_for_its_fee(api, province, officers)
    body = api.get(f"{URL}{dossier['id']}/").json()
    assert body["status"] == "fee_requested" and body["national_status"]["code"] == 6
    assert api.get(URL, {"status": "fee_requested"}).json()["results"][0]["id"] == dossier["id"]
    fee = Fee.objects.get(dossier_id=dossier["id"])
    assert fees.fee_confirm_at_desk(fee=fee, by=officers["reception"], reference="BL-0042")
    body = api.get(f"{URL}{dossier['id']}/").json()
    assert body["status"] == "in_review" and body["national_status"]["code"] == 4
    entries = api.get(f"{URL}{dossier['id']}/timeline/").json()["entries"]
    by_action = {e["action"]: e for e in entries}
    assert by_action["request_fee"]["status_after"]["national_status"]["code"] == 6
    assert by_action["fee_paid"]["actor"] == "agency"
    assert by_action["resume_after_fee"]["actor"] == "system"
    assert by_action["resume_after_fee"]["due_date"]


@pytest.mark.parametrize(
    "status",
    [Status.SUBMITTED, Status.SUPPLEMENT_REQUESTED, Status.REJECTED_AT_RECEPTION, Status.APPROVED],
)
def test_the_status_body_is_what_the_serializers_fields_give(
    status, api, api_pair, submit, officers
):
    """DossierSerializer makes its body directly: the same as DRF's walk over its fields
    (and ComponentFileSerializer's over each file) gives."""
    from rest_framework import serializers as drf
    from rest_framework.test import APIRequestFactory

    from api.dossiers import ComponentFileSerializer, DossierSerializer, _file_order, _read

    dossier = submit()
    _through(status, dossier["id"], api, officers)
    client = api_pair[0]
    read = _read(client, dossier["id"])
    request = APIRequestFactory().get(f"{URL}{dossier['id']}/")
    serializer = DossierSerializer(read, context={"client": client, "request": request})
    generic = drf.Serializer.to_representation(serializer, read)
    sources = [
        {
            "code": f.component_code,
            "original_name": f.original_name,
            "content_type": f.content_type,
            "size": f.size,
            "sha256": f.sha256,
            "reused": f.reused,
            "reused_from": {"kind": f.reused_kind, "dossier_code": f.reused_dossier.code}
            if f.reused
            else None,
        }
        for f in sorted(read.current_files, key=_file_order)
    ]
    generic["components"] = ComponentFileSerializer(sources, many=True).data
    fast = serializer.data
    assert json.dumps(fast) == json.dumps(generic)
    assert fast["status"] == status and len(fast["components"]) >= 1
    assert (fast["supplement"] is not None) == (status == Status.SUPPLEMENT_REQUESTED)
    assert api.get(f"{URL}{dossier['id']}/").json() == json.loads(json.dumps(fast))
