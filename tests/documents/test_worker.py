"""The render task on a real Celery worker and Redis broker: it renders a pending paper,
and a second delivery of the same task leaves the one document. Needs PostgreSQL and Redis
(CI sets both)."""

from __future__ import annotations

import hashlib

import pytest
from django.utils import translation

from documents import content
from documents.models import Document, DocumentStatus, Kind
from tests.notifications.test_worker import (  # noqa: F401 - fixtures
    _needs_services,
    client_app,
    wait_for,
    worker,
)
from workflows.models import Status

pytestmark = [pytest.mark.broker, pytest.mark.django_db(transaction=True)]


def test_a_worker_renders_a_paper_once(walk, worker, client_app, monkeypatch):  # noqa: F811
    dossier = walk(Status.RECEIVED)
    with translation.override("vi"):
        frozen = content.receipt(dossier, {})
    document = Document.objects.create(
        dossier=dossier,
        kind=Kind.RECEIPT,
        source_key="worker-test",
        template=content.template_for(dossier, Kind.RECEIPT),
        context=frozen,
    )
    # The worker writes where this process reads.
    storage = Document._meta.get_field("file").storage
    monkeypatch.setenv("PRIVATE_MEDIA_ROOT", str(storage.location))
    worker(0)
    client_app.send_task("documents.tasks.render_document", args=[document.pk])

    def rendered():
        document.refresh_from_db()
        return document.status == DocumentStatus.RENDERED

    assert wait_for(rendered), (document.status, document.last_error)
    first = (document.file.name, document.sha256)
    with document.file.open("rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == document.sha256
    client_app.send_task("documents.tasks.render_document", args=[document.pk])
    client_app.send_task("documents.tasks.render_document", args=[document.pk])
    assert not wait_for(lambda: Document.objects.get(pk=document.pk).attempts > 1, timeout=5)
    document.refresh_from_db()
    assert (document.file.name, document.sha256) == first
    assert Document.objects.filter(dossier=dossier, source_key="worker-test").count() == 1
