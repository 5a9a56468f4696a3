"""Admin: the messages (with a resend action for failed ones) and a template preview."""

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import DeliveryAttempt, Message, Preference
from .rendering import CHANNELS, LANGUAGES, kinds, render

SAMPLE = {
    "name": "Lò Thị Mai",
    "code": "H22-261122-0001",
    "procedure": "Công nhận người có uy tín trong đồng bào dân tộc thiểu số",
    "agency": "Ban Dân tộc tỉnh Lào Cai",
    "dossier_url": "https://motcua.example/me/dossiers/1/",
    "portal_url": "https://motcua.example/",
    "submitted_at": "23/11/2026 09:15",
    "lookup_secret": "K7PX2M9Q",
    "expected_date": "14/12/2026",
    "due_date": "14/12/2026",
    "reason": "Bản chụp giấy tờ chưa rõ.",
    "items": [{"name": "Biên bản họp thôn", "reason": "Thiếu chữ ký"}],
    "result_url": "https://motcua.example/me/dossiers/1/result/",
    "old_due_date": "14/12/2026",
    "new_due_date": "21/12/2026",
    "stage": "Tiếp nhận",
    "task_url": "https://motcua.example/workspace/tasks/1/",
    "days_left": 2,
    "days_overdue": 1,
    "dashboard_url": "https://motcua.example/workspace/",
    "count": 1,
    "amount": "50.000 đồng",
    "amount_ascii": "50.000 dong",
    "channel": "Nộp tại Bộ phận một cửa",
    "paid_at": "10:30 14/12/2026",
    "dossiers": [
        {
            "code": "H22-261122-0001",
            "procedure": "Công nhận người có uy tín",
            "due_date": "14/12/2026",
            "days_overdue": 1,
        }
    ],
}


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("number", "at", "outcome", "error")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ("uid", "kind", "channel", "language", "shown_status", "attempts", "created_at")
    list_filter = ("status", "handset_status", "channel", "kind", "language")
    search_fields = ("uid",)
    readonly_fields = [f.name for f in Message._meta.fields]
    inlines = [AttemptInline]
    actions = ["resend"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("status"), ordering="status")
    def shown_status(self, obj):
        """The outbox's status, or an SMS delivery receipt's word on the phone, with when."""
        if obj.handset_status and obj.handset_at:
            at = timezone.localtime(obj.handset_at).strftime("%d/%m/%Y %H:%M")
            return f"{obj.status_text} ({at})"
        return obj.status_text

    @admin.action(description=_("Send the selected failed messages again"))
    def resend(self, request, queryset):
        from .services import message_resend

        sent = sum(
            message_resend(message_id=pk) == "delivered"
            for pk in queryset.filter(status="permanent_failure").values_list("pk", flat=True)
        )
        self.message_user(request, _("%(n)d message(s) delivered.") % {"n": sent}, messages.INFO)

    def get_urls(self):
        preview = self.admin_site.admin_view(self.preview)
        return [path("preview/", preview, name="notifications_preview"), *super().get_urls()]

    def preview(self, request):
        """Every template rendered with sample data, or one, chosen by the query string."""
        kind = request.GET.get("kind")
        chosen = [kind] if kind in kinds() else kinds()
        rendered = [
            (k, channel, language, render(k, channel, language, SAMPLE))
            for k in chosen
            for channel in CHANNELS
            for language in LANGUAGES
        ]
        return TemplateResponse(
            request,
            "admin/notifications_preview.html",
            {
                **self.admin_site.each_context(request),
                "rendered": rendered,
                "kinds": kinds(),
                "title": _("Notification templates"),
            },
        )


@admin.register(Preference)
class PreferenceAdmin(admin.ModelAdmin):
    list_display = ("user", "language", "email", "sms", "phone")
    search_fields = ("user__username",)
