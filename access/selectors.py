"""Reads of the access record: the applicant's summary and the supervisors' search."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db.models import Count, Max, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import translation

from config.search import fold
from workflows.clock import local_zone
from workflows.models import Dossier
from workflows.supervision import supervised_agencies

from .models import BY_CODE, AccessKind, DossierAccess

APPLICANT_LINES = 200


@dataclass
class AccessLine:
    """What the applicant is told: on a day, an office (or a code holder) looked."""

    day: dt.date
    last: dt.datetime
    office: str  # the agency's name; empty for a code holder
    by_code: bool
    kinds: list[str] = field(default_factory=list)
    times: int = 0


def applicant_accesses(*, dossier: Dossier) -> list[AccessLine]:
    """Who else saw the dossier, by day and office; officers are never named here, and the
    applicant's own openings are left out. One grouped query."""
    english = translation.get_language() == "en"
    rows = (
        DossierAccess.objects.filter(dossier=dossier, by_applicant=False)
        .annotate(day=TruncDate("at", tzinfo=local_zone()))
        .values("day", "agency_id", "agency__name", "agency__name_en", "kind")
        .annotate(times=Count("pk"), last=Max("at"))
        .order_by("-last")[:APPLICANT_LINES]
    )
    lines: dict[tuple, AccessLine] = {}
    labels = dict(AccessKind.choices)
    for row in rows:
        by_code = row["kind"] in BY_CODE
        key = (row["day"], "code" if by_code else row["agency_id"])
        line = lines.get(key)
        if line is None:
            office = (english and row["agency__name_en"]) or row["agency__name"] or ""
            line = lines[key] = AccessLine(
                row["day"], row["last"], "" if by_code else office, by_code
            )
        label = str(labels.get(row["kind"], row["kind"]))
        if label not in line.kinds:
            line.kinds.append(label)
        line.times += row["times"]
    # Rows come latest first, so each line met its latest row first, and lines keep that order.
    return list(lines.values())


@dataclass(frozen=True)
class AccessFilters:
    code: str = ""
    officer: str = ""
    user_id: int | None = None
    kind: str = ""
    start: dt.datetime | None = None  # instants: from the start of the first local day
    end: dt.datetime | None = None  # to the start of the day after the last


def _dossiers_matching(text: str) -> QuerySet[Dossier]:
    """As the officers' search finds dossiers (workflows.selectors): the code, the
    applicant's name or ID number within the folded search column, whatever the accents
    and case ("lo thi mai" finds "Lò Thị Mai"), or the number of one not received yet
    ("#42")."""
    folded = fold(text)
    match = Q(code__istartswith=text) | Q(search_text__contains=folded)
    number = folded.removeprefix("#")
    if number.isascii() and number.isdigit() and len(number) <= 18:
        match |= Q(pk=int(number))
    return Dossier.objects.filter(match)


def _people_named(text: str):
    """Accounts named by ``text``: the login or e-mail address exactly, or a full name that
    contains it once both are folded (config.search.fold). Names are folded here, in
    Python, over the staff and officers (people with a role): a bounded set, and the user
    table has no folded column to search."""
    folded = fold(text)
    people = get_user_model().objects
    staff = (
        people.filter(Q(is_staff=True) | Q(agency_roles__isnull=False))
        .distinct()
        .values_list("pk", "first_name", "last_name")
    )
    named = [pk for pk, first, last in staff if folded and folded in fold(f"{first} {last}")]
    return people.filter(Q(username__iexact=text) | Q(email__iexact=text) | Q(pk__in=named))


def access_search(*, user, filters: AccessFilters) -> QuerySet[DossierAccess]:
    """The record of the dossiers handled by the agencies ``user`` supervises (a
    supervisor's subtree, a head's agency), newest first."""
    rows = DossierAccess.objects.filter(dossier_agency_id__in=supervised_agencies(user))
    if filters.code and fold(filters.code):
        rows = rows.filter(dossier__in=_dossiers_matching(filters.code).values("pk"))
    if filters.user_id:
        rows = rows.filter(user_id=filters.user_id)
    if filters.officer:
        rows = rows.filter(user__in=_people_named(filters.officer).values("pk"))
    if filters.kind:
        rows = rows.filter(kind=filters.kind)
    if filters.start:
        rows = rows.filter(at__gte=filters.start)
    if filters.end:
        rows = rows.filter(at__lt=filters.end)
    return rows.select_related("dossier", "user", "agency", "component").order_by("-at", "-pk")
