"""Filters that show the dossier's facts in the page's language: people by name, states
and file types in words, ISO dates (JSON payloads) as the locale writes dates."""

from __future__ import annotations

import datetime as dt
import unicodedata

from django import template
from django.conf import settings
from django.core.exceptions import ObjectDoesNotExist
from django.utils import timezone
from django.utils.formats import date_format

from procedures.filetypes import file_type_name, file_type_names

from ..models import Status

register = template.Library()

register.filter("file_type", file_type_name)
register.filter("file_types", file_type_names)


@register.simple_tag
def languages_named_in_themselves() -> list[tuple[str, str]]:
    """settings.LANGUAGES as written there, each in its own language ("Tiếng Việt",
    "English"): not translated into the page's language, as get_available_languages
    does ("Tiếng Anh")."""
    return [(code, unicodedata.normalize("NFC", name)) for code, name in settings.LANGUAGES]


@register.filter
def person(user) -> str:
    """A person by name: the account's name, else the citizen profile's, else the username."""
    if user is None:
        return ""
    name = user.get_full_name()
    if name:
        return name
    try:
        name = user.citizen_profile.full_name
    except (AttributeError, ObjectDoesNotExist):
        name = ""
    return name or user.get_username()


@register.filter
def status_label(value: str) -> str:
    """A dossier state in words: "in_review" → "Đang thẩm định" (Vietnamese page)."""
    if not value:
        return ""
    try:
        return str(Status(value).label)
    except ValueError:
        return value


@register.filter
def local_date(value) -> str:
    """A date, or an ISO date string from a JSON payload, as the active locale writes
    short dates (28/12/2026 in Vietnamese). Anything else is shown as it is."""
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value[:10])
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        value = (timezone.localtime(value) if timezone.is_aware(value) else value).date()
    if isinstance(value, dt.date):
        return date_format(value, "SHORT_DATE_FORMAT")
    return "" if value is None else str(value)


@register.filter
def stage_name(version, code):
    """A stage's name, as the dossier's procedure version gives it, in the active language."""
    return version.stage_name(code) if version is not None else code
