"""Celery tasks: thin wrappers that load by id and call a service."""

from celery import shared_task

from .events import due_event_ids, event_dispatch


@shared_task(acks_late=True)
def dispatch_event(event_id: int) -> bool:
    """Failures are retried by the sweep below, with backoff (workflows.events)."""
    return event_dispatch(event_id=event_id)


@shared_task
def dispatch_pending_events() -> int:
    """The sweep: dispatch events whose next attempt is due, including any whose
    after-commit hand-over never happened."""
    return sum(event_dispatch(event_id=event_id) for event_id in due_event_ids())
