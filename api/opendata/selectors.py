"""The open statistics' reads: per handling agency, procedure and month of reception, how
many dossiers were received and how they stand now, with the small counts hidden.

A row is a *cohort*: the dossiers an agency received for a procedure in one month (local
time), drafts and discarded drafts never counted. Its counts split ``received`` exactly:

    received = finished early + finished on time + finished late + in progress + other

with the dashboard's own definitions (``workflows.supervision.metric_filter``): finished
means closed with a decision (issued or refused), early / on time / late by the stored
``Dossier.timeliness``; in progress means the legal clock runs now; *other* is the rest
(withdrawn, or waiting for the applicant's supplement). The average processing time is
the mean of the stored ``Dossier.processing_days`` (working days) of the finished ones.

Disclosure control (``protect``), so that nobody in a small commune can be singled out:

1. a count from 1 to 4 is published as ``"<5"`` (0 is published as 0);
2. in a row of 5 or more received, where ``"<5"`` cells could be narrowed down by
   subtracting the other cells from ``received``, more cells of the row are withheld
   (``"x"``), smallest first, until each ``"<5"`` could be any of 1 to 4 given the
   published cells and the bounds the rule implies (``_safe``); when no cell is left to
   withhold, ``received`` itself is withheld. A reader who replays the rule's choices
   learns a little more, but never a ``"<5"`` cell's exact value: tests/api checks that
   by brute force over every row of up to 14 dossiers. In a row of fewer than 5 with four
   different outcomes (each would be 1), every cell but ``received`` is withheld;
3. the online share is published only when ``received`` is, and neither the online nor the
   other dossiers are 1 to 4; the average processing time only when the row's *published*
   finished cells (early, on time, late) add up to 5 or more: a rule on hidden cells
   would tell the reader something about them;
4. every total above a row (the chart's monthly bars) adds up published cells only, so
   that the table's rows cannot be recovered by subtracting them from a total.

Rows are computed in one grouped query on the dossier table (``dossier_dashboard_idx``)
inside ``config.replica.reporting()``, and cached, already protected, per filter and
language: the raw counts never leave this module.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from dataclasses import dataclass

from django.core.cache import cache
from django.db.models import Avg, Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone, translation

from config import replica
from procedures.models import Agency, Procedure
from workflows import supervision
from workflows.clock import local_zone, working_calendar
from workflows.models import Channel, Dossier, Status

logger = logging.getLogger("motcua.opendata")

THRESHOLD = 5  # counts below this (but 0) are hidden
SMALL = "<5"  # a count from 1 to THRESHOLD - 1
WITHHELD = "x"  # a larger count hidden so that a SMALL one cannot be worked out
PARTS = ("early", "on_time", "late", "in_progress", "other")  # they add up to received
MAX_MONTHS = 36  # the longest range one request may ask for
CACHE_SECONDS = 10 * 60
CACHE_VERSION = 1  # raise when the payload's shape changes


@dataclass(frozen=True)
class Query:
    """What one request asks for: months are first days; codes are empty for "all"."""

    start: dt.date
    end: dt.date
    agency: str = ""
    procedure: str = ""

    @property
    def months(self) -> list[dt.date]:
        months, cursor = [], self.start
        while cursor <= self.end:
            months.append(cursor)
            cursor = next_month(cursor)
        return months

    def cache_key(self, language: str) -> str:
        raw = f"{self.start}|{self.end}|{self.agency}|{self.procedure}|{language}"
        digest = hashlib.sha256(raw.encode()).hexdigest()[:32]
        return f"opendata:v{CACHE_VERSION}:{digest}"


def next_month(day: dt.date) -> dt.date:
    return (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)


def month_count(start: dt.date, end: dt.date) -> int:
    return (end.year - start.year) * 12 + end.month - start.month + 1


def default_months(today: dt.date | None = None) -> tuple[dt.date, dt.date]:
    """The last twelve months, this one included."""
    end = (today or working_calendar().today()).replace(day=1)
    months = end.year * 12 + end.month - 1 - 11
    return dt.date(months // 12, months % 12 + 1, 1), end


def protect(counts: dict[str, int], online: int, days_n: int, days_avg) -> dict:
    """One row's published figures (the module's rules 1 to 3)."""
    received = counts["received"]
    published: dict[str, int | str | float | None] = {}
    if received < THRESHOLD:
        published["received"] = SMALL if received else 0
        # Four outcomes among at most four dossiers: each would be exactly 1.
        spread = sum(1 for p in PARTS if counts[p]) >= THRESHOLD - 1
        for part in PARTS:
            published[part] = WITHHELD if spread else SMALL if counts[part] else 0
        hidden_total = True
    else:
        small = {p for p in PARTS if 0 < counts[p] < THRESHOLD}
        withheld: set[str] = set()
        hidden_total = False
        while not _safe(counts, small, withheld):
            left = [p for p in PARTS if p not in small | withheld and counts[p]]
            if not left:
                hidden_total = True
                break
            withheld.add(min(left, key=lambda p: (counts[p], PARTS.index(p))))
        published["received"] = WITHHELD if hidden_total else received
        for part in PARTS:
            published[part] = (
                SMALL if part in small else WITHHELD if part in withheld else counts[part]
            )
    offline = received - online
    share_shown = not hidden_total and not (0 < online < THRESHOLD or 0 < offline < THRESHOLD)
    published["online_share"] = round(100 * online / received, 1) if share_shown else None
    finished = sum(published[p] for p in PARTS[:3] if isinstance(published[p], int))
    average_shown = finished >= THRESHOLD and days_n >= THRESHOLD and days_avg is not None
    published["average_days"] = round(float(days_avg), 1) if average_shown else None
    return published


def _safe(counts: dict[str, int], small: set[str], withheld: set[str]) -> bool:
    """Whether each small cell could still be any of 1..4 for a reader who knows
    ``received``, the published cells and this rule: a small cell lies in 1..4; a withheld
    one in THRESHOLD..(the smallest published non-zero cell, since the smallest go first);
    zeros are published. Integer ranges add up to an integer range, so checking both ends
    is enough."""
    if not small:
        return True
    hidden = small | withheld
    total = sum(counts[p] for p in hidden)  # what the reader computes by subtraction
    shown = [counts[p] for p in PARTS if p not in hidden and counts[p]]
    cap = min(shown) if shown else total
    bounds = dict.fromkeys(small, (1, THRESHOLD - 1))
    bounds.update(dict.fromkeys(withheld, (THRESHOLD, cap)))
    for part in small:
        low = sum(bounds[p][0] for p in hidden if p != part)
        high = sum(bounds[p][1] for p in hidden if p != part)
        if not (low <= total - (THRESHOLD - 1) and total - 1 <= high):
            return False
    return True


def raw_counts(query: Query, today: dt.date, agency_ids: list[int] | None, procedure_id):
    """The raw counts per (agency id, procedure id, month), in one grouped query."""
    last_day = next_month(query.end) - dt.timedelta(days=1)
    received = supervision.Period(query.start, last_day)
    # Finished or not is as of today, whenever the cohort was received.
    reach = supervision.Period(query.start, max(today, last_day))
    finished = supervision.metric_filter("finished", reach, today)
    dossiers = Dossier.objects.filter(
        supervision.metric_filter("received", received, today)
    ).exclude(status__in=(Status.DRAFT, Status.DISCARDED))
    if agency_ids is not None:
        dossiers = dossiers.filter(handling_agency_id__in=agency_ids)
    if procedure_id is not None:
        dossiers = dossiers.filter(procedure_version__procedure_id=procedure_id)
    return (
        dossiers.annotate(month=TruncMonth("received_at", tzinfo=local_zone()))
        .values("handling_agency", "procedure_version__procedure", "month")
        .annotate(
            received=Count("pk"),
            early=Count("pk", filter=supervision.metric_filter("early", reach, today)),
            on_time=Count("pk", filter=supervision.metric_filter("on_time", reach, today)),
            late=Count("pk", filter=supervision.metric_filter("late", reach, today)),
            in_progress=Count("pk", filter=supervision.metric_filter("in_progress", reach, today)),
            online=Count("pk", filter=Q(channel=Channel.ONLINE)),
            days_n=Count("processing_days", filter=finished),
            days_avg=Avg("processing_days", filter=finished),
        )
        .order_by()
    )


class UnknownCode(Exception):  # noqa: N818 - a condition of the query, not a failure
    """The query names an agency or a procedure that does not exist."""

    def __init__(self, field: str):
        super().__init__(field)
        self.field = field


@replica.reporting()
def statistics(query: Query) -> dict:
    """The published rows, the chart's months, the filter choices, and when and where they
    were read; in the active language. Raises UnknownCode."""
    today = working_calendar().today()
    agencies = {
        a.pk: a for a in Agency.objects.only("code", "name", "name_en", "path").order_by("path")
    }
    procedures = {
        p.pk: p
        for p in Procedure.objects.select_related("current_version")
        .only("code", "current_version__name", "current_version__name_en")
        .order_by("code")
    }
    agency_ids = procedure_id = None
    if query.agency:
        chosen = next((a for a in agencies.values() if a.code == query.agency), None)
        if chosen is None:
            raise UnknownCode("agency")
        agency_ids = [pk for pk, a in agencies.items() if a.path.startswith(chosen.path)]
    if query.procedure:
        procedure_id = next((pk for pk, p in procedures.items() if p.code == query.procedure), None)
        if procedure_id is None:
            raise UnknownCode("procedure")
    rows = []
    for raw in raw_counts(query, today, agency_ids, procedure_id):
        agency = agencies[raw["handling_agency"]]
        procedure = procedures[raw["procedure_version__procedure"]]
        counts = {key: raw[key] for key in ("received", "early", "on_time", "late", "in_progress")}
        counts["other"] = counts["received"] - sum(counts[p] for p in PARTS[:-1])
        rows.append(
            {
                "month": timezone.localtime(raw["month"], local_zone()).strftime("%Y-%m"),
                "agency_code": agency.code,
                "agency_name": agency.display_name,
                "procedure_code": procedure.code,
                "procedure_name": _procedure_name(procedure),
                **protect(counts, raw["online"], raw["days_n"], raw["days_avg"]),
            }
        )
    rows.sort(key=lambda r: (r["month"], r["agency_code"], r["procedure_code"]))
    report = replica.current()
    return {
        "generated_at": timezone.now().isoformat(),
        "on_replica": bool(report and report.on_replica),
        "rows": rows,
        "months": monthly(rows, query),
        "agencies": [(a.code, a.display_name) for a in agencies.values()],
        # The agencies at the top of the tree publish the figures (unless settings say).
        "publisher": "; ".join(a.display_name for a in agencies.values() if a.path.count("/") <= 2),
        "procedures": [(p.code, _procedure_name(p)) for p in procedures.values()],
    }


def _procedure_name(procedure: Procedure) -> str:
    version = procedure.current_version
    return version.display_name if version else procedure.code


def monthly(rows: list[dict], query: Query) -> list[dict]:
    """Per month: received, finished early or on time, finished late, adding up the
    published cells only (rule 4): a hidden cell adds nothing."""
    totals = {
        m.strftime("%Y-%m"): {"month": m, "received": 0, "in_time": 0, "late": 0, "more": set()}
        for m in query.months
    }
    for row in rows:
        month = totals[row["month"]]
        for key, parts in (
            ("received", ("received",)),
            ("in_time", ("early", "on_time")),
            ("late", ("late",)),
        ):
            month[key] += sum(row[p] for p in parts if isinstance(row[p], int))
            # A hidden cell ("<5" or "x") counts for nothing here, but it is not nothing:
            # the total says so ("3+"), rather than showing a small month as empty.
            if any(not isinstance(row[p], int) for p in parts):
                month["more"].add(key)
    return list(totals.values())


def cached_statistics(query: Query) -> dict:
    """``statistics`` through the cache, for CACHE_SECONDS, per query and language. A cache
    that cannot be reached costs a recomputation, never an error."""
    key = query.cache_key(translation.get_language() or "")
    try:
        payload = cache.get(key)
    except Exception:  # noqa: BLE001 - any backend's failure: compute instead
        logger.warning("open statistics: cache unavailable", exc_info=True)
        payload = None
    if payload is not None:
        return payload
    try:
        payload = statistics(query)
    except UnknownCode as unknown:
        payload = {"unknown": unknown.field}
    try:
        cache.set(key, payload, CACHE_SECONDS)
    except Exception:  # noqa: BLE001
        logger.warning("open statistics: cache unavailable", exc_info=True)
    return payload
