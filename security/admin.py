from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin

from procedures.admin import ReadOnlyAdmin
from procedures.models import OfficerRole

from .accounts import account_email_vouched
from .models import SecurityEvent


class OfficerRoleInline(admin.TabularInline):
    model = OfficerRole
    extra = 0
    autocomplete_fields = ("agency",)


User = get_user_model()
admin.site.unregister(User)


@admin.register(User)
class OfficerUserAdmin(UserAdmin):
    """The accounts, with an officer's roles on the same page."""

    inlines = [OfficerRoleInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        # The administrator who enters an officer's address vouches for it.
        account_email_vouched(obj)


@admin.register(SecurityEvent)
class SecurityEventAdmin(ReadOnlyAdmin):
    """Read-only: the log is written by the application, never by hand."""

    list_display = ("at", "kind", "user", "ip", "path", "detail")
    list_filter = ("kind", "at")
    search_fields = ("user__username", "user__email", "ip", "path")
    date_hierarchy = "at"
    list_select_related = ("user",)
    readonly_fields = ("at", "kind", "user", "ip", "path", "detail")
