"""Retention: abandoned drafts are discarded and a finished dossier's files erased when its
procedure's retention has run, while the history, the rows and their hashes stay."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from documents.models import Document
from procedures.models import Procedure, ProcedureVersion
from tests.conftest import new_draft, sign_in
from workflows import services
from workflows.history import verify_all
from workflows.models import Dossier, DossierComponent, HistoryEntry, Status
from workflows.services import dossiers as transitions
from workflows.services.retention import erase_due, retention_run
from workflows.tasks import run_periodic_jobs

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def stored(component: DossierComponent) -> bool:
    return bool(component.file.name) and component.file.storage.exists(component.file.name)


def run(capture, when: dt.datetime) -> dict[str, int]:
    """The periodic job at ``when``, with its after-commit work (the bytes) run too."""
    with time_machine.travel(when, tick=False), capture(execute=True):
        return retention_run()


# --- The catalog ------------------------------------------------------------------------------


def test_each_catalog_procedure_carries_its_retention(catalog):
    years = {
        p.code: p.current_version.retention_years
        for p in Procedure.objects.select_related("current_version")
    }
    assert years == {
        "1.012841": 10,
        "1.012842": 20,
        "1.012843": 20,
        "1.012844": None,  # the medal: commendation records are kept permanently
        "1.012845": 10,
        "MAU.PHI.001": 5,  # the sample procedure (fees and online payment), not a real one
    }
    medal = ProcedureVersion.objects.get(procedure__code="1.012844")
    assert medal.spec["retention"] == "permanent"


# --- Abandoned drafts ---------------------------------------------------------------------------


@pytest.fixture
def old_draft(procedure, province, citizen):
    with time_machine.travel(T0, tick=False):
        return new_draft(procedure, province, citizen)


def test_a_draft_is_discarded_after_the_set_days_from_its_last_change(
    old_draft, procedure, province, citizen, settings, django_capture_on_commit_callbacks
):
    assert settings.MOTCUA["DRAFT_RETENTION_DAYS"] == 30
    files = list(old_draft.components.all())
    assert files and all(stored(f) for f in files)
    # Another draft, changed on day 20: counted from that change, not from its creation.
    with time_machine.travel(T0, tick=False):
        touched = new_draft(procedure, province, citizen, complete=False)
    with time_machine.travel(T0 + dt.timedelta(days=20), tick=False):
        services.dossier_save_draft(dossier=touched, by=citizen, form_data={})
    filed = transitions.dossier_submit(dossier=new_draft(procedure, province, citizen), by=citizen)

    assert (
        run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=29))["drafts_discarded"] == 0
    )
    done = run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=31))
    assert done["drafts_discarded"] == 1

    old_draft.refresh_from_db()
    assert old_draft.status == Status.DISCARDED
    assert old_draft.form_data == {} and old_draft.applicant_name == ""
    assert old_draft.applicant_id_number == "" and old_draft.applicant_phone == ""
    for component in old_draft.components.all():
        assert component.erased_at is not None and not stored(component)
        assert len(component.sha256) == 64
    assert all(not DossierComponent.file.field.storage.exists(f.file.name) for f in files)
    # The history stays, with the discarding recorded as the system's step.
    last = old_draft.history.order_by("-seq").first()
    assert (last.action, last.actor_id, last.from_status, last.to_status) == (
        "discard",
        None,
        Status.DRAFT,
        Status.DISCARDED,
    )
    assert last.data == {"files": len(files), "days": 30}
    assert list(verify_all()) == []
    touched.refresh_from_db()
    filed.refresh_from_db()
    assert touched.status == Status.DRAFT and filed.status == Status.SUBMITTED
    # Idempotent: a second run finds nothing more.
    assert run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=32)) == {
        "drafts_discarded": 0,
        "dossiers_erased": 0,
    }
    assert (
        run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=51))["drafts_discarded"] == 1
    )
    touched.refresh_from_db()
    assert touched.status == Status.DISCARDED


def test_the_draft_days_come_from_the_setting(
    old_draft, settings, django_capture_on_commit_callbacks
):
    settings.MOTCUA = {**settings.MOTCUA, "DRAFT_RETENTION_DAYS": 90}
    assert run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=60)) == {
        "drafts_discarded": 0,
        "dossiers_erased": 0,
    }
    assert (
        run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=91))["drafts_discarded"] == 1
    )


def test_the_citizen_sees_the_discarded_draft_explained(
    client, old_draft, citizen, django_capture_on_commit_callbacks
):
    run(django_capture_on_commit_callbacks, T0 + dt.timedelta(days=31))
    sign_in(client, citizen)
    page = client.get(reverse("portal:dossier", args=[old_draft.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert "has been discarded with its files" in page.content.decode()
    # Its files: the page that explains, not a file and not an error.
    component = old_draft.components.first()
    response = client.get(reverse("portal:file", args=[old_draft.pk, component.pk]))
    assert response.status_code == 410
    # And it can no longer be edited.
    edit = client.get(reverse("portal:edit", args=[old_draft.pk]))
    assert edit.status_code in (302, 404)


# --- Retention of finished dossiers -----------------------------------------------------------


@pytest.fixture
def issued(walk, django_capture_on_commit_callbacks):
    with time_machine.travel(T0, tick=False), django_capture_on_commit_callbacks(execute=True):
        dossier = walk(Status.ISSUED)
    dossier.refresh_from_db()
    return dossier


def test_files_are_erased_when_the_retention_ends_and_the_history_stays(
    issued, django_capture_on_commit_callbacks
):
    years = issued.procedure_version.retention_years
    assert years == 10
    due = erase_due(issued)
    assert due == issued.closed_at.replace(year=issued.closed_at.year + 10)
    components = list(issued.components.order_by("pk"))
    papers = list(Document.objects.filter(dossier=issued).order_by("pk"))
    assert components and papers
    assert all(stored(c) for c in components)
    before = [(c.pk, c.original_name, c.size, c.sha256) for c in components]
    paper_hashes = [(d.pk, d.sha256, d.verification_code) for d in papers]
    entries_before = issued.history_count

    assert run(django_capture_on_commit_callbacks, due - dt.timedelta(days=1)) == {
        "drafts_discarded": 0,
        "dossiers_erased": 0,
    }
    assert all(stored(c) for c in issued.components.all())

    done = run(django_capture_on_commit_callbacks, due + dt.timedelta(hours=1))
    assert done == {"drafts_discarded": 0, "dossiers_erased": 1}
    issued.refresh_from_db()
    assert issued.status == Status.ISSUED
    assert issued.erased_at == due + dt.timedelta(hours=1)
    after = list(issued.components.order_by("pk"))
    assert [(c.pk, c.original_name, c.size, c.sha256) for c in after] == before
    assert all(c.erased_at == issued.erased_at and c.file.name == "" for c in after)
    for component in components:
        assert not DossierComponent.file.field.storage.exists(component.file.name)
    documents = list(Document.objects.filter(dossier=issued).order_by("pk"))
    assert [(d.pk, d.sha256, d.verification_code) for d in documents] == paper_hashes
    assert all(d.erased_at and not d.file and not d.ready for d in documents)
    for paper in papers:
        assert not DossierComponent.file.field.storage.exists(paper.file.name)

    # The history: every entry kept, one more for the erasure, and the chain verifies.
    assert HistoryEntry.objects.filter(dossier=issued).count() == entries_before + 1
    last = issued.history.order_by("-seq").first()
    assert (last.action, last.actor_id, last.from_status, last.to_status) == (
        "erase_files",
        None,
        Status.ISSUED,
        Status.ISSUED,
    )
    assert last.data["retention_years"] == 10 and last.data["files"] == len(components)
    assert list(verify_all()) == []
    call_command("verify_history", "--all")

    # Idempotent.
    assert run(django_capture_on_commit_callbacks, due + dt.timedelta(days=400)) == {
        "drafts_discarded": 0,
        "dossiers_erased": 0,
    }
    assert HistoryEntry.objects.filter(dossier=issued).count() == entries_before + 1


def test_erased_files_show_a_clear_page_to_citizen_and_officer(
    client, issued, citizen, officers, django_capture_on_commit_callbacks
):
    # Before: the officer sees the retention and when the files will go.
    sign_in(client, officers["head"])
    page = client.get(reverse("workspace:dossier", args=[issued.pk]), HTTP_ACCEPT_LANGUAGE="en")
    ends = timezone.localtime(erase_due(issued)).strftime("%d/%m/%Y")
    assert "10 years" in page.content.decode()
    assert f"files erased from {ends}" in page.content.decode()
    client.logout()

    run(django_capture_on_commit_callbacks, erase_due(issued) + dt.timedelta(days=1))
    issued.refresh_from_db()
    day = timezone.localtime(issued.erased_at).strftime("%d/%m/%Y")
    component = issued.components.first()
    document = Document.objects.filter(dossier=issued).first()

    sign_in(client, citizen)
    page = client.get(reverse("portal:dossier", args=[issued.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    assert f"erased on {day} under retention" in page.content.decode()
    for url in (
        reverse("portal:file", args=[issued.pk, component.pk]),
        reverse("portal:result", args=[issued.pk]),
        reverse("documents:download", args=[document.pk]),
    ):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
        assert response.status_code == 410, url
        assert f"This file was erased on {day}" in response.content.decode()
    vietnamese = client.get(
        reverse("portal:file", args=[issued.pk, component.pk]), HTTP_ACCEPT_LANGUAGE="vi"
    )
    assert vietnamese.status_code == 410 and "<h1>" in vietnamese.content.decode()

    client.logout()
    sign_in(client, officers["head"])
    page = client.get(reverse("workspace:dossier", args=[issued.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert page.status_code == 200
    body = page.content.decode()
    assert f"erased on {day} under retention" in body and component.sha256 in body
    response = client.get(
        reverse("workspace:file_download", args=[issued.pk, component.pk]) + "?preview=1"
    )
    assert response.status_code == 410
    public = client.get(reverse("documents:verify_code", args=[document.verification_code]))
    assert public.status_code == 200


def test_a_permanent_procedure_is_never_erased(issued, walk, django_capture_on_commit_callbacks):
    ProcedureVersion.objects.filter(pk=issued.procedure_version_id).update(retention_years=None)
    issued.refresh_from_db()
    assert erase_due(issued) is None
    assert run(django_capture_on_commit_callbacks, T0.replace(year=T0.year + 150)) == {
        "drafts_discarded": 0,
        "dossiers_erased": 0,
    }
    issued.refresh_from_db()
    assert issued.erased_at is None
    assert all(stored(c) and c.erased_at is None for c in issued.components.all())
    assert all(d.ready for d in Document.objects.filter(dossier=issued))


def test_every_finished_outcome_counts_from_its_closing_and_open_ones_never(
    walk, django_capture_on_commit_callbacks
):
    with time_machine.travel(T0, tick=False):
        refused = walk(Status.REFUSED)
        withdrawn = walk(Status.WITHDRAWN)
        in_review = walk(Status.IN_REVIEW)
    later = T0.replace(year=T0.year + 11)
    assert run(django_capture_on_commit_callbacks, later)["dossiers_erased"] == 2
    erased = set(Dossier.objects.filter(erased_at__isnull=False).values_list("pk", flat=True))
    assert erased == {refused.pk, withdrawn.pk}
    in_review.refresh_from_db()
    assert in_review.erased_at is None
    assert all(stored(c) for c in in_review.components.all())
    assert list(verify_all()) == []


def test_the_embedded_periodic_jobs_run_the_retention(
    old_draft, django_capture_on_commit_callbacks
):
    with (
        time_machine.travel(T0 + dt.timedelta(days=31), tick=False),
        django_capture_on_commit_callbacks(execute=True),
    ):
        done = run_periodic_jobs()
    assert done["drafts_discarded"] == 1 and done["dossiers_erased"] == 0
    old_draft.refresh_from_db()
    assert old_draft.status == Status.DISCARDED


def test_a_draft_saved_after_it_was_listed_is_kept(old_draft, citizen):
    from workflows.exceptions import ActionNotAllowed
    from workflows.services.retention import abandoned_drafts, dossier_discard

    later = T0 + dt.timedelta(days=31)
    with time_machine.travel(later, tick=False):
        listed = list(abandoned_drafts())
        assert [d.pk for d in listed] == [old_draft.pk]
        # The citizen comes back between the listing and the discarding.
        services.dossier_save_draft(dossier=old_draft, by=citizen, form_data={})
        with pytest.raises(ActionNotAllowed):
            dossier_discard(dossier=listed[0])
    old_draft.refresh_from_db()
    assert old_draft.status == Status.DRAFT and old_draft.applicant_name
    assert all(c.erased_at is None and stored(c) for c in old_draft.components.all())


def _new_current_version(dossier: Dossier, years: int | None) -> ProcedureVersion:
    version = ProcedureVersion.objects.get(pk=dossier.procedure_version_id)
    version.pk = None
    version.number = ProcedureVersion.objects.filter(procedure_id=version.procedure_id).count() + 1
    version.retention_years = years
    version.content_hash = f"{version.number:064d}"
    version.save()
    Procedure.objects.filter(pk=version.procedure_id).update(current_version=version)
    return version


def test_a_retention_lengthened_later_protects_the_dossiers_already_filed(
    issued, django_capture_on_commit_callbacks
):
    assert issued.procedure_version.retention_years == 10
    _new_current_version(issued, 50)
    issued.refresh_from_db()
    assert issued.retention_years() == 50
    closed = issued.closed_at
    assert run(django_capture_on_commit_callbacks, closed.replace(year=closed.year + 11)) == {
        "drafts_discarded": 0,
        "dossiers_erased": 0,
    }
    done = run(django_capture_on_commit_callbacks, closed.replace(year=closed.year + 50, hour=23))
    assert done["dossiers_erased"] == 1


def test_a_retention_shortened_or_made_permanent_later(issued, django_capture_on_commit_callbacks):
    closed = issued.closed_at
    _new_current_version(issued, 5)  # shortened: the dossier keeps its 10 years
    issued.refresh_from_db()
    assert issued.retention_years() == 10
    assert (
        run(django_capture_on_commit_callbacks, closed.replace(year=closed.year + 6))[
            "dossiers_erased"
        ]
        == 0
    )
    _new_current_version(issued, None)  # now permanent: kept for good
    issued.refresh_from_db()
    assert issued.retention_years() is None
    assert (
        run(django_capture_on_commit_callbacks, closed.replace(year=closed.year + 90))[
            "dossiers_erased"
        ]
        == 0
    )
