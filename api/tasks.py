"""Celery tasks: thin wrappers over api.webhooks."""

from celery import shared_task

from .webhooks import delivery_send, webhooks_sweep


@shared_task(acks_late=True)
def deliver_webhook(delivery_id: int) -> str | None:
    """Idempotent: a delivery already sent, or being sent by another worker, is skipped."""
    return delivery_send(delivery_id=delivery_id)


@shared_task
def sweep_webhooks() -> int:
    return webhooks_sweep()


@shared_task
def prune_api_records() -> dict[str, int]:
    from .services import api_records_prune

    return api_records_prune()
