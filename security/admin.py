from django.contrib import admin

from procedures.admin import ReadOnlyAdmin

from .models import SecurityEvent


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """Read-only: the log is written by the application, never by hand."""

    list_display = ("at", "kind", "user", "ip", "path", "detail")
    list_filter = ("kind", "at")
    search_fields = ("user__username", "user__email", "ip", "path")
    date_hierarchy = "at"
    list_select_related = ("user",)
    readonly_fields = ("at", "kind", "user", "ip", "path", "detail")
