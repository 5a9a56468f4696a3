"""The papers a dossier produces, and the certificates officials sign them with.

A ``Document`` is created (pending) in the transaction that handles the event causing it
and rendered afterwards by a background task; the row is unique per dossier, kind and
causing event, so a second run finds it instead of making another. Its file is stored with
the SHA-256 of its bytes, and its verification code is what the QR code and the public
verification page use.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from workflows.models import Dossier, OutgoingEvent, private_storage

# No 0/O, 1/I/L: the code is read off paper and typed in by hand.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10


def new_verification_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _i in range(CODE_LENGTH))


def format_code(code: str) -> str:
    """ABCDE-FGHJK: easier to read aloud and to type."""
    return f"{code[:5]}-{code[5:]}"


def normalize_code(typed: str) -> str:
    return "".join(c for c in (typed or "").upper() if c.isalnum())


class Kind(models.TextChoices):
    RECEIPT = "receipt", _("Receipt and appointment slip")
    SUPPLEMENT_REQUEST = "supplement_request", _("Supplement request")
    REFUSAL = "refusal", _("Refusal notice")
    APOLOGY = "apology", _("Apology letter and new appointment")
    CONTROL_SHEET = "control_sheet", _("Processing control sheet")
    RESULT = "result", _("Result")


class DocumentStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be rendered")
    RENDERED = "rendered", _("Rendered")
    SIGNED = "signed", _("Signed")
    FAILED = "failed", _("Failed")


def document_upload_to(instance: Document, filename: str) -> str:
    return f"documents/{instance.dossier_id}/{secrets.token_hex(16)}.pdf"


class Document(models.Model):
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="documents", verbose_name=_("dossier")
    )
    kind = models.CharField(pgettext_lazy("document", "kind"), max_length=24, choices=Kind.choices)
    # The event that asked for this document: one document per dossier, kind and event.
    source_event = models.ForeignKey(
        OutgoingEvent,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("source event"),
    )
    source_key = models.CharField(_("source key"), max_length=64)
    template = models.CharField(_("template"), max_length=100)
    verification_code = models.CharField(
        _("verification code"), max_length=16, unique=True, default=new_verification_code
    )
    status = models.CharField(
        _("status"), max_length=12, choices=DocumentStatus.choices, default=DocumentStatus.PENDING
    )
    # What the document says, frozen when it was requested, so a later change to the
    # dossier cannot change a paper already issued.
    context = models.JSONField(pgettext_lazy("document", "content"), default=dict, blank=True)
    file = models.FileField(
        upload_to=document_upload_to, storage=private_storage, max_length=255, blank=True
    )
    # Where the template put the signature places, in PDF points: {anchor: [page, x1, y1, x2, y2]}.
    layout = models.JSONField(_("layout"), default=dict, blank=True)
    sha256 = models.CharField(_("SHA-256"), max_length=64, blank=True, db_index=True)
    size = models.PositiveIntegerField(_("size (bytes)"), default=0)
    # Who signed, in order: [{"name", "role", "at", "subject", "issuer"}].
    signatures = models.JSONField(_("signatures"), default=list, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    rendered_at = models.DateTimeField(_("rendered at"), null=True, blank=True)
    signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    failed_at = models.DateTimeField(_("failed at"), null=True, blank=True)
    # The PDF was deleted at the end of the dossier's retention; the row and its SHA-256 stay.
    erased_at = models.DateTimeField(_("erased"), null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("document")
        verbose_name_plural = _("documents")
        ordering = ["dossier", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["dossier", "kind", "source_key"], name="uniq_document_per_source"
            ),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="document_status_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} — {self.dossier.code or self.dossier_id}"

    @property
    def display_code(self) -> str:
        return format_code(self.verification_code)

    @property
    def ready(self) -> bool:
        return (
            self.status in (DocumentStatus.RENDERED, DocumentStatus.SIGNED)
            and bool(self.file)
            and self.erased_at is None
        )

    @property
    def filename(self) -> str:
        return f"{self.dossier.code or self.dossier_id}-{self.kind}.pdf"


class SignerCredential(models.Model):
    """An official's signing certificate and key, as the PKCS#12 file the CA issued.

    The file is kept exactly as uploaded: its key is encrypted under the official's
    password, which motcua never stores; it is asked for at each signature.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="signer_credentials"
    )
    pkcs12 = models.BinaryField(editable=False)
    subject = models.CharField(_("subject"), max_length=300)
    issuer = models.CharField(_("issuer"), max_length=300)
    serial = models.CharField(max_length=80)
    not_before = models.DateTimeField()
    not_after = models.DateTimeField()
    fingerprint = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("signing certificate")
        verbose_name_plural = _("signing certificates")
        constraints = [
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(active=True),
                name="one_active_credential_per_user",
            )
        ]

    def __str__(self) -> str:
        return self.subject


class RevocationReason(models.TextChoices):
    """RFC 5280's reason codes an issuer of officials' certificates uses (the CRL's)."""

    UNSPECIFIED = "unspecified", _("Unspecified")
    KEY_COMPROMISE = "key_compromise", _("Key compromised")
    AFFILIATION_CHANGED = "affiliation_changed", _("Affiliation changed")
    SUPERSEDED = "superseded", _("Superseded")
    CESSATION_OF_OPERATION = "cessation_of_operation", _("Cessation of operation")


class RevokedCertificate(models.Model):
    """A certificate the development CA (documents/pki.py) has revoked: what its CRL
    lists (documents/revocation.py), published at ``/pki/ca.crl``. Recorded by
    ``manage.py revoke_certificate`` or the signing certificates' admin action; never
    removed (a revocation is final)."""

    issuer = models.CharField(_("issuer"), max_length=300)
    serial = models.CharField(_("serial number"), max_length=80)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    reason = models.CharField(
        _("reason"),
        max_length=32,
        choices=RevocationReason.choices,
        default=RevocationReason.UNSPECIFIED,
    )
    revoked_at = models.DateTimeField(_("revoked at"))
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("revoked by"),
    )
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("revoked certificate")
        verbose_name_plural = _("revoked certificates")
        ordering = ["-revoked_at"]
        constraints = [
            models.UniqueConstraint(fields=["issuer", "serial"], name="uniq_revoked_certificate")
        ]

    def __str__(self) -> str:
        return f"{self.subject or self.serial} ({self.revoked_at:%d/%m/%Y})"
