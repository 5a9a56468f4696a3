"""Reads for officers' pages, written once with the joins and filters they need."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import translation
from django.utils.formats import number_format
from django.utils.translation import gettext, ngettext
from viewflow.workflow.status import STATUS

from config.search import fold
from procedures.auth import has_agency_perm, held_roles, user_role_permissions
from procedures.models import Agency
from procedures.roles import DEPARTMENT_ROLES, SUBTREE_ROLES, Role

from .clock import WorkingCalendar, working_calendar
from .models import Channel, Dossier, DossierTask, HistoryEntry, Status

OPEN = (STATUS.NEW, STATUS.ASSIGNED)


def is_officer(user) -> bool:
    return user.is_authenticated and user.is_active and bool(held_roles(user))


def offered_q(user) -> Q:
    """Tasks of the stages whose role the user holds in the task's agency."""
    allowed = Q(pk__in=[])
    for held in held_roles(user):
        if held.role in SUBTREE_ROLES:
            continue
        agencies = [held.agency_id]
        if held.kind == Agency.Kind.DEPARTMENT and held.parent_id and held.role in DEPARTMENT_ROLES:
            agencies.append(held.parent_id)
        allowed |= Q(agency_id__in=agencies, role=held.role)
    return allowed


def managed_q(user) -> Q:
    """Tasks of the agencies where the user may assign work (head: the agency and its
    departments; supervisor: the whole subtree)."""
    allowed = Q(pk__in=[])
    for held in held_roles(user):
        if "workflows.assign_task" not in user_role_permissions(user).get(held.role, ()):
            continue
        if held.role in SUBTREE_ROLES:
            allowed |= Q(agency__path__startswith=held.path)
        else:
            allowed |= Q(agency_id=held.agency_id)
    return allowed


def can_manage_any(user) -> bool:
    return managed_q(user) != Q(pk__in=[])


def can_file_at_desk(user) -> list[Agency]:
    """The agencies for which the user files dossiers at the desk."""
    ids = {h.agency_id for h in held_roles(user) if h.role == Role.RECEPTION}  # and departments
    ids |= {
        h.parent_id
        for h in held_roles(user)
        if h.role == Role.RECEPTION and h.kind == Agency.Kind.DEPARTMENT and h.parent_id
    }
    agencies = Agency.objects.filter(pk__in=ids).exclude(kind=Agency.Kind.DEPARTMENT)
    return [a for a in agencies if has_agency_perm(user, "workflows.file_at_desk", a)]


@dataclass(frozen=True)
class TaskFilters:
    procedure: str = ""
    stage: str = ""
    due: str = ""  # "", "overdue" or "soon"
    filed_from: dt.date | None = None
    filed_to: dt.date | None = None
    q: str = ""


def _base() -> QuerySet[DossierTask]:
    # Lists show a row per task: leave the dossier's form data and the procedure's whole
    # specification in the database. An officer's task (a view node: flow_task_type
    # "HUMAN") is the one with a role, which our own row says without a join to
    # viewflow's.
    return (
        DossierTask.objects.exclude(role="")
        .select_related("dossier__procedure_version__procedure", "agency", "owner")
        .defer("data", "dossier__form_data", "dossier__procedure_version__spec")
    )


def _filtered(tasks: QuerySet[DossierTask], filters: TaskFilters) -> QuerySet[DossierTask]:
    if filters.procedure:
        tasks = tasks.filter(dossier__procedure_version__procedure__code=filters.procedure)
    if filters.stage:
        tasks = tasks.filter(stage=filters.stage)
    if filters.due:
        calendar = working_calendar()
        today = calendar.today()
        if filters.due == "overdue":
            tasks = tasks.filter(due_date__lt=today)
        elif filters.due == "soon":
            soon = calendar.add_working_days(today, settings.MOTCUA["DUE_SOON_WORKING_DAYS"])
            tasks = tasks.filter(due_date__gte=today, due_date__lte=soon)
    if filters.filed_from:
        tasks = tasks.filter(dossier__submitted_at__date__gte=filters.filed_from)
    if filters.filed_to:
        tasks = tasks.filter(dossier__submitted_at__date__lte=filters.filed_to)
    if filters.q and (q := fold(filters.q)):
        # By code, applicant's name or ID number, whatever the accents and case: the
        # folded query within the task's copy of the dossier's folded column, read from
        # the list's own index (a common name on thousands of dossiers costs no more than
        # a rare one). A dossier not received yet has no code: the desk finds it by its
        # number, "#42".
        match = Q(search_text__contains=q)
        # "#42", or a bare number too short to be a personal ID number (12 digits): a
        # dossier's number as well. An ID number is matched in the text alone, which the
        # list's index holds.
        number = q.removeprefix("#")
        if number.isascii() and number.isdigit() and len(number) <= (18 if q[0] == "#" else 9):
            match |= Q(dossier_id=int(number))
        tasks = tasks.filter(match)
    return tasks


def task_queue(*, user, filters: TaskFilters) -> QuerySet[DossierTask]:
    """Open tasks offered to the user's roles and agencies, not yet claimed; soonest due
    first."""
    # task_status (the copy) brings the partial index task_queue_new_idx into play.
    tasks = _base().filter(status=STATUS.NEW, task_status=STATUS.NEW).filter(offered_q(user))
    return _filtered(tasks, filters).order_by("due_date", "pk")


def task_inbox(*, user, filters: TaskFilters) -> QuerySet[DossierTask]:
    tasks = _base().filter(status=STATUS.ASSIGNED, owner=user)
    return _filtered(tasks, filters).order_by("due_date", "pk")


def task_done(*, user, filters: TaskFilters) -> QuerySet[DossierTask]:
    # viewflow's status, owner and finishing time as copied on our row: one partial index
    # (task_done_owner_idx) holds the list in order.
    tasks = _base().filter(task_status=STATUS.DONE, task_owner=user)
    return _filtered(tasks, filters).order_by("-task_finished", "-pk")


def team_tasks(*, user, filters: TaskFilters) -> QuerySet[DossierTask]:
    """Open tasks, held or not, in the agencies where the user assigns work."""
    tasks = _base().filter(task_status__in=OPEN).filter(managed_q(user))
    return _filtered(tasks, filters).order_by("due_date", "pk")


def task_list_rows(pks: list[int], columns) -> list[dict]:
    """The ``columns`` of the tasks ``pks``, in that order (a list's page, found by id)."""
    rows = {row["pk"]: row for row in DossierTask.objects.filter(pk__in=pks).values(*columns)}
    return [rows[pk] for pk in pks if pk in rows]


def task_for(*, user, pk: int) -> DossierTask | None:
    """A task the user may see: offered to them, held by them, done by them, or in an
    agency where they assign work."""
    return _base().filter(pk=pk).filter(offered_q(user) | Q(owner=user) | managed_q(user)).first()


def dossier_for_officer(*, user, pk: int) -> Dossier | None:
    """A dossier the officer may read: their agency's (view permission there), or one
    they were given a task on (a consulted unit)."""
    dossier = (
        Dossier.objects.select_related("procedure_version__procedure", "handling_agency")
        .filter(pk=pk)
        .first()
    )
    if dossier is None:
        return None
    if dossier.status == Status.DRAFT:
        # A draft is its author's: an online one is the citizen's alone, a desk one the
        # desk's.
        if dossier.channel != Channel.ONLINE and has_agency_perm(
            user, "workflows.file_at_desk", dossier
        ):
            return dossier
        return None
    if has_agency_perm(user, "workflows.view_dossier", dossier):
        return dossier
    if DossierTask.objects.filter(dossier=dossier).filter(offered_q(user) | Q(owner=user)).exists():
        return dossier
    return None


def dossier_timeline(*, dossier: Dossier) -> list[HistoryEntry]:
    return list(dossier.history.select_related("actor").order_by("seq"))


OPINION_ACTIONS = (
    "propose",
    "send_back",
    "consult_opinion",
    "request_supplement",
    "refuse",
    "reject_at_reception",
    "task_assign",
)


def dossier_opinions(
    timeline: list[HistoryEntry], *, dossier: Dossier | None = None
) -> list[HistoryEntry]:
    """The entries that carry an opinion. A supplement request's items name their
    component (``supplement_items``: name and reason), not its code."""
    from procedures.forms import localized

    names = {}
    if dossier is not None:
        spec = dossier.procedure_version.spec
        names = {f["name"]: localized(f["label"]) for f in spec["fields"]}
        names.update({c["code"]: localized(c["name"]) for c in spec["components"]})
    opinions = [entry for entry in timeline if entry.action in OPINION_ACTIONS and entry.comment]
    for entry in opinions:
        entry.supplement_items = [
            {
                "name": names.get(item.get("code"), item.get("code", "")),
                "reason": item.get("reason"),
            }
            for item in (entry.data or {}).get("items") or []
            if isinstance(item, dict)
        ]
    return opinions


def eligible_officers(task: DossierTask):
    """Officers who may be given the task: the stage's role in the task's agency."""
    from django.contrib.auth import get_user_model

    reach = Q(agency_roles__agency=task.agency)
    if task.role in DEPARTMENT_ROLES:
        reach |= Q(
            agency_roles__agency__parent=task.agency,
            agency_roles__agency__kind=Agency.Kind.DEPARTMENT,
        )
    return (
        get_user_model()
        .objects.filter(reach, agency_roles__role=task.role, is_active=True)
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


@dataclass(frozen=True)
class Row:
    label: str
    value: str


def dossier_form_rows(dossier: Dossier) -> list[Row]:
    """The form data with the procedure's labels and choice names, in the form's order."""
    from procedures.forms import field_choices, localized

    rows = []
    for field in dossier.procedure_version.spec["fields"]:
        value = dossier.form_data.get(field["name"])
        choices = dict(field_choices(field))
        if isinstance(value, list):
            shown = ", ".join(choices.get(v, str(v)) for v in value)
        elif field["type"] == "boolean":
            shown = "✓" if value in (True, "on", "true", "True") else "—"
        elif field["type"] == "date" and isinstance(value, str):
            try:
                shown = dt.date.fromisoformat(value).strftime("%d/%m/%Y")
            except ValueError:
                shown = value
        elif field["type"] in ("decimal", "integer") and value not in (None, ""):
            # Kept as "120.5" (JSON); shown as the language writes numbers: 120,5.
            try:
                number = Decimal(str(value))
            except InvalidOperation:
                number = None
            # "NaN" and "Infinity" parse, but are no number to print: shown as typed.
            shown = (
                number_format(number) if number is not None and number.is_finite() else str(value)
            )
        else:
            shown = choices.get(value, "" if value is None else str(value))
        rows.append(Row(localized(field["label"]), shown))
    return rows


@dataclass(frozen=True)
class ComponentRow:
    code: str
    name: str
    mandatory: bool
    files: list


def dossier_component_rows(dossier: Dossier) -> list[ComponentRow]:
    """Each required component of the procedure with the current files for it."""
    from procedures.forms import localized

    files: dict[str, list] = {}
    current = (
        dossier.components.filter(superseded_at__isnull=True)
        .select_related("reused_dossier")
        .order_by("uploaded_at")
    )
    for component in current:
        files.setdefault(component.component_code, []).append(component)
    return [
        ComponentRow(c["code"], localized(c["name"]), c["mandatory"], files.get(c["code"], []))
        for c in dossier.procedure_version.spec["components"]
    ]


def component_flags(dossier: Dossier) -> list[dict]:
    """Each component of the dossier's procedure, for the national portal's sync:
    ``digitised`` (a current file holds it), ``reused`` (a current file of it was taken
    from the citizen's data store) and ``reused_from`` (the dossier codes it came from).
    The results' flags are ``documents.store.result_flags``."""
    rows = []
    for row in dossier_component_rows(dossier):
        sources = sorted({f.reused_dossier.code or "" for f in row.files if f.reused_kind})
        rows.append(
            {
                "code": row.code,
                "digitised": bool(row.files),
                "reused": bool(sources),
                "reused_from": sources,
            }
        )
    return rows


@dataclass(frozen=True)
class Clock:
    due_date: dt.date | None
    working_days_left: int | None
    overdue_days: int
    due_soon: bool

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0

    # What workspace/_clock.html shows, made here for the long lists (an include per row
    # costs more than the rest of the row).
    @property
    def css(self) -> str:
        return " overdue" if self.overdue else (" soon" if self.due_soon else "")

    @property
    def label(self) -> str:
        if self.overdue:
            n = self.overdue_days
            return ngettext("overdue by %(n)s working day", "overdue by %(n)s working days", n) % {
                "n": n
            }
        if self.working_days_left == 0:
            return gettext("due today")
        n = self.working_days_left
        return ngettext("%(n)s working day left", "%(n)s working days left", n) % {"n": n}


def clock_for(due_date: dt.date | None, calendar: WorkingCalendar | None = None) -> Clock:
    """Where a due date stands today, in working days (pass one calendar for a list)."""
    if due_date is None:
        return Clock(None, None, 0, False)
    calendar = calendar or working_calendar()
    today = calendar.today()
    if due_date < today:
        return Clock(due_date, 0, max(1, calendar.working_days_between(due_date, today)), False)
    left = calendar.working_days_between(today, due_date)
    return Clock(due_date, left, 0, left <= settings.MOTCUA["DUE_SOON_WORKING_DAYS"])


def dossier_whereabouts(dossier: Dossier) -> list[dict]:
    """Where the dossier is now, for its applicant: each open stage and the agency holding
    it (a hand-off stage names another agency than the one filed with); not the units
    asked for an opinion."""
    from procedures.flowspec import CONSULT_STAGE

    tasks = (
        DossierTask.objects.filter(dossier=dossier, task_status__in=("NEW", "ASSIGNED", "STARTED"))
        .exclude(role="")
        .exclude(stage=CONSULT_STAGE)
        .select_related("agency")
        .order_by("pk")
    )
    version = dossier.procedure_version
    return [{"stage": version.stage_name(t.stage), "agency": t.agency.display_name} for t in tasks]


def dossier_notice(dossier: Dossier) -> dict | None:
    """The notice of the result, for a procedure ending with one (``outcome: notice``,
    no signed paper, or ``both``): what was decided, when, by which agency."""
    version = dossier.procedure_version
    if dossier.status != Status.ISSUED or version.spec.get("outcome") not in ("notice", "both"):
        return None
    approval = dossier.history.filter(action="approve").order_by("-seq").first()
    decided = (
        DossierTask.objects.filter(dossier=dossier, task_status="DONE")
        .exclude(role="")
        .select_related("agency")
        .order_by("-task_finished", "-pk")
        .first()
    )
    title = version.spec["result"]["title"]
    return {
        "title": title["en"] if translation.get_language() == "en" else title["vi"],
        "at": approval.at if approval else dossier.closed_at,
        "comment": approval.comment if approval else "",
        "agency": (decided.agency if decided else dossier.handling_agency).display_name,
    }
