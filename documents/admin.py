from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from .models import Document, DocumentStatus, RevokedCertificate, SignerCredential
from .revocation import RevocationError, certificate_revoke
from .services import document_retry


@admin.register(Document)
class DocumentAdmin(admin.ModelAdmin):
    """Read-only: documents are made by the system. Failed ones can be retried."""

    list_display = ("dossier", "kind", "status", "attempts", "created_at", "rendered_at")
    list_filter = ("status", "kind")
    list_select_related = ("dossier",)
    search_fields = ("dossier__code", "verification_code", "sha256")
    # The file lives in private storage, which has no URL: the page names it instead of
    # linking it (a read goes through the access-checked download view, not the admin).
    readonly_fields = [f.name if f.name != "file" else "stored_file" for f in Document._meta.fields]
    fields = readonly_fields
    actions = ["retry"]

    @admin.display(description=_("file"))
    def stored_file(self, obj):
        return obj.file.name or "—"

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Retry rendering the selected failed documents"))
    def retry(self, request, queryset):
        done = sum(
            document_retry(document_id=pk)
            for pk in queryset.filter(status=DocumentStatus.FAILED).values_list("pk", flat=True)
        )
        self.message_user(
            request,
            ngettext("%d document rendered.", "%d documents rendered.", done) % done,
            messages.SUCCESS if done else messages.WARNING,
        )


@admin.register(SignerCredential)
class SignerCredentialAdmin(admin.ModelAdmin):
    list_display = ("user", "subject", "issuer", "not_after", "active")
    list_filter = ("active",)
    list_select_related = ("user",)
    readonly_fields = (
        "user",
        "subject",
        "issuer",
        "serial",
        "not_before",
        "not_after",
        "fingerprint",
        "uploaded_at",
    )
    fields = (*readonly_fields, "active")
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Revoke the selected certificates (development CA)"))
    def revoke(self, request, queryset):
        done = 0
        for credential in queryset:
            try:
                certificate_revoke(
                    issuer=credential.issuer,
                    serial=credential.serial,
                    subject=credential.subject,
                    by=request.user,
                    note=_("Revoked in the admin"),
                )
            except RevocationError as exc:
                self.message_user(request, f"{credential}: {exc}", messages.ERROR)
                continue
            done += 1
        if done:
            self.message_user(
                request,
                ngettext("%d certificate revoked.", "%d certificates revoked.", done) % done,
                messages.SUCCESS,
            )


@admin.register(RevokedCertificate)
class RevokedCertificateAdmin(admin.ModelAdmin):
    """The development CA's revocations, as its CRL lists them: recorded by the action
    above or ``manage.py revoke_certificate``; never changed or removed here."""

    list_display = ("subject", "serial", "reason", "revoked_at", "revoked_by")
    list_filter = ("reason",)
    search_fields = ("subject", "serial")
    readonly_fields = [f.name for f in RevokedCertificate._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
