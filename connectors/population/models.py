"""The record of every look-up in the population register (domain.md: "Every look-up is
logged"): who asked, when, for which ID number and which dossier, and what came of it.

``values`` keeps the form values the answer filled and ``readonly`` those the procedure
keeps as given: the server checks every later post of the dossier against them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LookupOutcome(models.TextChoices):
    FOUND = "found", pgettext_lazy("population look-up", "found")
    NOT_FOUND = "not_found", pgettext_lazy("population look-up", "not found")
    DOWN = "down", _("register unavailable")
    TIMEOUT = "timeout", _("no answer in time")
    MALFORMED = "malformed", _("unreadable answer")
    REFUSED = "refused", _("refused by the register")


class PopulationLookup(models.Model):
    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        verbose_name=_("looked up by"),
    )
    id_number = models.CharField(_("personal ID number"), max_length=12, db_index=True)
    dossier = models.ForeignKey(
        "workflows.Dossier",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="population_lookups",
        verbose_name=_("dossier"),
    )
    # The new application's form the look-up filled, before its first save makes the draft
    # (workflows.Dossier.filing_key): the first save links the look-up to the dossier.
    filing_key = models.UUIDField(null=True, blank=True, db_index=True, editable=False)
    outcome = models.CharField(
        pgettext_lazy("population look-up", "outcome"), max_length=20, choices=LookupOutcome.choices
    )
    # What went wrong, without personal data: "HTTP 503", the name of a broken field.
    detail = models.CharField(_("detail"), max_length=200, blank=True)
    values = models.JSONField(_("filled values"), default=dict, blank=True)
    readonly = models.JSONField(_("read-only fields"), default=list, blank=True)

    class Meta:
        app_label = "connectors"
        ordering = ["-at", "-pk"]
        verbose_name = _("population register look-up")
        verbose_name_plural = _("population register look-ups")

    def __str__(self) -> str:
        return f"{self.id_number} · {self.get_outcome_display()}"
