"""/metrics: django-prometheus's request metrics and motcua's own figures, read from the
database at scrape time, for the allowed addresses only."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from config.metrics import connector_failure
from documents.models import Document, DocumentStatus, Kind
from notifications.models import Channel, Message, MessageStatus
from tests.conftest import new_draft
from workflows.models import DossierTask, OutgoingEvent
from workflows.services import work

pytestmark = pytest.mark.django_db

PROBE = {"HTTP_HOST": "10.42.0.17:8000"}


def scrape(client, address="127.0.0.1") -> dict[str, dict[tuple, float]]:
    response = client.get("/metrics", REMOTE_ADDR=address, **PROBE)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    families = {}
    for family in text_string_to_metric_families(response.content.decode()):
        families[family.name] = {
            tuple(sorted(sample.labels.items())): sample.value for sample in family.samples
        }
    return families


def test_the_figures_follow_the_database(client, procedure, province, citizen, settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = ["motcua.example.gov.vn"]
    before = scrape(client)
    assert before["motcua_outbox_backlog"][(("kind", "message"),)] == 0
    assert before["motcua_documents_failed"][()] == 0
    assert before["motcua_tasks_overdue"] == {}

    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    # An open task, due three days ago; a paper that failed; an old pending message.
    task = DossierTask.objects.get(dossier=dossier, stage="reception", status__in=work.ACTIVE)
    DossierTask.objects.filter(pk=task.pk).update(
        due_date=timezone.localdate() - datetime.timedelta(days=3)
    )
    Document.objects.create(
        dossier=dossier,
        kind=Kind.values[0],
        source_key="metrics-test",
        template="receipt",
        status=DocumentStatus.FAILED,
    )
    message = Message.objects.create(
        recipient=citizen,
        channel=Channel.EMAIL,
        kind="received",
        language="vi",
        template_version="test",
        to_address="a@example.org",
        body="x",
        status=MessageStatus.TEMPORARY_FAILURE,
    )
    Message.objects.filter(pk=message.pk).update(
        created_at=timezone.now() - datetime.timedelta(seconds=7200)
    )
    OutgoingEvent.objects.create(name="dossier.received")

    after = scrape(client)
    pending = Message.objects.filter(status__in=("created", "temporary_failure", "sending")).count()
    assert after["motcua_outbox_backlog"][(("kind", "message"),)] == pending >= 1
    assert (
        after["motcua_outbox_backlog"][(("kind", "event"),)]
        == OutgoingEvent.objects.filter(dispatched_at__isnull=True, failed_at__isnull=True).count()
        >= 1
    )
    assert 7200 <= after["motcua_outbox_oldest_age_seconds"][(("kind", "message"),)] < 7300
    assert after["motcua_documents_failed"][()] == 1
    assert after["motcua_tasks_overdue"] == {(("agency", task.agency.code),): 1}


def test_request_latency_and_connector_failures(client, db):
    import uuid

    client.get("/", REMOTE_ADDR="127.0.0.1")
    first, second = (f"test-{uuid.uuid4().hex[:12]}" for _ in range(2))
    connector_failure(first)
    connector_failure(first)
    families = scrape(client)
    latency = families["django_http_requests_latency_seconds_by_view_method"]
    assert any(dict(labels).get("view") == "portal:home" for labels in latency)
    failures = families["motcua_connector_failures"]
    assert failures[(("connector", first),)] == 2
    connector_failure(second)
    failures = scrape(client)["motcua_connector_failures"]
    assert failures[(("connector", first),)] == 2
    assert failures[(("connector", second),)] == 1
    with pytest.raises(ValueError):
        connector_failure("dossier H22-0001 of 0912345678")


@pytest.mark.parametrize("address", ["10.0.0.5", "192.168.1.20", "2001:db8::1"])
def test_refused_from_other_addresses(client, address):
    response = client.get("/metrics", REMOTE_ADDR=address, **PROBE)
    assert response.status_code == 404
    assert b"motcua_" not in response.content


def test_the_allow_list_takes_networks_and_never_a_proxied_request(client, settings):
    settings.MOTCUA_METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    assert client.get("/metrics", REMOTE_ADDR="10.1.2.3", **PROBE).status_code == 200
    assert client.get("/metrics", REMOTE_ADDR="127.0.0.1", **PROBE).status_code == 404
    # A request that came through a proxy is refused whatever the header says: only the
    # connection's own address counts (a proxy on the node would lend it 127.0.0.1).
    settings.BEHIND_TLS_PROXY = True
    outside = client.get(
        "/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="203.0.113.9", **PROBE
    )
    assert outside.status_code == 404
    forged = client.get(
        "/metrics",
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="10.9.9.9, 203.0.113.9",
        **PROBE,
    )
    assert forged.status_code == 404
    relayed = client.get(
        "/metrics", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="10.3.3.3", **PROBE
    )
    assert relayed.status_code == 404
    settings.MOTCUA_METRICS_ALLOWED_IPS = ["127.0.0.1"]
    via_local_proxy = client.get(
        "/metrics", REMOTE_ADDR="127.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.9", **PROBE
    )
    assert via_local_proxy.status_code == 404
