import logging
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from api.services import api_records_prune
from api.webhooks import webhooks_sweep
from connectors.national_portal.sync import portal_sync_sweep
from connectors.payment.services import payment_reconcile
from documents.services import documents_sweep
from notifications.alerts import alerts_send
from notifications.services import messages_sweep
from workflows.tasks import run_periodic_jobs

log = logging.getLogger(__name__)

FAILED = "failed"

# Waiting between rounds: a module attribute, so that a test can count the rounds.
sleep = time.sleep


def close_stale_connections() -> None:
    """django.db.close_old_connections, but leaving alone a connection inside a caller's
    transaction (call_command from a test or a script), which it would close."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (time-limit warnings, flow timers, event, message, document "
        "and webhook sweeps, the national portal sync, payment reconciliation, history seals, "
        "retention, the failure digest) "
        "once, or every N seconds with --every. Production runs them from Celery beat."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--every",
            type=int,
            default=0,
            metavar="SECONDS",
            help="keep running, once every SECONDS (at least 5)",
        )

    def handle(self, *args, every=0, **options):
        while True:
            failed = self.round()
            if every <= 0:
                if failed:
                    raise CommandError(f"failed: {', '.join(failed)} (tracebacks above)")
                return
            sleep(max(every, 5))

    def round(self) -> list[str]:
        """Each job once, each on its own: one that fails (a locked SQLite database, a
        lost connection, a bug) is logged with its traceback and the others still run;
        with --every the loop goes on, and the failed job is tried again next round."""
        failed = []

        def attempt(name, job):
            # A connection that broke in the previous job or round is not reused.
            close_stale_connections()
            try:
                return job()
            except Exception:
                log.exception("periodic job %r failed; the others go on", name)
                failed.append(name)
                return None

        def shown(value):
            return FAILED if value is None else value

        done = attempt("workflow jobs", lambda: run_periodic_jobs(attempt=attempt)) or {}
        sent = attempt("message sweep", messages_sweep)
        rendered = attempt("document sweep", documents_sweep)
        posted = attempt("webhook sweep", webhooks_sweep)
        pushed = attempt("national portal sync", portal_sync_sweep)
        # Online payments open too long: asked of the payment platform.
        reconciled = attempt("payment reconciliation", payment_reconcile)
        # Old API call records and idempotency keys (a daily job under beat; cheap here).
        attempt("API records prune", api_records_prune)
        alerted = attempt("failure digest", alerts_send)
        close_stale_connections()
        self.stdout.write(
            f"timers fired: {shown(done.get('timers'))}, "
            f"events dispatched: {shown(done.get('events'))}, "
            f"warnings given: {shown(done.get('warnings'))}, "
            f"messages sent: {shown(sent)}, documents rendered: {shown(rendered)}, "
            f"webhooks delivered: {shown(posted)}, "
            f"national portal steps synced: {shown(pushed)}, "
            f"payments reconciled: {shown(reconciled and reconciled['checked'])}, "
            f"history seals made: {shown(done.get('seals'))}, "
            f"drafts discarded: {shown(done.get('drafts_discarded'))}, "
            f"dossiers' files erased: {shown(done.get('dossiers_erased'))}, "
            f"failures reported: {shown(alerted)}"
        )
        return failed
