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

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def test_the_same_key_at_the_same_moment_files_one_dossier(api_pair, procedure, province):
    key = api_pair[1]
    body = json_body(procedure, province)

    def submit(idempotency_key):
        return lambda: Api(key).post(URL, body, headers={"Idempotency-Key": idempotency_key})

    for round_ in range(3):
        same = f"same-{round_}"
        results, errors = race(submit(same), submit(same), submit(same))
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
