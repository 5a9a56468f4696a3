"""Two desk officers confirm the same fee at the same moment, or the payment platform's
callback and the citizen's return report the same payment at once: one payment is
recorded, the flow resumes once. Real threads, real PostgreSQL row locks."""

from __future__ import annotations

import pytest
from django.db import connection
from django.utils import timezone

from procedures.models import Procedure
from tests.conftest import make_officer, new_draft
from tests.workspace.test_concurrency import race
from workflows.models import Dossier, DossierTask, Fee, FeeChannel, FeeStatus, Status
from workflows.services import fees, work

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def _waiting(province, citizen, officers) -> Dossier:
    sample = Procedure.objects.get(code="MAU.PHI.001")
    dossier = work.application_submit(dossier=new_draft(sample, province, citizen), by=citizen)
    for stage, officer, action in (
        ("reception", officers["reception"], "accept"),
        ("review", officers["specialist"], "request_fee"),
    ):
        task = DossierTask.objects.get(dossier=dossier, stage=stage, status="NEW")
        work.task_claim(task=task, by=officer)
        dossier = work.task_complete(task=task, by=officer, action=action)
    assert dossier.status == Status.FEE_REQUESTED
    return dossier


def _one_payment(dossier, results, errors):
    assert sorted(results, key=str) == [False, True] or (
        results.count(True) == 1 and all(isinstance(e, work.TaskBusy) for e in errors if e)
    ), (results, errors)
    dossier.refresh_from_db()
    assert dossier.status == Status.IN_REVIEW
    assert dossier.history.filter(action="fee_paid").count() == 1
    assert dossier.history.filter(action="resume_after_fee").count() == 1
    review = DossierTask.objects.filter(dossier=dossier, stage="review", status="NEW")
    assert review.count() == 1
    assert Fee.objects.get(dossier=dossier).status == FeeStatus.PAID


def test_two_desk_confirmations_at_once_record_one_payment(catalog, province, citizen, officers):
    dossier = _waiting(province, citizen, officers)
    first, second = officers["reception"], make_officer("reception", province)
    results, errors = race(
        lambda: fees.fee_confirm_at_desk(
            fee=Fee.objects.get(dossier=dossier), by=first, reference="BL-1"
        ),
        lambda: fees.fee_confirm_at_desk(
            fee=Fee.objects.get(dossier=dossier), by=second, reference="BL-2"
        ),
    )
    _one_payment(dossier, results, errors)


def test_the_same_online_payment_reported_twice_at_once(catalog, province, citizen, officers):
    dossier = _waiting(province, citizen, officers)
    paid = {
        "channel": FeeChannel.ONLINE,
        "reference": "TT-777",
        "amount": 50000,
        "paid_at": timezone.now(),
    }
    results, errors = race(
        lambda: fees.fee_mark_paid(fee=Fee.objects.get(dossier=dossier), **paid),
        lambda: fees.fee_mark_paid(fee=Fee.objects.get(dossier=dossier), **paid),
    )
    _one_payment(dossier, results, errors)
    assert Fee.objects.get(dossier=dossier).reference == "TT-777"
