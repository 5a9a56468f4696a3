from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import Agency, OfficerRole, Procedure, ProcedureVersion


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    """The tree comes from procedures/data/agencies.yaml (load_agencies); here only names
    can be corrected, so codes, parents and subtree paths never drift from the file."""

    list_display = ("code", "name", "kind", "province", "parent")
    list_filter = ("kind", "province")
    list_select_related = ("parent",)
    search_fields = ("code", "name", "name_en")
    readonly_fields = ("code", "kind", "parent", "path")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(OfficerRole)
class OfficerRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "agency", "title_on_papers")
    list_select_related = ("user", "agency")
    list_filter = ("role", "agency__kind")
    search_fields = ("user__username", "user__last_name", "agency__code", "agency__name")
    autocomplete_fields = ("user", "agency")

    @admin.display(description=_("title on papers"))
    def title_on_papers(self, obj: OfficerRole) -> str:
        return obj.printed_title


class ReadOnlyAdmin(admin.ModelAdmin):
    """A window, not a lever: the admin shows the rows and changes nothing (procedure
    versions come from the catalog files only; logs are written by the application)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VersionInline(admin.TabularInline):
    model = ProcedureVersion
    fields = ("number", "effective_from", "time_limit_days", "online_level", "loaded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Procedure)
class ProcedureAdmin(ReadOnlyAdmin):
    list_display = ("code", "current_version", "is_active")
    list_select_related = ("current_version__procedure",)
    list_filter = ("is_active",)
    search_fields = ("code", "versions__name")
    inlines = [VersionInline]


@admin.register(ProcedureVersion)
class ProcedureVersionAdmin(ReadOnlyAdmin):
    list_display = (
        "procedure",
        "number",
        "name",
        "time_limit_days",
        "online_level",
        "effective_from",
        "loaded_at",
    )
    list_filter = ("online_level", "agency_level")
    list_select_related = ("procedure",)
    search_fields = ("procedure__code", "name", "name_en")
