"""Reports on a PostgreSQL streaming replica, when ``DATABASE_REPLICA_URL`` is set.

Only what a report reads goes to the replica, and only when the report asks for it: a view
or selector opts in with ``reporting()``, as a decorator or as a context manager::

    from config.replica import reporting

    @reporting()
    def _dashboard(request): ...          # every read in the call goes to the replica

    with reporting() as report:           # or a block; report.on_replica says where
        rows = list(queryset)

Everything else (every page a user acts on, every permission check, every write) stays on
the primary, so a user always reads what they have just written. Writes never go to the
replica, even inside ``reporting()``: ``ReportRouter.db_for_write`` always answers
``default``, and the replica's role should be read-only anyway.

Where the reads go is decided once, when the block starts:

- no ``DATABASE_REPLICA_URL``: the primary, as if ``reporting()`` were not there;
- the replica cannot be reached (or failed within the last ``RETRY_SECONDS``): the primary,
  with a warning in the log: a report is slower then, never an error;
- the replica is more than ``DATABASE_REPLICA_MAX_LAG`` seconds behind (default 60; 0
  turns the check off): the primary;
- otherwise the replica, and ``report.lag`` says how far behind it was, in seconds.

As a decorator, ``reporting()`` also survives a replica that fails during the call (it
went down, or PostgreSQL cancelled a long query that conflicted with recovery): the call
runs again on the primary. Only read-only code may be decorated so: it can run twice. The
context-manager form cannot re-run its block; it falls back only when the block starts.

Reports read from the replica may be a few seconds stale (the replay lag; ``report.lag``).
The report pages say so (``templates/workspace/_replica_note.html``).

A new report (the open statistics of issue #14, say) follows ``workspace/dashboard.py``:
the view checks who may see it on the primary, then calls a function decorated with
``reporting()`` that reads, renders (inside the call: a lazy queryset evaluated later
would read the primary) and passes ``replica.current()`` to the template as ``report``,
which includes ``workspace/_replica_note.html``. Choosing costs one query on the replica
per report (the lag). The lag is measured as the age of the last transaction replayed
while WAL waits to be replayed, so after a long idle spell on the primary it reads high
for a moment (the report then reads the primary once): it never reads low.
"""

from __future__ import annotations

import logging
import threading
import time
from contextlib import ContextDecorator, suppress
from contextvars import ContextVar
from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, OperationalError, connections

REPLICA = "replica"
RETRY_SECONDS = 30.0  # after a failure, the primary serves reports this long
logger = logging.getLogger("motcua.replica")

# How far the replica's replay is behind, in seconds: 0 when it has replayed everything it
# received (an idle primary is not lag), else the age of the last transaction it replayed.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() IS NOT DISTINCT FROM pg_last_wal_replay_lsn() THEN 0
    ELSE COALESCE(EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp()), 0)
END
"""


@dataclass(frozen=True)
class Report:
    """Where one ``reporting()`` block reads: ``alias``, and why not the replica."""

    alias: str = DEFAULT_DB_ALIAS
    lag: float | None = None  # seconds behind the primary, when read from the replica
    fallback: str = ""  # "", "down" or "lag": why the primary serves a configured replica

    @property
    def on_replica(self) -> bool:
        return self.alias == REPLICA


_current: ContextVar[Report | None] = ContextVar("motcua_report", default=None)
_lock = threading.Lock()
_down_until = 0.0


def configured() -> bool:
    return REPLICA in connections.settings


def current() -> Report | None:
    """The ``reporting()`` block running now, or None outside one."""
    return _current.get()


def mark_down(error: BaseException) -> None:
    global _down_until
    with _lock:
        _down_until = time.monotonic() + RETRY_SECONDS
    logger.warning("read replica unavailable, reports read from the primary: %s", error)
    with suppress(DatabaseError):
        connections[REPLICA].close()


def _choose() -> Report:
    if not configured():
        return Report()
    if time.monotonic() < _down_until:
        return Report(fallback="down")
    connection = connections[REPLICA]
    try:
        if connection.vendor != "postgresql":
            connection.ensure_connection()
            return Report(REPLICA, lag=0.0)
        with connection.cursor() as cursor:
            cursor.execute(LAG_SQL)
            lag = float(cursor.fetchone()[0])
    except DatabaseError as error:
        mark_down(error)
        return Report(fallback="down")
    max_lag = getattr(settings, "DATABASE_REPLICA_MAX_LAG", 60.0)
    if max_lag and lag > max_lag:
        logger.warning(
            "read replica %.1f s behind (limit %s s): report read from the primary", lag, max_lag
        )
        return Report(lag=lag, fallback="lag")
    return Report(REPLICA, lag=lag)


class reporting(ContextDecorator):  # noqa: N801 - used like contextlib's lower-case helpers
    """Send the reads of a report to the replica (see the module's docstring)."""

    def __init__(self):
        self._token = None
        self.report: Report | None = None

    def _recreate_cm(self):
        return type(self)()  # one instance per call: a decorated view runs in many threads

    def __enter__(self) -> Report:
        outer = _current.get()
        # Nested blocks keep the outer block's choice: one report reads from one place.
        self.report = outer if outer is not None else _choose()
        self._token = _current.set(self.report)
        return self.report

    def __exit__(self, *exc):
        _current.reset(self._token)
        return False

    def __call__(self, func):
        @wraps(func)
        def inner(*args, **kwargs):
            if _current.get() is not None:
                return func(*args, **kwargs)  # inside another report: its choice holds
            with self._recreate_cm() as report:
                if not report.on_replica:
                    return func(*args, **kwargs)
                try:
                    return func(*args, **kwargs)
                except (OperationalError, InterfaceError) as error:
                    mark_down(error)
            with self._recreate_cm():  # the primary now: the replica is marked down
                return func(*args, **kwargs)

        return inner


class ReportRouter:
    """Reads inside ``reporting()`` go to the replica; every write goes to the primary."""

    def db_for_read(self, model, **hints):
        report = _current.get()
        return REPLICA if report is not None and report.on_replica else None

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        if {obj1._state.db, obj2._state.db} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return False if db == REPLICA else None
