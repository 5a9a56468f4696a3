from django.core.management.base import BaseCommand, CommandError

from workflows.history import verify_all


class Command(BaseCommand):
    help = "Check every dossier's hash-chained history and report the first broken link."

    def add_arguments(self, parser):
        parser.add_argument(
            "--all", action="store_true", help="report every broken dossier, not only the first"
        )

    def handle(self, *args, all=False, **options):
        broken = 0
        for problem in verify_all():
            broken += 1
            self.stderr.write(f"BROKEN: {problem}")
            if not all:
                break
        if broken:
            raise CommandError("the history chain is broken (see above)")
        self.stdout.write(self.style.SUCCESS("history intact: every chain verifies"))
