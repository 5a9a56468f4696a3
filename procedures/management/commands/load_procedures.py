from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from procedures.loader import CatalogError, load_procedures


class Command(BaseCommand):
    help = "Validate and load the procedure catalog (procedures/catalog/*.yaml), all or nothing."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, help="catalog folder (default: settings)")

    def handle(self, *args, dir=None, **options):
        try:
            report = load_procedures(dir)
        except CatalogError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(exc.problems)} problem(s) in the catalog; nothing was loaded."
            ) from exc
        for label, items in (
            ("created", report.created),
            ("new version", report.new_versions),
            ("unchanged", report.unchanged),
            ("kept (a newer version was published in the admin)", report.kept),
            ("unpublished (file removed)", report.unpublished),
        ):
            for item in items:
                self.stdout.write(f"{label}: {item}")
        self.stdout.write(
            self.style.SUCCESS(
                f"catalog loaded: {len(report.created)} created, {len(report.new_versions)} new "
                f"version(s), {len(report.unchanged)} unchanged, {len(report.unpublished)} unpublished"
            )
        )
