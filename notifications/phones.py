"""Vietnamese mobile numbers, as people type them, to the one form SMS gateways are sent.

A mobile number is ten digits starting 03, 05, 07, 08 or 09 (0912 345 678), or the same
with the country code instead of the leading zero (+84 912 345 678, 84912345678). Spaces,
dots and dashes are typing aids and go.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

MOBILE = re.compile(r"0[35789][0-9]{8}")
INVALID = _(
    "Enter a Vietnamese mobile number: 10 digits starting with 03, 05, 07, 08 or 09 "
    "(e.g. 0912 345 678), or +84 followed by the 9 digits after the 0."
)


def normalise_mobile(value: str) -> str:
    """The number as ``0xxxxxxxxx``; ValidationError when it is not a Vietnamese mobile."""
    compact = re.sub(r"[\s.\-()]", "", value or "")
    if compact.startswith("+84"):
        compact = "0" + compact[3:]
    elif compact.startswith("84") and len(compact) == 11:
        compact = "0" + compact[2:]
    if not MOBILE.fullmatch(compact):
        raise ValidationError(INVALID, code="mobile")
    return compact


def mobile_or_none(value: str) -> str | None:
    """``normalise_mobile``, or None for what is not a Vietnamese mobile (a landline)."""
    try:
        return normalise_mobile(value)
    except ValidationError:
        return None
