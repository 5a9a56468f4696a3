"""One id per request, on every log line the request causes, here and in Celery's workers.

The TLS proxy usually names each request (nginx's ``$request_id``, a load balancer's
trace id) in ``X-Request-ID``; a well-formed one is kept, so the proxy's lines and motcua's
share it, and anything else is replaced by a fresh one. The middleware binds it in
structlog's context variables (config.logging adds them to every line) and returns it in
the response's ``X-Request-ID``, which gunicorn's access line prints (config/gunicorn.py).

A task enqueued while the request runs carries the id in its message headers
(``before_task_publish``); the worker binds it before the task runs (``task_prerun``) and
forgets it after, so the worker's lines for that task show the request's id. A task run
eagerly (the embedded default) runs inside the request and keeps its context as it is.
"""

from __future__ import annotations

import re
import uuid

from celery.signals import before_task_publish, task_postrun, task_prerun
from structlog.contextvars import bind_contextvars, clear_contextvars, get_contextvars

HEADER = "X-Request-ID"
#: What a proxy's id may look like: letters, digits and ``._:=-``, 8 to 128 of them. Nothing
#: that could break a log line or carry a sentence.
WELL_FORMED = re.compile(r"[A-Za-z0-9._:=-]{8,128}")
#: The Celery message header that carries it.
TASK_HEADER = "motcua_request_id"


def new_request_id() -> str:
    return uuid.uuid4().hex


def request_id_from(value: str | None) -> str:
    """The proxy's id when well formed, else a new one."""
    if value and WELL_FORMED.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    return get_contextvars().get("request_id")


class RequestIdMiddleware:
    """Bind the request's id for its log lines and return it in ``X-Request-ID``."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request_id_from(request.headers.get(HEADER))
        request.request_id = request_id
        # Cleared at the start of each request, not at its end: Django logs a 4xx or 5xx
        # after the middleware has returned, and gunicorn its access line later still,
        # both in this thread (config/gunicorn.py), and both should carry the id.
        clear_contextvars()
        bind_contextvars(request_id=request_id)
        response = self.get_response(request)
        response[HEADER] = request_id
        return response


@before_task_publish.connect(dispatch_uid="motcua.requestid.publish")
def _carry_request_id(headers=None, **kwargs):
    request_id = current_request_id()
    if request_id and headers is not None:
        headers.setdefault(TASK_HEADER, request_id)


def _task_request_id(task) -> str | None:
    value = getattr(task.request, TASK_HEADER, None)
    if value is None:  # protocol 1, or a Celery that keeps custom headers apart
        value = (getattr(task.request, "headers", None) or {}).get(TASK_HEADER)
    return value if isinstance(value, str) and WELL_FORMED.fullmatch(value) else None


@task_prerun.connect(dispatch_uid="motcua.requestid.prerun")
def _bind_request_id(task=None, **kwargs):
    if task is None or task.request.is_eager:
        return  # runs inside the request: its context already holds the id
    clear_contextvars()
    request_id = _task_request_id(task)
    if request_id:
        bind_contextvars(request_id=request_id)


@task_postrun.connect(dispatch_uid="motcua.requestid.postrun")
def _forget_request_id(task=None, **kwargs):
    if task is not None and not task.request.is_eager:
        clear_contextvars()
