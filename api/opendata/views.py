"""/open-data/: the open statistics as a page (HTML with a server-drawn SVG chart), JSON and
CSV; public, cached, with validators for conditional requests. The figures come from
``selectors.cached_statistics``, already protected; these views only check the query
and present them."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.cache import get_conditional_response, patch_cache_control, patch_vary_headers
from django.utils.dateparse import parse_datetime
from django.utils.formats import number_format
from django.utils.http import http_date
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_safe

from config.bounds import MAX_DATE, MIN_DATE

from . import selectors
from .selectors import MAX_MONTHS, SMALL, WITHHELD, Query

FORMATS = ("html", "json", "csv")
MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Agency identifiers ("H22.01") and national procedure codes ("1.012841"): letters,
# digits, dots, dashes and underscores.
CODE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MAX_HTML_ROWS = 1000  # the page shows this many rows; the downloads have them all

# The published fields, in order: the JSON keys (stable, English) and the CSV header.
FIELDS = [
    ("month", gettext_lazy("Month"), "string YYYY-MM",
     gettext_lazy("Month of reception (Vietnam time).")),
    ("agency_code", gettext_lazy("Agency code"), "string",
     gettext_lazy("Identifier of the handling agency.")),
    ("agency_name", gettext_lazy("Agency"), "string",
     gettext_lazy("Name of the handling agency.")),
    ("procedure_code", gettext_lazy("Procedure code"), "string",
     gettext_lazy("National code of the procedure.")),
    ("procedure_name", gettext_lazy("Procedure"), "string",
     gettext_lazy("Name of the procedure.")),
    ("received", gettext_lazy("Received"), "count",
     gettext_lazy("Dossiers received in the month (drafts never count).")),
    ("finished_early", gettext_lazy("Finished early"), "count",
     gettext_lazy("Of those, finished with a decision before the appointment date.")),
    ("finished_on_time", gettext_lazy("Finished on time"), "count",
     gettext_lazy("Of those, finished with a decision on the appointment date.")),
    ("finished_late", gettext_lazy("Finished late"), "count",
     gettext_lazy("Of those, finished with a decision after the appointment date.")),
    ("in_progress", gettext_lazy("In progress"), "count",
     gettext_lazy("Of those, still being processed today.")),
    ("other", gettext_lazy("Withdrawn or waiting for the applicant"), "count",
     gettext_lazy("Of those, withdrawn by the applicant or waiting for a supplement.")),
    ("online_share_percent", gettext_lazy("Filed online (%)"), "number or null",
     gettext_lazy("Share of the dossiers received that were filed online, in percent.")),
    ("average_processing_days", gettext_lazy("Average processing time (working days)"),
     "number or null",
     gettext_lazy("Mean working days from reception to decision of the finished dossiers.")),
]  # fmt: skip
# Row keys (selectors) under their published names.
SOURCE = {
    "finished_early": "early",
    "finished_on_time": "on_time",
    "finished_late": "late",
    "online_share_percent": "online_share",
    "average_processing_days": "average_days",
}


class BadQuery(Exception):  # noqa: N818 - the request's fault, answered with a 400
    def __init__(self, errors: dict[str, str]):
        super().__init__(errors)
        self.errors = errors


def _month(data, name: str, errors: dict) -> dt.date | None:
    value = data.get(name, "").strip()
    if not value:
        return None
    match = MONTH.match(value)
    if match:
        year, month = int(match[1]), int(match[2])
        if MIN_DATE.year <= year <= MAX_DATE.year and 1 <= month <= 12:
            return dt.date(year, month, 1)
    errors[name] = _("Write a month as YYYY-MM, for example 2026-03.")
    return None


def parse_query(data) -> Query:
    """The query string as a Query, or BadQuery with a message per parameter."""
    errors: dict[str, str] = {}
    start, end = _month(data, "from", errors), _month(data, "to", errors)
    codes = {}
    for name in ("agency", "procedure"):
        codes[name] = data.get(name, "").strip()
        if codes[name] and not CODE.match(codes[name]):
            errors[name] = _("This is not a code: use letters, digits, dots and dashes.")
    if errors:
        raise BadQuery(errors)
    # Without "to": up to this month (or "from" itself, if later). Without "from": the
    # twelve months that end with "to".
    if end is None:
        end = max(selectors.default_months()[1], start) if start else selectors.default_months()[1]
    if start is None:
        start = selectors.default_months(end)[0]
    if start > end:
        raise BadQuery({"from": _("The first month comes after the last one.")})
    if selectors.month_count(start, end) > MAX_MONTHS:
        raise BadQuery({"to": _("Ask for at most %(n)d months at a time.") % {"n": MAX_MONTHS}})
    return Query(start=start, end=end, agency=codes["agency"], procedure=codes["procedure"])


# The disclosure rules as the page and the JSON metadata state them (selectors' docstring).
RULES = [
    gettext_lazy("Only totals are published: no name, identity number, address or dossier code."),
    gettext_lazy(
        "A count from 1 to 4 is shown as “<5”, so that nobody in a small commune can be "
        "singled out; 0 is shown as 0."
    ),
    gettext_lazy(
        "The counts of a row add up to the dossiers received. Where a “<5” could be worked "
        "out from the other counts, more counts of the row are hidden, shown as “x”, the "
        "smallest first, until no “<5” can be worked out exactly, even by someone who knows "
        "this rule; if that is not enough, the number received is hidden too. In a row of "
        "fewer than 5 dossiers with four different outcomes, every count is hidden."
    ),
    gettext_lazy(
        "The online share is shown only when the number received is shown and neither the "
        "dossiers filed online nor the others are 1 to 4; the average processing time only "
        "when the finished counts shown add up to 5 or more."
    ),
    gettext_lazy(
        "The chart adds up the counts shown in the table: hidden cells count for nothing "
        "there, so a bar can be slightly lower than the true total."
    ),
]


def _license() -> dict:
    options = settings.MOTCUA.get("OPEN_DATA", {})
    return {
        "name": options.get("LICENSE_NAME", "CC BY 4.0"),
        "url": options.get("LICENSE_URL", "https://creativecommons.org/licenses/by/4.0/"),
    }


def _publisher(payload: dict) -> str:
    return settings.MOTCUA.get("OPEN_DATA", {}).get("PUBLISHER") or payload["publisher"]


@require_safe
def statistics(request, fmt: str = ""):
    """The page, or a download: ``fmt`` from the URL (statistics.json, statistics.csv), else
    ``?format=json`` or ``?format=csv`` here."""
    return _answer(request, fmt or request.GET.get("format", "").strip() or "html")


def _answer(request, fmt: str):
    language = request.GET.get("lang", "").strip()
    if fmt not in FORMATS:
        return _bad(request, "html", {"format": _("Choose html, json or csv.")})
    if language and language not in dict(settings.LANGUAGES):
        return _bad(request, fmt, {"lang": _("Choose vi or en.")})
    with translation.override(language or translation.get_language()):
        response = _answer_in_language(request, fmt, bool(language))
        response["Content-Language"] = translation.get_language()
    return response


def _answer_in_language(request, fmt: str, language_in_query: bool):
    try:
        query = parse_query(request.GET)
    except BadQuery as bad:
        return _bad(request, fmt, bad.errors)
    payload = selectors.cached_statistics(query)
    if "unknown" in payload:
        messages = {
            "agency": _("No agency has this code."),
            "procedure": _("No procedure has this code."),
        }
        return _bad(request, fmt, {payload["unknown"]: messages[payload["unknown"]]})
    generated_at = parse_datetime(payload["generated_at"])
    # One computation, one representation: the cached payload's key and time, the format
    # and the language; the page also depends on who is logged in (the header).
    user = request.user.pk if fmt == "html" and request.user.is_authenticated else 0
    tag = f"{query.cache_key(translation.get_language())}|{payload['generated_at']}|{fmt}|{user}"
    etag = '"' + hashlib.sha256(tag.encode()).hexdigest()[:32] + '"'
    last_modified = int(generated_at.timestamp())
    response = get_conditional_response(request, etag=etag, last_modified=last_modified)
    if response is None:
        response = {"html": _page, "json": _json, "csv": _csv}[fmt](request, query, payload)
    response["ETag"] = etag
    response["Last-Modified"] = http_date(last_modified)
    # The downloads are the same for everyone: any cache may keep them. The page carries
    # the visitor's CSRF token (the language switch, the logout button): browsers only.
    public = fmt != "html"
    patch_cache_control(
        response, public=public, private=not public, max_age=selectors.CACHE_SECONDS
    )
    if not language_in_query:
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


def _bad(request, fmt: str, errors: dict[str, str]):
    """A 400 that says which parameter is wrong and why, in the visitor's language."""
    if fmt == "json":
        return JsonResponse(
            {"errors": errors}, status=400, json_dumps_params={"ensure_ascii": False}
        )
    if fmt == "csv":
        text = "\n".join(f"{name}: {message}" for name, message in errors.items())
        return HttpResponse(text + "\n", status=400, content_type="text/plain; charset=utf-8")
    return render(request, "opendata/bad_query.html", {"errors": errors.items()}, status=400)


def _published(row: dict, key: str):
    return row[SOURCE.get(key, key)]


def _json(request, query: Query, payload: dict) -> JsonResponse:
    body = {
        "metadata": {
            "title": _("Open statistics of administrative dossiers"),
            "publisher": _publisher(payload),
            "license": _license(),
            "generated_at": payload["generated_at"],
            "language": translation.get_language(),
            "source": request.build_absolute_uri(reverse("opendata:index")),
            "query": {
                "from": query.start.strftime("%Y-%m"),
                "to": query.end.strftime("%Y-%m"),
                "agency": query.agency or None,
                "procedure": query.procedure or None,
            },
            "suppression": {
                "threshold": selectors.THRESHOLD,
                "small": SMALL,
                "withheld": WITHHELD,
                "rules": [str(rule) for rule in RULES],
            },
            "fields": [
                {"name": key, "title": str(title), "type": kind, "description": str(text)}
                for key, title, kind, text in FIELDS
            ],
        },
        "rows": [{key: _published(row, key) for key, *_rest in FIELDS} for row in payload["rows"]],
    }
    return JsonResponse(body, json_dumps_params={"ensure_ascii": False, "indent": 1})


def _csv(request, query: Query, payload: dict) -> HttpResponse:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([str(title) for _key, title, *_rest in FIELDS])
    for row in payload["rows"]:
        writer.writerow(
            ["" if (v := _published(row, key)) is None else v for key, *_rest in FIELDS]
        )
    # The byte-order mark makes Excel read the file as UTF-8 (Vietnamese names).
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    name = f"motcua-open-data-{query.start:%Y-%m}-{query.end:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


# The chart's series: key in selectors.monthly, legend, colour (presentation attributes:
# the CSP allows no inline style).
SERIES = [
    ("received", gettext_lazy("Received"), "#0b4f9c"),
    ("in_time", gettext_lazy("Finished early or on time"), "#1b7a3a"),
    ("late", gettext_lazy("Finished late"), "#b3261e"),
]
BAR, GAP, GROUP, BASELINE, HEIGHT = 14, 2, 60, 190, 150


def chart(months: list[dict]) -> dict:
    """Geometry of the server-drawn bar chart: one group of bars per month."""
    peak = max([1] + [m[key] for m in months for key, _l, _c in SERIES])
    groups = []
    for index, month in enumerate(months):
        x = 50 + index * GROUP
        bars = []
        for position, (key, label, colour) in enumerate(SERIES):
            height = round(HEIGHT * month[key] / peak)
            bars.append(
                {
                    "x": x + position * (BAR + GAP),
                    "y": BASELINE - height,
                    "height": height,
                    "value": month[key],
                    "label": label,
                    "colour": colour,
                }
            )
        groups.append({"month": month["month"], "x": x, "bars": bars})
    legend = [
        {"x": 50 + index * 190, "label": label, "colour": colour}
        for index, (_key, label, colour) in enumerate(SERIES)
    ]
    width = max(60 + GROUP * len(months), 50 + 190 * len(SERIES))
    return {"groups": groups, "legend": legend, "peak": peak, "width": width}


def _cell(value, decimals: bool = False) -> dict:
    if value is None:
        return {"text": "—", "kind": "none"}
    if value == SMALL:
        return {"text": SMALL, "kind": "small"}
    if value == WITHHELD:
        return {"text": WITHHELD, "kind": "withheld"}
    if decimals:
        return {"text": number_format(value, 1, use_l10n=True), "kind": "number"}
    return {"text": str(value), "kind": "number"}


def _cells(row: dict) -> list[dict]:
    cells = [_cell(row[key]) for key in ("received", *selectors.PARTS)]
    cells += [_cell(row["online_share"], True), _cell(row["average_days"], True)]
    for cell, (_key, title, *_rest) in zip(cells, FIELDS[5:], strict=True):
        cell["title"] = title
    return cells


def _page(request, query: Query, payload: dict):
    rows = [
        {
            "month": dt.date(int(row["month"][:4]), int(row["month"][5:]), 1),
            "agency_code": row["agency_code"],
            "agency_name": row["agency_name"],
            "procedure_code": row["procedure_code"],
            "procedure_name": row["procedure_name"],
            "cells": _cells(row),
        }
        for row in payload["rows"][:MAX_HTML_ROWS]
    ]
    downloads = {"from": query.start.strftime("%Y-%m"), "to": query.end.strftime("%Y-%m")}
    downloads.update(
        {k: v for k, v in (("agency", query.agency), ("procedure", query.procedure)) if v}
    )
    downloads["lang"] = translation.get_language()
    return render(
        request,
        "opendata/statistics.html",
        {
            "query": query,
            "rows": rows,
            "truncated": len(payload["rows"]) > MAX_HTML_ROWS,
            "total_rows": len(payload["rows"]),
            "max_rows": MAX_HTML_ROWS,
            "headers": [title for _key, title, *_rest in FIELDS[5:]],
            "fields": FIELDS,
            "chart": chart(payload["months"]),
            "series": SERIES,
            "months": payload["months"],
            "agencies": payload["agencies"],
            "procedures": payload["procedures"],
            "download_query": urlencode(downloads),
            "generated_at": parse_datetime(payload["generated_at"]),
            "rules": RULES,
            "small": SMALL,
            "withheld": WITHHELD,
            "publisher": _publisher(payload),
            "license": _license(),
            "report": {"on_replica": payload["on_replica"]},
        },
    )
