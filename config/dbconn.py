"""The database connections' lifetime outside a web request."""

from __future__ import annotations

from django.db import connections


def close_stale_connections() -> None:
    """django.db.close_old_connections, as Django runs it around each web request
    (CONN_MAX_AGE, and a check of a connection that failed), but leaving alone a
    connection inside a caller's transaction (call_command from a test or a script, an
    eager task), which it would close."""
    for connection in connections.all(initialized_only=True):
        if not connection.in_atomic_block:
            connection.close_if_unusable_or_obsolete()
