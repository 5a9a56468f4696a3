"""Officers' work on the flow: claiming, releasing, assigning and completing tasks, and
the applicant's steps that move the flow (filing, answering a supplement, withdrawing).

Every call takes the flow's lock (``task.activation()``: the process row, FOR UPDATE
NOWAIT with retries, in one transaction), then the dossier's row lock, and calls the
dossier services inside them, so the task and the dossier change together or not at
all. viewflow's transitions check no permissions; the checks are here, before them. Do
not call these inside an outer transaction: a NOWAIT failure would abort it (see
shared/viewflow-notes.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import contextmanager

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, OperationalError, transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from viewflow.fsm import TransitionNotAllowed
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import PROCESS, STATUS

from procedures.auth import has_agency_perm, roles_in
from procedures.flowspec import ACTIONS, CONSULT_STAGE, OPINION, graph_of
from procedures.models import Agency, OfficerRole
from procedures.roles import DEPARTMENT_ROLES

from ..clock import one_calendar, timeliness, working_calendar
from ..compiled import CompiledQuery
from ..events import event_record
from ..exceptions import ActionNotAllowed
from ..flows import flow_for, starting
from ..inputs import clean_text
from ..models import Dossier, DossierTask, Status, acting_for
from . import dossiers

ACTIVE = (STATUS.NEW, STATUS.ASSIGNED, STATUS.STARTED)


class TaskBusy(ActionNotAllowed):
    """Someone else is acting on the same dossier at this very moment."""


BUSY_MESSAGE = gettext_lazy(
    "Someone else is acting on this dossier right now. Wait a moment and try again."
)


def _task_read(related: tuple[str, ...]) -> CompiledQuery:
    """The task read again under the flow's lock, with the related rows ``related`` names,
    the dossier row locked. This runs at every opening of a task (twice per stage): Django
    spent about 1.2 ms of Python building this nine-table query each time, against
    0.3 ms for running it, so its SQL is compiled once (see workflows.compiled)."""
    return CompiledQuery(
        DossierTask,
        lambda pk: (
            DossierTask.objects.select_related(*related)
            .select_for_update(of=("dossier",))
            .filter(pk=pk)
            .order_by()
        ),
        placeholders=(-1_999_999_001,),
    )


_DOSSIER_RELATED = ("agency", "dossier__procedure_version", "dossier__handling_agency")
# The flow moves: the actions' messages to the applicant may follow.
_read_for_flow = _task_read(
    (
        *_DOSSIER_RELATED,
        "process__dossierprocess",
        "dossier__applicant_user__notification_preference",
    )
)
_read_for_claim = _task_read(_DOSSIER_RELATED)


def _reload(task: DossierTask, *, process: bool = True) -> None:
    """Read the task again, in place (as viewflow's ``Task.activation()`` does), with its
    agency, its process and its dossier in the same query, the dossier row locked: the
    dossier actions called under this lock take it as theirs instead of reading and
    locking it again (see ``dossiers.holding``). With the process comes the applicant's
    account, for the messages the actions write."""
    found = (_read_for_flow if process else _read_for_claim)(task.pk)
    if not found:
        raise DossierTask.DoesNotExist("DossierTask matching query does not exist.")
    fresh = found[0]
    for field in DossierTask._meta.concrete_fields:
        setattr(task, field.attname, getattr(fresh, field.attname))
    task._state.db = fresh._state.db
    task._state.fields_cache = {}
    if process:
        flow_process = fresh.process.dossierprocess
        flow_process.dossier = fresh.dossier
        task.process = flow_process
    task.agency = fresh.agency
    task.dossier = fresh.dossier


def _forget(task: DossierTask) -> None:
    """Drop what a failed action left on ``task``: its related rows are read again when
    next used, its own columns now (outside the rolled-back transaction's lock)."""
    task._state.fields_cache = {}
    try:
        fresh = DossierTask.objects.get(pk=task.pk)
    except (DossierTask.DoesNotExist, DatabaseError):
        return
    for field in DossierTask._meta.concrete_fields:
        setattr(task, field.attname, getattr(fresh, field.attname))


@contextmanager
def _flow_locked(task: DossierTask, *, process: bool = True):
    """The flow's lock, then the task read again with its dossier locked (see _reload);
    lock failures said in words."""
    reloaded = False
    try:
        try:
            with task.flow_task.flow_class.lock(task.process_id):
                _reload(task, process=process)
                reloaded = True
                with dossiers.holding(task.dossier):
                    yield
        except BaseException:
            if reloaded:
                # Rolled back: what the action changed in memory on the task, its dossier
                # and process is not what the database holds; the caller (a page shown
                # again with the error) reads them afresh.
                _forget(task)
            raise
    except FlowLockFailed as exc:
        raise TaskBusy(BUSY_MESSAGE) from exc
    except OperationalError as exc:  # SQLite: the database stayed locked past the timeout
        if "locked" not in str(exc):
            raise
        raise TaskBusy(BUSY_MESSAGE) from exc


@contextmanager
def _activation(task: DossierTask):
    """viewflow's ``Task.activation()`` (the flow's lock, the task read again, its
    activation), with the task's process, agency and locked dossier read at once."""
    with _flow_locked(task):
        yield task.flow_task.activation_class(task)


def _holder(task: DossierTask) -> str:
    owner = task.owner
    return (owner.get_full_name() or owner.get_username()) if owner else ""


# --- Who may ------------------------------------------------------------------------------------


def can_take(user, task: DossierTask) -> bool:
    """The officer holds the task's role in the task's agency."""
    return bool(task.role) and task.role in roles_in(user, task.agency)


def can_manage(user, task: DossierTask) -> bool:
    """A head or supervisor of the task's agency assigns and reassigns its tasks."""
    return has_agency_perm(user, "workflows.assign_task", task.agency)


def least_loaded_officer(*, agency: Agency, role: str):
    """The eligible officer holding the fewest open tasks (ties: the longest-standing)."""
    in_departments = (
        Q(agency__parent=agency, agency__kind=Agency.Kind.DEPARTMENT)
        if role in DEPARTMENT_ROLES
        else Q(pk__in=[])
    )
    eligible = OfficerRole.objects.filter(
        Q(agency=agency) | in_departments, role=role, user__is_active=True
    ).values("user_id")
    return (
        get_user_model()
        .objects.filter(pk__in=eligible)
        .annotate(
            load=Count(
                "task", filter=Q(task__status__in=(STATUS.ASSIGNED, STATUS.STARTED)), distinct=True
            )
        )
        .order_by("load", "pk")
        .first()
    )


# --- Claim, release, assign ---------------------------------------------------------------------


def _note(task: DossierTask, by, action: str, comment: str = "", **data) -> None:
    dossiers.dossier_note(
        dossier=task.dossier,
        by=by,
        action=action,
        comment=comment,
        data={"task": task.pk, "stage": task.stage, **data},
    )


def task_claim(*, task: DossierTask, by) -> DossierTask:
    """Take an open task from the queue. Of two officers claiming at once, one wins.

    A claim changes only the task's holder: no viewflow activation (its process loads
    and full-row save), but its assign() as one update of the task, under the same locks.
    """
    with _flow_locked(task, process=False):
        current = task
        if not can_take(by, current):
            raise PermissionDenied(_("This task is not offered to you."))
        if current.status != STATUS.NEW:
            if current.owner_id == by.pk and current.status == STATUS.ASSIGNED:
                return current
            if current.status != STATUS.ASSIGNED:
                raise ActionNotAllowed(_("This task is already finished."))
            raise ActionNotAllowed(
                _("This task has just been taken by %(name)s.") % {"name": _holder(current)}
            )
        # viewflow's assign() (owner and status) with our assignment time; the task was
        # read again under the flow's lock just above. DossierTask.save adds its copies.
        current.owner, current.status, current.assigned = by, STATUS.ASSIGNED, timezone.now()
        current.save(update_fields=["owner", "status", "assigned"])
        _note(current, by, "task_claim", holder=by.pk)
    return current


def task_release(*, task: DossierTask, by) -> DossierTask:
    """Give a claimed task back to the queue."""
    with _activation(task) as activation:
        current = activation.task
        if current.owner_id != by.pk and not can_manage(by, current):
            raise PermissionDenied(_("Only the officer holding this task can release it."))
        if current.status != STATUS.ASSIGNED:
            raise ActionNotAllowed(_("This task is not held by anyone."))
        previous = current.owner_id
        current.assigned = None
        activation.unassign()
        _note(current, by, "task_release", holder=previous)
    return current


def task_assign(*, task: DossierTask, by, to, reason: str) -> DossierTask:
    """A head or supervisor gives the task to a named officer, saying why."""
    reason = clean_text(reason, "reason", required=True)
    with _activation(task) as activation:
        current = activation.task
        if not can_manage(by, current):
            raise PermissionDenied(_("Only the head or a supervisor of this agency assigns tasks."))
        if not can_take(to, current):
            raise ValidationError({"to": [_("This officer does not hold the stage's role here.")]})
        previous = current.owner_id
        current.assigned = timezone.now()
        if current.status == STATUS.NEW:
            activation.assign(to)
        elif current.status == STATUS.ASSIGNED:
            activation.reassign(user=to)
        else:
            raise ActionNotAllowed(_("This task is already finished."))
        _note(current, by, "task_assign", reason, holder=to.pk, previous_holder=previous)
        event_record(
            name="task.assigned",
            dossier=current.dossier,
            task=current,
            payload={"task": current.pk, "stage": current.stage, "to": to.pk, "reason": reason},
        )
    return current


# --- Completing a stage -------------------------------------------------------------------------


def _ensure_review_started(dossier: Dossier, by) -> Dossier:
    if dossier.status == Status.RECEIVED:
        return dossiers.dossier_start_review(dossier=dossier, by=by)
    return dossier


def _clean_consultations(dossier: Dossier, requests) -> list[dict]:
    """Units asked for an opinion, each with its own deadline (a working day to come)."""
    if not requests:
        return []
    if not isinstance(requests, list):
        raise ValidationError({"consultations": [_("Choose the units to consult.")]})
    calendar = working_calendar()
    today = calendar.today()
    cleaned, seen = [], set()
    for request in requests:
        unit = request.get("unit") if isinstance(request, dict) else None
        due = request.get("due_date") if isinstance(request, dict) else None
        agency = Agency.objects.filter(pk=unit).first() if isinstance(unit, int) else None
        if agency is None or agency.pk == dossier.handling_agency_id or agency.pk in seen:
            raise ValidationError({"consultations": [_("Choose other units, each once.")]})
        if type(due) is not dt.date or due <= today or not calendar.is_working_day(due):
            raise ValidationError(
                {"consultations": [_("Give each unit a deadline on a working day after today.")]}
            )
        if dossier.due_date is not None and due > dossier.due_date:
            raise ValidationError(
                {"consultations": [_("A unit's deadline cannot be after the appointment date.")]}
            )
        seen.add(agency.pk)
        cleaned.append({"unit": agency.pk, "due_date": due.isoformat()})
    return cleaned


def _accept(dossier, by, form, task):
    return dossiers.dossier_receive(dossier=dossier, by=by, comment=form.get("comment", ""))


def _reject(dossier, by, form, task):
    return dossiers.dossier_reject_at_reception(dossier=dossier, by=by, reason=form.get("reason"))


def _supplement(dossier, by, form, task):
    dossier = _ensure_review_started(dossier, by)
    return dossiers.dossier_request_supplement(
        dossier=dossier, by=by, items=form.get("items"), reason=form.get("reason")
    )


def _inspect(dossier, by, form, task):
    dossier = _ensure_review_started(dossier, by)
    return dossiers.dossier_record_inspection(
        dossier=dossier,
        by=by,
        day=form.get("day"),
        place=form.get("place"),
        findings=form.get("findings"),
    )


def _propose(dossier, by, form, task):
    dossier = _ensure_review_started(dossier, by)
    return dossiers.dossier_propose(
        dossier=dossier, by=by, decision=form.get("decision"), opinion=form.get("opinion")
    )


def _request_fee(dossier, by, form, task):
    from .fees import dossier_request_fee

    dossier = _ensure_review_started(dossier, by)
    return dossier_request_fee(dossier=dossier, by=by)


def _consult(dossier, by, form, task):
    consultations = _clean_consultations(dossier, form.get("consultations"))
    if not consultations:
        raise ValidationError({"consultations": [_("Choose the units to consult.")]})
    task.data["consultations"] = consultations
    dossier = _ensure_review_started(dossier, by)
    return dossiers.dossier_note(
        dossier=dossier,
        by=by,
        action="consult_request",
        comment=form.get("comment", ""),
        data={"consultations": consultations},
    )


def _approve(dossier, by, form, task):
    return dossiers.dossier_approve(dossier=dossier, by=by, comment=form.get("comment", ""))


def _refuse(dossier, by, form, task):
    return dossiers.dossier_refuse(dossier=dossier, by=by, reason=form.get("reason"))


def _send_back(dossier, by, form, task):
    return dossiers.dossier_send_back(dossier=dossier, by=by, reason=form.get("reason"))


def _sign(dossier, by, form, task):
    return dossiers.dossier_sign(dossier=dossier, by=by, comment=form.get("comment", ""))


def _opinion(dossier, by, form, task):
    return dossiers.dossier_record_opinion(
        dossier=dossier, by=by, unit=task.agency, opinion=form.get("opinion")
    )


# What each action of the vocabulary (procedures.flowspec.ACTIONS) does to the dossier:
# one dossier service, called under the flow's lock by task_complete.
ACTION_SERVICES = {
    "accept": _accept,
    "reject": _reject,
    "supplement": _supplement,
    "inspect": _inspect,
    "propose": _propose,
    "request_fee": _request_fee,
    "consult": _consult,
    "approve": _approve,
    "refuse": _refuse,
    "send_back": _send_back,
    "sign": _sign,
    OPINION.name: _opinion,
}
if set(ACTION_SERVICES) != {*ACTIONS, OPINION.name}:  # pragma: no cover - a code mismatch
    raise RuntimeError("every action of procedures.flowspec needs its service here")


def stage_actions(task: DossierTask) -> list[str]:
    """The actions the task's stage allows, as its procedure version declares them."""
    if task.stage == CONSULT_STAGE:
        return [OPINION.name]
    graph = graph_of(task.dossier.procedure_version)
    return graph.actions(task.stage) if task.stage in graph.stages else []


def task_complete(
    *,
    task: DossierTask,
    by,
    action: str,
    form: dict | None = None,
    before: Callable[[Dossier], object] | None = None,
) -> Dossier:
    """Do this stage's action on the dossier and hand the dossier on to the next stage.

    ``form`` holds what the officer entered: a comment or a reason, the supplement items,
    the proposal and opinion, the units to consult. Of two officers completing the same
    task at once, one wins; the other is told the task is no longer theirs.
    """
    form = form or {}
    with _activation(task) as activation:
        current = activation.task
        if current.owner_id != by.pk or current.status != STATUS.ASSIGNED:
            raise ActionNotAllowed(_("This task is not in your inbox any more."))
        if action not in stage_actions(current):
            raise ValidationError({"action": [_("This action does not belong to this stage.")]})
        # The stage's officers act for the agency holding it (a hand-off stage: another
        # agency than the dossier's).
        with acting_for(current.agency):
            if before is not None:
                # What the action's own service does first, in the same transaction (the
                # signature of the result: documents.services.task_sign).
                before(activation.process.dossier)
            dossier = ACTION_SERVICES[action](activation.process.dossier, by, form, current)
        current.data["action"] = action
        activation.process.dossier = dossier
        # The stage's result for the processing control sheet, written with the completion
        # (DossierTask.save); read again from its finishing time once that is set.
        current.timeliness = timeliness(timezone.now(), current.due_date)
        activation.start(None)
        activation.execute()
        finished = timeliness(current.finished or timezone.now(), current.due_date)
        if finished != current.timeliness:  # midnight came between the two readings
            DossierTask.objects.filter(pk=current.pk).update(timeliness=finished)
    return dossier


# --- The applicant's steps ----------------------------------------------------------------------


def application_submit(*, dossier: Dossier, by) -> Dossier:
    """File the dossier and start its flow: the reception task appears in the desk's queue.

    A new process cannot be contended, so this one may run in a single transaction: a
    savepoint inside the caller's, except for a dossier the caller holds (its failure
    fails the caller's transaction, as any step on it does: ``dossiers.step``).
    """
    with dossiers.step(dossier), one_calendar():
        dossier = dossiers.dossier_submit(dossier=dossier, by=by)
        # Locked by the filing, in this transaction; the process is new in it too.
        with dossiers.holding(dossier), starting():
            flow_for(dossier).start.run(dossier=dossier)
    return dossier


def application_file(*, dossier: Dossier, by) -> Dossier:
    """File what the applicant (or the desk) prepared: a draft for the first time, or the
    answer to a supplement request."""
    if dossier.status == Status.SUPPLEMENT_REQUESTED:
        return application_resubmit(dossier=dossier, by=by)
    return application_submit(dossier=dossier, by=by)


def _waiting_task(dossier: Dossier) -> DossierTask:
    flow_class = flow_for(dossier)
    task = DossierTask.objects.filter(
        dossier=dossier, flow_task=flow_class.wait_resubmission, status=STATUS.NEW
    ).first()
    if task is None:
        raise ActionNotAllowed(_("This dossier is not waiting for a supplement."))
    return task


def application_resubmit(*, dossier: Dossier, by, comment: str = "") -> Dossier:
    """The applicant's answer to a supplement request goes back to the desk."""
    task = _waiting_task(dossier)
    try:
        return flow_for(dossier).wait_resubmission.run(task, by=by, comment=comment)
    except FlowLockFailed as exc:
        raise TaskBusy(BUSY_MESSAGE) from exc
    except TransitionNotAllowed as exc:  # answered a moment ago, by another request
        raise ActionNotAllowed(_("This dossier is not waiting for a supplement.")) from exc


def application_withdraw(*, dossier: Dossier, by, reason: str = "") -> Dossier:
    """The applicant withdraws before a decision: the open tasks are cancelled."""
    process = dossier.process
    flow_class = flow_for(dossier)
    try:
        with flow_class.lock(process.pk), transaction.atomic():
            withdrawn = dossiers.dossier_withdraw(dossier=dossier, by=by, reason=reason)
            pending = DossierTask.objects.filter(
                process=process, status__in=(*ACTIVE, STATUS.SCHEDULED)
            ).order_by("pk")
            for task in pending:
                activation = task.flow_task.activation_class(task)
                activation.cancel()
                if task.flow_task_type == "HUMAN":
                    withdrawn = dossiers.dossier_note(
                        dossier=withdrawn,
                        by=by,
                        action="task_cancel",
                        data={"task": task.pk, "stage": task.stage, "holder": task.owner_id},
                    )
            process.status = PROCESS.CANCELED
            process.finished = timezone.now()
            process.save(update_fields=["status", "finished"])
    except FlowLockFailed as exc:
        raise TaskBusy(BUSY_MESSAGE) from exc
    return withdrawn
