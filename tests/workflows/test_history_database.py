"""On PostgreSQL the database itself defends the history: TRUNCATE is refused, and the
application's role, which owns no table, can neither switch the triggers off nor alter
the tables, while its normal work goes on."""

# ruff: noqa: S608 - the SQL is the tampering under test; table names come from the models

from __future__ import annotations

import secrets

import psycopg
import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction

from tests.conftest import walk_by_transitions
from workflows.history import verify_all
from workflows.models import Dossier, HistoryEntry, HistorySeal, Status

pytestmark = pytest.mark.postgres

ENTRIES = HistoryEntry._meta.db_table


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "statement",
    [
        f"TRUNCATE {ENTRIES}",
        f"TRUNCATE {HistorySeal._meta.db_table} CASCADE",
        f"TRUNCATE {Dossier._meta.db_table} CASCADE",
    ],
)
def test_truncate_is_refused(walk, statement):
    dossier = walk(Status.RECEIVED)
    with (
        pytest.raises(DatabaseError, match="history is never truncated"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement)
    assert HistoryEntry.objects.filter(dossier=dossier).count() == dossier.history_count
    assert list(verify_all()) == []


@pytest.mark.django_db(transaction=True)
def test_truncate_is_refused_even_with_the_flush_setting_for_a_non_owner(walk):
    """The session setting flush uses opens nothing to a role that does not own the table."""
    walk(Status.SUBMITTED)
    role = f"h_history_nobody_{secrets.token_hex(4)}"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role}")
        try:
            cursor.execute(f"GRANT TRUNCATE ON {ENTRIES} TO {role}")
            with (
                pytest.raises(DatabaseError, match="history is never truncated"),
                transaction.atomic(),
            ):
                cursor.execute(f"SET LOCAL ROLE {role}")
                cursor.execute("SET LOCAL motcua.truncate_history = 'on'")
                cursor.execute(f"TRUNCATE {ENTRIES}")
        finally:
            cursor.execute(f"DROP OWNED BY {role}")
            cursor.execute(f"DROP ROLE {role}")


@pytest.fixture
def app_role(transactional_db):
    """A login role made as the README says: it owns nothing, grant_app_role gave it the
    rest. Dropped afterwards (roles belong to the whole cluster)."""
    name = f"h_history_app_{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(16)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {name} LOGIN PASSWORD %s", [password])
    call_command("grant_app_role", name)
    yield {"USER": name, "PASSWORD": password}
    connection.close()
    with connection.cursor() as cursor:
        cursor.execute(f"DROP OWNED BY {name}")
        cursor.execute(f"DROP ROLE {name}")


def _connect(role) -> psycopg.Connection:
    settings = connection.settings_dict
    return psycopg.connect(
        dbname=settings["NAME"],
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
        user=role["USER"],
        password=role["PASSWORD"],
        autocommit=True,
    )


@pytest.fixture
def as_app_role(app_role):
    """The application's default connection, switched to the app role for the test."""
    saved = {key: connection.settings_dict.get(key) for key in ("USER", "PASSWORD")}
    connection.close()
    connection.settings_dict.update(app_role)
    yield {**app_role, "saved": dict(saved)}
    connection.close()
    connection.settings_dict.update(saved)


def test_the_app_role_works_but_cannot_touch_the_triggers(
    as_app_role, app_role, procedure, province, citizen, officers, signing
):
    from workflows.services.sealing import history_seal

    # Its normal work: a dossier from filing to the result, and a seal of the heads.
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == app_role["USER"]
    dossier = walk_by_transitions(Status.ISSUED, procedure, province, citizen, officers)
    assert dossier.history_count == 8
    assert history_seal(agency=province) is not None
    assert list(verify_all()) == []

    refused = [
        f"ALTER TABLE {ENTRIES} DISABLE TRIGGER workflows_historyentry_append_only",
        f"ALTER TABLE {ENTRIES} DISABLE TRIGGER ALL",
        f"ALTER TABLE {ENTRIES} ADD COLUMN x integer",
        f"DROP TRIGGER workflows_historyentry_append_only ON {ENTRIES}",
        "CREATE OR REPLACE FUNCTION motcua_history_append_only() RETURNS trigger AS "
        "$$ BEGIN RETURN NEW; END $$ LANGUAGE plpgsql",
        "SET session_replication_role = replica",
        f"UPDATE {ENTRIES} SET comment = 'x'",
        f"DELETE FROM {ENTRIES}",
        f"TRUNCATE {ENTRIES}",
        f"UPDATE {HistorySeal._meta.db_table} SET digest = 'x'",
        # The access record is append-only too (every AppendOnlyModel's table is).
        "UPDATE access_dossieraccess SET kind = 'x'",
        "DELETE FROM access_dossieraccess",
    ]
    with _connect(app_role) as raw:
        for statement in refused:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                raw.execute(statement)
    assert list(verify_all()) == []


def test_grant_app_role_refuses_a_superuser_and_the_owner(transactional_db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="superuser"):
        call_command("grant_app_role", "postgres")
    with pytest.raises(CommandError, match="no role"):
        call_command("grant_app_role", "h_history_nobody_at_all")


def test_migrate_connects_as_the_owner_when_told(as_app_role, settings, app_role):
    """DATABASE_MIGRATE_URL's credentials replace the app's for the owner's commands, on
    the same database, and the app's come back after."""
    from config.dbroles import as_owner

    owner = {
        **as_app_role["saved"],  # the test suite's own role, which owns the tables
        "HOST": connection.settings_dict["HOST"],
        "PORT": connection.settings_dict["PORT"],
    }

    def current_user() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SELECT current_user, current_database()")
            return cursor.fetchone()

    as_app = current_user()
    assert as_app[0] == app_role["USER"]
    settings.DATABASE_MIGRATE = owner
    with as_owner():
        assert current_user() == (owner["USER"], as_app[1])
        call_command("migrate", verbosity=0)  # nothing to apply, but allowed to look
    assert current_user() == as_app
    settings.DATABASE_MIGRATE = None
    with as_owner():
        assert current_user() == as_app


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("assignments", "message"),
    [
        ("status = 'issued'", "are its last history entry's"),
        ("history_hash = 'x'", "are its last history entry's"),
        ("history_count = history_count + 1", "are its last history entry's"),
        ("history_count = 1", "never moves back"),
    ],
)
def test_a_dossier_moves_only_onto_an_entry(walk, assignments, message):
    """What the application's role may write (dossiers) cannot change a status, or move the
    history head, without the entry that records it."""
    dossier = walk(Status.RECEIVED)
    with (
        pytest.raises(DatabaseError, match=message),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            f"UPDATE {Dossier._meta.db_table} SET {assignments} WHERE id = %s", [dossier.pk]
        )
    dossier.refresh_from_db()
    assert dossier.status == Status.RECEIVED
    assert list(verify_all()) == []


def test_the_deploy_check_warns_when_the_app_role_owns_the_tables(as_app_role, app_role):
    from config.checks import app_role_owns_nothing

    assert app_role_owns_nothing(None, databases=["default"]) == []
    connection.close()
    connection.settings_dict.update(as_app_role["saved"])  # the suite's superuser
    warnings = app_role_owns_nothing(None, databases=["default"])
    assert [w.id for w in warnings] == ["motcua.W010"]
    assert "superuser" in warnings[0].msg
