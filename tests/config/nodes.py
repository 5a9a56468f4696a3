"""Helpers for the tests that start real motcua processes (web nodes, workers, beats) on
PostgreSQL and RabbitMQ: the broker's address, a private virtual host, process start-up."""

from __future__ import annotations

import html
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
# The test's own virtual host on the machine's RabbitMQ (CI starts it before the suite);
# MOTCUA_TEST_AMQP_URL names another.
AMQP = os.environ.get("MOTCUA_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/motcua_test")


def _reachable(url: str) -> bool:
    from kombu import Connection

    try:
        with Connection(url, connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
        return True
    except Exception:
        return False


def _make_vhost(url: str) -> None:
    """The virtual host, if this machine's rabbitmqctl may make it (CI runs as root)."""
    parts = urllib.parse.urlsplit(url)
    vhost = urllib.parse.unquote(parts.path[1:]) or "/"
    ctl = shutil.which("rabbitmqctl")
    if not ctl or vhost == "/":
        return
    for args in (
        ["add_vhost", vhost],
        ["set_permissions", "-p", vhost, parts.username or "guest", ".*", ".*", ".*"],
    ):
        subprocess.run([ctl, *args], capture_output=True, timeout=60, check=False)  # noqa: S603


def amqp_url() -> str:
    """The broker for the test, or a skip: PostgreSQL and RabbitMQ are both needed."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    host = urllib.parse.urlsplit(AMQP)
    try:
        socket.create_connection((host.hostname, host.port or 5672), timeout=2).close()
    except OSError:
        pytest.skip(f"needs RabbitMQ at {host.hostname}:{host.port or 5672}")
    if not _reachable(AMQP):
        _make_vhost(AMQP)
        if not _reachable(AMQP):
            pytest.skip(f"RabbitMQ refuses {AMQP.rsplit('@', 1)[-1]} (no such virtual host?)")
    return AMQP


def purge(url: str) -> None:
    """Empty the default queue of the virtual host: what an earlier run left is not ours."""
    from kombu import Connection, Queue

    with Connection(url) as conn:
        Queue("celery", channel=conn.default_channel, durable=True).declare()
        conn.default_channel.queue_purge("celery")


def database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


# MOTCUA_TEST_PORTS ("9600-9699") keeps the nodes' ports within a range (a machine shared by
# several runs); without it the system picks free ones.
_PORTS = os.environ.get("MOTCUA_TEST_PORTS", "")
_given: set[int] = set()


def free_port() -> int:
    if not _PORTS:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return probe.getsockname()[1]
    first, _, last = _PORTS.partition("-")
    for port in range(int(first), int(last or first) + 1):
        if port in _given:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        _given.add(port)
        return port
    raise RuntimeError(f"no free port in {_PORTS}")


def environment(broker: str, var_dir: Path, **extra: str) -> dict[str, str]:
    """What every process of the deployment shares: the database, the broker, the files."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CELERY_BROKER_URL": broker,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "MOTCUA_VAR_DIR": str(var_dir),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    }
    for name in ("DJANGO_ALLOW_ASYNC_UNSAFE", "CACHE_URL"):
        env.pop(name, None)
    return env


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603 - our own processes, fixed arguments
        args,
        cwd=ROOT,
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # a SIGKILL to the group takes the node and its children
    )


def celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "config", *args]


def wait_for(predicate, timeout: float = 60.0, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        if process.poll() is None:
            try:
                os.killpg(process.pid, 15)
            except ProcessLookupError:
                continue
    for process in processes:
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


# --- What a node said about a failed request -------------------------------------------------
# Each node's output (stdout and stderr, gunicorn's lines and Django's) goes to its log file
# (start). A request the test names (X-Request-ID, config.requestid) is found there again:
# Django's "Internal Server Error" record carries the id and, below it, the traceback.
_NEW_RECORD = re.compile(r"^(\d{4}-\d\d-\d\dT|\{)")


def server_records(log: Path, request_id: str, limit: int = 12000) -> str:
    """The node's records for the request (its access line left out), tracebacks included."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError as exc:
        return f"({log.name} unreadable: {exc})"
    found: list[str] = []
    inside = False
    for line in lines:
        if _NEW_RECORD.match(line):
            inside = request_id in line and "gunicorn.access" not in line
        if inside:
            found.append(line)
    text = "\n".join(found)
    return text[-limit:] if text else f"(no record of {request_id} in {log.name})"


def debug_traceback(body: str, limit: int = 12000) -> str:
    """The traceback of Django's debug 500 page (DEBUG on), as plain text."""
    match = re.search(r'<textarea[^>]*id="traceback_area"[^>]*>(.*?)</textarea>', body, re.S)
    if match:
        return html.unescape(match.group(1)).strip()[-limit:]
    return body[-2000:]
