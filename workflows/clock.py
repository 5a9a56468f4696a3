"""The working-day calendar and the legal clock.

Working days are Monday to Friday, less Vietnam's public holidays (the ``holidays``
package: Tết from the lunar calendar, substitutes, and published weekend swaps), with the
admin-editable ``WorkingDayOverride`` table on top: an override always wins.

Granularity is the working day. A dossier received on a working day before the reception
cutoff (15:00 by default, Decree 61/2018 art. 19) is received that day; later, or on a
day off, it counts as received on the next working day. As the Civil Code counts periods
(art. 147), the first counted day is the working day *after* reception, so the appointment
date is the N-th working day after the reception day.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from django.conf import settings
from django.utils import timezone


@lru_cache(maxsize=64)
def _package_holidays(year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(settings.MOTCUA["HOLIDAY_COUNTRY"], years=year)


class WorkingCalendar:
    def __init__(self, overrides: dict[dt.date, bool] | None = None):
        self.overrides = overrides or {}

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

    def working_days_between(self, start: dt.date, end: dt.date) -> int:
        """Working days in (start, end]: 0 on the same day, 1 on the next working day."""
        if end <= start:
            return 0
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += self.is_working_day(day)
        return count

    def reception_day(self, received_at: dt.datetime) -> dt.date:
        """The day a dossier counts as received, after the cutoff rule."""
        local = timezone.localtime(received_at)
        cutoff = dt.time.fromisoformat(settings.MOTCUA["RECEPTION_CUTOFF"])
        day = local.date()
        if self.is_working_day(day) and local.time() < cutoff:
            return day
        return self.next_working_day(day)

    def due_date(self, received_at: dt.datetime, days: int) -> dt.date:
        """The appointment date for a time limit of ``days`` working days."""
        return self.add_working_days(self.reception_day(received_at), days)


def working_calendar() -> WorkingCalendar:
    """The calendar with the current overrides from the database."""
    from .models import WorkingDayOverride

    return WorkingCalendar(dict(WorkingDayOverride.objects.values_list("date", "is_working_day")))
