"""Reads of the catalog, written once with the joins they need."""

from django.db.models import QuerySet

from .models import Procedure


def published_procedures() -> QuerySet[Procedure]:
    return (
        Procedure.objects.filter(is_active=True, current_version__isnull=False)
        .select_related("current_version")
        .order_by("current_version__sector", "code")
    )
