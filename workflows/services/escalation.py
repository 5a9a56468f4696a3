"""Warnings about time limits, from the periodic job: once per task and level.

- due soon (within DUE_SOON_WORKING_DAYS working days): the officer holding the task;
- overdue: the holder (or, for an unclaimed task, the officers it is offered to), and the
  heads and supervisors over the task's agency.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from viewflow.workflow.status import STATUS

from ..clock import working_calendar
from ..events import event_record
from ..models import CLOCK_RUNNING, Dossier, DossierTask, DossierWarning, TaskWarning


def _warn(task: DossierTask, level: str, payload: dict) -> bool:
    try:
        with transaction.atomic():
            TaskWarning.objects.create(task=task, level=level)
            event_record(
                name=f"task.{level}",
                dossier=task.dossier,
                payload={"task": task.pk, "stage": task.stage, **payload},
            )
    except IntegrityError:  # given already, by this job or a concurrent one
        return False
    return True


def tasks_escalate() -> dict[str, int]:
    """Give the due-soon, overdue and apology prompts not given yet; how many of each."""
    calendar = working_calendar()
    today = calendar.today()
    soon = calendar.add_working_days(today, settings.MOTCUA["DUE_SOON_WORKING_DAYS"])
    open_tasks = DossierTask.objects.filter(
        flow_task_type="HUMAN", status__in=(STATUS.NEW, STATUS.ASSIGNED), due_date__isnull=False
    ).select_related("dossier")
    done = {"due_soon": 0, "overdue": 0}
    for task in open_tasks.filter(due_date__lt=today).exclude(warnings__level="overdue"):
        late = calendar.working_days_between(task.due_date, today)
        done["overdue"] += _warn(task, "overdue", {"days_overdue": max(1, late)})
    due_soon = open_tasks.filter(due_date__gte=today, due_date__lte=soon, owner__isnull=False)
    for task in due_soon.exclude(warnings__level="due_soon"):
        left = calendar.working_days_between(today, task.due_date)
        done["due_soon"] += _warn(task, "due_soon", {"days_left": left})
    done["apology_due"] = apology_prompts()
    return done


def apology_prompts() -> int:
    """One working day before a dossier falls late, prompt its unit (once) to send the
    apology letter with a new appointment date, which a head approves."""
    calendar = working_calendar()
    today = calendar.today()
    tomorrow = calendar.next_working_day(today)
    due = Dossier.objects.filter(
        status__in=CLOCK_RUNNING,
        rescheduled_at__isnull=True,
        due_date__gte=today,
        due_date__lte=tomorrow,
    ).exclude(warnings__level="apology_due")
    prompted = 0
    for dossier in due:
        try:
            with transaction.atomic():
                DossierWarning.objects.create(dossier=dossier, level="apology_due")
                event_record(
                    name="dossier.apology_due",
                    dossier=dossier,
                    payload={"due_date": dossier.due_date.isoformat()},
                )
        except IntegrityError:
            continue
        prompted += 1
    return prompted
