"""`make db` in one process: migrate, the cache table, the agencies and the catalog; with
--demo (`make demo`, `make run`) the demo data too, still in the same process."""

from io import StringIO

from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor


class Command(BaseCommand):
    help = (
        "Migrate, create the cache table, load the agencies and the procedure catalog: "
        "what `make db` does, in one process and two lines of output; with --demo, "
        "seed_demo after them (DEBUG only, as seed_demo)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--demo", action="store_true", help="then run seed_demo")
        parser.add_argument(
            "--papers-later",
            action="store_true",
            help="with --demo: seed_demo --papers-later (make run renders them in the background)",
        )

    def handle(self, *args, demo=False, papers_later=False, **options):
        connection = connections[DEFAULT_DB_ALIAS]
        executor = MigrationExecutor(connection)
        plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        call_command("migrate", interactive=False, verbosity=0)
        call_command("createcachetable", verbosity=0)
        where = connection.settings_dict["NAME"]
        self.stdout.write(f"database {where}: {len(plan)} migration(s) applied, cache table ready")
        # The loaders' own summaries, without the catalog's line per procedure.
        summaries = []
        for name in ("load_agencies", "load_procedures"):
            out = StringIO()
            call_command(name, stdout=out, no_color=True)
            summaries.append(out.getvalue().strip().splitlines()[-1])
        self.stdout.write("; ".join(summaries))
        if demo:
            call_command("seed_demo", papers_later=papers_later, stdout=self.stdout)
