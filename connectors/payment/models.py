"""Online payment attempts: each time a citizen is sent to the payment platform for a fee.

An attempt has its own reference (sent to the platform, never reused), the amount asked,
and its state: initiated (motcua is asking the platform), pending (the citizen was sent to
the platform's page), then paid, failed or cancelled. Written only by
``connectors.payment.services``. The database holds the rules that matter for money:
one reference per attempt and at most one open attempt per fee (a second click reuses it).
A second attempt the platform reports paid for a fee already paid (it should not happen:
a paid fee offers no button) is recorded as paid all the same, since the money was taken,
with a problem saying it is to be refunded.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import pgettext_lazy


def _(text: str):
    """Labels of this app, translated in their own context (short words like "Paid" mean
    something else elsewhere)."""
    return pgettext_lazy("payment", text)


class State(models.TextChoices):
    INITIATED = "initiated", _("Being started")
    PENDING = "pending", _("Waiting for the payment platform")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


OPEN = (State.INITIATED, State.PENDING)
CLOSED = (State.PAID, State.FAILED, State.CANCELLED)


class Confirmation(models.TextChoices):
    CALLBACK = "callback", _("The platform's callback")
    QUERY = "query", _("Reconciliation (a query to the platform)")


class Payment(models.Model):
    fee = models.ForeignKey(
        "workflows.Fee",
        on_delete=models.PROTECT,
        related_name="payments",
        verbose_name=_("fee"),
    )
    reference = models.CharField(_("payment reference"), max_length=32, unique=True)
    amount = models.DecimalField(_("amount (VND)"), max_digits=14, decimal_places=0)
    state = models.CharField(
        _("state"), max_length=12, choices=State.choices, default=State.INITIATED
    )
    backend = models.CharField(_("payment platform"), max_length=32)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("started by"),
    )
    redirect_url = models.URLField(_("payment page"), max_length=500, blank=True)
    transaction_id = models.CharField(_("platform's transaction id"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("started"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed at"), null=True, blank=True)
    confirmed_via = models.CharField(
        _("confirmed by"), max_length=12, choices=Confirmation.choices, blank=True
    )
    checked_at = models.DateTimeField(_("last asked the platform"), null=True, blank=True)
    # The fee was marked paid with this attempt (fee_mark_paid); empty while not yet.
    fee_recorded_at = models.DateTimeField(_("fee recorded"), null=True, blank=True)
    # Why it failed ("timeout", "down", ...) or what needs a person (a refund).
    problem = models.CharField(_("problem"), max_length=200, blank=True)
    # The platform's last message about it, without its integrity code.
    callback = models.JSONField(_("platform's message"), default=dict, blank=True)

    class Meta:
        verbose_name = _("online payment")
        verbose_name_plural = _("online payments")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["fee"],
                condition=Q(state__in=["initiated", "pending"]),
                name="payment_one_open_attempt_per_fee",
            ),
        ]
        indexes = [models.Index(fields=["state", "created_at"], name="payment_state_created")]

    def __str__(self) -> str:
        return self.reference
