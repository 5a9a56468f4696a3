"""Online payment: the only code that starts, confirms and closes payment attempts.

- ``payment_start``: the citizen asks to pay their fee; an attempt is made, the platform is
  asked for its page (outside any transaction: no lock is held while the platform thinks)
  and the citizen's browser is sent there. A second click while an attempt is open sends
  them to the same page: one charge.
- ``payment_callback``: the platform's server-to-server message. Verified by its integrity
  code, matched to an attempt by reference, checked against the amount; anything else is
  refused, logged to the security log, and changes nothing. A second copy changes nothing.
- ``payment_reconcile``: the periodic job; asks the platform about attempts still open
  after PENDING_MINUTES (a lost callback), closes the ones it never saw paid after
  EXPIRE_HOURS, and records on the fee any payment not yet recorded there.

The citizen's return to motcua is not proof of payment: only the callback or the
platform's answer to a query confirms one. A confirmed payment marks the fee paid through
the fees' service ``fee_mark_paid`` (idempotent; it takes the flow's and the dossier's
locks, so it is called after this module's own transaction commits).
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from connectors.http import ConnectorError
from workflows.exceptions import ActionNotAllowed
from workflows.models import FINAL, Fee, FeeChannel, FeeStatus
from workflows.services.fees import fee_mark_paid
from workflows.services.work import TaskBusy

from . import provider as base
from .models import OPEN, Confirmation, Payment, State

log = logging.getLogger(__name__)
# Refused callbacks: one line each in the security log (reason, reference, client).
security = logging.getLogger("motcua.security.payment")

REFERENCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read over the phone
STARTING_SECONDS = 60  # an attempt still "initiated" after this was interrupted
RECONCILE_BATCH = 200


class PaymentUnavailable(Exception):
    """Online payment cannot go on now; the message says so to the citizen, in words."""


@dataclass(frozen=True)
class CallbackResult:
    code: str  # ok, duplicate, forged, malformed, unknown, amount, busy, off
    payment: Payment | None = None


def _options() -> dict:
    return base.payment_providers.options()


def payment_provider() -> base.PaymentProvider | None:
    """The configured payment platform, or None: online payment is off."""
    return base.payment_providers.get()


def _new_reference() -> str:
    return "MC" + "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(14))


def _site(path: str) -> str:
    return settings.MOTCUA["SITE_URL"].rstrip("/") + path


def payment_payable(fee: Fee | None) -> bool:
    """The fee can be paid online now: due and asked for (after appraisal, as the fee's
    panel tells the citizen), its dossier open, the platform configured."""
    return (
        fee is not None
        and fee.status == FeeStatus.DUE
        and fee.requested_at is not None
        and fee.dossier.status not in FINAL
        and base.payment_providers.enabled()
    )


def _unavailable(reason: str) -> PaymentUnavailable:
    if reason in ("down", "timeout"):
        return PaymentUnavailable(
            _(
                "The payment platform is not answering just now. Nothing was charged. "
                "Please try again in a few minutes, or pay at the one-stop desk."
            )
        )
    return PaymentUnavailable(
        _(
            "The payment platform could not start this payment. Nothing was charged. "
            "Please try again later, or pay at the one-stop desk."
        )
    )


# --- Starting ----------------------------------------------------------------------------------


def payment_start(*, fee: Fee, by) -> str:
    """The URL of the platform's page where ``by`` pays ``fee``. Raises PermissionDenied
    (not the applicant), ActionNotAllowed (nothing to pay, or an attempt being started)
    or PaymentUnavailable (online payment off, or the platform failed: nothing charged)."""
    provider = payment_provider()
    if provider is None:
        raise PaymentUnavailable(
            _("Online payment is not available. Please pay the fee at the one-stop desk.")
        )
    if fee.dossier.applicant_user_id != by.pk:
        raise PermissionDenied
    for _round in range(2):
        payment, created = _open_attempt(fee=fee, by=by, provider=provider)
        if created:
            return _init(provider, payment)
        if timezone.now() - payment.created_at < dt.timedelta(
            minutes=_options().get("PENDING_MINUTES", 15)
        ):
            return payment.redirect_url
        # An older open attempt: the platform says whether it is still payable.
        payment = payment_refresh(payment=payment)
        if payment.state == State.PENDING:
            return payment.redirect_url
        if payment.state == State.PAID:
            raise ActionNotAllowed(_("This fee has been paid."))
    raise ActionNotAllowed(_("A payment for this fee is being started. Please wait a moment."))


def _open_attempt(*, fee: Fee, by, provider) -> tuple[Payment, bool]:
    """The fee's open attempt, or a new one (initiated); the fee's row lock orders two
    clicks at once, and the database's unique constraint stops the second on SQLite."""
    try:
        with transaction.atomic():
            current = Fee.objects.select_for_update().select_related("dossier").get(pk=fee.pk)
            if (
                current.status != FeeStatus.DUE
                or current.requested_at is None
                or current.dossier.status in FINAL
            ):
                raise ActionNotAllowed(_("There is no fee to pay on this dossier now."))
            payment = (
                Payment.objects.select_for_update().filter(fee=current, state__in=OPEN).first()
            )
            if payment is not None:
                if payment.state == State.PENDING and payment.redirect_url:
                    return payment, False
                if timezone.now() - payment.created_at < dt.timedelta(seconds=STARTING_SECONDS):
                    raise ActionNotAllowed(
                        _("A payment for this fee is being started. Please wait a moment.")
                    )
                _close(payment, State.FAILED, problem="interrupted")
            payment = Payment.objects.create(
                fee=current,
                reference=_new_reference(),
                amount=current.amount_due,
                backend=provider.backend_name,
                started_by=by,
            )
            return payment, True
    except IntegrityError:
        raise ActionNotAllowed(
            _("A payment for this fee is being started. Please wait a moment.")
        ) from None


def _init(provider, payment: Payment) -> str:
    dossier = payment.fee.dossier
    order = base.PaymentOrder(
        reference=payment.reference,
        amount=int(payment.amount),
        procedure_code=dossier.procedure_version.procedure.code,
        dossier_code=dossier.code or str(dossier.reference),
        payer_name=dossier.applicant_name,
        description=f"Phí, lệ phí hồ sơ {dossier.code or dossier.reference}",
        return_url=_site(reverse("payment:return", args=[payment.reference])),
        callback_url=_site(reverse("payment:callback")),
        created_at=payment.created_at,
    )
    try:
        started = provider.init(order)
    except ConnectorError as exc:
        log.warning("payment init failed reference=%s reason=%s", payment.reference, exc.reason)
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            if locked.state == State.INITIATED:
                _close(locked, State.FAILED, problem=f"init: {exc.reason}")
        raise _unavailable(exc.reason) from exc
    with transaction.atomic():
        locked = Payment.objects.select_for_update().get(pk=payment.pk)
        if locked.state == State.INITIATED:
            locked.state = State.PENDING
            locked.redirect_url = started.redirect_url
            locked.transaction_id = started.transaction_id
            locked.save(update_fields=["state", "redirect_url", "transaction_id", "updated_at"])
    return started.redirect_url


def _close(payment: Payment, state: str, *, problem: str = "") -> None:
    payment.state = state
    payment.closed_at = timezone.now()
    payment.problem = problem[:200]
    payment.save(update_fields=["state", "closed_at", "problem", "updated_at"])


# --- Confirmations -----------------------------------------------------------------------------


def _refused(code: str, reason: str, *, reference: str = "", client: str = "") -> CallbackResult:
    security.warning(
        "payment callback refused reason=%s reference=%s client=%s",
        reason,
        reference[:40],
        client,
    )
    return CallbackResult(code)


def payment_callback(*, payload: bytes, content_type: str = "", client: str = "") -> CallbackResult:
    """Apply the platform's server-to-server message; the result names the answer the
    platform expects. Nothing is changed unless the message is signed, names a known
    attempt and its amount."""
    provider = payment_provider()
    if provider is None:
        return _refused("off", "payment-off", client=client)
    try:
        outcome = provider.verify_callback(payload, content_type or "application/json")
    except base.Forged as exc:
        code = "malformed" if exc.reason in ("unreadable", "not-an-object") else "forged"
        return _refused(code, exc.reason, client=client)
    try:
        return _apply(outcome, via=Confirmation.CALLBACK, client=client)
    except DatabaseError as exc:  # busy or unreachable: the platform sends it again
        log.warning("payment callback deferred error=%s", type(exc).__name__)
        return CallbackResult("busy")


def _apply(outcome: base.Outcome, *, via: str, client: str = "") -> CallbackResult:
    now = timezone.now()
    with transaction.atomic():
        payment = (
            Payment.objects.select_for_update()
            .select_related("fee")
            .filter(reference=outcome.reference)
            .first()
        )
        if payment is None:
            return _refused(
                "unknown", "unknown-reference", reference=outcome.reference, client=client
            )
        # A callback always names the amount, and so does any "paid"; a query's "never
        # received" has none.
        missing = outcome.amount is None and (
            via == Confirmation.CALLBACK or outcome.outcome == base.PAID
        )
        if missing or (outcome.amount is not None and outcome.amount != int(payment.amount)):
            return _refused("amount", "amount-mismatch", reference=payment.reference, client=client)
        if payment.state == State.PAID:
            if outcome.outcome != base.PAID:
                log.warning(
                    "payment %s: a late %s after paid, ignored", payment.reference, outcome.outcome
                )
            result = CallbackResult("duplicate", payment)
        elif outcome.outcome == base.PAID:
            payment.state = State.PAID
            payment.paid_at = min(outcome.paid_at or now, now)
            payment.closed_at = now
            payment.transaction_id = outcome.transaction_id or payment.transaction_id
            payment.confirmed_via = via
            payment.callback = outcome.raw
            payment.checked_at = now if via == Confirmation.QUERY else payment.checked_at
            other = Payment.objects.filter(fee_id=payment.fee_id, state=State.PAID).first()
            if other is not None:
                payment.problem = f"fee already paid by {other.reference}: refund this payment"
                log.error("payment %s: %s", payment.reference, payment.problem)
            payment.save()
            result = CallbackResult("ok", payment)
        elif outcome.outcome in (base.FAILED, base.CANCELLED):
            if payment.state in OPEN:
                payment.state = State.FAILED if outcome.outcome == base.FAILED else State.CANCELLED
                payment.closed_at = now
                payment.confirmed_via = via
                payment.callback = outcome.raw
                payment.save()
            result = CallbackResult("ok", payment)
        else:  # still pending at the platform
            result = CallbackResult("ok", payment)
    if payment.state == State.PAID and payment.fee_recorded_at is None and not payment.problem:
        _record_fee(payment)
    return result


def _record_fee(payment: Payment) -> None:
    """Mark the fee paid with this attempt (fee_mark_paid); what fails here is tried again
    by the reconciliation, or, when the fee cannot take it, kept as a problem to refund."""
    fee = payment.fee
    try:
        recorded = fee_mark_paid(
            fee=fee,
            channel=FeeChannel.ONLINE,
            reference=payment.reference,
            amount=payment.amount,
            paid_at=payment.paid_at,
            by=None,
        )
    except TaskBusy:
        log.warning("payment %s: the dossier is busy; the fee is recorded later", payment.reference)
        return
    except (ActionNotAllowed, ValidationError, PermissionDenied) as exc:
        problem = f"fee not recorded ({' '.join(getattr(exc, 'messages', [str(exc)]))}): refund"
        log.error("payment %s: %s", payment.reference, problem)
        Payment.objects.filter(pk=payment.pk).update(problem=problem[:200])
        payment.problem = problem[:200]
        return
    problem = ""
    if not recorded:
        fee.refresh_from_db()
        if fee.reference != payment.reference:
            problem = f"fee already paid ({fee.channel} {fee.reference}): refund this payment"
            log.error("payment %s: %s", payment.reference, problem)
    now = timezone.now()
    Payment.objects.filter(pk=payment.pk).update(fee_recorded_at=now, problem=problem[:200])
    payment.fee_recorded_at, payment.problem = now, problem[:200]


def payment_return_check(*, params: dict[str, str], payment: Payment) -> str:
    """What the platform's return says (paid, failed, ...), or "" when it cannot be
    trusted (logged). Never applied: only the callback or a query confirms a payment."""
    provider = payment_provider()
    if provider is None:
        return ""
    try:
        outcome = provider.read_return(params)
    except base.Forged as exc:
        security.warning(
            "payment return not signed reason=%s reference=%s", exc.reason, payment.reference
        )
        return ""
    if outcome.reference != payment.reference:
        security.warning("payment return for another reference=%s", payment.reference)
        return ""
    return outcome.outcome


def payment_refresh(*, payment: Payment) -> Payment:
    """Ask the platform about one open attempt now and apply its answer (the return page,
    a second click on an old attempt). A failure to ask leaves it as it was."""
    provider = payment_provider()
    if provider is None or payment.state not in OPEN:
        return payment
    try:
        outcome = provider.query(payment.reference)
    except ConnectorError as exc:
        log.info("payment %s: query failed reason=%s", payment.reference, exc.reason)
        return payment
    _apply(outcome, via=Confirmation.QUERY)
    Payment.objects.filter(pk=payment.pk).update(checked_at=timezone.now())
    payment.refresh_from_db()
    return payment


def payment_reconcile() -> dict[str, int]:
    """The periodic job: what the platform says of attempts open too long; fees of paid
    attempts not yet recorded. Idempotent; what it cannot reach now it tries next time."""
    done = {"checked": 0, "paid": 0, "closed": 0, "errors": 0, "recorded": 0}
    provider = payment_provider()
    if provider is None:
        return done
    options = _options()
    now = timezone.now()
    older = now - dt.timedelta(minutes=options.get("PENDING_MINUTES", 15))
    expired = now - dt.timedelta(hours=options.get("EXPIRE_HOURS", 24))
    due = Payment.objects.filter(state__in=OPEN, created_at__lte=older).order_by("created_at")
    for payment in due[:RECONCILE_BATCH]:
        try:
            outcome = provider.query(payment.reference)
        except ConnectorError as exc:
            log.warning(
                "payment reconcile: %s not checked reason=%s", payment.reference, exc.reason
            )
            done["errors"] += 1
            continue
        done["checked"] += 1
        result = _apply(outcome, via=Confirmation.QUERY)
        with transaction.atomic():
            locked = Payment.objects.select_for_update().get(pk=payment.pk)
            locked.checked_at = now
            locked.save(update_fields=["checked_at", "updated_at"])
            if locked.state in OPEN and locked.created_at <= expired:
                _close(locked, State.FAILED, problem="expired")
        if result.code == "ok" and locked.state == State.PAID:
            done["paid"] += 1
        elif locked.state not in OPEN:
            done["closed"] += 1
    unrecorded = Payment.objects.filter(
        state=State.PAID, fee_recorded_at__isnull=True, problem=""
    ).select_related("fee")
    for payment in unrecorded[:RECONCILE_BATCH]:
        _record_fee(payment)
        done["recorded"] += payment.fee_recorded_at is not None
    log.info("payment reconcile: %s", done)
    return done


# --- Reading -----------------------------------------------------------------------------------


def payment_for_citizen(*, user, reference: str) -> Payment | None:
    """One of ``user``'s own attempts; anyone else's is None (a 404)."""
    if not user.is_authenticated or not isinstance(reference, str) or len(reference) > 32:
        return None
    return (
        Payment.objects.select_related("fee__dossier__procedure_version__procedure")
        .filter(reference=reference, fee__dossier__applicant_user_id=user.pk)
        .first()
    )


# --- The administrators' digest (notifications.alerts) -------------------------------------


def _register_alerts() -> None:
    """Payments that need a person (taken twice, or for a fee no longer owed: to refund;
    a fee that could not take the payment) are in the digest, not only in the admin list."""
    from django.utils.translation import pgettext_lazy

    from notifications.alerts import Source, register

    register(
        Source(
            name="payment",
            title=pgettext_lazy("alerts", "Online payments"),
            admin="payment_payment",
            # Money taken that the fee could not take (paid twice, or no longer owed): to
            # refund. Failed or expired attempts took no money and need nobody.
            failed=lambda: Payment.objects.filter(state=State.PAID).exclude(problem=""),
            stuck=lambda before: Payment.objects.none(),
            label=lambda p: f"{p.reference} ({p.state}): {p.problem}",
        )
    )


_register_alerts()
