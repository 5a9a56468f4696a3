"""Online payment of a dossier's fee, over real HTTP both ways: motcua asks the payment
platform's sandbox for a payment, the citizen pays on its page, and the sandbox posts the
signed callback to motcua's live server (or does not, and reconciliation finds it).

The dossiers are brought to "fee requested" through the real services, with the sample
procedure that has a fee (MAU.PHI.001, 50 000 đồng)."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import time

import pytest
import requests
import time_machine
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfReader

from connectors.payment import national, tasks
from connectors.payment.models import Confirmation, Payment, State
from connectors.payment.receipt import amount_in_words
from connectors.payment.sandbox import SECRET, PaymentSandbox
from connectors.payment.services import payment_reconcile
from procedures.models import Procedure
from tests.conftest import make_user, new_draft, sign_in
from tests.workflows.test_flows import act
from workflows.models import FeeChannel, FeeStatus, Status
from workflows.services import fees, work

SAMPLE = "MAU.PHI.001"


def fee_requested(province, citizen, officers):
    sample = Procedure.objects.get(code=SAMPLE)
    dossier = work.application_submit(dossier=new_draft(sample, province, citizen), by=citizen)
    dossier = act(dossier, "reception", officers["reception"], "accept")
    dossier = act(dossier, "review", officers["specialist"], "request_fee")
    assert dossier.status == Status.FEE_REQUESTED
    return dossier


def configure(settings, sandbox, site_url="http://testserver", **extra):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "SITE_URL": site_url,
        "CONNECTORS": {
            **settings.MOTCUA["CONNECTORS"],
            "payment": {
                "BACKEND": "national",
                "URL": sandbox.url,
                "PARTNER_CODE": "MOTCUA",
                "SECRET": SECRET,
                "TREASURY_ACCOUNT": "7111-0000-TEST",
                "VERSION": "1.0.6",
                "TIMEOUT": 2,
                "PENDING_MINUTES": 15,
                "EXPIRE_HOURS": 24,
                **extra,
            },
        },
    }


@pytest.fixture
def platform(run_sandbox, settings, live_server):
    """The sandbox, calling back motcua's live server; motcua's links point there too."""
    sandbox = run_sandbox(PaymentSandbox, motcua_url=live_server.url)
    configure(settings, sandbox, site_url=live_server.url)
    return sandbox


@pytest.fixture
def offline_platform(run_sandbox, settings):
    """The sandbox for tests that need no callback (no live server)."""
    sandbox = run_sandbox(PaymentSandbox)
    configure(settings, sandbox)
    return sandbox


@pytest.fixture
def dossier(catalog, province, citizen, officers):
    return fee_requested(province, citizen, officers)


@pytest.fixture
def citizen_client(client, citizen):
    sign_in(client, citizen)
    return client


def start(client, dossier):
    return client.post(reverse("payment:start", args=[dossier.pk]))


def choose(url: str, choice: str) -> requests.Response:
    """The tester's choice on the platform's page (the citizen's browser)."""
    return requests.post(url, data={"choice": choice}, allow_redirects=False, timeout=10)


def local_path(url: str) -> str:
    return "/" + url.split("/", 3)[3]


# --- The normal path ----------------------------------------------------------------------------


def test_pay_online_then_download_the_receipt(platform, dossier, citizen_client):
    page = citizen_client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Nộp phí trực tuyến" in page and "50.000 đồng" in page

    answer = start(citizen_client, dossier)
    assert answer.status_code == 302 and answer["Location"].startswith(f"{platform.url}/pay/MC")
    payment = Payment.objects.get()
    assert payment.state == State.PENDING and payment.amount == 50_000
    init = platform.received[0].json()
    assert init["dossierCode"] == dossier.code and init["serviceCode"] == SAMPLE
    assert init["returnUrl"].endswith(f"/payments/{payment.reference}/return/")

    # A second click while it is pending: the same page, no second charge.
    again = start(citizen_client, dossier)
    assert again["Location"] == answer["Location"]
    assert Payment.objects.count() == 1 and len(platform.orders) == 1
    page = citizen_client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "không bị trừ tiền hai lần" in page

    # The platform's page, then "paid": the callback comes first, then the citizen.
    assert "Thanh toán thành công" in requests.get(answer["Location"], timeout=10).text
    back = choose(answer["Location"], "success")
    assert back.status_code == 302 and back.headers["Location"].startswith(live_url(platform))
    assert [status for status, _body in platform.callbacks] == [200]
    payment.refresh_from_db()
    assert payment.state == State.PAID and payment.confirmed_via == Confirmation.CALLBACK
    assert payment.transaction_id.startswith("SBX") and payment.fee_recorded_at
    assert "checksum" not in payment.callback and payment.callback["orderId"] == payment.reference
    fee = fees.fee_for_dossier(dossier=dossier)
    assert fee.status == FeeStatus.PAID and fee.channel == FeeChannel.ONLINE
    assert fee.reference == payment.reference and fee.amount_paid == 50_000
    dossier.refresh_from_db()
    assert dossier.status == Status.IN_REVIEW  # the appraisal resumes

    returned = citizen_client.get(local_path(back.headers["Location"]))
    text = returned.content.decode()
    assert returned.status_code == 200 and "Thanh toán đã được xác nhận" in text
    assert "50.000 đồng" in text and payment.reference in text

    pdf = citizen_client.get(reverse("payment:receipt", args=[payment.reference]))
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    words = PdfReader(
        io.BytesIO(b"".join(pdf.streaming_content if pdf.streaming else [pdf.content]))
    )
    content = " ".join(p.extract_text() for p in words.pages)
    for expected in (
        "BIÊN LAI THU PHÍ, LỆ PHÍ",
        dossier.code,
        "50.000 đồng",
        "Năm mươi nghìn đồng",
    ):
        assert expected in content, expected
    assert (
        payment.reference in content
        and timezone.localtime(payment.paid_at).strftime("%d/%m/%Y") in content
    )
    # Paid: no button any more, the receipt instead.
    page = citizen_client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Nộp phí trực tuyến" not in page and "Biên lai thu phí, lệ phí" in page
    assert start(citizen_client, dossier).status_code == 302
    assert Payment.objects.count() == 1 and len(platform.orders) == 1


def live_url(platform) -> str:
    return platform.options["motcua_url"]


def test_a_cancelled_payment_charges_nothing_and_can_be_tried_again(
    platform, dossier, citizen_client
):
    answer = start(citizen_client, dossier)
    back = choose(answer["Location"], "cancel")
    first = Payment.objects.get()
    assert first.state == State.CANCELLED
    text = citizen_client.get(local_path(back.headers["Location"])).content.decode()
    assert "Giao dịch đã bị hủy" in text and "chưa bị trừ tiền" in text
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.DUE
    # A new attempt, with a new reference.
    again = start(citizen_client, dossier)
    assert again.status_code == 302 and again["Location"] != answer["Location"]
    assert Payment.objects.exclude(pk=first.pk).get().state == State.PENDING


# --- Twice, forged ------------------------------------------------------------------------------


def test_a_callback_twice_makes_one_payment(platform, dossier, citizen_client):
    platform.fault = "duplicate-callback"
    answer = start(citizen_client, dossier)
    choose(answer["Location"], "success")
    assert [status for status, _body in platform.callbacks] == [200, 200]
    payment = Payment.objects.get()
    assert payment.state == State.PAID
    assert dossier.history.filter(action="fee_paid").count() == 1
    # Once more, by hand: the platform's retry is answered "00" and changes nothing.
    paid_at = payment.paid_at
    body = platform.callbacks[0][1]
    answer = post_callback(live_url(platform), body)
    assert answer.status_code == 200 and answer.json()["code"] == "00"
    payment.refresh_from_db()
    assert payment.paid_at == paid_at and dossier.history.filter(action="fee_paid").count() == 1


def post_callback(base: str, body, *, raw: bytes | None = None, content_type="application/json"):
    data = raw if raw is not None else json.dumps(body).encode()
    return requests.post(
        base + reverse("payment:callback"),
        data=data,
        headers={"Content-Type": content_type},
        timeout=10,
    )


def test_forged_callbacks_are_refused_logged_and_change_nothing(
    platform, dossier, citizen_client, caplog
):
    caplog.set_level(logging.WARNING, logger="motcua.security.payment")
    platform.fault = "bad-signature"
    answer = start(citizen_client, dossier)
    choose(answer["Location"], "success")
    payment = Payment.objects.get()
    assert payment.state == State.PENDING  # the bad code changed nothing
    order = platform.orders[payment.reference]
    signed = {
        "partner_code": "MOTCUA",
        "reference": payment.reference,
        "transaction_id": order["transactionId"],
        "amount": "50000",
        "status": "00",
        "paid_at": order["payTime"],
    }
    base = live_url(platform)
    cases = [
        (national.sign(national.RESULT, {**signed, "amount": "1000"}, SECRET), 200, "04"),
        (
            national.sign(national.RESULT, {**signed, "reference": "MCNOSUCHPAYMENT"}, SECRET),
            200,
            "01",
        ),
        (national.sign(national.RESULT, signed, "a guess"), 200, "97"),
        ({**national.sign(national.RESULT, signed, SECRET), "amount": "5"}, 200, "97"),
        (
            {
                k: v
                for k, v in national.sign(national.RESULT, signed, SECRET).items()
                if k != "checksum"
            },
            200,
            "97",
        ),
        (national.sign(national.RESULT, {**signed, "partner_code": "OTHER"}, SECRET), 200, "97"),
    ]
    for body, status, code in cases:
        got = post_callback(base, body)
        assert (got.status_code, got.json()["code"]) == (status, code), body
    assert post_callback(base, None, raw=b"{not json").json()["code"] == "99"
    assert post_callback(base, None, raw=b"[1]").json()["code"] == "99"
    assert post_callback(base, None, raw=b"x" * 20_000).status_code == 413
    assert requests.get(base + reverse("payment:callback"), timeout=10).status_code == 405
    payment.refresh_from_db()
    assert payment.state == State.PENDING and payment.callback == {}
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.DUE
    refused = [
        r.getMessage() for r in caplog.records if "payment callback refused" in r.getMessage()
    ]
    # The sandbox's own (bad signature), the six above, two unreadable, one too large.
    assert len(refused) == 10
    assert any("reason=amount-mismatch" in line for line in refused)
    assert any("reason=unknown-reference" in line for line in refused)
    assert not any(SECRET in line for line in refused)

    # The genuine one still works afterwards.
    good = post_callback(base, national.sign(national.RESULT, signed, SECRET))
    assert good.json()["code"] == "00"
    payment.refresh_from_db()
    assert payment.state == State.PAID


# --- The platform failing at INIT -----------------------------------------------------------------


@pytest.mark.parametrize("fault", ["down", "slow:2", "malformed"])
def test_the_platform_failing_at_init_is_said_plainly(
    offline_platform, settings, dossier, citizen_client, fault
):
    configure(settings, offline_platform, TIMEOUT=0.5)
    offline_platform.fault = fault
    answer = start(citizen_client, dossier)
    assert answer.status_code == 302 and answer["Location"] == reverse(
        "portal:dossier", args=[dossier.pk]
    )
    page = citizen_client.get(answer["Location"])
    text = page.content.decode()
    assert page.status_code == 200 and "Bạn chưa bị trừ tiền" in text
    expected = "hiện không phản hồi" if fault != "malformed" else "không khởi tạo được"
    assert expected in text
    payment = Payment.objects.get()
    assert payment.state == State.FAILED and payment.problem.startswith("init: ")
    # Back up: a new attempt (a new reference) goes through.
    offline_platform.fault = ""
    configure(settings, offline_platform)
    again = start(citizen_client, dossier)
    assert again["Location"].startswith(f"{offline_platform.url}/pay/")
    assert Payment.objects.filter(state=State.PENDING).count() == 1


def test_online_payment_off_sends_the_citizen_to_the_desk(settings, dossier, citizen_client):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "CONNECTORS": {**settings.MOTCUA["CONNECTORS"], "payment": {}},
    }
    page = citizen_client.get(reverse("portal:dossier", args=[dossier.pk])).content.decode()
    assert "Nộp phí trực tuyến" not in page and "nộp phí tại Bộ phận Một cửa" in page
    answer = start(citizen_client, dossier)
    assert answer.status_code == 302
    assert "Chưa thể nộp phí trực tuyến" in citizen_client.get(answer["Location"]).content.decode()
    assert not Payment.objects.exists()
    assert (
        citizen_client.post(
            reverse("payment:callback"), b"{}", content_type="application/json"
        ).status_code
        == 404
    )


# --- Reconciliation -----------------------------------------------------------------------------


def test_no_callback_reconciliation_marks_it_paid(offline_platform, dossier, citizen_client):
    offline_platform.fault = "no-callback"
    answer = start(citizen_client, dossier)
    choose(answer["Location"], "success")
    assert offline_platform.callbacks == []
    payment = Payment.objects.get()
    assert payment.state == State.PENDING
    # Too recent to ask about.
    assert payment_reconcile()["checked"] == 0
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=20)
    )
    done = tasks.reconcile_payments.delay().get()
    assert done["checked"] == 1 and done["paid"] == 1
    payment.refresh_from_db()
    assert payment.state == State.PAID and payment.confirmed_via == Confirmation.QUERY
    assert payment.checked_at and payment.fee_recorded_at
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.PAID
    dossier.refresh_from_db()
    assert dossier.status == Status.IN_REVIEW
    # Idempotent: nothing more to do.
    assert payment_reconcile() == {"checked": 0, "paid": 0, "closed": 0, "errors": 0, "recorded": 0}


def test_reconciliation_closes_abandoned_attempts_and_survives_the_platform_down(
    offline_platform, dossier, citizen_client
):
    start(citizen_client, dossier)
    payment = Payment.objects.get()
    Payment.objects.filter(pk=payment.pk).update(
        created_at=timezone.now() - dt.timedelta(minutes=20)
    )
    offline_platform.fault = "down"
    assert payment_reconcile()["errors"] == 1
    offline_platform.fault = ""
    assert payment_reconcile()["checked"] == 1  # still open at the platform: kept
    payment.refresh_from_db()
    assert payment.state == State.PENDING
    Payment.objects.filter(pk=payment.pk).update(created_at=timezone.now() - dt.timedelta(hours=25))
    assert payment_reconcile()["closed"] == 1
    payment.refresh_from_db()
    assert payment.state == State.FAILED and payment.problem == "expired"
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.DUE


def test_the_return_page_asks_the_platform_when_no_callback_came(
    offline_platform, dossier, citizen_client
):
    offline_platform.fault = "no-callback"
    answer = start(citizen_client, dossier)
    back = choose(answer["Location"], "success")
    text = citizen_client.get(local_path(back.headers["Location"])).content.decode()
    assert "Thanh toán đã được xác nhận" in text
    assert Payment.objects.get().confirmed_via == Confirmation.QUERY


def test_a_hand_made_return_saying_paid_is_not_proof(
    offline_platform, dossier, citizen_client, caplog
):
    caplog.set_level(logging.WARNING, logger="motcua.security.payment")
    start(citizen_client, dossier)
    payment = Payment.objects.get()
    forged = f"?orderId={payment.reference}&status=00&amount=50000&checksum=00ff"
    page = citizen_client.get(reverse("payment:return", args=[payment.reference]) + forged)
    text = page.content.decode()
    assert page.status_code == 200 and "Đang chờ nền tảng thanh toán xác nhận" in text
    assert "không thanh toán lần thứ hai" in text
    payment.refresh_from_db()
    assert payment.state == State.PENDING and payment.checked_at  # the platform was asked
    assert fees.fee_for_dossier(dossier=dossier).status == FeeStatus.DUE
    assert any("payment return not signed" in r.getMessage() for r in caplog.records)


# --- Someone else's fee --------------------------------------------------------------------------


def test_another_citizen_cannot_pay_or_see_someone_elses_fee(
    offline_platform, dossier, citizen_client, client_factory
):
    start(citizen_client, dossier)
    payment = Payment.objects.get()
    other = client_factory()
    sign_in(other, make_user("another-citizen"))
    assert other.post(reverse("payment:start", args=[dossier.pk])).status_code == 404
    assert other.get(reverse("payment:return", args=[payment.reference])).status_code == 404
    assert other.get(reverse("payment:receipt", args=[payment.reference])).status_code == 404
    assert Payment.objects.count() == 1 and len(offline_platform.orders) == 1
    # The owner: no receipt before it is paid; a GET does not start a payment.
    assert (
        citizen_client.get(reverse("payment:receipt", args=[payment.reference])).status_code == 404
    )
    assert citizen_client.get(reverse("payment:start", args=[dossier.pk])).status_code == 405
    assert citizen_client.get(reverse("payment:return", args=["x" * 40])).status_code == 404


def test_the_pay_button_needs_the_csrf_token(offline_platform, dossier, citizen, client_factory):
    strict = client_factory(enforce_csrf_checks=True)
    sign_in(strict, citizen)
    assert start(strict, dossier).status_code == 403
    assert not Payment.objects.exists()


@pytest.mark.parametrize(
    ("amount", "words"),
    [
        (50_000, "Năm mươi nghìn đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (215_000, "Hai trăm mười lăm nghìn đồng"),
        (21, "Hai mươi mốt đồng"),
        (2_000_000_000, "Hai tỷ đồng"),
    ],
)
def test_amount_in_words(amount, words):
    assert amount_in_words(amount) == words


@pytest.fixture
def client_factory():
    from django.test import Client

    return Client


def test_the_callback_is_rate_limited_per_address(
    offline_platform, db, client, monkeypatch, caplog
):
    from connectors.payment import views

    caplog.set_level(logging.WARNING, logger="motcua.security.payment")
    monkeypatch.setattr(views, "CALLBACK_RATE", "2/m")
    url = reverse("payment:callback")
    with time_machine.travel(time.time(), tick=False):  # all in one fixed window
        codes = [
            client.post(url, b"{}", content_type="application/json").status_code for _ in range(3)
        ]
    assert codes == [200, 200, 429]
    assert any("reason=rate" in r.getMessage() for r in caplog.records)


def test_money_to_refund_is_in_the_administrators_digest(dossier, citizen):
    """A payment taken that the fee could not take (paid twice, or not owed any more) needs
    a person: it is reported once; a failed attempt, which took no money, is not."""
    from notifications.alerts import alerts_notice
    from notifications.models import Alert

    fee = fees.fee_for_dossier(dossier=dossier)
    refund = Payment.objects.create(
        fee=fee,
        reference="MCREFUND1",
        amount=50_000,
        state=State.PAID,
        backend="national",
        started_by=citizen,
        problem="fee already paid by MCOTHER: refund this payment",
    )
    Payment.objects.create(
        fee=fee,
        reference="MCFAILED1",
        amount=50_000,
        state=State.FAILED,
        backend="national",
        started_by=citizen,
        problem="init: down",
    )
    alerts_notice()
    assert list(Alert.objects.filter(source="payment").values_list("ref", flat=True)) == [refund.pk]
    alerts_notice()
    assert Alert.objects.filter(source="payment").count() == 1


def test_the_amount_is_written_as_the_fee_panel_writes_it(platform, dossier, citizen_client):
    """One way to write the amount on a page: "50.000 đồng" in Vietnamese, "50,000 VND" in
    English, beside the button as in the fee's own panel."""
    url = reverse("portal:dossier", args=[dossier.pk])
    vi = citizen_client.get(url, HTTP_ACCEPT_LANGUAGE="vi").content.decode()
    panel = vi.split('id="h-pay"', 1)[1]
    assert "50.000 đồng" in panel
    en = citizen_client.get(url, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    panel = en.split('id="h-pay"', 1)[1]
    assert "50,000 VND" in panel and "dong" not in panel
