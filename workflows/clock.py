"""The working-day calendar and the legal clock.

Working days are Monday to Friday, less Vietnam's public holidays (the ``holidays``
package: Tết from the lunar calendar, substitutes, and published weekend swaps), with the
admin-editable ``WorkingDayOverride`` table on top: an override always wins.

Granularity is the working day. A dossier received on a working day up to the reception
cutoff (15:00:00 by default, Decree 61/2018 art. 19) is received that day; after it, or
on a day off, it counts as received on the next working day. As the Civil Code counts periods
(art. 147), the first counted day is the working day *after* reception, so the appointment
date is the N-th working day after the reception day.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from django.conf import settings
from django.utils import timezone


def local_zone() -> ZoneInfo:
    """The agency's time zone; the clock never depends on the request's active zone."""
    return ZoneInfo(settings.TIME_ZONE)


def local_date(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, local_zone()).date()


@lru_cache(maxsize=64)
def _package_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(settings.MOTCUA["HOLIDAY_COUNTRY"], years=year)


@lru_cache(maxsize=256)
def _year_totals(year: int, overrides: tuple[tuple[dt.date, bool], ...]) -> tuple[int, ...]:
    """Working days from 1 January through each day of ``year`` (index: day of the year),
    with that year's overrides: the same for every request until an override changes."""
    days_off = dict(overrides)
    package = _package_holidays(year)
    counts, day = [0], dt.date(year, 1, 1)
    while day.year == year:
        working = days_off[day] if day in days_off else package.is_working_day(day)
        counts.append(counts[-1] + working)
        day += dt.timedelta(days=1)
    return tuple(counts)


class WorkingCalendar:
    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        self.overrides = overrides or {}
        # Per year: working days from 1 January through each day (index: day of the year).
        self._through: dict[int, tuple[int, ...]] = {}

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.overrides:
            return self.overrides[day]
        return _package_holidays(day.year).is_working_day(day)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day strictly after ``day``."""
        day += dt.timedelta(days=1)
        while not self.is_working_day(day):
            day += dt.timedelta(days=1)
        return day

    def add_working_days(self, day: dt.date, count: int) -> dt.date:
        """The ``count``-th working day after ``day`` (``day`` itself is not counted)."""
        if count < 0:
            raise ValueError("count must not be negative")
        for _ in range(count):
            day = self.next_working_day(day)
        return day

    def _year(self, year: int) -> tuple[int, ...]:
        counts = self._through.get(year)
        if counts is None:
            overrides = tuple(sorted((d, w) for d, w in self.overrides.items() if d.year == year))
            counts = self._through[year] = _year_totals(year, overrides)
        return counts

    def _through_day(self, day: dt.date) -> int:
        return self._year(day.year)[day.timetuple().tm_yday]

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: 0 on the same day, 1 on the next working day.

        Counted from each year's running totals, made once per calendar: a list of
        finished tasks due years ago asks this for every row."""
        if end <= start:
            return 0
        if start.year == end.year:
            return self._through_day(end) - self._through_day(start)
        count = self._year(start.year)[-1] - self._through_day(start)
        for year in range(start.year + 1, end.year):
            count += self._year(year)[-1]
        return count + self._through_day(end)

    def today(self) -> dt.date:
        return local_date(timezone.now())

    def reception_day(self, received_at: dt.datetime) -> dt.date:
        """The day a dossier counts as received: received *after* the cutoff (or on a day
        off), it counts from the next working day."""
        local = timezone.localtime(received_at, local_zone())
        cutoff = dt.time.fromisoformat(settings.MOTCUA["RECEPTION_CUTOFF"])
        day = local.date()
        if self.is_working_day(day) and local.time() <= cutoff:
            return day
        return self.next_working_day(day)

    def due_date(self, received_at: dt.datetime, days: int) -> dt.date:
        """The appointment date for a time limit of ``days`` working days."""
        return self.add_working_days(self.reception_day(received_at), days)


# Inside one_calendar(): the calendar read first in the block (or nothing yet).
_scope: ContextVar[list[WorkingCalendar] | None] = ContextVar("motcua_calendar", default=None)


@contextmanager
def one_calendar() -> Iterator[None]:
    """Inside: working_calendar() reads the overrides once. For one action, whose steps
    (the due date, the next stage's due date, the messages' dates) count on one calendar."""
    if _scope.get() is not None:  # inside another action's block: its calendar holds
        yield
        return
    token = _scope.set([])
    try:
        yield
    finally:
        _scope.reset(token)


def working_calendar() -> WorkingCalendar:
    """The calendar with the current overrides from the database."""
    from .models import WorkingDayOverride

    scope = _scope.get()
    if scope:
        return scope[0]
    calendar = WorkingCalendar(
        dict(WorkingDayOverride.objects.values_list("date", "is_working_day"))
    )
    if scope is not None:
        scope.append(calendar)
    return calendar


def stage_due_date(dossier, stage_code: str, calendar: WorkingCalendar | None = None) -> dt.date:
    """When a stage's work is due: its cumulative share of the time limit, counted from
    the dossier's reception (the reception stage itself from its filing)."""
    version = dossier.procedure_version
    stages = version.spec["stages"]
    codes = [stage["code"] for stage in stages]
    position = codes.index(stage_code)
    cumulative = sum(stage["share"] for stage in stages[: position + 1])
    days = max(1, math.ceil(version.time_limit_days * cumulative / 100))
    started = dossier.submitted_at if position == 0 else (dossier.received_at or timezone.now())
    calendar = calendar or working_calendar()
    return calendar.add_working_days(calendar.reception_day(started or timezone.now()), days)


def timeliness(finished_at: dt.datetime, due: dt.date | None) -> str:
    """early / on_time / late: the local date of ``finished_at`` against ``due``."""
    if due is None:
        return ""
    finished = local_date(finished_at)
    if finished < due:
        return "early"
    return "on_time" if finished == due else "late"


def processing_days(
    received_at: dt.datetime | None,
    closed_at: dt.datetime,
    calendar: WorkingCalendar | None = None,
) -> int | None:
    """Working days from the reception day to the local date of closing (None when the
    dossier was never received)."""
    if received_at is None:
        return None
    calendar = calendar or working_calendar()
    return calendar.working_days_between(calendar.reception_day(received_at), local_date(closed_at))
