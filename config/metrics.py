"""Prometheus metrics at /metrics, for the addresses in MOTCUA_METRICS_ALLOWED_IPS only.

django-prometheus's middleware measures every request (latency by view and method,
statuses); this module adds what only motcua's database knows, read at scrape time with a
few cheap, indexed queries (:class:`DatabaseCollector`):

- ``motcua_outbox_backlog{kind}`` and ``motcua_outbox_oldest_age_seconds{kind}``: events
  not dispatched and messages not delivered yet (``kind`` is ``event`` or ``message``);
- ``motcua_documents_failed``: generated papers whose rendering failed for good;
- ``motcua_tasks_overdue{agency}``: open tasks past their due date, by agency code;

and a counter for the connectors to come (``connector_failure(name)``):
``motcua_connector_failures_total{connector}``. Connectors run in Celery workers, on other
machines than the web nodes that answer the scrape, so this counter lives in the shared
cache (Redis in production), not in one process's memory.

Several gunicorn workers each keep their own counters: with ``PROMETHEUS_MULTIPROC_DIR``
set (config/gunicorn.py), prometheus_client writes them to files there and a scrape adds
them up, whichever worker answers it. The database figures are the same from every worker.

Any other address gets a 404: the page does not exist for it.
"""

from __future__ import annotations

import ipaddress
import os
import re
from functools import lru_cache

import prometheus_client
from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, Min
from django.http import HttpResponse, HttpResponseNotAllowed
from django.utils import timezone
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

_CONNECTORS = "motcua:metrics:connectors"
_FAILURES = "motcua:metrics:connector-failures:"
_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


def connector_failure(name: str) -> None:
    """Count one failed call of the connector ``name``: a fixed identifier such as
    ``"lgsp"``, never data. Any process may call it; every scrape sees the total."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"a connector name is a short identifier, not {name!r}")
    if cache.add(_FAILURES + name, 1, timeout=None):
        names = set(cache.get(_CONNECTORS) or ())
        if name not in names:
            cache.set(_CONNECTORS, sorted(names | {name}), timeout=None)
    else:
        try:
            cache.incr(_FAILURES + name)
        except ValueError:  # evicted meanwhile: a counter reset, which Prometheus allows
            cache.add(_FAILURES + name, 1, timeout=None)


class DatabaseCollector(Collector):
    """The figures motcua's database holds, read when Prometheus scrapes."""

    def collect(self):
        from viewflow.workflow.status import STATUS

        from config.health import PENDING_MESSAGE_STATUSES
        from documents.models import Document, DocumentStatus
        from notifications.models import Message
        from workflows.clock import working_calendar
        from workflows.models import DossierTask, OutgoingEvent

        now = timezone.now()
        backlog = GaugeMetricFamily(
            "motcua_outbox_backlog",
            "Outbox entries not delivered yet (events not dispatched, messages not sent).",
            labels=["kind"],
        )
        oldest_age = GaugeMetricFamily(
            "motcua_outbox_oldest_age_seconds",
            "Age of the oldest outbox entry not delivered yet (0 when there is none).",
            labels=["kind"],
        )
        pending = {
            "event": OutgoingEvent.objects.filter(
                dispatched_at__isnull=True, failed_at__isnull=True
            ),
            "message": Message.objects.filter(status__in=PENDING_MESSAGE_STATUSES),
        }
        for kind, rows in pending.items():
            figures = rows.aggregate(count=Count("pk"), oldest=Min("created_at"))
            backlog.add_metric([kind], figures["count"])
            age = (now - figures["oldest"]).total_seconds() if figures["oldest"] else 0.0
            oldest_age.add_metric([kind], max(age, 0.0))
        yield backlog
        yield oldest_age

        yield GaugeMetricFamily(
            "motcua_documents_failed",
            "Generated papers whose rendering failed for good.",
            value=Document.objects.filter(status=DocumentStatus.FAILED).count(),
        )

        overdue = GaugeMetricFamily(
            "motcua_tasks_overdue",
            "Open tasks past their due date, by the code of the agency that holds them.",
            labels=["agency"],
        )
        today = working_calendar().today()
        rows = (
            DossierTask.objects.filter(
                flow_task_type="HUMAN",
                task_status__in=(STATUS.NEW, STATUS.ASSIGNED),
                due_date__lt=today,
            )
            .values("agency__code")
            .annotate(count=Count("pk"))
            .order_by("agency__code")
        )
        for row in rows:
            overdue.add_metric([row["agency__code"]], row["count"])
        yield overdue

        failures = CounterMetricFamily(
            "motcua_connector_failures",
            "Failed calls to an external system, by connector.",
            labels=["connector"],
        )
        names = cache.get(_CONNECTORS) or ()
        counts = cache.get_many([_FAILURES + name for name in names])
        for name in names:
            failures.add_metric([name], counts.get(_FAILURES + name, 0))
        yield failures


class _Metrics:
    """What one scrape collects: this process's (or every worker's) metrics, then the
    database's."""

    def __init__(self, *collectors):
        self.collectors = collectors

    def collect(self):
        for collector in self.collectors:
            yield from collector.collect()


def _process_metrics():
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return registry
    return prometheus_client.REGISTRY


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]):
    return tuple(ipaddress.ip_network(value.strip(), strict=False) for value in allowed)


def allowed(request) -> bool:
    """Prometheus scrapes each node directly: the connection's own address must be in the
    allow-list, and a request relayed by a proxy (it carries X-Forwarded-For) never is. A
    header is not trusted for this (anyone reaching the node could send one), and a proxy
    on the same machine would otherwise lend every visitor its loopback address."""
    if "HTTP_X_FORWARDED_FOR" in request.META:
        return False
    try:
        ip = ipaddress.ip_address(request.META.get("REMOTE_ADDR") or "")
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.MOTCUA_METRICS_ALLOWED_IPS)))


def metrics_view(request):
    if not allowed(request):
        return HttpResponse(b"Not Found\n", status=404, content_type="text/plain")
    if request.method not in ("GET", "HEAD"):
        return HttpResponseNotAllowed(["GET", "HEAD"])
    body = prometheus_client.generate_latest(_Metrics(_process_metrics(), DatabaseCollector()))
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)
