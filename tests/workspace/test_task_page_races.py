"""The task page while another node renders one of the dossier's papers (PostgreSQL, real
threads and row locks).

CI once saw the task page answer 500 in the several-nodes test: ``deadlock detected``.
Opening the page records the access (access.services.access_record): its INSERT checks its
foreign keys, the officer's agency first and then the dossier, each ``FOR KEY SHARE``.
A worker rendering a paper (documents.services.document_render) locked its document with
``select_for_update()`` over a join, so it locked the dossier and the agency rows ``FOR
UPDATE`` too, in that order, and held them through the whole PDF rendering: the page
waited on the dossier while holding the agency the render wanted next. The render now
locks its document alone; the page neither deadlocks nor waits for a rendering.
"""

from __future__ import annotations

import threading
import time
from unittest import mock

import pytest
from django.db import DatabaseError, close_old_connections, connection, connections, transaction
from django.test import Client

from access.models import DossierAccess
from documents import services as documents
from documents.models import Document, DocumentStatus, Kind
from procedures.models import Agency
from tests.conftest import new_draft, sign_in
from workflows.models import Dossier, DossierTask
from workflows.services import work

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def waiting_on_a_lock(query_start: str, timeout: float = 10.0) -> bool:
    """True once another connection's statement beginning ``query_start`` waits on a lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND query LIKE %s",
                [query_start + "%"],
            )
            if cursor.fetchone()[0]:
                return True
        time.sleep(0.05)
    return False


def in_thread(target) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        try:
            outcome["value"] = target()
        except BaseException as exc:  # noqa: BLE001 - the assertions read it
            outcome["error"] = exc
        finally:
            close_old_connections()
            connections["default"].close()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def test_the_task_page_while_a_paper_of_the_dossier_renders(procedure, province, citizen, officers):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    reception = DossierTask.objects.get(dossier=dossier, stage="reception")
    work.task_claim(task=reception, by=officers["reception"])
    work.task_complete(
        task=DossierTask.objects.get(pk=reception.pk), by=officers["reception"], action="accept"
    )
    review = DossierTask.objects.get(dossier=dossier, stage="review")
    with documents.renders_deferred():
        paper = documents.document_request(
            dossier=Dossier.objects.get(pk=dossier.pk), kind=Kind.RECEIPT, source_key="race"
        )
    assert paper.status == DocumentStatus.PENDING
    client = Client()
    sign_in(client, officers["specialist"])

    # The render, held in the middle of the PDF (where WeasyPrint takes its seconds).
    rendering, finish = threading.Event(), threading.Event()
    real_render = documents.render_template

    def slow_render(*args, **kwargs):
        rendering.set()
        finish.wait(30)
        return real_render(*args, **kwargs)

    # An officer's action on another node holds the dossier's row (the flow's lock).
    held, release = threading.Event(), threading.Event()

    def action_on_the_dossier():
        with transaction.atomic():
            Dossier.objects.select_for_update().get(pk=dossier.pk)
            held.set()
            release.wait(30)

    try:
        with mock.patch.object(documents, "render_template", slow_render):
            action, _ = in_thread(action_on_the_dossier)
            assert held.wait(10)
            render, rendered = in_thread(lambda: documents.document_render(document_id=paper.pk))
            # Before the fix the render waits here for the dossier, its document locked.
            assert rendering.wait(3) or waiting_on_a_lock('SELECT "documents_document"')
            page, shown = in_thread(lambda: client.get(f"/workspace/tasks/{review.pk}/"))
            # The access record's INSERT: the officer's agency, then the dossier (held).
            assert waiting_on_a_lock('INSERT INTO "access_dossieraccess"')
            release.set()
            action.join(10)
            # The action is over; the paper is still being rendered: the page is shown.
            page.join(15)
            assert not page.is_alive(), "the task page waited for the rendering"
            assert "error" not in shown, shown["error"]
            assert shown["value"].status_code == 200
            assert rendering.is_set() and render.is_alive()
            finish.set()
            render.join(30)
    finally:
        release.set()
        finish.set()
    assert "error" not in rendered, rendered.get("error")
    paper.refresh_from_db()
    assert paper.status == DocumentStatus.RENDERED
    assert Document.objects.filter(dossier=dossier, source_key="race").count() == 1


def test_the_task_page_survives_a_deadlock_on_its_access_record(
    procedure, province, citizen, officers
):
    """Whatever else locks the dossier and then the agency FOR UPDATE (as the rendering
    did), a deadlock with the access record is not a 500: the INSERT that PostgreSQL chose
    as the victim is made again, and the access is recorded once."""
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    client = Client()
    sign_in(client, officers["reception"])
    held, go = threading.Event(), threading.Event()

    def dossier_then_agency():
        with transaction.atomic():
            with connection.cursor() as cursor:
                try:
                    # This side waits longer before looking for a deadlock: the page's
                    # INSERT, waiting first, is the one PostgreSQL stops.
                    cursor.execute("SET LOCAL deadlock_timeout = '20s'")
                except DatabaseError:
                    return "not superuser"
            Dossier.objects.select_for_update().get(pk=dossier.pk)
            held.set()
            go.wait(30)
            list(Agency.objects.select_for_update().filter(pk=province.pk))
            return "locked both"

    try:
        locker, locked = in_thread(dossier_then_agency)
        assert held.wait(10) or locked.get("value") == "not superuser"
        if locked.get("value") == "not superuser":
            pytest.skip("SET deadlock_timeout needs a superuser connection")
        page, shown = in_thread(lambda: client.get(f"/workspace/tasks/{task.pk}/"))
        # The INSERT holds the agency FOR KEY SHARE and waits on the dossier.
        assert waiting_on_a_lock('INSERT INTO "access_dossieraccess"')
        go.set()
        locker.join(30)
        page.join(30)
    finally:
        go.set()
    assert locked == {"value": "locked both"}
    assert "error" not in shown, shown["error"]
    assert shown["value"].status_code == 200
    assert DossierAccess.objects.filter(dossier=dossier, user=officers["reception"]).count() == 1
