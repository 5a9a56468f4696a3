"""The payment-provider interface: what motcua asks of any payment platform.

    provider = payment_providers.get()          # None: online payment is off
    started = provider.init(PaymentOrder(...))  # -> Started(redirect_url=...)
    outcome = provider.verify_callback(body)    # -> Outcome, or raises Forged
    outcome = provider.query(reference)         # -> Outcome (reconciliation)
    outcome = provider.read_return(params)      # -> Outcome: what the platform SAYS, not proof

Calls out raise ``connectors.http.ConnectorError`` (down, timeout, malformed, refused);
a callback or an answer whose integrity code does not match raises ``Forged``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from connectors.registry import Registry

payment_providers = Registry("payment")

# An attempt's outcome as a platform reports it (models.State has the same words).
PAID = "paid"
PENDING = "pending"
FAILED = "failed"
CANCELLED = "cancelled"
OUTCOMES = (PAID, PENDING, FAILED, CANCELLED)


class Forged(Exception):
    """A message that claims to come from the platform but cannot be trusted: its
    integrity code is missing or wrong, or it cannot be read at all. ``reason`` is a
    short word for the security log."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class PaymentOrder:
    """One attempt to pay one fee, as sent to the platform."""

    reference: str  # unique per attempt (never reused, even after a failure)
    amount: int  # VND, whole đồng
    procedure_code: str
    dossier_code: str
    payer_name: str
    description: str
    return_url: str
    callback_url: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Started:
    redirect_url: str
    transaction_id: str = ""


@dataclass(frozen=True)
class Outcome:
    reference: str
    outcome: str  # one of OUTCOMES
    amount: int | None = None
    transaction_id: str = ""
    paid_at: dt.datetime | None = None
    raw: dict[str, Any] = field(default_factory=dict)  # the message, integrity code removed


class PaymentProvider:
    """A backend registered with ``@payment_providers.register(name)``; built with its
    options (``MOTCUA["CONNECTORS"]["payment"]``)."""

    backend_name = ""

    def __init__(self, options: dict[str, Any]):
        self.options = options

    def init(self, order: PaymentOrder) -> Started:  # pragma: no cover - abstract
        raise NotImplementedError

    def read_return(self, params: dict[str, str]) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError

    def verify_callback(self, body: bytes, content_type: str) -> Outcome:  # pragma: no cover
        raise NotImplementedError

    def callback_answer(self, code: str) -> tuple[int, dict[str, Any]]:  # pragma: no cover
        """The HTTP status and JSON body the platform expects for a callback's result
        (``ok``, ``duplicate``, ``forged``, ``unknown``, ``amount``, ``malformed``, ``busy``)."""
        raise NotImplementedError

    def query(self, reference: str) -> Outcome:  # pragma: no cover - abstract
        raise NotImplementedError
