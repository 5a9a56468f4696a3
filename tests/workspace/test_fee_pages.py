"""The fee on the pages: the citizen sees what is owed, the exemption, and how and when it
was paid; the specialist asks for it from the review task; the desk records a payment;
nobody else can, and another citizen's dossier is a 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from procedures.models import Procedure
from tests.conftest import make_user, new_draft, sign_in
from workflows.models import DossierTask, Fee, FeeStatus, Status
from workflows.services import work

VI = {"HTTP_ACCEPT_LANGUAGE": "vi"}


@pytest.fixture
def sample(catalog) -> Procedure:
    return Procedure.objects.get(code="MAU.PHI.001")


def _received(sample, province, citizen, officers, **form):
    dossier = new_draft(sample, province, citizen)
    if form:
        dossier.form_data = {**dossier.form_data, **form}
        dossier.save(update_fields=["form_data"])
    dossier = work.application_submit(dossier=dossier, by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    work.task_claim(task=task, by=officers["reception"])
    return work.task_complete(task=task, by=officers["reception"], action="accept")


def _review_task(dossier):
    return DossierTask.objects.get(dossier=dossier, stage="review", status__in=("NEW", "ASSIGNED"))


def test_the_specialist_asks_for_the_fee_and_the_citizen_sees_it(
    client, sample, province, citizen, officers
):
    dossier = _received(sample, province, citizen, officers)
    task = _review_task(dossier)
    work.task_claim(task=task, by=officers["specialist"])
    sign_in(client, officers["specialist"])
    html = client.get(reverse("workspace:task", args=[task.pk]), **VI).content.decode()
    assert "Yêu cầu nộp phí, lệ phí" in html and "50.000 đồng" in html
    # The specialist does not take money: no desk form for them.
    assert reverse("workspace:fee_confirm", args=[dossier.pk]) not in html
    response = client.post(
        reverse("workspace:act", args=[task.pk]), {"action": "request_fee"}, **VI
    )
    assert response.status_code == 302
    dossier.refresh_from_db()
    assert dossier.status == Status.FEE_REQUESTED

    client.logout()
    sign_in(client, citizen)
    html = client.get(reverse("portal:dossier", args=[dossier.pk]), **VI).content.decode()
    assert "Phí, lệ phí" in html and "50.000 đồng" in html and "Đang chờ nộp" in html
    assert "Yêu cầu thực hiện nghĩa vụ tài chính" in html  # the status, in words
    assert "yêu cầu nộp phí, lệ phí" in html  # the timeline
    # The citizen was told, in Vietnamese.
    from notifications.models import Message

    told = Message.objects.filter(kind="fee_requested", recipient=citizen).first()
    assert told is not None and "50.000 đồng" in told.body and "nộp phí" in told.subject
    # A citizen cannot record their own payment; another citizen does not see the dossier.
    response = client.post(
        reverse("workspace:fee_confirm", args=[dossier.pk]),
        {"channel": "desk", "reference": "BL-1"},
    )
    assert response.status_code == 403
    assert Fee.objects.get(dossier=dossier).status == FeeStatus.DUE
    client.logout()
    sign_in(client, make_user("stranger"))
    assert client.get(reverse("portal:dossier", args=[dossier.pk])).status_code == 404


def test_the_desk_records_a_payment_and_the_flow_resumes(
    client, sample, province, citizen, officers
):
    dossier = _received(sample, province, citizen, officers)
    task = _review_task(dossier)
    work.task_claim(task=task, by=officers["specialist"])
    work.task_complete(task=task, by=officers["specialist"], action="request_fee")
    sign_in(client, officers["reception"])
    url = reverse("workspace:fee_confirm", args=[dossier.pk])
    html = client.get(reverse("workspace:dossier", args=[dossier.pk]), **VI).content.decode()
    assert url in html and "Xác nhận đã nộp" in html
    # Nothing typed, a reference too long, a channel not offered: the form again, 400.
    for bad in (
        {},
        {"channel": "desk", "reference": "x" * 101},
        {"channel": "online", "reference": "TT-1"},
        {"channel": "desk", "reference": "   "},
    ):
        response = client.post(url, bad, **VI)
        assert response.status_code == 400, bad
        assert 'class="error-summary"' in response.content.decode()
    assert Fee.objects.get(dossier=dossier).status == FeeStatus.DUE
    response = client.post(url, {"channel": "desk", "reference": "BL-0007"}, **VI)
    assert response.status_code == 302
    dossier.refresh_from_db()
    fee = Fee.objects.get(dossier=dossier)
    assert dossier.status == Status.IN_REVIEW and fee.status == FeeStatus.PAID
    assert fee.reference == "BL-0007" and fee.confirmed_by == officers["reception"]
    # The same post again (a double click): one payment.
    response = client.post(url, {"channel": "desk", "reference": "BL-0007"}, **VI)
    assert response.status_code == 302
    assert dossier.history.filter(action="fee_paid").count() == 1
    # The citizen sees how and when.
    client.logout()
    sign_in(client, citizen)
    html = client.get(reverse("portal:dossier", args=[dossier.pk]), **VI).content.decode()
    assert "Nộp tại Bộ phận một cửa" in html and "BL-0007" in html
    assert fee.paid_at.astimezone().strftime("%d/%m/%Y") in html


def test_the_citizen_sees_the_exemption(client, sample, province, citizen, officers):
    dossier = _received(sample, province, citizen, officers, household_status="poor")
    sign_in(client, citizen)
    html = client.get(reverse("portal:dossier", args=[dossier.pk]), **VI).content.decode()
    assert "Được miễn" in html and "Người thuộc hộ nghèo" in html
    assert "Thông tư số 85/2019/TT-BTC" in html
    # Nothing to ask for: the review offers no fee request.
    task = _review_task(dossier)
    work.task_claim(task=task, by=officers["specialist"])
    client.logout()
    sign_in(client, officers["specialist"])
    html = client.get(reverse("workspace:task", args=[task.pk]), **VI).content.decode()
    assert "Yêu cầu nộp phí, lệ phí" not in html


def test_an_outsiders_desk_cannot_record_a_payment(
    client, sample, province, other_province, citizen, officers
):
    from tests.conftest import make_officer

    dossier = _received(sample, province, citizen, officers)
    sign_in(client, make_officer("reception", other_province))
    response = client.post(
        reverse("workspace:fee_confirm", args=[dossier.pk]),
        {"channel": "desk", "reference": "BL-1"},
    )
    assert response.status_code == 404
    assert Fee.objects.get(dossier=dossier).status == FeeStatus.DUE
