"""Citizen-facing pages."""

from django.db.models import Q
from django.shortcuts import render

from procedures.selectors import published_procedures


def home(request):
    query = (request.GET.get("q") or "").strip()[:100]
    procedures = published_procedures()
    if query:
        procedures = procedures.filter(
            Q(code__icontains=query)
            | Q(current_version__name__icontains=query)
            | Q(current_version__name_en__icontains=query)
        )
    return render(request, "portal/home.html", {"procedures": procedures, "query": query})
