"""What every benchmark part shares: Django set-up, the result row, timing helpers.

A part is a module with ``run(opts) -> list[Row]``; ``bench/run.py`` calls each in turn
and prints one table. ``opts`` is the runner's argparse namespace (``size``, ``quick``,
``skip_http``, ``database``...).
"""

from __future__ import annotations

import math
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/motcua_bench"
DEFAULT_CACHE_URL = "redis://127.0.0.1:6379/15"
SIZES = {"10k": 10_000, "100k": 100_000, "1m": 1_000_000}


@dataclass
class Row:
    """One line of the table: what was measured, the figure, the target and whether it is
    met (None: no target, reported for information)."""

    measure: str
    value: str
    target: str = ""
    met: bool | None = None
    part: str = ""


def environment() -> None:
    """Environment for a bench process (before Django starts)."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    # As a deployment runs (README, check --deploy W004): rate limits and sessions in Redis.
    # CACHE_URL=dbcache://motcua_cache measures the embedded default's database cache.
    os.environ.setdefault("CACHE_URL", DEFAULT_CACHE_URL)
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")


def setup() -> None:
    environment()
    import django

    django.setup()
    from django.db import connection

    # As make bench: bench data never goes into the test suite's database (or the one
    # pytest makes from it).
    name = str(connection.settings_dict["NAME"])
    if name == "test" or name.startswith("test_"):
        raise SystemExit(
            f"the benchmarks refuse the test suite's database {name!r}: "
            "set DATABASE_URL to another one (default motcua_bench)"
        )


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    return statistics.median(values)


class QueryCounter:
    """Counts the SQL statements run on the default connection while installed."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@contextmanager
def counting_queries() -> Iterator[QueryCounter]:
    from django.db import connection

    counter = QueryCounter()
    with connection.execute_wrapper(counter):
        yield counter


def timed(func: Callable[[], object]) -> float:
    started = time.perf_counter()
    func()
    return time.perf_counter() - started


def use_database(name: str) -> None:
    """Point the default connection at another database of the same server (created and
    migrated when missing). The data generator's sizes each live in their own database,
    so a 1M data set survives a 10k run."""
    from django.db import connection, connections

    if connection.settings_dict["NAME"] != name:
        ensure_database(name)
        connections.close_all()
        connection.settings_dict["NAME"] = name
    prepare()


def prepare() -> None:
    """What ``make run`` does to a new database, on the current one: migrations, the cache
    table, the shipped agencies and catalog (each step leaves a prepared database as it is)."""
    import io

    from django.core.management import call_command

    quiet = {"verbosity": 0, "stdout": io.StringIO()}
    call_command("migrate", interactive=False, **quiet)
    call_command("createcachetable", **quiet)
    call_command("load_agencies", **quiet)
    call_command("load_procedures", **quiet)


def ensure_database(name: str) -> None:
    import psycopg
    from django.db import connection

    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or None,
        port=s["PORT"] or None,
        user=s["USER"] or None,
        password=s["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"
