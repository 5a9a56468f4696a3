"""Django's flush, which empties every table, the history included.

On PostgreSQL the history refuses TRUNCATE (workflows migration 0015) unless the session
says ``motcua.truncate_history = on`` and the role owns the tables: flush says so, because
emptying the whole database is what it is for (the test suite's teardown uses it)."""

from django.core.management.commands import flush
from django.db import connections

from config.dbroles import as_owner


class Command(flush.Command):
    def handle(self, **options):
        connection = connections[options["database"]]
        with as_owner(options["database"]):
            if connection.vendor != "postgresql":
                return super().handle(**options)
            with connection.cursor() as cursor:
                cursor.execute("SET motcua.truncate_history = 'on'")
            try:
                return super().handle(**options)
            finally:
                with connection.cursor() as cursor:
                    cursor.execute("RESET motcua.truncate_history")
