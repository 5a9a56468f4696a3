"""DossierTask's copies of viewflow's columns (status, finishing time, owner) and of the
dossier's handling agency, which the queue and the supervisor's officer table read, stay
equal to the originals through every step a task goes through."""

from __future__ import annotations

from viewflow.workflow.models import Task

from tests.conftest import new_draft
from workflows.models import DossierTask
from workflows.services import work


def assert_copies(dossier):
    tasks = DossierTask.objects.filter(dossier=dossier)
    assert tasks.exists()
    for task in tasks:
        base = Task.objects.get(pk=task.pk)
        assert (task.task_status, task.task_finished, task.task_owner_id) == (
            base.status,
            base.finished,
            base.owner_id,
        )
        assert task.dossier_agency_id == dossier.handling_agency_id


def test_copies_follow_claim_release_assign_and_completion(procedure, province, citizen, officers):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    assert_copies(dossier)
    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    work.task_claim(task=task, by=officers["reception"])
    assert_copies(dossier)
    work.task_release(task=DossierTask.objects.get(pk=task.pk), by=officers["reception"])
    assert_copies(dossier)
    assert DossierTask.objects.get(pk=task.pk).task_owner_id is None
    work.task_claim(task=DossierTask.objects.get(pk=task.pk), by=officers["reception"])
    work.task_complete(
        task=DossierTask.objects.get(pk=task.pk), by=officers["reception"], action="accept"
    )
    assert_copies(dossier)
    done = DossierTask.objects.get(pk=task.pk)
    assert done.task_status == "DONE" and done.task_finished is not None
    assert done.task_owner_id == officers["reception"].pk
