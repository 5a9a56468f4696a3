"""The access record for supervisors: who saw which dossier of their agencies, searched
by dossier code, officer, kind and dates. Officers are named here, never to citizens."""

from __future__ import annotations

import datetime as dt

from django import forms
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from access.models import AccessKind
from access.selectors import AccessFilters, access_search
from config.bounds import MAX_ID, BoundedDateField
from documents.models import Kind
from workflows import supervision
from workflows.clock import local_zone

from .views import officer_required

PAGE_SIZE = 50
DATE_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]


class AccessSearchForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Dossier (code, #number or applicant's name)"),
        required=False,
        max_length=64,
    )
    officer = forms.CharField(
        label=gettext_lazy("Officer (login or name)"), required=False, max_length=150
    )
    user = forms.IntegerField(
        required=False,
        min_value=1,
        max_value=MAX_ID,
        widget=forms.HiddenInput,
        error_messages={
            "invalid": gettext_lazy("This officer link is not valid."),
            "min_value": gettext_lazy("This officer link is not valid."),
            "max_value": gettext_lazy("This officer link is not valid."),
        },
    )
    kind = forms.ChoiceField(
        label=gettext_lazy("What"),
        required=False,
        choices=[("", gettext_lazy("Everything"))] + list(AccessKind.choices),
    )
    start = BoundedDateField(
        label=gettext_lazy("From"),
        required=False,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    end = BoundedDateField(
        label=gettext_lazy("To"),
        required=False,
        input_formats=DATE_FORMATS,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )

    def clean(self):
        data = super().clean()
        start, end = data.get("start"), data.get("end")
        if start and end and start > end:
            self.add_error("end", _("The end date comes before the start date."))
        return data

    def filters(self) -> AccessFilters:
        """The search as instants: a day is from its local midnight to the next."""
        data = self.cleaned_data
        zone = local_zone()
        start, end = data.get("start"), data.get("end")
        return AccessFilters(
            code=data.get("code", "").strip(),
            officer=data.get("officer", "").strip(),
            user_id=data.get("user"),
            kind=data.get("kind", ""),
            start=dt.datetime.combine(start, dt.time.min, tzinfo=zone) if start else None,
            end=dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=zone)
            if end
            else None,
        )


@officer_required
def access_log(request):
    if not supervision.can_supervise(request.user):
        raise PermissionDenied(_("The access record is for supervisors and heads."))
    form = AccessSearchForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        rows, status = None, 400
    else:
        if not form.is_bound:
            form.cleaned_data = {}
        rows, status = access_search(user=request.user, filters=form.filters()), 200
    page = None
    if rows is not None:
        page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
        papers = dict(Kind.choices)
        for row in page.object_list:
            row.paper = papers.get(row.document_kind, row.document_kind)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "workspace/access_log.html",
        {
            "form": form,
            "page": page,
            "query": query.urlencode(),
            "list_name": "access",
        },
        status=status,
    )
