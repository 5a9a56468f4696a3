"""Django's migrate, connected as the tables' owner when DATABASE_MIGRATE_URL is set."""

from django.core.management.commands import migrate

from config.dbroles import as_owner


class Command(migrate.Command):
    def handle(self, *args, **options):
        with as_owner(options["database"]):
            return super().handle(*args, **options)
