"""Online payment under races, against PostgreSQL (row locks): two clicks at once start one
charge; the same callback twice at once makes one payment and marks the fee paid once."""

from __future__ import annotations

import json

import pytest
from django.db import connection

from connectors.payment import national, services
from connectors.payment.models import Payment, State
from connectors.payment.sandbox import SECRET, PaymentSandbox
from tests.connectors.test_payment import configure, fee_requested
from tests.workspace.test_concurrency import race
from workflows.exceptions import ActionNotAllowed
from workflows.models import FeeStatus
from workflows.services import fees

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")


def test_two_clicks_at_once_start_one_charge(
    run_sandbox, settings, catalog, province, citizen, officers
):
    sandbox = run_sandbox(PaymentSandbox)
    configure(settings, sandbox)
    dossier = fee_requested(province, citizen, officers)
    fee = fees.fee_for_dossier(dossier=dossier)
    results, errors = race(
        lambda: services.payment_start(fee=fee, by=citizen),
        lambda: services.payment_start(fee=fee, by=citizen),
    )
    urls = {r for r in results if r}
    assert len(urls) == 1, (results, errors)
    for error in errors:
        assert error is None or isinstance(error, ActionNotAllowed), errors
    assert Payment.objects.count() == 1 and len(sandbox.orders) == 1


def test_the_same_callback_twice_at_once_makes_one_payment(
    run_sandbox, settings, catalog, province, citizen, officers
):
    sandbox = run_sandbox(PaymentSandbox)
    configure(settings, sandbox)
    dossier = fee_requested(province, citizen, officers)
    fee = fees.fee_for_dossier(dossier=dossier)
    services.payment_start(fee=fee, by=citizen)
    payment = Payment.objects.get()
    body = json.dumps(
        national.sign(
            national.RESULT,
            {
                "partner_code": "MOTCUA",
                "reference": payment.reference,
                "transaction_id": payment.transaction_id,
                "amount": "50000",
                "status": "00",
                "paid_at": "20261130090000",
            },
            SECRET,
        )
    ).encode()
    results, errors = race(
        lambda: services.payment_callback(payload=body, content_type="application/json"),
        lambda: services.payment_callback(payload=body, content_type="application/json"),
    )
    assert errors == [None, None], errors
    assert sorted(r.code for r in results) == ["duplicate", "ok"]
    payment.refresh_from_db()
    assert payment.state == State.PAID and payment.fee_recorded_at
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.PAID
    assert dossier.history.filter(action="fee_paid").count() == 1
