"""Open statistics at /open-data/: exact cells, the "<5" rule and what it must not leak,
CSV, JSON, the page in both languages, filters, errors, cache and validators, and no
personal data anywhere."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.opendata import selectors
from api.opendata.selectors import PARTS, SMALL, WITHHELD, protect
from api.opendata.views import FIELDS
from tests.conftest import APPLICANT, complete_stage, new_draft, walk_to
from workflows.models import Dossier, Status
from workflows.services import work

VN = ZoneInfo("Asia/Ho_Chi_Minh")
MARCH_APRIL = {"from": "2026-03", "to": "2026-04"}


def at(y, m, d, hh=9):
    return dt.datetime(y, m, d, hh, tzinfo=VN)


def counts(**parts) -> dict:
    row = dict.fromkeys(PARTS, 0) | parts
    row["received"] = sum(row[p] for p in PARTS)
    return row


# --- The rule itself ---------------------------------------------------------------------


def test_counts_of_five_and_more_are_exact_and_derived_figures_shown():
    row = protect(counts(early=5, late=7, in_progress=0), online=6, days_n=12, days_avg=7.25)
    assert row == {
        "received": 12,
        "early": 5,
        "on_time": 0,
        "late": 7,
        "in_progress": 0,
        "other": 0,
        "online_share": 50.0,
        "average_days": 7.2,  # rounded half to even on 7.25: one decimal
    }


def test_a_small_row_hides_its_counts_and_every_derived_figure():
    row = protect(counts(in_progress=2, other=1), online=3, days_n=0, days_avg=None)
    assert row == {
        "received": SMALL,
        "early": 0,
        "on_time": 0,
        "late": 0,
        "in_progress": SMALL,
        "other": SMALL,
        "online_share": None,
        "average_days": None,
    }
    # Finished ones in a small row: the average of 1 to 4 dossiers is not published.
    row = protect(counts(early=3), online=0, days_n=3, days_avg=4.0)
    assert row["received"] == SMALL and row["average_days"] is None
    # Four outcomes among four dossiers would make each exactly 1: all withheld.
    row = protect(counts(early=1, on_time=1, late=1, other=1), online=0, days_n=3, days_avg=2)
    assert [row[p] for p in PARTS] == [WITHHELD] * 5 and row["received"] == SMALL


def test_a_small_cell_is_not_left_alone_to_be_subtracted():
    # received 10 = 8 in progress + 2 withdrawn: "2" would be 10 - 8. The next smallest
    # count is withheld too; 10 = x + "<5" leaves the small one anywhere in 1..4.
    row = protect(counts(in_progress=8, other=2), online=10, days_n=0, days_avg=None)
    assert [row["received"], *(row[p] for p in PARTS)] == [10, 0, 0, 0, WITHHELD, SMALL]
    # 12 = 5 early + 5 in progress + 2 other: withholding the 5s still pins other to 1..2,
    # so the total goes too.
    row = protect(counts(early=5, in_progress=5, other=2), online=12, days_n=5, days_avg=3)
    assert row["received"] == WITHHELD
    assert (row["early"], row["in_progress"], row["other"]) == (WITHHELD, WITHHELD, SMALL)
    assert row["online_share"] is None and row["average_days"] is None


def test_derived_figures_do_not_reveal_small_numbers():
    # 3 of 12 online: 25 % of 12 would give 3 back.
    assert (
        protect(counts(in_progress=12), online=3, days_n=0, days_avg=None)["online_share"] is None
    )
    # 9 of 12 online: 12 - 9 = 3 at the desk.
    assert (
        protect(counts(in_progress=12), online=9, days_n=0, days_avg=None)["online_share"] is None
    )
    assert protect(counts(in_progress=12), online=0, days_n=0, days_avg=None)["online_share"] == 0
    assert (
        protect(counts(in_progress=12), online=12, days_n=0, days_avg=None)["online_share"] == 100
    )
    # 2 + 3 finished, hidden: an average shown would tell the hidden ones add up to 5+.
    row = protect(counts(early=2, on_time=3, in_progress=9), online=0, days_n=5, days_avg=6)
    assert row["early"] == SMALL and row["average_days"] is None


def _compositions(total: int, parts: int):
    if parts == 1:
        yield (total,)
        return
    for first in range(total + 1):
        for rest in _compositions(total - first, parts - 1):
            yield (first, *rest)


def test_no_small_cell_can_be_worked_out_by_someone_who_knows_the_rule():
    """Every row of up to 14 dossiers, grouped by what is published: within each group a
    "<5" cell must take at least two values (the reader cannot tell which row it was)."""
    groups = collections.defaultdict(list)
    for total in range(1, 15):
        for split in _compositions(total, len(PARTS)):
            row = counts(**dict(zip(PARTS, split, strict=True)))
            shown = protect(row, online=0, days_n=0, days_avg=None)
            groups[tuple(shown[k] for k in ("received", *PARTS))].append(row)
    checked = 0
    for published, rows in groups.items():
        if published[0] == WITHHELD and max(r["received"] for r in rows) > 6:
            continue  # the total is hidden: rows past 14 would belong here too
        for index, part in enumerate(PARTS, start=1):
            if published[index] == SMALL:
                assert len({r[part] for r in rows}) > 1, (published, part)
                checked += 1
    assert checked > 1000


# --- Through the pages -------------------------------------------------------------------


@pytest.fixture
def cohorts(procedure, province, other_province, citizen, officers, outsiders):
    """H22, March 2026: 5 filed at the desk and issued early on 10 March (6 working days
    each), 6 filed online still in review. H22, April: 2 in review, 1 withdrawn after
    reception. H23, March: 1 in review. Never counted: a draft, a discarded draft, and a
    dossier submitted but not yet received."""
    made = collections.defaultdict(list)
    with time_machine.travel(at(2026, 3, 2), tick=False):
        for _n in range(5):
            made["early"].append(
                walk_to(Status.APPROVED, procedure, province, citizen, officers, desk=True)
            )
        for _n in range(6):
            made["open"].append(walk_to(Status.IN_REVIEW, procedure, province, citizen, officers))
        made["other"].append(
            walk_to(Status.IN_REVIEW, procedure, other_province, citizen, outsiders)
        )
        made["uncounted"] += [
            new_draft(procedure, province, citizen),
            walk_to(Status.DISCARDED, procedure, province, citizen, officers),
            walk_to(Status.SUBMITTED, procedure, province, citizen, officers),
        ]
    with time_machine.travel(at(2026, 3, 10), tick=False):
        for dossier in made["early"]:  # signed, so issued, on 10 March
            complete_stage(dossier, "sign", officers["signer"])
    with time_machine.travel(at(2026, 4, 6), tick=False):
        for _n in range(3):
            made["april"].append(walk_to(Status.IN_REVIEW, procedure, province, citizen, officers))
        work.application_withdraw(dossier=made["april"][-1], by=citizen)
    return made


MARCH_H22 = {
    "month": "2026-03",
    "agency_code": "H22",
    "procedure_code": "1.012841",
    "received": 11,
    "finished_early": 5,
    "finished_on_time": 0,
    "finished_late": 0,
    "in_progress": 6,
    "other": 0,
    "online_share_percent": 54.5,  # 6 of 11
    "average_processing_days": 6.0,
}
MARCH_H23 = {
    "month": "2026-03",
    "agency_code": "H23",
    "procedure_code": "1.012841",
    "received": SMALL,
    "finished_early": 0,
    "finished_on_time": 0,
    "finished_late": 0,
    "in_progress": SMALL,
    "other": 0,
    "online_share_percent": None,
    "average_processing_days": None,
}
APRIL_H22 = MARCH_H23 | {"month": "2026-04", "agency_code": "H22", "other": SMALL}


def _numbers(row: dict) -> dict:
    return {k: row[k] for k in MARCH_H22}


def get_json(client, **params):
    return client.get(reverse("opendata:json"), {**MARCH_APRIL, **params})


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_json_cells_and_schema(client, cohorts):
    response = get_json(client)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert [_numbers(row) for row in body["rows"]] == [MARCH_H22, MARCH_H23, APRIL_H22]
    # The documented keys, in order, in every row; names as published in the catalog.
    assert [f["name"] for f in body["metadata"]["fields"]] == [key for key, *_r in FIELDS]
    assert all(list(row) == [key for key, *_r in FIELDS] for row in body["rows"])
    assert body["rows"][0]["agency_name"] == "Ban Dân tộc tỉnh Lào Cai"
    assert body["rows"][0]["procedure_name"] == (
        Dossier.objects.filter(code__isnull=False).first().procedure_version.name
    )
    metadata = body["metadata"]
    assert set(metadata) == {
        "title",
        "publisher",
        "license",
        "generated_at",
        "language",
        "source",
        "query",
        "suppression",
        "fields",
    }
    assert metadata["publisher"] == "Bộ Dân tộc và Tôn giáo"
    assert metadata["license"]["url"].startswith("https://creativecommons.org/")
    assert metadata["query"] == {
        "from": "2026-03",
        "to": "2026-04",
        "agency": None,
        "procedure": None,
    }
    assert metadata["suppression"]["threshold"] == 5 and metadata["suppression"]["small"] == "<5"
    assert dt.datetime.fromisoformat(metadata["generated_at"]) == at(2026, 4, 15)
    assert metadata["language"] == "vi" and "<5" in " ".join(metadata["suppression"]["rules"])
    english = get_json(client, lang="en").json()
    assert english["metadata"]["language"] == "en"
    assert english["rows"][0]["agency_name"] == "Lao Cai Provincial Ethnic Committee"
    assert english["metadata"]["fields"][5]["title"] == "Received"


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_csv_cell_by_cell_with_a_byte_order_mark(client, cohorts):
    response = client.get(reverse("opendata:csv"), MARCH_APRIL)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response.content.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, for Excel
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8")[1:])))
    assert rows[0][:6] == [
        "Tháng",
        "Mã cơ quan",
        "Cơ quan",
        "Mã thủ tục",
        "Thủ tục",
        "Đã tiếp nhận",
    ]
    assert len(rows) == 4
    numbers = [[r[0], r[1], r[3], *r[5:]] for r in rows[1:]]
    assert numbers == [
        ["2026-03", "H22", "1.012841", "11", "5", "0", "0", "6", "0", "54.5", "6.0"],
        ["2026-03", "H23", "1.012841", "<5", "0", "0", "0", "<5", "0", "", ""],
        ["2026-04", "H22", "1.012841", "<5", "0", "0", "0", "<5", "<5", "", ""],
    ]
    assert rows[1][2] == "Ban Dân tộc tỉnh Lào Cai"
    english = client.get(reverse("opendata:index"), {**MARCH_APRIL, "format": "csv", "lang": "en"})
    header = next(csv.reader(io.StringIO(english.content.decode("utf-8-sig"))))
    assert header[:6] == [
        "Month",
        "Agency code",
        "Agency",
        "Procedure code",
        "Procedure",
        "Received",
    ]
    assert english.content.decode("utf-8-sig").count("\n") == 4


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_the_page_in_vietnamese_and_english_with_a_chart(client, cohorts):
    page = client.get(reverse("opendata:index"), MARCH_APRIL)
    assert page.status_code == 200
    html = page.content.decode()
    assert '<html lang="vi">' in html and "Thống kê mở" in html
    assert "54,5" in html and "6,0" in html  # decimal comma
    assert "15/04/2026" in html  # generated at, dd/mm/yyyy
    assert "<script" not in html.lower()
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)
    assert '<title id="chart-title">' in svg and "<desc" in svg and 'role="img"' in svg
    assert "style=" not in svg  # the CSP allows no inline style
    months = page.context["months"]
    # Bars add up the published cells only: March's "<5" of H23 is not in them.
    assert [(m["received"], m["in_time"], m["late"]) for m in months] == [(11, 5, 0), (0, 0, 0)]
    rows = page.context["rows"]
    assert [c["text"] for c in rows[0]["cells"]] == ["11", "5", "0", "0", "6", "0", "54,5", "6,0"]
    assert [c["text"] for c in rows[2]["cells"]] == ["<5", "0", "0", "0", "<5", "<5", "—", "—"]
    assert reverse("opendata:csv") in html and reverse("opendata:json") in html
    client.cookies["django_language"] = "en"
    english = client.get(reverse("opendata:index"), MARCH_APRIL).content.decode()
    assert '<html lang="en">' in english and "Open statistics" in english
    assert "54.5" in english and "Lao Cai Provincial Ethnic Committee" in english
    # Found from every page: the footer links to it.
    assert reverse("opendata:index") in client.get(reverse("portal:home")).content.decode()


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_filters(client, cohorts):
    def rows(**params):
        return [(r["month"], r["agency_code"]) for r in get_json(client, **params).json()["rows"]]

    assert rows(agency="H23") == [("2026-03", "H23")]
    assert rows(agency="H22") == [("2026-03", "H22"), ("2026-04", "H22")]
    assert len(rows(agency="G16")) == 3  # an agency and the units under it
    assert rows(**{"from": "2026-04"}) == [("2026-04", "H22")]
    assert rows(to="2026-03") == [("2026-03", "H22"), ("2026-03", "H23")]
    assert len(rows(procedure="1.012841")) == 3
    other = Dossier.objects.exclude(procedure_version__procedure__code="1.012841")
    assert not other.exists()
    from procedures.models import Procedure

    unused = Procedure.objects.exclude(code="1.012841").first()
    assert rows(procedure=unused.code) == []
    # Without a range: the last twelve months, this one included.
    metadata = client.get(reverse("opendata:json")).json()["metadata"]
    assert metadata["query"]["from"] == "2025-05" and metadata["query"]["to"] == "2026-04"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "2026-13"}, "from"),
        ({"from": "March"}, "from"),
        ({"to": "2026-3"}, "to"),
        ({"from": "99999-01"}, "from"),
        ({"from": "2026-05", "to": "2026-04"}, "from"),
        ({"from": "2020-01", "to": "2026-04"}, "to"),  # more than 36 months
        ({"agency": "H22'; DROP"}, "agency"),
        ({"agency": "Z99"}, "agency"),
        ({"procedure": "9.999999"}, "procedure"),
        ({"lang": "fr"}, "lang"),
    ],
)
@time_machine.travel(at(2026, 4, 15), tick=False)
def test_bad_filters_are_a_clear_400(client, catalog, params, field):
    response = client.get(reverse("opendata:json"), params)
    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    page = client.get(reverse("opendata:index"), params)
    assert page.status_code == 400 and "<code>" + field + "</code>" in page.content.decode()
    assert "Không thể hiểu yêu cầu" in page.content.decode()
    assert client.get(reverse("opendata:csv"), params).status_code == 400


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_errors_speak_the_visitors_language(client, catalog):
    vietnamese = client.get(reverse("opendata:json"), {"from": "2026-13"}).json()
    assert vietnamese["errors"]["from"].startswith("Nhập tháng")
    english = client.get(
        reverse("opendata:json"), {"from": "2026-13"}, HTTP_ACCEPT_LANGUAGE="en"
    ).json()
    assert english["errors"]["from"] == "Write a month as YYYY-MM, for example 2026-03."
    assert client.get(reverse("opendata:index"), {"format": "xml"}).status_code == 400
    assert client.post(reverse("opendata:json")).status_code == 405


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_a_second_request_is_served_from_the_cache(
    client, cohorts, settings, django_assert_num_queries
):
    # The shared cache of a deployment (Redis): nothing read from the database at all.
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "open-data-tests",
        }
    }
    cache.clear()
    first = get_json(client)
    with django_assert_num_queries(0):
        second = get_json(client)
    assert second.content == first.content
    with django_assert_num_queries(0):
        page = client.get(reverse("opendata:index"), MARCH_APRIL)
    assert page.status_code == 200  # the page shares the JSON's computation
    # Ten minutes later the entry has expired: computed again.
    with time_machine.travel(at(2026, 4, 15, 9) + dt.timedelta(minutes=5), tick=False):
        assert get_json(client).content == first.content
    with time_machine.travel(at(2026, 4, 15, 9) + dt.timedelta(minutes=11), tick=False):
        later = get_json(client).json()["metadata"]["generated_at"]
    assert dt.datetime.fromisoformat(later) == at(2026, 4, 15, 9) + dt.timedelta(minutes=11)


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_with_the_database_as_the_cache_a_hit_reads_only_the_cache(client, cohorts):
    get_json(client)
    with CaptureQueriesContext(connection) as queries:
        get_json(client)
    assert len(queries) == 1 and "motcua_cache" in queries[0]["sql"]


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_cache_headers_and_conditional_requests(client, cohorts):
    response = get_json(client)
    assert "public" in response["Cache-Control"] and "max-age=600" in response["Cache-Control"]
    etag, modified = response["ETag"], response["Last-Modified"]
    assert etag and modified == "Wed, 15 Apr 2026 02:00:00 GMT"
    url = reverse("opendata:json")
    not_modified = client.get(url, MARCH_APRIL, headers={"if-none-match": etag})
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag and "public" in not_modified["Cache-Control"]
    assert client.get(url, MARCH_APRIL, headers={"if-modified-since": modified}).status_code == 304
    assert client.get(url, MARCH_APRIL, headers={"if-none-match": '"other"'}).status_code == 200
    # Each representation has its own validator.
    assert get_json(client, lang="en")["ETag"] != etag
    csv_response = client.get(reverse("opendata:csv"), MARCH_APRIL)
    assert csv_response["ETag"] != etag and "public" in csv_response["Cache-Control"]
    # The page carries the visitor's CSRF token (language switch): browsers only.
    page = client.get(reverse("opendata:index"), MARCH_APRIL)
    assert "private" in page["Cache-Control"] and "max-age=600" in page["Cache-Control"]
    assert "Accept-Language" in page["Vary"]


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_nothing_personal_is_published(client, cohorts, citizen, officers):
    bodies = [
        get_json(client).content.decode(),
        client.get(reverse("opendata:csv"), MARCH_APRIL).content.decode("utf-8-sig"),
        client.get(reverse("opendata:index"), MARCH_APRIL).content.decode(),
    ]
    codes = list(Dossier.objects.exclude(code=None).values_list("code", flat=True))
    secrets = [s for s in Dossier.objects.values_list("lookup_secret", flat=True) if s]
    assert len(codes) >= 15
    personal = [*APPLICANT.values(), *codes, *secrets, citizen.username]
    personal += [officer.username for officer in officers.values()]
    for body in bodies:
        for value in personal:
            assert value not in body, value
        assert not re.search(r"\b\d{12}\b", body)  # no ID number of any shape


def test_month_arithmetic():
    assert selectors.month_count(dt.date(2024, 1, 1), dt.date(2026, 12, 1)) == 36
    months = selectors.Query(dt.date(2025, 11, 1), dt.date(2026, 2, 1)).months
    assert months == [
        dt.date(2025, 11, 1),
        dt.date(2025, 12, 1),
        dt.date(2026, 1, 1),
        dt.date(2026, 2, 1),
    ]
    assert selectors.default_months(dt.date(2026, 1, 31)) == (
        dt.date(2025, 2, 1),
        dt.date(2026, 1, 1),
    )


# --- The same figures over the API (scope statistics:read): exact, for the client's agencies.


@time_machine.travel(at(2026, 4, 15), tick=False)
def test_the_api_gives_exact_figures_for_the_clients_agencies(cohorts, province, other_province):
    from .conftest import Api, make_api_client

    _client, key = make_api_client(province, ["statistics:read"])
    api = Api(key)
    body = api.get("/api/v1/statistics/", MARCH_APRIL).json()
    assert body["start"] == "2026-03" and body["end"] == "2026-04"
    rows = {(r["month"], r["agency"]): r for r in body["rows"]}
    # H23 is another province's: not there.
    assert set(rows) == {("2026-03", "H22"), ("2026-04", "H22")}
    march, april = rows[("2026-03", "H22")], rows[("2026-04", "H22")]
    assert march | {"average_processing_days": None} == {
        "month": "2026-03",
        "agency": "H22",
        "procedure": "1.012841",
        "received": 11,
        "early": 5,
        "on_time": 0,
        "late": 0,
        "in_progress": 6,
        "other": 0,
        "online": 6,
        "average_processing_days": None,
    }
    assert march["average_processing_days"] == 6.0
    # Small numbers are exact here (no "<5"): 3 received, 2 in progress, 1 withdrawn.
    assert (april["received"], april["in_progress"], april["other"]) == (3, 2, 1)
    assert (
        api.get("/api/v1/statistics/", {**MARCH_APRIL, "agency": other_province.code}).status_code
        == 404
    )
    bad = api.get("/api/v1/statistics/", {"from": "2026-13"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "from"
    assert api.get("/api/v1/statistics/", {"procedure": "9.999999"}).status_code == 400
    _other, wrong = make_api_client(province, ["catalog:read"])
    assert Api(wrong).get("/api/v1/statistics/").status_code == 403
