"""Range checks, in one place, for the ids and dates a request carries.

Every id in a URL is a 64-bit database key, and every date a person can choose lies in a
span the calendar code can count in. Past those bounds the database or ``datetime``
overflows, which used to be a 500. Here an id out of range is no match (a 404) and a date
out of range is a form error, before any view code runs.

- ``<id:pk>`` in every URLconf instead of ``<int:pk>`` (registered on import of this module,
  which each app's ``urls.py`` does);
- ``query_id()`` for an id read from the query string or a post;
- ``BoundedDateField`` for a date read from the query string or a form.
"""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import ValidationError
from django.urls import register_converter
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

# The largest key a BIGINT / SQLite INTEGER holds.
MAX_ID = 2**63 - 1
# Dates outside this span are refused wherever a person types or picks one.
MIN_DATE = dt.date(1900, 1, 1)
MAX_DATE = dt.date(2100, 12, 31)


def parse_id(value) -> int | None:
    """``value`` as a database id (1 .. 2**63-1), or None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    else:
        text = str(value).strip() if value is not None else ""
        # 19 digits are enough for 2**63-1; a longer string is never an id (and int() of a
        # very long string is itself refused by Python).
        if not text.isascii() or not text.isdigit() or len(text) > 19:
            return None
        number = int(text)
    return number if 0 < number <= MAX_ID else None


def query_id(data, name: str) -> int | None:
    """The id ``data[name]`` (a QueryDict: GET or POST), or None when absent or out of range."""
    return parse_id(data.get(name))


def query_ids(data, name: str, limit: int | None = None) -> list[int]:
    """Every valid id under ``name`` (a repeated key), at most ``limit`` of them."""
    values = data.getlist(name)
    if limit is not None:
        values = values[:limit]
    return [n for n in map(parse_id, values) if n is not None]


class IdConverter:
    """``<id:pk>``: a positive 64-bit id; longer numbers do not match, so the page is a 404."""

    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = parse_id(value)
        if number is None:
            raise ValueError("id out of range")  # the resolver takes this as no match
        return number

    def to_url(self, value) -> str:
        return str(int(value))


register_converter(IdConverter, "id")


def check_date_range(value: dt.date | None, *, low=MIN_DATE, high=MAX_DATE) -> None:
    if value is None:
        return
    if value < low or value > high:
        raise ValidationError(
            _("Enter a date between %(low)s and %(high)s."),
            code="date_range",
            params={
                "low": date_format(low, "SHORT_DATE_FORMAT"),
                "high": date_format(high, "SHORT_DATE_FORMAT"),
            },
        )


def validate_birth_date(value: dt.date | None) -> None:
    """A date of birth: not in the future, not before 1900."""
    if value is None:
        return
    if value > timezone.localdate():
        raise ValidationError(_("A date of birth cannot be in the future."), code="future")
    if value < MIN_DATE:
        raise ValidationError(_("Enter a date of birth from 1900 onwards."), code="date_range")


class BoundedDateField(forms.DateField):
    """A DateField that refuses dates before 1900 or after 2100 with a clear message."""

    def __init__(self, *args, low: dt.date = MIN_DATE, high: dt.date = MAX_DATE, **kwargs):
        super().__init__(*args, **kwargs)
        self.low, self.high = low, high

    def validate(self, value):
        super().validate(value)
        check_date_range(value, low=self.low, high=self.high)
