"""The request id, from a request to a real Celery worker process: a citizen files a dossier
with the proxy's X-Request-ID; the worker's JSON lines for the tasks that filing caused
carry the same id. Needs PostgreSQL and a broker (CI's PostgreSQL pass sets both)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection
from django.urls import reverse

from config.celery import app
from tests.conftest import new_draft, sign_in

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _needs_services():
    if connection.vendor != "postgresql" or not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("needs PostgreSQL and a broker (DATABASE_URL and CELERY_BROKER_URL)")


@pytest.fixture
def queue():
    """A queue of this test's own on the environment's broker, consumed by its worker."""
    name = f"motcua-test-{uuid.uuid4().hex[:8]}"
    previous = app.conf.task_default_queue, app.conf.task_always_eager
    app.conf.task_default_queue, app.conf.task_always_eager = name, False
    yield name
    app.conf.task_default_queue, app.conf.task_always_eager = previous


@pytest.fixture
def worker(tmp_path, queue):
    db = connection.settings_dict
    log = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_TRACE_LOG_LEVEL": "INFO",
        "EMAIL_URL": "dummymail://",
        "MOTCUA_LOG_FORMAT": "json",
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
            "-Q",
            queue,
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log.open("ab"),
    )
    yield log
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def lines(log: Path) -> list[dict]:
    found = []
    for line in log.read_text(errors="replace").splitlines():
        try:
            found.append(json.loads(line))
        except ValueError:
            continue
    return found


def test_the_worker_logs_the_request_id(client, worker, procedure, province, citizen):
    request_id = f"edge-{uuid.uuid4().hex}"
    dossier = new_draft(procedure, province, citizen)
    sign_in(client, citizen)
    response = client.post(
        reverse("portal:review", args=[dossier.pk]),
        {"declaration": "on"},
        HTTP_X_REQUEST_ID=request_id,
    )
    assert response["X-Request-ID"] == request_id
    dossier.refresh_from_db()
    assert dossier.status != "draft", "the filing went through"

    def ours():
        return [line for line in lines(worker) if line.get("request_id") == request_id]

    def dispatched(carried):
        return any(
            line["logger"] == "celery.app.trace"
            # (The filing's events have no handler: written dispatched, they need no
            # task; its message's delivery is one.)
            and "notifications.tasks.deliver_message" in line["event"]
            and "succeeded" in line["event"]
            for line in carried
        )

    def delivered(carried):
        # The message the filing sent, delivered by the worker, is logged with the id too.
        return any(
            line["logger"] == "notifications.services" and "delivered" in line["event"]
            for line in carried
        )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (dispatched(ours()) and delivered(ours())):
        time.sleep(0.3)
    carried = ours()
    assert dispatched(carried), worker.read_text()[-3000:]
    assert delivered(carried), carried
