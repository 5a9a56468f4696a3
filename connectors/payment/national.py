"""The national payment platform's adapter (backend ``"national"``).

The platform's messages (domain.md, "National payment platform"): an INIT with version
(1.0.6), partner code, a reference unique per attempt, amount, procedure code, dossier code,
treasury account and return URL; the citizen is redirected to the platform's page and comes
back to the return URL; a server-to-server callback confirms; a QUERY tells a payment's
state (reconciliation). Every message carries an integrity code: SHA-256 (hex) over its
fields' values joined by ``|`` in a fixed order, with the shared secret joined last
(``integrity_code``).

The field names and the order below are motcua's reading of the specification and have NOT
been checked against the platform's published interface: they are written once, here
(``INIT``, ``INIT_ANSWER``, ``RESULT``, ``QUERY``, ``STATUSES``, ``ANSWER_CODES``), so that
fitting the real names is an edit of this table and nothing else. The sandbox
(``connectors/payment/sandbox.py``) reads the same table.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import urllib.parse
from typing import Any
from zoneinfo import ZoneInfo

from connectors import http

from .provider import (
    CANCELLED,
    FAILED,
    PAID,
    PENDING,
    Forged,
    Outcome,
    PaymentOrder,
    PaymentProvider,
    Started,
    payment_providers,
)

SYSTEM = "payment"
VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")
TIME_FORMAT = "%Y%m%d%H%M%S"  # the platform's times: local (UTC+7), to the second
CHECKSUM = "checksum"  # the integrity code's field, in every message

# (motcua's name, the platform's field name), in the integrity code's order.
INIT = (
    ("version", "version"),
    ("command", "command"),  # "INIT"
    ("partner_code", "partnerCode"),
    ("reference", "orderId"),
    ("amount", "amount"),
    ("currency", "currency"),
    ("procedure_code", "serviceCode"),
    ("dossier_code", "dossierCode"),
    ("treasury_account", "treasuryAccount"),
    ("payer_name", "payerName"),
    ("description", "orderInfo"),
    ("return_url", "returnUrl"),
    ("callback_url", "notifyUrl"),
    ("created_at", "requestTime"),
    ("locale", "locale"),
)
INIT_ANSWER = (
    ("code", "code"),
    ("reference", "orderId"),
    ("transaction_id", "transactionId"),
    ("redirect_url", "paymentUrl"),
)
# A payment's result: the callback's body, the return's query string, a QUERY's answer.
RESULT = (
    ("partner_code", "partnerCode"),
    ("reference", "orderId"),
    ("transaction_id", "transactionId"),
    ("amount", "amount"),
    ("status", "status"),
    ("paid_at", "payTime"),
)
QUERY = (
    ("version", "version"),
    ("command", "command"),  # "QUERY"
    ("partner_code", "partnerCode"),
    ("reference", "orderId"),
    ("created_at", "requestTime"),
)
QUERY_ANSWER = (("code", "code"), *RESULT)
STATUSES = {"00": PAID, "01": PENDING, "02": FAILED, "03": CANCELLED}
OK = "00"
NOT_FOUND = "01"
# What motcua answers a callback: (HTTP status, the platform's code, a message).
ANSWER_CODES = {
    "ok": (200, "00", "Confirm success"),
    "duplicate": (200, "00", "Already confirmed"),
    "unknown": (200, "01", "Order not found"),
    "amount": (200, "04", "Invalid amount"),
    "forged": (200, "97", "Invalid checksum"),
    "malformed": (200, "99", "Invalid request"),
    "busy": (503, "99", "Try again later"),
}


def integrity_code(values: list[str], secret: str) -> str:
    """SHA-256 (lower-case hex) of the values and the secret joined by ``|``."""
    return hashlib.sha256("|".join([*values, secret]).encode("utf-8")).hexdigest()


def sign(fields: tuple[tuple[str, str], ...], values: dict[str, Any], secret: str) -> dict:
    """The wire message: the platform's field names, values as text, and the code."""
    wire = {name: "" if values.get(key) is None else str(values[key]) for key, name in fields}
    wire[CHECKSUM] = integrity_code([wire[name] for _key, name in fields], secret)
    return wire


def check(fields: tuple[tuple[str, str], ...], wire: Any, secret: str) -> dict[str, str]:
    """motcua's names and values of a signed message; raises Forged when it is not an
    object of text fields or its integrity code does not match (constant-time compare)."""
    if not isinstance(wire, dict):
        raise Forged("not-an-object")
    values = {}
    for key, name in fields:
        value = wire.get(name, "")
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise Forged(f"field-{name}")
        values[key] = str(value)
    given = wire.get(CHECKSUM)
    if not isinstance(given, str) or not given:
        raise Forged("no-checksum")
    expected = integrity_code([values[key] for key, _name in fields], secret)
    if not hmac.compare_digest(given.strip().lower().encode(), expected.encode()):
        raise Forged("checksum")
    return values


def platform_time(at: dt.datetime) -> str:
    return at.astimezone(VIETNAM).strftime(TIME_FORMAT)


def parse_platform_time(text: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=VIETNAM)
    except (TypeError, ValueError):
        return None


def _amount(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 15 else None


@payment_providers.register("national")
class NationalPaymentPlatform(PaymentProvider):
    """Options: URL, PARTNER_CODE, SECRET, TREASURY_ACCOUNT, VERSION, TIMEOUT; optionally
    REDIRECT_HOSTS (hosts the citizen may be sent to; by default URL's host only)."""

    def __init__(self, options: dict[str, Any]):
        super().__init__(options)
        # Without its secret, the integrity code would be a hash of public values: anyone
        # could forge a "paid" callback. A platform switched on must be configured whole.
        missing = [name for name in ("URL", "PARTNER_CODE", "SECRET") if not options.get(name)]
        if missing:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "MOTCUA['CONNECTORS']['payment'] 'national' needs " + ", ".join(missing)
            )

    @property
    def url(self) -> str:
        return self.options["URL"].rstrip("/")

    @property
    def secret(self) -> str:
        return self.options["SECRET"]

    def _outcome(self, values: dict[str, str], raw: dict) -> Outcome:
        if values["partner_code"] != self.options["PARTNER_CODE"]:
            raise Forged("partner")
        return Outcome(
            reference=values["reference"],
            # A status the table does not know is not a failure the citizen may pay again
            # after: the attempt stays open until the platform says more.
            outcome=STATUSES.get(values["status"], PENDING),
            amount=_amount(values["amount"]),
            transaction_id=values["transaction_id"][:64],
            paid_at=parse_platform_time(values["paid_at"]),
            raw={k: v for k, v in raw.items() if k != CHECKSUM},
        )

    def init(self, order: PaymentOrder) -> Started:
        message = sign(
            INIT,
            {
                "version": self.options.get("VERSION", "1.0.6"),
                "command": "INIT",
                "partner_code": self.options["PARTNER_CODE"],
                "reference": order.reference,
                "amount": order.amount,
                "currency": "VND",
                "procedure_code": order.procedure_code,
                "dossier_code": order.dossier_code,
                "treasury_account": self.options["TREASURY_ACCOUNT"],
                "payer_name": order.payer_name,
                "description": order.description,
                "return_url": order.return_url,
                "callback_url": order.callback_url,
                "created_at": platform_time(order.created_at),
                "locale": "vi",
            },
            self.secret,
        )
        answer = http.call_json(
            SYSTEM,
            "POST",
            f"{self.url}/init",
            json=message,
            timeout=float(self.options.get("TIMEOUT", 10)),
        )
        if isinstance(answer, dict) and answer.get("code") not in (None, OK):
            raise http.ConnectorError(SYSTEM, http.REFUSED, f"code {answer.get('code')}")
        try:
            values = check(INIT_ANSWER, answer, self.secret)
        except Forged as exc:
            raise http.ConnectorError(SYSTEM, http.MALFORMED, exc.reason) from None
        if values["reference"] != order.reference:
            raise http.ConnectorError(SYSTEM, http.MALFORMED, "another reference")
        redirect_url = values["redirect_url"]
        parsed = urllib.parse.urlsplit(redirect_url)
        hosts = self.options.get("REDIRECT_HOSTS") or [urllib.parse.urlsplit(self.url).netloc]
        if parsed.scheme not in ("http", "https") or parsed.netloc not in hosts:
            raise http.ConnectorError(SYSTEM, http.MALFORMED, "redirect elsewhere")
        return Started(redirect_url=redirect_url, transaction_id=values["transaction_id"][:64])

    def read_return(self, params: dict[str, str]) -> Outcome:
        return self._outcome(check(RESULT, params, self.secret), dict(params))

    def verify_callback(self, body: bytes, content_type: str) -> Outcome:
        try:
            if "json" in content_type:
                wire = json.loads(body)
            else:
                wire = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        except (ValueError, UnicodeDecodeError, RecursionError):
            raise Forged("unreadable") from None
        return self._outcome(check(RESULT, wire, self.secret), wire)

    def callback_answer(self, code: str) -> tuple[int, dict[str, Any]]:
        status, platform_code, message = ANSWER_CODES[code]
        return status, {"code": platform_code, "message": message}

    def query(self, reference: str) -> Outcome:
        from django.utils import timezone

        message = sign(
            QUERY,
            {
                "version": self.options.get("VERSION", "1.0.6"),
                "command": "QUERY",
                "partner_code": self.options["PARTNER_CODE"],
                "reference": reference,
                "created_at": platform_time(timezone.now()),
            },
            self.secret,
        )
        answer = http.call_json(
            SYSTEM,
            "POST",
            f"{self.url}/query",
            json=message,
            timeout=float(self.options.get("TIMEOUT", 10)),
        )
        if isinstance(answer, dict) and answer.get("code") == NOT_FOUND:
            # The platform never received this attempt (its INIT was lost): nothing to pay.
            return Outcome(reference=reference, outcome=FAILED, raw={"code": NOT_FOUND})
        try:
            values = check(QUERY_ANSWER, answer, self.secret)
            if values["code"] != OK:
                raise http.ConnectorError(SYSTEM, http.REFUSED, f"code {values['code']}")
            outcome = self._outcome(values, answer)
        except Forged as exc:
            raise http.ConnectorError(SYSTEM, http.MALFORMED, exc.reason) from None
        if outcome.reference != reference:
            raise http.ConnectorError(SYSTEM, http.MALFORMED, "another reference")
        return outcome
