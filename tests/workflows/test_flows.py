"""Every path through the flows, through the work services, checking after each step that
viewflow's tasks and the dossier's status tell the same story."""

from __future__ import annotations

import datetime as dt

import pytest
from viewflow.workflow.status import PROCESS

from procedures.models import Agency, Procedure
from tests.conftest import make_officer, new_draft
from workflows.clock import working_calendar
from workflows.models import DossierTask, Status
from workflows.services import work

# The stage whose task is open for each dossier status (None: no officer task).
STAGE_FOR_STATUS = {
    Status.SUBMITTED: "reception",
    Status.RECEIVED: "review",
    Status.IN_REVIEW: {"review", "approval", "consult"},
    Status.APPROVED: "signing",
    Status.SUPPLEMENT_REQUESTED: None,
    Status.FEE_REQUESTED: None,
}
# The flow node that waits for the applicant, for a status with no officer task.
WAITING_NODE = {Status.SUPPLEMENT_REQUESTED: "wait_resubmission", Status.FEE_REQUESTED: "wait_fee"}
FINAL = {Status.ISSUED, Status.REFUSED, Status.REJECTED_AT_RECEPTION, Status.WITHDRAWN}


def open_tasks(dossier):
    return list(DossierTask.objects.filter(dossier=dossier, status__in=work.ACTIVE).order_by("pk"))


def assert_consistent(dossier):
    dossier.refresh_from_db()
    process = dossier.process
    tasks = open_tasks(dossier)
    human = [t for t in tasks if t.flow_task_type == "HUMAN"]
    if dossier.status in FINAL:
        unfinished = DossierTask.objects.filter(dossier=dossier).exclude(
            status__in=("DONE", "CANCELED")
        )
        assert not unfinished.exists(), f"{dossier.status}: {list(unfinished)}"
        assert process.status in (PROCESS.DONE, PROCESS.CANCELED)
        return
    assert process.status == PROCESS.NEW
    expected = STAGE_FOR_STATUS[dossier.status]
    if expected is None:
        assert human == []
        assert [t.flow_task.name for t in tasks] == [WAITING_NODE[dossier.status]]
    else:
        allowed = expected if isinstance(expected, set) else {expected}
        assert human and {t.stage for t in human} <= allowed, (dossier.status, human)


def only_task(dossier, stage):
    tasks = [t for t in open_tasks(dossier) if t.stage == stage]
    assert len(tasks) == 1, tasks
    return tasks[0]


def act(dossier, stage, officer, action, **form):
    task = only_task(dossier, stage)
    work.task_claim(task=task, by=officer)
    result = work.task_complete(task=task, by=officer, action=action, form=form)
    assert_consistent(result)
    return result


@pytest.fixture
def filed(procedure, province, citizen):
    def _filed(proc=None):
        dossier = new_draft(proc or procedure, province, citizen)
        dossier = work.application_submit(dossier=dossier, by=citizen)
        assert_consistent(dossier)
        return dossier

    return _filed


def items(dossier):
    code = dossier.procedure_version.spec["components"][0]["code"]
    return [{"code": code, "reason": "Bản chụp mờ"}]


def test_happy_path_to_issue(filed, officers):
    d = filed()
    d = act(d, "reception", officers["reception"], "accept")
    assert d.status == Status.RECEIVED
    d = act(d, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ")
    assert d.status == Status.IN_REVIEW
    d = act(d, "approval", officers["head"], "approve")
    assert d.status == Status.APPROVED
    d = act(d, "signing", officers["signer"], "sign")
    assert d.status == Status.ISSUED
    assert d.process.status == PROCESS.DONE


def test_a_failed_action_leaves_the_task_as_the_database_has_it(filed, officers):
    """A refused action rolls back; the task object the page shows again with the error
    must not keep what the action had changed in memory (the review started, the history
    counted)."""
    from django.core.exceptions import ValidationError

    d = act(filed(), "reception", officers["reception"], "accept")
    task = only_task(d, "review")
    work.task_claim(task=task, by=officers["specialist"])
    with pytest.raises(ValidationError):
        work.task_complete(
            task=task,
            by=officers["specialist"],
            action="propose",
            form={"decision": "maybe", "opinion": "?"},
        )
    d.refresh_from_db()
    assert d.status == Status.RECEIVED
    assert task.dossier.status == Status.RECEIVED
    assert task.dossier.history_count == d.history_count
    assert task.status == "ASSIGNED" and task.owner_id == officers["specialist"].pk
    d = work.task_complete(
        task=task,
        by=officers["specialist"],
        action="propose",
        form={"decision": "approve", "opinion": "Đủ"},
    )
    assert d.status == Status.IN_REVIEW
    assert_consistent(d)


def test_issued_flow_rows_are_complete(filed, officers):
    """Each task of an issued dossier's process is written done, with what its completion
    sets (the officers' stages: their action, start, timeliness and DossierTask's copies);
    the end follows the issue and closes the process."""
    d = filed()
    d = act(d, "reception", officers["reception"], "accept")
    d = act(d, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ")
    d = act(d, "approval", officers["head"], "approve")
    d = act(d, "signing", officers["signer"], "sign")
    every = list(DossierTask.objects.filter(dossier=d))
    assert {t.status for t in every} == {"DONE"}
    assert all(t.finished and t.task_finished == t.finished for t in every)
    assert all(t.task_status == "DONE" for t in every)
    # The stages' tasks by their stage, the engine's own by their node (one route after
    # each of the four stages; the start leads to the first stage itself).
    tasks = {t.stage or t.flow_task.name: t for t in every}
    assert [t.flow_task.name for t in every].count("route") == 4
    for stage, action in (("reception", "accept"), ("review", "propose"), ("signing", "sign")):
        task = tasks[stage]
        assert task.data["action"] == action
        assert task.started and task.started <= task.finished
        assert task.timeliness and task.owner_id and task.task_owner_id == task.owner_id
    end = tasks["end"]
    assert end.started and [t.pk for t in end.previous.all()] == [tasks["issue"].pk]
    d.process.refresh_from_db()
    assert d.process.status == PROCESS.DONE and d.process.finished >= end.started


def test_supplement_at_reception_then_resubmit(filed, officers, citizen):
    d = filed()
    d = act(d, "reception", officers["reception"], "supplement", items=items(d), reason="Thiếu")
    assert d.status == Status.SUPPLEMENT_REQUESTED
    d = work.application_resubmit(dossier=d, by=citizen, comment="Đã bổ sung")
    assert_consistent(d)
    assert d.status == Status.SUBMITTED
    d = act(d, "reception", officers["reception"], "accept")
    assert d.status == Status.RECEIVED


def test_supplement_after_review(filed, officers, citizen):
    d = filed()
    d = act(d, "reception", officers["reception"], "accept")
    d = act(d, "review", officers["specialist"], "supplement", items=items(d), reason="Thiếu")
    assert d.status == Status.SUPPLEMENT_REQUESTED
    d = work.application_resubmit(dossier=d, by=citizen)
    assert_consistent(d)
    d = act(d, "reception", officers["reception"], "accept")
    d = act(d, "review", officers["specialist"], "propose", decision="approve", opinion="Đủ")
    assert d.status == Status.IN_REVIEW


def test_reject_at_reception(filed, officers):
    d = act(filed(), "reception", officers["reception"], "reject", reason="Sai thẩm quyền")
    assert d.status == Status.REJECTED_AT_RECEPTION


def test_refusal_and_send_back(filed, officers):
    d = filed()
    d = act(d, "reception", officers["reception"], "accept")
    d = act(d, "review", officers["specialist"], "propose", decision="refuse", opinion="Không")
    d = act(d, "approval", officers["head"], "send_back", reason="Xem lại tiêu chí")
    assert d.status == Status.IN_REVIEW
    only_task(d, "review")
    d = act(d, "review", officers["specialist"], "propose", decision="refuse", opinion="Vẫn không")
    d = act(d, "approval", officers["head"], "refuse", reason="Không đủ tiêu chí")
    assert d.status == Status.REFUSED


@pytest.mark.parametrize("stage", ["submitted", "received", "supplement"])
def test_withdraw_cancels_the_open_tasks(filed, officers, citizen, stage):
    d = filed()
    if stage != "submitted":
        d = act(d, "reception", officers["reception"], "accept")
    if stage == "supplement":
        d = act(d, "review", officers["specialist"], "supplement", items=items(d), reason="x")
    d = work.application_withdraw(dossier=d, by=citizen, reason="Không còn nhu cầu")
    assert d.status == Status.WITHDRAWN
    assert_consistent(d)
    assert d.process.status == PROCESS.CANCELED


def test_consultation_flow_joins_every_opinion(filed, officers, catalog):
    medal = Procedure.objects.get(code="1.012844")
    assert "consult" in medal.current_version.stage("review")["actions"]
    central = Agency.objects.get(code="G16")
    desk = make_officer("reception", central)
    specialist = make_officer("specialist", central)
    head = make_officer("head", central)
    signer = make_officer("signer", central)
    from tests.conftest import APPLICANT
    from workflows import services
    from workflows.demo import attach_all, sample_form_data

    d = services.dossier_create(
        procedure=medal,
        handling_agency=central,
        channel="desk",
        by=desk,
        applicant=APPLICANT,
        form_data=sample_form_data(medal.current_version.spec),
    )
    attach_all(d, desk)
    d = work.application_submit(dossier=d, by=desk)
    d = act(d, "reception", desk, "accept")
    units = [Agency.objects.get(code="G16.02"), Agency.objects.get(code="H22")]
    calendar = working_calendar()
    dues = [calendar.add_working_days(calendar.today(), n) for n in (2, 3)]
    d = act(
        d,
        "review",
        specialist,
        "consult",
        consultations=[{"unit": u.pk, "due_date": due} for u, due in zip(units, dues, strict=True)],
    )
    consults = [t for t in open_tasks(d) if t.stage == "consult"]
    assert {(t.agency_id, t.due_date) for t in consults} == set(
        zip([u.pk for u in units], dues, strict=True)
    )
    assert not [t for t in open_tasks(d) if t.stage in ("approval", "review")]
    answers = {
        units[0].pk: make_officer("specialist", units[0]),
        units[1].pk: officers["specialist"],
    }
    first, second = consults
    work.task_claim(task=first, by=answers[first.agency_id])
    work.task_complete(
        task=first, by=answers[first.agency_id], action="opinion", form={"opinion": "Đồng ý"}
    )
    assert_consistent(d)
    assert not [t for t in open_tasks(d) if t.stage == "approval"]
    work.task_claim(task=second, by=answers[second.agency_id])
    work.task_complete(
        task=second, by=answers[second.agency_id], action="opinion", form={"opinion": "Đồng ý"}
    )
    assert_consistent(d)
    # The opinions are in: the specialist reviews again and proposes.
    d = act(d, "review", specialist, "propose", decision="approve", opinion="Đề nghị khen")
    d = act(d, "approval", head, "approve")
    d = act(d, "signing", signer, "sign")
    assert d.status == Status.ISSUED
    opinions = d.history.filter(action="consult_opinion")
    assert sorted(opinions.values_list("data__unit", flat=True)) == ["G16.02", "H22"]


def test_stage_due_dates_follow_the_shares(filed, officers):
    d = filed()
    reception = only_task(d, "reception")
    assert reception.due_date is not None and reception.role == "reception"
    d = act(d, "reception", officers["reception"], "accept")
    review = only_task(d, "review")
    assert review.due_date <= d.due_date
    assert review.agency_id == d.handling_agency_id


def test_a_silent_unit_is_recorded_when_its_deadline_passes(officers, catalog):
    """The consultation deadline is a viewflow timer: fired by the periodic job, it
    records the silence and lets the flow join without that opinion."""
    import time_machine
    from django.utils import timezone

    from tests.conftest import APPLICANT
    from workflows import services
    from workflows.demo import attach_all, sample_form_data
    from workflows.tasks import run_periodic_jobs

    medal = Procedure.objects.get(code="1.012844")
    central = Agency.objects.get(code="G16")
    desk = make_officer("reception", central)
    specialist = make_officer("specialist", central)
    d = services.dossier_create(
        procedure=medal,
        handling_agency=central,
        channel="desk",
        by=desk,
        applicant=APPLICANT,
        form_data=sample_form_data(medal.current_version.spec),
    )
    attach_all(d, desk)
    d = work.application_submit(dossier=d, by=desk)
    d = act(d, "reception", desk, "accept")
    unit = Agency.objects.get(code="G16.02")
    calendar = working_calendar()
    due = calendar.add_working_days(calendar.today(), 2)
    d = act(d, "review", specialist, "consult", consultations=[{"unit": unit.pk, "due_date": due}])
    assert only_task(d, "consult").agency == unit
    assert run_periodic_jobs()["timers"] == 0  # not due yet
    after = timezone.make_aware(dt.datetime.combine(due + dt.timedelta(days=1), dt.time(0, 5)))
    with time_machine.travel(after):
        assert run_periodic_jobs()["timers"] == 1
    assert_consistent(d)
    assert not [t for t in open_tasks(d) if t.stage == "consult"]
    only_task(d, "review")
    silence = d.history.get(action="consult_no_answer")
    assert silence.actor is None and silence.data["unit"] == "G16.02"


def test_withdrawing_during_a_consultation_leaves_nothing_behind(officers, catalog, citizen):
    """The consultation's timers are cancelled too: a deadline passing later must not
    wake a withdrawn dossier's flow."""
    import time_machine
    from django.utils import timezone

    from workflows.tasks import run_periodic_jobs

    medal = Procedure.objects.get(code="1.012844")
    central = Agency.objects.get(code="G16")
    desk = make_officer("reception", central)
    specialist = make_officer("specialist", central)
    d = new_draft(medal, central, citizen)
    d = work.application_submit(dossier=d, by=citizen)
    d = act(d, "reception", desk, "accept")
    calendar = working_calendar()
    due = calendar.add_working_days(calendar.today(), 2)
    unit = Agency.objects.get(code="G16.02")
    d = act(d, "review", specialist, "consult", consultations=[{"unit": unit.pk, "due_date": due}])
    d = work.application_withdraw(dossier=d, by=citizen, reason="Không còn nhu cầu")
    assert_consistent(d)
    after = timezone.make_aware(dt.datetime.combine(due + dt.timedelta(days=3), dt.time(9)))
    with time_machine.travel(after):
        assert run_periodic_jobs()["timers"] == 0
    assert_consistent(d)
    assert d.history.filter(action="task_cancel").count() == 1
    assert not d.history.filter(action="consult_no_answer").exists()
