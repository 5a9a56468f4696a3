"""API clients in the admin: made here or with `manage.py api_client`; the key is shown
once, in the page's message, and never again."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .models import (
    ApiCall,
    ApiClient,
    Delivery,
    DeliveryAttempt,
    DeliveryStatus,
    Scope,
    Subscription,
    SubscriptionStatus,
)
from .services import api_client_create, api_client_revoke, api_client_rotate
from .webhooks import delivery_replay, subscription_pause, subscription_resume


class ApiClientForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        label=_("scopes"), choices=Scope.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = ApiClient
        fields = ["name", "agency", "scopes", "rate_limit", "contact_email"]


def _show_key(request, client: ApiClient, key: str) -> None:
    messages.warning(
        request,
        gettext(
            "The key of “%(name)s” is shown only now; copy it into the client's secret "
            "store: %(key)s"
        )
        % {"name": client.name, "key": key},
    )


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    form = ApiClientForm
    list_display = ["name", "agency", "scope_list", "key_hint", "is_active", "last_used_at"]
    list_filter = ["is_active", "agency"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = [
        "key_hint",
        "user",
        "is_active",
        "created_at",
        "rotated_at",
        "revoked_at",
        "last_used_at",
    ]
    actions = ["rotate_key", "revoke"]

    @admin.display(description=_("scopes"))
    def scope_list(self, obj: ApiClient) -> str:
        return ", ".join(obj.scopes)

    @admin.display(description=_("key"))
    def key_hint(self, obj: ApiClient) -> str:
        return f"mc_{obj.key_prefix}_…" if obj.key_prefix else ""

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.readonly_fields, "name", "agency"]

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["scopes", "rate_limit", "contact_email"])
            return
        data = form.cleaned_data
        try:
            client, key = api_client_create(
                name=data["name"],
                agency=data["agency"],
                scopes=data["scopes"],
                rate_limit=data.get("rate_limit"),
                contact_email=data.get("contact_email", ""),
            )
        except ValidationError as exc:  # checked by the form; a race with another admin
            messages.error(request, "; ".join(exc.messages))
            raise
        obj.pk, obj.user_id, obj.key_prefix = client.pk, client.user_id, client.key_prefix
        _show_key(request, client, key)

    @admin.action(description=_("Rotate the key (the old key stops working)"))
    def rotate_key(self, request, queryset):
        for client in queryset:
            try:
                _show_key(request, client, api_client_rotate(client=client))
            except ValidationError as exc:
                messages.error(request, f"{client.name}: {'; '.join(exc.messages)}")

    @admin.action(description=_("Revoke (the key stops working; the record stays)"))
    def revoke(self, request, queryset):
        for client in queryset:
            api_client_revoke(client=client)
        messages.success(request, gettext("Revoked: %(n)d.") % {"n": queryset.count()})

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # revoke instead: the record of calls and dossiers refers to it


@admin.register(ApiCall)
class ApiCallAdmin(admin.ModelAdmin):
    list_display = [
        "at",
        "client",
        "method",
        "endpoint",
        "dossier_id",
        "status_code",
        "duration_ms",
    ]
    list_filter = ["client", "status_code", "method"]
    search_fields = ["endpoint", "request_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# --- Webhooks --------------------------------------------------------------------------------


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "client",
        "callback_url",
        "status",
        "consecutive_failures",
        "paused_at",
        "created_at",
    ]
    list_filter = ["status", "client"]
    search_fields = ["callback_url", "client__name"]
    fields = [
        "client",
        "callback_url",
        "has_auth_header",
        "event_kinds",
        "agency",
        "procedure",
        "status",
        "paused_at",
        "pause_reason",
        "resumed_at",
        "consecutive_failures",
        "created_at",
        "updated_at",
        "secret_rotated_at",
        "deleted_at",
    ]
    readonly_fields = fields
    actions = ["pause", "resume"]

    @admin.display(description=_("Authorization header"), boolean=True)
    def has_auth_header(self, obj: Subscription) -> bool:
        return bool(obj.auth_header)

    @admin.action(description=_("Pause (deliveries wait)"))
    def pause(self, request, queryset):
        paused = sum(
            subscription_pause(
                subscription_id=s.pk, reason=gettext("paused by %(user)s") % {"user": request.user}
            )
            for s in queryset
        )
        messages.success(request, gettext("Paused: %(n)d.") % {"n": paused})

    @admin.action(description=_("Resume (waiting deliveries are sent now)"))
    def resume(self, request, queryset):
        resumed = 0
        for subscription in queryset.exclude(status=SubscriptionStatus.DELETED):
            subscription_resume(subscription=subscription)
            resumed += 1
        messages.success(request, gettext("Resumed: %(n)d.") % {"n": resumed})

    def has_add_permission(self, request) -> bool:
        return False  # clients subscribe through the API

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None  # the list and its actions; the page is read-only

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ["number", "at", "status_code", "error", "duration_ms"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "delivery_id",
        "subscription",
        "kind",
        "dossier_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "created_at",
    ]
    list_filter = ["status", "kind"]
    search_fields = ["=delivery_id", "=dossier_id"]
    fields = [
        "delivery_id",
        "subscription",
        "kind",
        "dossier_id",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "created_at",
        "delivered_at",
        "failed_at",
        "payload",
    ]
    readonly_fields = fields
    inlines = [DeliveryAttemptInline]
    actions = ["replay"]
    list_select_related = ["subscription__client"]

    @admin.action(description=_("Replay (send again, same delivery id)"))
    def replay(self, request, queryset):
        replayed = 0
        for delivery in queryset.exclude(status=DeliveryStatus.PENDING):
            delivery_replay(delivery=delivery)
            replayed += 1
        messages.success(request, gettext("Replayed: %(n)d.") % {"n": replayed})

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return obj is None

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
