"""Pushing each dossier's national status to the national portal, through the outbox, in
order.

Writing. ``portal_expand`` runs in the transaction of every dossier change
(workflows.events' ``@expands("*")``): when the change moves the dossier to another
national status (workflows.national_status, the one map), it writes a ``PortalPush``
for the step; a withdrawal writes two (7, the request, then 8). A change that keeps the
national status (in review → approved: both 4) writes none. When the connector is off
(no BACKEND) nothing is written.

Order. The portal knows a dossier by its code, which motcua gives at reception (or by the
portal's own code, for a dossier it forwarded): a push waits until the dossier has one,
so status 1 goes once the dossier is received, just before 2. A push is not sent while an
earlier push of its dossier is not yet accepted: pending (being retried) **or failed**.
So a push that fails for good holds the dossier's later ones back (the portal never sees
a later status before an earlier one): an administrator resends it (admin, "Resend"),
and once accepted the ones behind it follow in order. A dossier that ends without a code
(refused at the desk, withdrawn before reception) is never pushed: its steps are marked
skipped (the portal could not file them under any code).

Sending (``push_send``) as webhooks do: claim (a short transaction marks it sending and
counts the attempt), call the portal outside any transaction, record the outcome.

Failure. Down, a timeout, a 5xx, and an answer that cannot be read (``malformed``: it is
not known whether the portal took it, and sending a step again is harmless) are retried
with the outbox's backoff (1, 2, 4 … 60 minutes for 72 hours), then failed. A refusal
(an error code other than "0", or a 4xx) fails at once: sending the same again would be
refused again. What failed is in the admin and in the administrators' digest.
"""

from __future__ import annotations

import datetime as dt
import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from connectors.http import REFUSED, ConnectorError
from workflows import national_status as national
from workflows.events import MAX_ATTEMPTS, backoff, expands
from workflows.models import FINAL, Dossier, OutgoingEvent

from .adapter import portal
from .models import DossierSync, ForwardedDossier, PortalPush, PushStatus, SyncState
from .payload import portal_code, portal_payload

log = logging.getLogger(__name__)

NO_CODE = "the dossier ended without a dossier code: the portal files dossiers by code"


def _options() -> dict:
    return settings.MOTCUA["CONNECTORS"].get("national_portal", {})


def stuck_after() -> dt.timedelta:
    return dt.timedelta(seconds=int(_options().get("STUCK_SECONDS") or 300))


def steps_for(event: OutgoingEvent) -> list[national.NationalStatus]:
    """The national statuses an event reports, in order (none for most events)."""
    if not event.name.startswith("dossier.") or not event.payload.get("status"):
        return []
    found = national.BY_STATUS.get(str(event.payload["status"]))
    if found is None:
        return []
    before = national.BY_EVENT.get(event.name.split(".", 1)[1])
    return [before, found] if before else [found]


# --- Dossiers the portal forwards ---------------------------------------------------------

PORTAL_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


def dossier_mark_forwarded(*, dossier: Dossier, portal_code: str) -> ForwardedDossier:
    """Record that the national portal forwarded ``dossier`` under ``portal_code`` (before
    it is filed, in the filing's transaction: its pushes then name that code, from status
    1 on). A code the portal forwarded before is refused: one dossier per code."""
    if not isinstance(portal_code, str) or not PORTAL_CODE.fullmatch(portal_code):
        raise ValidationError(
            {"source_code": [_("Give the portal's dossier code: letters, digits, . - _")]}
        )
    if ForwardedDossier.objects.filter(portal_code=portal_code).exists():
        raise ValidationError(
            {"source_code": [_("A dossier with this national portal code was already filed.")]}
        )
    try:
        with transaction.atomic():
            return ForwardedDossier.objects.create(dossier=dossier, portal_code=portal_code)
    except IntegrityError:  # the same code forwarded twice at the same moment
        raise ValidationError(
            {"source_code": [_("A dossier with this national portal code was already filed.")]}
        ) from None


# --- Writing (in the change's own transaction) ---------------------------------------------


@expands("*")
def portal_expand(event: OutgoingEvent) -> list[PortalPush]:
    dossier = event.dossier
    if dossier is None or not portal.enabled():
        return []
    steps = steps_for(event)
    if not steps:
        return []
    last = (
        PortalPush.objects.filter(dossier_id=dossier.pk)
        .order_by("-pk")
        .values_list("national_status", flat=True)
        .first()
    )
    seq = event.payload.get("seq")
    made = []
    for step in steps:
        if step.code == last:
            continue
        made.append(
            PortalPush(
                dossier_id=dossier.pk,
                event=event,
                action=event.name.split(".", 1)[1][:40],
                seq=seq if isinstance(seq, int) else None,
                national_status=step.code,
                occurred_at=event.created_at or timezone.now(),
            )
        )
        last = step.code
    if not made:
        return []
    PortalPush.objects.bulk_create(made)
    if dossier.status in FINAL and portal_code(dossier) is None:
        PortalPush.objects.filter(dossier_id=dossier.pk, status=PushStatus.PENDING).update(
            status=PushStatus.SKIPPED, last_error=NO_CODE
        )
    else:
        transaction.on_commit(lambda: _hand_over(dossier.pk), robust=True)
    _refresh_state(dossier.pk)
    return made


def _hand_over(dossier_id: int) -> None:
    from config.handoff import handoff

    from .tasks import sync_dossier

    handoff(sync_dossier, dossier_id)


def _refresh_state(dossier_id: int) -> DossierSync:
    """The dossier's standing, from its pushes."""
    pushes = PortalPush.objects.filter(dossier_id=dossier_id)
    failed = pushes.filter(status=PushStatus.FAILED).order_by("pk").first()
    pending = pushes.filter(status=PushStatus.PENDING).order_by("pk").first()
    accepted = pushes.filter(status=PushStatus.SYNCED).order_by("-pk").first()
    if failed is not None:
        state, error = SyncState.FAILED, failed.last_error
    elif pending is not None:
        state, error = SyncState.PENDING, pending.last_error
    elif accepted is not None:
        state, error = SyncState.SYNCED, ""
    else:
        state, error = SyncState.SKIPPED, NO_CODE
    sync, _created = DossierSync.objects.update_or_create(
        dossier_id=dossier_id,
        defaults={
            "state": state,
            "last_error": error[:500],
            "national_status": accepted.national_status if accepted else None,
            "synced_at": accepted.synced_at if accepted else None,
            "last_tried_at": pushes.aggregate(at=Max("last_tried_at"))["at"],
        },
    )
    return sync


# --- Sending -------------------------------------------------------------------------------


def _unaccepted_before():
    """An earlier push of the same dossier that the portal has not accepted."""
    return PortalPush.objects.filter(
        dossier_id=OuterRef("dossier_id"),
        pk__lt=OuterRef("pk"),
        status__in=(PushStatus.PENDING, PushStatus.FAILED),
    )


def _due(now) -> Q:
    return (
        Q(status=PushStatus.PENDING, next_attempt_at__lte=now)
        & (Q(sending_since__isnull=True) | Q(sending_since__lte=now - stuck_after()))
        # The portal files a dossier by its code: none before reception.
        & (Q(dossier__code__isnull=False) | Q(dossier__forwarded__isnull=False))
    )


def _sendable(now):
    return PortalPush.objects.filter(_due(now)).exclude(Exists(_unaccepted_before()))


def _claim(push_id: int) -> PortalPush | None:
    now = timezone.now()
    with transaction.atomic():
        push = (
            _sendable(now)
            .select_for_update(skip_locked=True, of=("self",))
            .filter(pk=push_id)
            .first()
        )
        if push is None:
            return None
        push.sending_since = now
        push.attempts += 1
        push.save(update_fields=["sending_since", "attempts"])
    return push


def _record(push: PortalPush, claimed_at, error: Exception | None) -> str | None:
    now = timezone.now()
    with transaction.atomic():
        current = (
            PortalPush.objects.select_for_update()
            .filter(
                pk=push.pk,
                status=PushStatus.PENDING,
                attempts=push.attempts,
                sending_since=claimed_at,
            )
            .first()
        )
        if current is None:  # taken over meanwhile (it had been "sending" too long)
            return None
        current.sending_since = None
        current.last_tried_at = now
        if error is None:
            current.status = PushStatus.SYNCED
            current.synced_at = now
            current.last_reason = current.last_error = current.portal_error_code = ""
        else:
            refused = isinstance(error, ConnectorError) and error.reason == REFUSED
            current.last_reason = getattr(error, "reason", "error")[:16]
            current.last_error = str(error)[:500]
            current.portal_error_code = str(
                getattr(error, "portal_code", "") or getattr(error, "status", "") or ""
            )[:32]
            if refused or current.attempts >= MAX_ATTEMPTS:
                current.status = PushStatus.FAILED
                current.failed_at = now
            else:
                current.next_attempt_at = now + backoff(current.attempts)
        current.save()
        _refresh_state(current.dossier_id)
    log.info(
        "national portal push %s (dossier %s, status %s): %s after attempt %s%s",
        current.pk,
        current.dossier_id,
        current.national_status,
        current.status,
        current.attempts,
        f" ({current.last_reason})" if error is not None else "",
    )
    return current.status


def push_send(*, push_id: int) -> str | None:
    """Send one push now if it may go; its new status (None: not due, taken, or off)."""
    adapter = portal.get()
    if adapter is None:
        return None
    push = _claim(push_id)
    if push is None:
        return None
    error: Exception | None = None
    try:
        dossier = Dossier.objects.select_related(
            "procedure_version__procedure", "handling_agency"
        ).get(pk=push.dossier_id)
        adapter.push(portal_payload(push, dossier))
    except ConnectorError as exc:
        error = exc
    except Exception as exc:  # a bug here must not lose the push: recorded, retried
        log.exception("national portal push %s could not be sent", push.pk)
        error = exc
    return _record(push, push.sending_since, error)


def dossier_sync(*, dossier_id: int) -> int:
    """Send a dossier's due pushes, in order, until one is not accepted; how many were."""
    synced = 0
    while True:
        push_id = (
            _sendable(timezone.now())
            .filter(dossier_id=dossier_id)
            .order_by("pk")
            .values_list("pk", flat=True)
            .first()
        )
        if push_id is None or push_send(push_id=push_id) != PushStatus.SYNCED:
            return synced
        synced += 1


def portal_sync_sweep(limit: int = 500) -> int:
    """Send whatever may go now (retries due, missed hand-offs, steps that waited for the
    dossier's code, what a dead worker left "sending"); how many pushes were accepted."""
    if not portal.enabled():
        return 0
    dossier_ids = list(
        _sendable(timezone.now())
        .order_by("dossier_id")
        .values_list("dossier_id", flat=True)
        .distinct()[:limit]
    )
    return sum(dossier_sync(dossier_id=pk) for pk in dossier_ids)


def push_resend(*, push: PortalPush) -> bool:
    """An administrator's resend of a failed push: a fresh round of attempts, now; the
    dossier's later pushes follow it once it is accepted. False if it had not failed."""
    resent = PortalPush.objects.filter(pk=push.pk, status=PushStatus.FAILED).update(
        status=PushStatus.PENDING,
        attempts=0,
        failed_at=None,
        sending_since=None,
        next_attempt_at=timezone.now(),
    )
    if resent:
        _refresh_state(push.dossier_id)
        dossier_id = push.dossier_id
        transaction.on_commit(lambda: _hand_over(dossier_id), robust=True)
    return bool(resent)


# --- The administrators' digest (notifications.alerts) -------------------------------------


def _register_alerts() -> None:
    from notifications.alerts import Source, register

    register(
        Source(
            name="national_portal",
            title=pgettext_lazy("alerts", "National portal sync"),
            admin="national_portal_portalpush",
            failed=lambda: PortalPush.objects.filter(status=PushStatus.FAILED),
            # Waiting for long, not because of a code still to come or a failure before it.
            stuck=lambda before: PortalPush.objects.filter(
                Q(dossier__code__isnull=False) | Q(dossier__forwarded__isnull=False),
                status=PushStatus.PENDING,
                created_at__lt=before,
            ).exclude(
                Exists(
                    PortalPush.objects.filter(
                        dossier_id=OuterRef("dossier_id"),
                        pk__lt=OuterRef("pk"),
                        status=PushStatus.FAILED,
                    )
                )
            ),
            label=lambda p: f"{p.dossier.reference} → {p.national_status} ({p.last_reason})",
        )
    )


_register_alerts()
