"""Online payments in the admin: read only (the services alone write them); the problem
column shows what needs a person (a payment to refund)."""

from django.contrib import admin

from .models import Payment


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ("reference", "fee", "amount", "state", "created_at", "paid_at", "problem")
    list_filter = ("state", "confirmed_via")
    search_fields = ("reference", "transaction_id")
    ordering = ("-created_at",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
