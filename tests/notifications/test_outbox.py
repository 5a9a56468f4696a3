"""Notifications: who hears what, in which language, on which channel; the outbox's
statuses, retries and ids; the in-app centre; no personal data in logs."""

from __future__ import annotations

import datetime as dt
import json
import logging

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from notifications import services
from notifications.channels import TemporaryFailure
from notifications.models import Channel, DeliveryAttempt, Message, MessageStatus, Preference
from notifications.rendering import CHANNELS, LANGUAGES, kinds, render
from tests.conftest import make_user, new_draft, sign_in
from workflows.models import Status
from workflows.services import work


@pytest.fixture
def walk(transition_walk):
    """This file tests the state machine, the history chain or the outbox themselves: its
    dossiers are walked by the transitions, each step one entry and its messages."""
    return transition_walk


@pytest.fixture(autouse=True)
def _sms_to_a_file(settings, tmp_path):
    settings.MOTCUA = {
        **settings.MOTCUA,
        "SMS": {"backend": "file", "options": {"path": str(tmp_path / "sms.jsonl")}},
    }
    return tmp_path / "sms.jsonl"


def test_every_event_renders_in_both_languages_on_every_channel():
    from notifications.admin import SAMPLE

    assert len(kinds()) == 18
    for kind in kinds():
        for channel in CHANNELS:
            texts = {}
            for language in LANGUAGES:
                rendered = render(kind, channel, language, SAMPLE)
                assert rendered.body and len(rendered.version) == 12, (kind, channel, language)
                if channel != "sms":
                    assert rendered.subject, (kind, channel, language)
                texts[language] = rendered.subject + rendered.body
            assert texts["vi"] != texts["en"], (kind, channel)


def messages_for(user, kind):
    return Message.objects.filter(recipient=user, kind=kind)


def test_a_filing_notifies_the_applicant_in_their_language(
    procedure, province, citizen, officers, django_capture_on_commit_callbacks
):
    citizen.email = "mai@example.org"
    citizen.save()
    Preference.objects.create(user=citizen, language="en", email=True, sms=True)
    dossier = new_draft(procedure, province, citizen)
    with django_capture_on_commit_callbacks(execute=True):
        dossier = work.application_submit(dossier=dossier, by=citizen)
    sent = messages_for(citizen, "submitted")
    assert {m.channel for m in sent} == {Channel.EMAIL, Channel.SMS, Channel.INAPP}
    assert all(m.language == "en" for m in sent)
    email = sent.get(channel=Channel.EMAIL)
    assert email.status == MessageStatus.DELIVERED and email.attempts == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].extra_headers["Message-ID"] == f"<{email.uid}@motcua>"
    # No code before reception (Decree 61 art. 26): the message names the dossier by its
    # number and says the code comes with the reception.
    assert dossier.code is None and dossier.lookup_secret == ""
    assert dossier.reference in mail.outbox[0].body
    assert "no dossier code yet" in mail.outbox[0].body
    from workflows.clock import working_calendar

    expected = working_calendar().due_date(
        dossier.submitted_at, dossier.procedure_version.time_limit_days
    )
    assert expected.strftime("%d/%m/%Y") in mail.outbox[0].body  # the expected date
    assert sent.get(channel=Channel.INAPP).status == MessageStatus.DELIVERED

    from workflows.services import dossiers as dossier_services

    with django_capture_on_commit_callbacks(execute=True):
        dossier = dossier_services.dossier_receive(dossier=dossier, by=officers["reception"])
    received = mail.outbox[-1].body
    assert dossier.code in received and dossier.lookup_secret in received
    sms = messages_for(citizen, "received").get(channel=Channel.SMS).body
    assert dossier.code in sms and dossier.lookup_secret in sms


def test_preferences_are_respected(
    procedure, province, citizen, django_capture_on_commit_callbacks
):
    citizen.email = "mai@example.org"
    citizen.save()
    Preference.objects.create(user=citizen, language="vi", email=False, sms=False)
    dossier = new_draft(procedure, province, citizen)
    with django_capture_on_commit_callbacks(execute=True):
        work.application_submit(dossier=dossier, by=citizen)
    assert set(messages_for(citizen, "submitted").values_list("channel", flat=True)) == {
        Channel.INAPP
    }
    assert mail.outbox == []


def test_the_message_commits_or_rolls_back_with_the_change(walk, officers):
    dossier = walk(Status.SUBMITTED)
    before = Message.objects.count()

    class Boom(Exception):
        pass

    from workflows.services import dossiers as dossier_services

    with pytest.raises(Boom), transaction.atomic():
        dossier_services.dossier_receive(dossier=dossier, by=officers["reception"])
        assert Message.objects.count() > before
        raise Boom
    assert Message.objects.count() == before


def test_officers_hear_of_offered_and_assigned_tasks(procedure, province, citizen, officers):
    dossier = work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
    desk = officers["reception"]
    assert messages_for(desk, "task_offered").filter(channel=Channel.INAPP).exists()
    assert not messages_for(officers["specialist"], "task_offered").exists()
    from workflows.models import DossierTask

    task = DossierTask.objects.get(dossier=dossier, stage="reception")
    other = make_user()
    from procedures.models import OfficerRole

    OfficerRole.objects.create(user=other, agency=dossier.handling_agency, role="reception")
    work.task_assign(task=task, by=officers["head"], to=other, reason="Cân bằng công việc")
    assigned = messages_for(other, "task_assigned").get(channel=Channel.INAPP)
    text = assigned.subject + assigned.body
    assert dossier.reference in text and "Cân bằng công việc" in text


def test_citizen_events_each_produce_their_notification(walk, citizen):
    walk(Status.ISSUED)
    walk(Status.REFUSED)
    walk(Status.REJECTED_AT_RECEPTION)
    walk(Status.SUPPLEMENT_REQUESTED)
    got = set(Message.objects.filter(recipient=citizen).values_list("kind", flat=True))
    assert {
        "submitted",
        "received",
        "approved",
        "result_ready",
        "refused",
        "rejected_at_reception",
        "supplement_requested",
    } <= got


def test_temporary_failure_is_retried_with_backoff_then_delivered(walk, citizen, monkeypatch):
    citizen.email = "mai@example.org"
    citizen.save()
    walk(Status.SUBMITTED)
    message = Message.objects.get(recipient=citizen, kind="submitted", channel=Channel.EMAIL)
    assert message.status == MessageStatus.CREATED  # not dispatched: on_commit not run here
    calls = []

    def flaky(msg):
        calls.append(msg.uid)
        if len(calls) == 1:
            raise TemporaryFailure("smtp 421")

    monkeypatch.setitem(services.SENDERS, Channel.EMAIL, flaky)
    assert services.message_deliver(message_id=message.pk) == MessageStatus.TEMPORARY_FAILURE
    message.refresh_from_db()
    assert message.next_attempt_at > timezone.now()
    assert services.message_deliver(message_id=message.pk) is None  # not due yet
    with time_machine.travel(timezone.now() + dt.timedelta(minutes=2)):
        assert services.messages_sweep() >= 1
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED and message.attempts == 2
    assert list(message.tries.values_list("outcome", flat=True)) == [
        MessageStatus.TEMPORARY_FAILURE,
        MessageStatus.DELIVERED,
    ]
    assert calls == [message.uid, message.uid]  # the same id both times


def test_permanent_failure_after_the_last_attempt_and_resend(walk, citizen, monkeypatch):
    citizen.email = "mai@example.org"
    citizen.save()
    walk(Status.SUBMITTED)
    message = Message.objects.get(recipient=citizen, kind="submitted", channel=Channel.EMAIL)

    def down(msg):
        raise TemporaryFailure("connection refused")

    monkeypatch.setitem(services.SENDERS, Channel.EMAIL, down)
    for _ in range(services.MAX_ATTEMPTS):
        Message.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())
        services.message_deliver(message_id=message.pk)
    message.refresh_from_db()
    assert message.status == MessageStatus.PERMANENT_FAILURE
    assert DeliveryAttempt.objects.filter(message=message).count() == services.MAX_ATTEMPTS
    monkeypatch.setitem(services.SENDERS, Channel.EMAIL, lambda msg: None)
    assert services.message_resend(message_id=message.pk) == MessageStatus.DELIVERED


def test_a_message_left_sending_by_a_crash_is_sent_again_under_the_same_id(walk, citizen):
    citizen.email = "mai@example.org"
    citizen.save()
    walk(Status.SUBMITTED)
    message = Message.objects.get(recipient=citizen, kind="submitted", channel=Channel.EMAIL)
    # The worker claimed it and died before recording the outcome.
    assert services._claim(message.pk) is not None
    assert services.messages_sweep() == 0  # not stuck long enough yet
    with time_machine.travel(timezone.now() + services.STUCK_AFTER + dt.timedelta(seconds=1)):
        assert services.messages_sweep() == 1
    assert [m.extra_headers["Message-ID"] for m in mail.outbox] == [message.message_id]


def test_sms_go_through_the_backend_with_their_idempotency_key(
    walk, citizen, _sms_to_a_file, django_capture_on_commit_callbacks
):
    Preference.objects.create(user=citizen, sms=True, email=False)
    dossier = walk(Status.SUBMITTED)
    from workflows.services import dossiers as dossier_services

    with django_capture_on_commit_callbacks(execute=True):
        dossier_services.dossier_withdraw(dossier=dossier, by=citizen)
    sms = Message.objects.filter(recipient=citizen, channel=Channel.SMS, kind="submitted").first()
    assert sms is not None
    services.message_deliver(message_id=sms.pk)
    lines = [json.loads(line) for line in _sms_to_a_file.read_text().splitlines()]
    assert {"key": str(sms.uid), "to": dossier.applicant_phone, "text": sms.body} in lines


def test_no_personal_data_in_the_logs(walk, citizen, caplog):
    citizen.email = "mai@example.org"
    citizen.save()
    dossier = walk(Status.SUBMITTED)
    with caplog.at_level(logging.DEBUG):
        services.messages_sweep()
    text = caplog.text
    assert "mai@example.org" not in text and dossier.applicant_phone not in text
    assert dossier.applicant_name not in text


def test_the_notification_centre(client, walk, citizen):
    walk(Status.RECEIVED)
    sign_in(client, citizen)
    page = client.get(reverse("notifications:centre"))
    assert page.status_code == 200
    unread = Message.objects.filter(recipient=citizen, channel=Channel.INAPP, read_at=None)
    count = unread.count()
    assert count >= 2 and f"({count})" in page.content.decode()
    first = unread.first()
    client.post(reverse("notifications:mark_read"), {"id": [first.pk, "junk"]})
    assert unread.count() == count - 1
    stranger = make_user()
    sign_in(client, stranger)
    client.post(reverse("notifications:mark_read"), {})
    assert unread.count() == count - 1  # a stranger marks only their own
    sign_in(client, citizen)
    client.post(reverse("notifications:mark_read"), {})
    assert unread.count() == 0


def test_preferences_page(client, citizen):
    sign_in(client, citizen)
    url = reverse("notifications:preferences")
    assert client.get(url).status_code == 200
    assert client.post(url, {"language": "fr"}).status_code == 400
    # SMS with no number to send them to is refused, with the reason, not saved.
    refused = client.post(url, {"language": "en", "sms": "on"})
    assert refused.status_code == 400
    problem = refused.context["form"].errors.as_data()["phone"][0]
    assert problem.code == "sms_needs_phone" and str(problem.message) in str(
        refused.content.decode()
    )
    assert not Preference.objects.filter(user=citizen).exists()
    assert (
        client.post(url, {"language": "en", "sms": "on", "phone": "0912 345 678"}).status_code
        == 302
    )
    preference = Preference.objects.get(user=citizen)
    assert (preference.language, preference.email, preference.sms) == ("en", False, True)
    assert preference.phone == "0912345678"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        ("0912345678", "0912345678"),
        ("+84 912 345 678", "0912345678"),
        ("84-383-456-789", "0383456789"),
        ("0912.345.678", "0912345678"),
        ("", ""),
    ],
)
def test_a_mobile_number_is_kept_in_one_form(client, officers, typed, kept):
    sign_in(client, officers["specialist"])
    response = client.post(reverse("notifications:preferences"), {"language": "vi", "phone": typed})
    assert response.status_code == 302
    assert Preference.objects.get(user=officers["specialist"]).phone == kept


@pytest.mark.parametrize(
    "typed", ["012345678", "0212345678", "+1 202 555 0100", "09123456789", "abc"]
)
def test_a_number_that_is_not_a_vietnamese_mobile_is_refused(client, officers, typed):
    sign_in(client, officers["specialist"])
    response = client.post(
        reverse("notifications:preferences"), {"language": "vi", "sms": "on", "phone": typed}
    )
    assert response.status_code == 400
    assert response.context["form"].errors.as_data()["phone"][0].code == "mobile"
    assert not Preference.objects.filter(user=officers["specialist"]).exists()


def test_an_officer_who_chooses_sms_gets_sms(
    client,
    procedure,
    province,
    citizen,
    officers,
    django_capture_on_commit_callbacks,
    _sms_to_a_file,
):
    desk = officers["reception"]
    sign_in(client, desk)
    client.post(
        reverse("notifications:preferences"),
        {"language": "vi", "email": "on", "sms": "on", "phone": "+84 987 654 321"},
    )
    with django_capture_on_commit_callbacks(execute=True):
        dossier = work.application_submit(
            dossier=new_draft(procedure, province, citizen), by=citizen
        )
    sms = messages_for(desk, "task_offered").get(channel=Channel.SMS)
    assert sms.to_address == "0987654321" and sms.status == MessageStatus.DELIVERED
    sent = [json.loads(line) for line in _sms_to_a_file.read_text().splitlines()]
    assert {"to": "0987654321", "key": str(sms.uid)}.items() <= sent[-1].items()
    assert dossier.reference in sent[-1]["text"]


def test_admin_preview_and_resend(admin_client):
    page = admin_client.get(reverse("admin:notifications_preview"), {"kind": "apology"})
    assert page.status_code == 200
    body = page.content.decode()
    assert "apology · email · vi" in body and "21/12/2026" in body


def test_the_http_sms_gateway_gets_the_payload_and_the_idempotency_key(settings):
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from notifications.channels import PermanentFailure, send_sms

    received = []

    class Gateway(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((self.headers["Idempotency-Key"], self.headers["Authorization"], body))
            self.send_response(400 if body["dest"] == "bad" else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        settings.MOTCUA = {
            **settings.MOTCUA,
            "SMS": {
                "backend": "http",
                "options": {
                    "url": f"http://127.0.0.1:{server.server_port}/send",
                    "auth": "Bearer s3cret",
                    "fields": {"to": "dest", "text": "msg", "key": "ref"},
                    "extra": {"brand": "MOTCUA"},
                },
            },
        }
        message = Message(
            to_address="0912345678",
            body="Ho so da duoc tiep nhan",
            channel=Channel.SMS,
            kind="received",
            language="vi",
        )
        send_sms(message)
        key, auth, body = received[0]
        assert key == str(message.uid) and auth == "Bearer s3cret"
        assert body == {
            "dest": "0912345678",
            "msg": "Ho so da duoc tiep nhan",
            "ref": str(message.uid),
            "brand": "MOTCUA",
        }
        with pytest.raises(PermanentFailure):
            send_sms(Message(to_address="bad", body="x", channel=Channel.SMS))
    finally:
        server.shutdown()


def test_resubmission_apology_and_early_return(walk, citizen, officers, monkeypatch):
    from workflows.services import dossiers as dossier_services

    dossier = walk(Status.SUPPLEMENT_REQUESTED)
    dossier_services.dossier_resubmit(dossier=dossier, by=citizen)
    assert Message.objects.filter(recipient=citizen, kind="resubmitted").exists()
    in_review = walk(Status.IN_REVIEW)
    monkeypatch.setattr("workflows.clock.WorkingCalendar.is_working_day", lambda s, d: True)
    dossier_services.dossier_reschedule(
        dossier=in_review,
        by=officers["head"],
        reason="Cần xác minh thêm",
        new_due_date=in_review.due_date + dt.timedelta(days=5),
    )
    apology = Message.objects.get(recipient=citizen, kind="apology", channel=Channel.INAPP)
    assert "Cần xác minh thêm" in apology.subject + apology.body
    walk(Status.ISSUED)  # issued on the day it was received: well before the appointment
    assert Message.objects.filter(recipient=citizen, kind="early_return").exists()
