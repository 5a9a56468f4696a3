"""The numbers supervisors watch: time limits kept, per period, over an agency subtree.

Definitions (domain.md, Circular 01/2018 art. 13, Decision 766/QĐ-TTg):
- *received*: dossiers whose (latest) reception falls in the period;
- *finished*: dossiers closed with a decision (issued or refused) in the period, each
  early, on time or late by the local date of closing against its appointment date;
- *in progress*: received, not finished, as of today; *overdue now*: those past their
  appointment date;
- *on-time rate*: (finished early + finished on time + in progress and still within time)
  ÷ (finished + in progress);
- *processing time*: working days from the reception day to the closing date, stored
  on the dossier when it is finished (``Dossier.processing_days``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Aggregate, Avg, Count, Exists, FloatField, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.utils.translation import gettext_lazy as _

from procedures.auth import held_roles
from procedures.models import Agency, ProcedureVersion
from procedures.roles import Role

from .clock import local_zone, working_calendar
from .models import (
    CLOCK_RUNNING,
    Dossier,
    DossierComponent,
    DossierTask,
    FeeChannel,
    FeeStatus,
    Status,
    Timeliness,
)

FINISHED = (Status.ISSUED, Status.REFUSED)


@dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date

    @classmethod
    def last_twelve_months(cls) -> Period:
        today = working_calendar().today()
        start = (today.replace(day=1) - dt.timedelta(days=335)).replace(day=1)
        return cls(start, today)


def supervised(user) -> QuerySet[Dossier]:
    """Dossiers of the agencies the user supervises (supervisor: the subtree; head: the
    agency itself)."""
    return Dossier.objects.filter(handling_agency_id__in=supervised_agencies(user))


def supervised_agencies(user) -> list[int]:
    """The ids of the agencies the user supervises, whose dossiers ``supervised`` gives."""
    agencies: set[int] = set()
    for held in held_roles(user):
        if held.role == Role.SUPERVISOR:
            # The subtree's ids, read once (a few dozen agencies): the dossier filter is then
            # an index lookup on handling_agency, where a join on the path would scan.
            agencies.update(
                Agency.objects.filter(path__startswith=held.path).values_list("pk", flat=True)
            )
        elif held.role == Role.HEAD:
            agencies.add(held.agency_id)
    return sorted(agencies)


def can_supervise(user) -> bool:
    return any(h.role in (Role.SUPERVISOR, Role.HEAD) for h in held_roles(user))


def bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """The period as instants: from the start of its first local day to the start of the
    day after its last. Comparing instants is what ``__date`` lookups mean, without
    converting every row's time to the local zone (the dashboard's main cost at 1M)."""
    zone = local_zone()
    return (
        dt.datetime.combine(period.start, dt.time.min, tzinfo=zone),
        dt.datetime.combine(period.end + dt.timedelta(days=1), dt.time.min, tzinfo=zone),
    )


def metric_filter(metric: str, period: Period, today: dt.date) -> Q:
    """The dossiers behind each number (the drill-down uses the same filters)."""
    start, end = bounds(period)
    received = Q(received_at__gte=start, received_at__lt=end)
    finished = Q(status__in=FINISHED, closed_at__gte=start, closed_at__lt=end)
    in_progress = Q(status__in=CLOCK_RUNNING)
    return {
        "received": received,
        "finished": finished,
        "early": finished & Q(timeliness=Timeliness.EARLY),
        "on_time": finished & Q(timeliness=Timeliness.ON_TIME),
        "late": finished & Q(timeliness=Timeliness.LATE),
        "in_progress": in_progress,
        "overdue": in_progress & Q(due_date__lt=today),
        "within_time": in_progress & Q(due_date__gte=today),
    }[metric]


METRICS = ("received", "in_progress", "early", "on_time", "late", "overdue")


@dataclass
class Row:
    key: str
    label: str
    counts: dict[str, int] = field(default_factory=dict)
    average_days: float | None = None
    p90_days: float | None = None

    @property
    def on_time_rate(self) -> float | None:
        c = self.counts
        base = c.get("early", 0) + c.get("on_time", 0) + c.get("late", 0) + c.get("in_progress", 0)
        if not base:
            return None
        return (c.get("early", 0) + c.get("on_time", 0) + c.get("within_time", 0)) / base


def _counts(queryset: QuerySet, period: Period, today: dt.date, group: str | None):
    annotations = {
        name: Count("pk", filter=metric_filter(name, period, today))
        for name in (*METRICS, "within_time")
    }
    if group is None:
        return [("", queryset.aggregate(**annotations))]
    rows = queryset.values(group).annotate(**annotations).order_by(group)
    return [(row.pop(group), row) for row in rows]


class PercentileDisc(Aggregate):
    """PostgreSQL's nearest-rank percentile: the smallest value with at least ``fraction``
    of the values at or below it (``percentile()`` below, in SQL)."""

    function = "PERCENTILE_DISC"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


def _processing_days(queryset: QuerySet, period: Period, group: str | None):
    """Average and 90th percentile of the stored processing time (working days) of the
    dossiers finished in the period, per group: in the database on PostgreSQL; elsewhere
    (SQLite) the stored values are read and ranked here."""
    finished = queryset.filter(
        metric_filter("finished", period, period.end), processing_days__isnull=False
    )
    if connection.vendor == "postgresql":
        rows = (finished.values(group) if group else finished.values()).annotate(
            average=Avg("processing_days"), p90=PercentileDisc("processing_days", 0.9)
        )
        if group:
            rows = rows.order_by(group).values_list(group, "average", "p90")
            return {key: (average, p90) for key, average, p90 in rows}
        summary = finished.aggregate(
            average=Avg("processing_days"), p90=PercentileDisc("processing_days", 0.9)
        )
        return {"": (summary["average"], summary["p90"])}
    days: dict[object, list[int]] = {}
    fields = ["processing_days"] + ([group] if group else [])
    for row in finished.values_list(*fields):
        days.setdefault(row[1] if group else "", []).append(row[0])
    return {
        key: (sum(values) / len(values), percentile(values, 0.9)) for key, values in days.items()
    }


def percentile(values: list[int], fraction: float) -> float | None:
    """The nearest-rank percentile (the value below which ``fraction`` of them fall)."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(0, math.ceil(fraction * len(ordered)) - 1)])


def table(queryset: QuerySet, period: Period, group: str | None, labels=None) -> list[Row]:
    today = working_calendar().today()
    days = _processing_days(queryset, period, group)
    rows = []
    for key, counts in _counts(queryset, period, today, group):
        average, p90 = days.get(key, (None, None))
        rows.append(
            Row(
                key=str(key),
                label=(labels or {}).get(key, str(key)),
                counts=counts,
                average_days=None if average is None else round(float(average), 1),
                p90_days=None if p90 is None else float(p90),
            )
        )
    return rows


def officer_stages(period: Period, officer_id: int, which: str) -> QuerySet[DossierTask]:
    """The stages an officer finished in the period: all ("done"), or early / on time /
    late."""
    start, end = bounds(period)
    stages = DossierTask.objects.filter(
        owner_id=officer_id, status="DONE", finished__gte=start, finished__lt=end
    )
    if which in Timeliness.values:
        stages = stages.filter(timeliness=which)
    return stages


def officer_table(agencies: list[int], period: Period) -> list[Row]:
    """Stages finished by each officer in the period, early / on time / late, over the
    dossiers handled by ``agencies`` (a consulted unit's stage counts for the dossier's
    handling agency). Read from the task's copies of viewflow's status, finishing time and
    owner and of the dossier's agency: one range of ``task_done_idx``."""
    start, end = bounds(period)
    if not agencies:
        return []
    # In SQL on the task table alone: the ORM would join viewflow's parent row to every
    # task, which is what this avoids. Counted per owner id (an index-only scan and a hash
    # aggregate), then the few officers' names, read in the order the table shows them.
    table = DossierTask._meta.db_table
    sql = (
        f"SELECT task_owner_id, COUNT(*), "  # noqa: S608 (no user input in the names)
        "COUNT(CASE WHEN timeliness = %s THEN 1 END), "
        "COUNT(CASE WHEN timeliness = %s THEN 1 END), "
        "COUNT(CASE WHEN timeliness = %s THEN 1 END) "
        f"FROM {table} WHERE task_status = %s "
        f"AND dossier_agency_id IN ({', '.join(['%s'] * len(agencies))}) "
        "AND task_finished >= %s AND task_finished < %s AND task_owner_id IS NOT NULL "
        "GROUP BY task_owner_id"
    )
    params = [Timeliness.EARLY.value, Timeliness.ON_TIME.value, Timeliness.LATE.value, "DONE"]
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *agencies, adapt(start), adapt(end)])
        counts = {
            owner: dict(zip(("done", "early", "on_time", "late"), numbers, strict=True))
            for owner, *numbers in cursor.fetchall()
        }
    officers = (
        get_user_model()
        .objects.filter(pk__in=counts)
        .order_by("first_name", "username")
        .values_list("pk", "first_name", "last_name", "username")
    )
    result = []
    for pk, first_name, last_name, username in officers:
        name = f"{first_name} {last_name}".strip()
        result.append(
            Row(
                key=str(pk),
                label=name or username,
                counts={key: counts[pk][key] for key in ("done", "early", "on_time", "late")},
            )
        )
    return result


def monthly(queryset: QuerySet, period: Period) -> list[dict]:
    """Received and finished per month of the period."""
    received = dict(
        queryset.filter(metric_filter("received", period, period.end))
        .annotate(month=TruncMonth("received_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    finished = dict(
        queryset.filter(metric_filter("finished", period, period.end))
        .annotate(month=TruncMonth("closed_at"))
        .values("month")
        .annotate(n=Count("pk"))
        .values_list("month", "n")
    )
    received = {m.date(): n for m, n in received.items() if m}
    finished = {m.date(): n for m, n in finished.items() if m}
    months, cursor = [], period.start.replace(day=1)
    while cursor <= period.end:
        months.append(
            {
                "month": cursor,
                "received": received.get(cursor, 0),
                "finished": finished.get(cursor, 0),
            }
        )
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    return months


def fully_digitised(dossiers: QuerySet[Dossier]) -> QuerySet[Dossier]:
    """Those of ``dossiers`` holding a current file for every mandatory component of the
    procedure version they were filed under (a version that requires none counts: nothing
    it asks for is on paper). One file is not enough: each mandatory component needs its
    own. The mandatory components differ per version, so the filter is one clause per
    version in use (a few dozen), each an index lookup per component."""
    clauses = []
    versions = ProcedureVersion.objects.filter(pk__in=dossiers.values("procedure_version"))
    for pk, spec in versions.values_list("pk", "spec"):
        mandatory = sorted({c["code"] for c in spec["components"] if c["mandatory"]})
        has_each = [
            Exists(
                DossierComponent.objects.filter(
                    dossier=OuterRef("pk"), component_code=code, superseded_at__isnull=True
                )
            )
            for code in mandatory
        ]
        clauses.append(Q(*has_each, procedure_version_id=pk))
    if not clauses:
        return dossiers.none()
    combined = clauses[0]
    for clause in clauses[1:]:
        combined |= clause
    return dossiers.filter(combined)


@dataclass
class IndexMetric:
    """One service-index metric: its value, the formula and the inputs it came from."""

    group: str
    name: str
    formula: str
    numerator: int
    denominator: int
    points_max: int | None = None
    # A stable name for code and tests: group, name and formula are translated.
    key: str = ""

    @property
    def rate(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def points(self) -> float | None:
        if self.points_max is None or self.rate is None:
            return None
        return round(self.rate * self.points_max, 2)


def service_index(queryset: QuerySet, period: Period) -> list[IndexMetric]:
    """The metrics of Decision 766/QĐ-TTg that motcua has data for (domain.md)."""
    from .models import ServiceRating

    today = working_calendar().today()
    counts = queryset.aggregate(
        **{
            name: Count("pk", filter=metric_filter(name, period, today))
            for name in ("finished", "early", "on_time", "in_progress", "within_time", "received")
        }
    )
    on_time = counts["early"] + counts["on_time"] + counts["within_time"]
    processed = counts["finished"] + counts["in_progress"]
    received = queryset.filter(metric_filter("received", period, today))
    eligible = received.filter(procedure_version__online_level="full")
    issued = queryset.filter(metric_filter("finished", period, today), status=Status.ISSUED)
    finished = queryset.filter(metric_filter("finished", period, today))
    ratings = ServiceRating.objects.filter(dossier__in=finished)
    unhappy = finished.filter(Q(rating__score__lte=2) | Q(timeliness=Timeliness.LATE)).count()
    # The files of the dossiers received, and those taken from the citizen's data store
    # (workflows.store) instead of uploaded: accepted components and signed results.
    files = DossierComponent.objects.filter(dossier__in=received, superseded_at__isnull=True)
    reused = files.exclude(reused_kind="")
    with_reuse = received.filter(Exists(reused.filter(dossier=OuterRef("pk"))))
    # A fee owed or paid (workflows.Fee, made at reception): not free, exempted or cancelled.
    with_fee = received.filter(
        fee__status__in=(FeeStatus.DUE, FeeStatus.PAID), fee__amount_due__gt=0
    )
    return [
        IndexMetric(
            _("Processing progress"),
            _("On-time rate"),
            _(
                "(finished early + finished on time + in progress within time) ÷ "
                "(finished + in progress) × 20 points"
            ),
            on_time,
            processed,
            20,
            key="on_time_rate",
        ),
        IndexMetric(
            _("Online service"),
            _("Filed fully online"),
            _(
                "dossiers filed online ÷ dossiers received, on full-process online "
                "procedures × 12 points"
            ),
            eligible.filter(channel="online").count(),
            eligible.count(),
            12,
            key="filed_online",
        ),
        IndexMetric(
            _("Online payment"),
            _("Paid online"),
            _(
                "dossiers received whose fee was paid online ÷ dossiers received with a fee "
                "to pay (not exempted) × 10 points"
            ),
            with_fee.filter(fee__status=FeeStatus.PAID, fee__channel=FeeChannel.ONLINE).count(),
            with_fee.count(),
            10,
            key="paid_online",
        ),
        IndexMetric(
            _("Digitisation"),
            _("Electronic results"),
            _("results issued electronically (through the portal) ÷ results issued"),
            issued.filter(channel="online").count(),
            issued.count(),
            key="electronic_results",
        ),
        IndexMetric(
            _("Digitisation"),
            _("Digitised components"),
            _("dossiers received with every mandatory component as a file ÷ dossiers received"),
            fully_digitised(received).count(),
            received.count(),
            key="digitised_components",
        ),
        IndexMetric(
            _("Digitisation"),
            _("Reuse of data already held"),
            _(
                "dossiers received with at least one paper reused from the citizen's data "
                "store ÷ dossiers received"
            ),
            with_reuse.count(),
            received.count(),
            key="reused_dossiers",
        ),
        IndexMetric(
            _("Digitisation"),
            _("Reused papers"),
            _(
                "files reused from the data store (accepted components and signed results of "
                "earlier dossiers) ÷ files of the dossiers received"
            ),
            reused.count(),
            files.count(),
            key="reused_components",
        ),
        IndexMetric(
            _("Satisfaction"),
            _("Satisfied"),
            _("(finished − rated dissatisfied (1–2) or late) ÷ finished"),
            finished.count() - unhappy,
            finished.count(),
            key="satisfied",
        ),
        IndexMetric(
            _("Satisfaction"),
            _("Average rating"),
            _("sum of ratings ÷ number of ratings (1 to 5)"),
            sum(ratings.values_list("score", flat=True)),
            ratings.count(),
            key="average_rating",
        ),
    ]
