"""The sync with the national portal in the admin: each dossier's standing, each pushed
step, and "Resend" for what failed (a fresh round of attempts). Read-only otherwise."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import DossierSync, ForwardedDossier, PortalPush, PushStatus
from .sync import push_resend


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        # The list and its actions, for whoever may change these rows; each page read-only.
        return obj is None and super().has_change_permission(request)

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


def _resend(request, pushes) -> None:
    resent = sum(push_resend(push=push) for push in pushes)
    messages.success(request, gettext("Sent again: %(n)d.") % {"n": resent})


@admin.register(PortalPush)
class PortalPushAdmin(ReadOnly):
    list_display = [
        "dossier",
        "national_status",
        "action",
        "occurred_at",
        "status",
        "attempts",
        "last_reason",
        "portal_error_code",
        "last_tried_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "last_reason", "national_status"]
    search_fields = ["dossier__code", "=dossier__id"]
    fields = [
        "dossier",
        "action",
        "seq",
        "national_status",
        "occurred_at",
        "status",
        "attempts",
        "next_attempt_at",
        "last_tried_at",
        "last_reason",
        "portal_error_code",
        "last_error",
        "created_at",
        "synced_at",
        "failed_at",
    ]
    readonly_fields = fields
    list_select_related = ["dossier"]
    actions = ["resend"]

    @admin.action(description=_("Resend (a fresh round of attempts)"))
    def resend(self, request, queryset):
        _resend(request, queryset.filter(status=PushStatus.FAILED))


@admin.register(DossierSync)
class DossierSyncAdmin(ReadOnly):
    list_display = ["dossier", "state", "national_status", "last_tried_at", "last_error"]
    list_filter = ["state"]
    search_fields = ["dossier__code", "=dossier__id"]
    fields = ["dossier", "state", "national_status", "last_tried_at", "synced_at", "last_error"]
    readonly_fields = fields
    list_select_related = ["dossier"]
    actions = ["resend"]

    @admin.action(description=_("Resend what failed (a fresh round of attempts)"))
    def resend(self, request, queryset):
        _resend(
            request,
            PortalPush.objects.filter(
                dossier_id__in=queryset.values("dossier_id"), status=PushStatus.FAILED
            ),
        )


@admin.register(ForwardedDossier)
class ForwardedDossierAdmin(ReadOnly):
    list_display = ["portal_code", "dossier", "created_at"]
    search_fields = ["portal_code", "dossier__code"]
    fields = ["portal_code", "dossier", "created_at"]
    readonly_fields = fields
