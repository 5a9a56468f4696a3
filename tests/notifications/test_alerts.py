"""The administrators' digest of failed and stuck messages, events and renders: each item
once, ids and admin links only, and a relay that is down is logged, not silent."""

from __future__ import annotations

import datetime as dt
import logging
import socket

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from documents.models import Document, DocumentStatus
from notifications.alerts import alerts_send
from notifications.models import Alert, Channel, Message, MessageStatus
from tests.conftest import make_user
from workflows.models import OutgoingEvent, Status

CLOSED_SMTP = 8856


def message(status=MessageStatus.PERMANENT_FAILURE, **extra) -> Message:
    return Message.objects.create(
        recipient=make_user(),
        channel=Channel.EMAIL,
        kind="received",
        language="vi",
        template_version="test",
        to_address="mai.private@example.org",
        subject="Hồ sơ riêng tư",
        body="Nội dung riêng tư của công dân",
        status=status,
        **extra,
    )


@pytest.fixture
def alert_to(settings):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "ALERTS": {"EMAILS": ["ops@example.org"], "STUCK_MINUTES": 60},
        "SITE_URL": "https://motcua.example",
    }


def test_a_digest_reports_each_failed_or_stuck_item_once(alert_to, walk):
    dossier = walk(Status.SUBMITTED)
    Message.objects.update(status=MessageStatus.DELIVERED)  # the walk's own messages
    failed = message()
    stuck = message(status=MessageStatus.TEMPORARY_FAILURE)
    fresh = message(status=MessageStatus.TEMPORARY_FAILURE)
    Message.objects.filter(pk=stuck.pk).update(created_at=timezone.now() - dt.timedelta(hours=2))
    event = OutgoingEvent.objects.create(
        name="dossier.receive", dossier=dossier, failed_at=timezone.now(), last_error="X: boom"
    )
    document = Document.objects.create(
        dossier=dossier,
        kind="receipt",
        source_key="alert-test",
        template="documents/pdf/receipt.html",
        status=DocumentStatus.FAILED,
        failed_at=timezone.now(),
    )
    OutgoingEvent.objects.exclude(pk=event.pk).update(dispatched_at=timezone.now())
    mail.outbox.clear()

    assert alerts_send() == 4
    assert len(mail.outbox) == 1
    digest = mail.outbox[0]
    assert digest.to == ["ops@example.org"]
    assert "4" in digest.subject
    text = digest.body
    for path in (
        f"/admin/notifications/message/{failed.pk}/change/",
        f"/admin/notifications/message/{stuck.pk}/change/",
        f"/admin/workflows/outgoingevent/{event.pk}/change/",
        f"/admin/documents/document/{document.pk}/change/",
    ):
        assert "https://motcua.example" + path in text
    assert f"/message/{fresh.pk}/" not in text  # not stuck yet
    assert "dossier.receive" in text and "received / email" in text
    # Vietnamese first, then English.
    assert text.index("Tin nhắn") < text.index("Messages")
    assert text.index("lỗi vĩnh viễn") < text.index("failed permanently")
    # Ids and links only: no address, subject, content or error text.
    for private in ("mai.private", "riêng tư", "boom", dossier.applicant_name):
        assert private not in text and private not in digest.subject

    # Once per item: nothing new, no mail.
    assert alerts_send() == 0 and len(mail.outbox) == 1
    # The stuck message now fails for good: that is news; so is the fresh one, once stuck.
    Message.objects.filter(pk=stuck.pk).update(status=MessageStatus.PERMANENT_FAILURE)
    with time_machine.travel(timezone.now() + dt.timedelta(hours=2)):
        assert alerts_send() == 2
    assert len(mail.outbox) == 2
    assert set(Alert.objects.values_list("source", "ref", "condition")) >= {
        ("message", stuck.pk, "stuck"),
        ("message", stuck.pk, "failed"),
        ("message", fresh.pk, "stuck"),
    }


def test_a_relay_down_is_logged_and_the_digest_goes_next_time(alert_to, settings, db, caplog):
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", CLOSED_SMTP)) != 0
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", CLOSED_SMTP
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    failed = message()
    caplog.set_level(logging.WARNING, logger="notifications.alerts")
    assert alerts_send() == 0
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "not sent" in errors[0].getMessage()
    assert errors[0].exc_info is None
    assert Alert.objects.get(ref=failed.pk).mailed_at is None
    # The digest did not go through the outbox it reports on.
    assert Message.objects.count() == 1

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox.clear()
    assert alerts_send() == 1 and len(mail.outbox) == 1
    assert Alert.objects.get(ref=failed.pk).mailed_at is not None


def test_without_recipients_the_backlog_is_logged(settings, db, caplog):
    settings.MOTCUA = {**settings.MOTCUA, "ALERTS": {"EMAILS": [], "STUCK_MINUTES": 60}}
    settings.ADMINS = []
    message()
    caplog.set_level(logging.WARNING, logger="notifications.alerts")
    assert alerts_send() == 0
    assert any("no recipients" in r.getMessage() for r in caplog.records)
    settings.ADMINS = [("Ops", "admins@example.org")]
    mail.outbox.clear()
    assert alerts_send() == 1 and mail.outbox[0].to == ["admins@example.org"]


def test_the_periodic_jobs_send_the_digest(alert_to, db, capsys):
    from django.core.management import call_command

    message()
    mail.outbox.clear()
    call_command("run_periodic_jobs")
    assert "failures reported: 1" in capsys.readouterr().out
    assert any("failed or stuck" in m.subject for m in mail.outbox)


def test_an_item_that_fails_again_after_a_retry_is_reported_again(alert_to, db):
    failed = message()
    mail.outbox.clear()
    assert alerts_send() == 1
    # An administrator resends it; it is on its way again, then fails once more.
    Message.objects.filter(pk=failed.pk).update(status=MessageStatus.CREATED)
    assert alerts_send() == 0
    assert not Alert.objects.filter(ref=failed.pk).exists()
    Message.objects.filter(pk=failed.pk).update(status=MessageStatus.PERMANENT_FAILURE)
    assert alerts_send() == 1
    assert len(mail.outbox) == 2
