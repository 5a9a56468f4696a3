"""Celery tasks: thin wrappers that load by id and call a service."""

from celery import shared_task

from .events import event_dispatch, pending_event_ids


@shared_task(acks_late=True, max_retries=5)
def dispatch_event(event_id: int) -> bool:
    return event_dispatch(event_id=event_id)


@shared_task
def dispatch_pending_events() -> int:
    """The sweeper: dispatch whatever the after-commit hook did not get to."""
    done = 0
    for event_id in pending_event_ids():
        done += event_dispatch(event_id=event_id)
    return done
