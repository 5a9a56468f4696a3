"""Handing work to the broker after a commit: one bounded attempt, never a stall.

The change is already committed when an ``on_commit`` callback hands its follow-up (an
event to dispatch, a message to deliver, a paper to render) to Celery, and every such row
waits in an outbox that a periodic sweep reads. So the hand-off is only a shortcut: when
the broker does not answer, it is left to the sweep at once. Celery's defaults would
instead retry each publication (and kombu each connection) for a few hundred
milliseconds to seconds, with a traceback each time: a filing that writes eleven rows
took seven seconds with the broker down.

Here each hand-off makes one attempt, on a connection that gives up after
``MOTCUA_HANDOFF_TIMEOUT`` seconds of silence and never retries; a failure logs one line
and makes this process skip further hand-offs for ``MOTCUA_HANDOFF_PAUSE_SECONDS``, so a
request that writes many rows pays for at most one failed attempt. In the embedded
default (eager Celery) the task runs in-process, as before.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from kombu.pools import producers

log = logging.getLogger("motcua.handoff")

_lock = threading.Lock()
_paused_until = 0.0


def _options() -> dict:
    return settings.MOTCUA["HANDOFF"]


def bounded_connection(app, url: str | None = None):
    """The broker connection for hand-offs: no retry, and every wait bounded (connecting,
    AMQP's handshake, Redis' answer: a broker that accepts and then says nothing too)."""
    timeout = _options()["TIMEOUT"]
    return app.connection_for_write(
        url,
        connect_timeout=timeout,
        transport_options={
            **(app.conf.broker_transport_options or {}),
            "max_retries": 0,
            "socket_connect_timeout": timeout,  # redis
            "socket_timeout": timeout,  # redis
            "read_timeout": timeout,  # amqp
            "write_timeout": timeout,  # amqp
        },
    )


# The hand-offs' connection, the key of its producer pool (kombu keys pools by the
# connection's parameters), made once for each broker URL and setting: not for every row.
_templates: dict[tuple, object] = {}


def _template(app):
    key = (id(app), app.conf.broker_write_url, _options()["TIMEOUT"])
    template = _templates.get(key)
    if template is None:
        template = _templates[key] = bounded_connection(app)
    return template


def handoff(task, *args) -> bool:
    """Queue ``task(*args)`` now if the broker answers at once; False: the sweep will."""
    global _paused_until
    from .celery import app  # motcua's app, whichever Celery app happens to be current

    if app.conf.task_always_eager:
        task.delay(*args)
        return True
    if time.monotonic() < _paused_until:
        log.debug("handoff skipped task=%s (broker paused)", task.name)
        return False
    try:
        with producers[_template(app)].acquire(block=True, timeout=1) as producer:
            app.send_task(task.name, args=list(args), producer=producer, retry=False)
    except Exception as exc:  # noqa: BLE001 - any broker failure: the sweep delivers
        with _lock:
            _paused_until = time.monotonic() + _options()["PAUSE_SECONDS"]
        log.warning(
            "handoff failed task=%s error=%s: left to the sweep; hand-offs paused %ss",
            task.name,
            type(exc).__name__,
            _options()["PAUSE_SECONDS"],
        )
        return False
    return True


def handoff_resume() -> None:
    """Forget an earlier failure (tests, or an operator who knows the broker is back)."""
    global _paused_until
    with _lock:
        _paused_until = 0.0
