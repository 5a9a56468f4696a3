from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from config.demo import seed_demo
from procedures.loader import CatalogError
from workflows.demo import ACCOUNTS


class Command(BaseCommand):
    help = "Create the demo agency tree, accounts (one per role) and dossiers. Safe to rerun."

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="allow it outside DEBUG (never on a real deployment)",
        )

    def handle(self, *args, force=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password; it runs "
                "only with DEBUG=1, or with --force on a throw-away database."
            )
        try:
            result = seed_demo()
        except CatalogError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError("the catalog data has problems; fix them and run again") from exc
        self.stdout.write(
            self.style.SUCCESS(f"demo data ready ({result['dossiers_created']} new dossiers)")
        )
        self.stdout.write(f"Demo logins (password for all: {result['password']}):")
        for account in ACCOUNTS:
            where = f" in {account.agency}" if account.agency else ""
            self.stdout.write(f"  {account.username:<11} {account.role or 'citizen'}{where}")
        self.stdout.write("  admin       site administrator (Django admin)")
        self.stdout.write(
            "Staff logins ask for a two-factor code: `manage.py demo_totp USER` prints the "
            "current one (DEBUG only)."
        )
