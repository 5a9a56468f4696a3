"""Reports on a read replica (config.replica): the router, the fallbacks, and a real
streaming replica built on this machine from pg_basebackup, serving the dashboard."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, connection, connections

from config import replica
from config.replica import REPLICA, ReportRouter, reporting
from procedures.models import Agency
from tests.conftest import make_officer, walk_to
from workflows.models import Dossier, Status

ROOT = Path(__file__).resolve().parents[2]
# This machine's helpers each have their own ports; CI may set others.
PRIMARY_PORT, REPLICA_PORT = (
    int(p) for p in os.environ.get("MOTCUA_REPLICA_TEST_PORTS", "5441,5442").split(",")
)
CLOSED_PORT = 8599  # nothing listens there: a replica that is down


@contextmanager
def replica_alias(host: str, port: int, name: str):
    """A "replica" alias for the length of the block, as DATABASE_REPLICA_URL would make
    it (the tests' settings have none)."""
    settings_dict = {
        **connections[DEFAULT_DB_ALIAS].settings_dict,
        "ENGINE": "django.db.backends.postgresql",
        "HOST": host,
        "PORT": str(port),
        "NAME": name,
        "USER": "postgres",
        "PASSWORD": "",
        "OPTIONS": {"connect_timeout": 3},
        "CONN_MAX_AGE": 0,
        "TEST": {"MIRROR": DEFAULT_DB_ALIAS},
    }
    connections.settings[REPLICA] = settings_dict
    replica._down_until = 0.0
    try:
        yield
    finally:
        connections[REPLICA].close()
        del connections[REPLICA]
        del connections.settings[REPLICA]
        replica._down_until = 0.0


def test_without_a_replica_everything_reads_the_primary(db):
    assert not replica.configured()
    with reporting() as report:
        assert report.alias == DEFAULT_DB_ALIAS and not report.on_replica
        assert Dossier.objects.all().db == DEFAULT_DB_ALIAS
    assert replica.current() is None


def test_the_router_never_writes_to_nor_migrates_the_replica(db):
    router = ReportRouter()
    with replica_alias("127.0.0.1", CLOSED_PORT, "motcua"):
        replica._current.set(replica.Report(REPLICA, lag=0.0))  # as inside a report
        try:
            assert router.db_for_read(Dossier) == REPLICA
            assert router.db_for_write(Dossier) == DEFAULT_DB_ALIAS
        finally:
            replica._current.set(None)
        assert router.db_for_read(Dossier) is None  # outside a report: the primary
    assert router.allow_migrate(REPLICA, "workflows") is False
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "workflows") is None


def test_database_replica_url_is_read_like_database_url(tmp_path):
    from tests.config.test_settings import run_manage

    show = (
        "import json; from django.conf import settings; "
        "print(json.dumps({k: v for k, v in settings.DATABASES.items() if k == 'replica'}))"
    )
    env = {
        "DATABASE_URL": "postgres://motcua_app:pw@primary.example:5432/motcua",
        "DATABASE_REPLICA_URL": "postgres://reader:pw@replica.example:5433/motcua?sslmode=require",
        "MOTCUA_VAR_DIR": str(tmp_path),
    }
    result = run_manage("shell", "-v", "0", "-c", show, env=env)
    assert result.returncode == 0, result.stderr
    replica_settings = json.loads(result.stdout.splitlines()[-1])["replica"]
    assert replica_settings["ENGINE"] == "django.db.backends.postgresql"
    assert (replica_settings["HOST"], replica_settings["PORT"]) == ("replica.example", 5433)
    assert (replica_settings["USER"], replica_settings["NAME"]) == ("reader", "motcua")
    assert replica_settings["OPTIONS"] == {"sslmode": "require", "connect_timeout": 3}
    assert replica_settings["CONN_MAX_AGE"] == 60 and replica_settings["CONN_HEALTH_CHECKS"]
    assert replica_settings["TEST"]["MIRROR"] == "default"
    env.pop("DATABASE_REPLICA_URL")
    result = run_manage("shell", "-v", "0", "-c", show, env=env)
    assert json.loads(result.stdout.splitlines()[-1]) == {}


# --- A real streaming replica ------------------------------------------------------------


def _bin_dir() -> Path | None:
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_basebackup"),
        key=lambda p: int(p.parts[-3]) if p.parts[-3].isdigit() else 0,
    )
    return versions[-1].parent if versions else None


class Clusters:
    """A primary and its streaming replica, as the postgres OS user when run as root
    (PostgreSQL refuses root, as pg_ctlcluster does), under one temporary directory."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.root = Path(tempfile.mkdtemp(prefix="motcua-replica-"))
        self.as_root = os.geteuid() == 0
        if self.as_root:
            shutil.chown(self.root, "postgres", "postgres")
        self.primary = self.root / "primary"
        self.replica = self.root / "replica"
        self.started: list[Path] = []

    def run(self, tool: str, *args: str, **kwargs) -> subprocess.CompletedProcess:
        command = [str(self.bin / tool), *args]
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        done = subprocess.run(  # noqa: S603 - PostgreSQL's own tools, fixed arguments
            command, capture_output=True, text=True, timeout=60, check=False, **kwargs
        )
        if done.returncode != 0:
            logs = "".join(p.read_text()[-2000:] for p in self.root.glob("*.log"))
            raise AssertionError(
                f"{' '.join(command)}: exit {done.returncode}\n{done.stderr}{logs}"
            )
        return done

    def sql(self, port: int, statement: str, database: str = "motcua") -> str:
        return self.run(
            "psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", database,
            "-v", "ON_ERROR_STOP=1", "-Atc", statement,
        ).stdout.strip()  # fmt: skip

    def start(self, data: Path) -> None:
        self.run("pg_ctl", "-D", str(data), "-l", str(self.root / f"{data.name}.log"), "-w",
                 "-t", "30", "start")  # fmt: skip
        self.started.append(data)

    def stop(self, data: Path) -> None:
        self.run("pg_ctl", "-D", str(data), "-m", "fast", "-w", "stop")
        self.started.remove(data)

    def make_primary(self) -> None:
        self.run("initdb", "-D", str(self.primary), "-U", "postgres", "-A", "trust",
                 "-E", "UTF8", "--locale=C.UTF-8", "--no-sync")  # fmt: skip
        with open(self.primary / "postgresql.conf", "a") as conf:
            conf.write(
                f"port = {PRIMARY_PORT}\nlisten_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "wal_level = replica\nmax_wal_senders = 4\nhot_standby = on\n"
                "max_connections = 20\nshared_buffers = 16MB\nfsync = off\n"
            )
        (self.primary / "pg_hba.conf").write_text(
            "local all postgres trust\n"
            "host all postgres 127.0.0.1/32 trust\n"
            "host replication replicator 127.0.0.1/32 trust\n"
        )
        self.start(self.primary)
        self.sql(PRIMARY_PORT, "CREATE ROLE replicator WITH REPLICATION LOGIN", "postgres")
        self.sql(PRIMARY_PORT, "CREATE DATABASE motcua", "postgres")

    def copy_database(self, settings_dict: dict) -> None:
        """The test database's committed rows and schema, into the primary."""
        env = {**os.environ, "PGPASSWORD": settings_dict.get("PASSWORD") or ""}
        dump = subprocess.run(  # noqa: S603
            [str(self.bin / "pg_dump"), "-h", settings_dict["HOST"] or "127.0.0.1",
             "-p", str(settings_dict["PORT"] or 5432), "-U", settings_dict["USER"],
             "--no-owner", "--no-privileges", settings_dict["NAME"]],
            check=True, capture_output=True, env=env, timeout=60,
        )  # fmt: skip
        self.run("psql", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U", "postgres",
                 "-d", "motcua", "-q", "-v", "ON_ERROR_STOP=1", input=dump.stdout.decode())  # fmt: skip

    def make_replica(self) -> None:
        self.run("pg_basebackup", "-h", "127.0.0.1", "-p", str(PRIMARY_PORT), "-U",
                 "replicator", "-D", str(self.replica), "-R", "-X", "stream", "-c", "fast")  # fmt: skip
        with open(self.replica / "postgresql.conf", "a") as conf:
            conf.write(f"port = {REPLICA_PORT}\n")
        self.start(self.replica)

    def wait_for_replay(self, timeout: float = 30.0) -> None:
        target = self.sql(PRIMARY_PORT, "SELECT pg_current_wal_lsn()")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.sql(REPLICA_PORT, f"SELECT pg_last_wal_replay_lsn() >= '{target}'") == "t":
                return
            time.sleep(0.1)
        raise AssertionError(f"the replica did not replay up to {target} in {timeout} s")

    def remove(self) -> None:
        for data in list(self.started):
            with suppress(AssertionError):
                self.run("pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


class Probe:
    """A motcua process (tests/config/replica_probe.py) on the primary and the replica."""

    def __init__(self, tmp_path: Path):
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://postgres@127.0.0.1:{PRIMARY_PORT}/motcua",
            "DATABASE_REPLICA_URL": f"postgres://postgres@127.0.0.1:{REPLICA_PORT}/motcua",
            "DEBUG": "1",
            "MOTCUA_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_MIGRATE_URL", "CELERY_BROKER_URL"):
            env.pop(name, None)
        self.process = subprocess.Popen(  # noqa: S603 - our own probe, fixed arguments
            [sys.executable, str(ROOT / "tests" / "config" / "replica_probe.py")],
            cwd=ROOT,
            env={**env, "PYTHONPATH": str(ROOT)},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._read() == {"ready": True}

    def _read(self) -> dict:
        line = self.process.stdout.readline()
        assert line, f"the probe ended (exit {self.process.poll()})"
        return json.loads(line)

    def ask(self, command: str) -> dict:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_dashboard_is_served_from_a_streaming_replica(
    tmp_path, catalog, procedure, province, citizen, officers
):
    """Data written on the primary reaches the dashboard only once the replica has
    replayed it; a replica too far behind, or down, leaves the dashboard to the primary."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    bin_dir = _bin_dir()
    if bin_dir is None or (os.geteuid() == 0 and not shutil.which("runuser")):
        pytest.skip("needs PostgreSQL's server programs (/usr/lib/postgresql/*/bin)")
    dossiers = [walk_to(Status.RECEIVED, procedure, province, citizen, officers) for _ in "ab"]
    supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))

    clusters = Clusters(bin_dir)
    probe = None
    try:
        clusters.make_primary()
        clusters.copy_database(connection.settings_dict)
        clusters.make_replica()
        clusters.wait_for_replay()
        probe = Probe(tmp_path)

        # Each alias reaches its own server: the replica is a hot standby in recovery.
        assert probe.ask("recovery") == {
            "default": [False, PRIMARY_PORT],
            "replica": [True, REPLICA_PORT],
        }
        first = probe.ask(f"dashboard {supervisor.username}")
        assert first["status"] == 200
        assert (first["alias"], first["received"], first["note"]) == (REPLICA, 2, True)

        # Replay paused: a change on the primary is not on the dashboard yet.
        clusters.sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")
        moved = "UPDATE workflows_dossier SET received_at = received_at - interval '3 years'"
        clusters.sql(PRIMARY_PORT, f"{moved} WHERE id = {dossiers[0].pk}")
        stale = probe.ask(f"dashboard {supervisor.username}")
        assert (stale["alias"], stale["received"]) == (REPLICA, 2)
        assert probe.ask(f"export {supervisor.username}") == {"status": 200, "received": 2}
        assert probe.ask(f"service_index {supervisor.username}") == {
            "status": 200,
            "alias": REPLICA,
            "note": True,
        }
        assert clusters.sql(
            PRIMARY_PORT,
            "SELECT count(*) FROM workflows_dossier WHERE received_at > now() - interval '1 year'",
        ) == "1"  # fmt: skip

        # Replayed: the dashboard shows it, still from the replica.
        clusters.sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")
        clusters.wait_for_replay()
        fresh = probe.ask(f"dashboard {supervisor.username}")
        assert (fresh["alias"], fresh["received"], fresh["note"]) == (REPLICA, 1, True)
        assert probe.ask(f"export {supervisor.username}") == {"status": 200, "received": 1}

        # Further behind than DATABASE_REPLICA_MAX_LAG: the primary serves the report.
        clusters.sql(REPLICA_PORT, "SELECT pg_wal_replay_pause()")
        clusters.sql(PRIMARY_PORT, f"{moved} WHERE id = {dossiers[1].pk}")
        time.sleep(1.5)
        assert probe.ask("max_lag 1") == {"max_lag": 1.0}
        lagging = probe.ask(f"dashboard {supervisor.username}")
        assert (lagging["alias"], lagging["fallback"]) == (DEFAULT_DB_ALIAS, "lag")
        assert (lagging["received"], lagging["note"]) == (0, False)
        assert lagging["lag"] > 1
        clusters.sql(REPLICA_PORT, "SELECT pg_wal_replay_resume()")
        clusters.wait_for_replay()
        assert probe.ask("max_lag 60") == {"max_lag": 60.0}

        # The replica fails during a report (here its server ends the connection): the
        # report runs again on the primary, and the primary serves reports a while.
        assert probe.ask("cut") == {"first": REPLICA, "then": DEFAULT_DB_ALIAS, "recovery": False}
        after = probe.ask(f"dashboard {supervisor.username}")
        assert (after["alias"], after["fallback"], after["status"]) == (
            DEFAULT_DB_ALIAS, "down", 200
        )  # fmt: skip
        assert probe.ask("forget") == {"alias": REPLICA}

        # The replica stops: the dashboard still answers, from the primary.
        clusters.stop(clusters.replica)
        down = probe.ask(f"dashboard {supervisor.username}")
        assert down["status"] == 200
        assert (down["alias"], down["fallback"], down["received"]) == (DEFAULT_DB_ALIAS, "down", 0)
    finally:
        if probe is not None:
            probe.close()
        clusters.remove()
    assert not clusters.root.exists()
