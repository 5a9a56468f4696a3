"""The request id: taken from the proxy when well formed, returned in the response, bound
for the request's log lines, carried in the messages of the tasks it enqueues (through
kombu's in-memory transport here; a real Redis broker and worker process in
test_requestid_worker.py) and bound again in the worker before the task runs."""

from __future__ import annotations

import re

import pytest
from celery.signals import task_postrun, task_prerun
from kombu import Connection
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

from config.celery import app
from config.requestid import TASK_HEADER
from notifications.tasks import sweep_messages

HEX32 = re.compile(r"[0-9a-f]{32}")


@pytest.fixture(autouse=True)
def _clean_context():
    clear_contextvars()
    yield
    clear_contextvars()


def test_a_new_id_per_request(client, db):
    first = client.get("/health/live")["X-Request-ID"]
    second = client.get("/health/live")["X-Request-ID"]
    assert HEX32.fullmatch(first) and HEX32.fullmatch(second) and first != second


@pytest.mark.parametrize(
    "given",
    [
        "0af7651916cd43dd8448eb211c80319c",
        "Root=1-67891233-abcdef012345678912345678",
        "req.42_a:b-c",
    ],
)
def test_the_proxy_id_is_kept_when_well_formed(client, db, given):
    assert client.get("/health/live", HTTP_X_REQUEST_ID=given)["X-Request-ID"] == given


@pytest.mark.parametrize(
    "given", ["short", "a b c d e f g h", "x" * 129, "id\nforged line", "<script>alert(1)", ""]
)
def test_a_malformed_proxy_id_is_replaced(client, db, given):
    returned = client.get("/", HTTP_X_REQUEST_ID=given)["X-Request-ID"]
    assert HEX32.fullmatch(returned)


def test_the_request_log_lines_carry_it(client, db, caplog):
    client.get("/nothing-here/", HTTP_X_REQUEST_ID="proxy-id-12345678")
    not_found = [r for r in caplog.records if r.name == "django.request"]
    assert not_found
    # The request's context is what the formatter merges into each line.
    assert get_contextvars()["request_id"] == "proxy-id-12345678"


def test_publishing_carries_the_id_in_the_message_headers():
    """A real publish through kombu's in-memory transport, read back from its queue."""
    queue_name = "motcua-test-requestid"
    with Connection("memory://") as connection:
        queue = connection.SimpleQueue(queue_name)
        queue.clear()
        bind_contextvars(request_id="proxy-id-12345678")
        app.send_task("notifications.tasks.sweep_messages", connection=connection, queue=queue_name)
        clear_contextvars()
        app.send_task("notifications.tasks.sweep_messages", connection=connection, queue=queue_name)
        carried = queue.get(timeout=2)
        plain = queue.get(timeout=2)
        queue.close()
    assert carried.headers[TASK_HEADER] == "proxy-id-12345678"
    assert carried.headers["task"] == "notifications.tasks.sweep_messages"
    assert TASK_HEADER not in plain.headers


def _run_signals(task, request: dict) -> tuple[dict, dict]:
    task.push_request(**request)
    try:
        task_prerun.send(sender=task, task_id="t1", task=task, args=(), kwargs={})
        during = dict(get_contextvars())
        task_postrun.send(sender=task, task_id="t1", task=task, args=(), kwargs={}, retval=None)
        after = dict(get_contextvars())
    finally:
        task.pop_request()
    return during, after


def test_the_worker_binds_the_id_while_the_task_runs():
    task = sweep_messages
    bind_contextvars(request_id="left-over-from-before")
    during, after = _run_signals(task, {TASK_HEADER: "proxy-id-12345678", "is_eager": False})
    assert during == {"request_id": "proxy-id-12345678"}
    assert after == {}
    # A task with no request behind it (beat's) has none, not the previous task's.
    bind_contextvars(request_id="left-over-from-before")
    during, _ = _run_signals(task, {"is_eager": False})
    assert during == {}
    # A forged header is not bound.
    during, _ = _run_signals(task, {TASK_HEADER: "bad\nline", "is_eager": False})
    assert during == {}


def test_an_eager_task_keeps_the_request_context():
    task = sweep_messages
    bind_contextvars(request_id="proxy-id-12345678")
    during, after = _run_signals(task, {"is_eager": True})
    assert during == after == {"request_id": "proxy-id-12345678"}
