from django.core.management.base import BaseCommand, CommandError

from workflows.history import verify_all
from workflows.models import HistorySeal


class Command(BaseCommand):
    help = (
        "Check every dossier's hash-chained history, its head and status, and every history "
        "seal; report the first break (or all with --all), with the dossier and its kind."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="report every broken dossier, not only the first"
        )

    def handle(self, *args, all=False, **options):
        broken = 0
        for problem in verify_all():
            broken += 1
            self.stderr.write(f"BROKEN [{problem.kind}]: {problem}")
            if not all:
                break
        if broken:
            raise CommandError("the history chain is broken (see above)")
        seals = HistorySeal.objects.count()
        self.stdout.write(
            self.style.SUCCESS(
                f"history intact: every chain verifies, and {seals} seal(s) of its heads"
            )
        )
