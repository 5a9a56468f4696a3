"""A dossier's fee record: read, assessed at reception, cancelled when the dossier closes
without a result. The dossier's own actions (workflows.services.dossiers) call these; asking
for the payment and recording it (which move the flow) are workflows.services.fees."""

from __future__ import annotations

from django.utils import timezone

from procedures.fees import exemption_for, fee_amount

from ..models import Dossier, Fee, FeeStatus

# --- Reading ------------------------------------------------------------------------------------


def fee_for_dossier(*, dossier: Dossier) -> Fee | None:
    """The dossier's fee record, or None: a free procedure, or a dossier not received yet."""
    return Fee.objects.filter(dossier_id=dossier.pk).select_related("confirmed_by").first()


# --- Assessment (at reception) ------------------------------------------------------------------


def _exemption_record(exemption: dict) -> dict:
    return {
        "code": exemption["code"],
        "name": exemption["name"],
        "legal_basis": exemption["legal_basis"],
    }


def fee_assess(dossier: Dossier) -> Fee | None:
    """Make or bring up to date the fee record of a dossier being received (the caller
    holds the dossier's row lock, in the reception's transaction).

    A fee already paid or cancelled stays as it is; a due or exempted one is assessed
    again from the form as it now stands (after a supplement the answers may differ).
    """
    spec = dossier.procedure_version.spec.get("fee", {})
    amount = fee_amount(spec)
    fee = Fee.objects.select_for_update().filter(dossier_id=dossier.pk).first()
    if fee is None and amount == 0:
        return None
    if fee is not None and fee.status in (FeeStatus.PAID, FeeStatus.CANCELLED):
        return fee
    exemption = exemption_for(spec, dossier.form_data) if amount else None
    values = {
        "amount_due": amount,
        "currency": spec.get("currency", "VND"),
        "status": FeeStatus.EXEMPTED if exemption or amount == 0 else FeeStatus.DUE,
        "exemption_code": exemption["code"] if exemption else "",
        "exemption": _exemption_record(exemption) if exemption else {},
        "assessed_at": timezone.now(),
    }
    if fee is None:
        return Fee.objects.create(dossier=dossier, **values)
    for column, value in values.items():
        setattr(fee, column, value)
    fee.save(update_fields=list(values))
    return fee


def fee_summary(fee: Fee | None) -> dict | None:
    """What the history and the events say about a fee."""
    if fee is None:
        return None
    return {
        "amount": str(fee.amount_due),
        "currency": fee.currency,
        "status": fee.status,
        "exemption": fee.exemption_code,
    }


def fee_cancel(dossier: Dossier) -> Fee | None:
    """The dossier closes without a result (withdrawn, refused): a fee still due is not
    to be paid any more. The caller holds the dossier's row lock."""
    fee = Fee.objects.select_for_update().filter(dossier_id=dossier.pk).first()
    if fee is not None and fee.status == FeeStatus.DUE:
        fee.status = FeeStatus.CANCELLED
        fee.save(update_fields=["status"])
    return fee
