"""Dossier codes: format, daily sequence per agency, and no duplicates under concurrency."""

from __future__ import annotations

import datetime as dt
import re
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import close_old_connections, connection

from workflows.codes import dossier_code
from workflows.models import Dossier, Status
from workflows.services import dossiers as transitions

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def first_component_code(dossier: Dossier) -> str:
    return dossier.procedure_version.spec["components"][0]["code"]


def test_code_format_and_daily_sequence(walk, province):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=VN), tick=False):
        first = walk(Status.RECEIVED)
        second = walk(Status.RECEIVED)
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, tzinfo=VN), tick=False):
        next_day = walk(Status.RECEIVED)
    assert first.code == "H22-260302-0001"
    assert second.code == "H22-260302-0002"
    assert next_day.code == "H22-260303-0001"
    assert re.fullmatch(r"[A-Z]\d{2}(\.\d{2,3})*-\d{6}-\d{4,}", first.code)


def test_the_code_is_given_at_reception_with_the_reception_date(walk, officers):
    """Decree 61 art. 26: the code carries the day of reception, not of submission."""
    with time_machine.travel(dt.datetime(2026, 3, 2, 16, tzinfo=VN), tick=False):
        submitted = walk(Status.SUBMITTED)
    assert submitted.code is None and submitted.lookup_secret == ""
    assert submitted.reference == f"#{submitted.pk}"
    with time_machine.travel(dt.datetime(2026, 3, 4, 9, tzinfo=VN), tick=False):
        received = transitions.dossier_receive(dossier=submitted, by=officers["reception"])
    assert received.code == "H22-260304-0001"
    assert len(received.lookup_secret) == 8
    entry = received.history.get(action="receive")
    assert received.events.get(name="dossier.receive").payload["code"] == received.code
    assert entry.to_status == Status.RECEIVED


def test_a_dossier_refused_at_the_desk_uses_no_number(walk, officers):
    day = dt.datetime(2026, 3, 2, 9, tzinfo=VN)
    with time_machine.travel(day, tick=False):
        refused = walk(Status.REJECTED_AT_RECEPTION)
        asked = walk(Status.SUPPLEMENT_REQUESTED)
        withdrawn = walk(Status.WITHDRAWN)
        received = walk(Status.RECEIVED)
    assert refused.code is None and asked.code is None and withdrawn.code is None
    assert received.code == "H22-260302-0001"  # no number spent on the others


def test_a_supplement_after_appraisal_keeps_the_code(walk, officers, citizen):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=VN), tick=False):
        dossier = walk(Status.IN_REVIEW)
        code = dossier.code
        dossier = transitions.dossier_request_supplement(
            dossier=dossier,
            by=officers["specialist"],
            reason="Thiếu ảnh",
            items=[{"code": first_component_code(dossier), "reason": "Bản scan mờ"}],
        )
    with time_machine.travel(dt.datetime(2026, 3, 5, 9, tzinfo=VN), tick=False):
        dossier = transitions.dossier_resubmit(dossier=dossier, by=citizen)
        dossier = transitions.dossier_receive(dossier=dossier, by=officers["reception"])
    assert dossier.code == code


def test_each_agency_has_its_own_sequence(db, province, other_province):
    day = dt.date(2026, 3, 2)
    assert dossier_code(province, day).endswith("-0001")
    assert dossier_code(other_province, day) == "H23-260302-0001"
    assert dossier_code(province, day).endswith("-0002")


def test_a_draft_has_no_code(walk):
    assert walk(Status.DRAFT).code is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_receptions_get_distinct_consecutive_codes(
    procedure, province, citizen, officers
):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    from tests.conftest import new_draft

    count = 12
    submitted = [
        transitions.dossier_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
        for _ in range(count)
    ]
    assert all(d.code is None for d in submitted)
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def receive(dossier: Dossier) -> None:
        try:
            barrier.wait()
            transitions.dossier_receive(dossier=dossier, by=officers["reception"])
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=receive, args=(d,)) for d in submitted]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    codes = list(
        Dossier.objects.filter(pk__in=[d.pk for d in submitted]).values_list("code", flat=True)
    )
    assert len(codes) == count and len(set(codes)) == count
    day = {code.split("-")[1] for code in codes}
    assert len(day) == 1
    sequences = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert sequences == list(range(1, count + 1))
