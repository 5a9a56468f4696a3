"""The supervisor's dashboard: every number checked against a direct count, drill-down,
CSV and XLSX exports, scope."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from procedures.models import Agency
from tests.conftest import complete_stage, make_officer, sign_in, walk_to
from workflows.models import Dossier, Status
from workflows.services import work

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
                "early": Status.APPROVED,
                "late": Status.APPROVED,
                "on_time": Status.IN_REVIEW,
                "open": Status.IN_REVIEW,
                "withdrawn": Status.IN_REVIEW,
            }[name]
            made[name] = walk_to(target, procedure, province, citizen, officers)
    with time_machine.travel(at(2026, 3, 10), tick=False):
        complete_stage(made["early"], "sign", officers["signer"])  # signed, so issued
        work.application_withdraw(dossier=made["withdrawn"], by=citizen)
    with time_machine.travel(at(2026, 3, 23, 16), tick=False):
        complete_stage(made["on_time"], "refuse", officers["head"], reason="Không đủ")
    with time_machine.travel(at(2026, 4, 2), tick=False):
        complete_stage(made["late"], "sign", officers["signer"])
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
    # The stages done through the tasks: 4 for each issued dossier (reception, review,
    # approval, signing), 3 for the refused one, 2 for the open and the withdrawn ones.
    assert sum(c["done"] for c in officer_rows.values()) == 4 + 4 + 3 + 2 + 2
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


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_digitised_components_needs_every_mandatory_component(client, history, officers):
    """A dossier counts when each mandatory component of its version has a current file;
    one file is not enough, and an optional component may be missing."""
    from django.utils import timezone

    from workflows.models import DossierComponent

    spec = history["early"].procedure_version.spec
    mandatory = [c["code"] for c in spec["components"] if c["mandatory"]]
    optional = [c["code"] for c in spec["components"] if not c["mandatory"]]
    assert len(mandatory) >= 2 and optional
    # Received before motcua kept every scan (a dossier migrated from the old system, or
    # a scan that never arrived): its other files are there, one mandatory one is not.
    now = timezone.now()
    DossierComponent.objects.filter(dossier=history["late"], component_code=mandatory[0]).update(
        superseded_at=now
    )
    # Without its optional file, a dossier still counts.
    DossierComponent.objects.filter(dossier=history["early"], component_code__in=optional).update(
        superseded_at=now
    )

    sign_in(client, officers["head"])
    page = client.get(
        reverse("workspace:service_index"), {"start": "2026-01-01", "end": "2026-12-31"}
    )
    overall = {m.key: m for m in page.context["sections"][0][1]}
    digitised = overall["digitised_components"]
    assert (digitised.numerator, digitised.denominator) == (4, 5)
    per_agency = {m.key: m for m in page.context["sections"][1][1]}
    assert (
        per_agency["digitised_components"].numerator,
        per_agency["digitised_components"].denominator,
    ) == (4, 5)


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


# --- What a regression would break: each test below fails if its part is undone --------------


def number(cell):
    """A number as exported: an int or float in XLSX, text in CSV (decimal point or
    comma)."""
    if isinstance(cell, int | float):
        return cell
    text = str(cell).replace(",", ".")
    return float(text) if "." in text else int(text)


@pytest.fixture
def two_provinces(history, procedure, other_province, citizen, outsiders):
    """The history of H22, and one dossier received by H23 in March, still in review."""
    with time_machine.travel(at(2026, 3, 3), tick=False):
        walk_to(Status.IN_REVIEW, procedure, other_province, citizen, outsiders)
    return history


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_the_agency_table_has_a_row_per_agency_with_its_numbers(client, two_provinces, catalog):
    supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))
    sign_in(client, supervisor)
    response = get(client)
    rows = {row.label: row for row in response.context["tables"]["agency"]}
    h22 = Agency.objects.get(code="H22")
    h23 = Agency.objects.get(code="H23")
    assert set(rows) == {f"H22 {h22.name}", f"H23 {h23.name}"}
    counts = {
        label: {k: row.counts[k] for k in ("received", "in_progress")}
        for label, row in rows.items()
    }
    assert counts == {
        f"H22 {h22.name}": {"received": 5, "in_progress": 1},
        f"H23 {h23.name}": {"received": 1, "in_progress": 1},
    }
    # On the page: each agency's row, its received number linking to those dossiers.
    html = response.content.decode()
    section = html[
        html.index('aria-labelledby="h-agency"') : html.index('aria-labelledby="h-officer"')
    ]
    for agency, received in ((h22, 5), (h23, 1)):
        assert f'<th scope="row">{agency.code} {agency.name}</th>' in section
        link = f"metric=received&amp;agency={agency.pk}"
        assert re.search(rf'href="[^"]*{re.escape(link)}">{received}</a>', section), agency.code
    # Each row's dossiers are its own.
    drill = client.get(
        reverse("workspace:dashboard_dossiers"),
        {"start": "2026-01-01", "end": "2026-12-31", "metric": "received", "agency": h23.pk},
    )
    assert [d.handling_agency_id for d in drill.context["page"]] == [h23.pk]


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_the_period_chosen_is_the_period_counted_and_shown(client, history, officers):
    sign_in(client, officers["head"])

    def shown(**period):
        response = client.get(reverse("workspace:dashboard"), period)
        assert response.status_code == 200
        html = response.content.decode()
        inputs = dict(re.findall(r'<input type="date" name="(start|end)" value="([^"]*)"', html))
        counts = response.context["summary"].counts
        finished = {k: counts[k] for k in ("received", "early", "on_time", "late")}
        return finished, inputs, response

    # January–February: nothing received or finished.
    counts, inputs, page = shown(start="2026-01-01", end="2026-02-28")
    assert counts == {"received": 0, "early": 0, "on_time": 0, "late": 0}
    assert inputs == {"start": "2026-01-01", "end": "2026-02-28"}
    assert "01/01/2026 – 28/02/2026" in page.content.decode()
    assert [bar["month"] for bar in page.context["chart"]["bars"]] == [
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    # March: all five received, two finished (early on the 10th, on time on the 23rd).
    counts, inputs, _page = shown(start="2026-03-01", end="2026-03-31")
    assert counts == {"received": 5, "early": 1, "on_time": 1, "late": 0}
    # April: the late one, finished on the 2nd.
    counts, inputs, _page = shown(start="2026-04-01", end="2026-04-30")
    assert counts == {"received": 0, "early": 0, "on_time": 0, "late": 1}
    # Dates typed backwards are put in order, in the counts and in the inputs.
    counts, inputs, _page = shown(start="2026-03-31", end="2026-03-01")
    assert counts == {"received": 5, "early": 1, "on_time": 1, "late": 0}
    assert inputs == {"start": "2026-03-01", "end": "2026-03-31"}
    # Nothing asked: the inputs show the default period, the twelve months to today.
    counts, inputs, _page = shown()
    assert inputs == {"start": "2025-05-01", "end": "2026-04-15"}
    assert counts["received"] == 5
    # A start alone: the end is today, and shown so.
    _counts, inputs, _page = shown(start="2026-04-01")
    assert inputs == {"start": "2026-04-01", "end": "2026-04-15"}
    # The exports and the service index count the same period.
    export = get(client, export="csv", table="summary", start="2026-01-01", end="2026-02-28")
    assert 'filename="motcua-summary-2026-01-01-2026-02-28.csv"' in export["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert number(rows[1][1]) == 0
    index = client.get(
        reverse("workspace:service_index"), {"start": "2026-03-01", "end": "2026-03-31"}
    )
    metrics = {m.key: m for m in index.context["sections"][0][1]}
    assert metrics["digitised_components"].denominator == 5
    index = client.get(
        reverse("workspace:service_index"), {"start": "2026-01-01", "end": "2026-02-28"}
    )
    metrics = {m.key: m for m in index.context["sections"][0][1]}
    assert metrics["digitised_components"].denominator == 0
    assert 'value="2026-01-01"' in index.content.decode()


def _export(client, table, fmt):
    response = get(client, export=fmt, table=table)
    assert response.status_code == 200
    if fmt == "csv":
        assert response["Content-Type"] == "text/csv; charset=utf-8"
        assert response.content.startswith("\ufeff".encode())  # Excel reads it as UTF-8
        return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.title == table
    return [list(row) for row in sheet.iter_rows(values_only=True)]


@time_machine.travel(at(2026, 4, 15), tick=False)
@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_export_cell_by_cell(client, two_provinces, catalog, procedure, fmt):
    from django.utils import translation

    from workspace.dashboard import COLUMNS

    supervisor = make_officer("supervisor", Agency.objects.get(code="G16"))
    sign_in(client, supervisor)
    with translation.override("vi"):
        header = ["Phân loại", *(str(label) for _key, label in COLUMNS)]
        header += ["Tỷ lệ đúng hạn", "Số ngày làm việc trung bình", "Phân vị 90 (p90)"]
    h22 = Agency.objects.get(code="H22")
    h23 = Agency.objects.get(code="H23")
    version = procedure.current_version
    # received, in progress, early, on time, late, overdue now; rate %, average, p90.
    h22_numbers = [5, 1, 1, 1, 1, 1, 50.0, 14.7, 23.0]
    h23_numbers = [1, 1, 0, 0, 0, 1, 0.0, None, None]  # in review, overdue since 24 March
    all_numbers = [6, 2, 1, 1, 1, 2, 40.0, 14.7, 23.0]  # (1+1+0) ÷ (3 + 2)
    expected = {
        "summary": [["Tất cả", *all_numbers]],
        "procedure": [[f"{procedure.code} {version.name}", *all_numbers]],
        "agency": [[f"H22 {h22.name}", *h22_numbers], [f"H23 {h23.name}", *h23_numbers]],
    }
    for table, rows in expected.items():
        got = _export(client, table, fmt)
        assert got[0] == header, table
        assert len(got) == 1 + len(rows), (table, got)
        for line, want in zip(got[1:], rows, strict=True):
            assert line[0] == want[0], table
            cells = [None if cell in ("", None) else number(cell) for cell in line[1:]]
            assert cells == want[1:], (table, want[0])
            if fmt == "xlsx":  # numbers, not text, so that a spreadsheet sums them
                assert all(isinstance(c, int) for c in line[1:7]), (table, line)


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_the_officer_export_cell_by_cell(client, procedure, province, citizen, officers, fmt):
    from tests.conftest import new_draft
    from workflows.models import DossierTask
    from workflows.services import work

    officers["reception"].first_name = "Lò Văn Páo"
    officers["reception"].save()
    with time_machine.travel(at(2026, 3, 2), tick=False):
        for _ in range(2):
            dossier = work.application_submit(
                dossier=new_draft(procedure, province, citizen), by=citizen
            )
            task = DossierTask.objects.get(dossier=dossier, stage="reception")
            work.task_claim(task=task, by=officers["reception"])
            work.task_complete(task=task, by=officers["reception"], action="accept")
        task = DossierTask.objects.get(dossier=dossier, stage="review")
        work.task_claim(task=task, by=officers["specialist"])
        work.task_complete(
            task=task,
            by=officers["specialist"],
            action="propose",
            form={"decision": "approve", "opinion": "Đủ điều kiện"},
        )
    with time_machine.travel(at(2026, 4, 15), tick=False):
        sign_in(client, officers["head"])
        got = _export(client, "officer", fmt)
    assert got[0] == ["Phân loại", "Số bước đã xử lý", "Trước hạn", "Đúng hạn", "Quá hạn"]
    specialist = officers["specialist"].username
    rows = sorted([line[0], *(number(c) for c in line[1:])] for line in got[1:])
    assert rows == sorted([["Lò Văn Páo", 2, 2, 0, 0], [specialist, 1, 1, 0, 0]])


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_the_chart_has_a_visible_legend(client, history, officers):
    sign_in(client, officers["head"])
    html = get(client).content.decode()
    legend = re.search(r'<ul class="legend" id="trend-legend">(.*?)</ul>', html, re.S)
    assert legend, "no legend beside the chart"
    items = re.sub(r"<[^>]+>", "|", legend.group(1))
    words = [w.strip() for w in items.split("|") if w.strip()]
    # The colours' meaning in words, and the scale: the tallest bar is March's 5.
    assert words == ["Đã tiếp nhận", "Đã giải quyết", "Cột cao nhất: 5 hồ sơ"]
    assert 'class="swatch received"' in legend.group(1)
    assert 'class="swatch finished"' in legend.group(1)
    assert 'aria-describedby="trend-legend"' in html
