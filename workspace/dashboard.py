"""The supervisor's dashboard: time limits kept over the agency subtree, for a period;
every number drills down to its dossiers; every table exports as CSV or XLSX."""

from __future__ import annotations

import csv
import io

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from config import replica
from config.bounds import BoundedDateField, query_id
from procedures.models import Agency, Procedure
from workflows import supervision
from workflows.clock import working_calendar
from workflows.models import Dossier

from .views import officer_required

TABLES = ("summary", "procedure", "agency", "officer")
COLUMNS = [
    ("received", gettext_lazy("Received")),
    ("in_progress", gettext_lazy("In progress")),
    ("early", gettext_lazy("Finished early")),
    ("on_time", gettext_lazy("Finished on time")),
    ("late", gettext_lazy("Finished late")),
    ("overdue", gettext_lazy("Overdue now")),
]
OFFICER_COLUMNS = [
    ("done", gettext_lazy("Stages done")),
    ("early", gettext_lazy("Early")),
    ("on_time", gettext_lazy("On time")),
    ("late", gettext_lazy("Late")),
]


class PeriodForm(forms.Form):
    start = BoundedDateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    end = BoundedDateField(
        label=gettext_lazy("To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def period(self) -> supervision.Period:
        default = supervision.Period.last_twelve_months()
        if not self.is_valid():
            return default
        start = self.cleaned_data["start"] or default.start
        end = self.cleaned_data["end"] or default.end
        return supervision.Period(min(start, end), max(start, end))

    def showing(self, period: supervision.Period) -> PeriodForm:
        """The form to show: its inputs hold the period in use (the default one when none
        was asked, a missing end filled in, dates given backwards put in order). A form
        with errors is shown as typed, with them."""
        if self.is_bound and not self.is_valid():
            return self
        return PeriodForm(initial={"start": period.start, "end": period.end})


def _tables(scope: list[int], period):
    """The breakdowns of the dossiers handled by the agencies ``scope`` (ids)."""
    dossiers = Dossier.objects.filter(handling_agency_id__in=scope)
    procedures = {
        p.pk: f"{p.code} {p.current_version.name if p.current_version else ''}".strip()
        for p in Procedure.objects.select_related("current_version")
    }
    agencies = {a.pk: f"{a.code} {a.name}" for a in Agency.objects.all()}
    return {
        "summary": supervision.table(dossiers, period, None, {"": _("All")}),
        "procedure": supervision.table(
            dossiers, period, "procedure_version__procedure", procedures
        ),
        "agency": supervision.table(dossiers, period, "handling_agency", agencies),
        "officer": supervision.officer_table(scope, period),
    }


def _cells(tables: dict, drill: str) -> None:
    """Each row's cells as (number, drill-down address), made here once rather than by a
    URL reversal and a search of the row's counts per cell in the template (most of the
    page's rendering time with fifty procedures)."""
    for name, rows in tables.items():
        columns = OFFICER_COLUMNS if name == "officer" else COLUMNS
        for row in rows:
            if name == "officer":
                links = [f"{drill}&metric=stage_{key}&officer={row.key}" for key, _l in columns]
            else:
                extra = {"procedure": f"&procedure={row.key}", "agency": f"&agency={row.key}"}
                links = [f"{drill}&metric={key}{extra.get(name, '')}" for key, _l in columns]
            row.cells = [
                (row.counts.get(key, ""), link)
                for (key, _label), link in zip(columns, links, strict=True)
            ]


def _chart(months: list[dict]) -> dict:
    """Bar heights for the server-rendered SVG trend (no JavaScript)."""
    peak = max([1] + [max(m["received"], m["finished"]) for m in months])
    bars = []
    for index, m in enumerate(months):
        bars.append(
            {
                **m,
                "x": 40 + index * 50,
                "received_h": round(150 * m["received"] / peak),
                "finished_h": round(150 * m["finished"] / peak),
            }
        )
        bars[-1]["received_y"] = 170 - bars[-1]["received_h"]
        bars[-1]["finished_y"] = 170 - bars[-1]["finished_h"]
    return {"bars": bars, "peak": peak, "width": 60 + 50 * len(months)}


def _export(rows, table: str, fmt: str, period) -> HttpResponse:
    columns = OFFICER_COLUMNS if table == "officer" else COLUMNS
    header = [_("Breakdown")] + [str(label) for _key, label in columns]
    if table != "officer":
        header += [_("On-time rate"), _("Average working days"), _("90th percentile")]
    lines = []
    for row in rows:
        line = [row.label] + [row.counts.get(key, 0) for key, _label in columns]
        if table != "officer":
            rate = row.on_time_rate
            line += [
                "" if rate is None else round(rate * 100, 1),
                "" if row.average_days is None else row.average_days,
                "" if row.p90_days is None else row.p90_days,
            ]
        lines.append(line)
    name = f"motcua-{table}-{period.start}-{period.end}"
    if fmt == "xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = table
        sheet.append(header)
        for line in lines:
            sheet.append(line)
        buffer = io.BytesIO()
        book.save(buffer)
        response = HttpResponse(
            buffer.getvalue(),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="{name}.xlsx"'
        return response
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(lines)
    response = HttpResponse("\ufeff" + out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    return response


# The permission checks read the primary (a role just withdrawn is withdrawn); the reports
# behind them read the replica when one is configured (config.replica).


@officer_required
def dashboard(request):
    if not supervision.can_supervise(request.user):
        raise PermissionDenied(_("The dashboard is for supervisors and heads."))
    return _dashboard(request)


@replica.reporting()
def _dashboard(request):
    form = PeriodForm(request.GET or None)
    period = form.period()
    form = form.showing(period)
    scope = supervision.supervised_agencies(request.user)
    dossiers = Dossier.objects.filter(handling_agency_id__in=scope)  # = supervised()
    tables = _tables(scope, period)
    fmt, table = request.GET.get("export"), request.GET.get("table")
    if fmt in ("csv", "xlsx") and table in TABLES:
        return _export(tables[table], table, fmt, period)
    _cells(
        tables, f"{reverse('workspace:dashboard_dossiers')}?start={period.start}&end={period.end}"
    )
    summary = tables["summary"][0]
    return render(
        request,
        "workspace/dashboard.html",
        {
            "form": form,
            "period": period,
            "tables": tables,
            "summary": summary,
            "columns": COLUMNS,
            "officer_columns": OFFICER_COLUMNS,
            "chart": _chart(supervision.monthly(dossiers, period)),
            "list_name": "dashboard",
            "query": f"start={period.start}&end={period.end}",
            "report": replica.current(),
        },
    )


@officer_required
def dashboard_dossiers(request):
    """The dossiers behind one number of the dashboard."""
    if not supervision.can_supervise(request.user):
        raise PermissionDenied(_("The dashboard is for supervisors and heads."))
    return _dashboard_dossiers(request)


@replica.reporting()
def _dashboard_dossiers(request):
    period = PeriodForm(request.GET or None).period()
    metric = request.GET.get("metric", "received")
    today = working_calendar().today()
    if metric.startswith("stage_") and request.GET.get("officer"):
        officer = query_id(request.GET, "officer") or 0  # out of range: nobody
        # The officer table counts stages: the dossiers behind a number are those with a
        # stage that officer finished in the period (early / on time / late, or any).
        stages = supervision.officer_stages(period, officer, metric.removeprefix("stage_"))
        dossiers = supervision.supervised(request.user).filter(pk__in=stages.values("dossier"))
        label = dict(OFFICER_COLUMNS).get(metric.removeprefix("stage_"), metric)
    else:
        if metric not in (*supervision.METRICS, "finished", "within_time"):
            metric = "received"
        dossiers = supervision.supervised(request.user).filter(
            supervision.metric_filter(metric, period, today)
        )
        label = dict(COLUMNS).get(metric, metric)
    # An id out of range matches nothing, as an unknown one does.
    for name, lookup in (
        ("procedure", "procedure_version__procedure_id"),
        ("agency", "handling_agency_id"),
    ):
        if request.GET.get(name):
            dossiers = dossiers.filter(**{lookup: query_id(request.GET, name) or 0})
    dossiers = dossiers.select_related("procedure_version", "handling_agency").order_by(
        "due_date", "pk"
    )
    page = Paginator(dossiers, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workspace/dashboard_dossiers.html",
        {
            "page": page,
            "metric": label,
            "period": period,
            "query": query.urlencode(),
            "list_name": "dashboard",
            "today": today,
            "report": replica.current(),
        },
    )


@officer_required
def service_index(request):
    """The service-index metrics motcua has data for, per agency, for a period."""
    if not supervision.can_supervise(request.user):
        raise PermissionDenied(_("The service index is for supervisors and heads."))
    return _service_index(request)


@replica.reporting()
def _service_index(request):
    form = PeriodForm(request.GET or None)
    period = form.period()
    form = form.showing(period)
    dossiers = supervision.supervised(request.user)
    agencies = Agency.objects.filter(pk__in=dossiers.values("handling_agency")).order_by("path")
    sections = [(None, supervision.service_index(dossiers, period))] + [
        (agency, supervision.service_index(dossiers.filter(handling_agency=agency), period))
        for agency in agencies
    ]
    return render(
        request,
        "workspace/service_index.html",
        {
            "form": form,
            "period": period,
            "sections": sections,
            "list_name": "dashboard",
            "report": replica.current(),
        },
    )
