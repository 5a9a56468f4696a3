"""Admin: dossiers and their history are read-only; calendar overrides are editable."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from config.search import fold
from procedures.admin import ReadOnlyAdmin

from .models import (
    Dossier,
    DossierComponent,
    HistoryEntry,
    OutgoingEvent,
    Status,
    WorkingDayOverride,
)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class HistoryInline(ReadOnlyInline):
    model = HistoryEntry
    fields = ("seq", "at", "actor", "action", "from_status", "to_status", "comment", "hash")
    readonly_fields = fields
    ordering = ("seq",)


class ComponentInline(ReadOnlyInline):
    model = DossierComponent
    fk_name = "dossier"
    fields = (
        "component_code",
        "original_name",
        "content_type",
        "size",
        "sha256",
        "uploaded_at",
        "superseded_at",
        "reused_kind",
        "reused_dossier",
    )
    readonly_fields = fields


@admin.register(Dossier)
class DossierAdmin(ReadOnlyAdmin):
    """Dossiers change only through services; the admin is a window, not a lever."""

    list_display = (
        "code",
        "applicant_name",
        "procedure_version",
        "handling_agency",
        "status",
        "channel",
        "due_date",
        "created_at",
    )
    list_filter = ("status", "channel", "handling_agency__province")
    # Code, applicant's name or ID number, as the officers' search: accents and case aside,
    # through the folded column (trigram-indexed on PostgreSQL).
    search_fields = ("search_text",)
    search_help_text = _("Dossier code, applicant or ID number")
    date_hierarchy = "created_at"
    list_select_related = ("procedure_version__procedure", "handling_agency")
    inlines = [ComponentInline, HistoryInline]
    readonly_fields = [f.name for f in Dossier._meta.fields]

    def get_search_results(self, request, queryset, search_term):
        folded = fold(search_term)
        if not folded:
            return queryset, False
        return queryset.filter(search_text__contains=folded), False


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyAdmin):
    list_display = ("dossier", "seq", "at", "actor", "action", "state_before", "state_after")
    list_filter = ("action",)
    search_fields = ("dossier__code",)
    list_select_related = ("dossier", "actor")
    readonly_fields = [f.name for f in HistoryEntry._meta.fields]

    @admin.display(description=_("state before"), ordering="from_status")
    def state_before(self, obj):
        return _state(obj.from_status)

    @admin.display(description=_("state after"), ordering="to_status")
    def state_after(self, obj):
        return _state(obj.to_status)


def _state(value: str) -> str:
    """A dossier state in words (the history keeps its code)."""
    return Status(value).label if value in Status.values else (value or "—")


@admin.register(WorkingDayOverride)
class WorkingDayOverrideAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working_day", "reason", "legal_basis")
    list_filter = ("is_working_day",)
    date_hierarchy = "date"


@admin.register(OutgoingEvent)
class OutgoingEventAdmin(admin.ModelAdmin):
    list_display = ("pk", "name", "dossier", "created_at", "dispatched_at", "failed_at", "attempts")
    list_filter = (
        "name",
        ("dispatched_at", admin.EmptyFieldListFilter),
        ("failed_at", admin.EmptyFieldListFilter),
    )
    list_select_related = ("dossier",)
    readonly_fields = [f.name for f in OutgoingEvent._meta.fields]
    actions = ["dispatch_again"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Dispatch the selected pending or failed events now"))
    def dispatch_again(self, request, queryset):
        from .events import event_retry

        done = sum(
            event_retry(event_id=pk)
            for pk in queryset.filter(dispatched_at__isnull=True).values_list("pk", flat=True)
        )
        self.message_user(request, _("%(n)d event(s) dispatched.") % {"n": done})
