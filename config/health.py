"""Health probes for load balancers and orchestrators (django-health-check's checks).

- ``/health/live``: the process answers. No dependency is asked: a database outage must
  not get every web process restarted.
- ``/health/ready``: this node can serve: the database, the cache, the Celery broker and
  the private storage (through Django's storage API, so the file system and S3 alike)
  answer. 200 when they do, 503 when one does not.

The outbox (undelivered ``OutgoingEvent`` and ``Message`` rows older than
``MOTCUA["HEALTH"]["OUTBOX_MAX_AGE_SECONDS"]``) is reported as a *warning*: the body says
so and the status stays 200. Taking web nodes out of the balancer does not deliver a
message stuck behind a mail relay that is down; it would only add an outage of the whole
site to it. Alert on the metric instead (``motcua_outbox_oldest_age_seconds``).

The body is JSON, with statuses and durations only: no host, no person, no address.

:class:`ProbeMiddleware`, first in the middleware list, answers the probe paths and
``/metrics`` before anything else runs: probes come in plain HTTP from the balancer with
the pod's address as Host, so neither ``SECURE_SSL_REDIRECT`` nor ``ALLOWED_HOSTS`` may
stand in their way, and they need no session, no login, no CSRF and no rate limit.
"""

from __future__ import annotations

import dataclasses
import datetime
import typing

from asgiref.sync import async_to_sync, iscoroutinefunction, sync_to_async
from django.conf import settings
from django.db.models import Min
from django.http import JsonResponse
from django.urls import resolve, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from health_check import checks
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable, ServiceWarning
from health_check.views import HealthCheckView

# --- Checks -----------------------------------------------------------------------------
# The library runs a synchronous check on an executor thread, which would open a database
# connection of its own per probe; these run in the request's thread instead.


@dataclasses.dataclass
class Database(checks.Database):
    async def run(self):
        await sync_to_async(super().run)()


@dataclasses.dataclass
class Storage(HealthCheck):
    """The private storage answers, asked read-only so that a probe every few seconds leaves
    nothing behind (no object versions in a versioned bucket): a bucket answers a HEAD for
    a fixed name, with short timeouts and one attempt; a directory exists and is writable.
    Any failure is "storage unavailable", without a traceback in the log."""

    alias: str = "private"

    async def run(self):
        await sync_to_async(self._check)()

    def _check(self):
        import os

        from django.core.files.storage import FileSystemStorage

        try:
            storage = _probe_storage(self.alias)
            if isinstance(storage, FileSystemStorage):
                os.makedirs(storage.location, exist_ok=True)
                if not os.access(storage.location, os.W_OK | os.X_OK):
                    raise PermissionError(storage.location)
            else:
                storage.exists("motcua-health-probe")
        except Exception as error:
            raise ServiceUnavailable("storage unavailable") from error


_probe_storages: dict[str, object] = {}


def _probe_storage(alias: str):
    """The storage as configured, but a bucket's client waits 2 s at most, once: a probe
    must answer before the balancer gives up on it."""
    from django.core.files.storage import storages

    config = settings.STORAGES[alias]
    client_config = config.get("OPTIONS", {}).get("client_config")
    if client_config is None:
        return storages[alias]
    key = repr(config)
    if key not in _probe_storages:
        from botocore.config import Config

        quick = client_config.merge(
            Config(connect_timeout=2, read_timeout=2, retries={"max_attempts": 1})
        )
        _probe_storages.clear()
        _probe_storages[key] = storages.create_storage(
            {**config, "OPTIONS": {**config["OPTIONS"], "client_config": quick}}
        )
    return _probe_storages[key]


@dataclasses.dataclass
class Broker(HealthCheck):
    """A connection to Celery's broker opens. With tasks run eagerly (the embedded default)
    there is no broker to ask: not applicable, reported as OK."""

    timeout: datetime.timedelta = dataclasses.field(
        default=datetime.timedelta(seconds=3), repr=False
    )

    def applicable(self) -> bool:
        return not settings.CELERY_TASK_ALWAYS_EAGER and not settings.CELERY_BROKER_URL.startswith(
            "memory://"
        )

    async def run(self):
        if self.applicable():
            await sync_to_async(self._connect, thread_sensitive=False)()

    def _connect(self):
        from config.celery import app
        from config.handoff import bounded_connection

        connection = bounded_connection(app, settings.CELERY_BROKER_URL)
        try:
            connection.ensure_connection(max_retries=0, timeout=self.timeout.total_seconds())
        except Exception as error:  # every transport raises its own kind
            raise ServiceUnavailable("broker unreachable") from error
        finally:
            connection.release()


def outbox_oldest() -> dict[str, datetime.datetime | None]:
    """When the oldest undelivered outbox entry of each kind was written (None: none)."""
    from notifications.models import Message
    from workflows.models import OutgoingEvent

    events = OutgoingEvent.objects.filter(dispatched_at__isnull=True, failed_at__isnull=True)
    messages = Message.objects.filter(status__in=PENDING_MESSAGE_STATUSES)
    return {
        "event": events.aggregate(oldest=Min("created_at"))["oldest"],
        "message": messages.aggregate(oldest=Min("created_at"))["oldest"],
    }


#: A message not delivered yet and not given up on (the partial index message_due_idx).
PENDING_MESSAGE_STATUSES = ("created", "temporary_failure", "sending")


@dataclasses.dataclass
class Outbox(HealthCheck):
    """A warning when the oldest undelivered event or message is older than the limit.
    Whatever happens to this check (a slow query under a huge backlog, a time-out) is a
    warning too: the backlog is no reason to take the node out of the balancer."""

    warning_only: typing.ClassVar[bool] = True

    async def run(self):
        await sync_to_async(self._check)()

    def _check(self):
        limit = settings.MOTCUA["HEALTH"]["OUTBOX_MAX_AGE_SECONDS"]
        now = timezone.now()
        late = {
            kind: int((now - oldest).total_seconds())
            for kind, oldest in outbox_oldest().items()
            if oldest is not None and (now - oldest).total_seconds() > limit
        }
        if late:
            ages = ", ".join(f"{kind} {age} s" for kind, age in sorted(late.items()))
            raise ServiceWarning(f"oldest undelivered: {ages} (limit {limit} s)")


# --- Views ------------------------------------------------------------------------------


class HealthView(HealthCheckView):
    """django-health-check's view, answering JSON only, 503 (not 500) when unhealthy, and
    200 when the only failures are warnings."""

    checks: tuple = ()
    names: tuple[str, ...] = ()

    def get_checks(self):
        for check in self.checks:
            yield check()

    async def get(self, request, *args, **kwargs):
        import asyncio

        self.results = await asyncio.gather(*(check.get_result() for check in self.get_checks()))
        report, unhealthy, warned = {}, False, False
        for name, result in zip(self.names, self.results, strict=True):
            error = result.error
            if error is None:
                status = "ok"
            elif isinstance(error, ServiceWarning) or getattr(result.check, "warning_only", False):
                status, warned = "warning", True
            else:
                status, unhealthy = "unavailable", True
            entry = {"status": status, "seconds": round(result.time_taken, 4)}
            if error is not None:
                entry["detail"] = error.message
            report[name] = entry
        overall = "unavailable" if unhealthy else ("warning" if warned else "ok")
        response = JsonResponse(
            {"status": overall, "checks": report}, status=503 if unhealthy else 200
        )
        add_never_cache_headers(response)
        return response


live = HealthView.as_view()
ready = HealthView.as_view(
    checks=(Database, checks.Cache, Broker, Storage, Outbox),
    names=("database", "cache", "broker", "storage", "outbox"),
)


# --- Middleware -------------------------------------------------------------------------

PROBES = ("health_live", "health_ready", "metrics")


class ProbeMiddleware:
    """Answer the probes and /metrics before host validation, the HTTPS redirect and the
    session. /metrics checks its own allow-list (config.metrics)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.paths = {reverse(name) for name in PROBES}

    def __call__(self, request):
        if request.path_info not in self.paths:
            return self.get_response(request)
        match = resolve(request.path_info)
        if iscoroutinefunction(match.func):
            return async_to_sync(match.func)(request, *match.args, **match.kwargs)
        return match.func(request, *match.args, **match.kwargs)
