"""Due dates, checked against calendars worked out by hand.

2026: Tết holidays Mon 16 – Fri 20 February; Saturday 22 August is a swapped working day
(for Monday 31 August off); National Day Tue 1 – Wed 2 September; Vietnam Culture Day
Tue 24 November. Reception cutoff 15:00 local; the first counted day is the working day
after the reception day.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine

from workflows import services
from workflows.clock import WorkingCalendar, working_calendar
from workflows.exceptions import ActionNotAllowed
from workflows.models import Status, WorkingDayOverride
from workflows.services import dossiers as transitions

VN = ZoneInfo("Asia/Ho_Chi_Minh")
D = dt.date


def at(y, m, d, hh=9, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN)


CAL = WorkingCalendar()


@pytest.mark.parametrize(
    ("received", "days", "due"),
    [
        # Across Tết: Fri 13 Feb counts, then nothing until Mon 23 Feb.
        (at(2026, 2, 12, 10), 5, D(2026, 2, 26)),
        # After 15:00 the reception day is the next working day (Fri 13 Feb).
        (at(2026, 2, 12, 15, 30), 5, D(2026, 2, 27)),
        # Up to 15:00 sharp is the same day; only *after* 15:00 moves to the next one.
        (at(2026, 2, 12, 15, 0), 1, D(2026, 2, 13)),
        (at(2026, 2, 12, 15, 1), 1, D(2026, 2, 23)),
        # Received during Tết: reception day is Mon 23 Feb.
        (at(2026, 2, 17, 9), 2, D(2026, 2, 25)),
        # The swapped Saturday 22 Aug is a working day.
        (at(2026, 8, 21, 9), 3, D(2026, 8, 25)),
        # Weekend, the substitute day off (31 Aug) and National Day (1–2 Sep).
        (at(2026, 8, 28, 9), 2, D(2026, 9, 4)),
        # A Saturday reception counts from Monday; Culture Day (24 Nov) is off.
        (at(2026, 11, 21, 9), 1, D(2026, 11, 25)),
        # An ordinary week.
        (at(2026, 3, 2, 9), 15, D(2026, 3, 23)),
    ],
)
def test_due_dates_by_hand(received, days, due):
    assert CAL.due_date(received, days) == due


def test_the_swap_day_is_what_moves_the_date():
    without_swap = WorkingCalendar({D(2026, 8, 22): False})
    assert without_swap.due_date(at(2026, 8, 21, 9), 3) == D(2026, 8, 26)


@pytest.mark.django_db
def test_the_override_table_wins_over_the_package():
    WorkingDayOverride.objects.create(
        date=D(2026, 11, 25), is_working_day=False, reason="Provincial day of mourning"
    )
    WorkingDayOverride.objects.create(
        date=D(2026, 11, 28), is_working_day=True, reason="Swapped Saturday"
    )
    cal = working_calendar()
    assert not cal.is_working_day(D(2026, 11, 25))
    assert cal.is_working_day(D(2026, 11, 28))
    # Mon 23 reception; 24 Culture Day, 25 overridden off: 26, 27, Sat 28 (swapped).
    assert cal.due_date(at(2026, 11, 23, 9), 3) == D(2026, 11, 28)


def test_working_days_between():
    assert CAL.working_days_between(D(2026, 2, 12), D(2026, 2, 12)) == 0
    assert CAL.working_days_between(D(2026, 2, 12), D(2026, 2, 23)) == 2
    assert CAL.working_days_between(D(2026, 2, 23), D(2026, 2, 12)) == 0


@pytest.mark.django_db
def test_the_clock_restarts_when_a_supplemented_dossier_comes_back(walk, officers, citizen):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        dossier = walk(Status.RECEIVED)
        assert dossier.due_date == D(2026, 3, 23)
        dossier = transitions.dossier_start_review(dossier=dossier, by=officers["specialist"])
    # Three working days after receipt: still allowed.
    with time_machine.travel(at(2026, 3, 5, 10), tick=False):
        code = dossier.procedure_version.spec["components"][0]["code"]
        dossier = transitions.dossier_request_supplement(
            dossier=dossier,
            by=officers["specialist"],
            reason="Cần bổ sung",
            items=[{"code": code, "reason": "Thiếu chữ ký"}],
        )
    with time_machine.travel(at(2026, 3, 16, 10), tick=False):
        dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
        dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    # Restart from zero: 15 working days from Mon 16 March, not what was left of the first run.
    assert dossier.due_date == D(2026, 4, 6)
    assert dossier.supplement_round == 1
    entry = dossier.history.order_by("-seq").first()
    assert entry.action == "receive" and entry.data["due_date"] == "2026-04-06"


@pytest.mark.django_db
def test_no_supplement_after_the_window(walk, officers):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        dossier = walk(Status.IN_REVIEW)
    with time_machine.travel(at(2026, 3, 6, 10), tick=False):  # four working days later
        code = dossier.procedure_version.spec["components"][0]["code"]
        with pytest.raises(ActionNotAllowed, match="within"):
            transitions.dossier_request_supplement(
                dossier=dossier,
                by=officers["specialist"],
                reason="Cần bổ sung",
                items=[{"code": code, "reason": "Thiếu"}],
            )


@pytest.mark.django_db
def test_reschedule_only_once_and_only_later(walk, officers):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        dossier = walk(Status.IN_REVIEW)
        with pytest.raises(Exception, match="later than"):
            services.dossier_reschedule(
                dossier=dossier, by=officers["head"], new_due_date=D(2026, 3, 20), reason="Xác minh"
            )
        with pytest.raises(Exception, match="working day"):
            services.dossier_reschedule(
                dossier=dossier, by=officers["head"], new_due_date=D(2026, 3, 28), reason="Xác minh"
            )
        dossier = services.dossier_reschedule(
            dossier=dossier, by=officers["head"], new_due_date=D(2026, 3, 30), reason="Xác minh"
        )
        assert dossier.due_date == D(2026, 3, 30) and dossier.rescheduled_at
        with pytest.raises(ActionNotAllowed, match="already been rescheduled"):
            services.dossier_reschedule(
                dossier=dossier, by=officers["head"], new_due_date=D(2026, 4, 6), reason="Lần nữa"
            )
    entry = dossier.history.order_by("-seq").first()
    assert entry.data == {"new_due_date": "2026-03-30", "old_due_date": "2026-03-23"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("finished", "expected"),
    [
        (at(2026, 3, 20, 16), "early"),
        (at(2026, 3, 23, 23, 59), "on_time"),
        (at(2026, 3, 24, 0, 1), "late"),
    ],
)
def test_a_finished_dossier_is_early_on_time_or_late_by_date(walk, officers, finished, expected):
    """Due Monday 23 March 2026: any time that day is on time, by local calendar date."""
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        dossier = walk(Status.APPROVED)
        dossier = transitions.dossier_sign(dossier=dossier, by=officers["signer"])
    assert dossier.due_date == D(2026, 3, 23)
    with time_machine.travel(finished, tick=False):
        issued = transitions.dossier_issue(dossier=dossier)
    assert issued.timeliness == expected


@pytest.mark.django_db
def test_a_refusal_is_classified_too_and_a_withdrawal_is_not(walk, citizen):
    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        refused = walk(Status.REFUSED)
        withdrawn = walk(Status.WITHDRAWN)
    assert refused.timeliness == "early"
    assert withdrawn.timeliness == ""


@pytest.mark.django_db
def test_each_stage_records_its_result(procedure, province, citizen, officers):
    from tests.conftest import new_draft
    from workflows.models import DossierTask
    from workflows.services import work

    with time_machine.travel(at(2026, 3, 2, 9), tick=False):
        dossier = work.application_submit(
            dossier=new_draft(procedure, province, citizen), by=citizen
        )
        task = DossierTask.objects.get(dossier=dossier, stage="reception")
        assert task.due_date == D(2026, 3, 4)
    with time_machine.travel(at(2026, 3, 5, 9), tick=False):  # a day after its due date
        work.task_claim(task=task, by=officers["reception"])
        work.task_complete(task=task, by=officers["reception"], action="accept")
    assert DossierTask.objects.get(pk=task.pk).timeliness == "late"
    review = DossierTask.objects.get(dossier=dossier, stage="review")
    with time_machine.travel(at(2026, 3, 6, 9), tick=False):
        work.task_claim(task=review, by=officers["specialist"])
        work.task_complete(
            task=review,
            by=officers["specialist"],
            action="propose",
            form={"decision": "approve", "opinion": "Đủ"},
        )
    assert DossierTask.objects.get(pk=review.pk).timeliness == "early"


def test_working_days_between_counts_as_day_by_day_across_years_and_overrides():
    """The running totals per year give what counting day by day gives, overrides (a
    swapped Saturday, an extra day off) and year boundaries included."""
    import random

    from workflows.clock import WorkingCalendar

    calendar = WorkingCalendar({dt.date(2026, 5, 2): True, dt.date(2026, 3, 3): False})

    def day_by_day(start, end):
        count, day = 0, start
        while day < end:
            day += dt.timedelta(days=1)
            count += calendar.is_working_day(day)
        return count

    rng = random.Random(2026)
    for _ in range(500):
        start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randint(0, 1100))
        end = start + dt.timedelta(days=rng.randint(-20, 800))
        assert calendar.working_days_between(start, end) == day_by_day(start, end), (start, end)
