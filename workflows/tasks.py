"""Celery tasks: thin wrappers that load by id and call a service.

Periodic jobs (Celery beat in production, ``manage.py run_periodic_jobs`` in the
embedded default) are collected in ``run_periodic_jobs`` so both fire the same work.
"""

import logging

from celery import shared_task
from viewflow.workflow.timers import fire_due_timers

from .events import due_event_ids, event_dispatch

log = logging.getLogger(__name__)


@shared_task(acks_late=True)
def dispatch_event(event_id: int) -> bool:
    """Failures are retried by the sweep below, with backoff (workflows.events)."""
    return event_dispatch(event_id=event_id)


@shared_task
def dispatch_pending_events() -> int:
    """The sweep: dispatch events whose next attempt is due, including any whose
    after-commit hand-over never happened."""
    return sum(event_dispatch(event_id=event_id) for event_id in due_event_ids())


@shared_task
def fire_flow_timers() -> int:
    """viewflow's due timers (consultation deadlines). Core 2.4 ships no beat task."""
    return fire_due_timers()


@shared_task
def escalate_tasks() -> dict[str, int]:
    """Due-soon and overdue warnings, once per task and level."""
    from .services.escalation import tasks_escalate

    return tasks_escalate()


@shared_task
def seal_history() -> int:
    """Seal the history's heads, one seal per agency whose dossiers moved; idempotent (a
    second run finds nothing new, or loses the race for the seal's number)."""
    from .services.sealing import history_seal_all

    return history_seal_all()


@shared_task
def apply_retention() -> dict[str, int]:
    """Discard abandoned drafts, erase files past retention; idempotent."""
    from .services.retention import retention_run

    return retention_run()


def _at_once(name: str, job):
    return job()


def run_periodic_jobs(attempt=_at_once) -> dict[str, int | None]:
    """The workflow's periodic jobs once, in-process; what each one did.

    ``attempt(name, job)`` runs each job. The embedded default's loop (``manage.py
    run_periodic_jobs``, which adds the message and document sweeps and the failure
    digest) passes one that logs a failing job, answers None, and lets the others run.
    """
    warned = attempt("time-limit warnings", escalate_tasks)
    done = {
        "timers": attempt("flow timers", fire_flow_timers),
        "events": attempt("event sweep", dispatch_pending_events),
        "warnings": None if warned is None else warned["due_soon"] + warned["overdue"],
        "seals": attempt("history seals", seal_history),
    }
    retention = attempt("retention", apply_retention)
    done.update(retention or {"drafts_discarded": None, "dossiers_erased": None})
    log.info(
        "periodic jobs: %s timer(s) fired, %s event(s) dispatched, %s history seal(s) made",
        done["timers"],
        done["events"],
        done["seals"],
    )
    return done
