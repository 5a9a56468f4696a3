"""The population register look-ups, read-only: the log is written by the look-ups alone."""

from __future__ import annotations

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import PopulationLookup


@admin.register(PopulationLookup)
class PopulationLookupAdmin(admin.ModelAdmin):
    list_display = ("at", "user", "id_number", "dossier", "outcome", "detail")
    list_filter = ("outcome",)
    list_select_related = ("user", "dossier")
    search_fields = ("id_number", "user__username", "dossier__code")
    date_hierarchy = "at"
    # The values the answer filled are personal data the dossier already holds: only
    # which fields were filled is shown here.
    fields = ("at", "user", "id_number", "dossier", "outcome", "detail", "filled_fields")
    readonly_fields = fields

    @admin.display(description=_("filled fields"))
    def filled_fields(self, obj: PopulationLookup) -> str:
        return ", ".join(sorted(obj.values)) or "—"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
