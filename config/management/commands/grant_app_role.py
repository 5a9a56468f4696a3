"""Give the application's PostgreSQL role what it needs, and nothing that would let it
rewrite the history: run as the tables' owner (DATABASE_MIGRATE_URL), after migrate.

The role reads and writes every table, but only reads and appends the history and its
seals (no UPDATE, DELETE or TRUNCATE there), and since it owns nothing it cannot ALTER a
table, switch a trigger off or replace the triggers' functions. Default privileges give it
the same on the tables later migrations create.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from config.dbroles import as_owner
from workflows.models import AppendOnlyModel


def append_only_models() -> list:
    """Every append-only table (the history, its seals, the access record): the app's role
    may read and add rows there, never change, delete or truncate them."""
    from django.apps import apps

    return [model for model in apps.get_models() if issubclass(model, AppendOnlyModel)]


class Command(BaseCommand):
    help = (
        "Grant the application's database role (PostgreSQL) read and write on every table "
        "but append-only on the history, as the tables' owner (DATABASE_MIGRATE_URL)."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role motcua connects as (DATABASE_URL's user)")
        parser.add_argument("--database", default="default")

    def handle(self, *args, role, database, **options):
        connection = connections[database]
        if connection.vendor != "postgresql":
            raise CommandError("database roles exist on PostgreSQL only")
        with as_owner(database), connection.cursor() as cursor:
            self._grant(cursor, role)
        self.stdout.write(
            self.style.SUCCESS(
                f"{role}: read and write on every table, append-only on the history; "
                "it owns no table"
            )
        )

    def _grant(self, cursor, role: str) -> None:
        from psycopg import sql

        cursor.execute("SELECT current_user, current_schema(), current_database()")
        owner, schema, database = cursor.fetchone()
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [role])
        found = cursor.fetchone()
        if found is None:
            raise CommandError(f"there is no role {role}: CREATE ROLE {role} LOGIN PASSWORD ...")
        if found[0]:
            raise CommandError(f"{role} is a superuser: it could switch every trigger off")
        if role == owner:
            raise CommandError(
                f"{role} is the role connected now, the tables' owner: set DATABASE_MIGRATE_URL "
                "to the owner and DATABASE_URL to the application's role"
            )
        cursor.execute("SELECT pg_has_role(%s, %s, 'MEMBER')", [role, owner])
        if cursor.fetchone()[0]:
            raise CommandError(f"{role} is a member of the owner {owner}: it would act as owner")
        cursor.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relowner = (SELECT oid FROM pg_roles WHERE rolname = %s)",
            [schema, role],
        )
        owned = cursor.fetchone()[0]
        if owned:
            raise CommandError(
                f"{role} owns {owned} object(s) in schema {schema}; as a superuser run "
                f"REASSIGN OWNED BY {role} TO {owner}; then run this again"
            )
        names = {
            "role": sql.Identifier(role),
            "owner": sql.Identifier(owner),
            "schema": sql.Identifier(schema),
            "database": sql.Identifier(database),
            "history": sql.SQL(", ").join(
                sql.Identifier(model._meta.db_table) for model in append_only_models()
            ),
        }
        for statement in (
            "GRANT CONNECT ON DATABASE {database} TO {role}",
            "GRANT USAGE ON SCHEMA {schema} TO {role}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {schema} TO {role}",
            "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {history} FROM {role}",
            "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
            "GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        ):
            cursor.execute(sql.SQL(statement).format(**names))
