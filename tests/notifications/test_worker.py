"""A real Celery worker process, a real Redis broker, a real SMTP server (aiosmtpd) inside
the test: delivery, a worker killed in the middle of a batch, and an SMTP server that
refuses before it accepts. Needs PostgreSQL and Redis (CI sets both)."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from email import message_from_bytes
from pathlib import Path

import pytest
from celery import Celery
from django.conf import settings
from django.db import connection

from notifications.models import Channel, Message, MessageStatus
from tests.conftest import make_user

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
# The worker's own Redis database (flushed by the test): 14 unless MOTCUA_TEST_WORKER_REDIS_DB
# names another, so that runs sharing one Redis server do not flush each other's queues.
BROKER = f"redis://127.0.0.1:6379/{os.environ.get('MOTCUA_TEST_WORKER_REDIS_DB', '14')}"


@pytest.fixture(autouse=True)
def _needs_services():
    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL and CELERY_BROKER_URL)")


class Sink:
    """An SMTP server that records what it accepts; it can refuse or stall first."""

    def __init__(self, refuse_first: int = 0, rcpt_delay: float = 0.0, data_delay: float = 0.0):
        self.received: list[tuple[str, str]] = []
        self.refuse_first = refuse_first
        self.rcpt_delay = rcpt_delay
        self.data_delay = data_delay

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if self.rcpt_delay:
            await asyncio.sleep(self.rcpt_delay)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        if self.refuse_first > 0:
            self.refuse_first -= 1
            return "421 Service not available, try again later"
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        parsed = message_from_bytes(envelope.content)
        body = parsed.get_payload(decode=True).decode("utf-8", "replace")
        self.received.append((parsed["Message-ID"], body))
        return "250 Message accepted"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    controllers = []

    def start(**options) -> tuple[Sink, int]:
        with socket.socket() as probe:  # a free port on loopback
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        sink = Sink(**options)
        controller = Controller(sink, hostname="127.0.0.1", port=port)
        controller.start()
        controllers.append(controller)
        return sink, port

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture
def worker(tmp_path):
    processes = []

    def start(smtp_port: int) -> subprocess.Popen:
        db = connection.settings_dict
        env = {
            **os.environ,
            "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
            "CELERY_BROKER_URL": BROKER,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "MOTCUA_MESSAGE_STUCK_SECONDS": "2",
            "MOTCUA_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "config.settings",
        }
        env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        process = subprocess.Popen(  # noqa: S603 - our own worker, fixed arguments
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "config",
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(tmp_path / "worker.log").open("ab"),
        )
        processes.append(process)
        return process

    yield start
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


class Producer:
    """Sends tasks to the test's own broker database (an explicit connection: Celery would
    otherwise prefer the CELERY_BROKER_URL of the environment)."""

    def __init__(self):
        # Not the current app: motcua's shared tasks must keep resolving to motcua's app.
        self.app = Celery("motcua-test", set_as_current=False)
        self.connection = self.app.connection_for_write(BROKER)
        self.connection.default_channel.client.flushdb()

    def send_task(self, name, args=()):
        self.app.send_task(name, args=list(args), connection=self.connection)


@pytest.fixture
def client_app():
    producer = Producer()
    yield producer
    producer.connection.release()


def make_messages(count: int) -> list[Message]:
    user = make_user()
    return [
        Message.objects.create(
            recipient=user,
            channel=Channel.EMAIL,
            kind="received",
            language="vi",
            template_version="test",
            to_address=f"person{i}@example.org",
            subject=f"Hồ sơ số {i}",
            body=f"Nội dung thông báo số {i}",
        )
        for i in range(count)
    ]


def send(app, messages):
    for message in messages:
        app.send_task("notifications.tasks.deliver_message", args=[message.pk])


def wait_for(predicate, timeout: float = 60.0, every: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(every)
    return False


def delivered() -> int:
    return Message.objects.filter(status=MessageStatus.DELIVERED).count()


def test_a_worker_delivers_to_a_real_smtp_server(smtp, worker, client_app):
    sink, port = smtp()
    worker(port)
    messages = make_messages(5)
    send(client_app, messages)
    assert wait_for(lambda: delivered() == 5), [m.status for m in Message.objects.all()]
    assert sorted(mid for mid, _ in sink.received) == sorted(m.message_id for m in messages)
    bodies = dict(sink.received)
    for message in messages:
        assert bodies[message.message_id].strip() == message.body


def test_a_refusing_server_is_retried_until_it_accepts(smtp, worker, client_app):
    sink, port = smtp(refuse_first=2)
    worker(port)
    (message,) = make_messages(1)
    send(client_app, [message])
    assert wait_for(lambda: Message.objects.get(pk=message.pk).attempts >= 1)
    assert wait_for(
        lambda: Message.objects.get(pk=message.pk).status == MessageStatus.TEMPORARY_FAILURE
    )
    for attempt in (2, 3):  # the sweep, as beat runs it, once each retry is due
        Message.objects.filter(pk=message.pk).update(next_attempt_at=message.created_at)
        client_app.send_task("notifications.tasks.sweep_messages")
        assert wait_for(lambda n=attempt: Message.objects.get(pk=message.pk).tries.count() == n)
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.attempts == 3
    assert [mid for mid, _ in sink.received] == [message.message_id]
    assert list(message.tries.values_list("outcome", flat=True)) == [
        "temporary_failure",
        "temporary_failure",
        "delivered",
    ]


def _restart_and_sweep(worker, port, client_app, total):
    worker(port)
    time.sleep(2.5)  # past MOTCUA_MESSAGE_STUCK_SECONDS for what the dead worker held
    for _ in range(20):
        if delivered() == total:
            break
        client_app.send_task("notifications.tasks.sweep_messages")
        wait_for(lambda: delivered() == total, 3)
    return delivered() == total


def test_a_worker_killed_mid_batch_loses_nothing(smtp, worker, client_app):
    sink, port = smtp(data_delay=0.15)
    first = worker(port)
    messages = make_messages(20)
    send(client_app, messages)
    assert wait_for(lambda: len(sink.received) >= 5)
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    assert delivered() < 20
    assert _restart_and_sweep(worker, port, client_app, 20)
    arrived: dict[str, set[str]] = {}
    for mid, body in sink.received:
        arrived.setdefault(mid, set()).add(body.strip())
    assert set(arrived) == {m.message_id for m in messages}  # every message arrived
    assert all(len(bodies) == 1 for bodies in arrived.values())  # never different content


def test_a_kill_outside_the_send_window_makes_no_duplicate(smtp, worker, client_app):
    """Killed while the server is still deciding on the recipient (nothing accepted yet):
    after the restart, every message arrives exactly once."""
    sink, port = smtp(rcpt_delay=1.0)
    first = worker(port)
    messages = make_messages(3)
    send(client_app, messages)
    assert wait_for(lambda: Message.objects.filter(status=MessageStatus.SENDING).exists())
    time.sleep(0.3)  # inside the slow RCPT: the server has accepted nothing
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    sink.rcpt_delay = 0.0
    assert _restart_and_sweep(worker, port, client_app, 3)
    ids = [mid for mid, _ in sink.received]
    assert sorted(ids) == sorted(m.message_id for m in messages)
    assert len(ids) == len(set(ids))  # no duplicate at all
    assert settings.MOTCUA["MESSAGE_STUCK_SECONDS"] >= 2


def _worker_backends() -> set[tuple[int, object]]:
    """The database's other client connections (the worker's): process id and start."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid, backend_start FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return set(cursor.fetchall())


def test_a_worker_keeps_its_database_connection_between_tasks(smtp, worker, client_app):
    """As a web node does between requests (CONN_MAX_AGE): Celery's own fixup would close
    it after every task, and each task would pay for a new PostgreSQL backend."""
    _sink, port = smtp()
    worker(port)
    send(client_app, make_messages(3))
    assert wait_for(lambda: delivered() == 3)
    first = _worker_backends()
    assert first, "the worker closed its connection after its task"
    send(client_app, make_messages(3))
    assert wait_for(lambda: delivered() == 6)
    assert _worker_backends() == first
