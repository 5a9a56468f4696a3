"""Outgoing events: written with the change that caused them, dispatched after commit.

Consumers (notifications, documents) register a handler per event name with
``@handles("dossier.received")``. A handler must be idempotent: an event can be handed
to it again after a crash between the handler's work and the dispatch mark.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from .models import Dossier, DossierTask, HistoryEntry, OutgoingEvent

log = logging.getLogger(__name__)

Handler = Callable[[OutgoingEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)
# Run inside the transaction that writes the event, so what they write (the messages of
# the notifications outbox) commits or rolls back with the change itself.
_expanders: dict[str, list[Handler]] = defaultdict(list)


def expands(name: str) -> Callable[[Handler], Handler]:
    """Register ``func(event)`` to run in the event's own transaction ("*": every event)."""

    def register(func: Handler) -> Handler:
        _expanders[name].append(func)
        return func

    return register


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _handlers[name].append(func)
        return func

    return register


def handlers_for(name: str) -> list[Handler]:
    return list(_handlers.get(name, ()))


def retry_schedule(hours: int, cap_minutes: int) -> list[int]:
    """The wait in minutes after each failed attempt: 1, 2, 4, … at most ``cap_minutes``,
    until the waits cover ``hours`` (72 hours, as GOV.UK Notify: a relay down for an
    afternoon, or over a weekend night, delays messages but fails none)."""
    waits: list[int] = []
    while sum(waits) < max(hours, 0) * 60 or not waits:
        waits.append(min(2 ** len(waits), max(cap_minutes, 1)))
    return waits


RETRY_WAITS = retry_schedule(settings.MOTCUA["RETRY_HOURS"], settings.MOTCUA["RETRY_MAX_MINUTES"])
# Messages and events: the first attempt, then one after each wait.
MAX_ATTEMPTS = len(RETRY_WAITS) + 1


def backoff(attempts: int) -> dt.timedelta:
    """How long to wait after failed attempt number ``attempts`` (see retry_schedule)."""
    return dt.timedelta(minutes=RETRY_WAITS[min(max(attempts, 1), len(RETRY_WAITS)) - 1])


def event_record(
    *,
    name: str,
    dossier: Dossier | None,
    payload: dict | None = None,
    entry: HistoryEntry | None = None,
    task: DossierTask | None = None,
) -> OutgoingEvent:
    """Write an event in the current transaction and dispatch it once that commits.

    ``entry`` (the history entry the event reports) and ``task`` (the task it is about,
    named in the payload) are handed to the expanders as ``event.history_entry`` and
    ``event.task``, so they need not read back what was just written.
    """
    # An event no handler takes (its consumers are all expanders, run just below) has
    # nothing to dispatch: it is written dispatched, and no worker is asked to mark it so.
    # The handlers are registered when the apps are ready, in every process alike.
    idle = not _handlers.get(name)
    event = OutgoingEvent.objects.create(
        name=name,
        dossier=dossier,
        payload=payload or {},
        dispatched_at=timezone.now() if idle else None,
    )
    event.history_entry = entry
    event.task = task
    for expand in [*_expanders.get(name, ()), *_expanders.get("*", ())]:
        expand(event)
    if idle:
        return event

    def _dispatch():
        from config.handoff import handoff

        from .tasks import dispatch_event

        handoff(dispatch_event, event.pk)

    # robust: the change is already committed; a broker outage must not turn it into an
    # error page (nor a slow one: config.handoff makes one bounded attempt). The sweep
    # dispatches what was not handed over.
    transaction.on_commit(_dispatch, robust=True)
    return event


def event_dispatch(*, event_id: int) -> bool:
    """Run the handlers of one pending event; True when it is (now or already) dispatched."""
    with transaction.atomic():
        event = (
            OutgoingEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True, failed_at__isnull=True)
            .first()
        )
        if event is None:
            return True
        event.attempts += 1
        try:
            for handler in handlers_for(event.name):
                with transaction.atomic():
                    handler(event)
        except Exception as exc:  # a failing handler must not lose the event
            now = timezone.now()
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            if event.attempts >= MAX_ATTEMPTS:
                event.failed_at = now
            else:
                event.next_attempt_at = now + backoff(event.attempts)
            event.save(update_fields=["attempts", "last_error", "failed_at", "next_attempt_at"])
            log.warning("event %s (%s) failed on attempt %s", event.pk, event.name, event.attempts)
            return False
        event.dispatched_at = timezone.now()
        event.last_error = ""
        event.save(update_fields=["attempts", "dispatched_at", "last_error"])
    return True


def event_retry(*, event_id: int) -> bool:
    """An administrator's retry of a failed event: it gets a fresh round of attempts."""
    OutgoingEvent.objects.filter(pk=event_id, dispatched_at__isnull=True).update(
        failed_at=None, attempts=0, next_attempt_at=timezone.now()
    )
    return event_dispatch(event_id=event_id)


def due_event_ids(limit: int = 500) -> list[int]:
    """Pending events whose next attempt is due, soonest first."""
    return list(
        OutgoingEvent.objects.filter(
            dispatched_at__isnull=True, failed_at__isnull=True, next_attempt_at__lte=timezone.now()
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
