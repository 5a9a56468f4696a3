"""Fees: assessed from the procedure version at reception, exemptions from the form,
asked for after appraisal (the dossier waits, national status 6), paid once, and the flow
resumes. Everything through the real services and the real sample procedure file."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from viewflow.workflow.status import PROCESS

from procedures.models import Procedure
from tests.conftest import make_officer, make_user, new_draft
from tests.workflows.test_flows import act, assert_consistent, only_task, open_tasks
from workflows.exceptions import ActionNotAllowed
from workflows.models import Fee, FeeChannel, FeeStatus, HistoryEntry, OutgoingEvent, Status
from workflows.national_status import national_status
from workflows.services import fees, work

SAMPLE = "MAU.PHI.001"


@pytest.fixture
def sample(catalog) -> Procedure:
    return Procedure.objects.get(code=SAMPLE)


def filed(sample, province, citizen, **form):
    dossier = new_draft(sample, province, citizen)
    if form:
        dossier.form_data = {**dossier.form_data, **form}
        dossier.save(update_fields=["form_data"])
    return work.application_submit(dossier=dossier, by=citizen)


def received(sample, province, citizen, officers, **form):
    d = filed(sample, province, citizen, **form)
    return act(d, "reception", officers["reception"], "accept")


def ask_fee(d, officers):
    return act(d, "review", officers["specialist"], "request_fee")


# --- Assessment --------------------------------------------------------------------------------


def test_the_fee_comes_from_the_procedure_version(sample, province, citizen, officers):
    d = received(sample, province, citizen, officers)
    fee = fees.fee_for_dossier(dossier=d)
    assert fee.amount_due == Decimal(sample.current_version.spec["fee"]["amount"]) == 50000
    assert fee.status == FeeStatus.DUE and fee.exemption_code == ""
    receive = d.history.get(action="receive")
    assert receive.data["fee"] == {
        "amount": "50000",
        "currency": "VND",
        "status": "due",
        "exemption": "",
    }


def test_a_free_procedure_has_no_fee_record(procedure, province, citizen, officers):
    d = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    d = act(d, "reception", officers["reception"], "accept")
    assert fees.fee_for_dossier(dossier=d) is None
    task = only_task(d, "review")
    work.task_claim(task=task, by=officers["specialist"])
    # The free procedure's graph has no fee request at all.
    with pytest.raises(ValidationError, match="does not belong to this stage"):
        work.task_complete(task=task, by=officers["specialist"], action="request_fee")
    d.refresh_from_db()
    assert d.status == Status.RECEIVED


@pytest.mark.parametrize(
    ("form", "code"),
    [
        (
            {"ethnic_group": "08", "commune_area": "extremely_difficult"},
            "ethnic_minority_extremely_difficult_commune",
        ),
        ({"ethnic_group": "01", "household_status": "poor"}, "poor_household"),
    ],
)
def test_an_exemption_applies(sample, province, citizen, officers, form, code):
    d = received(sample, province, citizen, officers, **form)
    fee = fees.fee_for_dossier(dossier=d)
    assert fee.status == FeeStatus.EXEMPTED and fee.exemption_code == code
    assert fee.exemption["legal_basis"]["vi"].startswith("Minh họa")
    # Nothing to ask for; the flow goes on to the decision without waiting.
    task = only_task(d, "review")
    work.task_claim(task=task, by=officers["specialist"])
    with pytest.raises(ActionNotAllowed, match="exempted"):
        work.task_complete(task=task, by=officers["specialist"], action="request_fee")
    d = work.task_complete(
        task=task,
        by=officers["specialist"],
        action="propose",
        form={"decision": "approve", "opinion": "Đủ"},
    )
    d = act(d, "approval", officers["head"], "approve")
    assert d.status == Status.APPROVED


@pytest.mark.parametrize(
    "form",
    [
        # A Kinh person in an extremely disadvantaged commune: not the ethnic exemption.
        {"ethnic_group": "01", "commune_area": "extremely_difficult", "household_status": "other"},
        # A minority person elsewhere, near-poor: neither.
        {"ethnic_group": "08", "commune_area": "other", "household_status": "near_poor"},
    ],
)
def test_an_exemption_does_not_apply(sample, province, citizen, officers, form):
    d = received(sample, province, citizen, officers, **form)
    fee = fees.fee_for_dossier(dossier=d)
    assert fee.status == FeeStatus.DUE and fee.exemption_code == ""


# --- The wait, the payment, the resumed flow ----------------------------------------------------


def test_asked_waits_in_status_6_then_paid_at_the_desk_and_the_flow_finishes(
    sample, province, citizen, officers
):
    d = received(sample, province, citizen, officers)
    due_before = d.due_date
    d = ask_fee(d, officers)
    assert d.status == Status.FEE_REQUESTED
    assert national_status(d.status).code == 6
    assert [t.flow_task.name for t in open_tasks(d)] == ["wait_fee"]
    fee = Fee.objects.get(dossier=d)
    assert fee.requested_at is not None and fee.requested_by == officers["specialist"]
    event = OutgoingEvent.objects.get(dossier=d, name="dossier.request_fee")
    assert event.payload["amount"] == "50000"
    # The decision cannot be taken meanwhile, nor can the citizen pay it themselves.
    with pytest.raises(PermissionDenied):
        fees.fee_confirm_at_desk(fee=fee, by=citizen, reference="BL-1")
    with pytest.raises(PermissionDenied):
        fees.fee_mark_paid(
            fee=fee,
            channel=FeeChannel.DESK,
            reference="BL-1",
            amount=50000,
            paid_at=timezone.now(),
            by=citizen,
        )
    assert fees.fee_confirm_at_desk(fee=fee, by=officers["reception"], reference="BL-0001")
    d.refresh_from_db()
    assert d.status == Status.IN_REVIEW
    assert d.due_date == due_before  # paid the same day: no working day waited
    fee.refresh_from_db()
    assert fee.status == FeeStatus.PAID and fee.channel == FeeChannel.DESK
    assert fee.reference == "BL-0001" and fee.confirmed_by == officers["reception"]
    actions = list(d.history.order_by("seq").values_list("action", flat=True))
    assert actions[-3:] == ["request_fee", "fee_paid", "resume_after_fee"]
    assert_consistent(d)
    d = act(d, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ")
    d = act(d, "approval", officers["head"], "approve")
    d = act(d, "signing", officers["signer"], "sign")
    assert d.status == Status.ISSUED and d.process.status == PROCESS.DONE


def test_the_clock_is_paused_while_the_applicant_owes(sample, province, citizen, officers):
    d = ask_fee(received(sample, province, citizen, officers), officers)
    fee = Fee.objects.get(dossier=d)
    # Asked three weeks ago (as if): the appointment moves by the working days waited.
    asked = timezone.now() - dt.timedelta(days=21)
    Fee.objects.filter(pk=fee.pk).update(requested_at=asked)
    fee.refresh_from_db()
    due_before = d.due_date
    assert fees.fee_confirm_at_desk(fee=fee, by=officers["reception"], reference="BL-7")
    d.refresh_from_db()
    resume = d.history.get(action="resume_after_fee")
    assert resume.data["paused_days"] >= 13  # three weeks, less weekends and holidays
    from workflows.clock import working_calendar

    assert d.due_date == working_calendar().add_working_days(due_before, resume.data["paused_days"])


def test_a_payment_is_recorded_once(sample, province, citizen, officers):
    d = ask_fee(received(sample, province, citizen, officers), officers)
    fee = Fee.objects.get(dossier=d)
    paid = {
        "channel": FeeChannel.ONLINE,
        "reference": "TT-123",
        "amount": 50000,
        "paid_at": timezone.now(),
    }
    assert fees.fee_mark_paid(fee=fee, **paid) is True
    assert fees.fee_mark_paid(fee=fee, **paid) is False  # the same report again
    assert fees.fee_mark_paid(fee=fee, **{**paid, "reference": "TT-999"}) is False
    assert fees.fee_confirm_at_desk(fee=fee, by=officers["reception"], reference="BL-2") is False
    fee.refresh_from_db()
    assert fee.reference == "TT-123" and fee.confirmed_by is None
    assert HistoryEntry.objects.filter(dossier=d, action="fee_paid").count() == 1
    assert HistoryEntry.objects.filter(dossier=d, action="resume_after_fee").count() == 1


@pytest.mark.parametrize("amount", [49999, "50001", Decimal("50000.5"), -1, True, None, "năm"])
def test_a_wrong_amount_is_refused(sample, province, citizen, officers, amount):
    d = ask_fee(received(sample, province, citizen, officers), officers)
    fee = Fee.objects.get(dossier=d)
    with pytest.raises(ValidationError) as caught:
        fees.fee_mark_paid(
            fee=fee,
            channel=FeeChannel.ONLINE,
            reference="TT-1",
            amount=amount,
            paid_at=timezone.now(),
        )
    assert "amount" in caught.value.message_dict
    fee.refresh_from_db()
    d.refresh_from_db()
    assert fee.status == FeeStatus.DUE and d.status == Status.FEE_REQUESTED


def test_bad_payment_reports_are_refused(sample, province, citizen, officers):
    d = ask_fee(received(sample, province, citizen, officers), officers)
    fee = Fee.objects.get(dossier=d)
    good = {
        "channel": FeeChannel.ONLINE,
        "reference": "TT-1",
        "amount": 50000,
        "paid_at": timezone.now(),
    }
    for bad in (
        {"channel": "cash"},
        {"reference": ""},
        {"reference": "x" * 101},
        {"reference": 12},
        {"paid_at": "2026-01-01"},
        {"paid_at": dt.datetime(2026, 1, 1)},  # naive
    ):
        with pytest.raises(ValidationError):
            fees.fee_mark_paid(fee=fee, **{**good, **bad})
    # A desk payment without an officer.
    with pytest.raises(PermissionDenied):
        fees.fee_mark_paid(fee=fee, **{**good, "channel": FeeChannel.DESK})
    # An officer of another agency.
    outsider = make_officer("reception", province.__class__.objects.get(code="H23"))
    with pytest.raises(PermissionDenied):
        fees.fee_confirm_at_desk(fee=fee, by=outsider, reference="BL-1")
    fee.refresh_from_db()
    assert fee.status == FeeStatus.DUE


def test_one_online_reference_settles_one_fee(sample, province, citizen, officers):
    first = ask_fee(received(sample, province, citizen, officers), officers)
    second = ask_fee(received(sample, province, citizen, officers), officers)
    paid = {
        "channel": FeeChannel.ONLINE,
        "reference": "TT-42",
        "amount": 50000,
        "paid_at": timezone.now(),
    }
    assert fees.fee_mark_paid(fee=Fee.objects.get(dossier=first), **paid)
    with pytest.raises(ValidationError):
        fees.fee_mark_paid(fee=Fee.objects.get(dossier=second), **paid)
    assert Fee.objects.get(dossier=second).status == FeeStatus.DUE


def test_the_decision_waits_for_the_fee(sample, province, citizen, officers):
    """A specialist who proposes without asking for the fee: the head cannot approve a
    dossier whose fee is still owed; paid at the desk meanwhile, he can."""
    d = received(sample, province, citizen, officers)
    d = act(d, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ")
    task = only_task(d, "approval")
    work.task_claim(task=task, by=officers["head"])
    with pytest.raises(ActionNotAllowed, match="not paid"):
        work.task_complete(task=task, by=officers["head"], action="approve")
    fee = Fee.objects.get(dossier=d)
    assert fees.fee_confirm_at_desk(
        fee=fee, by=officers["reception"], reference="CK-9", channel=FeeChannel.TRANSFER
    )
    d.refresh_from_db()
    assert d.status == Status.IN_REVIEW  # paid early: no wait, nothing resumed
    d = work.task_complete(task=task, by=officers["head"], action="approve")
    assert d.status == Status.APPROVED


def test_withdrawn_while_owing_cancels_the_fee(sample, province, citizen, officers):
    d = ask_fee(received(sample, province, citizen, officers), officers)
    d = work.application_withdraw(dossier=d, by=citizen, reason="Không cần nữa")
    assert d.status == Status.WITHDRAWN
    assert_consistent(d)
    fee = Fee.objects.get(dossier=d)
    assert fee.status == FeeStatus.CANCELLED
    with pytest.raises(ActionNotAllowed):
        fees.fee_mark_paid(
            fee=fee,
            channel=FeeChannel.ONLINE,
            reference="TT-5",
            amount=50000,
            paid_at=timezone.now(),
        )


def test_fee_request_is_the_specialists_with_the_task(sample, province, citizen, officers):
    d = received(sample, province, citizen, officers)
    with pytest.raises(PermissionDenied):
        fees.fee_request(dossier=d, by=citizen)
    with pytest.raises(ActionNotAllowed, match="appraisal task"):
        fees.fee_request(dossier=d, by=officers["specialist"])
    work.task_claim(task=only_task(d, "review"), by=officers["specialist"])
    fee = fees.fee_request(dossier=d, by=officers["specialist"])
    d.refresh_from_db()
    assert d.status == Status.FEE_REQUESTED and fee.requested_by == officers["specialist"]


def test_a_stranger_cannot_pay_at_the_desk(sample, province, citizen, officers):
    d = ask_fee(received(sample, province, citizen, officers), officers)
    with pytest.raises(PermissionDenied):
        fees.fee_confirm_at_desk(
            fee=Fee.objects.get(dossier=d), by=make_user("someone"), reference="BL-1"
        )


def test_the_service_index_counts_online_payments(sample, province, citizen, officers):
    """Decision 766's online payment group: dossiers paid online ÷ dossiers with a fee (an
    exempted one has none to pay)."""
    from workflows.models import Dossier
    from workflows.supervision import Period, service_index

    online = ask_fee(received(sample, province, citizen, officers), officers)
    desk = ask_fee(received(sample, province, citizen, officers), officers)
    owing = ask_fee(received(sample, province, citizen, officers), officers)
    received(sample, province, citizen, officers, household_status="poor")  # exempted
    fees.fee_mark_paid(
        fee=Fee.objects.get(dossier=online),
        channel=FeeChannel.ONLINE,
        reference="TT-7",
        amount=50000,
        paid_at=timezone.now(),
    )
    fees.fee_confirm_at_desk(
        fee=Fee.objects.get(dossier=desk), by=officers["reception"], reference="BL-7"
    )
    assert owing.status == Status.FEE_REQUESTED
    today = timezone.localdate()
    metric = next(
        m
        for m in service_index(Dossier.objects.all(), Period(today - dt.timedelta(days=1), today))
        if m.key == "paid_online"
    )
    assert (metric.numerator, metric.denominator, metric.points_max) == (1, 3, 10)
