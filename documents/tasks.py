"""Celery tasks: thin wrappers around documents.services."""

from celery import shared_task

from .services import MAX_ATTEMPTS, document_render, documents_sweep


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=(Exception,),
    retry_backoff=30,
    retry_backoff_max=600,
    max_retries=MAX_ATTEMPTS - 1,
)
def render_document(self, document_id: int) -> str:
    """Idempotent: a stored document is returned as it is. After the last attempt the
    document shows as failed in the admin, with a retry action."""
    return document_render(document_id=document_id).sha256


@shared_task
def sweep_documents() -> int:
    """Render what the after-commit hand-over missed (a broker outage, a crash)."""
    return documents_sweep()
