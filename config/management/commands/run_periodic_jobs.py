import time

from django.core.management.base import BaseCommand

from documents.services import documents_sweep
from notifications.services import messages_sweep
from workflows.tasks import run_periodic_jobs


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (time-limit warnings, flow timers, event and message sweeps, "
        "history seals) "
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
            done = run_periodic_jobs()
            sent = messages_sweep()
            rendered = documents_sweep()
            self.stdout.write(
                f"timers fired: {done['timers']}, events dispatched: {done['events']}, "
                f"warnings given: {done['warnings']}, messages sent: {sent}, "
                f"documents rendered: {rendered}, history seals made: {done['seals']}"
            )
            if every <= 0:
                return
            time.sleep(max(every, 5))
