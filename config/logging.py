"""What never reaches a log line.

Libraries log what they are given: Django's request logger writes the path of every 4xx
(a verification code is part of ``/verify/<code>/``), gunicorn's access log writes paths
and query strings (a password-reset key is part of its link), and an exception's text can
quote a form value. Every handler of ``settings.LOGGING`` and of ``config/gunicorn.py``
passes its records through :class:`Redact`, which rewrites the finished message.

The lines themselves are written by structlog's stdlib formatter (:func:`formatter`): one
JSON object per line in production, a readable line in development. Both keep the
handlers, so :class:`Redact` still filters every record, and :func:`redact_event` rewrites
the event's every text (the message, the fields, a formatted traceback) just before it is
rendered: a field given to structlog is redacted like a message.
"""

from __future__ import annotations

import logging
import os
import re
from typing import Any

import structlog

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


def _redacted(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {key: _redacted(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_redacted(item) for item in value)
    return value


class Redact(logging.Filter):
    """Rewrite a record's message, and its traceback, with :func:`redact` applied."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, dict):  # structlog's event, for its ProcessorFormatter
            record.msg = {
                key: value if key.startswith("_") else _redacted(value)
                for key, value in record.msg.items()
            }
            return True
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


def redact_event(logger, method_name: str, event_dict: dict) -> dict:
    """structlog processor: every text of the event, the traceback among them, redacted.
    Runs last before the renderer, after the traceback is formatted."""
    return {
        key: value if key.startswith("_") else _redacted(value) for key, value in event_dict.items()
    }


# --- Structured lines (structlog) ------------------------------------------------------------

#: What every line gets, from structlog or from any other library's stdlib logger: the
#: bound context (the request id, config.requestid), the level, the logger, the time.
SHARED_PROCESSORS = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def log_format(debug: bool) -> str:
    """ "json" (one object per line) or "console": MOTCUA_LOG_FORMAT, else JSON unless DEBUG."""
    chosen = os.environ.get("MOTCUA_LOG_FORMAT", "").strip().lower()
    if chosen in ("json", "console"):
        return chosen
    return "console" if debug else "json"


def formatter(kind: str) -> dict:
    """A logging.config formatter entry that renders every record, structlog's or not."""
    if kind == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    return {
        "()": structlog.stdlib.ProcessorFormatter,
        # Of the extras other libraries attach, only plain ones: Django's request logger
        # also attaches the request object, whose repr holds the path.
        "foreign_pre_chain": [*SHARED_PROCESSORS, structlog.stdlib.ExtraAdder(("status_code",))],
        "processors": [
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact_event,
            renderer,
        ],
    }


def configure_structlog() -> None:
    """structlog's loggers hand their events to the stdlib handlers of settings.LOGGING."""
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *SHARED_PROCESSORS,
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
