"""The supervisor's dashboard: every number checked against a direct count, drill-down,
CSV and XLSX exports, scope."""

from __future__ import annotations

import csv
import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from procedures.models import Agency
from tests.conftest import make_officer, sign_in, walk_to
from workflows import services
from workflows.models import Dossier, Status

VN = ZoneInfo("Asia/Ho_Chi_Minh")


def at(y, m, d, hh=9):
    return dt.datetime(y, m, d, hh, tzinfo=VN)


@pytest.fixture
def history(procedure, province, citizen, officers):
    """Received in March 2026 (due 23 March): one issued early, one issued late, one
    refused on time, one still in review (overdue by April), one withdrawn."""
    made = {}
    with time_machine.travel(at(2026, 3, 2), tick=False):
        for name in ("early", "late", "on_time", "open", "withdrawn"):
            target = {
                "early": Status.SIGNED,
                "late": Status.SIGNED,
                "on_time": Status.IN_REVIEW,
                "open": Status.IN_REVIEW,
                "withdrawn": Status.IN_REVIEW,
            }[name]
            made[name] = walk_to(target, procedure, province, citizen, officers)
    with time_machine.travel(at(2026, 3, 10), tick=False):
        services.dossier_issue(dossier=made["early"])
        services.dossier_withdraw(dossier=made["withdrawn"], by=citizen)
    with time_machine.travel(at(2026, 3, 23, 16), tick=False):
        services.dossier_refuse(dossier=made["on_time"], by=officers["head"], reason="Không đủ")
    with time_machine.travel(at(2026, 4, 2), tick=False):
        services.dossier_issue(dossier=made["late"])
    return made


def get(client, **params):
    return client.get(
        reverse("workspace:dashboard"), {"start": "2026-01-01", "end": "2026-12-31", **params}
    )


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_every_number_matches_a_direct_count(client, history, officers, catalog):
    supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))
    sign_in(client, supervisor)
    response = get(client)
    assert response.status_code == 200
    counts = response.context["summary"].counts
    mine = Dossier.objects.filter(handling_agency__path__startswith="/G16/")
    direct = {
        "received": mine.filter(received_at__year=2026).count(),
        "early": mine.filter(timeliness="early").count(),
        "on_time": mine.filter(timeliness="on_time").count(),
        "late": mine.filter(timeliness="late").count(),
        "in_progress": mine.filter(
            status__in=("received", "in_review", "approved", "signed")
        ).count(),
        "overdue": mine.filter(
            status__in=("received", "in_review", "approved", "signed"),
            due_date__lt=dt.date(2026, 4, 15),
        ).count(),
    }
    assert {k: counts[k] for k in direct} == direct
    assert direct == {
        "received": 5,
        "early": 1,
        "on_time": 1,
        "late": 1,
        "in_progress": 1,
        "overdue": 1,
    }
    summary = response.context["summary"]
    assert summary.on_time_rate == pytest.approx(2 / 4)  # (early+on time+within) / (3 + 1)
    # Working days from reception (Mon 2 March): 6 (10 March), 15 (23 March), 23 (2 April).
    assert summary.average_days == pytest.approx(round((6 + 15 + 23) / 3, 1))
    assert summary.p90_days == 23
    by_procedure = response.context["tables"]["procedure"]
    assert [row.counts["received"] for row in by_procedure] == [5]
    officer_rows = {row.label: row.counts for row in response.context["tables"]["officer"]}
    assert sum(c["done"] for c in officer_rows.values()) == 0  # services, not tasks, here
    chart = response.context["chart"]["bars"]
    assert [b["received"] for b in chart][2] == 5 and [b["finished"] for b in chart][2] == 2
    # Drill-down: the dossiers behind a number are the ones counted.
    for metric, expected in (("late", 1), ("overdue", 1), ("received", 5)):
        page = client.get(
            reverse("workspace:dashboard_dossiers"),
            {"start": "2026-01-01", "end": "2026-12-31", "metric": metric},
        )
        assert page.context["page"].paginator.count == expected, metric


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_exports(client, history, officers):
    sign_in(client, officers["head"])
    response = get(client, export="csv", table="summary")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert rows[1][1] == "5"  # received
    response = get(client, export="xlsx", table="procedure")
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(row=2, column=2).value == 5
    officer = get(client, export="csv", table="officer")
    assert officer.status_code == 200


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_scope_of_the_dashboard(client, history, officers, outsiders, citizen):
    sign_in(client, outsiders["supervisor"])
    assert get(client).context["summary"].counts["received"] == 0
    sign_in(client, officers["specialist"])
    assert get(client).status_code == 403
    sign_in(client, citizen)
    assert get(client).status_code == 403
    sign_in(client, officers["head"])
    assert get(client, start="junk", end="2026-02-30").status_code == 200
    page = client.get(reverse("workspace:dashboard_dossiers"), {"metric": "nope", "agency": "x"})
    assert page.status_code == 200


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_service_index_shows_each_metric_with_its_inputs(client, history, officers, citizen):
    from workflows.services import dossier_rate

    dossier_rate(dossier=history["early"], by=citizen, score=5, comment="Nhanh")
    dossier_rate(dossier=history["late"], by=citizen, score=2)
    sign_in(client, officers["head"])
    page = client.get(
        reverse("workspace:service_index"), {"start": "2026-01-01", "end": "2026-12-31"}
    )
    assert page.status_code == 200
    overall = {m.key: m for m in page.context["sections"][0][1]}
    progress = overall["on_time_rate"]
    assert (progress.numerator, progress.denominator, progress.points) == (2, 4, 10.0)
    online = overall["filed_online"]
    assert (online.numerator, online.denominator) == (0, 0)  # 1.012841 is partial online
    results = overall["electronic_results"]
    assert (results.numerator, results.denominator) == (2, 2)
    satisfied = overall["satisfied"]
    assert (satisfied.numerator, satisfied.denominator) == (2, 3)  # late or rated 2: one
    rating = overall["average_rating"]
    assert rating.rate == pytest.approx(3.5)
    html = page.content.decode()
    # In Vietnamese: the metrics, their groups and formulas, and numbers with a comma.
    assert "× 20 điểm" in html and "Tỷ lệ đúng hạn" in html and "Tiến độ giải quyết" in html
    assert "Điểm đánh giá trung bình" in html and "3,50" in html and "10,0 / 20" in html
    for english in ("points", "On-time rate", "Average rating", "Satisfaction", "finished"):
        assert english not in html, english


def test_rating_the_service(client, walk, citizen):
    from workflows.models import ServiceRating

    issued = walk(Status.ISSUED)
    open_one = walk(Status.IN_REVIEW)
    sign_in(client, citizen)
    assert (
        'name="score"' in client.get(reverse("portal:dossier", args=[issued.pk])).content.decode()
    )
    client.post(reverse("portal:rate", args=[open_one.pk]), {"score": "4"})
    client.post(reverse("portal:rate", args=[issued.pk]), {"score": "9"})
    assert not ServiceRating.objects.exists()
    client.post(reverse("portal:rate", args=[issued.pk]), {"score": "4", "comment": "Tốt"})
    client.post(reverse("portal:rate", args=[issued.pk]), {"score": "1"})
    rating = ServiceRating.objects.get()
    assert (rating.dossier_id, rating.score, rating.comment) == (issued.pk, 4, "Tốt")


def test_officer_numbers_drill_down_to_their_dossiers(
    client, procedure, province, citizen, officers
):
    from tests.conftest import new_draft
    from workflows.models import DossierTask
    from workflows.services import work

    with time_machine.travel(at(2026, 3, 2), tick=False):
        filed = [
            work.application_submit(dossier=new_draft(procedure, province, citizen), by=citizen)
            for _ in range(2)
        ]
        for dossier in filed:
            task = DossierTask.objects.get(dossier=dossier, stage="reception")
            work.task_claim(task=task, by=officers["reception"])
            work.task_complete(task=task, by=officers["reception"], action="accept")
    with time_machine.travel(at(2026, 4, 15), tick=False):
        sign_in(client, officers["head"])
        page = get(client)
        row = next(
            r for r in page.context["tables"]["officer"] if r.key == str(officers["reception"].pk)
        )
        assert row.counts["done"] == 2 and row.counts["early"] == 2
        assert f"metric=stage_early&amp;officer={row.key}" in page.content.decode()
        drill = client.get(
            reverse("workspace:dashboard_dossiers"),
            {
                "start": "2026-01-01",
                "end": "2026-12-31",
                "metric": "stage_early",
                "officer": row.key,
            },
        )
        assert drill.context["page"].paginator.count == 2
        none = client.get(
            reverse("workspace:dashboard_dossiers"),
            {
                "start": "2026-01-01",
                "end": "2026-12-31",
                "metric": "stage_late",
                "officer": row.key,
            },
        )
        assert none.context["page"].paginator.count == 0
