"""make run's steps (issue #17): the database and the demo in one process, one line per
step, the demo's papers left to `render_documents` and rendered by it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from documents.models import Document, DocumentStatus
from workflows.history import verify_all
from workflows.models import Dossier


@pytest.mark.django_db(transaction=True)
def test_prepare_database_with_the_demo_papers_later_then_render_documents(settings, capsys):
    settings.DEBUG = True
    call_command("prepare_database", "--demo", "--papers-later")
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3, lines
    assert lines[0].endswith("0 migration(s) applied, cache table ready")
    assert lines[1].startswith("agencies loaded: ") and "; catalog loaded: " in lines[1]
    pending = Document.objects.filter(status=DocumentStatus.PENDING).count()
    assert pending > 0
    assert lines[2].startswith("demo data ready (18 new dossiers); logins citizen, reception")
    assert f"; {pending} papers to render" in lines[2]
    assert Dossier.objects.count() == 18  # with the sample procedure's one waiting for its fee

    call_command("render_documents")
    assert capsys.readouterr().out.strip() == f"documents rendered: {pending}"
    assert not Document.objects.filter(status=DocumentStatus.PENDING).exists()
    assert Document.objects.filter(status=DocumentStatus.RENDERED).count() >= pending
    assert list(verify_all()) == []

    # Run again (a second `make run`): nothing new, nothing left to render.
    call_command("prepare_database", "--demo", "--papers-later")
    again = capsys.readouterr().out.splitlines()
    assert again[2].startswith("demo data ready (0 new dossiers)")
    assert "papers to render" not in again[2]
    assert Dossier.objects.count() == 18  # with the sample procedure's one waiting for its fee
