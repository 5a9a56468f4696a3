"""Celery tasks: thin wrappers over notifications.services."""

from celery import shared_task

from .services import message_deliver, messages_sweep


@shared_task(acks_late=True)
def deliver_message(message_id: int) -> str | None:
    return message_deliver(message_id=message_id)


@shared_task
def sweep_messages() -> int:
    return messages_sweep()


@shared_task
def alert_failures() -> int:
    """Mail administrators a digest of newly failed or stuck items (notifications.alerts)."""
    from .alerts import alerts_send

    return alerts_send()
