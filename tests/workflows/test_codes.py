"""Dossier codes: format, daily sequence per agency, and no duplicates under concurrency."""

from __future__ import annotations

import datetime as dt
import re
import threading
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import close_old_connections, connection

from workflows import services
from workflows.codes import dossier_code
from workflows.models import Dossier, Status

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def test_code_format_and_daily_sequence(walk, province):
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, tzinfo=VN), tick=False):
        first = walk(Status.SUBMITTED)
        second = walk(Status.SUBMITTED)
    with time_machine.travel(dt.datetime(2026, 3, 3, 9, tzinfo=VN), tick=False):
        next_day = walk(Status.SUBMITTED)
    assert first.code == "H22-260302-0001"
    assert second.code == "H22-260302-0002"
    assert next_day.code == "H22-260303-0001"
    assert re.fullmatch(r"[A-Z]\d{2}(\.\d{2,3})*-\d{6}-\d{4,}", first.code)


def test_each_agency_has_its_own_sequence(db, province, other_province):
    day = dt.date(2026, 3, 2)
    assert dossier_code(province, day).endswith("-0001")
    assert dossier_code(other_province, day) == "H23-260302-0001"
    assert dossier_code(province, day).endswith("-0002")


def test_a_draft_has_no_code_until_submitted(walk):
    assert walk(Status.DRAFT).code is None


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_submits_get_distinct_codes(procedure, province, citizen, officers):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (set DATABASE_URL)")
    from tests.conftest import new_draft

    count = 12
    drafts = [new_draft(procedure, province, citizen) for _ in range(count)]
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def submit(dossier: Dossier) -> None:
        try:
            barrier.wait()
            services.dossier_submit(dossier=dossier, by=citizen)
        except BaseException as exc:  # noqa: BLE001 - collected and asserted below
            errors.append(exc)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=submit, args=(d,)) for d in drafts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    codes = list(
        Dossier.objects.filter(pk__in=[d.pk for d in drafts]).values_list("code", flat=True)
    )
    assert len(codes) == count and len(set(codes)) == count
    sequences = sorted(int(code.rsplit("-", 1)[1]) for code in codes)
    assert sequences == list(range(1, count + 1))
