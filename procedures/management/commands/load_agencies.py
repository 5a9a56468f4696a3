from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from procedures.loader import CatalogError, load_agencies


class Command(BaseCommand):
    help = "Create or update the agency tree from its data file (procedures/data/agencies.yaml)."

    def add_arguments(self, parser):
        parser.add_argument("--file", type=Path, help="agencies file (default: settings)")

    def handle(self, *args, file=None, **options):
        try:
            count = load_agencies(file)
        except CatalogError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError("the agency file has problems; nothing was loaded.") from exc
        self.stdout.write(self.style.SUCCESS(f"agencies loaded: {count}"))
