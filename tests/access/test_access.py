"""Who saw my data: every look at a dossier is one row of the access record; the
applicant sees which office looked and when (never the officer's name); supervisors
search the record over their agencies; openings by verification code are recorded too."""

from __future__ import annotations

import hashlib
import io

import pytest
from django.contrib.admin.sites import site
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from access.models import AccessKind, DossierAccess
from access.services import access_record
from documents.models import Document, DocumentStatus, Kind
from procedures.models import Agency
from tests.conftest import make_officer, make_user, new_draft, sign_in
from workflows.models import DossierTask, Status
from workflows.services import work

OFFICER_NAME = ("Hoàng Văn", "Thắng")


@pytest.fixture
def named(officers):
    """The specialist has a Vietnamese name, to look for it in pages."""
    specialist = officers["specialist"]
    specialist.first_name, specialist.last_name = OFFICER_NAME
    specialist.save(update_fields=["first_name", "last_name"])
    return officers


@pytest.fixture
def submitted(procedure, province, citizen, officers):
    """A filed dossier with its reception task, through the flow."""
    return work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)


@pytest.fixture
def received(walk, django_capture_on_commit_callbacks, named):
    """A received dossier with its receipt rendered, as in production."""
    with django_capture_on_commit_callbacks(execute=True):
        dossier = walk(Status.RECEIVED)
    receipt = Document.objects.get(dossier=dossier, kind=Kind.RECEIPT)
    assert receipt.status == DocumentStatus.RENDERED, receipt.last_error
    return dossier


@pytest.fixture
def supervisor(catalog):
    return make_officer("supervisor", Agency.objects.get(code="G16"))


def receipt_of(dossier) -> Document:
    return Document.objects.get(dossier=dossier, kind=Kind.RECEIPT)


def file_bytes(field) -> bytes:
    with field.open("rb") as handle:
        return handle.read()


def only_row(**filters) -> DossierAccess:
    rows = list(DossierAccess.objects.filter(**filters))
    assert len(rows) == 1, rows
    return rows[0]


def access_section(html: str) -> str:
    """The applicant page's "who saw this dossier" panel alone."""
    start = html.index('aria-labelledby="h-access"')
    return html[start : html.index("</section>", start)]


def vietnamese(client):
    client.cookies["django_language"] = "vi"
    return client


# --- Each kind of access writes one row ---------------------------------------------------------


def test_an_officers_dossier_page_is_one_row(client, received, named, province):
    specialist = named["specialist"]
    sign_in(client, specialist)
    before = timezone.now()
    response = client.get(
        reverse("workspace:dossier", args=[received.pk]), REMOTE_ADDR="198.51.100.7"
    )
    assert response.status_code == 200
    row = only_row(dossier=received)
    assert row.kind == AccessKind.DOSSIER
    assert row.user == specialist
    assert row.agency == province
    assert row.dossier_agency == province
    assert row.by_applicant is False
    assert row.client_ip == "198.51.100.7"
    assert before <= row.at <= timezone.now()
    assert row.component is None and row.document_pk is None


def test_an_officers_task_page_is_one_row(client, submitted, officers, province):
    task = DossierTask.objects.get(dossier=submitted, stage="reception")
    sign_in(client, officers["reception"])
    assert client.get(reverse("workspace:task", args=[task.pk])).status_code == 200
    row = only_row(dossier=submitted)
    assert (row.kind, row.user, row.agency) == (AccessKind.DOSSIER, officers["reception"], province)


def test_a_file_preview_and_a_download_are_one_row_each(client, submitted, officers):
    component = submitted.components.first()
    url = reverse("workspace:file_download", args=[submitted.pk, component.pk])
    sign_in(client, officers["head"])
    assert client.get(url, {"preview": "1"}).status_code == 200
    row = only_row(dossier=submitted)
    assert (row.kind, row.component, row.user) == (
        AccessKind.FILE_PREVIEW,
        component,
        officers["head"],
    )
    assert client.get(url).status_code == 200
    assert DossierAccess.objects.filter(dossier=submitted).count() == 2
    row = DossierAccess.objects.filter(dossier=submitted).first()  # newest first
    assert (row.kind, row.component) == (AccessKind.FILE_DOWNLOAD, component)


def test_a_paper_downloaded_by_an_officer_is_one_row(client, received, named, province):
    receipt = receipt_of(received)
    sign_in(client, named["supervisor"])  # a supervisor held in the province
    response = client.get(reverse("documents:download", args=[receipt.pk]))
    assert response.status_code == 200
    row = only_row(dossier=received)
    assert row.kind == AccessKind.DOCUMENT
    assert (row.document_pk, row.document_kind) == (receipt.pk, Kind.RECEIPT)
    assert (row.user, row.agency) == (named["supervisor"], province)


def test_what_is_refused_is_not_recorded(client, received, outsiders, citizen):
    receipt = receipt_of(received)
    sign_in(client, outsiders["specialist"])
    assert client.get(reverse("workspace:dossier", args=[received.pk])).status_code == 404
    assert client.get(reverse("documents:download", args=[receipt.pk])).status_code == 404
    sign_in(client, make_user())
    assert client.get(reverse("portal:dossier", args=[received.pk])).status_code == 404
    assert not DossierAccess.objects.exists()


def test_recording_is_one_insert_and_no_read(received, named, rf, django_assert_num_queries):
    specialist = named["specialist"]
    from procedures.auth import held_roles

    held_roles(specialist)  # the permission check that let the officer in read these
    request = rf.get("/")
    with django_assert_num_queries(1) as context:
        access_record(dossier=received, by=specialist, kind="dossier", request=request)
    assert context.captured_queries[0]["sql"].upper().startswith("INSERT")


def test_the_record_is_append_only(received, named, rf):
    row = access_record(dossier=received, by=named["head"], kind="dossier", request=rf.get("/"))
    with pytest.raises(PermissionError):
        row.save()
    with pytest.raises(PermissionError):
        DossierAccess.objects.all().update(kind="document")
    with pytest.raises(PermissionError):
        DossierAccess.objects.all().delete()


def test_postgres_refuses_raw_updates_and_deletes(received, named, rf):
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's")
    row = access_record(dossier=received, by=named["head"], kind="dossier", request=rf.get("/"))
    table = DossierAccess._meta.db_table
    for sql in (
        f"UPDATE {table} SET kind = 'document' WHERE id = %s",  # noqa: S608
        f"DELETE FROM {table} WHERE id = %s",  # noqa: S608
    ):
        with (
            pytest.raises(DatabaseError, match="never updated or deleted"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(sql, [row.pk])
    assert DossierAccess.objects.filter(pk=row.pk, kind="dossier").exists()


def test_the_client_address_comes_from_the_proxy_when_behind_one(client, received, named, settings):
    settings.BEHIND_TLS_PROXY = True
    sign_in(client, named["head"])
    client.get(
        reverse("workspace:dossier", args=[received.pk]),
        HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.5",
        REMOTE_ADDR="127.0.0.1",
    )
    assert only_row(dossier=received).client_ip == "203.0.113.5"


# --- The applicant's page ----------------------------------------------------------------------


def test_the_applicant_sees_the_office_and_date_but_never_the_officer(
    client, received, named, citizen, province
):
    specialist = named["specialist"]
    sign_in(client, specialist)
    client.get(reverse("workspace:dossier", args=[received.pk]))
    sign_in(vietnamese(client), citizen)
    html = client.get(reverse("portal:dossier", args=[received.pk])).content.decode()
    assert "Ai đã xem hồ sơ này" in html
    section = access_section(html)
    assert province.name in section
    assert timezone.localdate().strftime("%d/%m/%Y") in section
    assert "Xem hồ sơ" in section
    for private in (
        OFFICER_NAME[0],
        OFFICER_NAME[1],
        specialist.get_full_name(),
        specialist.username,
    ):
        assert private not in html, private


def test_the_applicants_own_openings_are_not_someone_elses(client, received, citizen):
    component = received.components.first()
    receipt = receipt_of(received)
    sign_in(vietnamese(client), citizen)
    assert client.get(reverse("portal:file", args=[received.pk, component.pk])).status_code == 200
    assert client.get(reverse("documents:download", args=[receipt.pk])).status_code == 200
    rows = list(DossierAccess.objects.filter(dossier=received))
    # Recorded, as the applicant's own, with no office.
    assert {(r.kind, r.user, r.by_applicant, r.agency) for r in rows} == {
        (AccessKind.FILE_DOWNLOAD, citizen, True, None),
        (AccessKind.DOCUMENT, citizen, True, None),
    }
    section = access_section(
        client.get(reverse("portal:dossier", args=[received.pk])).content.decode()
    )
    assert "Chưa có cơ quan nào mở hồ sơ này." in section
    assert "<li>" not in section


def test_staff_see_the_officers_name(client, received, named, supervisor):
    sign_in(client, named["specialist"])
    client.get(reverse("workspace:dossier", args=[received.pk]))
    sign_in(vietnamese(client), supervisor)
    response = client.get(reverse("workspace:access_log"), {"code": received.code})
    assert response.status_code == 200
    html = response.content.decode()
    assert named["specialist"].get_full_name() in html
    assert named["specialist"].username in html
    assert received.code in html
    # The supervisor's dossier page links to its record; a specialist's does not.
    page = client.get(reverse("workspace:dossier", args=[received.pk])).content.decode()
    assert f"{reverse('workspace:access_log')}?code={received.code}" in page
    sign_in(client, named["specialist"])
    page = client.get(reverse("workspace:dossier", args=[received.pk])).content.decode()
    assert reverse("workspace:access_log") not in page


def test_the_record_is_searched_without_accents_or_case(client, received, named, supervisor):
    """As the officers' search: "lo thi mai" finds the dossier of "Lò Thị Mai", and an
    officer is found by a name typed without accents, in any case."""
    sign_in(client, named["specialist"])
    client.get(reverse("workspace:dossier", args=[received.pk]))
    specialist = named["specialist"]
    assert received.applicant_name == "Lò Thị Mai"
    assert specialist.get_full_name() == "Hoàng Văn Thắng"
    sign_in(vietnamese(client), supervisor)

    def found(**query) -> bool:
        response = client.get(reverse("workspace:access_log"), query)
        assert response.status_code == 200
        return f"?user={specialist.pk}" in response.content.decode() or (
            specialist.username in response.content.decode()
        )

    assert found(code="lo thi mai")
    assert found(code="LÒ THỊ")
    assert found(code=f"#{received.pk}")
    assert found(code=received.code.lower())
    assert found(officer="hoang van thang")
    assert found(officer="VAN THANG")
    assert found(officer="thắng", code="  lo   thi mai ")
    assert not found(code="lo thi mai xyz")
    assert not found(officer="hoang van thanh")
    assert not found(code=f"#{received.pk + 1000}")


# --- Verification by code ----------------------------------------------------------------------


def _upload(data: bytes):
    return SimpleUploadedFile("copy.pdf", data, content_type="application/pdf")


def test_openings_by_code_are_recorded_without_a_user(client, received, citizen, named):
    receipt = receipt_of(received)
    stranger = make_user()
    sign_in(client, stranger)  # logged in or not, the code is what lets them in
    page = client.get(
        reverse("documents:verify_code", args=[receipt.verification_code]),
        REMOTE_ADDR="192.0.2.10",
    )
    assert page.status_code == 200
    client.logout()
    download = client.get(
        reverse("documents:verify_download", args=[receipt.verification_code]),
        REMOTE_ADDR="192.0.2.11",
    )
    assert download.status_code == 200
    rows = list(DossierAccess.objects.filter(dossier=received).order_by("at", "pk"))
    assert [(r.kind, r.user, r.agency, r.client_ip, r.document_pk) for r in rows] == [
        (AccessKind.CODE_OPEN, None, None, "192.0.2.10", receipt.pk),
        (AccessKind.CODE_DOWNLOAD, None, None, "192.0.2.11", receipt.pk),
    ]
    # An unknown code records nothing.
    client.get(reverse("documents:verify_code", args=["ZZZZZZZZZZ"]))
    assert DossierAccess.objects.count() == 2


def test_a_matching_uploaded_copy_is_recorded_and_another_is_not(client, received):
    receipt = receipt_of(received)
    data = file_bytes(receipt.file)
    assert hashlib.sha256(data).hexdigest() == receipt.sha256
    page = client.post(
        reverse("documents:verify_check"), {"file": _upload(data)}, REMOTE_ADDR="192.0.2.20"
    )
    assert page.status_code == 200
    row = only_row(dossier=received)
    assert (row.kind, row.user, row.client_ip, row.document_pk) == (
        AccessKind.COPY_CHECK,
        None,
        "192.0.2.20",
        receipt.pk,
    )
    other = io.BytesIO(b"%PDF-1.7\n not one of ours")
    client.post(reverse("documents:verify_check"), {"file": _upload(other.getvalue())})
    assert DossierAccess.objects.count() == 1


def test_the_applicant_sees_checks_by_code_with_their_date(client, received, citizen):
    receipt = receipt_of(received)
    client.get(reverse("documents:verify_code", args=[receipt.verification_code]))
    sign_in(vietnamese(client), citizen)
    section = access_section(
        client.get(reverse("portal:dossier", args=[received.pk])).content.decode()
    )
    assert "Người giữ mã xác thực đã kiểm tra" in section
    assert timezone.localdate().strftime("%d/%m/%Y") in section
    assert received.handling_agency.name not in section  # nobody is named for a code
    # And in English.
    client.cookies["django_language"] = "en"
    html = client.get(reverse("portal:dossier", args=[received.pk])).content.decode()
    assert "Checked by someone holding the code" in access_section(html)


# --- The supervisors' search -------------------------------------------------------------------


@pytest.fixture
def recorded(client, received, named, submitted, officers):
    """Views by the specialist and the head on one dossier, by reception on another."""
    for officer in (named["specialist"], named["head"]):
        sign_in(client, officer)
        client.get(reverse("workspace:dossier", args=[received.pk]))
    sign_in(client, officers["reception"])
    client.get(reverse("workspace:dossier", args=[submitted.pk]))
    client.logout()
    assert DossierAccess.objects.count() == 3
    return {"received": received, "submitted": submitted}


def search(client, **params):
    return client.get(reverse("workspace:access_log"), params)


def shown(response) -> list[DossierAccess]:
    assert response.status_code == 200, response.content.decode()[:2000]
    return list(response.context["page"].object_list)


def test_the_search_filters(client, recorded, named, officers, supervisor):
    received, submitted = recorded["received"], recorded["submitted"]
    sign_in(client, supervisor)
    assert len(shown(search(client))) == 3
    assert {r.dossier_id for r in shown(search(client, code=received.code))} == {received.pk}
    assert {r.dossier_id for r in shown(search(client, code=received.code.lower()))} == {
        received.pk
    }
    by_login = shown(search(client, officer=named["head"].username))
    assert [r.user for r in by_login] == [named["head"]]
    by_name = shown(search(client, officer="Văn Thắng"))
    assert [r.user for r in by_name] == [named["specialist"]]
    by_id = shown(search(client, user=officers["reception"].pk))
    assert [r.dossier_id for r in by_id] == [submitted.pk]
    assert shown(search(client, kind="file_download")) == []
    assert len(shown(search(client, kind="dossier"))) == 3
    today = timezone.localdate()
    assert len(shown(search(client, start=today.isoformat(), end=today.isoformat()))) == 3
    assert len(shown(search(client, start=today.strftime("%d/%m/%Y")))) == 3
    yesterday = today.fromordinal(today.toordinal() - 1)
    assert shown(search(client, end=yesterday.isoformat())) == []


def test_the_search_is_scoped_to_the_supervised_agencies(
    client, recorded, outsiders, officers, named
):
    received = recorded["received"]
    # A supervisor of another province sees none of this province's record.
    sign_in(client, outsiders["supervisor"])
    assert shown(search(client)) == []
    assert shown(search(client, code=received.code)) == []
    assert shown(search(client, user=named["head"].pk)) == []
    # A head sees their own agency's; the province's supervisor too.
    for officer in (named["head"], named["supervisor"]):
        sign_in(client, officer)
        assert len(shown(search(client))) == 3


def test_the_search_is_for_supervisors_and_heads_only(client, recorded, officers, citizen):
    url = reverse("workspace:access_log")
    for person in (officers["specialist"], officers["reception"], officers["signer"], citizen):
        sign_in(client, person)
        assert client.get(url).status_code == 403, person
    client.logout()
    response = client.get(url)
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


@pytest.mark.parametrize(
    "params",
    [
        {"user": "99999999999999999999999999"},
        {"user": str(2**63)},
        {"user": "-1"},
        {"user": "abc"},
        {"start": "0001-01-01"},
        {"end": "9999-12-31"},
        {"start": "0001-01-01", "end": "9999-12-31"},
        {"start": "31/02/2026"},
        {"start": "junk"},
        {"start": "2026-05-02", "end": "2026-05-01"},
        {"kind": "everything-please"},
        {"code": "x" * 500},
        {"code": "H22\x00"},
    ],
)
def test_bad_input_on_the_search_is_a_clear_message(client, recorded, supervisor, params):
    sign_in(vietnamese(client), supervisor)
    response = search(client, **params)
    assert response.status_code == 400
    assert response.context["page"] is None
    form = response.context["form"]
    assert form.errors
    html = response.content.decode()
    for errors in form.errors.values():
        for message in errors:
            assert str(message) in html or str(message).replace("'", "&#x27;") in html


def test_the_date_range_message_names_the_range(client, recorded, supervisor):
    sign_in(vietnamese(client), supervisor)
    html = search(client, start="0001-01-01").content.decode()
    assert "01/01/1900" in html and "31/12/2100" in html


@pytest.mark.parametrize("page", ["99999999999999999999999", "-5", "abc", "1e9"])
def test_any_page_number_shows_a_page(client, recorded, supervisor, page):
    sign_in(client, supervisor)
    assert search(client, page=page).status_code == 200


# --- The admin ---------------------------------------------------------------------------------


def test_administrators_see_the_record_read_only(client, recorded):
    admin_user = make_user(is_staff=True, is_superuser=True)
    sign_in(client, admin_user)
    listing = client.get(reverse("admin:access_dossieraccess_changelist"))
    assert listing.status_code == 200
    assert recorded["received"].code in listing.content.decode()
    row = DossierAccess.objects.first()
    assert (
        client.get(reverse("admin:access_dossieraccess_change", args=[row.pk])).status_code == 200
    )
    model_admin = site._registry[DossierAccess]
    request = listing.wsgi_request
    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request, row)
    assert not model_admin.has_delete_permission(request, row)
    assert client.get(reverse("admin:access_dossieraccess_add")).status_code == 403
