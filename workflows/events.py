"""Outgoing events: written with the change that caused them, dispatched after commit.

Consumers (notifications, documents) register a handler per event name with
``@handles("dossier.received")``. A handler must be idempotent: an event can be handed
to it again after a crash between the handler's work and the dispatch mark.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable

from django.db import transaction
from django.utils import timezone

from .models import Dossier, OutgoingEvent

log = logging.getLogger(__name__)

Handler = Callable[[OutgoingEvent], None]
_handlers: dict[str, list[Handler]] = defaultdict(list)


def handles(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        _handlers[name].append(func)
        return func

    return register


def handlers_for(name: str) -> list[Handler]:
    return list(_handlers.get(name, ()))


def event_record(
    *, name: str, dossier: Dossier | None, payload: dict | None = None
) -> OutgoingEvent:
    """Write an event in the current transaction and dispatch it once that commits."""
    event = OutgoingEvent.objects.create(name=name, dossier=dossier, payload=payload or {})

    def _dispatch():
        from .tasks import dispatch_event

        dispatch_event.delay(event.pk)

    transaction.on_commit(_dispatch)
    return event


def event_dispatch(*, event_id: int) -> bool:
    """Run the handlers of one pending event; True when it is (now or already) dispatched."""
    with transaction.atomic():
        event = (
            OutgoingEvent.objects.select_for_update(skip_locked=True)
            .filter(pk=event_id, dispatched_at__isnull=True)
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
            event.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            event.save(update_fields=["attempts", "last_error"])
            log.warning("event %s (%s) failed on attempt %s", event.pk, event.name, event.attempts)
            return False
        event.dispatched_at = timezone.now()
        event.last_error = ""
        event.save(update_fields=["attempts", "dispatched_at", "last_error"])
    return True


def pending_event_ids(limit: int = 500) -> list[int]:
    return list(
        OutgoingEvent.objects.filter(dispatched_at__isnull=True)
        .order_by("created_at")
        .values_list("pk", flat=True)[:limit]
    )
