"""Bad input found by probing (issue 18, item 9): each was a 500, a silently accepted
impossible value, lost typing, or an oversized upload read in full. Each is now a 404, a
clear error with what was typed, or a refusal before the body is read."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test.client import FakePayload
from django.urls import reverse

from config.bounds import MAX_ID, parse_id
from documents.models import Document, Kind
from notifications.services import inbox
from portal.models import CitizenProfile
from tests.conftest import make_user, new_draft, sign_in
from workflows.clock import working_calendar
from workflows.demo import minimal_pdf, sample_form_data
from workflows.models import Dossier, DossierComponent, ServiceRating, Status

HUGE = str(2**63)  # one past the largest 64-bit id
HUGER = "9" * 40


def test_parse_id_bounds():
    assert parse_id(str(MAX_ID)) == MAX_ID
    assert parse_id("1") == 1
    for bad in (HUGE, HUGER, "0", "-1", "1.5", "", None, "١٢", "12a", " ", True):
        assert parse_id(bad) is None


@pytest.mark.parametrize("huge", [HUGE, HUGER])
def test_every_url_with_an_id_past_64_bits_is_a_404(client, officers, citizen, huge):
    urls = [
        f"/workspace/tasks/{huge}/",
        f"/workspace/tasks/{huge}/claim/",
        f"/workspace/tasks/{huge}/release/",
        f"/workspace/tasks/{huge}/assign/",
        f"/workspace/tasks/{huge}/act/",
        f"/workspace/dossiers/{huge}/",
        f"/workspace/dossiers/{huge}/reschedule/",
        f"/workspace/dossiers/1/files/{huge}/",
        f"/workspace/drafts/{huge}/",
        f"/documents/{huge}/",
        f"/me/dossiers/{huge}/",
        f"/me/dossiers/{huge}/withdraw/",
        f"/me/dossiers/{huge}/rate/",
        f"/me/dossiers/1/files/{huge}/",
    ]
    for user in (officers["head"], citizen):
        sign_in(client, user)
        for url in urls:
            assert client.get(url).status_code in (404, 405), url
            assert client.post(url).status_code == 404, url


@pytest.mark.parametrize(
    "query",
    [
        "start=0001-01-01",
        "end=9999-12-31",
        "start=9999-12-31&end=0001-01-01",
        "start=1899-12-31&end=2101-01-01",
    ],
)
@pytest.mark.parametrize(
    "name", ["workspace:dashboard", "workspace:service_index", "workspace:dashboard_dossiers"]
)
def test_dates_out_of_range_are_a_form_error_not_a_500(client, officers, name, query):
    sign_in(client, officers["supervisor"])
    response = client.get(f"{reverse(name)}?{query}")
    assert response.status_code == 200
    if "form" in response.context:
        assert response.context["form"].errors
        assert 'class="field-error"' in response.content.decode()  # said on the page
    # The page falls back to the default period rather than failing.
    assert response.context["period"].end <= working_calendar().today() + dt.timedelta(days=1)


def test_task_list_dates_out_of_range(client, officers):
    sign_in(client, officers["reception"])
    response = client.get(reverse("workspace:queue") + "?filed_from=0001-01-01&filed_to=9999-12-31")
    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"filed_from", "filed_to"}


@pytest.mark.parametrize(
    "query",
    [
        f"agency={HUGE}",
        f"procedure={HUGER}",
        f"officer={HUGE}&metric=stage_done",
        "agency=-1&procedure=1e9",
    ],
)
def test_query_ids_past_64_bits_match_nothing(client, officers, walk, query):
    walk(Status.RECEIVED)
    sign_in(client, officers["supervisor"])
    response = client.get(f"{reverse('workspace:dashboard_dossiers')}?{query}")
    assert response.status_code == 200
    assert response.context["page"].paginator.count == 0


def test_mark_read_with_a_huge_id_marks_nothing_and_fails_nothing(client, walk, citizen):
    walk(Status.RECEIVED)
    unread = inbox(citizen).filter(read_at__isnull=True)
    before = unread.count()
    assert before
    sign_in(client, citizen)
    response = client.post(reverse("notifications:mark_read"), {"id": [HUGER, HUGE, "-3", "x"]})
    assert response.status_code == 302
    assert unread.count() == before
    one = unread.first().pk
    client.post(reverse("notifications:mark_read"), {"id": [HUGE, str(one)]})
    assert unread.count() == before - 1
    client.post(reverse("notifications:mark_read"))
    assert unread.count() == 0


def test_admin_document_change_page_shows_the_private_file_without_a_link(
    client, walk, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):  # the receipt is rendered
        dossier = walk(Status.RECEIVED)
    document = Document.objects.filter(dossier=dossier, kind=Kind.RECEIPT).first()
    assert document is not None and document.file.name
    admin = make_user("root", is_staff=True, is_superuser=True)
    sign_in(client, admin)
    response = client.get(reverse("admin:documents_document_change", args=[document.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert document.file.name in page
    assert f'href="{document.file.name}' not in page


# --- Impossible dates ------------------------------------------------------------------------


def test_a_reschedule_far_in_the_future_is_refused_with_a_clear_message(client, walk, officers):
    dossier = walk(Status.IN_REVIEW)
    sign_in(client, officers["head"])
    url = reverse("workspace:reschedule", args=[dossier.pk])
    for date in ("9999-12-31", "2100-12-31", "0001-01-01"):
        response = client.post(url, {"new_due_date": date, "reason": "Chậm"})
        assert response.status_code == 400, date
        errors = response.context["reschedule_form"].errors["new_due_date"]
        # Says the bound (in either language): the calendar's 2100, or 365 days ahead.
        assert errors and ("2100" in errors[0] or "365" in errors[0])
        assert response.context["reschedule_form"].data["reason"] == "Chậm"
    beyond = working_calendar().today() + dt.timedelta(days=366)
    response = client.post(url, {"new_due_date": beyond.isoformat(), "reason": "Chậm"})
    assert response.status_code == 400
    message = response.context["reschedule_form"].errors["new_due_date"][0]
    latest = working_calendar().today() + dt.timedelta(days=365)
    assert "365" in message and latest.strftime("%d/%m/%Y") in message
    dossier.refresh_from_db()
    assert dossier.rescheduled_at is None


@pytest.mark.parametrize("birth", ["2999-01-01", "1899-12-31", "0001-01-01"])
def test_profile_birth_dates_in_the_future_or_before_1900(client, citizen, birth):
    sign_in(client, citizen)
    response = client.post(
        reverse("portal:profile"),
        {"full_name": "Lò Thị Mai", "date_of_birth": birth, "language": "vi"},
    )
    assert response.status_code == 400
    assert "date_of_birth" in response.context["form"].errors
    assert response.context["form"].data["full_name"] == "Lò Thị Mai"
    assert not CitizenProfile.objects.filter(user=citizen).exists()


def test_tomorrow_is_not_a_birth_date(client, citizen):
    sign_in(client, citizen)
    tomorrow = working_calendar().today() + dt.timedelta(days=1)
    response = client.post(
        reverse("portal:profile"),
        {"full_name": "Mai", "date_of_birth": tomorrow.isoformat(), "language": "vi"},
    )
    assert response.status_code == 400
    assert response.context["form"].errors.as_data()["date_of_birth"][0].code == "future"


@pytest.mark.parametrize("birth", ["2999-01-01", "1899-12-31"])
def test_application_form_birth_dates(client, citizen, procedure, province, birth):
    draft = new_draft(procedure, province, citizen)
    sign_in(client, citizen)
    data = {
        "applicant_name": "Lò Thị Mai",
        **sample_form_data(procedure.current_version.spec),
        "date_of_birth": birth,
        "review": "1",
    }
    response = client.post(reverse("portal:edit", args=[draft.pk]), data)
    assert response.status_code == 400
    assert "date_of_birth" in response.context["errors"]
    # The draft keeps what was typed (to be corrected), and it cannot be filed.
    assert (
        client.post(reverse("portal:review", args=[draft.pk]), {"declaration": "on"}).status_code
        == 400
    )
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_desk_filing_birth_date_in_the_future(client, officers, procedure, province):
    sign_in(client, officers["reception"])
    url = reverse("workspace:file_new", args=[province.code, procedure.code])
    data = {
        "applicant_name": "Lò Văn Páo",
        **sample_form_data(procedure.current_version.spec),
        "date_of_birth": "2999-01-01",
        "submit": "1",
    }
    response = client.post(url, data)
    assert response.status_code == 400
    assert "date_of_birth" in response.context["errors"]
    dossier = Dossier.objects.get()
    assert dossier.status == Status.DRAFT
    assert dossier.applicant_name == "Lò Văn Páo"


# --- Lost input ------------------------------------------------------------------------------


def test_withdraw_without_the_tick_keeps_the_reason(client, walk, citizen):
    dossier = walk(Status.SUBMITTED)
    sign_in(client, citizen)
    reason = "Tôi nộp nhầm thủ tục, xin rút để nộp lại."
    response = client.post(reverse("portal:withdraw", args=[dossier.pk]), {"reason": reason})
    assert response.status_code == 400
    page = response.content.decode()
    assert "confirm" in response.context["withdraw_form"].errors
    assert reason in page
    assert 'class="field-error"' in page
    dossier.refresh_from_db()
    assert dossier.status == Status.SUBMITTED


def test_rating_without_a_score_keeps_the_comment(client, walk, citizen):
    dossier = walk(Status.ISSUED)
    sign_in(client, citizen)
    comment = "Cán bộ hướng dẫn tận tình."
    for data in ({"comment": comment}, {"comment": comment, "score": "9"}):
        response = client.post(reverse("portal:rate", args=[dossier.pk]), data)
        assert response.status_code == 400
        assert comment in response.content.decode()
        assert "score" in response.context["rating_form"].errors
    assert not ServiceRating.objects.filter(dossier=dossier).exists()


# --- Oversized uploads -----------------------------------------------------------------------


class CountingPayload(FakePayload):
    """A request body that counts how much of it the server read."""

    def __init__(self, content=None):
        super().__init__(content)
        self.read_bytes = 0

    def read(self, size=-1):
        data = super().read(size)
        self.read_bytes += len(data)
        return data

    def readline(self, size=-1):
        data = super().readline(size)
        self.read_bytes += len(data)
        return data


def _multipart(fields: dict, files: dict) -> tuple[bytes, str]:
    boundary = "----motcua-test-boundary"
    out = io.BytesIO()
    for name, value in fields.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
            f"{value}\r\n".encode()
        )
    for name, data in files.items():
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
            f'filename="scan.pdf"\r\nContent-Type: application/pdf\r\n\r\n'.encode()
        )
        out.write(data)
        out.write(b"\r\n")
    out.write(f"--{boundary}--\r\n".encode())
    return out.getvalue(), f"multipart/form-data; boundary={boundary}"


def test_an_upload_refused_from_its_content_length_before_reading(
    client, citizen, procedure, province
):
    draft = new_draft(procedure, province, citizen, complete=False)
    sign_in(client, citizen)
    body, content_type = _multipart({"applicant_name": "Mai"}, {"file_x": b"%PDF-1.4 tiny"})
    payload = CountingPayload(body)
    response = client.generic(
        "POST",
        reverse("portal:edit", args=[draft.pk]),
        **{
            "wsgi.input": payload,
            "CONTENT_TYPE": content_type,
            "CONTENT_LENGTH": str(500 * 1_048_576),
        },
    )
    assert response.status_code == 413
    assert payload.read_bytes == 0
    assert "MB" in response.content.decode()
    draft.refresh_from_db()
    assert draft.applicant_name != "Mai"


def test_a_file_past_the_largest_component_stops_the_stream(client, citizen, procedure, province):
    draft = new_draft(procedure, province, citizen, complete=False)
    code = procedure.current_version.spec["components"][0]["code"]
    sign_in(client, citizen)
    largest = max(
        c["max_size_mb"] for c in procedure.current_version.spec["components"]
    )  # the catalog's largest is 10 MB; one file of 12 MB passes the body limit only
    big = minimal_pdf() + b"0" * (12 * 1_048_576)
    assert largest < 12
    body, content_type = _multipart({"applicant_name": "Mai"}, {f"file_{code}": big})
    payload = CountingPayload(body)
    response = client.generic(
        "POST",
        reverse("portal:edit", args=[draft.pk]),
        **{"wsgi.input": payload, "CONTENT_TYPE": content_type, "CONTENT_LENGTH": str(len(body))},
    )
    assert response.status_code == 413
    assert payload.read_bytes < len(body) - 1_048_576  # stopped well before the end
    assert not DossierComponent.objects.filter(dossier=draft).exists()


def test_an_upload_within_the_limits_still_works(client, citizen, procedure, province):
    draft = new_draft(procedure, province, citizen, complete=False)
    code = procedure.current_version.spec["components"][0]["code"]
    sign_in(client, citizen)
    response = client.post(
        reverse("portal:edit", args=[draft.pk]),
        {
            "applicant_name": "Mai",
            f"file_{code}": SimpleUploadedFile("a.pdf", minimal_pdf(), "application/pdf"),
        },
    )
    assert response.status_code in (302, 400)
    assert DossierComponent.objects.filter(dossier=draft, component_code=code).exists()


def test_no_route_takes_an_unbounded_int():
    """Ids in URLs go through <id:...> (64-bit), never <int:...> (a 500 past 2**63)."""
    from tests.config.test_url_matrix import _routes

    unbounded = [f"{name}: {pattern}" for name, pattern in _routes() if "<int:" in pattern]
    assert not unbounded, "use <id:...> from config.bounds instead: " + ", ".join(unbounded)


def test_the_date_range_is_written_as_on_vietnamese_papers():
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from config.bounds import check_date_range

    with translation.override("vi"), pytest.raises(ValidationError) as error:
        check_date_range(dt.date(1, 1, 1))
    assert "01/01/1900" in str(error.value) and "31/12/2100" in str(error.value)
