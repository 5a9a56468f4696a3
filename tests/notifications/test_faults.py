"""The outbox under faults, with real connections: a database connection dropped between
the send and its record, a mail relay down for an afternoon, SMS delivery receipts posted
by an HTTP gateway over loopback, and the administrators' failure digest."""

from __future__ import annotations

import datetime as dt
import json
import logging
import socket
import time

import pytest
import time_machine
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.models import (
    Channel,
    DeliveryAttempt,
    HandsetStatus,
    Message,
    MessageStatus,
)
from tests.conftest import make_user
from tests.notifications.gateway import Gateway, free_port
from workflows import events

CLOSED_SMTP = 8854  # nothing listens there
GATEWAY, SMTP = (8860, 8879), (8880, 8899)  # ranges: the first free port is used
SECRET = "receipt-secret-for-tests"  # noqa: S105 - a test's shared secret


def sms(user=None, **extra) -> Message:
    return Message.objects.create(
        recipient=user or make_user(),
        channel=extra.pop("channel", Channel.SMS),
        kind="received",
        language="vi",
        template_version="test",
        to_address=extra.pop("to_address", "0912345678"),
        body="Hồ sơ của bạn đã được tiếp nhận.",
        **extra,
    )


@pytest.fixture
def gateway(settings):
    server = Gateway(free_port(*GATEWAY))
    settings.MOTCUA = {
        **settings.MOTCUA,
        "SMS": {"backend": "http", "options": {"url": server.url}, "RECEIPT_SECRET": SECRET},
    }
    server.secret = SECRET
    yield server
    server.stop()


# --- A failed outcome write -----------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_outcome_write_survives_a_dropped_database_connection(gateway, caplog):
    """The gateway accepts the SMS and, before it answers, the worker's database backend is
    terminated from another connection (pg_terminate_backend). The record is written on a
    fresh connection: delivered once, no "sending" left for the sweep to send again."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL)")
    import psycopg

    message = sms()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    db = connection.settings_dict
    dsn = f"host={db['HOST']} port={db['PORT']} user={db['USER']} dbname={db['NAME']}"

    def kill_the_worker_connection(payload):
        with psycopg.connect(dsn, autocommit=True) as killer:
            assert killer.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0]
            for _ in range(100):  # until the backend is gone
                if not killer.execute(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]
                ).fetchone():
                    break
                time.sleep(0.02)

    gateway.on_send = kill_the_worker_connection
    caplog.set_level(logging.WARNING, logger="notifications.services")
    assert services.message_deliver(message_id=message.pk) == MessageStatus.DELIVERED
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.sending_since is None
    assert message.provider_id == "gw-1"
    assert list(message.tries.values_list("number", "outcome")) == [(1, "delivered")]
    assert len(gateway.sends) == 1
    assert any("outcome not written" in r.getMessage() for r in caplog.records)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] != pid  # a fresh connection wrote it
    # Nothing is left for the sweep, even after the stuck delay.
    with time_machine.travel(timezone.now() + dt.timedelta(hours=1)):
        assert services.due_message_ids() == []


def test_a_repeated_outcome_write_changes_nothing(db):
    """A retry after a commit whose answer was lost must not record the attempt twice."""
    message = sms()
    claimed = services._claim(message.pk)
    services._record(claimed, MessageStatus.DELIVERED, provider_id="gw-9")
    services._record(claimed, MessageStatus.DELIVERED, provider_id="gw-9")
    assert DeliveryAttempt.objects.filter(message=message).count() == 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.provider_id == "gw-9"


def test_a_message_is_claimed_by_one_attempt_at_a_time(db):
    message = sms()
    claimed = services._claim(message.pk)
    assert claimed.status == MessageStatus.SENDING and claimed.attempts == 1
    assert services._claim(message.pk) is None  # a second worker finds it taken
    message.refresh_from_db()
    assert message.status == MessageStatus.SENDING and message.attempts == 1


def test_a_resent_message_records_its_new_round_of_attempts(db, monkeypatch):
    from notifications.channels import PermanentFailure

    def refuse(message):
        raise PermanentFailure("http 400")

    message = sms()
    monkeypatch.setitem(services.SENDERS, Channel.SMS, refuse)
    assert services.message_deliver(message_id=message.pk) == MessageStatus.PERMANENT_FAILURE
    monkeypatch.setitem(services.SENDERS, Channel.SMS, lambda message: "gw-2")
    assert services.message_resend(message_id=message.pk) == MessageStatus.DELIVERED
    assert list(message.tries.values_list("number", "outcome")) == [
        (1, "permanent_failure"),
        (1, "delivered"),
    ]


# --- The retry budget -----------------------------------------------------------------------


def test_the_retry_schedule_covers_72_hours():
    waits = events.RETRY_WAITS
    assert waits[:7] == [1, 2, 4, 8, 16, 32, 60] and max(waits) == 60
    assert 72 * 60 <= sum(waits) < 73 * 60
    assert len(waits) + 1 == events.MAX_ATTEMPTS
    assert events.retry_schedule(2, 360) == [1, 2, 4, 8, 16, 32, 64]  # the old budget


def _closed(port: int) -> int:
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0
    return port


def test_a_relay_down_for_an_afternoon_delays_but_fails_nothing(db, settings):
    """A real SMTP connection refused for six hours, then a real SMTP server: delivered."""
    from aiosmtpd.controller import Controller

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _closed(CLOSED_SMTP)
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    message = sms(channel=Channel.EMAIL, to_address="mai@example.org", subject="Hồ sơ")
    start = timezone.now()
    now = start
    while now < start + dt.timedelta(hours=6):
        with time_machine.travel(now, tick=False):
            assert services.message_deliver(message_id=message.pk) in (
                MessageStatus.TEMPORARY_FAILURE,
                None,
            )
        message.refresh_from_db()
        now = message.next_attempt_at
    assert message.status == MessageStatus.TEMPORARY_FAILURE
    assert 8 <= message.attempts < events.MAX_ATTEMPTS

    received = []

    class Sink:
        async def handle_DATA(self, server, session, envelope):  # noqa: N802
            received.append(envelope.content)
            return "250 Message accepted"

    port = free_port(*SMTP)
    relay = Controller(Sink(), hostname="127.0.0.1", port=port)
    relay.start()
    try:
        settings.EMAIL_PORT = port
        with time_machine.travel(now, tick=False):
            assert services.messages_sweep() == 1
    finally:
        relay.stop()
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and len(received) == 1


def test_after_72_hours_of_temporary_failures_a_message_fails(db, monkeypatch):
    from notifications.channels import TemporaryFailure

    def down(message):
        raise TemporaryFailure("smtp 421")

    monkeypatch.setitem(services.SENDERS, Channel.SMS, down)
    message = sms()
    start = now = timezone.now()
    for _ in range(events.MAX_ATTEMPTS):
        with time_machine.travel(now, tick=False):
            services.message_deliver(message_id=message.pk)
        message.refresh_from_db()
        if message.status == MessageStatus.PERMANENT_FAILURE:
            break
        now = message.next_attempt_at
    assert message.status == MessageStatus.PERMANENT_FAILURE
    assert message.attempts == events.MAX_ATTEMPTS
    assert dt.timedelta(hours=72) <= now - start < dt.timedelta(hours=73)


def test_a_permanent_refusal_still_fails_at_once(db, settings):
    from aiosmtpd.controller import Controller

    class Refuser:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
            return "550 5.1.1 No such user"

    port = free_port(*SMTP)
    relay = Controller(Refuser(), hostname="127.0.0.1", port=port)
    relay.start()
    try:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
        settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
        message = sms(channel=Channel.EMAIL, to_address="nobody@example.org", subject="Hồ sơ")
        assert services.message_deliver(message_id=message.pk) == MessageStatus.PERMANENT_FAILURE
    finally:
        relay.stop()
    message.refresh_from_db()
    assert message.attempts == 1 and message.failed_at is not None


# --- SMS delivery receipts ------------------------------------------------------------------


@pytest.fixture
def receipts_to(gateway, live_server):
    gateway.receipt_url = live_server.url + reverse("notifications:sms_receipt")
    return gateway


def test_the_gateway_posts_a_receipt_and_the_status_shows_it(receipts_to, admin_client):
    """Real HTTP both ways: motcua sends to the gateway sandbox, which posts a signed
    receipt back to motcua's live server."""
    gateway = receipts_to
    gateway.auto_receipt = "DELIVRD"
    message = sms()
    assert services.message_deliver(message_id=message.pk) == MessageStatus.DELIVERED
    assert gateway.flush() == [200]
    message.refresh_from_db()
    assert message.provider_id == "gw-1"
    assert message.handset_status == HandsetStatus.DELIVERED
    assert timezone.localtime(message.handset_at).strftime("%d/%m/%Y %H:%M") == "29/11/2026 22:40"
    assert message.status_text == "Delivered to the phone"
    page = admin_client.get(reverse("admin:notifications_message_changelist"))
    assert "Đã đến máy điện thoại (29/11/2026 22:40)" in page.content.decode()  # Vietnamese

    # Idempotent: the same receipt again, then a late "failed": delivered stays.
    first_at = message.handset_at
    body = {"id": "gw-1", "status": "DELIVRD", "at": "2026-11-30T08:00:00+07:00"}
    assert gateway.receipt(body) == 200
    assert gateway.receipt({**body, "status": "UNDELIV"}) == 200
    message.refresh_from_db()
    assert message.handset_status == HandsetStatus.DELIVERED and message.handset_at == first_at


def test_a_failure_at_the_handset_shows(receipts_to, admin_client):
    gateway = receipts_to
    message = sms()
    services.message_deliver(message_id=message.pk)
    assert gateway.receipt({"id": "gw-1", "status": "failed"}) == 200
    message.refresh_from_db()
    assert message.handset_status == HandsetStatus.FAILED and message.handset_at
    assert message.status_text == "Not delivered to the phone"
    page = admin_client.get(reverse("admin:notifications_message_changelist"))
    assert "Không đến được máy điện thoại" in page.content.decode()


def test_an_early_receipt_names_the_message_by_its_key(receipts_to):
    """A receipt that arrives before motcua stored the gateway's id: matched by key."""
    gateway = receipts_to
    message = sms()
    body = {"id": "gw-77", "reference": str(message.uid), "status": "delivered"}
    assert gateway.receipt(body) == 200
    message.refresh_from_db()
    assert message.handset_status == HandsetStatus.DELIVERED and message.provider_id == "gw-77"


def test_forged_unknown_and_bad_receipts_are_refused_and_logged(receipts_to, caplog):
    gateway = receipts_to
    message = sms()
    services.message_deliver(message_id=message.pk)
    caplog.set_level(logging.WARNING, logger="notifications.receipts")
    good = {"id": "gw-1", "status": "delivered"}
    assert gateway.receipt(good, secret="a guess") == 403
    assert gateway.receipt(good, secret="") == 403
    assert gateway.receipt({"id": "gw-404", "status": "delivered"}) == 404
    assert gateway.receipt({"reference": "not-a-uuid", "status": "delivered"}) == 400
    assert gateway.receipt(None, raw=b"{not json") == 400
    assert gateway.receipt(None, raw=b"[1, 2]") == 400
    assert gateway.receipt(None, raw=json.dumps({"id": ["x"], "status": 5}).encode()) == 400
    assert gateway.receipt({"id": "gw-1", "status": "lost in space"}) == 400
    # Signed, but a day that does not exist: the time of receipt stands in, no 500.
    assert gateway.receipt({"id": "gw-1", "status": "failed", "at": "2026-02-30T10:00:00Z"}) == 200
    Message.objects.filter(pk=message.pk).update(handset_status="", handset_at=None)
    assert gateway.receipt(None, raw=b"x" * 70_000) == 400
    other = sms(channel=Channel.EMAIL, to_address="mai@example.org")
    assert gateway.receipt({"reference": str(other.uid), "status": "delivered"}) == 404
    message.refresh_from_db()
    assert message.handset_status == ""
    refused = [r.getMessage() for r in caplog.records if "sms receipt refused" in r.getMessage()]
    assert len(refused) == 10
    # A receipt for an id not recorded yet, while an SMS is still being sent: "later".
    Message.objects.filter(pk=other.pk).update(channel=Channel.SMS, status=MessageStatus.SENDING)
    assert gateway.receipt({"id": "gw-early", "status": "delivered"}) == 503
    assert not any("0912345678" in line for line in refused)


def test_receipts_are_refused_without_a_secret(db, gateway, settings, client):
    settings.MOTCUA = {**settings.MOTCUA, "SMS": {**settings.MOTCUA["SMS"], "RECEIPT_SECRET": ""}}
    url = reverse("notifications:sms_receipt")
    assert client.post(url, b"{}", content_type="application/json").status_code == 404
    assert client.get(url).status_code == 405
