"""Celery tasks: thin wrappers over connectors.national_portal.sync."""

from celery import shared_task

from .sync import dossier_sync, portal_sync_sweep


@shared_task(acks_late=True)
def sync_dossier(dossier_id: int) -> int:
    """Idempotent: a push already accepted, or being sent by another worker, is skipped."""
    return dossier_sync(dossier_id=dossier_id)


@shared_task
def sweep_portal_sync() -> int:
    return portal_sync_sweep()
