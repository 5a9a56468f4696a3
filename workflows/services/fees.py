"""A dossier's fee: assessed at reception, asked for after appraisal, paid once.

The fee record (``workflows.models.Fee``) is made when the dossier is received, from its
procedure version's ``fee`` (amount and exemptions, procedures.fees). After appraisal the
specialist asks for the payment ("Yêu cầu nộp phí, lệ phí", a stage action of the review):
the dossier waits in ``fee_requested`` (national status 6) and its flow in ``wait_fee``.
A payment is recorded once (``fee_mark_paid``: by the online payment connector, or through
``fee_confirm_at_desk`` by a desk officer); if the dossier was waiting, the flow resumes
at the review, where the specialist proposes the decision.

The clock: the time the applicant takes to pay is not the agency's. While the dossier
waits the legal clock is paused (``fee_requested`` is not in CLOCK_RUNNING: no overdue
warnings, no apology), and when the payment comes the appointment date moves later by the
working days waited. A pause, not the supplement's restart from zero: the dossier was
complete and appraised; only the applicant's payment was outstanding.

Public names (the payment connector and the pages rely on them): ``fee_for_dossier``,
``fee_request``, ``fee_mark_paid``, ``fee_confirm_at_desk``.
"""

from __future__ import annotations

import datetime as dt
import logging
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from viewflow.workflow.exceptions import FlowLockFailed
from viewflow.workflow.status import STATUS

from procedures.auth import has_agency_perm
from procedures.flowspec import graph_of

from ..clock import local_date, working_calendar
from ..events import event_record
from ..exceptions import ActionNotAllowed
from ..models import (
    Dossier,
    DossierTask,
    Fee,
    FeeChannel,
    FeeStatus,
    Status,
    acting_agency_or,
)
from . import dossiers

# The fee record (reading, assessment, cancelling) is fee_assessment's, which the dossier's
# own actions use; fee_for_dossier stays a public name here.
from .fee_assessment import fee_assess, fee_for_dossier, fee_summary  # noqa: F401

log = logging.getLogger(__name__)

REFERENCE_MAX = Fee._meta.get_field("reference").max_length
# Who records a payment made at the desk or by transfer: the one-stop desk.
DESK_PERM = "workflows.receive_dossier"


# --- Asking for the payment ---------------------------------------------------------------------


def fee_request(*, dossier: Dossier, by) -> Fee:
    """The specialist asks the applicant to pay the fee (the review stage's action
    "request_fee"): the dossier waits in ``fee_requested`` until it is paid.

    The one public way in: it completes the specialist's review task, as the task page
    does. The specialist must hold that task.
    """
    from .work import task_complete

    graph = graph_of(dossier.procedure_version)
    stages = [code for code in graph.order if "request_fee" in graph.actions(code)]
    task = (
        DossierTask.objects.filter(
            dossier_id=dossier.pk, stage__in=stages, status=STATUS.ASSIGNED, owner_id=by.pk
        )
        .order_by("-pk")
        .first()
    )
    if task is None:
        if not has_agency_perm(by, "workflows.review_dossier", dossier):
            raise PermissionDenied(_("You are not allowed to take this action on this dossier."))
        raise ActionNotAllowed(_("Take the appraisal task of this dossier first."))
    task_complete(task=task, by=by, action="request_fee")
    return Fee.objects.get(dossier_id=dossier.pk)


def dossier_request_fee(*, dossier: Dossier, by) -> Dossier:
    """The dossier's part of ``fee_request``, called by the review stage (services.work)
    under the flow's lock: the transition, the history, the event to the applicant."""
    with transaction.atomic():
        locked = dossiers._lock(dossier)
        fee = Fee.objects.select_for_update().filter(dossier_id=locked.pk).first()
        if fee is None:
            # Received before fees were recorded: assess it now.
            fee = fee_assess(locked)
        if fee is None or fee.status != FeeStatus.DUE:
            if not has_agency_perm(by, "workflows.review_dossier", acting_agency_or(locked)):
                raise PermissionDenied(
                    _("You are not allowed to take this action on this dossier.")
                )
            raise ActionNotAllowed(_no_fee_message(fee))
        if fee.requested_at is None:
            fee.requested_at, fee.requested_by = timezone.now(), by
            fee.save(update_fields=["requested_at", "requested_by"])
        return dossiers._act(
            locked,
            by,
            "request_fee",
            data=fee_summary(fee),
            event_payload={
                "amount": str(fee.amount_due),
                "currency": fee.currency,
                "due_date": locked.due_date.isoformat() if locked.due_date else None,
            },
        )


def _no_fee_message(fee: Fee | None) -> str:
    if fee is None:
        return _("This procedure has no fee to pay.")
    if fee.status == FeeStatus.EXEMPTED:
        return _("The applicant is exempted from this fee.")
    if fee.status == FeeStatus.PAID:
        return _("The fee has already been paid.")
    return _("This fee is no longer to be paid.")


# --- Recording the payment ----------------------------------------------------------------------


def _clean_amount(amount) -> Decimal:
    if isinstance(amount, bool) or not isinstance(amount, (int, str, Decimal)):
        raise ValidationError({"amount": [_("Enter the amount paid in dong.")]})
    try:
        value = Decimal(str(amount).strip())
    except InvalidOperation:
        raise ValidationError({"amount": [_("Enter the amount paid in dong.")]}) from None
    if not value.is_finite() or value != value.to_integral_value() or value < 0:
        raise ValidationError({"amount": [_("Enter the amount paid in dong.")]})
    return value


def _clean_reference(reference) -> str:
    if not isinstance(reference, str) or not reference.strip():
        raise ValidationError({"reference": [_("Enter the payment's reference.")]})
    reference = reference.strip()
    if len(reference) > REFERENCE_MAX:
        raise ValidationError(
            {"reference": [_("At most %(n)d characters.") % {"n": REFERENCE_MAX}]}
        )
    return reference


def fee_mark_paid(
    *,
    fee: Fee,
    channel: str,
    reference: str,
    amount,
    paid_at: dt.datetime,
    by=None,
) -> bool:
    """Record the payment of ``fee``; True if this call recorded it.

    Idempotent: for a fee already paid (by this reference or another) nothing changes and
    the answer is False. An amount other than the amount due is refused (ValidationError),
    as is a payment on a fee exempted or cancelled (ActionNotAllowed). ``by`` is the
    officer who confirmed it (a desk officer of the dossier's agency); None for a payment
    the payment platform reported (online only). If the dossier waits for this payment,
    its flow resumes at the review, with the appointment date moved by the days waited.

    Takes the flow's lock, then the dossier's, then the fee's: do not call it inside an
    outer transaction. Raises TaskBusy when another action holds the dossier too long.
    """
    from .work import BUSY_MESSAGE, TaskBusy

    if channel not in FeeChannel.values:
        raise ValidationError({"channel": [_("Unknown payment channel.")]})
    reference = _clean_reference(reference)
    value = _clean_amount(amount)
    if not isinstance(paid_at, dt.datetime) or timezone.is_naive(paid_at):
        raise ValidationError({"paid_at": [_("Enter when the payment was made.")]})
    dossier = Dossier.objects.select_related("procedure_version", "handling_agency").get(
        pk=fee.dossier_id
    )
    if by is None:
        if channel != FeeChannel.ONLINE:
            raise PermissionDenied(
                _("A payment at the desk or by transfer is confirmed by an officer.")
            )
    elif not has_agency_perm(by, DESK_PERM, dossier):
        raise PermissionDenied(_("Only the one-stop desk of this agency records payments."))
    process_id = getattr(getattr(dossier, "process", None), "pk", None)
    if process_id is None:
        raise ActionNotAllowed(_("This dossier has not been received."))
    from ..flows import flow_for

    flow_class = flow_for(dossier)
    try:
        with flow_class.lock(process_id), transaction.atomic():
            return _mark_paid(flow_class, dossier, fee, channel, reference, value, paid_at, by)
    except FlowLockFailed as exc:
        raise TaskBusy(BUSY_MESSAGE) from exc


def _mark_paid(flow_class, dossier, fee, channel, reference, value, paid_at, by) -> bool:
    locked = dossiers._lock(dossier)
    current = Fee.objects.select_for_update().get(pk=fee.pk)
    if current.status == FeeStatus.PAID:
        if current.reference != reference or current.channel != channel:
            log.warning(
                "fee %s already paid (%s %s); a second payment reported: %s %s",
                current.pk,
                current.channel,
                current.reference,
                channel,
                reference,
            )
        return False
    if current.status != FeeStatus.DUE:
        raise ActionNotAllowed(_no_fee_message(current))
    if value != current.amount_due:
        raise ValidationError(
            {
                "amount": [
                    _("The amount paid (%(paid)s) is not the amount due (%(due)s).")
                    % {"paid": f"{value:,.0f}", "due": f"{current.amount_due:,.0f}"}
                ]
            }
        )
    if (
        channel == FeeChannel.ONLINE
        and Fee.objects.filter(channel=channel, reference=reference).exclude(pk=current.pk).exists()
    ):
        raise ValidationError({"reference": [_("This payment settled another dossier's fee.")]})
    now = timezone.now()
    current.status = FeeStatus.PAID
    current.channel, current.reference = channel, reference
    current.amount_paid, current.paid_at, current.recorded_at = value, paid_at, now
    current.confirmed_by = by
    current.save(
        update_fields=[
            "status",
            "channel",
            "reference",
            "amount_paid",
            "paid_at",
            "recorded_at",
            "confirmed_by",
        ]
    )
    fee.__dict__.update({k: v for k, v in current.__dict__.items() if not k.startswith("_")})
    with dossiers.holding(locked):
        locked = dossiers.dossier_note(
            dossier=locked,
            by=by,
            action="fee_paid",
            data={
                "amount": str(value),
                "channel": channel,
                "reference": reference,
                "paid_at": paid_at.isoformat(),
            },
        )
        event_record(
            name="dossier.fee_paid",
            dossier=locked,
            payload={
                "code": locked.code,
                "amount": str(value),
                "channel": channel,
                "seq": locked.history_count,
            },
        )
        if locked.status == Status.FEE_REQUESTED:
            waiting = DossierTask.objects.filter(
                process_id=locked.process.pk, flow_task=flow_class.wait_fee, status=STATUS.NEW
            ).first()
            if waiting is None:  # pragma: no cover - a dossier waits only in wait_fee
                raise ActionNotAllowed(_("This dossier is not waiting for a payment."))
            flow_class.wait_fee.run(waiting, fee=current)
    return True


def fee_confirm_at_desk(*, fee: Fee, by, reference: str, channel: str = FeeChannel.DESK) -> bool:
    """A desk officer records a payment made at the desk (``reference``: the receipt's
    number), or a bank transfer seen on the agency's account (its reference): "payment
    confirmed by an officer". The amount is the amount due. False if already paid."""
    if channel not in (FeeChannel.DESK, FeeChannel.TRANSFER):
        raise ValidationError({"channel": [_("At the desk or by bank transfer.")]})
    dossier = Dossier.objects.select_related("handling_agency").get(pk=fee.dossier_id)
    if by is None or not has_agency_perm(by, DESK_PERM, dossier):
        raise PermissionDenied(_("Only the one-stop desk of this agency records payments."))
    return fee_mark_paid(
        fee=fee,
        channel=channel,
        reference=reference,
        amount=fee.amount_due,
        paid_at=timezone.now(),
        by=by,
    )


# --- Resuming the flow (the flow's wait_fee node) -----------------------------------------------


def dossier_resume_after_fee(*, dossier: Dossier, fee: Fee, by=None) -> Dossier:
    """The fee is paid: the appraisal resumes, and the appointment date moves later by
    the working days the dossier waited (the clock was paused). The system's own step
    (``by=None``), as issuing is."""
    moved: dict = {}

    def apply(d: Dossier) -> dossiers.Changes:
        if d.due_date is None or fee.requested_at is None:
            return {}
        calendar = working_calendar()
        waited = calendar.working_days_between(
            local_date(fee.requested_at), local_date(fee.recorded_at or timezone.now())
        )
        moved.update(old_due_date=d.due_date, paused_days=waited)
        if not waited:
            return {}
        return {"due_date": calendar.add_working_days(d.due_date, waited)}

    return dossiers._act(
        dossier,
        by,
        "resume_after_fee",
        apply=apply,
        data=lambda d: {**moved, "due_date": d.due_date},
        event_payload=lambda d: {"due_date": d.due_date.isoformat() if d.due_date else None},
    )
