"""Vietnamese everywhere on a Vietnamese officer's page (issue #16, item 3): the queue's
heading, the language switch, the timeline in words with people by name, earlier opinions
naming the document, file types as words, the admin's columns and models."""

from __future__ import annotations

import pytest
from django.urls import reverse

from portal.models import CitizenProfile
from tests.conftest import new_draft, sign_in
from workflows.models import Status
from workflows.services import work

VI = {"HTTP_ACCEPT_LANGUAGE": "vi"}


def page(client, name, *args) -> str:
    response = client.get(reverse(name, args=args), **VI)
    assert response.status_code == 200
    return response.content.decode()


def test_the_queue_heading_counts_tasks_in_vietnamese(
    client, procedure, province, citizen, officers
):
    for _ in range(5):
        work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    sign_in(client, officers["reception"])
    html = page(client, "workspace:queue")
    assert 'Hàng chờ <span class="count">(5 công việc)</span>' in html
    assert "tasks)" not in html


def test_each_language_is_named_in_itself(client, officers):
    sign_in(client, officers["reception"])
    html = page(client, "workspace:queue")
    assert ">Tiếng Việt</button>" in html and ">English</button>" in html
    assert "Tiếng Anh" not in html
    assert 'lang="en"' in html


def test_the_officers_timeline_speaks_words_and_names_people(client, walk, citizen, officers):
    CitizenProfile.objects.create(user=citizen, full_name="Lò Thị Mai")
    officers["specialist"].first_name = "Nguyễn Văn An"
    officers["specialist"].save()
    dossier = walk(Status.IN_REVIEW)
    sign_in(client, officers["head"])
    html = page(client, "workspace:dossier", dossier.pk)
    timeline = html.split('id="h-timeline"', 1)[1]
    # States in words, not the machine's names.
    assert "từ “Đã tiếp nhận” sang “Đang thẩm định”" in timeline
    for raw in ("in_review", "submitted", "received →", "→ received"):
        assert raw not in timeline, raw
    # People by name: the applicant (profile) and the officer.
    assert "Lò Thị Mai" in timeline and "Nguyễn Văn An" in timeline
    assert citizen.username not in timeline
    assert officers["specialist"].username not in html


def test_earlier_opinions_name_the_document_and_files_have_type_names(client, walk, officers):
    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    component = dossier.procedure_version.spec["components"][0]
    sign_in(client, officers["head"])
    html = page(client, "workspace:dossier", dossier.pk)
    opinions = html.split('id="h-opinions"', 1)[1].split("</section>", 1)[0]
    assert f"<li>{component['name']['vi']}: Bản scan mờ</li>" in opinions
    assert f"{component['code']}:" not in opinions
    files = html.split('id="h-files"', 1)[1].split("</section>", 1)[0]
    assert " · PDF · " in files
    assert "application/pdf" not in files


@pytest.mark.parametrize(
    ("model", "singular", "plural", "columns", "english"),
    [
        (
            "workflows/historyentry",
            "mục lịch sử",
            "Lịch sử",
            ["Hồ sơ", "Số thứ tự", "Thời điểm", "Người thực hiện", "Thao tác", "Trạng thái sau"],
            ["Seq", "At", "Actor", "Action", "From status", "To status"],
        ),
        (
            "workflows/outgoingevent",
            "sự kiện gửi đi",
            "Sự kiện gửi đi",
            ["Loại sự kiện", "Hồ sơ", "Tạo lúc", "Đã chuyển đi lúc", "Số lần thử"],
            ["Name", "Created at", "Dispatched at", "Attempts"],
        ),
        (
            "notifications/message",
            "tin nhắn",
            "Tin nhắn",
            ["Mã tin nhắn", "Thông báo", "Kênh gửi", "Ngôn ngữ", "Trạng thái", "Số lần thử"],
            ["Uid", "Channel", "Hình thức nộp", "Attempts", "Created at"],
        ),
        (
            "documents/document",
            "văn bản",
            "Văn bản",
            ["Hồ sơ", "Loại văn bản", "Trạng thái", "Số lần thử", "Tạo lúc", "Tạo tệp lúc"],
            ["Dossier", "Kind", "Attempts", "Created at", "Rendered at"],
        ),
    ],
)
def test_the_admin_names_columns_and_models_in_vietnamese(
    admin_client, walk, citizen, model, singular, plural, columns, english
):
    from documents.models import Document
    from notifications.models import Message
    from workflows.models import HistoryEntry, OutgoingEvent

    citizen.email = "mai@example.org"
    citizen.save()
    dossier = walk(Status.RECEIVED)  # history, events and messages
    Document.objects.create(dossier=dossier, kind="receipt", source_key="t", template="t")
    for made in (HistoryEntry, OutgoingEvent, Message, Document):
        assert made.objects.exists(), made
    html = admin_client.get(f"/admin/{model}/", **VI).content.decode()
    assert f"<title>Chọn {singular} để " in html, html[:400]
    assert f">{plural}</a>" in html or f"{plural}</" in html
    head = html.split("<thead>", 1)[1].split("</thead>", 1)[0]
    for column in columns:
        assert column in head, (column, head)
    for word in english:
        assert f">{word}<" not in head and f'">{word}</a>' not in head, (word, head)


def test_numbers_are_written_with_a_decimal_comma_on_pages_and_papers(
    client, catalog, province, citizen, officers
):
    from django.utils import translation

    from documents import content
    from procedures.models import Procedure
    from workflows.selectors import dossier_form_rows

    housing = Procedure.objects.get(code="1.012842")
    dossier = new_draft(housing, province, citizen)
    dossier.form_data = {**dossier.form_data, "current_land_area_m2": "120.5"}
    dossier.save(update_fields=["form_data"])
    dossier = work.application_submit(dossier=dossier, by=citizen)
    with translation.override("vi"):
        rows = {row.label: row.value for row in dossier_form_rows(dossier)}
    assert rows["Diện tích đất hiện có (m²)"] == "120,5"
    # The paper (always Vietnamese) and the officer's page in Vietnamese.
    paper = {row["label"]: row["value"] for row in content.result(dossier, {})["form_rows"]}
    assert paper["Diện tích đất hiện có (m²)"] == "120,5"
    sign_in(client, officers["head"])
    html = page(client, "workspace:dossier", dossier.pk)
    assert "<dd>120,5</dd>" in html and "120.5" not in html


def test_an_english_page_speaks_english_and_writes_days_day_first(
    client, walk, procedure, province, citizen, officers
):
    """The list's heading follows the reader's language (it was read once, in Vietnamese,
    when the module was imported), and an English page writes a day as the papers do."""
    work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    sign_in(client, officers["reception"])
    html = client.get(reverse("workspace:queue"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'Queue <span class="count">(1 task)</span>' in html
    assert "Hàng chờ" not in html
    dossier = walk(Status.RECEIVED)
    due = dossier.due_date
    sign_in(client, citizen)
    html = client.get(
        reverse("portal:dossier", args=[dossier.pk]), HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert f"appointment {due:%d/%m/%Y}" in html
    if due.day != due.month:
        assert f"appointment {due:%m/%d/%Y}" not in html
