"""Two submits with the same Idempotency-Key at the same moment file one dossier: real
threads, real PostgreSQL (the second insert of the key waits on the unique index)."""

from __future__ import annotations

import pytest
from django.db import connection

from api.models import IdempotentRequest
from tests.workspace.test_concurrency import race  # one thread harness for the suite
from workflows.models import Dossier, DossierTask

from .conftest import Api
from .test_dossiers import URL, json_body
from .test_dossiers import submit as submit  # a fixture, for the tests below

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def test_the_same_key_at_the_same_moment_files_one_dossier(api_pair, procedure, province):
    key = api_pair[1]
    body = json_body(procedure, province)

    def submit_with(idempotency_key):
        return lambda: Api(key).post(URL, body, headers={"Idempotency-Key": idempotency_key})

    for round_ in range(3):
        same = f"same-{round_}"
        results, errors = race(submit_with(same), submit_with(same), submit_with(same))
        assert errors == [None, None, None], errors
        assert [r.status_code for r in results] == [201, 201, 201], [
            r.content[:500] for r in results
        ]
        assert len({r.json()["id"] for r in results}) == 1
        replayed = [r.get("Idempotent-Replayed") for r in results]
        assert replayed.count("true") == 2, replayed
        assert all(r.json() == results[0].json() for r in results)
    assert Dossier.objects.count() == 3
    assert IdempotentRequest.objects.count() == 3
    # Each filed once, with one flow.
    for dossier in Dossier.objects.all():
        assert dossier.history.filter(action="submit").count() == 1
        assert DossierTask.objects.filter(dossier=dossier, stage="reception").count() == 1


def test_different_keys_at_the_same_moment_file_one_each(api_pair, procedure, province):
    body = json_body(procedure, province)
    results, errors = race(
        *[
            (lambda k=k: Api(api_pair[1]).post(URL, body, headers={"Idempotency-Key": k}))
            for k in ("a", "b", "c")
        ]
    )
    assert errors == [None, None, None], errors
    assert [r.status_code for r in results] == [201, 201, 201]
    assert Dossier.objects.count() == 3
    assert len({r.json()["id"] for r in results}) == 3
    # Filed, not yet received: no code taken (codes come at reception, domain.md).
    assert set(Dossier.objects.values_list("code", flat=True)) == {None}


def _supplement_requested(api, submit, officers) -> int:
    from workflows.services import work

    from .test_dossiers import _task

    dossier_id = submit()["id"]
    task = _task(dossier_id, "reception")
    work.task_claim(task=task, by=officers["reception"])
    code = Dossier.objects.get(pk=dossier_id).procedure_version.spec["components"][0]["code"]
    work.task_complete(
        task=task,
        by=officers["reception"],
        action="supplement",
        form={"items": [{"code": code, "reason": "Bản scan mờ"}], "reason": "Thiếu"},
    )
    return dossier_id


def test_the_supplement_locks_the_process_before_the_dossier(api, submit, officers):
    """workflows.services.work's order (the flow's process row, then the dossier's): the
    reverse could deadlock with an officer or a withdrawal acting at the same moment."""
    from django.test.utils import CaptureQueriesContext

    dossier_id = _supplement_requested(api, submit, officers)
    with CaptureQueriesContext(connection) as queries:
        answer = Api(api.key).post(f"{URL}{dossier_id}/supplement/", {"comment": "Đã bổ sung"})
    assert answer.status_code == 200, answer.content[:2000]
    locks = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    process = next(i for i, sql in enumerate(locks) if 'FROM "workflows_dossierprocess"' in sql)
    dossier = next(i for i, sql in enumerate(locks) if 'FROM "workflows_dossier" ' in sql)
    assert process < dossier


def test_a_supplement_and_a_withdrawal_at_once_one_wins_no_deadlock(api, submit, officers):
    dossier_id = _supplement_requested(api, submit, officers)
    key = api.key
    results, errors = race(
        lambda: Api(key).post(f"{URL}{dossier_id}/supplement/", {"comment": "Đã bổ sung"}),
        lambda: Api(key).post(f"{URL}{dossier_id}/withdraw/", {"reason": "Nộp nhầm"}),
    )
    assert errors == [None, None], errors
    codes = sorted(r.status_code for r in results)
    assert codes in ([200, 409], [200, 200]), [r.content[:300] for r in results]
    status = Dossier.objects.get(pk=dossier_id).status
    assert status in ("submitted", "withdrawn")
    assert not any(b"deadlock" in r.content.lower() for r in results)
