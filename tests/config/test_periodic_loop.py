"""run_periodic_jobs --every: a failing job is logged and the loop goes on (issue #17)."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import OperationalError

from config.management.commands import run_periodic_jobs as command
from notifications.models import Channel, Message, MessageStatus
from tests.conftest import make_user


class Stop(Exception):
    """Ends the endless loop from its sleep, after the rounds the test wants."""


def queue_mail(subject: str) -> Message:
    return Message.objects.create(
        recipient=make_user(),
        channel=Channel.EMAIL,
        kind="received",
        language="vi",
        template_version="test",
        to_address="person@example.org",
        subject=subject,
        body="Nội dung thông báo",
    )


@pytest.mark.django_db(transaction=True)
def test_a_failing_job_is_logged_and_the_loop_and_the_other_jobs_go_on(monkeypatch, caplog, capsys):
    from workflows import tasks

    real_warnings = tasks.escalate_tasks
    calls = []

    def warnings_locked_once():
        calls.append(1)
        if len(calls) == 1:
            raise OperationalError("database is locked")
        return real_warnings()

    rounds = []
    mails = {}

    def between_rounds(seconds):
        rounds.append(seconds)
        mails[len(rounds)] = sorted(m.subject for m in mail.outbox)
        if len(rounds) == 1:
            queue_mail("second round")
        if len(rounds) == 3:
            raise Stop

    monkeypatch.setattr(tasks, "escalate_tasks", warnings_locked_once)
    monkeypatch.setattr(command, "sleep", between_rounds)
    first = queue_mail("first round")

    with pytest.raises(Stop):
        call_command("run_periodic_jobs", "--every", "60")

    # The time-limit warnings failed in round 1; every other job ran all the same.
    assert mails[1] == ["first round"]
    first.refresh_from_db()
    assert first.status == MessageStatus.DELIVERED
    # The loop went on: rounds 2 and 3 ran every job, the warnings included.
    assert len(calls) == 3 and rounds == [60, 60, 60]
    assert mails[2] == ["first round", "second round"]
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == (
        "timers fired: 0, events dispatched: 0, warnings given: failed, "
        "messages sent: 1, documents rendered: 0, webhooks delivered: 0, "
        "national portal steps synced: 0, payments reconciled: 0, history seals made: 0, "
        "drafts discarded: 0, dossiers' files erased: 0, failures reported: 0"
    )
    assert lines[1].startswith("timers fired: 0, events dispatched: 0, warnings given: 0")
    assert "messages sent: 1" in lines[1]
    # Logged with its traceback.
    failures = [r for r in caplog.records if "failed; the others go on" in r.getMessage()]
    assert len(failures) == 1 and failures[0].exc_info[0] is OperationalError


@pytest.mark.django_db
def test_once_reports_a_failed_job_with_an_error_after_running_the_others(monkeypatch, capsys):
    def broken():
        raise RuntimeError("boom")

    monkeypatch.setattr(command, "documents_sweep", broken)
    queue_mail("once")
    with pytest.raises(CommandError, match="document sweep"):
        call_command("run_periodic_jobs")
    assert "messages sent: 1, documents rendered: failed" in capsys.readouterr().out
    assert [m.subject for m in mail.outbox] == ["once"]
