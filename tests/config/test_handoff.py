"""The after-commit hand-off to the broker is bounded: a broker that refuses, or accepts
and then says nothing, costs one short attempt and one log line, not seconds of retries
with a traceback each; what was not handed over is delivered by the sweeps. Real sockets:
a closed port on loopback, a listener that never answers, and (when the environment names
one) the real Redis broker."""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from config.handoff import handoff, handoff_resume
from documents.models import Document
from notifications.models import Channel, Message, MessageStatus
from workflows.models import OutgoingEvent, Status
from workflows.services import dossiers as transitions
from workflows.services import work

# Ports of this test's range on loopback: nothing listens on CLOSED; the silent broker
# takes the first free port of SILENT.
CLOSED, SILENT = 8851, (8852, 8859)


def _nothing_listens(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


@pytest.fixture
def silent_broker():
    """Accepts connections and never says a word."""
    from tests.notifications.gateway import free_port

    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", free_port(*SILENT)))
    server.listen(16)
    accepted, stop = [], threading.Event()

    def serve():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join(timeout=2)
    for conn in accepted:
        conn.close()
    server.close()


@pytest.fixture
def broker_at():
    """Point the Celery app at ``url`` with eager mode off, for this test only."""
    from config.celery import app

    saved = app.conf.get("broker_write_url"), app.conf.task_always_eager

    def use(url: str):
        # The write URL: Celery prefers the environment's CELERY_BROKER_URL to broker_url.
        app.conf.broker_write_url = url
        app.conf.task_always_eager = False
        handoff_resume()
        return app

    yield use
    app.conf.broker_write_url, app.conf.task_always_eager = saved
    handoff_resume()


BROKERS = {
    "redis-refuses": "redis://127.0.0.1:{closed}/0",
    "rabbitmq-refuses": "amqp://guest:guest@127.0.0.1:{closed}//",
    "redis-silent": "redis://127.0.0.1:{silent}/0",
    "rabbitmq-silent": "amqp://guest:guest@127.0.0.1:{silent}//",
}


@pytest.mark.parametrize("kind", list(BROKERS))
def test_a_broker_down_costs_one_short_attempt_and_the_sweeps_deliver(
    kind,
    broker_at,
    silent_broker,
    walk,
    officers,
    citizen,
    caplog,
    django_capture_on_commit_callbacks,
):
    assert _nothing_listens(CLOSED)
    citizen.email = "mai@example.org"
    citizen.save()
    dossier = walk(Status.DRAFT)
    silent_port, accepted = silent_broker
    app = broker_at(BROKERS[kind].format(closed=CLOSED, silent=silent_port))
    caplog.set_level(logging.DEBUG, logger="motcua.handoff")
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        dossier = work.application_submit(dossier=dossier, by=citizen)
    with django_capture_on_commit_callbacks(execute=True) as more:

        transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    elapsed = time.monotonic() - started
    # Many rows asked for a hand-off; the first failure paused the others (7 s before).
    # (The events no handler takes are written dispatched: they ask for none.)
    assert len(callbacks) + len(more) >= 3
    assert elapsed < 3.0, elapsed
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert warnings[0].name == "motcua.handoff" and warnings[0].exc_info is None
    assert "left to the sweep" in warnings[0].getMessage()
    if "silent" in kind:
        assert accepted  # the attempt really reached the listener

    # Nothing was handed over; the sweeps (beat's jobs) deliver all of it.
    assert OutgoingEvent.objects.filter(dispatched_at=None, name="dossier.receive").exists()
    emails = Message.objects.filter(recipient=citizen, channel=Channel.EMAIL)
    assert emails.exists() and not emails.filter(status=MessageStatus.DELIVERED).exists()
    app.conf.task_always_eager = True
    from documents.services import documents_sweep
    from notifications.services import messages_sweep
    from workflows.tasks import dispatch_pending_events

    # The document sweep takes what has waited two minutes (a hand-off may be under way);
    # the receipt slip is asked for by the event's handler, and rendered after its commit.
    with (
        time_machine.travel(timezone.now() + dt.timedelta(minutes=3)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        dispatch_pending_events()
        messages_sweep()
        documents_sweep()
    assert not OutgoingEvent.objects.filter(dispatched_at=None).exists()
    assert set(emails.values_list("status", flat=True)) == {MessageStatus.DELIVERED}
    assert {m.to[0] for m in mail.outbox} >= {"mai@example.org"}
    assert Document.objects.filter(dossier=dossier).exclude(status="pending").exists()


def test_a_hand_off_pause_ends(broker_at, settings):
    """After the pause, the next hand-off tries the broker again (one attempt)."""
    from workflows.tasks import dispatch_event

    settings.MOTCUA = {**settings.MOTCUA, "HANDOFF": {"TIMEOUT": 1.0, "PAUSE_SECONDS": 0.3}}
    broker_at(f"redis://127.0.0.1:{CLOSED}/0")
    assert handoff(dispatch_event, 1) is False
    started = time.monotonic()
    assert handoff(dispatch_event, 1) is False  # paused: not even tried
    assert time.monotonic() - started < 0.05
    time.sleep(0.35)
    assert handoff(dispatch_event, 1) is False


LIVE = {
    "redis": os.environ.get("CELERY_BROKER_URL", ""),
    # A RabbitMQ vhost of the test's own, e.g. amqp://guest:guest@127.0.0.1:5672/h_outbox.
    "rabbitmq": os.environ.get("MOTCUA_TEST_AMQP_URL", ""),
}


def _size(queue) -> int:
    from amqp.exceptions import ChannelError

    try:
        return queue.qsize()
    except ChannelError:  # Redis: an empty queue is no key at all
        return 0


@pytest.mark.broker
@pytest.mark.parametrize("kind", list(LIVE))
def test_a_live_broker_takes_the_hand_off(kind, broker_at):
    """The bounded path still publishes: the task lands in the real broker's queue."""
    url = LIVE[kind]
    if not url.startswith({"redis": "redis://", "rabbitmq": "amqp://"}[kind]):
        pytest.skip(f"needs a {kind} broker URL")
    from kombu import Connection

    from workflows.tasks import dispatch_event

    broker_at(url)
    with Connection(url) as connection:
        queue = connection.SimpleQueue("celery")
        before = _size(queue)
        assert handoff(dispatch_event, 424242) is True
        assert handoff(dispatch_event, 424243) is True  # the pooled connection, again
        # A publish is not confirmed: the broker may count it a moment later.
        deadline = time.monotonic() + 10
        while _size(queue) < before + 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert _size(queue) == before + 2
        for _ in range(before + 2):  # the queue belongs to this test's broker database/vhost
            queue.get(timeout=5).ack()
        queue.close()
