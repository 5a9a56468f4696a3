"""Delivery channels. E-mail goes through Django's e-mail backend; SMS through a backend
chosen in settings (MOTCUA_SMS_BACKEND): "console", "file" or "http" (a generic gateway).

A channel raises TemporaryFailure for what may work later (a refused connection, a 5xx)
and PermanentFailure for what never will (a rejected address, a 4xx).
"""

from __future__ import annotations

import json
import logging
import smtplib
import urllib.error
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMessage

log = logging.getLogger(__name__)


class TemporaryFailure(Exception):
    pass


class PermanentFailure(Exception):
    pass


_sms_backends: dict[str, type] = {}


def register(name: str):
    def wrap(cls):
        _sms_backends[name] = cls
        return cls

    return wrap


def send_email(message) -> None:
    mail = EmailMessage(
        subject=message.subject,
        body=message.body,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[message.to_address],
        headers={"Message-ID": message.message_id},
    )
    try:
        mail.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as exc:
        raise PermanentFailure("recipient refused") from exc
    except smtplib.SMTPResponseException as exc:
        if 500 <= exc.smtp_code < 600:
            raise PermanentFailure(f"smtp {exc.smtp_code}") from exc
        raise TemporaryFailure(f"smtp {exc.smtp_code}") from exc
    except (smtplib.SMTPException, OSError) as exc:
        raise TemporaryFailure(type(exc).__name__) from exc


class SmsBackend:
    """Send ``text`` to ``phone``; ``key`` is the message's stable idempotency key."""

    def __init__(self, options: dict):
        self.options = options

    def send(self, *, phone: str, text: str, key: str) -> str | None:  # pragma: no cover
        """Returns the gateway's own id for the message, when it gives one."""
        raise NotImplementedError


@register("console")
class ConsoleSms(SmsBackend):
    def send(self, *, phone, text, key):
        # Development only: the console is not a log.
        print(f"SMS {key} to {phone}: {text}")  # noqa: T201


@register("file")
class FileSms(SmsBackend):
    """One JSON line per message in a file (development and tests)."""

    def send(self, *, phone, text, key):
        path = Path(self.options.get("path") or settings.VAR_DIR / "sms.jsonl")
        with path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"key": key, "to": phone, "text": text}, ensure_ascii=False))
            handle.write("\n")


@register("http")
class HttpSms(SmsBackend):
    """A generic HTTP gateway: URL, credentials and the payload's field names come from
    settings, so most Vietnamese SMS brandname gateways fit without code."""

    def send(self, *, phone, text, key):
        fields = self.options.get("fields", {})
        payload = {
            fields.get("to", "to"): phone,
            fields.get("text", "text"): text,
            fields.get("key", "id"): key,
            **self.options.get("extra", {}),
        }
        request = urllib.request.Request(  # noqa: S310 - the URL comes from settings
            self.options["url"],
            data=json.dumps(payload).encode("utf-8"),
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                **({"Authorization": self.options["auth"]} if self.options.get("auth") else {}),
            },
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=self.options.get("timeout", 10)) as answer:  # noqa: S310
                body = answer.read(65536)
        except urllib.error.HTTPError as exc:
            if 400 <= exc.code < 500 and exc.code not in (408, 429):
                raise PermanentFailure(f"http {exc.code}") from exc
            raise TemporaryFailure(f"http {exc.code}") from exc
        except (urllib.error.URLError, OSError) as exc:
            raise TemporaryFailure(type(exc).__name__) from exc
        return self.provider_id(body)

    def provider_id(self, body: bytes) -> str:
        """The gateway's id for the message, from its answer (the field ``response_id``
        names, default "id"), which its delivery receipts will name; "" without one."""
        try:
            answer = json.loads(body or b"null")
        except ValueError:
            return ""
        value = (
            answer.get(self.options.get("response_id", "id")) if isinstance(answer, dict) else None
        )
        return str(value)[:100] if isinstance(value, str | int) and str(value) else ""


def sms_backend() -> SmsBackend:
    config = settings.MOTCUA["SMS"]
    return _sms_backends[config["backend"]](config.get("options", {}))


def send_sms(message) -> str | None:
    return sms_backend().send(phone=message.to_address, text=message.body, key=str(message.uid))
