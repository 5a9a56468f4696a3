import logging

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
        parser.add_argument(
            "--papers-later",
            action="store_true",
            help="leave the demo's papers pending, for `render_documents` in another "
            "process (make run does; the signed results are rendered all the same)",
        )

    def handle(self, *args, force=False, papers_later=False, **options):
        if not settings.DEBUG and not force:
            raise CommandError(
                "seed_demo creates accounts with a published password; it runs "
                "only with DEBUG=1, or with --force on a throw-away database."
            )
        # The demo's INFO lines (a line per message delivered, ...) would flood the
        # terminal of `make run`: shown only with -v 2.
        quiet = options["verbosity"] < 2
        if quiet:
            logging.disable(logging.INFO)
        try:
            result = seed_demo(papers_later=papers_later)
        except CatalogError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError("the catalog data has problems; fix them and run again") from exc
        finally:
            if quiet:
                logging.disable(logging.NOTSET)
        logins = ", ".join([account.username for account in ACCOUNTS] + ["admin"])
        pending = result["papers_pending"]
        # One line: `make run` prints the logins, with the URLs, once the server starts.
        self.stdout.write(
            self.style.SUCCESS(f"demo data ready ({result['dossiers_created']} new dossiers)")
            + f"; logins {logins} (password {result['password']})"
            + (f"; {pending} papers to render" if pending else "")
            + (f"; demo mail in {settings.EMAIL_FILE_PATH}/" if _mail_in_files() else "")
        )
        if options["verbosity"] > 1:
            for account in ACCOUNTS:
                where = f" in {account.agency}" if account.agency else ""
                self.stdout.write(f"  {account.username:<11} {account.role or 'citizen'}{where}")
            self.stdout.write("  admin       site administrator (Django admin)")
            self.stdout.write(
                "Staff logins ask for a two-factor code: `manage.py demo_totp USER` prints "
                "the current one (DEBUG only)."
            )


def _mail_in_files() -> bool:
    return settings.EMAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend"
