"""The access record: one row per look at a dossier's data, append-only."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from procedures.models import Agency
from workflows.models import AppendOnlyModel, Dossier, DossierComponent


class AccessKind(models.TextChoices):
    DOSSIER = "dossier", _("Viewed the dossier")
    FILE_PREVIEW = "file_preview", _("Previewed a file")
    FILE_DOWNLOAD = "file_download", _("Downloaded a file")
    DOCUMENT = "document", _("Downloaded a paper")
    CODE_OPEN = "code_open", _("Opened by verification code")
    CODE_DOWNLOAD = "code_download", _("Downloaded by verification code")
    COPY_CHECK = "copy_check", _("Uploaded copy checked")


# Openings by whoever holds a paper's code: no user, whoever is logged in.
BY_CODE = frozenset({AccessKind.CODE_OPEN, AccessKind.CODE_DOWNLOAD, AccessKind.COPY_CHECK})


class DossierAccess(AppendOnlyModel):
    """Someone saw a dossier's data: who, as which office, what, when, from where."""

    at = models.DateTimeField(_("when"))
    dossier = models.ForeignKey(
        Dossier, on_delete=models.PROTECT, related_name="accesses", verbose_name=_("dossier")
    )
    # The dossier's handling agency, copied when written: supervisors' searches are scoped
    # by it through an index, with no join to the dossiers.
    dossier_agency = models.ForeignKey(
        Agency, on_delete=models.PROTECT, related_name="+", verbose_name=_("handling agency")
    )
    kind = models.CharField(_("what"), max_length=16, choices=AccessKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("who"),
    )
    # The office the officer acted for; empty for the applicant and for code holders.
    agency = models.ForeignKey(
        Agency,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("office"),
    )
    by_applicant = models.BooleanField(_("the applicant"), default=False)
    component = models.ForeignKey(
        DossierComponent,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("dossier file"),
    )
    # A paper (documents.Document), by id and kind: no foreign key up the layers.
    document_pk = models.PositiveBigIntegerField(_("paper id"), null=True, blank=True)
    document_kind = models.CharField(_("paper"), max_length=24, blank=True)
    client_ip = models.GenericIPAddressField(_("client address"), null=True, blank=True)


    class Meta:
        verbose_name = _("dossier access")
        verbose_name_plural = _("dossier accesses")
        ordering = ["-at", "-pk"]
        indexes = [
            models.Index(fields=["dossier", "-at"], name="access_dossier_idx"),
            models.Index(fields=["dossier_agency", "-at"], name="access_scope_idx"),
            models.Index(fields=["user", "-at"], name="access_user_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.kind} {self.at:%Y-%m-%d %H:%M}"

    @property
    def by_code(self) -> bool:
        return self.kind in BY_CODE
