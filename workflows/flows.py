"""The flows that carry a dossier through its procedure (viewflow 2.4 core).

viewflow decides *who does what next*; the dossier's state machine decides *what state
is legal*. Flow nodes never set the dossier's state: officers' actions call the dossier
services (through ``workflows.services.work``), and the gateways route on the dossier's
status as those services left it.

Every procedure runs on one generic flow, ``DossierFlow``: a route gateway reads the
procedure version's graph (procedures.flowspec) at each step and sends the dossier to a
stage's task, a wait for the applicant, a consultation of other units, or the end. The
stages, their actions and where each leads are data (the procedure's YAML); no flow shape
is written here (viewflow itself keeps flows in code and refuses dynamic ones).

Human steps are ``OfficerTask`` nodes: viewflow ``View`` nodes without a viewflow view.
Officers work them from our own pages; viewflow's flow URLs are never mounted.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ContextDecorator, contextmanager
from contextvars import ContextVar

from django.db import connection, transaction
from django.utils import timezone
from viewflow import this
from viewflow.workflow import flow
from viewflow.workflow.activation import Activation
from viewflow.workflow.exceptions import FlowRuntimeError
from viewflow.workflow.lock import SelectForUpdateLock
from viewflow.workflow.nodes.end import EndActivation
from viewflow.workflow.nodes.func import FunctionActivation
from viewflow.workflow.nodes.split import SplitActivation
from viewflow.workflow.nodes.start import StartHandleActivation
from viewflow.workflow.nodes.switch import SwitchActivation
from viewflow.workflow.nodes.view import ViewActivation
from viewflow.workflow.signals import flow_finished, flow_started, task_finished, task_started
from viewflow.workflow.status import PROCESS, STATUS

from procedures.flowspec import CONSULT_STAGE, graph_of
from procedures.models import Agency

from .clock import local_zone, stage_due_date
from .holders import stage_holder
from .models import DossierProcess, DossierTask, Status

# The processes started inside ``starting()``, in the caller's transaction.
_started: ContextVar[list | None] = ContextVar("motcua_started_processes", default=None)


@contextmanager
def starting() -> Iterator[None]:
    """Around a flow's start inside the caller's transaction (services.work): the process
    it makes is that transaction's alone until it commits, so nobody can contend for it
    and the flow's lock on it is not taken (a savepoint and a locking read saved)."""
    token = _started.set([])
    try:
        yield
    finally:
        _started.reset(token)


class DossierLock(SelectForUpdateLock):
    """viewflow's row lock on the process (PostgreSQL: NOWAIT with retries,
    viewflow-notes.md; SQLite has no row locks, its IMMEDIATE transactions serialise
    writers on the whole database), but not on a process being started in ``starting()``."""

    @contextmanager
    def __call__(self, flow_class, process_pk):
        started = _started.get()
        if started and any(process.pk == process_pk for process in started):
            yield
            return
        with super().__call__(flow_class, process_pk):
            yield


LOCK = DossierLock(nowait=True, attempts=5)


class StartActivation(StartHandleActivation):
    """viewflow's start, but inside ``starting()`` without a savepoint of its own: the
    caller's transaction (services.work.application_submit) bounds the start, and a
    failure here fails it."""

    @Activation.status.super()
    def execute(self):
        task_started.send(sender=self.flow_class, process=self.process, task=self.task)
        with transaction.atomic(savepoint=_started.get() is None):
            self.process.save()
            with self.flow_class.lock(self.process.pk):
                self.complete()
                flow_started.send(sender=self.flow_class, process=self.process, task=self.task)
                self.activate_next()


class StartHandle(flow.StartHandle):
    activation_class = StartActivation


class OfficerActivation(ViewActivation):
    """viewflow's activation of a human task, but its completion writes the columns a
    completion changes (viewflow saves the whole row). The task was read again under
    the flow's lock (services.work), so no other column can have moved since."""

    # viewflow's start() and complete(); the stage's action in data; our timeliness (and
    # DossierTask.save adds the copies of status and finishing time).
    COMPLETED = ("status", "started", "finished", "data", "timeliness")

    @Activation.status.super()
    def complete(self):
        assert connection.in_atomic_block
        self.task.finished = timezone.now()
        self.task.save(update_fields=self.COMPLETED)
        task_finished.send(sender=self.flow_class, process=self.process, task=self.task)


class OfficerTask(flow.View):
    """A stage worked by an officer holding the stage's role in the task's agency."""

    activation_class = OfficerActivation

    def __init__(self, **kwargs):
        super().__init__(None, **kwargs)
        self._on_create = self.record_auto_assignment

    def record_auto_assignment(self, activation) -> None:
        """A new task is offered to the stage's officers; an automatic assignment goes into
        the history like any other."""
        from .events import event_record

        task = activation.task
        if task.data.get("handed_over_from"):
            self.record_hand_over(activation)
        if not task.data.get("auto_assigned"):
            event_record(
                name="task.offered",
                dossier=activation.process.dossier,
                task=task,
                payload={
                    "task": task.pk,
                    "stage": task.stage,
                    "agency": task.agency_id,
                    "role": task.role,
                },
            )
            return
        from .services import dossier_note

        activation.process.dossier = dossier_note(
            dossier=activation.process.dossier,
            by=None,
            action="task_assign",
            comment="",
            data={"task": task.pk, "stage": task.stage, "holder": task.owner_id, "auto": True},
        )
        event_record(
            name="task.assigned",
            dossier=activation.process.dossier,
            task=task,
            payload={"task": task.pk, "stage": task.stage, "to": task.owner_id},
        )

    def record_hand_over(self, activation) -> None:
        """The dossier passes to another agency (a stage held elsewhere, procedures.flowspec):
        the history says from which to which, for the officers, the control sheet and the
        applicant."""
        from .services import dossier_note

        task = activation.task
        previous = Agency.objects.only("code", "name").get(pk=task.data["handed_over_from"])
        activation.process.dossier = dossier_note(
            dossier=activation.process.dossier,
            by=None,
            action="hand_over",
            data={
                "task": task.pk,
                "stage": task.stage,
                "from": previous.code,
                "from_name": previous.name,
                "to": task.agency.code,
                "to_name": task.agency.name,
            },
        )

    def prepare(self, task: DossierTask) -> None:
        """Fill the task's own columns before its first save (see DossierTask.save)."""
        from .services.work import least_loaded_officer

        code = task.data["stage"]
        spec = task.dossier.procedure_version.stage(code)
        task.stage = code
        task.role = spec["role"]
        task.agency = stage_holder(task.dossier, spec.get("held_by", "handling"))
        came_from = task.data.pop("from_agency", None)
        if came_from and came_from != task.agency.pk:
            task.data["handed_over_from"] = came_from
        task.due_date = stage_due_date(task.dossier, code)
        if spec.get("auto_assign") and task.owner_id is None:
            officer = least_loaded_officer(agency=task.agency, role=task.role)
            if officer is not None:
                task.owner = officer
                task.status = STATUS.ASSIGNED
                task.assigned = timezone.now()
                task.data["auto_assigned"] = True


class ConsultTask(OfficerTask):
    """An opinion asked of another unit: its specialists answer, by its own deadline."""

    def __init__(self, stage: str, **kwargs):
        super().__init__(**kwargs)
        self.stage = stage

    def prepare(self, task: DossierTask) -> None:
        task.stage = self.stage
        task.role = "specialist"
        task.agency = Agency.objects.get(pk=task.data["unit"])
        task.due_date = timezone.datetime.fromisoformat(task.data["due_date"]).date()


class DynamicSplitActivation(SplitActivation):
    """A split whose branch fans out into one task per item of its data source."""

    @Activation.status.super()
    def activate(self):
        for node, condition, data_source in self.flow_task._branches:
            if condition and not condition(self):
                continue
            if data_source is None:
                self.next_tasks.append((node, None))
            else:
                self.next_tasks.extend((node, item) for item in data_source(self))
        if not self.next_tasks:
            raise FlowRuntimeError(f"No next task available for {self.flow_task.name}")


class DynamicSplit(flow.Split):
    """viewflow 2.4's Split documents a ``data_source`` its ``Next`` does not take."""

    activation_class = DynamicSplitActivation

    def Next(self, node, case=None, data_source=None):  # noqa: N802 - viewflow's naming
        self._activate_next.append((node, case, data_source))
        return self


class WrittenOnce:
    """For an activation whose task is created and completed in the same step (a
    gateway's choice, the issuing call): the task row is inserted once, as done, instead
    of inserted as new and updated to done a moment later (viewflow's create() and
    complete()). Until then the task is in memory only; a failure recorded by viewflow
    (outside its exception propagation) writes it with its link to the previous task."""

    previous_task = None

    # viewflow keeps activations in sets, hashed by their task's id: this one has none
    # until it is written.
    def __eq__(self, other):
        return self is other

    def __hash__(self):
        return id(self)

    @classmethod
    def create(cls, flow_task, prev_activation, token, data=None, seed=None):
        task = flow_task.flow_class.task_class(
            process=prev_activation.process, flow_task=flow_task, token=token
        )
        task.data = data if data is not None else {}
        task.seed = seed
        activation = cls(task)
        activation.previous_task = prev_activation.task
        return activation

    def write_done(self) -> None:
        """viewflow's complete(), its task written here for the first time, as done. (Each
        activation class declares complete() itself: viewflow's status.super() looks for
        the transition it overrides in the class's bases, which this mixin has not.)"""
        assert connection.in_atomic_block
        self.task.finished = timezone.now()
        self.write()
        task_finished.send(sender=self.flow_class, process=self.process, task=self.task)

    def write(self) -> None:
        """The first save of the task, with its link to the task before it."""
        self.task.save()
        if self.previous_task is not None:
            self.task.previous.add(self.previous_task)
            self.previous_task = None

    def exception_guard(self):
        guard = super().exception_guard()
        activation = self

        class Guard(ContextDecorator):
            def __enter__(self):
                return guard.__enter__()

            def __exit__(self, *exc):
                suppressed = guard.__exit__(*exc)
                if suppressed and activation.task.pk and activation.previous_task is not None:
                    activation.task.previous.add(activation.previous_task)
                    activation.previous_task = None
                return suppressed

        return Guard()


class FunctionOnceActivation(WrittenOnce, FunctionActivation):
    @Activation.status.super()
    def complete(self):
        self.write_done()


class EndOnceActivation(WrittenOnce, EndActivation):
    """The end, written once as done; the process marked finished by its two columns
    (viewflow rewrites the whole process row, its JSON data included)."""

    @Activation.status.super()
    def activate(self):
        with self.exception_guard(), transaction.atomic(savepoint=True):
            self.task.started = timezone.now()
            task_started.send(sender=self.flow_class, process=self.process, task=self.task)
            # The end's own task is not written yet: every unfinished row is another's.
            finished = not self.flow_class.task_class._default_manager.filter(
                process=self.process, finished__isnull=True
            ).exists()
            if finished:
                self.process.status = PROCESS.DONE
                self.process.finished = timezone.now()
                self.process.save(update_fields=["status", "finished"])
            task_finished.send(sender=self.flow_class, process=self.process, task=self.task)
            if finished:
                flow_finished.send(sender=self.flow_class, process=self.process, task=self.task)

    @Activation.status.super()
    def complete(self):
        self.write_done()


class Function(flow.Function):
    activation_class = FunctionOnceActivation


class End(flow.End):
    activation_class = EndOnceActivation


# --- Routing on the procedure's graph -----------------------------------------------------------


class RouteActivation(WrittenOnce, SwitchActivation):
    """The route's choice: where the procedure's graph sends the dossier after the step
    just done (Route.choose), with the data the next task needs."""

    choice: tuple | None = None

    @Activation.status.super()
    def activate(self):
        with self.exception_guard(), transaction.atomic(savepoint=True):
            self.choice = self.flow_task.choose(self)

    @Activation.status.super()
    def create_next(self):
        node, data = self.choice
        yield node._create(self, self.task.token, data=data)

    @Activation.status.super()
    def complete(self):
        self.write_done()


class Route(flow.Switch):
    """The one gateway of the generic flow: every step comes back here, and the route
    reads the procedure version's graph (procedures.flowspec) to choose the next: a
    stage's task, a wait for the applicant, a consultation of other units, or the end."""

    activation_class = RouteActivation

    def choose(self, activation) -> tuple:
        flow_class = self.flow_class
        came_from = activation.previous_task
        dossier = activation.process.dossier
        graph = graph_of(dossier.procedure_version)
        node = came_from.flow_task
        if node is flow_class.stage:
            action = came_from.data["action"]
            lead = graph.lead(came_from.stage, action)
            # Where the dossier was: a next stage held elsewhere records the hand-over.
            here = {"from_agency": came_from.agency_id}
            if lead.kind == "to":
                return flow_class.stage, {"stage": lead.stage, **here}
            if lead.kind == "end":
                issues = dossier.status in (Status.APPROVED, Status.SIGNED)
                return (flow_class.issue if issues else flow_class.end), {}
            if lead.kind == "consult":
                consultations = came_from.data.get("consultations", [])
                return flow_class.consult_split, {
                    "then": lead.stage,
                    "consultations": [{**c, "then": lead.stage, **here} for c in consultations],
                }
            waits = flow_class.wait_fee if action == "request_fee" else flow_class.wait_resubmission
            return waits, {"then": lead.stage, **here}
        if node is flow_class.consult_join:
            asked = _consultation_asked(activation.process)
            data = {"stage": asked.get("then") or graph.resume_after("consult")}
            if asked.get("from_agency"):
                data["from_agency"] = asked["from_agency"]
            return flow_class.stage, data
        # A wait answered (a supplement, a payment): back to the stage it named. A wait
        # begun before its stage was written on it goes to where its action leads.
        then = came_from.data.get("then")
        if then is None:
            then = graph.resume_after(
                "request_fee" if node is flow_class.wait_fee else "supplement"
            )
        data = {"stage": then}
        if came_from.data.get("from_agency"):
            data["from_agency"] = came_from.data["from_agency"]
        return flow_class.stage, data


def _consultation_asked(process) -> dict:
    """What the units' tasks of a finished consultation carry: the stage it goes back to
    and the agency that asked (empty for tasks made before these were written)."""
    task = (
        DossierTask.objects.filter(process=process, stage=CONSULT_STAGE)
        .order_by("-pk")
        .only("data")
        .first()
    )
    return task.data if task is not None else {}


def consultation_branches(activation) -> list[dict]:
    """One branch per unit asked (the route put them on the split's task)."""
    return list(activation.task.data.get("consultations", []))


def consultation_deadline(activation):
    """When a consulted unit's silence is recorded and the flow goes on without it: the
    end of its deadline day (local time)."""
    host = activation.task.previous.get()
    due = timezone.datetime.fromisoformat(host.data["due_date"]).date()
    return timezone.make_aware(
        timezone.datetime.combine(due + timezone.timedelta(days=1), timezone.datetime.min.time()),
        local_zone(),
    )


class DossierFlow(flow.Flow):
    """The one flow every procedure runs on. Its shape is generic; the procedure
    version's graph (its YAML ``stages`` and their ``actions``, procedures.flowspec) is
    read by the route at every step, so a dossier keeps the graph of the version it was
    filed under, and a new version never changes a dossier already on its way."""

    process_class = DossierProcess
    task_class = DossierTask
    lock_impl = LOCK
    process_title = "Dossier"

    # The first stage straight away (the route serves every later step).
    start = StartHandle(this.start_process).Next(this.stage, task_data=this.first_stage)
    route = (
        Route()
        .Case(this.stage)
        .Case(this.wait_resubmission)
        .Case(this.wait_fee)
        .Case(this.consult_split)
        .Case(this.issue)
        .Default(this.end)
    )
    # A stage of the procedure, its code on the task (OfficerTask.prepare).
    stage = OfficerTask().Next(this.route)
    # Waits for the applicant's answer to a supplement request, then for the fee's payment
    # (online, or recorded at the desk); each goes on at the stage its action named.
    wait_resubmission = flow.Handle(this.on_resubmitted).Next(this.route)
    wait_fee = flow.Handle(this.on_fee_paid).Next(this.route)
    # Other units asked for their opinions, in parallel, each by its own deadline; a unit
    # silent past it is recorded as such and the flow goes on without it.
    consult_split = DynamicSplit().Next(this.consult, data_source=consultation_branches)
    consult = (
        ConsultTask(CONSULT_STAGE)
        .OnTimeout(consultation_deadline, this.consult_no_answer)
        .Next(this.consult_join)
    )
    consult_no_answer = flow.Function(this.record_no_answer).Next(this.consult_join)
    consult_join = flow.Join().Next(this.route)
    issue = Function(this.issue_result).Next(this.end)
    end = End()

    def start_process(self, activation, dossier):
        activation.process.dossier = dossier
        started = _started.get()
        if started is not None:
            started.append(activation.process)  # its id comes when viewflow saves it
        return activation.process

    def first_stage(self, activation) -> dict:
        dossier = activation.process.dossier
        # From the handling agency: a first stage held elsewhere records the hand-over.
        return {
            "stage": graph_of(dossier.procedure_version).first,
            "from_agency": dossier.handling_agency_id,
        }

    def on_resubmitted(self, activation, by, comment=""):
        from .services.dossiers import dossier_resubmit

        dossier = dossier_resubmit(dossier=activation.process.dossier, by=by, comment=comment)
        activation.process.dossier = dossier
        return dossier

    def on_fee_paid(self, activation, fee):
        from .services.fees import dossier_resume_after_fee

        dossier = dossier_resume_after_fee(dossier=activation.process.dossier, fee=fee)
        activation.process.dossier = dossier
        return dossier

    def record_no_answer(self, activation):
        from .services import dossier_note

        if activation.process.status != PROCESS.NEW:
            return  # the dossier was closed meanwhile (withdrawn): nothing to record
        timeout = activation.task.previous.get()
        host = DossierTask.objects.select_related("agency").get(leading=timeout)
        activation.process.dossier = dossier_note(
            dossier=activation.process.dossier,
            by=None,
            action="consult_no_answer",
            data={
                "task": host.pk,
                "unit": host.agency.code,
                "due_date": host.data["due_date"],
                "holder": host.owner_id,
            },
        )

    def issue_result(self, activation):
        from .services.dossiers import dossier_issue

        activation.process.dossier = dossier_issue(dossier=activation.process.dossier)


def flow_for(dossier) -> type[flow.Flow]:
    """The flow of every dossier (one generic flow; its graph is the version's)."""
    return DossierFlow
