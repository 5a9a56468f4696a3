"""The access record in the admin: searchable, and read-only."""

from django.contrib import admin

from procedures.admin import ReadOnlyAdmin

from .models import DossierAccess


@admin.register(DossierAccess)
class DossierAccessAdmin(ReadOnlyAdmin):
    list_display = (
        "at",
        "dossier",
        "kind",
        "user",
        "agency",
        "by_applicant",
        "component",
        "document_kind",
        "client_ip",
    )
    list_filter = ("kind", "by_applicant", "dossier_agency")
    search_fields = ("dossier__code", "user__username", "user__last_name", "client_ip")
    date_hierarchy = "at"
    list_select_related = ("dossier", "user", "agency", "component")
    readonly_fields = [f.name for f in DossierAccess._meta.fields]
    show_full_result_count = False
