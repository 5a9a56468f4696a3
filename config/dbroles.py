"""Two PostgreSQL roles for one database: the owner, who migrates, and the application's.

The application connects with ``DATABASE_URL`` as a role that owns no table, so it cannot
switch the history's triggers off (``ALTER TABLE ... DISABLE TRIGGER`` needs the owner)
nor truncate the history. ``DATABASE_MIGRATE_URL`` names the owner: ``manage.py migrate``,
``createcachetable`` and ``grant_app_role`` connect with its user and password instead
(``as_owner``). Without it, everything runs as ``DATABASE_URL``'s role, as before.
"""

from __future__ import annotations

from contextlib import contextmanager

from django.conf import settings
from django.db import connections

CREDENTIALS = ("USER", "PASSWORD", "HOST", "PORT")


def owner_settings() -> dict | None:
    return getattr(settings, "DATABASE_MIGRATE", None)


@contextmanager
def as_owner(alias: str = "default"):
    """Run the block connected as the tables' owner, when ``DATABASE_MIGRATE_URL`` is set.

    Only the credentials change: the database's name stays the connection's own, so the
    test suite's database (``test_<name>``) is migrated as the owner too."""
    owner = owner_settings()
    if not owner or alias != "default":
        yield
        return
    connection = connections[alias]
    saved = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    connection.close()
    connection.settings_dict.update({key: owner.get(key, "") for key in CREDENTIALS})
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict.update(saved)
