"""Online payment on the citizen's dossier page, under the fee's own panel:
``{% payment_panel dossier %}`` (the button while the fee is asked for, the receipts)."""

from django import template

from workflows.models import FeeStatus
from workflows.presentation import money
from workflows.services.fees import fee_for_dossier

from ..models import OPEN, Payment, State
from ..services import payment_payable

register = template.Library()


@register.inclusion_tag("payment/_panel.html", takes_context=True)
def payment_panel(context, dossier):
    fee = fee_for_dossier(dossier=dossier) if dossier.pk else None
    if fee is None or fee.status not in (FeeStatus.DUE, FeeStatus.PAID):
        return {"fee": None}
    payments = list(Payment.objects.filter(fee=fee).order_by("-created_at", "-pk")[:20])
    receipts = [p for p in payments if p.state == State.PAID]
    if fee.status == FeeStatus.PAID and not receipts:
        return {"fee": None}  # paid at the desk: the fee's panel says so
    return {
        "fee": fee,
        "dossier": dossier,
        "amount": money(fee.amount_due),  # as the fee's own panel writes it
        "payable": payment_payable(fee),
        "open": next((p for p in payments if p.state in OPEN), None),
        "receipts": receipts,
        "csrf_token": context.get("csrf_token"),
    }
