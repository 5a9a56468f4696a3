"""What never reaches a log line.

Libraries log what they are given: Django's request logger writes the path of every 4xx
(a verification code is part of ``/verify/<code>/``), gunicorn's access log writes paths
and query strings (a password-reset key is part of its link), and an exception's text can
quote a form value. Every handler of ``settings.LOGGING`` and of ``config/gunicorn.py``
passes its records through :class:`Redact`, which rewrites the finished message.
"""

from __future__ import annotations

import logging
import re

MASK = "[…]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # allauth's one-time links: password reset and e-mail confirmation keys.
    (re.compile(r"(/password/reset/key/)[^/\s\"']+"), rf"\1{MASK}"),
    (re.compile(r"(/confirm-email/)[^/\s\"']+"), rf"\1{MASK}"),
    (re.compile(r"(/login/code/confirm/)[^/\s\"']+"), rf"\1{MASK}"),
    # Verification codes printed on papers, in the verification URLs.
    (re.compile(r"(/verify/)(?!check/)[^/\s\"'?]+"), rf"\1{MASK}"),
    # Query strings can carry a dossier's lookup code, a search by ID number or name.
    (re.compile(r"\?[^\s\"']+"), f"?{MASK}"),
    # Personal ID numbers (12 digits; the old 9-digit card) and phone numbers (0 or +84
    # and 9-10 digits), when they stand alone.
    (re.compile(r"(?<![\w.-])(?:\+?84|0)\d{9,10}(?![\w-])"), MASK),
    (re.compile(r"(?<![\w.-])\d{9}(?:\d{3})?(?![\w-])"), MASK),
]


def redact(text: str) -> str:
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class Redact(logging.Filter):
    """Rewrite a record's message, and its traceback, with :func:`redact` applied."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is the library's bug, not a reason to drop
            message = str(record.msg)
        record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True
