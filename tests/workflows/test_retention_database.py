"""On PostgreSQL, as the application's own role (append-only history, no DELETE on it):
the retention job discards drafts and erases files without deleting or changing any
history row, and the database's checks on the dossier row accept every step."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.db import connection

from tests.conftest import new_draft, walk_to
from tests.workflows.test_history_database import _postgres_only, app_role, as_app_role
from workflows.history import verify_all
from workflows.models import Dossier, HistoryEntry, Status
from workflows.services.retention import retention_run

pytestmark = pytest.mark.postgres
__all__ = ["_postgres_only", "app_role", "as_app_role"]  # fixtures, shared


def test_the_app_role_runs_the_retention_job(
    as_app_role, app_role, procedure, province, citizen, officers
):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user")
        assert cursor.fetchone()[0] == app_role["USER"]
    start = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
    with time_machine.travel(start, tick=False):
        draft = new_draft(procedure, province, citizen)
        issued = walk_to(Status.ISSUED, procedure, province, citizen, officers)
    entries = {e.pk: e.hash for e in HistoryEntry.objects.all()}
    # transactional_db: the after-commit deletion of the bytes runs for real here.
    with time_machine.travel(start.replace(year=start.year + 10, day=3), tick=False):
        assert retention_run() == {"drafts_discarded": 1, "dossiers_erased": 1}
        assert retention_run() == {"drafts_discarded": 0, "dossiers_erased": 0}
    after = {e.pk: e.hash for e in HistoryEntry.objects.all()}
    assert {pk: after[pk] for pk in entries} == entries  # every row as it was
    assert len(after) == len(entries) + 2  # and one entry each for the two steps
    assert Dossier.objects.get(pk=draft.pk).status == Status.DISCARDED
    assert Dossier.objects.get(pk=issued.pk).erased_at is not None
    for dossier in (draft, issued):
        for component in dossier.components.all():
            assert component.erased_at is not None and component.file.name == ""
    assert list(verify_all()) == []
