"""Time-limit warnings: due soon to the holder, overdue to the holder and to the heads and
supervisors above; each warning given once per task and level."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import time_machine

from notifications.models import Channel, Message
from procedures.models import Agency
from tests.conftest import make_officer, new_draft
from workflows.models import DossierTask, TaskWarning
from workflows.services import work
from workflows.services.escalation import tasks_escalate

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_warnings_once_per_task_and_level(procedure, province, citizen, officers, catalog):
    central_supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=VN), tick=False):
        dossier = work.application_submit(
            dossier=new_draft(procedure, province, citizen), by=citizen
        )
        task = DossierTask.objects.get(dossier=dossier, stage="reception")
        work.task_claim(task=task, by=officers["reception"])
        assert task.due_date == dt.date(2026, 3, 4)
        assert tasks_escalate() == {"due_soon": 1, "overdue": 0, "apology_due": 0}
        assert tasks_escalate() == {"due_soon": 0, "overdue": 0, "apology_due": 0}
    with time_machine.travel(dt.datetime(2026, 3, 6, 9, tzinfo=VN), tick=False):
        assert tasks_escalate() == {"due_soon": 0, "overdue": 1, "apology_due": 0}
        assert tasks_escalate() == {"due_soon": 0, "overdue": 0, "apology_due": 0}
    assert TaskWarning.objects.filter(task=task).count() == 2
    holder = Message.objects.filter(recipient=officers["reception"], channel=Channel.INAPP)
    assert {"task_due_soon", "task_overdue"} <= set(holder.values_list("kind", flat=True))
    overdue = holder.get(kind="task_overdue")
    assert "2" in overdue.subject + overdue.body  # two working days late
    for manager in (officers["head"], officers["supervisor"], central_supervisor):
        assert Message.objects.filter(recipient=manager, kind="agency_overdue").exists(), manager
    assert not Message.objects.filter(recipient=officers["signer"], kind="agency_overdue").exists()


def test_an_unclaimed_overdue_task_warns_those_it_is_offered_to(
    procedure, province, citizen, officers
):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=VN), tick=False):
        work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
        assert tasks_escalate()["due_soon"] == 0  # nobody holds it: no due-soon warning
    with time_machine.travel(dt.datetime(2026, 3, 9, 9, tzinfo=VN), tick=False):
        assert tasks_escalate()["overdue"] == 1
    assert Message.objects.filter(recipient=officers["reception"], kind="task_overdue").exists()


def test_the_apology_prompt_comes_once_a_working_day_before_lateness(walk, officers, catalog):
    from workflows.models import DossierWarning

    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=VN), tick=False):
        dossier = walk("in_review")
    assert dossier.due_date == dt.date(2026, 3, 23)  # 15 working days from Mon 2 March
    with time_machine.travel(dt.datetime(2026, 3, 19, 9, tzinfo=VN), tick=False):
        assert tasks_escalate()["apology_due"] == 0  # two working days before: not yet
    with time_machine.travel(dt.datetime(2026, 3, 20, 9, tzinfo=VN), tick=False):
        assert tasks_escalate()["apology_due"] == 1  # Friday, the working day before
        assert tasks_escalate()["apology_due"] == 0
    assert DossierWarning.objects.filter(dossier=dossier, level="apology_due").count() == 1
    prompt = Message.objects.get(
        recipient=officers["head"], kind="apology_due", channel=Channel.INAPP
    )
    assert dossier.code in prompt.subject
