"""/health/live and /health/ready: real checks of the database, the cache, the broker and
the private storage, and the outbox's age as a warning; reachable in plain HTTP, with any
Host, with no login."""

from __future__ import annotations

import datetime
import json
import os
import socket

import pytest
from django.core.files.storage import storages
from django.db import connection
from django.test import override_settings
from django.utils import timezone

from notifications.models import Channel, Message, MessageStatus
from tests.conftest import make_user
from workflows.models import OutgoingEvent

pytestmark = pytest.mark.django_db

PROBE = {"HTTP_HOST": "10.42.0.17:8000"}  # a pod's address, in no ALLOWED_HOSTS


@pytest.fixture
def production(settings):
    """DEBUG off, HTTPS enforced, a strict host list: what a deployment runs with."""
    settings.DEBUG = False
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["motcua.example.gov.vn"]


def test_live_answers_without_asking_anything(client, production, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health/live", **PROBE)
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {}}
    assert response["Cache-Control"].startswith("max-age=0")


def test_ready_checks_every_service(client, production):
    response = client.get("/health/ready", **PROBE)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["status"] == "ok"
    assert set(body["checks"]) == {"database", "cache", "broker", "storage", "outbox"}
    assert all(check["status"] == "ok" for check in body["checks"].values())
    # The storage probe writes nothing: the test's private storage is still empty.
    storage = storages["private"]
    assert storage.listdir("") == ([], [])


def test_other_pages_still_refuse_the_pod_address_and_plain_http(client, production):
    assert client.get("/", **PROBE).status_code == 400  # DisallowedHost
    assert client.get("/", HTTP_HOST="motcua.example.gov.vn").status_code == 301


def test_ready_is_503_when_the_storage_fails(client, production, settings, tmp_path):
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the storage's directory should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "private": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocked)},
        },
    }
    response = client.get("/health/ready", **PROBE)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["storage"]["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "ok"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("scheme", ["redis", "amqp"])
def test_ready_is_503_when_the_broker_is_unreachable(client, production, scheme):
    url = f"{scheme}://127.0.0.1:{_closed_port()}/0"
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, CELERY_BROKER_URL=url):
        response = client.get("/health/ready", **PROBE)
    assert response.status_code == 503
    assert response.json()["checks"]["broker"] == {
        "status": "unavailable",
        "seconds": response.json()["checks"]["broker"]["seconds"],
        "detail": "broker unreachable",
    }


@pytest.mark.broker
def test_ready_reaches_the_real_broker(client, production):
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url or connection.vendor != "postgresql":
        pytest.skip("needs a real broker (CELERY_BROKER_URL)")
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        response = client.get("/health/ready", **PROBE)
    assert response.json()["checks"]["broker"]["status"] == "ok"


def test_an_old_undelivered_message_is_a_warning_not_an_outage(client, production, settings):
    settings.MOTCUA = {**settings.MOTCUA, "HEALTH": {"OUTBOX_MAX_AGE_SECONDS": 600}}
    user = make_user()
    message = Message.objects.create(
        recipient=user,
        channel=Channel.EMAIL,
        kind="received",
        language="vi",
        template_version="test",
        to_address="nguoi.dan@example.org",
        subject="Hồ sơ",
        body="Nội dung",
        status=MessageStatus.TEMPORARY_FAILURE,
    )
    event = OutgoingEvent.objects.create(name="dossier.received")
    fresh = client.get("/health/ready", **PROBE).json()
    assert fresh["checks"]["outbox"]["status"] == "ok"

    old = timezone.now() - datetime.timedelta(seconds=3600)
    Message.objects.filter(pk=message.pk).update(created_at=old)
    response = client.get("/health/ready", **PROBE)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "warning"
    outbox = body["checks"]["outbox"]
    assert outbox["status"] == "warning"
    assert outbox["detail"].startswith("oldest undelivered: message 36")
    assert "limit 600 s" in outbox["detail"]
    text = json.dumps(body)
    assert "example.org" not in text and "Hồ sơ" not in text

    # A message given up on is not undelivered any more; an old event is.
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.PERMANENT_FAILURE)
    assert client.get("/health/ready", **PROBE).json()["status"] == "ok"
    OutgoingEvent.objects.filter(pk=event.pk).update(created_at=old)
    detail = client.get("/health/ready", **PROBE).json()["checks"]["outbox"]["detail"]
    assert detail.startswith("oldest undelivered: event 36")


def test_probes_need_no_login_and_are_not_rate_limited(client, production):
    statuses = {client.get("/health/ready", **PROBE).status_code for _ in range(30)}
    assert statuses == {200}


def test_probes_refuse_other_methods(client, production):
    assert client.post("/health/ready", **PROBE).status_code == 405
    assert client.post("/health/live", **PROBE).status_code == 405


def test_a_failing_outbox_check_is_still_only_a_warning(client, production, settings):
    settings.MOTCUA = {**settings.MOTCUA, "HEALTH": {"OUTBOX_MAX_AGE_SECONDS": "not a number"}}
    OutgoingEvent.objects.create(name="dossier.received")
    response = client.get("/health/ready", **PROBE)
    assert response.status_code == 200
    assert response.json()["checks"]["outbox"]["status"] == "warning"
