"""Two officers acting on the same task at the same moment: exactly one wins, the other is
told so in words. Real threads, real PostgreSQL row locks (SelectForUpdateLock)."""

from __future__ import annotations

import threading

import pytest
from django.db import close_old_connections, connection

from tests.conftest import make_officer, new_draft
from workflows.exceptions import ActionNotAllowed
from workflows.models import Dossier, DossierTask, Status
from workflows.services import work

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def race(*calls):
    """Run the calls at the same moment; return (results, errors) in call order."""
    barrier = threading.Barrier(len(calls))
    results: list = [None] * len(calls)
    errors: list = [None] * len(calls)

    def run(index, call):
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertions
            errors[index] = exc
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results, errors


def test_two_officers_claim_the_same_task(procedure, province, citizen, officers):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    first, second = officers["reception"], make_officer("reception", province)
    for _ in range(3):
        results, errors = race(
            lambda: work.task_claim(task=DossierTask.objects.get(pk=task.pk), by=first),
            lambda: work.task_claim(task=DossierTask.objects.get(pk=task.pk), by=second),
        )
        winners = [r for r in results if r is not None]
        assert len(winners) == 1, (results, errors)
        loser = next(e for e in errors if e is not None)
        assert isinstance(loser, ActionNotAllowed) and str(loser)
        holder = DossierTask.objects.get(pk=task.pk).owner
        assert holder in (first, second)
        work.task_release(task=DossierTask.objects.get(pk=task.pk), by=holder)
    claims = Dossier.objects.get(pk=dossier.pk).history.filter(action="task_claim").count()
    assert claims == 3


def test_the_same_task_completed_twice_at_once(procedure, province, citizen, officers):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    desk = officers["reception"]
    work.task_claim(task=task, by=desk)
    results, errors = race(
        lambda: work.task_complete(
            task=DossierTask.objects.get(pk=task.pk), by=desk, action="accept"
        ),
        lambda: work.task_complete(
            task=DossierTask.objects.get(pk=task.pk), by=desk, action="accept"
        ),
    )
    assert sum(r is not None for r in results) == 1, (results, errors)
    loser = next(e for e in errors if e is not None)
    assert isinstance(loser, ActionNotAllowed)
    dossier.refresh_from_db()
    assert dossier.status == Status.RECEIVED
    assert dossier.history.filter(action="receive").count() == 1
    assert DossierTask.objects.filter(dossier=dossier, stage="review").count() == 1


def test_a_reassignment_racing_a_completion(procedure, province, citizen, officers):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    desk = officers["reception"]
    other = make_officer("reception", province)
    work.task_claim(task=task, by=desk)
    results, errors = race(
        lambda: work.task_complete(
            task=DossierTask.objects.get(pk=task.pk), by=desk, action="accept"
        ),
        lambda: work.task_assign(
            task=DossierTask.objects.get(pk=task.pk),
            by=officers["head"],
            to=other,
            reason="Cân bằng",
        ),
    )
    assert sum(r is not None for r in results) == 1, (results, errors)
    loser = next(e for e in errors if e is not None)
    assert isinstance(loser, ActionNotAllowed), repr(loser)
    dossier.refresh_from_db()
    final = DossierTask.objects.get(pk=task.pk)
    if results[0] is not None:
        assert dossier.status == Status.RECEIVED and final.status == "DONE"
    else:
        assert dossier.status == Status.SUBMITTED and final.owner == other
