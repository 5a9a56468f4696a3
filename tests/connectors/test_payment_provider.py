"""The national payment platform's adapter against its sandbox, over real HTTP: the INIT
and its integrity code, the answers it refuses, the callback's and the query's checks."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import requests
from django.utils import timezone

from connectors import http
from connectors.payment import national
from connectors.payment.provider import PAID, Forged, PaymentOrder, payment_providers
from connectors.payment.sandbox import SECRET, PaymentSandbox


def options(url: str, **extra) -> dict:
    return {
        "BACKEND": "national",
        "URL": url,
        "PARTNER_CODE": "MOTCUA",
        "SECRET": SECRET,
        "TREASURY_ACCOUNT": "7111-0000-TEST",
        "VERSION": "1.0.6",
        "TIMEOUT": 2,
        **extra,
    }


def order(reference="MC1A2B3C", amount=50_000) -> PaymentOrder:
    return PaymentOrder(
        reference=reference,
        amount=amount,
        procedure_code="1.001234",
        dossier_code="H12.34-261130-0001",
        payer_name="Nguyễn Văn An",
        description="Lệ phí hồ sơ H12.34-261130-0001",
        return_url="http://motcua.test/payments/MC1A2B3C/return/",
        callback_url="http://motcua.test/payments/callback/",
        created_at=dt.datetime(2026, 11, 30, 1, 2, 3, tzinfo=dt.UTC),
    )


def test_the_integrity_code_is_sha256_of_the_pipe_joined_fields_and_the_secret():
    assert national.integrity_code(["1.0.6", "INIT", "50000"], "s3cret") == (
        hashlib.sha256(b"1.0.6|INIT|50000|s3cret").hexdigest()
    )


def test_init_is_signed_and_the_answer_checked(run_sandbox, settings):
    sandbox = run_sandbox(PaymentSandbox)
    settings.MOTCUA = {**settings.MOTCUA, "CONNECTORS": {"payment": options(sandbox.url)}}
    provider = payment_providers.get()
    started = provider.init(order())
    assert started.redirect_url == f"{sandbox.url}/pay/MC1A2B3C"
    assert started.transaction_id.startswith("SBX")
    sent = sandbox.received[-1].json()
    # The platform's fields, in one documented order, with the code over them.
    assert [name for _key, name in national.INIT] == list(sent)[:-1]
    assert sent["version"] == "1.0.6" and sent["amount"] == "50000"
    assert sent["treasuryAccount"] == "7111-0000-TEST" and sent["dossierCode"].startswith("H12")
    assert sent["requestTime"] == "20261130080203"  # Vietnam's time
    joined = "|".join(sent[name] for _key, name in national.INIT) + "|" + SECRET
    assert sent["checksum"] == hashlib.sha256(joined.encode()).hexdigest()

    # The same reference twice: the platform refuses it, and so the adapter.
    with pytest.raises(http.ConnectorError) as twice:
        provider.init(order())
    assert twice.value.reason == http.REFUSED

    # A wrong secret: the sandbox refuses the INIT.
    wrong = payment_providers.get(SECRET="a guess")
    with pytest.raises(http.ConnectorError) as refused:
        wrong.init(order("MC-OTHER"))
    assert refused.value.reason == http.REFUSED


def test_init_failures_have_their_reason(run_sandbox, settings):
    sandbox = run_sandbox(PaymentSandbox)
    settings.MOTCUA = {**settings.MOTCUA, "CONNECTORS": {"payment": options(sandbox.url)}}
    provider = payment_providers.get(TIMEOUT=0.5)
    for fault, reason in (
        ("down", http.DOWN),
        ("malformed", http.MALFORMED),
        ("slow:2", http.TIMEOUT),
    ):
        sandbox.fault = fault
        with pytest.raises(http.ConnectorError) as failed:
            provider.init(order(f"MC{len(fault)}"))
        assert failed.value.reason == reason, fault
    sandbox.fault = ""
    # An answer signed by someone else, or sending the citizen elsewhere: refused.
    assert payment_providers.get(REDIRECT_HOSTS=["pay.example.org"])
    with pytest.raises(http.ConnectorError) as elsewhere:
        payment_providers.get(REDIRECT_HOSTS=["pay.example.org"]).init(order("MC-ELSE"))
    assert elsewhere.value.reason == http.MALFORMED


def test_callbacks_and_returns_are_checked():
    provider = national.NationalPaymentPlatform(options("http://127.0.0.1:9"))
    values = {
        "partner_code": "MOTCUA",
        "reference": "MC1",
        "transaction_id": "T1",
        "amount": "50000",
        "status": "00",
        "paid_at": "20261130090000",
    }
    body = national.sign(national.RESULT, values, SECRET)
    outcome = provider.verify_callback(json.dumps(body).encode(), "application/json")
    assert outcome.outcome == PAID and outcome.amount == 50_000 and outcome.reference == "MC1"
    assert outcome.paid_at == dt.datetime(2026, 11, 30, 2, 0, tzinfo=dt.UTC)
    assert "checksum" not in outcome.raw  # stored without the code
    # Upper-case hex is the same code.
    upper = {**body, "checksum": body["checksum"].upper()}
    assert provider.verify_callback(json.dumps(upper).encode(), "application/json").outcome == PAID
    assert provider.read_return(body).outcome == PAID

    forged = [
        {**body, "amount": "5000000"},  # changed after signing
        {**body, "checksum": ""},
        {k: v for k, v in body.items() if k != "checksum"},
        national.sign(national.RESULT, values, "a guess"),
        national.sign(national.RESULT, {**values, "partner_code": "OTHER"}, SECRET),
        {**body, "amount": ["50000"]},
    ]
    for wire in forged:
        with pytest.raises(Forged):
            provider.verify_callback(json.dumps(wire).encode(), "application/json")
    for raw in (b"{not json", b"[1, 2]", b"\xff\xfe"):
        with pytest.raises(Forged):
            provider.verify_callback(raw, "application/json")


def test_the_sandbox_page_and_query(run_sandbox, settings):
    sandbox = run_sandbox(PaymentSandbox)
    settings.MOTCUA = {**settings.MOTCUA, "CONNECTORS": {"payment": options(sandbox.url)}}
    provider = payment_providers.get()
    sandbox.fault = "no-callback"
    started = provider.init(order())
    page = requests.get(started.redirect_url, timeout=5)
    assert "Thanh toán thành công" in page.text and "50.000 đồng" in page.text
    assert provider.query("MC1A2B3C").outcome == "pending"
    back = requests.post(
        started.redirect_url, data={"choice": "success"}, allow_redirects=False, timeout=5
    )
    assert back.status_code == 302
    assert back.headers["Location"].startswith("http://motcua.test/payments/MC1A2B3C/return/?")
    assert sandbox.callbacks == []  # no-callback
    answer = provider.query("MC1A2B3C")
    assert answer.outcome == PAID and answer.amount == 50_000 and answer.paid_at <= timezone.now()
    assert provider.query("MC-NEVER").outcome == "failed"
    sandbox.fault = "malformed"
    with pytest.raises(http.ConnectorError) as malformed:
        provider.query("MC1A2B3C")
    assert malformed.value.reason == http.MALFORMED
