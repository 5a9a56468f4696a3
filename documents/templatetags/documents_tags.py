"""Vietnamese date formats for the papers; the context holds ISO strings (frozen JSON)."""

import datetime as dt

from django import template
from django.utils import timezone

register = template.Library()


def _parse(value):
    if not value:
        return None
    if isinstance(value, dt.date):
        return value
    try:
        return dt.datetime.fromisoformat(value) if "T" in value else dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        return None


def _local(value):
    if isinstance(value, dt.datetime) and timezone.is_aware(value):
        return timezone.localtime(value)
    return value


@register.filter
def vn_date(value) -> str:
    """21/11/2026"""
    parsed = _local(_parse(value))
    return parsed.strftime("%d/%m/%Y") if parsed else "…"


@register.filter
def vn_time(value) -> str:
    """09 giờ 30 phút"""
    parsed = _local(_parse(value))
    if not isinstance(parsed, dt.datetime):
        return "…"
    return f"{parsed:%H} giờ {parsed:%M} phút"


@register.filter
def vn_long_date(value) -> str:
    """ngày 21 tháng 11 năm 2026, the form of the heading's place and date."""
    parsed = _local(_parse(value))
    if not parsed:
        return "ngày … tháng … năm …"
    return f"ngày {parsed:%d} tháng {parsed:%m} năm {parsed:%Y}"


@register.filter
def vn_clock(value: str) -> str:
    """'16:00' → '16 giờ 00 phút'"""
    hours, _sep, minutes = (value or "").partition(":")
    return f"{hours} giờ {minutes or '00'} phút" if hours else "…"


@register.filter
def two_digits(value) -> str:
    try:
        return f"{int(value):02d}"
    except (TypeError, ValueError):
        return str(value)


# A decision's heading already says "QUYẾT ĐỊNH": a result titled "Quyết định phê duyệt
# hỗ trợ ..." is printed "Về việc phê duyệt hỗ trợ ..." under it, and its article 1 starts
# "Phê duyệt hỗ trợ ...", as Decree 30/2020's model decision does; not "Quyết định" twice.
_DECISION = "quyết định"


def _decision_rest(title: str) -> str:
    title = (title or "").strip()
    head, rest = title[: len(_DECISION)], title[len(_DECISION) :]
    if head.casefold() == _DECISION and rest[:1].isspace():
        return rest.strip()
    return title


@register.filter
def decision_subject(title: str) -> str:
    """'Quyết định phê duyệt X' → 'Về việc phê duyệt X'"""
    rest = _decision_rest(title)
    return f"Về việc {rest[:1].lower()}{rest[1:]}" if rest else ""


@register.filter
def decision_action(title: str) -> str:
    """'Quyết định phê duyệt X' → 'Phê duyệt X'"""
    rest = _decision_rest(title)
    return f"{rest[:1].upper()}{rest[1:]}"
