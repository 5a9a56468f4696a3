"""Django's createcachetable, as the tables' owner when DATABASE_MIGRATE_URL is set."""

from django.core.management.commands import createcachetable

from config.dbroles import as_owner


class Command(createcachetable.Command):
    def handle(self, *args, **options):
        with as_owner(options["database"]):
            return super().handle(*args, **options)
