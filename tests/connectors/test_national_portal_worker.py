"""The national portal sync through a real Celery worker and a real Redis broker, on
PostgreSQL: the after-commit hand-off reaches the worker, which pushes each dossier's
steps to the portal's sandbox in order; with the portal down the steps wait, and beat's
sweep, sent through the broker, pushes them once it is back."""

from __future__ import annotations

import os

import pytest
from django.db import connection
from django.utils import timezone

from connectors.national_portal.models import PortalPush, PushStatus
from connectors.national_portal.sandbox import NationalPortalSandbox
from tests.config.nodes import celery, environment, start, stop, wait_for
from tests.connectors.test_national_portal import configure
from workflows.models import Status

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

BROKER = os.environ.get("CELERY_BROKER_URL", "")


@pytest.fixture(autouse=True)
def _needs_services():
    if connection.vendor != "postgresql" or not BROKER.startswith("redis://"):
        pytest.skip("needs PostgreSQL and Redis (DATABASE_URL and CELERY_BROKER_URL=redis://…)")


@pytest.fixture
def portal(settings):
    sandbox = NationalPortalSandbox()
    sandbox.start()
    configure(settings, sandbox)  # this process: the steps are written
    yield sandbox
    sandbox.stop()


@pytest.fixture
def broker_handoff():
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
def worker(tmp_path, portal):
    env = environment(
        BROKER,
        tmp_path,
        MOTCUA_NATIONAL_PORTAL_URL=portal.url,
        MOTCUA_NATIONAL_PORTAL_CLIENT_ID="motcua-sandbox",
        MOTCUA_NATIONAL_PORTAL_CLIENT_SECRET="sandbox-secret",
        MOTCUA_NATIONAL_PORTAL_TIMEOUT="2",
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
    yield process
    stop([process])


def synced() -> int:
    return PortalPush.objects.filter(status=PushStatus.SYNCED).count()


def test_the_worker_pushes_in_order_and_the_sweep_after_an_outage(
    portal, broker_handoff, worker, walk
):
    first = walk(Status.RECEIVED)
    second = walk(Status.IN_REVIEW)
    assert wait_for(lambda: synced() == 5, 60), list(
        PortalPush.objects.values_list("national_status", "status", "last_error")
    )
    assert portal.statuses(first.code) == [1, 2]
    assert portal.statuses(second.code) == [1, 2, 4]

    portal.fault = "down"
    third = walk(Status.RECEIVED)
    assert wait_for(lambda: PortalPush.objects.filter(dossier=third, attempts__gt=0).exists(), 60)
    assert third.code not in portal.dossiers
    assert synced() == 5

    portal.fault = ""
    # Time passes (the backoff); beat sends the sweep through the broker.
    PortalPush.objects.filter(status=PushStatus.PENDING).update(next_attempt_at=timezone.now())
    from connectors.national_portal.tasks import sweep_portal_sync

    broker_handoff.send_task(sweep_portal_sync.name)
    assert wait_for(lambda: synced() == 7, 60)
    assert portal.statuses(third.code) == [1, 2]
