import time

from django.core.management.base import BaseCommand

from workflows.tasks import run_periodic_jobs


class Command(BaseCommand):
    help = (
        "Run the periodic jobs (flow timers, outbox sweep) once, or every N seconds with "
        "--every. Production runs them from Celery beat instead."
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
            self.stdout.write(
                f"timers fired: {done['timers']}, events dispatched: {done['events']}"
            )
            if every <= 0:
                return
            time.sleep(max(every, 5))
