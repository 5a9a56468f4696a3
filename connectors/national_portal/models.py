"""What motcua has told the national portal: one ``PortalPush`` per national status step
of a dossier (in order), and one ``DossierSync`` per dossier summing them up."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from workflows.models import Dossier, OutgoingEvent


class PushStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SYNCED = "synced", _("Accepted by the portal")
    FAILED = "failed", _("Failed")
    # Never sent: the dossier ended without a code, which the portal knows dossiers by.
    SKIPPED = "skipped", _("Not sent (no dossier code)")


class SyncState(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SYNCED = "synced", _("In sync")
    FAILED = "failed", _("Failed")
    SKIPPED = "skipped", _("Not sent (no dossier code)")


class PortalPush(models.Model):
    """One national status of one dossier, to be pushed after the ones before it.

    The step (its national status, when it happened, the history entry's number) is
    frozen when the change commits; the rest of what is sent (code, applicant, files) is
    read from the dossier when it goes, so a step waiting for the dossier's code (given at
    reception) goes with it.
    """

    dossier = models.ForeignKey(
        Dossier, on_delete=models.CASCADE, related_name="portal_pushes", verbose_name=_("dossier")
    )
    event = models.ForeignKey(
        OutgoingEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(_("action"), max_length=40)
    seq = models.PositiveIntegerField(_("history entry"), null=True, blank=True)
    national_status = models.PositiveSmallIntegerField(_("national status"))
    occurred_at = models.DateTimeField(_("happened at"))
    status = models.CharField(
        _("sync status"), max_length=8, choices=PushStatus.choices, default=PushStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    # Set while a worker sends it; one left longer than STUCK_SECONDS is taken up again.
    sending_since = models.DateTimeField(null=True, blank=True)
    last_tried_at = models.DateTimeField(_("last tried"), null=True, blank=True)
    # "down", "timeout", "malformed", "refused" (connectors.http), and what was said.
    last_reason = models.CharField(_("reason"), max_length=16, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    portal_error_code = models.CharField(_("portal's error code"), max_length=32, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    synced_at = models.DateTimeField(_("synced"), null=True, blank=True)
    failed_at = models.DateTimeField(_("failed"), null=True, blank=True)

    class Meta:
        verbose_name = _("national portal push")
        verbose_name_plural = _("national portal pushes")
        ordering = ["-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="portal_push_due_idx",
                condition=models.Q(status="pending"),
            ),
            models.Index(fields=["dossier", "id"], name="portal_push_order_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier} → {self.national_status}"


class DossierSync(models.Model):
    """A dossier's standing with the portal: pending while a step waits, synced when every
    step was accepted, failed when one failed for good (the later ones wait behind it)."""

    dossier = models.OneToOneField(
        Dossier,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="portal_sync",
        verbose_name=_("dossier"),
    )
    state = models.CharField(
        _("sync state"), max_length=8, choices=SyncState.choices, default=SyncState.PENDING
    )
    # The last national status the portal accepted.
    national_status = models.PositiveSmallIntegerField(
        _("national status accepted"), null=True, blank=True
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    last_tried_at = models.DateTimeField(_("last tried"), null=True, blank=True)
    synced_at = models.DateTimeField(_("synced"), null=True, blank=True)

    class Meta:
        verbose_name = _("national portal sync")
        verbose_name_plural = _("national portal syncs")
        ordering = ["-last_tried_at"]

    def __str__(self) -> str:
        return str(self.dossier)


class ForwardedDossier(models.Model):
    """A dossier the national portal forwarded (filed there, submitted here through the
    API): the portal knows it by its own code, so every push names that code."""

    dossier = models.OneToOneField(
        Dossier,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="forwarded",
        verbose_name=_("dossier"),
    )
    portal_code = models.CharField(_("national portal's dossier code"), max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("dossier forwarded by the national portal")
        verbose_name_plural = _("dossiers forwarded by the national portal")

    def __str__(self) -> str:
        return self.portal_code
