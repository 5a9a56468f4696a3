"""Webhooks through a real Celery worker and a real Redis broker, on PostgreSQL: the
after-commit hand-off reaches the worker, the worker posts to a slow receiver on loopback,
and a worker killed (SIGKILL) in the middle of a POST loses nothing: another worker and
the sweep post what it held, under the same delivery id, so the receiver, de-duplicating
by that id, sees every event once and each dossier's in order."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection

from api.models import Delivery, DeliveryStatus
from api.webhooks import subscription_create
from tests.api.conftest import make_api_client
from tests.config.nodes import celery, environment, start, stop, wait_for
from workflows.models import Status

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("CELERY_BROKER_URL", "")
STUCK_SECONDS = 2
DOSSIERS = 4


@pytest.fixture(autouse=True)
def _needs_services():
    if connection.vendor != "postgresql" or not BROKER.startswith("redis://"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL and CELERY_BROKER_URL=redis://…)")


class SlowReceiver:
    """Takes its time before answering 200; keeps every request, and those in flight."""

    def __init__(self, delay: float):
        self.delay = delay
        self.received: list[dict] = []
        self.in_flight = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver.lock:
                    receiver.in_flight += 1
                try:
                    time.sleep(receiver.delay)
                    with receiver.lock:
                        receiver.received.append(
                            {"id": self.headers["X-Motcua-Delivery"], "body": body}
                        )
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                finally:
                    with receiver.lock:
                        receiver.in_flight -= 1

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def unique(self) -> dict[str, list[bytes]]:
        """Delivery id → the bodies that arrived under it (the receiver's de-duplication)."""
        seen: dict[str, list[bytes]] = {}
        with self.lock:
            for request in self.received:
                seen.setdefault(request["id"], []).append(request["body"])
        return seen

    def first_arrivals(self) -> list[dict]:
        order, seen = [], set()
        with self.lock:
            for request in self.received:
                if request["id"] not in seen:
                    seen.add(request["id"])
                    order.append(json.loads(request["body"]))
        return order

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def broker_handoff():
    """This process hands its after-commit work to the real broker, as a web node does."""
    from kombu import Connection

    from config.celery import app
    from config.handoff import handoff_resume

    with Connection(BROKER) as conn:
        conn.default_channel.client.flushdb()  # what an earlier run left is not ours
    previous = app.conf.task_always_eager
    app.conf.task_always_eager = False
    handoff_resume()
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture
def workers(tmp_path):
    started = []

    def begin():
        env = environment(
            BROKER,
            tmp_path,
            MOTCUA_WEBHOOK_ALLOW_PRIVATE="true",
            MOTCUA_WEBHOOK_STUCK_SECONDS=str(STUCK_SECONDS),
            EMAIL_URL="filemail://",
        )
        process = start(
            celery(
                "worker",
                "--pool=solo",
                "--concurrency=1",
                "--without-gossip",
                "--without-mingle",
                "--loglevel=WARNING",
            ),
            env,
            tmp_path / "worker.log",
        )
        started.append(process)
        return process

    yield begin
    stop(started)


def delivered() -> int:
    return Delivery.objects.filter(status=DeliveryStatus.DELIVERED).count()


def test_a_worker_killed_mid_delivery_loses_nothing(
    settings, monkeypatch, broker_handoff, workers, walk, province
):
    monkeypatch.setitem(settings.MOTCUA["API"], "WEBHOOK_ALLOW_PRIVATE", True)
    receiver = SlowReceiver(delay=0.4)
    try:
        client, _key = make_api_client(province)
        subscription_create(client=client, callback_url=receiver.url)
        first = workers()
        # Each dossier: "filed" then "received", handed to the broker as each commits.
        for _ in range(DOSSIERS // 2):
            walk(Status.RECEIVED)
        total = Delivery.objects.count()
        assert total == DOSSIERS // 2 * 2
        # Killed while the receiver holds a POST of it, the answer not yet given.
        assert wait_for(lambda: len(receiver.received) >= 1 and receiver.in_flight > 0, 60)
        os.killpg(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        for _ in range(DOSSIERS // 2, DOSSIERS):  # written while no worker runs
            walk(Status.SUBMITTED)
        total = Delivery.objects.count()
        assert delivered() < total

        workers()
        time.sleep(STUCK_SECONDS + 0.5)  # what the dead worker held is now "stuck"
        from api.tasks import sweep_webhooks

        for _ in range(30):  # beat's sweep, sent as beat sends it
            if delivered() == total:
                break
            broker_handoff.send_task(sweep_webhooks.name)
            wait_for(lambda: delivered() == total, 3)
        assert delivered() == total, list(Delivery.objects.values_list("status", "attempts"))

        arrived = receiver.unique()
        expected = {str(d) for d in Delivery.objects.values_list("delivery_id", flat=True)}
        assert set(arrived) == expected  # every delivery arrived
        assert all(len(set(bodies)) == 1 for bodies in arrived.values())  # same body each time
        # De-duplicated by id, each dossier's events came in order.
        per_dossier: dict[int, list[str]] = {}
        for payload in receiver.first_arrivals():
            per_dossier.setdefault(payload["dossier"]["id"], []).append(payload["event"])
        assert len(per_dossier) == DOSSIERS
        assert sorted(per_dossier.values()) == sorted(
            [["filed", "received"]] * (DOSSIERS // 2) + [["filed"]] * (DOSSIERS // 2)
        )
    finally:
        receiver.close()
