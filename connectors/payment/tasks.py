"""Celery tasks of online payment: thin, idempotent."""

from celery import shared_task


@shared_task
def reconcile_payments() -> dict[str, int]:
    """Beat's ``reconcile-payments`` (and ``run_periodic_jobs``): the platform is asked
    about attempts open too long (connectors.payment.services.payment_reconcile)."""
    from .services import payment_reconcile

    return payment_reconcile()
